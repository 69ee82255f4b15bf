import t, { type Test } from 'tap';
import { DuplicateCache, DuplicateEntry, IN_PROGRESS } from '../../../src/server/duplicates.js';

function clock() {
  let now = 1000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const authA = Buffer.alloc(16, 0xaa);
const authB = Buffer.alloc(16, 0xbb);
const NAS = '192.0.2.1';

/** check() for a request that must be new: returns its entry. */
function admitNew(t: Test, cache: DuplicateCache, port: number, id: number, auth: Buffer): DuplicateEntry {
  const verdict = cache.check(NAS, port, id, auth);
  t.ok(verdict instanceof DuplicateEntry, `port ${port} id ${id} is a new request`);
  return verdict as DuplicateEntry;
}

t.test('RFC 5080 §2.2.2: same key and authenticator is a retransmission', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const entry = admitNew(t, cache, 1645, 7, authA);
  t.equal(cache.check(NAS, 1645, 7, authA), IN_PROGRESS, 'no reply yet: nothing is sent');
  const reply = Buffer.from('reply');
  cache.complete(entry, reply);
  t.equal(cache.check(NAS, 1645, 7, authA), reply, 'the cached reply, byte for byte');
  t.ok(cache.check('192.0.2.2', 1645, 7, authA) instanceof DuplicateEntry, 'another NAS address is another key');
  t.ok(cache.check(NAS, 1646, 7, authA) instanceof DuplicateEntry, 'another port is another key');
  t.ok(cache.check(NAS, 1645, 8, authA) instanceof DuplicateEntry, 'another identifier is another key');
  t.equal(cache.size, 4);
});

t.test('a new authenticator under the same key is a new request', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const first = admitNew(t, cache, 1645, 7, authA);
  cache.complete(first, Buffer.from('first'));
  const second = admitNew(t, cache, 1645, 7, authB);
  t.equal(second, first, 'a finished entry is recycled in place');
  t.equal(cache.check(NAS, 1645, 7, authB), IN_PROGRESS);
});

t.test('a request in progress keeps its entry when the NAS reuses the key with a new authenticator', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const old = admitNew(t, cache, 1645, 7, authA);
  const fresh = admitNew(t, cache, 1645, 7, authB);
  t.not(fresh, old, 'the new request gets its own entry');
  cache.complete(old, Buffer.from('late reply to the old request'));
  t.equal(cache.check(NAS, 1645, 7, authB), IN_PROGRESS, 'a late reply to the old request does not answer the new one');
  t.equal(cache.size, 1);
});

t.test('entries expire after the window', async (t) => {
  const c = clock();
  const cache = new DuplicateCache(5000, 100, c.now);
  const reply = Buffer.from('r');
  cache.complete(admitNew(t, cache, 1645, 7, authA), reply);
  c.advance(4999);
  t.equal(cache.check(NAS, 1645, 7, authA), reply);
  c.advance(5001);
  admitNew(t, cache, 1645, 7, authA);
});

t.test('forget lets a dropped request be retried', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  cache.forget(admitNew(t, cache, 1645, 7, authA));
  admitNew(t, cache, 1645, 7, authA);
});

t.test('expired entries are swept as new keys arrive', async (t) => {
  const c = clock();
  const cache = new DuplicateCache(1000, 100_000, c.now);
  for (let port = 0; port < 50; port++) cache.complete(admitNew(t, cache, port, 1, authA), Buffer.from('r'));
  t.equal(cache.size, 50);
  c.advance(2000);
  for (let port = 1000; port < 1100; port++) cache.complete(admitNew(t, cache, port, 1, authA), Buffer.from('r'));
  t.ok(cache.size <= 100, `the 50 expired entries are gone: size ${cache.size}`);
});

t.test('size stays bounded by max_entries once replies are cached', async (t) => {
  const cache = new DuplicateCache(60_000, 10, clock().now);
  for (let i = 0; i < 50; i++) cache.complete(admitNew(t, cache, 1000 + i, 1, authA), Buffer.from('r'));
  t.ok(cache.size <= 11, `size ${cache.size}`);
});

t.test('over max_entries, requests in progress within the window are kept', async (t) => {
  const cache = new DuplicateCache(60_000, 10, clock().now);
  for (let i = 0; i < 20; i++) admitNew(t, cache, 1000 + i, 1, authA);
  t.equal(cache.check(NAS, 1000, 1, authA), IN_PROGRESS, 'the first request is still known');
  t.equal(cache.size, 20);
});

t.test('the stored authenticator is a copy, not a view of the datagram', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const datagram = Buffer.alloc(16, 0x11);
  admitNew(t, cache, 1, 1, datagram);
  datagram.fill(0x22);
  t.equal(cache.check(NAS, 1, 1, Buffer.alloc(16, 0x11)), IN_PROGRESS);
});

t.test('a request still in progress does not expire with the window', async (t) => {
  const c = clock();
  const cache = new DuplicateCache(5000, 100, c.now);
  admitNew(t, cache, 1645, 9, authA);
  c.advance(60_000);
  t.equal(cache.check(NAS, 1645, 9, authA), IN_PROGRESS, 'a retransmission a minute later is still the same request');
});
