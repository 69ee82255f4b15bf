/**
 * Prometheus metrics, all named `aaaproxy_*`, in a registry owned by one Metrics instance
 * (no prom-client global registry, so tests and embedders can build as many as they like).
 *
 * Hot-path methods resolve label children once and keep them in Maps; the per-request
 * counter and histogram are hot-metrics.ts ones, which cost a field update per call.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerCpuWaitMetrics } from './cpu-wait-metrics.js';
import { HotCounter, HotHistogram } from './hot-metrics.js';

export type DuplicateResult = 'resent' | 'in_progress';
export type ReloadResult = 'ok' | 'failed';

interface Inc {
  inc(value?: number): void;
}

/** 0.1 ms (a local answer) to 1 s (a slow upstream); slower requests land in +Inf. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Get-or-create in a Map, used for the label-child caches. */
function memo<V>(map: Map<string, V>, key: string, make: (key: string) => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make(key);
    map.set(key, v);
  }
  return v;
}

export class Metrics {
  readonly registry = new Registry();
  /** Samples gauges that are read rather than counted (cache sizes, locked users) just before a scrape. */
  beforeRender: (() => void) | undefined;

  private readonly requests: HotCounter;
  private readonly requestDuration: HotHistogram;
  private readonly dropped: Counter<'reason'>;
  private readonly duplicates: Counter<'result'>;
  private readonly lockouts: Counter;
  private readonly lockedUsers: Gauge;
  private readonly accountingRecords: HotCounter;
  private readonly accountingFsyncs: Counter;
  private readonly accountingCommit: Histogram;
  private readonly configReloads: Counter<'result'>;
  private readonly configReloadTimestamp: Gauge;
  private readonly duplicateCacheEntries: Gauge;

  // prom-client children, cached here (hot-metric children are looked up without building a key).
  private readonly dropChildren = new Map<string, Inc>();
  private readonly duplicateChildren = new Map<string, Inc>();
  private readonly reloadChildren = new Map<string, Inc>();

  // Bound once so the cache misses below do not allocate closures on every call.
  private readonly newDropChild = (reason: string): Inc => this.dropped.labels(reason);

  constructor() {
    const registers = [this.registry];
    // Default process metrics hold a GC observer for the life of the process: build one Metrics per process.
    collectDefaultMetrics({ register: this.registry, prefix: 'aaaproxy_' });
    registerCpuWaitMetrics(this.registry);

    // Bumped once per request: plain-number children (hot-metrics.ts).
    this.requests = new HotCounter(
      this.registry,
      'aaaproxy_requests_total',
      'RADIUS requests answered or dropped, by client, request code and result.',
      ['client', 'code', 'result'],
    );
    this.requestDuration = new HotHistogram(
      this.registry,
      'aaaproxy_request_duration_seconds',
      'Time from receiving a request to sending its response, by request code.',
      ['code'],
      LATENCY_BUCKETS,
    );
    this.dropped = new Counter({
      name: 'aaaproxy_packets_dropped_total',
      help: 'Packets dropped without an answer, by reason.',
      labelNames: ['reason'] as const,
      registers,
    });
    this.duplicates = new Counter({
      name: 'aaaproxy_duplicates_total',
      help: 'Retransmitted requests seen by the duplicate cache: resent the cached answer, or still in progress.',
      labelNames: ['result'] as const,
      registers,
    });
    this.lockouts = new Counter({
      name: 'aaaproxy_lockouts_total',
      help: 'Users locked out after too many failed authentications.',
      registers,
    });
    this.lockedUsers = new Gauge({
      name: 'aaaproxy_locked_users',
      help: 'Users currently locked out.',
      registers,
    });
    // Bumped once per accounting request.
    this.accountingRecords = new HotCounter(
      this.registry,
      'aaaproxy_accounting_records_total',
      'Accounting-Requests answered, recorded in the accounting log or the spool, by Acct-Status-Type.',
      ['status_type'],
    );
    this.accountingFsyncs = new Counter({
      name: 'aaaproxy_accounting_fsyncs_total',
      help: 'fsync calls made by the accounting log (one per group commit).',
      registers,
    });
    this.accountingCommit = new Histogram({
      name: 'aaaproxy_accounting_commit_seconds',
      help: 'Time to write and fsync one accounting group commit.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.configReloads = new Counter({
      name: 'aaaproxy_config_reloads_total',
      help: 'Configuration reloads, by result.',
      labelNames: ['result'] as const,
      registers,
    });
    this.configReloadTimestamp = new Gauge({
      name: 'aaaproxy_config_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last configuration load or reload that succeeded.',
      registers,
    });
    this.duplicateCacheEntries = new Gauge({
      name: 'aaaproxy_duplicate_cache_entries',
      help: 'Entries held by the duplicate-request cache.',
      registers,
    });

    // Closed label sets start at 0, so rate() and alerts work before the first event.
    for (const r of ['resent', 'in_progress'] satisfies DuplicateResult[]) {
      const child = this.duplicates.labels(r);
      child.inc(0);
      this.duplicateChildren.set(r, child);
    }
    for (const r of ['ok', 'failed'] satisfies ReloadResult[]) {
      const child = this.configReloads.labels(r);
      child.inc(0);
      this.reloadChildren.set(r, child);
    }
  }

  /** Show every drop reason (a closed set, e.g. the decode error codes) at 0 from the start. */
  initDropReasons(reasons: readonly string[]): void {
    for (const reason of reasons) memo(this.dropChildren, reason, this.newDropChild).inc(0);
  }

  /**
   * One request finished. `client` must be a configured client name (bounded), never a raw
   * peer address, or the label set grows without limit.
   */
  requestCompleted(client: string, code: string, result: string, seconds: number): void {
    this.requests.labels(client, code, result).inc();
    this.requestDuration.labels(code).observe(seconds);
  }

  /** A reason outside the initialised set is still counted rather than lost. */
  packetDropped(reason: string): void {
    memo(this.dropChildren, reason, this.newDropChild).inc();
  }

  duplicate(result: DuplicateResult): void {
    this.duplicateChildren.get(result)?.inc();
  }

  lockout(): void {
    this.lockouts.inc();
  }

  setLockedUsers(count: number): void {
    this.lockedUsers.set(count);
  }

  accountingRecord(statusType: string): void {
    this.accountingRecords.labels(statusType).inc();
  }

  accountingFsynced(): void {
    this.accountingFsyncs.inc();
  }

  /** How long one group commit (write + fsync) took. */
  accountingCommitted(seconds: number): void {
    this.accountingCommit.observe(seconds);
  }

  /** `at` defaults to now; tests pass a fixed time. */
  configReloaded(result: ReloadResult, at: Date = new Date()): void {
    this.reloadChildren.get(result)?.inc();
    if (result === 'ok') this.configReloadTimestamp.set(at.getTime() / 1000);
  }

  setDuplicateCacheEntries(count: number): void {
    this.duplicateCacheEntries.set(count);
  }

  /** Prometheus text exposition of everything in this registry. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.beforeRender?.();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
