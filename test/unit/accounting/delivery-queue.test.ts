import t from 'tap';
import { DeliveryQueue } from '../../../src/accounting/delivery-queue.js';

interface Rec {
  pool: string;
  session: string;
  seq: number;
}

const rec = (seq: number, session: string, pool = 'p'): Rec => ({ seq, session, pool });
const never = () => false;

/** Takes every ready record (as a full window would). */
function drain(q: DeliveryQueue<Rec>, skip: (pool: string) => boolean = never): number[] {
  const out: number[] = [];
  for (let r = q.take(skip); r; r = q.take(skip)) out.push(r.seq);
  return out;
}

t.test('one record per session is ready; the next becomes ready when it is done', async (t) => {
  const q = new DeliveryQueue<Rec>();
  [rec(1, 'a'), rec(2, 'a'), rec(3, 'b'), rec(4, 'a'), rec(5, 'c'), rec(6, 'b')].forEach((r) => q.add(r));
  t.equal(q.size, 6);
  const first = [q.take(never)!, q.take(never)!, q.take(never)!];
  t.same(first.map((r) => r.seq), [1, 3, 5], 'the first record of each session, in arrival order');
  t.equal(q.take(never), undefined, 'the others wait for their session');
  t.equal(q.size, 3);

  q.done(first[1]!); // session b
  t.same(drain(q), [6]);
  q.done(first[0]!); // session a
  const a2 = q.take(never)!;
  t.equal(a2.seq, 2);
  t.equal(q.take(never), undefined, 'a session never has two records out');
  q.done(a2);
  t.same(drain(q), [4]);
  t.equal(q.size, 0);
});

t.test('a failed record is retried first, and its session stays held behind it', async (t) => {
  const q = new DeliveryQueue<Rec>();
  [rec(1, 'a'), rec(2, 'a'), rec(3, 'b')].forEach((r) => q.add(r));
  const a1 = q.take(never)!;
  q.retry(a1);
  t.same(drain(q), [1, 3], 'the retried record comes before newer ready ones; 2 still waits for 1');
});

t.test('a pool in backoff is skipped; the others go ahead and pools take turns', async (t) => {
  const q = new DeliveryQueue<Rec>();
  [rec(1, 's1', 'down'), rec(2, 's2', 'up'), rec(3, 's3', 'down'), rec(4, 's4', 'up'), rec(5, 's5', 'other')].forEach((r) => q.add(r));
  t.same(drain(q, (pool) => pool === 'down'), [2, 5, 4], 'round robin over the pools not backing off');
  t.same(q.readyPools(), ['down']);
  t.same(drain(q), [1, 3]);
  t.same(q.readyPools(), []);
});

t.test('a session whose next record goes to another pool (a route changed) follows it there', async (t) => {
  const q = new DeliveryQueue<Rec>();
  q.add(rec(1, 's', 'old'));
  q.add(rec(2, 's', 'new'));
  const r1 = q.take(never)!;
  t.equal(q.take(never), undefined);
  q.done(r1);
  t.same(drain(q), [2]);
});

t.test('a long run of single-record sessions keeps its order through the FIFO compaction', async (t) => {
  const q = new DeliveryQueue<Rec>();
  const n = 5000;
  for (let i = 0; i < n; i++) q.add(rec(i, `s${i}`));
  const seen: number[] = [];
  // Interleave taking with new arrivals, as the forwarder does.
  for (let i = 0; i < n; i++) {
    const r = q.take(never)!;
    seen.push(r.seq);
    q.done(r);
    if (i % 2 === 0) q.add(rec(n + i, `t${i}`));
  }
  seen.push(...drain(q));
  const expected = [...Array(n).keys()].concat([...Array(n).keys()].filter((i) => i % 2 === 0).map((i) => n + i));
  t.same(seen, expected);
  t.equal(q.size, 0);
});
