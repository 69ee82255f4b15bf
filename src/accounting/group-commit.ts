/**
 * Group commit scheduling: the first record of an idle period waits `delayMs` for company
 * (0: it is committed in this event-loop turn, with whatever else arrived in it). Up to
 * `maxInFlight` commits run at once: with 1, records that queue while a commit runs are
 * committed as soon as it ends, so under load the batches form by themselves; with more,
 * they start their own commit in the next turn instead of waiting for the running one (the
 * owner then keeps the commits' effects in order).
 */
export class GroupCommit {
  private timer: { kind: 'timeout'; handle: NodeJS.Timeout } | { kind: 'immediate'; handle: NodeJS.Immediate } | undefined;
  private running = 0;
  /** Resolved when the last running commit ends (for settle). */
  private idle: Promise<void> | undefined;
  private wakeIdle: (() => void) | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly commit: () => Promise<void>,
    private readonly hasQueued: () => boolean,
    private readonly maxInFlight = 1,
  ) {}

  /** Call after queueing a record. */
  schedule(): void {
    if (this.timer || this.running >= this.maxInFlight) return;
    const fire = () => {
      this.timer = undefined;
      this.start();
    };
    // setTimeout(0) waits at least 1 ms; setImmediate runs after this turn's I/O callbacks.
    // Records arriving while commits run have waited already: no delay for them.
    this.timer =
      this.delayMs > 0 && this.running === 0
        ? { kind: 'timeout', handle: setTimeout(fire, this.delayMs) }
        : { kind: 'immediate', handle: setImmediate(fire) };
  }

  private start(): void {
    this.running++;
    // Counted before the commit's first line runs, so a schedule() from inside it sees it.
    void Promise.resolve()
      .then(this.commit)
      .catch(() => {
        // The commit settles its own records; nothing is left to report here.
      })
      .finally(() => {
        this.running--;
        // What queued while every slot was busy has waited already: start it now.
        if (this.hasQueued() && !this.timer) this.start();
        if (this.running === 0 && !this.timer) this.wakeIdle?.();
      });
  }

  /** Cancels a pending delay and waits until no commit runs (a commit may chain into the next). */
  async settle(): Promise<void> {
    for (;;) {
      if (this.timer?.kind === 'timeout') clearTimeout(this.timer.handle);
      else if (this.timer) clearImmediate(this.timer.handle);
      this.timer = undefined;
      if (this.running === 0) return;
      this.idle ??= new Promise<void>((resolve) => {
        this.wakeIdle = resolve;
      }).finally(() => {
        this.idle = undefined;
        this.wakeIdle = undefined;
      });
      await this.idle;
    }
  }
}
