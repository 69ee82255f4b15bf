/**
 * Durable on-disk spool for accounting forwarding.
 *
 * An Accounting-Request is appended (group commit: one O_DSYNC write per batch, up to
 * COMMITS_IN_FLIGHT batches writing at once, acknowledged in order) before the NAS gets its
 * Accounting-Response; the forwarder reads the spool in seq order,
 * sends upstream and acks. Acks may come out of order; the cursor (the highest seq below
 * which everything is acked) is persisted in batches, so after a crash what was acked
 * above the persisted cursor is delivered again: at least once, never lost.
 *
 * Layout of `dir` (0750; one process per directory):
 *   0000000000000001.seg   segment files (0640), named by the next seq when they were created
 *                          (16 digits): every seq in a segment is at least its name and below
 *                          the next segment's. Framed records, see spool-format.ts. Only the
 *                          last segment is written; a new one is started (and the directory
 *                          fsynced) before a commit would take the current past segmentBytes.
 *   spare.tmp              the next segment, zero-filled ahead of time (below)
 *   cursor                 {"format":1,"ackedThrough":N,"lastSeq":M}, replaced atomically
 *                          (write cursor.tmp, fsync, rename, fsync dir) at most every
 *                          cursorFlushMs and on close.
 * A segment is deleted once the persisted cursor has passed every seq in it.
 *
 * Preallocation: a write that extends a file makes O_DSYNC (like fdatasync) commit the new
 * file size through the journal; a write into blocks already allocated does not, and
 * measured half the latency. So while one segment is written, the next is zero-filled in
 * the background as spare.tmp, and a rotation renames it into place (falling back to an
 * empty file when it is not ready). Zeros after the last frame are free space, not damage.
 * On disk the spool can exceed maxBytes by the preallocated part of two segments.
 *
 * Recovery (open): every segment is scanned and each frame's CRC checked. An incomplete or
 * damaged stretch at the end of the last segment, with no valid frame after it, is a write
 * torn by a crash (never acknowledged): it is cut off. Damage anywhere else is skipped up to
 * the next valid frame and reported through observer.corrupt; the records in it are lost
 * (their seqs are passed over by the cursor) but nothing around them is. lastSeq is the
 * highest of the last valid record, the cursor's lastSeq and the cursor, so a seq is not reused.
 *
 * Size limit: `maxBytes` bounds the segment files on disk plus what is queued for the next
 * commit. An append that would pass it is rejected with SpoolFullError; the NAS gets no
 * Accounting-Response, keeps the record and retransmits (or fails over), so nothing
 * acknowledged is lost. Space comes back when delivered segments are deleted.
 */
import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Fifo } from './fifo.js';
import { GroupCommit } from './group-commit.js';
import type { CommitReply } from '../transport/durable-commit.js';
import { frameBytes, MAX_CLIENT_BYTES, MAX_PACKET_BYTES, scanFrames, writeFrame } from './spool-format.js';

/** The segment being written: read-write (recovery scans it too), every write durable on return. */
const SEGMENT_WRITE_FLAGS = constants.O_RDWR | constants.O_DSYNC;

export interface SpoolEntry {
  /** Monotonically increasing, never reused, survives restarts. */
  readonly seq: number;
  /** ms since the epoch when the batch holding it was written (RFC 2866 §5.2 Acct-Delay-Time). */
  readonly enqueuedAt: number;
  /** The NAS client name. */
  readonly client: string;
  /** The NAS's original Accounting-Request wire bytes; read-only (shared with the spool's cache). */
  readonly packet: Buffer;
}

export interface SpoolOptions {
  dir: string;
  /** Limit on the segment files plus the queued appends; beyond it append() rejects SpoolFullError. */
  maxBytes: number;
  /** A new segment is started when the current one would grow past this. At most maxBytes / 2. */
  segmentBytes: number;
  /** How long the first append of an idle period waits for company before the commit. */
  groupCommitMs: number;
  /** How often, at most, the delivery cursor is persisted (default 200 ms). */
  cursorFlushMs?: number;
  /** Recent appends kept in memory so read() need not go to disk (default 4 MiB). */
  tailCacheBytes?: number;
  /**
   * Writes the commits and sends their records' replies once durable (src/transport/durable-commit.ts,
   * on the batched UDP addon). Without it, commits are written through node:fs and a record's
   * reply is the caller's to send when append() resolves.
   */
  committer?: SpoolCommitter;
}

/**
 * Writes a commit at its offset of a segment opened O_DSYNC, then sends `replies`; resolves
 * with the write's error. After a failed write it sends no replies until resume().
 */
export interface SpoolCommitter {
  write(fd: number, data: Buffer, position: number, replies: readonly CommitReply[]): Promise<NodeJS.ErrnoException | undefined>;
  resume(): void;
}

