/**
 * Append-only accounting log (JSON lines) with group commit: records that arrive while a
 * write is pending share one write and one fdatasync, and each append resolves only after
 * its record is on disk. Rotation renames file -> file.1 -> ... -> file.<keep>.
 */
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GroupCommit } from './group-commit.js';

export interface AccountingLogOptions {
  path: string;
  groupCommitMs: number;
  maxBytes: number;
  keep: number;
}

export interface AccountingLogObserver {
  committed(records: number, seconds: number): void;
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class AccountingLog {
  private fh: FileHandle | undefined;
  private size = 0;
  private queue: Pending[] = [];
  private closed = false;
  private readonly groupCommit: GroupCommit;

  constructor(
    private readonly opts: AccountingLogOptions,
    private readonly observer: AccountingLogObserver,
  ) {
    this.groupCommit = new GroupCommit(opts.groupCommitMs, () => this.flush(), () => this.queue.length > 0);
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.opts.path), { recursive: true });
    this.fh = await open(this.opts.path, 'a', 0o640);
    this.size = (await this.fh.stat()).size;
  }

  get path(): string {
    return this.opts.path;
  }

  /** Resolves once the record is durable; rejects if it could not be written. */
  append(record: object): Promise<void> {
    if (this.closed) return Promise.reject(new Error('accounting log is closed'));
    const line = JSON.stringify(record) + '\n';
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.groupCommit.schedule();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const started = performance.now();
    try {
      const data = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
      if (this.size > 0 && this.size + data.length > this.opts.maxBytes) await this.rotate();
      const fh = this.fh!;
      let written = 0;
      while (written < data.length) written += (await fh.write(data, written)).bytesWritten;
      await fh.datasync();
      this.size += data.length;
      this.observer.committed(batch.length, (performance.now() - started) / 1000);
      for (const p of batch) p.resolve();
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    }
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    const base = this.opts.path;
    await rm(`${base}.${this.opts.keep}`, { force: true });
    for (let i = this.opts.keep - 1; i >= 1; i--) {
      await rename(`${base}.${i}`, `${base}.${i + 1}`).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    await rename(base, `${base}.1`);
    this.fh = await open(base, 'a', 0o640);
    this.size = 0;
  }

  /** Writes what is queued, then closes. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.settle();
    await this.flush();
    await this.fh?.close();
    this.fh = undefined;
  }
}
