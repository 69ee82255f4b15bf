/**
 * Group commit scheduling: the first record of an idle period waits `delayMs` for company
 * (0: it is committed in this event-loop turn, with whatever else arrived in it); records
 * that queue while a commit runs have already waited, so they are committed as soon as it
 * ends. One commit runs at a time, so under load the batches form by themselves.
 */
export class GroupCommit {
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly commit: () => Promise<void>,
    private readonly hasQueued: () => boolean,
  ) {}

  /** Call after queueing a record. */
  schedule(): void {
    if (this.timer || this.running) return;
    const fire = () => {
      this.timer = undefined;
      this.start();
    };
    // setTimeout(0) waits at least 1 ms; setImmediate runs after this turn's I/O callbacks.
    this.timer = this.delayMs > 0 ? setTimeout(fire, this.delayMs) : setImmediate(fire);
  }

  private start(): void {
    // `running` is set before the commit's first line runs, so a schedule() from inside it waits.
    this.running = Promise.resolve()
      .then(this.commit)
      .finally(() => {
        this.running = undefined;
        if (this.hasQueued()) this.start();
      });
  }

  /** Cancels a pending delay and waits until no commit runs (a commit may chain into the next). */
  async settle(): Promise<void> {
    if (this.timer) {
      if (this.delayMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    while (this.running) await this.running;
  }
}
