/**
 * Persistence of the memory store: write, restart, reload; what a crash between flushes loses;
 * a torn journal tail; damage; compaction into a snapshot.
 */
import t from 'tap';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionJournal, type JournalObserver, type RecoveryReport } from '../../../src/session/journal.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { ManualClock } from '../../../src/session/timers.js';
import type { SessionRecord } from '../../../src/session/types.js';
import { sessionRecord } from '../../helpers/session-store-contract.js';

function tempDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'aaaproxy-journal-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  return join(base, 'sessions');
}

interface Recorded extends JournalObserver {
  flushes: number[];
  compactions: number[];
  failures: string[];
}

function recorder(): Recorded {
  const r: Recorded = {
    flushes: [],
    compactions: [],
    failures: [],
    flushed: (n) => r.flushes.push(n),
    compacted: (n) => r.compactions.push(n),
    failed: (op) => r.failures.push(op),
  };
  return r;
}

/** A persistent memory store on `dir`, as the daemon opens one. */
async function openStore(dir: string, opts: { flushMs?: number; compactMinBytes?: number } = {}, observer = recorder()) {
  const clock = new ManualClock();
  const { journal, records, report } = await SessionJournal.open({ dir, flushMs: opts.flushMs ?? 60_000, compactMinBytes: opts.compactMinBytes ?? 1 << 20 }, observer);
  const store = new MemoryStore({ clock, persistence: journal });
  store.restore(records);
  await journal.start(() => store.values());
  return { store, journal, report, clock, observer };
}

const byId = (records: Iterable<SessionRecord>) => Object.fromEntries([...records].map((r) => [r.id, r]));
const journals = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('journal.')).sort();

t.test('write, close, reopen: the live sessions come back as they were', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  const now = a.clock.now();
  const r1 = sessionRecord(now, { acctSessionId: 'J-1' });
  const r2 = sessionRecord(now);
  const r3 = sessionRecord(now);
  for (const r of [r1, r2, r3]) await a.store.create(r);
  await a.store.update(r1.id, { inputOctets: 12345, updates: 2 });
  await a.store.end(r2.id, 'user-request');
  await a.store.setOwner(r3.id, 'node-a', 'node-b');
  await a.store.close();

  const b = await openStore(dir);
  t.teardown(() => b.store.close());
  const expected = byId([{ ...r1, inputOctets: 12345, updates: 2 }, { ...r3, owner: 'node-b' }]);
  t.same(byId(b.store.values()), JSON.parse(JSON.stringify(expected)), 'updated, ended and moved sessions as they were');
  t.match(b.report, { records: 2, journalEntries: 3, tornBytes: 0, corruptLines: 0 } satisfies Partial<RecoveryReport>, 'replayed from the journal');
  t.equal((await b.store.find({ acctSessionId: 'J-1' })).length, 1, 'lookups rebuilt');
  t.ok(existsSync(join(dir, 'snapshot')), 'a snapshot was written at start');
  t.same(journals(dir), ['journal.000000000002'], 'and the replayed journal replaced by a new one');
});

t.test('changes between flushes share one write, the latest state of each session', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  t.teardown(() => a.store.close());
  const r = sessionRecord(a.clock.now());
  await a.store.create(r);
  for (let i = 1; i <= 50; i++) await a.store.update(r.id, { updates: i });
  t.equal(a.journal.pending, 1, 'one session pending');
  await a.journal.flush();
  t.same(a.observer.flushes, [1], 'one line written');
  const lines = readFileSync(join(dir, journals(dir)[0]!), 'utf8').trim().split('\n');
  t.equal(lines.length, 1);
  t.equal(JSON.parse(lines[0]!).p.updates, 50, 'the last state');
});

t.test('the flush timer writes without being asked', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir, { flushMs: 20 });
  t.teardown(() => a.store.close());
  await a.store.create(sessionRecord(a.clock.now()));
  const deadline = Date.now() + 2000;
  while (a.observer.flushes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.same(a.observer.flushes, [1]);
});

t.test('a crash loses at most what was not flushed yet', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  const kept = sessionRecord(a.clock.now());
  await a.store.create(kept);
  await a.journal.flush();
  const lost = sessionRecord(a.clock.now());
  await a.store.create(lost);
  await a.store.update(kept.id, { updates: 9 });
  // No close(): the process died here (its timers are unref'd; nothing else is written).
  const b = await openStore(dir);
  t.teardown(() => b.store.close());
  t.same(Object.keys(byId(b.store.values())), [kept.id], 'the flushed session is back, the newer one is not');
  t.equal((await b.store.get(kept.id))?.updates, 0, 'with its flushed state');
});

t.test('a torn journal tail is cut off; damage in the middle is skipped and counted', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  const r1 = sessionRecord(a.clock.now());
  const r2 = sessionRecord(a.clock.now());
  await a.store.create(r1);
  await a.journal.flush();
  await a.store.create(r2);
  await a.journal.flush();
  const file = join(dir, journals(dir)[0]!);
  const [first, second] = readFileSync(file, 'utf8').trim().split('\n');
  // Garbage between the two records, then half a record at the end (a write cut short).
  writeFileSync(file, `${first}\n{"p":{"id":"x",\u0000\u0000\n${second}\n${second!.slice(0, 40)}`);
  const b = await openStore(dir);
  t.teardown(() => b.store.close());
  t.same(Object.keys(byId(b.store.values())).sort(), [r1.id, r2.id].sort(), 'both records');
  t.equal(b.report.corruptLines, 1, 'the damaged line counted');
  t.equal(b.report.tornBytes, 40, 'the torn tail measured');
  t.same(journals(dir), ['journal.000000000002'], 'the damaged journal is replaced after the snapshot');
  const c = await openStore(dir);
  t.teardown(() => c.store.close());
  t.match(c.report, { records: 2, snapshotRecords: 2, corruptLines: 0, tornBytes: 0 }, 'the next start reads a clean snapshot');
});

