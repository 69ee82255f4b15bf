/** Metrics of challenge rules, in the daemon's registry. Counted only when a server's rules run. */
import type { Registry } from 'prom-client';
import { HotCounter } from './hot-metrics.js';

export class ChallengeMetrics {
  private readonly hits: HotCounter;
  private readonly exhausted: HotCounter;
  private readonly failures: HotCounter;

  constructor(registry: Registry) {
    this.hits = new HotCounter(registry, 'aaaproxy_challenge_rule_hits_total', 'Upstream replies a challenge rule matched, by server, rule and action.', [
      'server',
      'rule',
      'action',
    ]);
    this.exhausted = new HotCounter(
      registry,
      'aaaproxy_challenge_max_rounds_total',
      'send-access-request rules that matched after max_rounds automatic requests (the reply was relayed as it was).',
      ['server', 'rule'],
    );
    this.failures = new HotCounter(
      registry,
      'aaaproxy_challenge_round_failures_total',
      'Automatic requests of send-access-request rules not made or not answered, by reason (no_answer, password_too_long).',
      ['server', 'rule', 'reason'],
    );
  }

  hit(server: string, rule: string, action: string): void {
    this.hits.labels(server, rule, action).inc();
  }

  roundsExhausted(server: string, rule: string): void {
    this.exhausted.labels(server, rule).inc();
  }

  roundFailed(server: string, rule: string, reason: string): void {
    this.failures.labels(server, rule, reason).inc();
  }
}
