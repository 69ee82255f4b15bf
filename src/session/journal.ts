/**
 * Persistence of the memory session store in the state directory: a snapshot plus an
 * append-only journal, written in batches off the request path.
 *
 * Layout of `dir` (0750; one daemon per directory):
 *   snapshot             {"aaaproxy_sessions":1,"generation":G,...} then one record per line,
 *                        then {"end":N}; replaced atomically (snapshot.tmp, fsync, rename,
 *                        fsync of the directory).
 *   journal.<G>          (12 digits) JSON lines since that snapshot: {"p":record} (the record
 *                        as it is now) or {"d":"id"} (it ended).
 *
 * Writing: a change marks its session dirty (the latest state wins, so a session updated ten
 * times between two flushes is written once). Every `flushMs` the dirty sessions go out in one
 * write and one fdatasync. When the journal outgrows max(compactMinBytes, the snapshot), a
 * compaction starts journal G+1, writes snapshot G+1 from the live store, and deletes the older
 * journals.
 *
 * Reading (open): the snapshot, then every journal of its generation or later, in order. An
 * unterminated last line is a write torn by a crash: it is cut off. A line that does not parse
 * elsewhere is skipped and counted. A snapshot without its end line is set aside
 * (snapshot.corrupt-<ms>) and the journals are replayed alone.
 *
 * What a crash can lose: the changes of the last flush interval (and of a flush in progress).
 * That is acceptable for session state, unlike accounting: a session is a cache of what the NAS
 * knows, and the NAS's next Interim-Update or Stop brings it back up to date (an unknown
 * session is created again from accounting; a Stop for one that is gone is just forwarded),
 * while an accounting record lost is a bill lost, which is why the spool and the accounting
 * log are durable before each Accounting-Response.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SessionError } from './errors.js';
import type { StorePersistence } from './memory-store.js';
import type { SessionRecord } from './types.js';

const SNAPSHOT = 'snapshot';
const SNAPSHOT_TMP = 'snapshot.tmp';
const JOURNAL_RE = /^journal\.(\d{12})$/;
const FORMAT = 1;
/**
 * Journal and snapshot lines are written in chunks of about this many characters. Each chunk
 * is built synchronously (about a millisecond of JSON at this size) and its write awaited, so the event
 * loop serves requests between chunks instead of stalling for a whole flush or snapshot.
 */
const CHUNK_CHARS = 64 * 1024;

const journalName = (generation: number): string => `journal.${String(generation).padStart(12, '0')}`;

export interface JournalOptions {
  dir: string;
  /** Batch interval of journal writes (ms). */
  flushMs: number;
  /** A journal smaller than this is never compacted (bytes). */
  compactMinBytes: number;
}

export interface RecoveryReport {
  /** Live sessions after recovery. */
  records: number;
  snapshotRecords: number;
  /** Journal lines replayed. */
  journalEntries: number;
  /** Bytes cut off the end of the last journal (a torn write). */
  tornBytes: number;
  /** Lines that did not parse and were skipped (not the torn tail). */
  corruptLines: number;
  /** A damaged snapshot was set aside under this name. */
  snapshotSetAside?: string;
}

export interface JournalObserver {
  flushed(records: number, bytes: number, seconds: number): void;
  compacted(records: number, bytes: number, seconds: number): void;
  /** A write failed; the changes stay queued and are tried again at the next flush. */
  failed(operation: 'flush' | 'compact', err: Error): void;
}

interface Replay {
  records: Map<string, SessionRecord>;
  report: RecoveryReport;
  generation: number;
  /** Journal files that had entries, a torn tail or damage: the start writes a fresh snapshot. */
  needsCompaction: boolean;
  snapshotBytes: number;
}

