/**
 * The in-process session store: records in a Map, an index Map per selective lookup field,
 * expiry on a deadline wheel. Every method applies its change synchronously and returns a
 * settled promise, so calls made one after another apply in that order (the store contract,
 * store.ts). Optionally persisted: each change is handed to a StorePersistence (the journal),
 * which writes in batches off the request path.
 *
 * Indexed: User-Name, Calling-Station-Id, Framed-IP-Address, Acct-Session-Id,
 * Acct-Multi-Session-Id, and NAS + NAS-Port together: lookups that find a handful of sessions.
 * NAS, client and owner hold a large share of the table each (every session of a NAS), so
 * keeping a set per value would cost each create and end several operations on sets of many
 * thousands; they narrow what an indexed field found, or a scan when a query has nothing else
 * (Accounting-On, an admin listing by NAS, the owner lookup at start: none of them per request).
 * Sessions per client are counted as they come and go.
 */
import { SessionError } from './errors.js';
import type { SessionStore, SessionStoreCounts } from './store.js';
import { DeadlineWheel, systemClock, type Clock } from './timers.js';
import { normalizeStationId, type SessionEvent, type SessionListener, type SessionPatch, type SessionQuery, type SessionRecord } from './types.js';

/** Where a persistent memory store sends its changes (src/session/journal.ts). */
export interface StorePersistence {
  put(record: SessionRecord): void;
  delete(id: string): void;
  /** Writes what is pending; called by the store's close(). */
  close(): Promise<void>;
}

export interface MemoryStoreOptions {
  clock?: Clock;
  /** How often expired records are looked for (default 1000 ms). */
  sweepMs?: number;
  persistence?: StorePersistence;
}

/** An index bucket: most keys (a user, an address, a session id) belong to one session, so a Set is made only for the second. */
type Bucket = string | Set<string>;
type Index<K = string> = Map<K, Bucket>;

const bucketSize = (b: Bucket): number => (typeof b === 'string' ? 1 : b.size);

const stationKey = (r: SessionRecord): string | undefined => (r.callingStationId === undefined ? undefined : normalizeStationId(r.callingStationId));

/** NAS + NAS-Port together (a port number alone says little): a map of ports per NAS, so no key string is built per lookup. */
class PortIndex {
  private readonly byNas = new Map<string, Map<number, Bucket>>();

  get(nasKey: string, port: number): Bucket | undefined {
    return this.byNas.get(nasKey)?.get(port);
  }

  add(r: SessionRecord): void {
    if (r.nasPort === undefined) return;
    let ports = this.byNas.get(r.nasKey);
    if (!ports) this.byNas.set(r.nasKey, (ports = new Map()));
    add(ports, r.nasPort, r.id);
  }

  drop(r: SessionRecord): void {
    if (r.nasPort === undefined) return;
    const ports = this.byNas.get(r.nasKey);
    if (!ports) return;
    drop(ports, r.nasPort, r.id);
    if (ports.size === 0) this.byNas.delete(r.nasKey);
  }
}

/** The NAS identities `nas` lookups match. */
function hasNasIdentity(r: SessionRecord, nas: string): boolean {
  return r.nasKey === nas || r.nasAddress === nas || r.nasIpAddress === nas || r.nasIpv6Address === nas || r.nasIdentifier === nas;
}

