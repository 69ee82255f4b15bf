/**
 * Durable commit, then reply, on the native addon (native/durable_commit.c, Linux): a
 * thread-pool thread writes a spool commit and, once it and every earlier commit are
 * durable, sends the Accounting-Responses of its records from the listener's socket. The
 * NAS's answer then no longer waits for the event loop to see the write end (RFC 2866 §2:
 * the answer follows the recording, and nothing else).
 *
 * Commits are ordered by submission: a commit's replies never leave before those of an
 * earlier one, nor at all when an earlier write failed (the spool cuts the failed commit
 * and every later one off the file and refuses their records). Without the addon there is
 * no committer, and the front sends the answers itself after the commit.
 */
import { getSystemErrorName } from 'node:util';
import type { Peer } from './udp.js';

export type Sequencer = object & { readonly __commitSequencer: unique symbol };

/** The addon's commit functions (native/durable_commit.c). */
export interface DurableCommitAddon {
  commitOpen(): Sequencer;
  commitResume(sequencer: Sequencer): void;
  /** `meta`: REPLY_WORDS per reply (offset and length in `replies`, port, socket index, address index). */
  commitWrite(
    sequencer: Sequencer,
    fd: number,
    data: Buffer,
    position: number,
    sockets: readonly object[],
    addresses: readonly string[],
    replies: Buffer,
    meta: Uint32Array,
    count: number,
    done: (errno: number) => void,
  ): void;
}

/** A reply to send once its record's commit is durable; made by BatchedUdpEndpoint.commitReply. */
export interface CommitReply {
  readonly socket: object;
  readonly buf: Buffer;
  readonly peer: Peer;
}

const REPLY_WORDS = 5;

/** One per spool: its commits are sequenced together. */
export class DurableCommitter {
  private readonly sequencer: Sequencer;
  /** Reused for every commit: the addon copies what it needs before commitWrite returns. */
  private arena = Buffer.allocUnsafe(16 * 1024);
  private meta = new Uint32Array(256 * REPLY_WORDS);

  constructor(private readonly addon: DurableCommitAddon) {
    this.sequencer = addon.commitOpen();
  }

  /**
   * Writes `data` at `position` of `fd` (opened O_DSYNC: durable when the write returns) and
   * then sends `replies` unless an earlier write failed (see resume). Resolves with the
   * write's error, if any (no reply was sent then).
   */
  write(fd: number, data: Buffer, position: number, replies: readonly CommitReply[]): Promise<NodeJS.ErrnoException | undefined> {
    // One buffer and one array of numbers: crossing into the addon per reply, four values
    // each, cost more than the rest of a commit.
    const sockets = new Map<object, number>();
    const addresses = new Map<string, number>();
    let size = 0;
    for (const r of replies) size += r.buf.length;
    if (size > this.arena.length) this.arena = Buffer.allocUnsafe(Math.max(size, this.arena.length * 2));
    if (replies.length * REPLY_WORDS > this.meta.length) this.meta = new Uint32Array(Math.max(replies.length, this.meta.length / REPLY_WORDS * 2) * REPLY_WORDS);
    const { arena, meta } = this;
    let offset = 0;
    for (let i = 0, m = 0; i < replies.length; i++, m += REPLY_WORDS) {
      const r = replies[i]!;
      r.buf.copy(arena, offset);
      meta[m] = offset;
      meta[m + 1] = r.buf.length;
      meta[m + 2] = r.peer.port;
      meta[m + 3] = indexOf(sockets, r.socket);
      meta[m + 4] = indexOf(addresses, r.peer.address);
      offset += r.buf.length;
    }
    return new Promise((resolve) => {
      try {
        this.addon.commitWrite(this.sequencer, fd, data, position, [...sockets.keys()], [...addresses.keys()], arena.subarray(0, offset), meta, replies.length, (errno) => {
          resolve(errno === 0 ? undefined : writeError(errno));
        });
      } catch (err) {
        // Arguments of the wrong type (a bug): nothing was queued. As a failed write, the spool
        // cuts the commit off and refuses its records, so no seq is left with a hole.
        resolve(Object.assign(err as Error, { code: 'EINVAL' }) as NodeJS.ErrnoException);
      }
    });
  }

  /**
   * After a failed write no commit sends replies (their records follow the failed ones and
   * are refused) until this is called: once the spool has cut the failed commits off and
   * every commit it refused has ended.
   */
  resume(): void {
    this.addon.commitResume(this.sequencer);
  }
}

/** The index of `key` in insertion order, added when new. */
function indexOf<K>(indices: Map<K, number>, key: K): number {
  let i = indices.get(key);
  if (i === undefined) indices.set(key, (i = indices.size));
  return i;
}

function writeError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  return Object.assign(new Error(`${code}: spool write failed`), { code, errno: -errno, syscall: 'write' });
}
