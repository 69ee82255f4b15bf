/**
 * The session table: sessions created on Access-Accept and kept current by accounting, ended
 * by the NAS's Stop or Accounting-On/Off, or by the table itself when a session misses its
 * interim updates or passes its Session-Timeout (or proves idle), in which case it sends the
 * accounting server a Stop through the StopSink and tells its expiry listeners (the hook the
 * dynamic-authorization work uses to send the NAS a Disconnect-Request).
 *
 * The request path only reads the packet (one pass over its attributes into a small record)
 * and queues the work: accepted() and accounting() are synchronous, never wait on the store,
 * and never log. The queue runs from setImmediate, after the replies of the current batch
 * have gone, one job at a time, so a Start never overtakes the Access-Accept before it and an
 * Interim-Update never sees its session half bound. The store is asynchronous throughout
 * (store.ts); nothing here assumes it answers at once.
 */
import type { RadiusPacket, RawAttribute } from '../radius/packet.js';
import { AcctStatus, nasKeyOf, readAcceptFacts, readAccountingFacts, readNasFacts, realmOf, type AccountingFacts } from './attributes.js';
import { InterimRewriter, type InterimPolicy } from './interim.js';
import { matchSession, samePlace, sessionsAtPlace, type MatchedBy } from './match.js';
import { buildStop } from './stop.js';
import type { SessionStore } from './store.js';
import { DeadlineWheel, systemClock, type Clock } from './timers.js';
import { terminateCauseName, type EndCause, type SessionEvent, type SessionPatch, type SessionQuery, type SessionRecord } from './types.js';
import { randomBytes } from 'node:crypto';

export interface SessionTableOptions {
  /** This node's name: the owner of the sessions it creates. */
  nodeId: string;
  /** Beyond this many sessions new ones are not tracked (the Access-Accept still goes out). */
  maxSessions: number;
  interim: InterimPolicy;
  /** A session with no accounting for this many interim intervals is lost. */
  missedInterims: number;
  /** Seconds past Session-Timeout before the table ends a session (the NAS's own Stop usually comes first). */
  timeoutGraceSeconds: number;
  /** Take over every record of another owner at start (a store only this node uses: the memory store). */
  adoptAll: boolean;
}

/** Who ended a session. */
export type EndedBy = 'nas' | 'table' | 'store';

/** What became of an Accounting-Request: how it matched, or why it did not. */
export type AccountingResult = MatchedBy | 'created' | 'unmatched' | 'refused' | 'accounting_on_off' | 'ignored';

export const ACCOUNTING_RESULTS: readonly AccountingResult[] = ['session_id', 'nas_port', 'calling_station', 'created', 'unmatched', 'refused', 'accounting_on_off', 'ignored'];

/** The ends the table decides itself; each sends a Stop and calls the expiry listeners. */
export type ExpiryCause = 'session-timeout' | 'idle-timeout' | 'lost-service';

export interface SessionObserver {
  started(record: SessionRecord): void;
  ended(record: SessionRecord, cause: EndCause, by: EndedBy): void;
  /** A session not tracked because the table is full. */
  refused(reason: 'table_full', client: string): void;
  accounting(result: AccountingResult): void;
  /** A Stop the table built was recorded (spool or accounting log). */
  stopSent(record: SessionRecord, cause: EndCause): void;
  /** Recording it failed; `final` when it will not be tried again. */
  stopFailed(record: SessionRecord, cause: EndCause, err: unknown, final: boolean): void;
  /** A store operation or a queued job failed (a bug, or the store is unreachable). */
  failed(operation: string, err: unknown): void;
}

/** Where the table's own Stops go: the same durable path as the NAS's accounting (daemon/sessions.ts). */
export interface StopSink {
  send(record: SessionRecord, cause: EndCause, attributes: RawAttribute[]): Promise<void>;
}

/** Called when the table ends a session itself; the dynamic-authorization module sends the NAS its Disconnect-Request here. */
export type ExpiryListener = (record: SessionRecord, cause: ExpiryCause) => void;

type Job =
  | { kind: 'accept'; record: SessionRecord }
  | { kind: 'acct'; facts: AccountingFacts; client: string; nasKey: string; nasAddress: string; listener: string | undefined; at: number }
  | { kind: 'due'; ids: string[] }
  | { kind: 'end'; id: string; cause: EndCause; done: (r: SessionRecord | undefined) => void };

