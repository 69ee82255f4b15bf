/** Metrics of upstream RADIUS servers, in the daemon's registry. */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HotHistogram } from './hot-metrics.js';

const STATES = ['alive', 'zombie', 'dead', 'admin-down'] as const;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Inc = { inc(): void };

export class UpstreamMetrics {
  private readonly state: Gauge<'server' | 'state'>;
  private readonly replies: HotHistogram;
  private readonly retransmits: Counter<'server' | 'purpose'>;
  private readonly timeouts: Counter<'server' | 'purpose'>;
  private readonly dropped: Counter<'server' | 'reason'>;
  private readonly transitions: Counter<'server' | 'to'>;
  /** Children cached by "server|purpose" or "server|reason": label sets are bounded by the config. */
  private readonly replyChildren = new Map<string, { observe(v: number): void }>();
  private readonly retransmitChildren = new Map<string, Inc>();
  private readonly timeoutChildren = new Map<string, Inc>();
  private readonly dropChildren = new Map<string, Inc>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.state = new Gauge({
      name: 'aaaproxy_upstream_state',
      help: 'Health state of each upstream server (1 for its current state).',
      labelNames: ['server', 'state'] as const,
      registers,
    });
    this.replies = new HotHistogram(
      registry,
      'aaaproxy_upstream_reply_seconds',
      'Time from first sending a request upstream to its verified reply.',
      ['server', 'purpose'],
      LATENCY_BUCKETS,
    );
    this.retransmits = new Counter({
      name: 'aaaproxy_upstream_retransmits_total',
      help: 'Requests retransmitted to an upstream server after its timeout.',
      labelNames: ['server', 'purpose'] as const,
      registers,
    });
    this.timeouts = new Counter({
      name: 'aaaproxy_upstream_timeouts_total',
      help: 'Requests given up on after timeout x (retries + 1).',
      labelNames: ['server', 'purpose'] as const,
      registers,
    });
    this.dropped = new Counter({
      name: 'aaaproxy_upstream_replies_dropped_total',
      help: 'Replies from upstream servers dropped before use, by reason.',
      labelNames: ['server', 'reason'] as const,
      registers,
    });
    this.transitions = new Counter({
      name: 'aaaproxy_upstream_state_changes_total',
      help: 'Health state changes of upstream servers, by new state.',
      labelNames: ['server', 'to'] as const,
      registers,
    });
  }

  setState(server: string, current: string): void {
    for (const s of STATES) this.state.labels(server, s).set(s === current ? 1 : 0);
  }

  stateChanged(server: string, to: string): void {
    this.transitions.labels(server, to).inc();
    this.setState(server, to);
  }

  replied(server: string, purpose: string, seconds: number): void {
    const key = `${server}|${purpose}`;
    let child = this.replyChildren.get(key);
    if (!child) this.replyChildren.set(key, (child = this.replies.labels(server, purpose)));
    child.observe(seconds);
  }

  retransmitted(server: string, purpose: string): void {
    cached(this.retransmitChildren, `${server}|${purpose}`, () => this.retransmits.labels(server, purpose)).inc();
  }

  timedOut(server: string, purpose: string): void {
    cached(this.timeoutChildren, `${server}|${purpose}`, () => this.timeouts.labels(server, purpose)).inc();
  }

  replyDropped(server: string, reason: string): void {
    cached(this.dropChildren, `${server}|${reason}`, () => this.dropped.labels(server, reason)).inc();
  }

  /** A server left the config: its series go too. */
  forget(server: string): void {
    for (const s of STATES) this.state.remove(server, s);
  }
}

function cached(map: Map<string, Inc>, key: string, make: () => Inc): Inc {
  let child = map.get(key);
  if (!child) map.set(key, (child = make()));
  return child;
}
