/** Metrics of the accounting spool and its delivery upstream, in the daemon's registry. */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface SpoolSample {
  pending: number;
  bytes: number;
  oldestEnqueuedAt: number | undefined;
}

export class SpoolMetrics {
  private readonly pending: Gauge;
  private readonly bytes: Gauge;
  private readonly oldestAge: Gauge;
  private readonly delivered: Counter<'pool' | 'server'>;
  private readonly deferred: Counter<'pool' | 'reason'>;
  private readonly corrupt: Counter;
  private readonly commits: Counter;
  private readonly deliveredChildren = new Map<string, { inc(): void }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.pending = new Gauge({ name: 'aaaproxy_spool_pending_records', help: 'Accounting records in the spool not yet acknowledged upstream.', registers });
    this.bytes = new Gauge({ name: 'aaaproxy_spool_bytes', help: 'Size of the spool segment files on disk.', registers });
    this.oldestAge = new Gauge({
      name: 'aaaproxy_spool_oldest_record_age_seconds',
      help: 'Age of the oldest record not yet delivered (0 when the spool is empty).',
      registers,
    });
    this.delivered = new Counter({
      name: 'aaaproxy_spool_delivered_total',
      help: 'Spooled accounting records acknowledged by an upstream server.',
      labelNames: ['pool', 'server'] as const,
      registers,
    });
    this.deferred = new Counter({
      name: 'aaaproxy_spool_deferred_total',
      help: 'Delivery attempts put off because no server of the pool answered (or the pool is gone).',
      labelNames: ['pool', 'reason'] as const,
      registers,
    });
    this.corrupt = new Counter({ name: 'aaaproxy_spool_corrupt_regions_total', help: 'Damaged stretches skipped when the spool was read.', registers });
    this.commits = new Counter({ name: 'aaaproxy_spool_commits_total', help: 'Group commits (write + fdatasync) of the spool.', registers });
  }

  sample(s: SpoolSample, now = Date.now()): void {
    this.pending.set(s.pending);
    this.bytes.set(s.bytes);
    this.oldestAge.set(s.oldestEnqueuedAt === undefined ? 0 : Math.max(0, (now - s.oldestEnqueuedAt) / 1000));
  }

  deliveredTo(pool: string, server: string): void {
    const key = `${pool}|${server}`;
    let child = this.deliveredChildren.get(key);
    if (!child) this.deliveredChildren.set(key, (child = this.delivered.labels(pool, server)));
    child.inc();
  }

  deferredFor(pool: string, reason: string): void {
    this.deferred.labels(pool, reason).inc();
  }

  corruptRegion(): void {
    this.corrupt.inc();
  }

  committed(): void {
    this.commits.inc();
  }
}
