/** Metrics of the accounting spool and its delivery upstream, in the daemon's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HotCounter } from './hot-metrics.js';

export interface SpoolSample {
  pending: number;
  bytes: number;
  oldestEnqueuedAt: number | undefined;
}

export class SpoolMetrics {
  private readonly pending: Gauge;
  private readonly bytes: Gauge;
  private readonly oldestAge: Gauge;
  private readonly delivered: HotCounter;
  private readonly deferred: Counter<'pool' | 'reason'>;
  private readonly corrupt: Counter;
  private readonly commits: Counter;
  private readonly commitSeconds: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.pending = new Gauge({ name: 'aaaproxy_spool_pending_records', help: 'Accounting records in the spool not yet acknowledged upstream.', registers });
    this.bytes = new Gauge({ name: 'aaaproxy_spool_bytes', help: 'Size of the spool segment files on disk.', registers });
    this.oldestAge = new Gauge({
      name: 'aaaproxy_spool_oldest_record_age_seconds',
      help: 'Age of the oldest record not yet delivered (0 when the spool is empty).',
      registers,
    });
    this.delivered = new HotCounter(registry, 'aaaproxy_spool_delivered_total', 'Spooled accounting records acknowledged by an upstream server.', ['pool', 'server']);
    this.deferred = new Counter({
      name: 'aaaproxy_spool_deferred_total',
      help: 'Delivery attempts put off because no server of the pool answered (or the pool is gone).',
      labelNames: ['pool', 'reason'] as const,
      registers,
    });
    this.corrupt = new Counter({ name: 'aaaproxy_spool_corrupt_regions_total', help: 'Damaged stretches skipped when the spool was read.', registers });
    this.commits = new Counter({ name: 'aaaproxy_spool_commits_total', help: 'Group commits (one durable write each) of the spool.', registers });
    this.commitSeconds = new Histogram({
      name: 'aaaproxy_spool_commit_seconds',
      help: 'How long a group commit took, from its start until its records were acknowledged: the durable write, the thread-pool hop and the wait for the event loop (and for earlier commits).',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers,
    });
  }

  sample(s: SpoolSample, now = Date.now()): void {
    this.pending.set(s.pending);
    this.bytes.set(s.bytes);
    this.oldestAge.set(s.oldestEnqueuedAt === undefined ? 0 : Math.max(0, (now - s.oldestEnqueuedAt) / 1000));
  }

  deliveredTo(pool: string, server: string): void {
    this.delivered.labels(pool, server).inc();
  }

  deferredFor(pool: string, reason: string): void {
    this.deferred.labels(pool, reason).inc();
  }

  corruptRegion(): void {
    this.corrupt.inc();
  }

  committed(seconds: number): void {
    this.commits.inc();
    this.commitSeconds.observe(seconds);
  }
}