export class SessionJournal implements StorePersistence {
  private dirty = new Map<string, SessionRecord | null>();
  private timer: NodeJS.Timeout | undefined;
  /** One write operation (flush or compaction) at a time. */
  private chain: Promise<void> = Promise.resolve();
  private fh: FileHandle | undefined;
  private journalBytes = 0;
  /** The last write failed part-way: the next starts on a new line, so the torn one stands alone. */
  private newlineFirst = false;
  private source: (() => Iterable<SessionRecord>) | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: JournalOptions,
    private readonly observer: JournalObserver,
    private generation: number,
    private snapshotBytes: number,
    private needsCompaction: boolean,
  ) {}

  /** Reads the state directory (created if missing). The caller restores `records` into the store, then calls start(). */
  static async open(opts: JournalOptions, observer: JournalObserver): Promise<{ journal: SessionJournal; records: SessionRecord[]; report: RecoveryReport }> {
    let replay: Replay;
    try {
      await mkdir(opts.dir, { recursive: true, mode: 0o750 });
      await rm(join(opts.dir, SNAPSHOT_TMP), { force: true });
      replay = await recover(opts.dir);
    } catch (err) {
      throw ioError(`cannot read the session state in ${opts.dir}`, err);
    }
    const journal = new SessionJournal(opts, observer, replay.generation, replay.snapshotBytes, replay.needsCompaction);
    return { journal, records: [...replay.records.values()], report: replay.report };
  }

  /**
   * Starts journaling with `source` (the store's live records) for snapshots: after a recovery
   * that replayed journal lines, a fresh snapshot is written at once; otherwise the current
   * journal is appended to.
   */
  async start(source: () => Iterable<SessionRecord>): Promise<void> {
    this.source = source;
    try {
      if (this.needsCompaction) await this.exclusive(() => this.compactNow());
      else {
        this.fh = await open(join(this.opts.dir, journalName(this.generation)), 'a', 0o640);
        this.journalBytes = (await this.fh.stat()).size;
      }
    } catch (err) {
      throw ioError(`cannot write the session state in ${this.opts.dir}`, err);
    }
  }

  put(record: SessionRecord): void {
    this.dirty.set(record.id, record);
    this.schedule();
  }

  delete(id: string): void {
    this.dirty.set(id, null);
    this.schedule();
  }

  /** Changes not yet written. */
  get pending(): number {
    return this.dirty.size;
  }

  /** Writes the dirty sessions now (the timer does this every flushMs). */
  flush(): Promise<void> {
    return this.exclusive(() => this.flushNow());
  }

  /** Writes a snapshot and starts a new journal now (a flush does this when the journal has grown). */
  compact(): Promise<void> {
    return this.exclusive(() => this.compactNow());
  }

  /** Writes what is pending and closes the journal. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      await this.exclusive(() => this.flushNow());
      await this.chain;
      await this.fh?.close();
      this.fh = undefined;
    })();
    return this.closing;
  }

  private schedule(): void {
    if (this.timer || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.flushMs);
    this.timer.unref();
  }

  private exclusive(op: () => Promise<void>): Promise<void> {
    const run = this.chain.then(op);
    // Failures are reported by the operation itself; the chain goes on.
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.dirty.size === 0 || !this.fh) return;
    const fh = this.fh;
    const batch = this.dirty;
    this.dirty = new Map();
    const started = performance.now();
    let bytes = 0;
    try {
      let text = this.newlineFirst ? '\n' : '';
      for (const [id, r] of batch) {
        text += r ? `{"p":${JSON.stringify(r)}}\n` : `{"d":${JSON.stringify(id)}}\n`;
        if (text.length >= CHUNK_CHARS) {
          bytes += await writeText(fh, text);
          text = '';
        }
      }
      bytes += await writeText(fh, text);
      await fh.datasync();
      this.newlineFirst = false;
    } catch (err) {
      // A chunk may have gone out whole or in part: the next write starts on a new line.
      this.newlineFirst = true;
      // Newer changes made meanwhile win; the rest go again with the next flush.
      for (const [id, r] of batch) if (!this.dirty.has(id)) this.dirty.set(id, r);
      this.schedule();
      this.observer.failed('flush', err as Error);
      return;
    } finally {
      this.journalBytes += bytes;
    }
    this.observer.flushed(batch.size, bytes, (performance.now() - started) / 1000);
    if (this.journalBytes >= Math.max(this.opts.compactMinBytes, this.snapshotBytes)) await this.compactNow();
  }

  private async compactNow(): Promise<void> {
    const source = this.source;
    if (!source) return;
    const started = performance.now();
    const next = this.generation + 1;
    const dir = this.opts.dir;
    let fh: FileHandle | undefined;
    try {
      // New changes go to the next journal from here on; the snapshot below covers everything before.
      fh = await open(join(dir, journalName(next)), 'a', 0o640);
      const { records, bytes } = await writeSnapshot(dir, next, source());
      await this.fh?.close();
      this.fh = fh;
      fh = undefined;
      this.generation = next;
      this.journalBytes = 0;
      this.newlineFirst = false;
      this.snapshotBytes = bytes;
      this.needsCompaction = false;
      for (const name of await readdir(dir)) {
        const m = JOURNAL_RE.exec(name);
        if (m && Number(m[1]) < next) await rm(join(dir, name), { force: true });
      }
      this.observer.compacted(records, bytes, (performance.now() - started) / 1000);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      this.observer.failed('compact', err as Error);
      // Before start() has a journal open there is nothing to fall back on.
      if (!this.fh) throw err;
    }
  }
}

function ioError(message: string, err: unknown): SessionError {
  return new SessionError('AAA_ERR_SESSION_STATE_IO', `${message}: ${(err as Error).message}`, { cause: err });
}

async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let written = 0;
  while (written < buf.length) written += (await fh.write(buf, written)).bytesWritten;
}

/** Writes `text` (UTF-8); resolves with the bytes written. */
async function writeText(fh: FileHandle, text: string): Promise<number> {
  if (text === '') return 0;
  const buf = Buffer.from(text, 'utf8');
  await writeAll(fh, buf);
  return buf.length;
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

async function writeSnapshot(dir: string, generation: number, records: Iterable<SessionRecord>): Promise<{ records: number; bytes: number }> {
  const tmp = join(dir, SNAPSHOT_TMP);
  const fh = await open(tmp, 'w', 0o640);
  let count = 0;
  let bytes = 0;
  try {
    let chunk = JSON.stringify({ aaaproxy_sessions: FORMAT, generation, written: new Date().toISOString() }) + '\n';
    const out = async () => {
      const buf = Buffer.from(chunk, 'utf8');
      await writeAll(fh, buf);
      bytes += buf.length;
      chunk = '';
    };
    for (const r of records) {
      chunk += JSON.stringify(r) + '\n';
      count++;
      // The store goes on changing while a chunk is written; the new journal holds those changes.
      if (chunk.length >= CHUNK_CHARS) await out();
    }
    chunk += JSON.stringify({ end: count }) + '\n';
    await out();
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, SNAPSHOT));
  await syncDir(dir);
  return { records: count, bytes };
}