t.test('after a failed write the next one starts on a new line', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  const r1 = sessionRecord(a.clock.now());
  await a.store.create(r1);
  await a.journal.flush();
  // As if a write had been cut short: half a line at the end of the journal, the flag set.
  const file = join(dir, journals(dir)[0]!);
  appendFileSync(file, '{"p":{"id":"half');
  (a.journal as unknown as { newlineFirst: boolean }).newlineFirst = true;
  const r2 = sessionRecord(a.clock.now());
  await a.store.create(r2);
  await a.journal.flush();
  const b = await openStore(dir);
  t.teardown(() => b.store.close());
  t.same(Object.keys(byId(b.store.values())).sort(), [r1.id, r2.id].sort(), 'the record after the torn line survives');
  t.equal(b.report.corruptLines, 1, 'only the torn line is lost');
  await a.store.close();
});

t.test('compaction: a snapshot plus a new journal; restart reads both', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir, { compactMinBytes: 8192 });
  const records: SessionRecord[] = [];
  for (let i = 0; i < 20; i++) {
    const r = sessionRecord(a.clock.now());
    records.push(r);
    await a.store.create(r);
  }
  for (let round = 1; round <= 10; round++) {
    for (const r of records) await a.store.update(r.id, { updates: round });
    await a.journal.flush();
  }
  t.ok(a.observer.compactions.length >= 1, `compacted ${a.observer.compactions.length} time(s)`);
  t.equal(journals(dir).length, 1, 'older journals deleted');
  await a.store.end(records[0]!.id, 'user-request');
  await a.store.update(records[1]!.id, { updates: 99 });
  await a.store.close();

  const b = await openStore(dir, { compactMinBytes: 8192 });
  t.teardown(() => b.store.close());
  t.equal(b.report.records, 19, 'the ended one is gone');
  t.equal((await b.store.get(records[1]!.id))?.updates, 99, 'the journal after the snapshot applied');
  t.equal((await b.store.get(records[2]!.id))?.updates, 10, 'the snapshot state of the others');
});

t.test('a damaged snapshot is set aside and the journals replayed', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  const r = sessionRecord(a.clock.now());
  await a.store.create(r);
  await a.journal.flush();
  await a.journal.compact();
  const r2 = sessionRecord(a.clock.now());
  await a.store.create(r2);
  await a.store.close();
  // Cut the snapshot's end line off.
  const snapshot = join(dir, 'snapshot');
  truncateSync(snapshot, readFileSync(snapshot).length - 5);
  const b = await openStore(dir);
  t.teardown(() => b.store.close());
  t.match(b.report.snapshotSetAside, /^snapshot\.corrupt-\d+$/, 'set aside');
  t.ok(existsSync(join(dir, b.report.snapshotSetAside!)), 'kept for a look');
  t.same(Object.keys(byId(b.store.values())), [r2.id], 'what the journal after it holds (what only the snapshot held is lost)');
});

t.test('an unusable state directory fails open with AAA_ERR_SESSION_STATE_IO', async (t) => {
  const base = tempDir();
  writeFileSync(base, 'a file, not a directory');
  await t.rejects(SessionJournal.open({ dir: join(base, 'sessions'), flushMs: 100, compactMinBytes: 1 << 20 }, recorder()), { code: 'AAA_ERR_SESSION_STATE_IO' });
});

t.test('a flush larger than one write chunk goes out in several writes, serving requests between them', async (t) => {
  const dir = tempDir();
  const a = await openStore(dir);
  const now = a.clock.now();
  const created: SessionRecord[] = [];
  // About 400 octets of JSON each: 1000 sessions are several 64 KiB chunks.
  for (let i = 0; i < 1000; i++) {
    const r = sessionRecord(now, { acctSessionId: `CHUNK-${i}` });
    created.push(r);
    await a.store.create(r);
  }
  // Between the chunks the loop runs: a timer sees the journal part-written.
  const path = join(dir, journals(dir)[0]!);
  const sizes = new Set<number>();
  const ticker = setInterval(() => sizes.add(statSync(path).size), 0);
  await a.journal.flush();
  clearInterval(ticker);
  const final = statSync(path).size;
  t.same(a.observer.flushes, [1000], 'one flush of every pending session');
  t.ok(final > 4 * 64 * 1024, `several chunks' worth (${final} octets)`);
  t.ok([...sizes].some((n) => n > 0 && n < final), `timers ran between chunk writes (sizes seen: ${[...sizes].sort((x, y) => x - y).join(', ')})`);
  await a.store.close();

  const b = await openStore(dir);
  t.teardown(() => b.store.close());
  t.equal(b.report.records, 1000, 'all of them come back');
  t.equal(b.report.corruptLines, 0);
  t.same(byId(b.store.values()), JSON.parse(JSON.stringify(byId(created))));
});
