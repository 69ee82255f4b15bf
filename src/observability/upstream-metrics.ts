/** Metrics of upstream RADIUS servers, in the daemon's registry. */
import { Gauge, type Registry } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

const STATES = ['alive', 'zombie', 'dead', 'admin-down'] as const;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Counters and histograms here are hot-metrics ones: their children are cached by label values. */
export class UpstreamMetrics {
  private readonly state: Gauge<'server' | 'state'>;
  private readonly replies: HotHistogram;
  private readonly retransmits: HotCounter;
  private readonly timeouts: HotCounter;
  private readonly dropped: HotCounter;
  private readonly transitions: HotCounter;

  constructor(registry: Registry) {
    this.state = new Gauge({
      name: 'aaaproxy_upstream_state',
      help: 'Health state of each upstream server (1 for its current state).',
      labelNames: ['server', 'state'] as const,
      registers: [registry],
    });
    this.replies = new HotHistogram(
      registry,
      'aaaproxy_upstream_reply_seconds',
      'Time from first sending a request upstream to its verified reply.',
      ['server', 'purpose'],
      LATENCY_BUCKETS,
    );
    this.retransmits = new HotCounter(
      registry,
      'aaaproxy_upstream_retransmits_total',
      'Requests retransmitted to an upstream server after its timeout.',
      ['server', 'purpose'],
    );
    this.timeouts = new HotCounter(registry, 'aaaproxy_upstream_timeouts_total', 'Requests given up on after timeout x (retries + 1).', [
      'server',
      'purpose',
    ]);
    this.dropped = new HotCounter(
      registry,
      'aaaproxy_upstream_replies_dropped_total',
      'Replies from upstream servers dropped before use, by reason.',
      ['server', 'reason'],
    );
    this.transitions = new HotCounter(
      registry,
      'aaaproxy_upstream_state_changes_total',
      'Health state changes of upstream servers, by new state.',
      ['server', 'to'],
    );
  }

  setState(server: string, current: string): void {
    for (const s of STATES) this.state.labels(server, s).set(s === current ? 1 : 0);
  }

  stateChanged(server: string, to: string): void {
    this.transitions.labels(server, to).inc();
    this.setState(server, to);
  }

  replied(server: string, purpose: string, seconds: number): void {
    this.replies.labels(server, purpose).observe(seconds);
  }

  retransmitted(server: string, purpose: string): void {
    this.retransmits.labels(server, purpose).inc();
  }

  timedOut(server: string, purpose: string): void {
    this.timeouts.labels(server, purpose).inc();
  }

  replyDropped(server: string, reason: string): void {
    this.dropped.labels(server, reason).inc();
  }

  /** A server left the config: its series go too. */
  forget(server: string): void {
    for (const s of STATES) this.state.remove(server, s);
  }
}
