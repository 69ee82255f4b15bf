/**
 * Periodic health check of a directory's servers with test credentials: every server in turn
 * gets one full login (service bind, user search, user bind), at start and then every interval.
 * Its outcome also moves the server's alive/dead state (LdapDirectory.checkServer), so a
 * primary that answers again serves again at once.
 *
 * Per server, an explicit state (DESIGN habit 4): `unknown` (not checked yet) | `passing` |
 * `failing`, changed only by transition(), which reports to the observer (logged, counted).
 * The clock is injected so the schedule is tested without waiting.
 */
import type { ServerCheckResult } from './directory.js';

export type HealthState = 'unknown' | 'passing' | 'failing';

export interface HealthTarget {
  readonly states: readonly { url: string }[];
  checkServer(url: string, username: string, password: string): Promise<ServerCheckResult>;
}

export interface HealthObserver {
  /** One check of one server finished. */
  checked(url: string, result: ServerCheckResult, seconds: number): void;
  stateChanged(url: string, from: HealthState, to: HealthState, result: ServerCheckResult): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time; timers do not keep the process alive. */
export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HealthSettings {
  username: string;
  password: string;
  intervalMs: number;
}

export interface ServerHealth {
  url: string;
  state: HealthState;
  /** The last check's result and when it finished (ms since the epoch). */
  result?: ServerCheckResult;
  checkedAt?: number;
}

export class LdapHealthChecker {
  private readonly health = new Map<string, ServerHealth>();
  private timer: unknown;
  private running: Promise<void> | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly target: HealthTarget,
    private readonly settings: HealthSettings,
    private readonly observer: HealthObserver,
    private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    for (const { url } of target.states) this.health.set(url, { url, state: 'unknown' });
  }

  /** The first check runs now; the next ones every interval after the previous one ends. Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.run();
  }

  /** Each server's health, in failover order. */
  status(): ServerHealth[] {
    return [...this.health.values()].map((h) => ({ ...h }));
  }

  /** Runs one round now unless one is running (then waits for that one). */
  run(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.running ??= this.round().finally(() => {
      this.running = undefined;
      if (!this.closed && this.started) {
        this.clock.clearTimeout(this.timer);
        this.timer = this.clock.setTimeout(() => void this.run(), this.settings.intervalMs);
      }
    });
    return this.running;
  }

  private async round(): Promise<void> {
    // In order, one at a time: a check never loads every server at once.
    for (const h of this.health.values()) {
      if (this.closed) return;
      const started = this.clock.now();
      const result = await this.target.checkServer(h.url, this.settings.username, this.settings.password);
      if (result === 'closed' || this.closed) return;
      h.result = result;
      h.checkedAt = this.clock.now();
      this.observer.checked(h.url, result, (h.checkedAt - started) / 1000);
      this.transition(h, result === 'ok' ? 'passing' : 'failing', result);
    }
  }

  private transition(h: ServerHealth, to: HealthState, result: ServerCheckResult): void {
    const from = h.state;
    if (from === to) return;
    h.state = to;
    this.observer.stateChanged(h.url, from, to, result);
  }

  /** Stops the schedule and waits for a round in progress. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