export interface SpoolObserver {
  /** A commit made `records` appends durable in `seconds`. */
  committed(records: number, seconds: number): void;
  /** Damaged bytes in a segment (or the cursor file) were skipped; each stretch is reported once. */
  corrupt(segment: string, offset: number, bytes: number): void;
  /** Recovery cut an incomplete record (a write torn by a crash) off the end of the last segment. */
  truncated?(segment: string, offset: number, bytes: number): void;
  /** Persisting the cursor failed (it is retried; meanwhile a restart would redeliver more). */
  cursorFailed?(err: Error): void;
}

export interface SpoolStats {
  /** Records not yet acked. */
  pending: number;
  /** Bytes of segment files on disk. */
  bytes: number;
  /** enqueuedAt of the oldest record not yet acked (may lag by one disk read: never younger than the truth). */
  oldestEnqueuedAt: number | undefined;
  /** The last seq made durable. */
  lastSeq: number;
  /** Every seq up to this one is delivered (or was lost to damage and reported). */
  ackedThrough: number;
  /** Records appended since open. */
  appended: number;
  /** Records acked since open. */
  delivered: number;
}

/** The spool is at its size limit: the NAS gets no Accounting-Response and retransmits. */
export class SpoolFullError extends Error {
  override readonly name = 'SpoolFullError';
  readonly code = 'AAA_ERR_SPOOL_FULL';
  constructor(bytes: number, maxBytes: number) {
    super(`accounting spool is full: ${bytes} of ${maxBytes} bytes`);
  }
}

