/** Metrics of the session table and its journal, in the daemon's registry. */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HotCounter, type HotCounterChild } from './hot-metrics.js';

export class SessionMetrics {
  private readonly active: Gauge<'client'>;
  private readonly started: HotCounter;
  private readonly stopped: HotCounter;
  private readonly accountingResults: HotCounter;
  private readonly refused: Counter<'reason'>;
  private readonly stops: Counter<'cause' | 'result'>;
  private readonly errors: Counter<'operation'>;
  private readonly journalFlushes: Counter;
  private readonly journalCompactions: Counter;
  private readonly journalFailures: Counter<'operation'>;
  /** Label children kept, so a session's start or accounting record costs a Map lookup and an add. */
  private readonly children = new Map<string, HotCounterChild>();
  private readonly clientsShown = new Set<string>();

  constructor(registry: Registry, causes: readonly string[], accountingResults: readonly string[]) {
    const registers = [registry];
    this.active = new Gauge({ name: 'aaaproxy_sessions_active', help: 'Live sessions in the session table, by client (NAS).', labelNames: ['client'] as const, registers });
    this.started = new HotCounter(registry, 'aaaproxy_sessions_started_total', 'Sessions created, by origin (access: an Access-Accept; accounting: first seen in accounting).', ['origin']);
    this.stopped = new HotCounter(registry, 'aaaproxy_sessions_stopped_total', 'Sessions ended, by cause (Acct-Terminate-Cause names and the table\'s own).', ['cause']);
    this.accountingResults = new HotCounter(
      registry,
      'aaaproxy_session_accounting_total',
      'Accounting-Requests seen by the session table, by how they matched a session (session_id, nas_port, calling_station) or what became of them.',
      ['result'],
    );
    this.refused = new Counter({ name: 'aaaproxy_sessions_refused_total', help: 'Sessions not tracked, by reason (table_full).', labelNames: ['reason'] as const, registers });
    this.stops = new Counter({
      name: 'aaaproxy_session_stops_total',
      help: 'Accounting Stops the table made for sessions it ended, by cause and result (sent, retry, dropped).',
      labelNames: ['cause', 'result'] as const,
      registers,
    });
    this.errors = new Counter({ name: 'aaaproxy_session_errors_total', help: 'Session table operations that failed, by operation.', labelNames: ['operation'] as const, registers });
    this.journalFlushes = new Counter({ name: 'aaaproxy_session_journal_flushes_total', help: 'Batched writes (write + fdatasync) of the session journal.', registers });
    this.journalCompactions = new Counter({ name: 'aaaproxy_session_journal_compactions_total', help: 'Session snapshots written (journal compactions).', registers });
    this.journalFailures = new Counter({
      name: 'aaaproxy_session_journal_failures_total',
      help: 'Session journal writes that failed (retried at the next flush), by operation (flush, compact).',
      labelNames: ['operation'] as const,
      registers,
    });
    for (const c of causes) this.stopped.labels(c);
    for (const r of accountingResults) this.accountingResults.labels(r);
    this.started.labels('access');
    this.started.labels('accounting');
  }

  private child(metric: HotCounter, prefix: string, label: string): HotCounterChild {
    const key = `${prefix}${label}`;
    let c = this.children.get(key);
    if (!c) this.children.set(key, (c = metric.labels(label)));
    return c;
  }

  sessionStarted(origin: string): void {
    this.child(this.started, 's\0', origin).inc();
  }

  sessionStopped(cause: string): void {
    this.child(this.stopped, 'e\0', cause).inc();
  }

  accounting(result: string): void {
    this.child(this.accountingResults, 'a\0', result).inc();
  }

  sessionRefused(reason: string): void {
    this.refused.labels(reason).inc();
  }

  stop(cause: string, result: 'sent' | 'retry' | 'dropped'): void {
    this.stops.labels(cause, result).inc();
  }

  error(operation: string): void {
    this.errors.labels(operation).inc();
  }

  journalFlushed(): void {
    this.journalFlushes.inc();
  }

  journalCompacted(): void {
    this.journalCompactions.inc();
  }

  journalFailed(operation: string): void {
    this.journalFailures.labels(operation).inc();
  }

  /** Sampled before a scrape: one sample per client with live sessions (0 for one that had some). */
  sampleActive(byClient: ReadonlyMap<string, number>): void {
    for (const client of this.clientsShown) if (!byClient.has(client)) this.active.labels(client).set(0);
    for (const [client, n] of byClient) {
      this.active.labels(client).set(n);
      this.clientsShown.add(client);
    }
  }
}
