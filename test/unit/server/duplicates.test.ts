import t from 'tap';
import { DuplicateCache } from '../../../src/server/duplicates.js';

function clock() {
  let now = 1000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

const authA = Buffer.alloc(16, 0xaa);
const authB = Buffer.alloc(16, 0xbb);

t.test('RFC 5080 §2.2.2: same key and authenticator is a retransmission', async (t) => {
  const c = clock();
  const cache = new DuplicateCache(5000, 100, c.now);
  const key = DuplicateCache.key('192.0.2.1', 1645, 7);
  t.equal(cache.check(key, authA).verdict, 'new');
  t.equal(cache.check(key, authA).verdict, 'in_progress', 'no reply yet: nothing is sent');
  const reply = Buffer.from('reply');
  cache.complete(key, authA, reply);
  const again = cache.check(key, authA);
  t.equal(again.verdict, 'resend');
  t.equal(again.cached, reply, 'the cached reply, byte for byte');
});

t.test('a new authenticator under the same key is a new request', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const key = DuplicateCache.key('192.0.2.1', 1645, 7);
  cache.check(key, authA);
  cache.complete(key, authA, Buffer.from('first'));
  t.equal(cache.check(key, authB).verdict, 'new');
  cache.complete(key, authA, Buffer.from('late reply to the old request'));
  t.equal(cache.check(key, authB).verdict, 'in_progress', 'a late reply to the old request does not answer the new one');
});

t.test('entries expire after the window', async (t) => {
  const c = clock();
  const cache = new DuplicateCache(5000, 100, c.now);
  const key = DuplicateCache.key('192.0.2.1', 1645, 7);
  cache.check(key, authA);
  cache.complete(key, authA, Buffer.from('r'));
  c.advance(4999);
  t.equal(cache.check(key, authA).verdict, 'resend');
  c.advance(5001);
  t.equal(cache.check(key, authA).verdict, 'new');
});

t.test('forget lets a dropped request be retried', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const key = DuplicateCache.key('192.0.2.1', 1645, 7);
  cache.check(key, authA);
  cache.forget(key, authA);
  t.equal(cache.check(key, authA).verdict, 'new');
});

t.test('size stays bounded by max_entries once replies are cached', async (t) => {
  const cache = new DuplicateCache(60_000, 10, clock().now);
  for (let i = 0; i < 50; i++) {
    const key = DuplicateCache.key('192.0.2.1', 1000 + i, 1);
    cache.check(key, authA);
    cache.complete(key, authA, Buffer.from('r'));
  }
  t.ok(cache.size <= 11, `size ${cache.size}`);
});

t.test('the stored authenticator is a copy, not a view of the datagram', async (t) => {
  const cache = new DuplicateCache(5000, 100, clock().now);
  const datagram = Buffer.alloc(16, 0x11);
  const key = 'k';
  cache.check(key, datagram);
  datagram.fill(0x22);
  t.equal(cache.check(key, Buffer.alloc(16, 0x11)).verdict, 'in_progress');
});

t.test('a request still in progress does not expire with the window', async (t) => {
  const c = clock();
  const cache = new DuplicateCache(5000, 100, c.now);
  const key = DuplicateCache.key('192.0.2.1', 1645, 9);
  cache.check(key, authA);
  c.advance(60_000);
  t.equal(cache.check(key, authA).verdict, 'in_progress', 'a retransmission a minute later is still the same request');
});