export class SpoolError extends Error {
  override readonly name = 'SpoolError';
  constructor(
    readonly code: 'AAA_ERR_SPOOL_CLOSED' | 'AAA_ERR_SPOOL_IO' | 'AAA_ERR_SPOOL_OPTIONS' | 'AAA_ERR_SPOOL_RECORD_TOO_LONG',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Segment {
  readonly firstSeq: number;
  readonly name: string;
  readonly path: string;
  /** Committed bytes. */
  size: number;
  /** Highest seq that belongs here (the next segment's first seq - 1; for the last, the last committed). */
  lastSeq: number;
  /** Valid records. */
  count: number;
  /** Sparse index, flat pairs [seq, offset]: one per INDEX_EVERY records. */
  index: number[];
}

interface Pending {
  /** The label as given (the entry's `client`) and its UTF-8 bytes (the frame's). */
  label: string;
  labelUtf8: Buffer;
  packet: Buffer;
  bytes: number;
  reply: CommitReply | undefined;
  resolve: (e: SpoolEntry) => void;
  reject: (err: Error) => void;
}

const INDEX_EVERY = 64;
const MAX_KEPT_LABELS = 1024;
/**
 * Commits writing at once. Each is one O_DSYNC write on the thread pool (4 threads by
 * default); more than one lets records that arrive during a write go to disk without waiting
 * for it, which takes most of a commit's wait out of the Accounting-Response's latency.
 */
const COMMITS_IN_FLIGHT = 3;
const SEGMENT_RE = /^(\d{16})\.seg$/;
const CURSOR = 'cursor';
const CURSOR_TMP = 'cursor.tmp';
const SPARE = 'spare.tmp';
/**
 * The spare is zero-filled in durable (O_DSYNC) writes of this size, one at a time: the disk
 * sees small writes between the commits instead of one large flush that commits would queue
 * behind.
 */
const SPARE_CHUNK = 256 * 1024;
const TAIL_ENTRY_OVERHEAD = 96;

function repliesOf(batch: readonly Pending[]): CommitReply[] {
  const out: CommitReply[] = [];
  for (const p of batch) if (p.reply) out.push(p.reply);
  return out;
}

function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(16, '0')}.seg`;
}

export class AccountingSpool {
  private readonly segments: Segment[] = [];
  private activeFh: FileHandle | undefined;
  /** The last seq whose commit succeeded and whose earlier ones all did: readers see up to here. */
  private committedSeq = 0;
  /** The last seq given to a commit (in flight or done). */
  private assignedSeq = 0;
  /** Where the next commit writes in the active segment (past the commits in flight). */
  private reservedEnd = 0;
  /** Resolves true once the last reserved commit and all before it succeeded. */
  private commitChain: Promise<boolean> = Promise.resolve(true);
  private readonly writesInFlight = new Set<Promise<unknown>>();
  /** Set while a failed commit is being cut off: no new writes until it is. */
  private failure: Error | undefined;
  /** What the last failed commit failed with: the commits after it fail with the same. */
  private lastFailure: Error | undefined;
  private rotating: Promise<void> | undefined;
  private ackedThrough = 0;
  private persisted = 0;
  private persistedLastSeq = 0;
  /** Acked seqs above ackedThrough. */
  private readonly acked = new Set<number>();
  /** Seqs above ackedThrough whose record was lost to damage: nothing will ack them. */
  private readonly missing = new Set<number>();
  private bytes = 0;
  private queuedBytes = 0;
  private queue: Pending[] = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private broken: SpoolError | undefined;
  private readonly tail = new Fifo<SpoolEntry>();
  private tailBytes = 0;
  private waiters: { after: number; resolve: () => void }[] = [];
  private cursorTimer: NodeJS.Timeout | undefined;
  private cursorChain: Promise<void> = Promise.resolve();
  private oldest: { seq: number; at: number } | undefined;
  private oldestLookup: Promise<void> | undefined;
  private readonly reported = new Set<string>();
  private readonly labels = new Map<string, Buffer>();
  private appended = 0;
  private delivered = 0;
  private readonly cursorFlushMs: number;
  private readonly tailCacheBytes: number;
  private readonly groupCommit: GroupCommit;
  /** spare.tmp is zero-filled and synced: the next rotation can take it. */
  private spareReady = false;
  private spareFilling: Promise<void> | undefined;

  private constructor(
    private readonly opts: SpoolOptions,
    private readonly observer: SpoolObserver,
  ) {
    this.cursorFlushMs = opts.cursorFlushMs ?? 200;
    this.tailCacheBytes = opts.tailCacheBytes ?? 4 * 1024 * 1024;
    this.groupCommit = new GroupCommit(opts.groupCommitMs, () => this.flush(), () => this.queue.length > 0, COMMITS_IN_FLIGHT);
  }

  /** Opens (creating) the spool directory and recovers: pending records are those above the persisted cursor. */
  static async open(opts: SpoolOptions, observer: SpoolObserver): Promise<AccountingSpool> {
    if (!(opts.segmentBytes >= 4096) || !(opts.maxBytes >= 2 * opts.segmentBytes) || !(opts.groupCommitMs >= 0)) {
      throw new SpoolError(
        'AAA_ERR_SPOOL_OPTIONS',
        `spool needs segmentBytes >= 4096, maxBytes >= 2 x segmentBytes and groupCommitMs >= 0 (got ${opts.segmentBytes}, ${opts.maxBytes}, ${opts.groupCommitMs})`,
      );
    }
    const spool = new AccountingSpool(opts, observer);
    await spool.recover();
    return spool;
  }

  // ---------------------------------------------------------------- append (group commit)

  /**
   * Resolves once the record is durable (O_DSYNC write); rejects SpoolFullError at the size limit,
   * SpoolError AAA_ERR_SPOOL_CLOSED after close, AAA_ERR_SPOOL_IO after a failed write-back (the
   * spool then takes no more records until restarted), or the write error itself. `packet` is
   * copied at commit time: do not change it before the promise settles. With a committer
   * (repliesOnCommit), `reply` is sent once the record is durable and before this resolves;
   * never when it rejects.
   */
  append(client: string, packet: Buffer, reply?: CommitReply): Promise<SpoolEntry> {
    if (this.closed) return Promise.reject(new SpoolError('AAA_ERR_SPOOL_CLOSED', 'accounting spool is closed'));
    if (this.broken) return Promise.reject(this.broken);
    const name = this.labelBytes(client);
    if (name.length > MAX_CLIENT_BYTES || packet.length > MAX_PACKET_BYTES) {
      return Promise.reject(new SpoolError('AAA_ERR_SPOOL_RECORD_TOO_LONG', `record too long (client ${name.length}, packet ${packet.length} octets)`));
    }
    const bytes = frameBytes(name.length, packet.length);
    if (this.bytes + this.queuedBytes + bytes > this.opts.maxBytes) {
      return Promise.reject(new SpoolFullError(this.bytes + this.queuedBytes, this.opts.maxBytes));
    }
    this.queuedBytes += bytes;
    return new Promise((resolve, reject) => {
      this.queue.push({ label: client, labelUtf8: name, packet, bytes, reply, resolve, reject });
      this.groupCommit.schedule();
    });
  }

  /**
   * The UTF-8 bytes of a label, kept: a daemon has a few (one per route target and client), and
   * encoding one per record showed in profiles. Read-only: frames copy them.
   */
  private labelBytes(label: string): Buffer {
    let bytes = this.labels.get(label);
    if (!bytes) {
      // Labels with a stripped user name are many: start over rather than grow without bound.
      if (this.labels.size >= MAX_KEPT_LABELS) this.labels.clear();
      this.labels.set(label, (bytes = Buffer.from(label, 'utf8')));
    }
    return bytes;
  }

  /**
   * One commit: as many queued records as fit in the current segment (at least one), one
   * durable write. What does not fit stays queued and is committed right after, in a
   * new segment, so no segment grows past segmentBytes (unless one record is larger).
   *
   * Up to COMMITS_IN_FLIGHT commits write at once, each at the offset and seqs it reserved,
   * so a record does not wait for the write before its own. Their effects (the records
   * acknowledged, the segment size readers see) still come in reservation order: a commit
   * whose write ends first waits for the earlier ones, and when one fails every later one
   * fails with it, since its data would follow a gap. After a crash, the data of a later
   * write that beat an earlier one to the disk was never acknowledged; recovery skips the gap
   * before it (reported as damage) and delivers it: at least once.
   */
  private async flush(): Promise<void> {
    const started = performance.now();
    let batch: Pending[] = [];
    let size = 0;
    try {
      // From the last check to the write's start nothing awaits: a failure or rotation cannot slip in between.
      for (let wait = this.roomWait(); wait; wait = this.roomWait()) await wait;
      if (this.queue.length === 0) return;
      const seg = this.active();
      let n = 0;
      const at = this.reservedEnd;
      while (n < this.queue.length && (n === 0 || at + size + this.queue[n]!.bytes <= this.opts.segmentBytes)) size += this.queue[n++]!.bytes;
      batch = this.queue.splice(0, n);
      this.reservedEnd += size;
      const firstSeq = this.assignedSeq + 1;
      this.assignedSeq += batch.length;
      const enqueuedAt = Date.now();
      const buf = Buffer.allocUnsafe(size);
      const entries: SpoolEntry[] = [];
      let off = 0;
      for (let k = 0; k < batch.length; k++) {
        const p = batch[k]!;
        const begin = writeFrame(buf, off, firstSeq + k, enqueuedAt, p.labelUtf8, p.packet);
        entries.push({ seq: firstSeq + k, enqueuedAt, client: p.label, packet: buf.subarray(begin, begin + p.packet.length) });
        off += p.bytes;
      }
      const earlierOk = this.commitChain;
      let settle!: (ok: boolean) => void;
      this.commitChain = new Promise((resolve) => (settle = resolve));
      let ok = false;
      try {
        const committer = this.opts.committer;
        const write = committer ? committer.write(this.activeFh!.fd, buf, at, repliesOf(batch)) : this.writeAt(this.activeFh!, buf, at);
        this.writesInFlight.add(write);
        const writeError = await write;
        this.writesInFlight.delete(write);
        if (!(await earlierOk)) throw this.lastFailure ?? new SpoolError('AAA_ERR_SPOOL_IO', 'an earlier accounting spool commit failed');
        if (writeError) throw await this.failCommit(writeError, seg, at, firstSeq);
        for (let k = 0, offset = at; k < entries.length; offset += batch[k]!.bytes, k++) {
          if (seg.count % INDEX_EVERY === 0) seg.index.push(entries[k]!.seq, offset);
          seg.count++;
        }
        seg.size = at + size;
        seg.lastSeq = firstSeq + batch.length - 1;
        this.bytes += size;
        this.committedSeq = seg.lastSeq;
        ok = true;
      } finally {
        settle(ok);
      }
      this.appended += entries.length;
      for (const e of entries) this.cachePush(e);
      this.observer.committed(batch.length, (performance.now() - started) / 1000);
      for (let k = 0; k < batch.length; k++) batch[k]!.resolve(entries[k]!);
      this.wakeWaiters();
    } catch (err) {
      if (batch.length === 0) {
        // Failed before taking a batch (rotation, or the spool is broken): fail everything queued.
        batch = this.queue;
        this.queue = [];
        for (const p of batch) size += p.bytes;
      }
      for (const p of batch) p.reject(err as Error);
    } finally {
      this.queuedBytes -= size;
    }
  }

  /**
   * Writes `buf` at `position`; resolves with the error instead of rejecting. The segment is
   * open with O_DSYNC: each write returns once its data is durable, as a write followed by
   * fdatasync would, in one thread-pool round trip instead of two.
   */
  private async writeAt(fh: FileHandle, buf: Buffer, position: number): Promise<NodeJS.ErrnoException | undefined> {
    try {
      let written = 0;
      while (written < buf.length) written += (await fh.write(buf, written, buf.length - written, position + written)).bytesWritten;
      return undefined;
    } catch (err) {
      return err as NodeJS.ErrnoException;
    }
  }

  /**
   * The first commit (in order) whose write failed: stops new writes, waits for the later
   * ones (doomed: their data would follow the gap), cuts everything from `at` off so the
   * next commit starts clean there, and lets new commits start once the doomed ones have
   * settled. Returns the error to reject with.
   */
  private async failCommit(e: NodeJS.ErrnoException, seg: Segment, at: number, firstSeq: number): Promise<Error> {
    this.failure = e;
    this.lastFailure = e;
    const doomed = this.commitChain;
    if (e.code === 'EIO') {
      // The write-back failed: the state of the page cache is unknown (Linux drops the
      // dirty pages). Stop taking records rather than acknowledge what may not be on disk.
      this.broken = new SpoolError('AAA_ERR_SPOOL_IO', `accounting spool write failed on ${seg.name}: ${e.message}`, { cause: e });
      this.lastFailure = this.broken;
      return this.broken;
    }
    // Nothing from here on was acknowledged (no space, quota...).
    await Promise.all(this.writesInFlight);
    await this.activeFh!.truncate(at).catch((t: Error) => {
      this.broken = new SpoolError('AAA_ERR_SPOOL_IO', `accounting spool cannot truncate ${seg.name}: ${t.message}`, { cause: t });
    });
    this.reservedEnd = at;
    this.assignedSeq = firstSeq - 1;
    void doomed.then(() => {
      // Every commit reserved before the failure has settled and none started since: start afresh.
      if (this.failure !== e) return;
      this.failure = undefined;
      this.commitChain = Promise.resolve(true);
      this.opts.committer?.resume();
    });
    return e;
  }

  /**
   * Undefined when the next queued record fits in the active segment (or nothing is queued);
   * otherwise what to wait for: the rotation, which lets the commits in flight end first.
   * Throws when the spool is broken or a failed commit is being cut off.
   */
  private roomWait(): Promise<void> | undefined {
    if (this.broken) throw this.broken;
    if (this.failure) throw this.failure;
    if (this.rotating) return this.rotating;
    const next = this.queue[0];
    if (!next || this.reservedEnd === 0 || this.reservedEnd + next.bytes <= this.opts.segmentBytes) return undefined;
    this.rotating = (async () => {
      await this.commitChain;
      if (this.broken || this.reservedEnd === 0 || this.reservedEnd + next.bytes <= this.opts.segmentBytes) return;
      await this.rotate();
    })().finally(() => {
      this.rotating = undefined;
    });
    return this.rotating;
  }

  private active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Starts the next segment; no commit may be in flight. */
  private async rotate(): Promise<void> {
    const seg = await this.createSegment(this.committedSeq + 1);
    const old = this.activeFh;
    this.activeFh = seg.fh;
    this.segments.push(seg.segment);
    this.reservedEnd = 0;
    await old?.close();
    this.fillSpare();
  }

  private async createSegment(firstSeq: number): Promise<{ segment: Segment; fh: FileHandle }> {
    const name = segmentName(firstSeq);
    const path = join(this.opts.dir, name);
    let fh: FileHandle;
    if (this.spareReady) {
      // rename replaces a file of this name, which only a creation that failed can leave.
      this.spareReady = false;
      await rename(join(this.opts.dir, SPARE), path);
      fh = await open(path, SEGMENT_WRITE_FLAGS);
    } else {
      // Truncating: a file of this name can only be left by a creation that failed.
      fh = await open(path, SEGMENT_WRITE_FLAGS | constants.O_CREAT | constants.O_TRUNC, 0o640);
    }
    // The new file's directory entry must be durable before records in it are acknowledged.
    await this.syncDir().catch(async (err: unknown) => {
      await fh.close().catch(() => {});
      throw err;
    });
    return { segment: { firstSeq, name, path, size: 0, lastSeq: firstSeq - 1, count: 0, index: [] }, fh };
  }

  /** Starts zero-filling spare.tmp unless it is ready or being filled. A failure only means no spare. */
  private fillSpare(): void {
    if (this.spareReady || this.spareFilling || this.closed) return;
    this.spareFilling = (async () => {
      const fh = await open(join(this.opts.dir, SPARE), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC, 0o640);
      try {
        const zeros = Buffer.alloc(Math.min(SPARE_CHUNK, this.opts.segmentBytes));
        for (let at = 0; at < this.opts.segmentBytes; at += zeros.length) {
          if (this.closed) return;
          await fh.write(zeros, 0, Math.min(zeros.length, this.opts.segmentBytes - at), at);
        }
        this.spareReady = true;
      } finally {
        await fh.close();
      }
    })()
      .catch(() => {
        // No space for a spare (or another I/O error): rotations create empty files, as without one.
      })
      .finally(() => {
        this.spareFilling = undefined;
      });
  }

  private async syncDir(): Promise<void> {
    const dh = await open(this.opts.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  // ---------------------------------------------------------------- tail cache

  private cachePush(e: SpoolEntry): void {
    this.tail.push(e);
    this.tailBytes += e.packet.length + TAIL_ENTRY_OVERHEAD;
    while (this.tailBytes > this.tailCacheBytes && this.tail.length > 0) this.cacheShift();
  }

  private cacheShift(): void {
    const e = this.tail.shift()!;
    this.tailBytes -= e.packet.length + TAIL_ENTRY_OVERHEAD;
  }

  private cacheFirstSeq(): number | undefined {
    return this.tail.peek()?.seq;
  }

  /** Index in `tail` (from its first entry) of the first cached entry with seq >= `seq`. */
  private cacheIndex(seq: number): number {
    let lo = 0;
    let hi = this.tail.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tail.at(mid)!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---------------------------------------------------------------- read

  /**
   * Undelivered entries after `afterSeq` in seq order, at most `limit`; from the tail cache or
   * disk (nothing beyond the cache and one read chunk is held in memory). Only durable
   * entries are returned. Entries from the cache are shared, not copied: read-only.
   */
  async read(afterSeq: number, limit: number): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    const last = this.committedSeq;
    let from = Math.max(afterSeq, this.ackedThrough) + 1;
    if (this.closed || limit <= 0 || from > last) return out;
    for (;;) {
      if (from > last || out.length >= limit) return out;
      const cached = this.cacheFirstSeq();
      if (cached !== undefined && from >= cached) {
        // From the tail cache: every committed seq from its first entry on is there.
        for (let k = this.cacheIndex(from); k < this.tail.length && out.length < limit; k++) {
          const e = this.tail.at(k)!;
          if (e.seq > last) break;
          if (e.seq > this.ackedThrough && !this.acked.has(e.seq)) out.push(e);
        }
        return out;
      }
      // From disk. Segments may be deleted meanwhile (only delivered ones): look each one up afresh.
      const seg = this.segments[this.segmentFor(from)];
      if (!seg) return out;
      const isActive = seg === this.active();
      const step = await this.readSegment(seg, from, last, limit, out);
      if (step.kind === 'done') return out;
      if (step.kind === 'next' && (isActive || step.from <= from)) return out;
      from = step.from;
    }
  }

  /** The segment that holds `seq` (or the first one). */
  private segmentFor(seq: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.firstSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Reads wanted records of one segment into `out`: 'done' when the limit (or the last
   * committed seq) is reached, 'cache' with the seq from which the tail cache takes over,
   * 'next' with the first seq after this segment.
   */
  private async readSegment(
    seg: Segment,
    from: number,
    last: number,
    limit: number,
    out: SpoolEntry[],
  ): Promise<{ kind: 'done' } | { kind: 'cache' | 'next'; from: number }> {
    // Snapshot (size and last seq change together, in one commit): the active segment may grow while we read.
    const end = seg.size;
    const upper = seg.lastSeq;
    let offset = 0;
    let prev = seg.firstSeq - 1;
    // Sparse index: the last entry at or below `from`.
    const idx = seg.index;
    let lo = 0;
    let hi = idx.length / 2 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (idx[2 * mid]! <= from) {
        offset = idx[2 * mid + 1]!;
        prev = idx[2 * mid]! - 1;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    let fh: FileHandle;
    try {
      fh = await open(seg.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'next', from: upper + 1 }; // delivered and deleted meanwhile
      throw err;
    }
    try {
      for await (const ev of scanFrames(fh, offset, end)) {
        if (ev.type === 'free') break;
        if (ev.type !== 'record') {
          this.reportCorrupt(seg.name, ev.offset, ev.bytes);
          continue;
        }
        const r = ev.record;
        if (r.seq <= prev || r.seq > upper) {
          this.reportCorrupt(seg.name, ev.offset, ev.bytes);
          continue;
        }
        if (r.seq > prev + 1) this.markMissing(prev + 1, r.seq - 1);
        prev = r.seq;
        if (r.seq < from) continue;
        if (r.seq > last) return { kind: 'done' };
        const cached = this.cacheFirstSeq();
        if (cached !== undefined && r.seq >= cached) return { kind: 'cache', from: r.seq };
        if (r.seq > this.ackedThrough && !this.acked.has(r.seq)) {
          out.push({ seq: r.seq, enqueuedAt: r.enqueuedAt, client: r.client, packet: Buffer.from(r.packet) });
          if (out.length >= limit) return { kind: 'done' };
        }
        if (r.seq === last) return { kind: 'done' };
      }
      if (prev < upper) this.markMissing(prev + 1, upper);
      return { kind: 'next', from: upper + 1 };
    } finally {
      await fh.close();
    }
  }

  private reportCorrupt(segment: string, offset: number, bytes: number): void {
    const key = `${segment}:${offset}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.observer.corrupt(segment, offset, bytes);
  }

  /** Records of these seqs were lost to damage: the cursor may pass them. */
  private markMissing(lo: number, hi: number): void {
    const from = Math.max(lo, this.ackedThrough + 1);
    const to = Math.min(hi, this.committedSeq);
    if (from > to) return;
    for (let s = from; s <= to; s++) if (!this.acked.has(s)) this.missing.add(s);
    this.advance();
  }

  // ---------------------------------------------------------------- ack and cursor

  /** Marks an entry delivered (acks may come out of order). Unknown or already covered seqs are ignored. */
  ack(seq: number): void {
    if (!Number.isInteger(seq) || seq <= this.ackedThrough || seq > this.committedSeq) return;
    if (this.acked.has(seq) || this.missing.has(seq)) return;
    this.acked.add(seq);
    this.delivered++;
    this.advance();
  }

  private advance(): void {
    const start = this.ackedThrough;
    let c = start;
    for (;;) {
      const n = c + 1;
      if (this.acked.delete(n) || this.missing.delete(n)) c = n;
      else break;
    }
    if (c === start) return;
    this.ackedThrough = c;
    while (this.tail.length > 0 && this.tail.peek()!.seq <= c) this.cacheShift();
    this.scheduleCursor();
  }

  private scheduleCursor(): void {
    if (this.cursorTimer || this.closed) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = undefined;
      void this.persistCursor();
    }, this.cursorFlushMs);
    this.cursorTimer.unref();
  }

  /**
   * Writes the cursor if it moved (one write at a time), then deletes delivered segments.
   * On close it is also written when only lastSeq moved, so that a seq is not reused even
   * if the end of the last segment is later found damaged.
   */
  private persistCursor(closing = false): Promise<void> {
    this.cursorChain = this.cursorChain.then(async () => {
      if (this.ackedThrough <= this.persisted && !(closing && this.committedSeq > this.persistedLastSeq)) return;
      try {
        await this.writeCursor(this.ackedThrough);
        await this.dropDelivered();
      } catch (err) {
        this.observer.cursorFailed?.(err as Error);
        this.scheduleCursor();
      }
    });
    return this.cursorChain;
  }

  private async writeCursor(through: number): Promise<void> {
    const lastSeq = this.committedSeq;
    const tmp = join(this.opts.dir, CURSOR_TMP);
    const fh = await open(tmp, 'w', 0o640);
    try {
      await fh.writeFile(JSON.stringify({ format: 1, ackedThrough: through, lastSeq }) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.opts.dir, CURSOR));
    await this.syncDir();
    this.persisted = through;
    this.persistedLastSeq = lastSeq;
  }

  /** Deletes segments (never the one being written) whose every seq the persisted cursor has passed. */
  private async dropDelivered(): Promise<void> {
    while (this.segments.length > 1 && this.segments[0]!.lastSeq <= this.persisted) {
      const seg = this.segments.shift()!;
      this.bytes -= seg.size;
      await rm(seg.path, { force: true });
    }
  }

  // ---------------------------------------------------------------- waiting and stats

  /** append() sends the replies it is given (a committer is configured). */
  get repliesOnCommit(): boolean {
    return this.opts.committer !== undefined;
  }

  /** True once close() was called: the forwarder loop stops when waitForData resolves and this is set. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves once an undelivered entry beyond `afterSeq` exists, or the spool closes. */
  waitForData(afterSeq: number): Promise<void> {
    if (this.closed || this.hasUndelivered(afterSeq)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ after: afterSeq, resolve }));
  }

  private hasUndelivered(after: number): boolean {
    const from = Math.max(after, this.ackedThrough) + 1;
    if (from > this.committedSeq) return false;
    let skipped = 0;
    for (const s of this.acked) if (s >= from) skipped++;
    for (const s of this.missing) if (s >= from) skipped++;
    return this.committedSeq - from + 1 > skipped;
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const still: { after: number; resolve: () => void }[] = [];
    for (const w of this.waiters) {
      if (this.closed || this.hasUndelivered(w.after)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  stats(): SpoolStats {
    const pending = this.committedSeq - this.ackedThrough - this.acked.size - this.missing.size;
    return {
      pending,
      bytes: this.bytes,
      oldestEnqueuedAt: pending > 0 ? this.oldestEnqueuedAt() : undefined,
      lastSeq: this.committedSeq,
      ackedThrough: this.ackedThrough,
      appended: this.appended,
      delivered: this.delivered,
    };
  }

  /** The oldest undelivered record is ackedThrough + 1 (advance() passes every acked seq). */
  private oldestEnqueuedAt(): number | undefined {
    const seq = this.ackedThrough + 1;
    const cached = this.cacheFirstSeq();
    if (cached !== undefined && seq >= cached) return this.tail.at(this.cacheIndex(seq))?.enqueuedAt;
    if (this.oldest?.seq !== seq && !this.oldestLookup && !this.closed) {
      this.oldestLookup = this.read(seq - 1, 1)
        .then((es) => {
          const e = es[0];
          if (e) this.oldest = { seq: e.seq, at: e.enqueuedAt };
        })
        .catch(() => {})
        .finally(() => {
          this.oldestLookup = undefined;
        });
    }
    // Until the lookup answers, the previous oldest: older than the truth, never younger.
    return this.oldest?.at;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const dir = this.opts.dir;
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await rm(join(dir, CURSOR_TMP), { force: true });
    // A spare may be half-filled: make it again.
    await rm(join(dir, SPARE), { force: true });
    const cursor = await this.readCursor();
    const segs: Segment[] = (await readdir(dir))
      .filter((n) => SEGMENT_RE.test(n))
      .sort()
      .map((name) => {
        const firstSeq = Number(SEGMENT_RE.exec(name)![1]);
        return { firstSeq, name, path: join(dir, name), size: 0, lastSeq: 0, count: 0, index: [] };
      });
    // Seqs below the first segment are gone (delivered, or its files were removed by hand).
    this.ackedThrough = Math.max(cursor?.ackedThrough ?? 0, (segs[0]?.firstSeq ?? 1) - 1);
    this.persisted = this.ackedThrough;
    this.persistedLastSeq = cursor?.lastSeq ?? 0;
    // Whole segments the cursor has passed were delivered: delete what a crash left behind.
    while (segs.length > 1 && segs[1]!.firstSeq - 1 <= this.ackedThrough) await rm(segs.shift()!.path, { force: true });

    let lastSeq = Math.max(this.ackedThrough, cursor?.lastSeq ?? 0);
    let expected = segs[0]?.firstSeq ?? this.ackedThrough + 1; // the next seq we should see
    const missing: [number, number][] = [];
    for (let k = 0; k < segs.length; k++) {
      const seg = segs[k]!;
      const isLast = k === segs.length - 1;
      const nextFirst = isLast ? Infinity : segs[k + 1]!.firstSeq;
      const fh = await open(seg.path, isLast ? SEGMENT_WRITE_FLAGS : 'r');
      let keep = false;
      try {
        let size = (await fh.stat()).size;
        let torn: { offset: number; bytes: number } | undefined;
        for await (const ev of scanFrames(fh, 0, size)) {
          if (ev.type === 'corrupt' || (ev.type === 'tail' && !isLast)) {
            this.reportCorrupt(seg.name, ev.offset, ev.bytes);
            continue;
          }
          if (ev.type === 'tail') {
            torn = ev;
            continue;
          }
          if (ev.type === 'free') {
            // Preallocated, never written: the segment's data ends here; the space stays.
            size = ev.offset;
            continue;
          }
          const r = ev.record;
          if (r.seq < expected || r.seq < seg.firstSeq || r.seq >= nextFirst) {
            this.reportCorrupt(seg.name, ev.offset, ev.bytes); // valid frame, impossible seq: treat as damage
            continue;
          }
          if (r.seq > expected) missing.push([expected, r.seq - 1]);
          expected = r.seq + 1;
          if (seg.count % INDEX_EVERY === 0) seg.index.push(r.seq, ev.offset);
          seg.count++;
          if (r.seq > this.ackedThrough && !this.oldest) this.oldest = { seq: r.seq, at: r.enqueuedAt };
        }
        if (torn) {
          // A crash mid-write: the incomplete record was never acknowledged. Nothing valid follows it.
          await fh.truncate(torn.offset);
          await fh.datasync();
          size = torn.offset;
          this.observer.truncated?.(seg.name, torn.offset, torn.bytes);
        }
        seg.size = size;
        if (isLast) {
          lastSeq = Math.max(lastSeq, expected - 1, seg.firstSeq - 1);
          seg.lastSeq = lastSeq;
          this.activeFh = fh;
          keep = true;
        } else {
          seg.lastSeq = nextFirst - 1;
          if (expected < nextFirst) missing.push([expected, nextFirst - 1]);
          expected = Math.max(expected, nextFirst);
        }
      } finally {
        if (!keep) await fh.close();
      }
      this.segments.push(seg);
      this.bytes += seg.size;
    }
    if (expected <= lastSeq) missing.push([expected, lastSeq]);
    this.committedSeq = lastSeq;
    this.assignedSeq = lastSeq;
    if (this.segments.length === 0) {
      const { segment, fh } = await this.createSegment(lastSeq + 1);
      this.segments.push(segment);
      this.activeFh = fh;
    }
    this.reservedEnd = this.active().size;
    for (const [lo, hi] of missing) this.markMissing(lo, hi);
    this.fillSpare();
  }

  private async readCursor(): Promise<{ ackedThrough: number; lastSeq: number } | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.opts.dir, CURSOR), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const c = JSON.parse(text) as { format?: unknown; ackedThrough?: unknown; lastSeq?: unknown };
      if (c.format === 1 && Number.isSafeInteger(c.ackedThrough) && Number.isSafeInteger(c.lastSeq) && (c.ackedThrough as number) >= 0) {
        return { ackedThrough: c.ackedThrough as number, lastSeq: c.lastSeq as number };
      }
    } catch {
      // fall through: damaged
    }
    // Written by rename, so this is damage from outside: deliver everything that is left again.
    this.reportCorrupt(CURSOR, 0, text.length);
    return undefined;
  }

  // ---------------------------------------------------------------- close

  /** Flushes queued appends and the cursor, then closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    await this.groupCommit.settle();
    while (this.queue.length > 0) await this.flush();
    if (this.cursorTimer) {
      clearTimeout(this.cursorTimer);
      this.cursorTimer = undefined;
    }
    await this.persistCursor(true);
    await this.oldestLookup;
    await this.spareFilling;
    await this.activeFh?.close();
    this.activeFh = undefined;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