interface PendingStop {
  record: SessionRecord;
  cause: EndCause;
  attributes: RawAttribute[];
  attempts: number;
  retryAt: number;
}

/** Jobs waiting beyond this are dropped (and reported): a store that stopped answering must not eat the memory. */
const MAX_QUEUED = 100_000;
/** The store keeps a timed-out session this long past the table's own deadline (it acts first). */
const STORE_MARGIN_MS = 60_000;
const TICK_MS = 1000;
const STOP_ATTEMPTS = 20;

export class SessionTable {
  private jobs: Job[] = [];
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private readonly wheel: DeadlineWheel;
  private readonly expiryListeners = new Set<ExpiryListener>();
  private readonly byClient = new Map<string, number>();
  private total = 0;
  private readonly idPrefix = randomBytes(6).toString('hex');
  private counter = 0;
  private interim: InterimRewriter;
  private retries: PendingStop[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopTick: (() => void) | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Restored sessions get a full interim window from the start: the updates missed while we were down are not the NAS's fault. */
  private readonly startedAt: number;

  constructor(
    private readonly store: SessionStore,
    private opts: SessionTableOptions,
    private readonly sink: StopSink,
    private readonly observer: SessionObserver,
    private readonly clock: Clock = systemClock,
  ) {
    this.interim = new InterimRewriter(opts.interim);
    this.wheel = new DeadlineWheel(clock.now());
    this.startedAt = clock.now();
  }

  /** Subscribes to the store, counts and schedules the sessions it holds, starts the timers. */
  async start(): Promise<void> {
    this.unsubscribe = await this.store.subscribe((e) => this.onEvent(e));
    const counts = await this.store.counts();
    this.total = counts.total;
    for (const [client, n] of Object.entries(counts.byClient)) this.byClient.set(client, n);
    const nodeId = this.opts.nodeId;
    if (this.opts.adoptAll) {
      for (const r of await this.store.find({})) if (r.owner !== nodeId) await this.store.setOwner(r.id, r.owner, nodeId);
    }
    for (const r of await this.store.find({ owner: nodeId })) this.schedule(r);
    this.stopTick = this.clock.every(TICK_MS, () => this.tick());
  }

  /** Reload: interim policy, limits and grace apply to what happens from now on. */
  reconfigure(opts: SessionTableOptions): void {
    this.opts = { ...opts, nodeId: this.opts.nodeId };
    this.interim = new InterimRewriter(opts.interim);
  }

  get size(): number {
    return this.total;
  }

  /** Live sessions per client (NAS) name, as the store's events report them. */
  activeByClient(): ReadonlyMap<string, number> {
    return this.byClient;
  }

  // ------------------------------------------------------------ the request path

  /**
   * An Access-Accept on its way to the NAS: returns its attributes with the interim policy
   * applied, and queues the session. Synchronous; `reply` is never changed in place.
   */
  accepted(
    request: RadiusPacket,
    reply: RawAttribute[],
    client: string,
    nasAddress: string,
    backend: string,
    upstream: string | undefined,
    roles: readonly string[] | undefined,
  ): RawAttribute[] {
    if (this.closed) return reply;
    const { attributes, interval } = this.interim.apply(reply);
    const req = readNasFacts(request.attributes);
    const acc = readAcceptFacts(attributes);
    const user = acc.user ?? req.user;
    if (user === undefined) return attributes;
    const now = this.clock.now();
    const timeoutAt = acc.sessionTimeout !== undefined && acc.sessionTimeout > 0 ? now + acc.sessionTimeout * 1000 : undefined;
    const record: SessionRecord = {
      id: this.nextId(),
      owner: this.opts.nodeId,
      origin: 'access',
      user,
      realm: realmOf(user),
      client,
      nasKey: nasKeyOf(client, req, nasAddress),
      nasAddress,
      nasIpAddress: req.nasIpAddress,
      nasIpv6Address: req.nasIpv6Address,
      nasIdentifier: req.nasIdentifier,
      nasPort: req.nasPort,
      nasPortId: req.nasPortId,
      nasPortType: req.nasPortType,
      callingStationId: req.callingStationId,
      calledStationId: req.calledStationId,
      framedIpAddress: acc.framedIpAddress ?? req.framedIpAddress,
      class: acc.class,
      state: acc.state,
      backend,
      upstream,
      roles,
      sessionTimeout: acc.sessionTimeout,
      idleTimeout: acc.idleTimeout,
      terminationAction: acc.terminationAction,
      interimInterval: interval,
      startedAt: now,
      timeoutAt,
      expiresAt: this.expiresAt(timeoutAt, acc.terminationAction),
      // 802.1X re-authentication: the Access-Request names the session accounting already knows.
      acctSessionId: req.acctSessionId,
      acctMultiSessionId: req.acctMultiSessionId,
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
    };
    this.enqueue({ kind: 'accept', record });
    return attributes;
  }

  /** An Accounting-Request on its way in (to the log or the spool): queued, never waited for. */
  accounting(request: RadiusPacket, client: string, nasAddress: string, listener: string | undefined): void {
    if (this.closed) return;
    const facts = readAccountingFacts(request.attributes);
    this.enqueue({ kind: 'acct', facts, client, nasKey: nasKeyOf(client, facts, nasAddress), nasAddress, listener, at: this.clock.now() });
  }

  // ------------------------------------------------------------ lookups and actions

  find(query: SessionQuery): Promise<SessionRecord[]> {
    return this.store.find(query);
  }

  get(id: string): Promise<SessionRecord | undefined> {
    return this.store.get(id);
  }

  /**
   * Ends a session as the table would on a timeout: a Stop with `cause` to the accounting
   * server when accounting had bound it (dynamic authorization: Admin-Reset after a
   * Disconnect-ACK). Resolves with its last state, or undefined when there was none.
   */
  terminate(id: string, cause: EndCause): Promise<SessionRecord | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((done) => this.enqueue({ kind: 'end', id, cause, done }));
  }

