/**
 * The contract every SessionStore keeps (src/session/store.ts), as one tap suite that runs
 * against each implementation: the memory store (with and without its journal) now, the
 * Redis store later. A store is given with a way to let time pass, so the same tests run on a
 * manual clock (memory) or on the wall clock (Redis).
 */
import type { Test } from 'tap';
import type { SessionStore } from '../../src/session/store.js';
import type { SessionEvent, SessionRecord } from '../../src/session/types.js';

export interface ContractStore {
  store: SessionStore;
  /** ms since the epoch on the store's clock. */
  now(): number;
  /** Lets this much time pass for the store (a manual clock moves; a real one is waited on). */
  pass(ms: number): Promise<void>;
}

export type ContractFactory = (t: Test) => Promise<ContractStore>;

let seq = 0;

/** A complete record; `over` replaces fields. */
export function sessionRecord(now: number, over: Partial<SessionRecord> = {}): SessionRecord {
  seq++;
  return {
    id: `contract-${seq}`,
    owner: 'node-a',
    origin: 'access',
    user: `user-${seq}`,
    realm: undefined,
    client: 'nas-1',
    nasKey: 'nas-1/192.0.2.10',
    nasAddress: '127.0.0.1',
    nasIpAddress: '192.0.2.10',
    nasIpv6Address: undefined,
    nasIdentifier: 'switch-1',
    nasPort: seq,
    nasPortId: undefined,
    nasPortType: 15,
    callingStationId: `02-00-00-00-00-${(seq % 256).toString(16).padStart(2, '0')}`,
    calledStationId: 'AP-1:corp',
    framedIpAddress: `10.0.${(seq >> 8) & 255}.${seq & 255}`,
    class: ['636c617373'],
    state: undefined,
    backend: 'corporate',
    upstream: 'radius-a',
    sessionTimeout: undefined,
    idleTimeout: undefined,
    terminationAction: undefined,
    interimInterval: 600,
    startedAt: now,
    timeoutAt: undefined,
    expiresAt: undefined,
    acctSessionId: undefined,
    acctMultiSessionId: undefined,
    acctStartedAt: undefined,
    acctListener: undefined,
    lastUpdateAt: now,
    lastActivityAt: now,
    sessionTime: undefined,
    inputOctets: 0,
    outputOctets: 0,
    inputPackets: 0,
    outputPackets: 0,
    updates: 0,
    ...over,
  };
}

const ids = (records: readonly SessionRecord[]): string[] => records.map((r) => r.id).sort();

