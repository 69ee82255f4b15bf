/** The SessionStore contract against the memory store, without and with its journal. */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionJournal, type JournalObserver } from '../../../src/session/journal.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { ManualClock } from '../../../src/session/timers.js';
import { sessionRecord, sessionStoreContract } from '../../helpers/session-store-contract.js';

const quiet: JournalObserver = { flushed: () => undefined, compacted: () => undefined, failed: () => undefined };

sessionStoreContract(t, 'memory store', async (t) => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  t.teardown(() => store.close());
  return { store, now: () => clock.now(), pass: async (ms) => clock.advance(ms) };
});

sessionStoreContract(t, 'memory store with journal', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-sessions-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock();
  const { journal, records } = await SessionJournal.open({ dir, flushMs: 5, compactMinBytes: 4096 }, quiet);
  const store = new MemoryStore({ clock, persistence: journal });
  store.restore(records);
  await journal.start(() => store.values());
  t.teardown(() => store.close());
  return { store, now: () => clock.now(), pass: async (ms) => clock.advance(ms) };
});

t.test('memory store: the expiry sweep runs on the clock it was given', async (t) => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock, sweepMs: 1000 });
  t.teardown(() => store.close());
  const r = sessionRecord(clock.now(), { expiresAt: clock.now() + 10_000 });
  await store.create(r);
  clock.advance(9_000);
  t.ok(await store.get(r.id), 'before expiresAt: kept');
  clock.advance(2_000);
  t.equal(await store.get(r.id), undefined, 'after: dropped by the sweep');
});

t.test('memory store: restore loads records without events or persistence', async (t) => {
  const clock = new ManualClock();
  const puts: string[] = [];
  const store = new MemoryStore({ clock, persistence: { put: (r) => puts.push(r.id), delete: () => undefined, close: async () => undefined } });
  t.teardown(() => store.close());
  const events: string[] = [];
  await store.subscribe((e) => events.push(e.type));
  const r = sessionRecord(clock.now(), { acctSessionId: 'R-1' });
  store.restore([r]);
  t.same(await store.get(r.id), r);
  t.equal((await store.find({ acctSessionId: 'R-1' })).length, 1, 'indexed');
  t.same(events, [], 'no events');
  t.same(puts, [], 'not written again');
});
