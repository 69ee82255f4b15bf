/** Metrics of dynamic authorization (RFC 5176), in the daemon's registry. */
import { Counter, type Registry } from 'prom-client';

export class DynauthMetrics {
  private readonly requests: Counter<'type' | 'result'>;
  private readonly nas: Counter<'type' | 'result'>;
  private readonly dropped: Counter<'reason'>;
  private readonly duplicates: Counter;

  constructor(registry: Registry, results: readonly string[], nasResults: readonly string[], dropReasons: readonly string[]) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'aaaproxy_dynauth_requests_total',
      help: 'Disconnect/CoA requests answered, by type (disconnect, coa) and result (ack, nak, no_session, missing_attribute, not_routable, nas_timeout).',
      labelNames: ['type', 'result'] as const,
      registers,
    });
    this.nas = new Counter({
      name: 'aaaproxy_dynauth_nas_requests_total',
      help: 'Disconnect/CoA requests sent to NASes, by type and what the NAS did (ack, nak, timeout, not_routable).',
      labelNames: ['type', 'result'] as const,
      registers,
    });
    this.dropped = new Counter({ name: 'aaaproxy_dynauth_dropped_total', help: 'Disconnect/CoA requests dropped without an answer, by reason.', labelNames: ['reason'] as const, registers });
    this.duplicates = new Counter({ name: 'aaaproxy_dynauth_duplicates_total', help: 'Retransmitted Disconnect/CoA requests (answered from the cache or ignored while in progress).', registers });
    for (const type of ['disconnect', 'coa']) {
      for (const r of results) this.requests.labels(type, r);
      for (const r of nasResults) this.nas.labels(type, r);
    }
    for (const r of dropReasons) this.dropped.labels(r);
  }

  answered(type: string, result: string): void {
    this.requests.labels(type, result).inc();
  }

  nasAnswered(type: string, result: string): void {
    this.nas.labels(type, result).inc();
  }

  drop(reason: string): void {
    this.dropped.labels(reason).inc();
  }

  duplicate(): void {
    this.duplicates.inc();
  }
}