  /** Registers a listener for the sessions the table ends itself; returns its removal. */
  onExpired(listener: ExpiryListener): () => void {
    this.expiryListeners.add(listener);
    return () => this.expiryListeners.delete(listener);
  }

  /** Resolves once the queue is empty (tests, and close). */
  idle(): Promise<void> {
    if (!this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Runs the deadlines that came due and the Stops waiting to be tried again; the clock calls it every second. */
  tick(): void {
    if (this.closed) return;
    const now = this.clock.now();
    const ids = this.wheel.due(now);
    if (ids.length > 0) this.enqueue({ kind: 'due', ids });
    if (this.retries.length > 0) {
      const waiting = this.retries;
      this.retries = [];
      for (const s of waiting) {
        if (s.retryAt <= now) this.track(this.deliver(s));
        else this.retries.push(s);
      }
    }
  }

  /** Stops the timers, finishes the queue and the Stops in flight. Idempotent; the store is closed by its owner. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.stopTick?.();
      await this.idle();
      while (this.inFlight.size > 0) await Promise.all(this.inFlight);
      for (const s of this.retries) this.observer.stopFailed(s.record, s.cause, new Error('shutting down'), true);
      this.retries = [];
      await this.unsubscribe?.();
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ the queue

  private enqueue(job: Job): void {
    if (this.jobs.length >= MAX_QUEUED) {
      this.observer.failed('queue_full', new Error(`more than ${MAX_QUEUED} session updates waiting for the store`));
      if (job.kind === 'end') job.done(undefined);
      return;
    }
    this.jobs.push(job);
    if (this.draining) return;
    this.draining = true;
    // After this turn's replies have left (batched UDP sends them when the batch is handled).
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.jobs.length > 0) {
      const batch = this.jobs;
      this.jobs = [];
      for (let i = 0; i < batch.length; i++) {
        const job = batch[i]!;
        try {
          await this.run(job);
        } catch (err) {
          this.observer.failed(job.kind, err);
          if (job.kind === 'end') job.done(undefined);
        }
      }
    }
    this.draining = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private run(job: Job): Promise<void> {
    switch (job.kind) {
      case 'accept':
        return this.onAccept(job.record);
      case 'acct':
        return this.onAccounting(job);
      case 'due':
        return this.onDue(job.ids);
      case 'end':
        return this.onEnd(job);
    }
  }

  private async onAccept(record: SessionRecord): Promise<void> {
    const store = this.store;
    if (record.acctSessionId !== undefined) {
      const [same] = await store.find({ acctSessionId: record.acctSessionId, nasKey: record.nasKey, limit: 1 });
      if (same) {
        // Re-authentication: the session goes on with the new Access-Accept's limits.
        const updated = await store.update(same.id, reauthPatch(same, record));
        if (updated) this.schedule(updated);
        return;
      }
    }
    if (record.nasPort !== undefined || record.callingStationId !== undefined) {
      const place = { nasKey: record.nasKey, user: record.user, acctSessionId: undefined, nasPort: record.nasPort, callingStationId: record.callingStationId };
      const older = await sessionsAtPlace(store, place, true);
      for (const o of older) if (samePlace(o, record)) await this.endSession(o, 'superseded', 'table', false);
    }
    if (this.total >= this.opts.maxSessions) {
      this.observer.refused('table_full', record.client);
      return;
    }
    await store.create(record);
    this.observer.started(record);
    this.schedule(record);
  }

  private async onAccounting(job: Extract<Job, { kind: 'acct' }>): Promise<void> {
    const f = job.facts;
    const store = this.store;
    if (f.status === AcctStatus.AccountingOn || f.status === AcctStatus.AccountingOff) {
      // RFC 2866 §5.1: the NAS (re)started or is going down; none of its sessions goes on. The
      // accounting server gets the NAS's own Accounting-On/Off and closes them on its side.
      const cause: EndCause = f.status === AcctStatus.AccountingOn ? 'accounting-on' : 'accounting-off';
      for (const r of await store.find({ nasKey: job.nasKey })) await this.endSession(r, cause, 'nas', false);
      this.observer.accounting('accounting_on_off');
      return;
    }
    if (f.status !== AcctStatus.Start && f.status !== AcctStatus.InterimUpdate && f.status !== AcctStatus.Stop) {
      this.observer.accounting('ignored');
      return;
    }
    const m = await matchSession(store, { nasKey: job.nasKey, user: f.user, acctSessionId: f.acctSessionId, nasPort: f.nasPort, callingStationId: f.callingStationId });
    if (!m) {
      if (f.status === AcctStatus.Stop || f.acctSessionId === undefined || f.user === undefined) {
        this.observer.accounting('unmatched');
        return;
      }
      if (this.total >= this.opts.maxSessions) {
        this.observer.accounting('refused');
        this.observer.refused('table_full', job.client);
        return;
      }
      const record = this.fromAccounting(job);
      await store.create(record);
      this.observer.accounting('created');
      this.observer.started(record);
      this.schedule(record);
      return;
    }
    this.observer.accounting(m.by);
    const r = m.record;
    const grew = f.status === AcctStatus.Start || total(f) > r.inputOctets + r.outputOctets + r.inputPackets + r.outputPackets;
    const patch: SessionPatch = {
      lastUpdateAt: job.at,
      lastActivityAt: grew ? job.at : r.lastActivityAt,
      updates: r.updates + 1,
      acctSessionId: r.acctSessionId ?? f.acctSessionId,
      acctMultiSessionId: f.acctMultiSessionId ?? r.acctMultiSessionId,
      acctStartedAt: r.acctStartedAt ?? job.at - (f.sessionTime ?? 0) * 1000,
      acctListener: job.listener ?? r.acctListener,
      framedIpAddress: f.framedIpAddress ?? r.framedIpAddress,
      callingStationId: r.callingStationId ?? f.callingStationId,
      calledStationId: r.calledStationId ?? f.calledStationId,
      class: r.class ?? f.class,
      sessionTime: f.sessionTime ?? r.sessionTime,
      inputOctets: f.inputOctets ?? r.inputOctets,
      outputOctets: f.outputOctets ?? r.outputOctets,
      inputPackets: f.inputPackets ?? r.inputPackets,
      outputPackets: f.outputPackets ?? r.outputPackets,
    };
    const updated = await store.update(r.id, patch);
    if (!updated) return;
    if (f.status === AcctStatus.Stop) {
      await this.endSession(updated, terminateCauseName(f.terminateCause), 'nas', false);
      return;
    }
    // Idle-Timeout can only be seen in accounting: an Interim-Update whose counters did not move
    // for that long. A NAS that sends no interims enforces its Idle-Timeout alone.
    const idle = updated.idleTimeout;
    const counted = f.inputOctets !== undefined || f.outputOctets !== undefined;
    if (f.status === AcctStatus.InterimUpdate && idle !== undefined && idle > 0 && counted && !grew && job.at - updated.lastActivityAt >= idle * 1000) {
      await this.endSession(updated, 'idle-timeout', 'table', true);
      return;
    }
    this.schedule(updated);
  }

  private async onDue(ids: string[]): Promise<void> {
    const now = this.clock.now();
    for (const id of ids) {
      const r = await this.store.get(id);
      if (!r || r.owner !== this.opts.nodeId) continue;
      const d = this.deadline(r);
      if (!d) continue;
      if (d.at <= now) await this.endSession(r, d.cause, 'table', true);
      else this.wheel.set(id, d.at);
    }
  }

  private async onEnd(job: Extract<Job, { kind: 'end' }>): Promise<void> {
    const r = await this.store.get(job.id);
    job.done(r ? await this.endSession(r, job.cause, 'table', true) : undefined);
  }

  // ------------------------------------------------------------ ends and deadlines

  /** Removes the session; a table-decided end (`own`) sends the Stop and calls the expiry listeners. */
  private async endSession(r: SessionRecord, cause: EndCause, by: EndedBy, own: boolean): Promise<SessionRecord | undefined> {
    const last = await this.store.end(r.id, cause);
    if (!last) return undefined;
    this.afterEnd(last, cause, by, own);
    return last;
  }

  private afterEnd(last: SessionRecord, cause: EndCause, by: EndedBy, own: boolean): void {
    this.wheel.clear(last.id);
    this.observer.ended(last, cause, by);
    if (!own) return;
    if (cause === 'session-timeout' || cause === 'idle-timeout' || cause === 'lost-service') {
      for (const l of this.expiryListeners) {
        try {
          l(last, cause);
        } catch (err) {
          this.observer.failed('expiry_listener', err);
        }
      }
    }
    // Without Acct-Session-Id the accounting server never heard of the session: nothing to stop.
    if (last.acctSessionId === undefined) return;
    const now = this.clock.now();
    this.track(this.deliver({ record: last, cause, attributes: buildStop(last, cause, now), attempts: 0, retryAt: now }));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(s: PendingStop): Promise<void> {
    try {
      await this.sink.send(s.record, s.cause, s.attributes);
      this.observer.stopSent(s.record, s.cause);
    } catch (err) {
      s.attempts++;
      const final = s.attempts >= STOP_ATTEMPTS || this.closed;
      this.observer.stopFailed(s.record, s.cause, err, final);
      if (final) return;
      s.retryAt = this.clock.now() + Math.min(60_000, 1000 * 2 ** (s.attempts - 1));
      this.retries.push(s);
    }
  }

  private onEvent(e: SessionEvent): void {
    const r = e.record;
    switch (e.type) {
      case 'created':
        this.count(r.client, 1);
        break;
      case 'ended':
        this.count(r.client, -1);
        this.wheel.clear(r.id);
        // The store's lifetime ran out before our own timer did (e.g. while we were down).
        if (e.cause === 'expired' && r.owner === this.opts.nodeId && !this.closed) this.afterEnd(r, 'session-timeout', 'store', true);
        break;
      case 'migrated':
        if (r.owner === this.opts.nodeId) this.schedule(r);
        else this.wheel.clear(r.id);
        break;
      case 'updated':
        break;
    }
  }

  private count(client: string, delta: number): void {
    this.total += delta;
    const n = (this.byClient.get(client) ?? 0) + delta;
    if (n > 0) this.byClient.set(client, n);
    else this.byClient.delete(client);
  }

  private schedule(r: SessionRecord): void {
    if (r.owner !== this.opts.nodeId) return;
    const d = this.deadline(r);
    if (d) this.wheel.set(r.id, d.at);
    else this.wheel.clear(r.id);
  }

  /**
   * The first of: Session-Timeout (plus the grace; not when Termination-Action is
   * RADIUS-Request, which makes it a re-authentication period) and missed interims (the
   * interval times missed_interims after the last accounting record, or after our start).
   */
  private deadline(r: SessionRecord): { at: number; cause: ExpiryCause } | undefined {
    let best: { at: number; cause: ExpiryCause } | undefined;
    if (r.timeoutAt !== undefined && r.terminationAction !== 1) best = { at: r.timeoutAt + this.opts.timeoutGraceSeconds * 1000, cause: 'session-timeout' };
    const interval = r.interimInterval;
    if (interval !== undefined && interval > 0) {
      const at = Math.max(r.lastUpdateAt, this.startedAt) + interval * 1000 * this.opts.missedInterims;
      if (!best || at < best.at) best = { at, cause: 'lost-service' };
    }
    return best;
  }

  private expiresAt(timeoutAt: number | undefined, terminationAction: number | undefined): number | undefined {
    if (timeoutAt === undefined || terminationAction === 1) return undefined;
    return timeoutAt + this.opts.timeoutGraceSeconds * 1000 + STORE_MARGIN_MS;
  }

  private nextId(): string {
    return `${this.idPrefix}-${(++this.counter).toString(36)}`;
  }

  /** A session first seen in accounting (its Access-Accept went through another node, or before a restart without state). */
  private fromAccounting(job: Extract<Job, { kind: 'acct' }>): SessionRecord {
    const f = job.facts;
    const at = job.at;
    const started = at - (f.sessionTime ?? 0) * 1000;
    const policy = this.opts.interim;
    return {
      id: this.nextId(),
      owner: this.opts.nodeId,
      origin: 'accounting',
      user: f.user!,
      realm: realmOf(f.user!),
      client: job.client,
      nasKey: job.nasKey,
      nasAddress: job.nasAddress,
      nasIpAddress: f.nasIpAddress,
      nasIpv6Address: f.nasIpv6Address,
      nasIdentifier: f.nasIdentifier,
      nasPort: f.nasPort,
      nasPortId: f.nasPortId,
      nasPortType: f.nasPortType,
      callingStationId: f.callingStationId,
      calledStationId: f.calledStationId,
      framedIpAddress: f.framedIpAddress,
      class: f.class,
      state: undefined,
      backend: undefined,
      upstream: undefined,
      sessionTimeout: undefined,
      idleTimeout: undefined,
      terminationAction: undefined,
      // Every Access-Accept through us carries the override, so the NAS most likely uses it.
      interimInterval: policy.overrideSeconds === undefined ? undefined : Math.max(policy.overrideSeconds, policy.floorSeconds),
      startedAt: started,
      timeoutAt: undefined,
      expiresAt: undefined,
      acctSessionId: f.acctSessionId,
      acctMultiSessionId: f.acctMultiSessionId,
      acctStartedAt: started,
      acctListener: job.listener,
      lastUpdateAt: at,
      lastActivityAt: at,
      sessionTime: f.sessionTime,
      inputOctets: f.inputOctets ?? 0,
      outputOctets: f.outputOctets ?? 0,
      inputPackets: f.inputPackets ?? 0,
      outputPackets: f.outputPackets ?? 0,
      updates: 1,
    };
  }
}

function total(f: AccountingFacts): number {
  return (f.inputOctets ?? 0) + (f.outputOctets ?? 0) + (f.inputPackets ?? 0) + (f.outputPackets ?? 0);
}

/** A re-authentication's Access-Accept: its limits, Class and State replace the session's; counters and start stay. */
function reauthPatch(old: SessionRecord, next: SessionRecord): SessionPatch {
  return {
    sessionTimeout: next.sessionTimeout,
    idleTimeout: next.idleTimeout,
    terminationAction: next.terminationAction,
    interimInterval: next.interimInterval,
    timeoutAt: next.timeoutAt,
    expiresAt: next.expiresAt,
    class: next.class ?? old.class,
    state: next.state,
    backend: next.backend,
    upstream: next.upstream,
    roles: next.roles,
    framedIpAddress: next.framedIpAddress ?? old.framedIpAddress,
    lastUpdateAt: next.startedAt,
  };
}
