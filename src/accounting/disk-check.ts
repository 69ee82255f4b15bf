/**
 * How fast the disk under a directory makes a write durable, measured the way the spool
 * commits: 8 KiB writes into a zero-filled file opened O_DSYNC (on a disk with a volatile
 * cache, each one a write and a cache flush). Every acknowledged Accounting-Request waits
 * for such a write (RFC 2866 §2: answer only once recorded), so this latency is a floor
 * under accounting's, and on shared or virtual disks it drifts. For `aaaproxy check-disk`
 * and the benchmark: it blocks its thread, and is never used by the daemon.
 */
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface DiskCheckResult {
  writes: number;
  /** Write latencies in ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

const BLOCK = 8192;
const FILE_BYTES = 8 << 20;

/**
 * Writes `writes` blocks, `pauseMs` apart (about the spool's commit rate under load, so the
 * disk sees a steady stream rather than a burst), in a scratch file it then removes. Throws
 * the file system's error (ENOENT, EACCES, ENOSPC) when the directory cannot take the file.
 */
export function checkDurableWrites(dir: string, writes = 1000, pauseMs = 1): DiskCheckResult {
  if (!Number.isInteger(writes) || writes < 1) throw new RangeError(`writes must be a positive integer, not ${writes}`);
  const path = join(dir, `.aaaproxy-check-disk-${process.pid}`);
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_DSYNC, 0o600);
  try {
    // Zero-filled first, as the spool's segments are: writes into allocated blocks need no
    // file-size update, which would make each one commit metadata as well.
    const zeros = Buffer.alloc(1 << 20);
    for (let at = 0; at < FILE_BYTES; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
    const block = Buffer.alloc(BLOCK, 0x5a);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const ms: number[] = [];
    for (let i = 0; i < writes; i++) {
      const started = performance.now();
      writeSync(fd, block, 0, BLOCK, (i * BLOCK) % FILE_BYTES);
      ms.push(performance.now() - started);
      if (pauseMs > 0) Atomics.wait(pause, 0, 0, pauseMs);
    }
    ms.sort((a, b) => a - b);
    const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(ms.length * q))]!;
    return { writes, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: ms[ms.length - 1]! };
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

export function formatDiskCheck(dir: string, r: DiskCheckResult): string {
  const f = (v: number) => v.toFixed(2);
  return `durable 8 KiB writes (O_DSYNC) in ${dir}: p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, p99.9 ${f(r.p999)} ms, max ${f(r.max)} ms (${r.writes} writes)`;
}