export class MemoryStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();
  private readonly byUser: Index = new Map();
  private readonly byStation: Index = new Map();
  private readonly byIp: Index = new Map();
  private readonly byAsi: Index = new Map();
  private readonly byMasi: Index = new Map();
  private readonly byPort = new PortIndex();
  private readonly perClient = new Map<string, number>();
  private readonly listeners = new Set<SessionListener>();
  private readonly expiry: DeadlineWheel;
  private readonly clock: Clock;
  private readonly stopSweep: () => void;
  private readonly persistence: StorePersistence | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: MemoryStoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.persistence = opts.persistence;
    this.expiry = new DeadlineWheel(this.clock.now());
    this.stopSweep = this.clock.every(opts.sweepMs ?? 1000, () => this.sweep());
  }

  /** Loads records (from the journal) before use: no events, nothing persisted again. */
  restore(records: Iterable<SessionRecord>): void {
    for (const r of records) {
      const old = this.records.get(r.id);
      if (old) this.remove(old);
      this.insert(r);
    }
  }

  /** The live records, for a snapshot (a live iterator: it sees changes made while it runs). */
  values(): IterableIterator<SessionRecord> {
    return this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  create(record: SessionRecord): Promise<void> {
    if (this.closing) return closedError();
    if (this.records.has(record.id)) return Promise.reject(new SessionError('AAA_ERR_SESSION_EXISTS', `session ${record.id} exists`));
    this.insert(record);
    this.persistence?.put(record);
    this.emit({ type: 'created', record });
    return Promise.resolve();
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return Promise.resolve(this.records.get(id));
  }

  update(id: string, patch: SessionPatch): Promise<SessionRecord | undefined> {
    if (this.closing) return closedError();
    const old = this.records.get(id);
    if (!old) return Promise.resolve(undefined);
    const next: SessionRecord = { ...old, ...patch, id: old.id, owner: old.owner, startedAt: old.startedAt };
    this.replace(old, next);
    this.persistence?.put(next);
    this.emit({ type: 'updated', record: next });
    return Promise.resolve(next);
  }

  end(id: string, cause: string): Promise<SessionRecord | undefined> {
    if (this.closing) return closedError();
    return Promise.resolve(this.endNow(id, cause));
  }

  setOwner(id: string, expected: string, next: string): Promise<boolean> {
    if (this.closing) return closedError();
    const old = this.records.get(id);
    if (!old || old.owner !== expected) return Promise.resolve(false);
    if (expected === next) return Promise.resolve(true);
    const moved: SessionRecord = { ...old, owner: next };
    this.replace(old, moved);
    this.persistence?.put(moved);
    this.emit({ type: 'migrated', record: moved });
    return Promise.resolve(true);
  }

  find(q: SessionQuery): Promise<SessionRecord[]> {
    const limit = q.limit ?? Infinity;
    const out: SessionRecord[] = [];
    if (limit <= 0) return Promise.resolve(out);
    const station = q.callingStationId === undefined ? undefined : normalizeStationId(q.callingStationId);
    const candidates = this.candidates(q, station);
    if (candidates === null) return Promise.resolve(out);
    if (typeof candidates === 'string') {
      const r = this.records.get(candidates);
      if (r && matches(r, q, station)) out.push(r);
      return Promise.resolve(out);
    }
    for (const c of candidates) {
      const r = typeof c === 'string' ? this.records.get(c) : c;
      if (!r || !matches(r, q, station)) continue;
      out.push(r);
      if (out.length >= limit) break;
    }
    return Promise.resolve(out);
  }

  counts(): Promise<SessionStoreCounts> {
    return Promise.resolve({ total: this.records.size, byClient: Object.fromEntries(this.perClient) });
  }

  subscribe(listener: SessionListener): Promise<() => Promise<void>> {
    // Each subscription is its own entry, so one function subscribed twice is called twice.
    const entry: SessionListener = (e) => listener(e);
    this.listeners.add(entry);
    return Promise.resolve(() => {
      this.listeners.delete(entry);
      return Promise.resolve();
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopSweep();
      await this.persistence?.close();
      this.listeners.clear();
    })();
    return this.closing;
  }

  /** Drops the records whose lifetime has run out. */
  sweep(): void {
    if (this.closing) return;
    const now = this.clock.now();
    for (const id of this.expiry.due(now)) {
      const r = this.records.get(id);
      // A refresh may have moved it on since it was put in this slot.
      if (r?.expiresAt !== undefined && r.expiresAt <= now) this.endNow(id, 'expired');
      else if (r?.expiresAt !== undefined) this.expiry.set(id, r.expiresAt);
    }
  }

  private endNow(id: string, cause: string): SessionRecord | undefined {
    const old = this.records.get(id);
    if (!old) return undefined;
    this.remove(old);
    this.persistence?.delete(id);
    this.emit({ type: 'ended', record: old, cause });
    return old;
  }

  /**
   * The smallest bucket among the query's indexed fields (a single id, or a Set of ids); every
   * record when it has none; null when one of them finds nothing.
   */
  private candidates(q: SessionQuery, station: string | undefined): Bucket | Iterable<SessionRecord> | null {
    let best: Bucket | null | undefined;
    best = narrow(undefined, this.byAsi, q.acctSessionId);
    if (q.nasKey !== undefined && q.nasPort !== undefined) {
      const bucket = this.byPort.get(q.nasKey, q.nasPort);
      if (bucket === undefined) return null;
      best = bucket;
    }
    best = narrow(best, this.byMasi, q.acctMultiSessionId);
    best = narrow(best, this.byIp, q.framedIpAddress);
    best = narrow(best, this.byStation, station);
    best = narrow(best, this.byUser, q.user);
    return best === undefined ? this.records.values() : best;
  }

  private insert(r: SessionRecord): void {
    this.records.set(r.id, r);
    add(this.byUser, r.user, r.id);
    add(this.byStation, stationKey(r), r.id);
    add(this.byIp, r.framedIpAddress, r.id);
    add(this.byAsi, r.acctSessionId, r.id);
    add(this.byMasi, r.acctMultiSessionId, r.id);
    this.byPort.add(r);
    this.perClient.set(r.client, (this.perClient.get(r.client) ?? 0) + 1);
    if (r.expiresAt !== undefined) this.expiry.set(r.id, r.expiresAt);
  }

  private remove(r: SessionRecord): void {
    this.records.delete(r.id);
    drop(this.byUser, r.user, r.id);
    drop(this.byStation, stationKey(r), r.id);
    drop(this.byIp, r.framedIpAddress, r.id);
    drop(this.byAsi, r.acctSessionId, r.id);
    drop(this.byMasi, r.acctMultiSessionId, r.id);
    this.byPort.drop(r);
    const n = (this.perClient.get(r.client) ?? 0) - 1;
    if (n > 0) this.perClient.set(r.client, n);
    else this.perClient.delete(r.client);
    this.expiry.clear(r.id);
  }

  /** Moves only the index entries whose key changed (an interim update usually changes none). */
  private replace(old: SessionRecord, next: SessionRecord): void {
    const id = next.id;
    this.records.set(id, next);
    if (old.user !== next.user) move(this.byUser, old.user, next.user, id);
    if (old.callingStationId !== next.callingStationId) move(this.byStation, stationKey(old), stationKey(next), id);
    if (old.framedIpAddress !== next.framedIpAddress) move(this.byIp, old.framedIpAddress, next.framedIpAddress, id);
    if (old.acctSessionId !== next.acctSessionId) move(this.byAsi, old.acctSessionId, next.acctSessionId, id);
    if (old.acctMultiSessionId !== next.acctMultiSessionId) move(this.byMasi, old.acctMultiSessionId, next.acctMultiSessionId, id);
    if (old.nasKey !== next.nasKey || old.nasPort !== next.nasPort) {
      this.byPort.drop(old);
      this.byPort.add(next);
    }
    if (old.client !== next.client) {
      const n = (this.perClient.get(old.client) ?? 0) - 1;
      if (n > 0) this.perClient.set(old.client, n);
      else this.perClient.delete(old.client);
      this.perClient.set(next.client, (this.perClient.get(next.client) ?? 0) + 1);
    }
    if (old.expiresAt !== next.expiresAt) {
      if (next.expiresAt === undefined) this.expiry.clear(id);
      else this.expiry.set(id, next.expiresAt);
    }
  }

  private emit(event: SessionEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not undo or block a change that is already made.
      }
    }
  }
}