/** Calls onLine for each complete line; resolves with the unterminated rest (a torn write) in bytes. */
async function readLines(path: string, onLine: (line: string) => void): Promise<number> {
  let rest: Buffer | undefined;
  for await (const chunk of createReadStream(path)) {
    let buf = chunk as Buffer;
    if (rest) buf = Buffer.concat([rest, buf]);
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      if (nl > start) onLine(buf.toString('utf8', start, nl));
      start = nl + 1;
    }
    rest = start < buf.length ? buf.subarray(start) : undefined;
  }
  return rest?.length ?? 0;
}

function isRecord(v: unknown): v is SessionRecord {
  const r = v as SessionRecord;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    typeof r.owner === 'string' &&
    typeof r.user === 'string' &&
    typeof r.client === 'string' &&
    typeof r.nasKey === 'string' &&
    typeof r.nasAddress === 'string' &&
    typeof r.startedAt === 'number' &&
    typeof r.lastUpdateAt === 'number'
  );
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

async function recover(dir: string): Promise<Replay> {
  const records = new Map<string, SessionRecord>();
  const report: RecoveryReport = { records: 0, snapshotRecords: 0, journalEntries: 0, tornBytes: 0, corruptLines: 0 };
  let generation = 0;
  let snapshotBytes = 0;
  let needsCompaction = false;

  const snapshotPath = join(dir, SNAPSHOT);
  const snapshotStat = await stat(snapshotPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (snapshotStat) {
    let header: { generation?: unknown } | undefined;
    let end: number | undefined;
    let count = 0;
    let bad = 0;
    const torn = await readLines(snapshotPath, (line) => {
      const v = parse(line) as Record<string, unknown> | undefined;
      if (header === undefined) {
        header = v?.['aaaproxy_sessions'] === FORMAT ? v : {};
        return;
      }
      if (v && typeof v['end'] === 'number' && Object.keys(v).length === 1) end = v['end'];
      else if (isRecord(v)) {
        records.set(v.id, v);
        count++;
      } else bad++;
    });
    if (typeof header?.generation === 'number' && end === count && bad === 0 && torn === 0) {
      generation = header.generation;
      snapshotBytes = snapshotStat.size;
      report.snapshotRecords = count;
    } else {
      // Written to a temporary name and renamed, so this is damage after the fact: keep it for a look.
      records.clear();
      report.snapshotSetAside = `snapshot.corrupt-${Date.now()}`;
      await rename(snapshotPath, join(dir, report.snapshotSetAside));
      needsCompaction = true;
    }
  }

  const journals = (await readdir(dir))
    .map((name) => JOURNAL_RE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], generation: Number(m[1]) }))
    .sort((a, b) => a.generation - b.generation);
  // Without a (sound) snapshot every journal left counts; with one, those from its generation on.
  const replayed = journals.filter((j) => j.generation >= generation);
  for (const [i, j] of replayed.entries()) {
    const path = join(dir, j.name);
    const torn = await readLines(path, (line) => {
      const v = parse(line) as { p?: unknown; d?: unknown } | undefined;
      if (v && isRecord(v.p)) records.set(v.p.id, v.p);
      else if (v && typeof v.d === 'string') records.delete(v.d);
      else {
        report.corruptLines++;
        return;
      }
      report.journalEntries++;
    });
    // Only the journal being written when the process stopped can end in a torn write.
    if (torn > 0 && i === replayed.length - 1) report.tornBytes += torn;
    else if (torn > 0) report.corruptLines++;
  }
  const lastGeneration = Math.max(generation, ...journals.map((j) => j.generation));
  if (report.journalEntries > 0 || report.corruptLines > 0 || report.tornBytes > 0 || replayed.length > 1) needsCompaction = true;
  report.records = records.size;
  return { records, report, generation: needsCompaction ? lastGeneration : Math.max(generation, 1), needsCompaction, snapshotBytes };
}
