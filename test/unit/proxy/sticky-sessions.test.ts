import t from 'tap';
import { StickySessions } from '../../../src/proxy/sticky-sessions.js';
import type { UpstreamServer } from '../../../src/upstream/server.js';

const a = { name: 'a' } as UpstreamServer;
const b = { name: 'b' } as UpstreamServer;

t.test('a State maps to the server that sent the challenge until it expires', async (t) => {
  let now = 0;
  const sticky = new StickySessions(1000, 10, () => now);
  sticky.remember(Buffer.from('state-1'), a);
  sticky.remember(Buffer.from('state-2'), b);
  t.equal(sticky.lookup(Buffer.from('state-1')), a);
  t.equal(sticky.lookup(Buffer.from('state-2')), b);
  t.equal(sticky.lookup(Buffer.from('state-3')), undefined);
  now = 1001;
  t.equal(sticky.lookup(Buffer.from('state-1')), undefined, 'expired');
});

t.test('the table is bounded', async (t) => {
  const sticky = new StickySessions(60_000, 5, () => 0);
  for (let i = 0; i < 50; i++) sticky.remember(Buffer.from(`s${i}`), a);
  t.ok(sticky.size <= 5);
  t.equal(sticky.lookup(Buffer.from('s49')), a, 'the newest survive');
});