export function sessionStoreContract(t: Test, name: string, factory: ContractFactory): void {
  t.test(`${name}: SessionStore contract`, async (t) => {
    t.test('create and get; an id is never created twice', async (t) => {
      const { store, now } = await factory(t);
      const r = sessionRecord(now());
      await store.create(r);
      t.same(await store.get(r.id), r, 'get returns what was created');
      t.equal(await store.get('no-such-id'), undefined, 'unknown id: undefined');
      await t.rejects(store.create({ ...r, user: 'someone-else' }), { code: 'AAA_ERR_SESSION_EXISTS' }, 'same id again is refused');
      t.equal((await store.get(r.id))?.user, r.user, 'and changes nothing');
    });

    t.test('find by every lookup field, ANDed', async (t) => {
      const { store, now } = await factory(t);
      const a = sessionRecord(now(), { user: 'alice', callingStationId: '02-00-5E-10-00-01', acctSessionId: 'A1', acctMultiSessionId: 'M1', client: 'nas-1' });
      const b = sessionRecord(now(), { user: 'alice', nasKey: 'nas-2/switch-2', nasIpAddress: undefined, nasIdentifier: 'switch-2', client: 'nas-2', nasAddress: '127.0.0.2', owner: 'node-b' });
      const c = sessionRecord(now(), { user: 'bob', nasPort: 7, acctSessionId: 'C1' });
      for (const r of [a, b, c]) await store.create(r);
      t.same(ids(await store.find({})), ids([a, b, c]), 'empty query: all');
      t.same(ids(await store.find({ user: 'alice' })), ids([a, b]), 'user');
      t.same(ids(await store.find({ user: 'nobody' })), [], 'user, none');
      for (const mac of ['02:00:5e:10:00:01', '0200.5e10.0001', '02005E100001', '02-00-5E-10-00-01']) {
        t.same(ids(await store.find({ callingStationId: mac })), [a.id], `Calling-Station-Id as ${mac}`);
      }
      t.same(ids(await store.find({ framedIpAddress: b.framedIpAddress })), [b.id], 'Framed-IP-Address');
      t.same(ids(await store.find({ acctSessionId: 'A1' })), [a.id], 'Acct-Session-Id');
      t.same(ids(await store.find({ acctMultiSessionId: 'M1' })), [a.id], 'Acct-Multi-Session-Id');
      t.same(ids(await store.find({ nas: '192.0.2.10' })), ids([a, c]), 'nas by NAS-IP-Address');
      t.same(ids(await store.find({ nas: 'switch-2' })), [b.id], 'nas by NAS-Identifier');
      t.same(ids(await store.find({ nas: '127.0.0.2' })), [b.id], 'nas by source address');
      t.same(ids(await store.find({ nas: 'nas-2/switch-2' })), [b.id], 'nas by nasKey');
      t.same(ids(await store.find({ nasKey: 'nas-1/192.0.2.10' })), ids([a, c]), 'nasKey exactly');
      t.same(ids(await store.find({ client: 'nas-2' })), [b.id], 'client');
      t.same(ids(await store.find({ owner: 'node-b' })), [b.id], 'owner');
      t.same(ids(await store.find({ user: 'alice', client: 'nas-1' })), [a.id], 'two fields are ANDed');
      t.same(ids(await store.find({ user: 'alice', acctSessionId: 'C1' })), [], 'ANDed, none');
      t.same(ids(await store.find({ nasKey: 'nas-1/192.0.2.10', nasPort: 7 })), [c.id], 'nasPort narrows');
      t.same(ids(await store.find({ nasKey: 'nas-1/192.0.2.10', unbound: true })), [], 'unbound: sessions without Acct-Session-Id only');
      t.same(ids(await store.find({ user: 'alice', unbound: true })), [b.id], 'unbound');
      t.equal((await store.find({ user: 'alice', limit: 1 })).length, 1, 'limit');
    });

    t.test('update patches the record and moves its lookups; id, owner and startedAt stay', async (t) => {
      const { store, now } = await factory(t);
      const r = sessionRecord(now(), { framedIpAddress: '10.9.9.1' });
      await store.create(r);
      const patch = { framedIpAddress: '10.9.9.2', acctSessionId: 'S-1', inputOctets: 5000, updates: 1 };
      const u = await store.update(r.id, { ...patch, id: 'other', owner: 'thief', startedAt: 1 } as never);
      t.match(u, { ...patch, id: r.id, owner: r.owner, startedAt: r.startedAt }, 'patched; id, owner, startedAt kept');
      t.same(await store.get(r.id), u, 'get sees the update');
      t.same(ids(await store.find({ framedIpAddress: '10.9.9.1' })), [], 'old Framed-IP-Address no longer finds it');
      t.same(ids(await store.find({ framedIpAddress: '10.9.9.2' })), [r.id], 'the new one does');
      t.same(ids(await store.find({ acctSessionId: 'S-1' })), [r.id], 'a bound Acct-Session-Id finds it');
      t.same(ids(await store.find({ user: r.user, unbound: true })), [], 'and it is no longer unbound');
      const cleared = await store.update(r.id, { framedIpAddress: undefined });
      t.equal(cleared?.framedIpAddress, undefined, 'a field patched to undefined is cleared');
      t.same(ids(await store.find({ framedIpAddress: '10.9.9.2' })), [], 'and its lookup goes');
      t.equal(await store.update('no-such-id', { updates: 3 }), undefined, 'unknown id: undefined');
    });

    t.test('end removes the record and its lookups, once', async (t) => {
      const { store, now } = await factory(t);
      const r = sessionRecord(now(), { acctSessionId: 'E-1' });
      await store.create(r);
      t.same(await store.end(r.id, 'user-request'), r, 'resolves with the last state');
      t.equal(await store.get(r.id), undefined, 'gone');
      t.same(ids(await store.find({ acctSessionId: 'E-1' })), [], 'not found by Acct-Session-Id');
      t.same(ids(await store.find({ user: r.user })), [], 'nor by user');
      t.equal(await store.end(r.id, 'user-request'), undefined, 'a second end: undefined');
    });

    t.test('owner changes only by compare-and-set; start and lifetime are kept', async (t) => {
      const { store, now } = await factory(t);
      const r = sessionRecord(now(), { expiresAt: now() + 3_600_000 });
      await store.create(r);
      t.equal(await store.setOwner(r.id, 'node-x', 'node-b'), false, 'wrong expected owner: refused');
      t.equal((await store.get(r.id))?.owner, 'node-a', 'owner unchanged');
      t.equal(await store.setOwner(r.id, 'node-a', 'node-b'), true, 'right expected owner: done');
      const moved = await store.get(r.id);
      t.match(moved, { owner: 'node-b', startedAt: r.startedAt, expiresAt: r.expiresAt }, 'moved, with its start and lifetime');
      t.same(ids(await store.find({ owner: 'node-b' })), [r.id], 'found by the new owner');
      t.same(ids(await store.find({ owner: 'node-a' })), [], 'not by the old');
      t.equal(await store.setOwner(r.id, 'node-a', 'node-c'), false, 'the old owner cannot take it back blindly');
      t.equal(await store.setOwner('no-such-id', 'node-a', 'node-b'), false, 'unknown id: false');
    });

    t.test('a record is dropped once its remaining lifetime has run out', async (t) => {
      const { store, now, pass } = await factory(t);
      const events: SessionEvent[] = [];
      await store.subscribe((e) => events.push(e));
      const short = sessionRecord(now(), { expiresAt: now() + 1500 });
      const refreshed = sessionRecord(now(), { expiresAt: now() + 1500 });
      const forever = sessionRecord(now());
      for (const r of [short, refreshed, forever]) await store.create(r);
      await store.update(refreshed.id, { expiresAt: now() + 60_000 });
      await pass(3500);
      t.equal(await store.get(short.id), undefined, 'past expiresAt: gone');
      t.ok(await store.get(refreshed.id), 'a refreshed lifetime keeps it');
      t.ok(await store.get(forever.id), 'no expiresAt: never expires');
      const ended = events.filter((e) => e.type === 'ended');
      t.same(
        ended.map((e) => [e.record.id, e.cause]),
        [[short.id, 'expired']],
        'an ended event with cause expired',
      );
      t.same(ids(await store.find({ user: short.user })), [], 'and its lookups are gone');
    });

    t.test('events: created, updated, migrated, ended, in order; unsubscribe stops them', async (t) => {
      const { store, now } = await factory(t);
      const events: SessionEvent[] = [];
      const unsubscribe = await store.subscribe((e) => events.push(e));
      const r = sessionRecord(now());
      // Issued without waiting: applied in this order (the contract).
      const done = [store.create(r), store.update(r.id, { updates: 1 }), store.setOwner(r.id, 'node-a', 'node-b'), store.end(r.id, 'lost-carrier')];
      await Promise.all(done);
      const deadline = Date.now() + 3000;
      while (events.length < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
      t.same(
        events.map((e) => [e.type, e.record.id, e.cause]),
        [
          ['created', r.id, undefined],
          ['updated', r.id, undefined],
          ['migrated', r.id, undefined],
          ['ended', r.id, 'lost-carrier'],
        ],
        'every change once, in the order issued',
      );
      t.equal(events[1]!.record.updates, 1, 'updated carries the new record');
      t.equal(events[2]!.record.owner, 'node-b', 'migrated carries the new owner');
      await unsubscribe();
      await store.create(sessionRecord(now()));
      await new Promise((res) => setTimeout(res, 50));
      t.equal(events.length, 4, 'nothing after unsubscribe');
    });

    t.test('counts: total and per client', async (t) => {
      const { store, now } = await factory(t);
      const records = [sessionRecord(now(), { client: 'a' }), sessionRecord(now(), { client: 'a' }), sessionRecord(now(), { client: 'b' })];
      for (const r of records) await store.create(r);
      await store.end(records[0]!.id, 'user-request');
      t.same(await store.counts(), { total: 2, byClient: { a: 1, b: 1 } });
    });

    t.test('after close, changes are refused; close is idempotent', async (t) => {
      const { store, now } = await factory(t);
      const r = sessionRecord(now());
      await store.create(r);
      await Promise.all([store.close(), store.close()]);
      await t.rejects(store.create(sessionRecord(now())), { code: 'AAA_ERR_SESSION_STORE_CLOSED' });
      await t.rejects(store.update(r.id, { updates: 1 }), { code: 'AAA_ERR_SESSION_STORE_CLOSED' });
      await t.rejects(store.end(r.id, 'user-request'), { code: 'AAA_ERR_SESSION_STORE_CLOSED' });
      await store.close();
    });
  });
}
