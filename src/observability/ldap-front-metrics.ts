/** Metrics of the LDAP front listeners, in the daemon's registry (all `aaaproxy_ldap_front_*`). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** 1 ms (a local answer) to 30 s (a long search). */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class LdapFrontMetrics {
  private readonly accepted: Counter<'listener'>;
  private readonly open: Gauge<'listener'>;
  private readonly rejected: Counter<'listener' | 'reason'>;
  private readonly disconnects: Counter<'listener' | 'reason'>;
  private readonly operations: Counter<'listener' | 'operation' | 'result'>;
  private readonly duration: Histogram<'listener' | 'operation'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.accepted = new Counter({ name: 'aaaproxy_ldap_front_connections_total', help: 'LDAP client connections accepted, by listener.', labelNames: ['listener'] as const, registers });
    this.open = new Gauge({ name: 'aaaproxy_ldap_front_open_connections', help: 'LDAP client connections open now, by listener.', labelNames: ['listener'] as const, registers });
    this.rejected = new Counter({
      name: 'aaaproxy_ldap_front_rejected_connections_total',
      help: 'LDAP client connections refused before any LDAP was read, by listener and reason.',
      labelNames: ['listener', 'reason'] as const,
      registers,
    });
    this.disconnects = new Counter({
      name: 'aaaproxy_ldap_front_disconnects_total',
      help: 'LDAP client connections ended, by listener and reason (protocol violations, limits, timeouts, unbind...).',
      labelNames: ['listener', 'reason'] as const,
      registers,
    });
    this.operations = new Counter({
      name: 'aaaproxy_ldap_front_operations_total',
      help: 'LDAP operations answered, by listener, operation and result code name (RFC 4511).',
      labelNames: ['listener', 'operation', 'result'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'aaaproxy_ldap_front_operation_seconds',
      help: 'Time from an LDAP request to its final response, by listener and operation.',
      labelNames: ['listener', 'operation'] as const,
      buckets: BUCKETS,
      registers,
    });
  }

  /** A listener's closed label sets at 0 from the start, so rate() and alerts work before the first event. */
  initListener(listener: string, disconnectReasons: readonly string[], rejectReasons: readonly string[]): void {
    this.accepted.labels(listener).inc(0);
    this.open.labels(listener).inc(0);
    for (const r of disconnectReasons) this.disconnects.labels(listener, r).inc(0);
    for (const r of rejectReasons) this.rejected.labels(listener, r).inc(0);
  }

  connectionOpened(listener: string): void {
    this.accepted.labels(listener).inc();
    this.open.labels(listener).inc();
  }

  connectionClosed(listener: string, reason: string): void {
    this.open.labels(listener).dec();
    this.disconnects.labels(listener, reason).inc();
  }

  connectionRejected(listener: string, reason: string): void {
    this.rejected.labels(listener, reason).inc();
  }

  operation(listener: string, operation: string, result: string, seconds: number): void {
    this.operations.labels(listener, operation, result).inc();
    this.duration.labels(listener, operation).observe(seconds);
  }
}
