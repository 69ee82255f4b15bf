/**
 * Group commit scheduling: the first record of an idle period waits `delayMs` for company;
 * records that queue while a commit runs have already waited, so they are committed as soon
 * as it ends. One commit runs at a time.
 */
export class GroupCommit {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly commit: () => Promise<void>,
    private readonly hasQueued: () => boolean,
  ) {}

  /** Call after queueing a record. */
  schedule(): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, this.delayMs);
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
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.running) await this.running;
  }
}