/** The smaller of `best` and the key's bucket; null once any given key has no bucket (nothing matches). */
function narrow(best: Bucket | null | undefined, index: Index, key: string | undefined): Bucket | null | undefined {
  if (best === null || key === undefined) return best;
  if (typeof best === 'string') return best;
  const bucket = index.get(key);
  if (bucket === undefined) return null;
  return best === undefined || bucketSize(bucket) < best.size ? bucket : best;
}

function add<K>(index: Index<K>, key: K | undefined, id: string): void {
  if (key === undefined) return;
  const bucket = index.get(key);
  if (bucket === undefined) index.set(key, id);
  else if (typeof bucket !== 'string') bucket.add(id);
  else if (bucket !== id) index.set(key, new Set([bucket, id]));
}

function drop<K>(index: Index<K>, key: K | undefined, id: string): void {
  if (key === undefined) return;
  const bucket = index.get(key);
  if (bucket === undefined) return;
  if (typeof bucket === 'string') {
    if (bucket === id) index.delete(key);
    return;
  }
  bucket.delete(id);
  if (bucket.size === 1) index.set(key, bucket.values().next().value!);
}

function move(index: Index, from: string | undefined, to: string | undefined, id: string): void {
  drop(index, from, id);
  add(index, to, id);
}

function closedError(): Promise<never> {
  return Promise.reject(new SessionError('AAA_ERR_SESSION_STORE_CLOSED', 'session store is closed'));
}

function matches(r: SessionRecord, q: SessionQuery, station: string | undefined): boolean {
  if (q.user !== undefined && r.user !== q.user) return false;
  if (station !== undefined && (r.callingStationId === undefined || normalizeStationId(r.callingStationId) !== station)) return false;
  if (q.framedIpAddress !== undefined && r.framedIpAddress !== q.framedIpAddress) return false;
  if (q.acctSessionId !== undefined && r.acctSessionId !== q.acctSessionId) return false;
  if (q.acctMultiSessionId !== undefined && r.acctMultiSessionId !== q.acctMultiSessionId) return false;
  if (q.nasKey !== undefined && r.nasKey !== q.nasKey) return false;
  if (q.nas !== undefined && !hasNasIdentity(r, q.nas)) return false;
  if (q.client !== undefined && r.client !== q.client) return false;
  if (q.owner !== undefined && r.owner !== q.owner) return false;
  if (q.nasPort !== undefined && r.nasPort !== q.nasPort) return false;
  if (q.unbound === true && r.acctSessionId !== undefined) return false;
  return true;
}
