import t from 'tap';
import { UpstreamSocket } from '../../../src/upstream/upstream-socket.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

function socket(t: Teardown): UpstreamSocket<string> {
  // No datagram is sent or received here: the UDP socket is only created by start().
  const s = new UpstreamSocket<string>('127.0.0.1', { address: '127.0.0.1', port: 9 }, () => {}, () => {});
  t.teardown(() => s.close());
  return s;
}

t.test('256 distinct identifiers, then -1', async (t) => {
  const s = socket(t);
  const ids = new Set<number>();
  for (let i = 0; i < 256; i++) ids.add(s.acquire(`slot ${i}`));
  t.equal(ids.size, 256);
  t.same([...ids].sort((a, b) => a - b), Array.from({ length: 256 }, (_, i) => i));
  t.equal(s.available, 0);
  t.equal(s.inFlight, 256);
  t.equal(s.acquire('one too many'), -1);
  t.equal(s.slots[17], 'slot 17');
});

t.test('a freed identifier is reused as late as possible (least-recently-freed first)', async (t) => {
  const s = socket(t);
  t.equal(s.acquire('a'), 0);
  s.release(0);
  t.equal(s.acquire('b'), 1, 'not the one just freed');
  for (let i = 2; i < 256; i++) t.equal(s.acquire(`x${i}`), i);
  t.equal(s.acquire('c'), 0, 'freed 0 comes after 255');
  s.release(9);
  s.release(4);
  s.release(200);
  t.same([s.acquire('d'), s.acquire('e'), s.acquire('f')], [9, 4, 200], 'in the order they were freed');
  t.equal(s.acquire('g'), -1);
});

t.test('release of a free identifier changes nothing', async (t) => {
  const s = socket(t);
  const id = s.acquire('a');
  s.release(id);
  s.release(id);
  s.release(42);
  t.equal(s.available, 256);
  t.equal(s.inFlight, 0);
  const seen = new Set<number>();
  for (let i = 0; i < 256; i++) seen.add(s.acquire('x'));
  t.equal(seen.size, 256, 'no identifier handed out twice');
  t.equal(s.acquire('y'), -1);
  t.equal(s.slots[id], 'x');
});

t.test('close without start resolves, twice', async (t) => {
  const s = new UpstreamSocket<string>('127.0.0.1', { address: '127.0.0.1', port: 9 }, () => {}, () => {});
  await s.close();
  await s.close();
  t.pass();
});
