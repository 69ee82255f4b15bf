// Times durable writes where the spool lives, the way the spool commits (8 KiB at a time into
// a zero-filled file opened O_DSYNC), and prints one line for the bench summary:
//   node scripts/bench/disk-latency.mjs DIR [WRITES]
// An acknowledged Accounting-Request waits for such a write, so its latency (and its drift,
// which on a shared VM is large) is part of every accounting figure; radsecproxy's has no disk.
// Run on a quiet machine (before and after the measurements), it shows the disk, not the load.
import { closeSync, constants, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
const writes = Number(process.argv[3] ?? 1000);
if (!dir || !Number.isInteger(writes) || writes < 10) {
  process.stderr.write('usage: disk-latency.mjs DIR [WRITES >= 10]\n');
  process.exit(2);
}
const BLOCK = 8192;
const FILE_BYTES = 8 << 20;
const path = join(dir, `.disk-latency-${process.pid}`);
const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_DSYNC, 0o600);
try {
  const zeros = Buffer.alloc(1 << 20);
  for (let at = 0; at < FILE_BYTES; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
  const block = Buffer.alloc(BLOCK, 0x5a);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const ms = [];
  for (let i = 0; i < writes; i++) {
    const t0 = performance.now();
    writeSync(fd, block, 0, BLOCK, (i * BLOCK) % FILE_BYTES);
    ms.push(performance.now() - t0);
    // About the spool's commit rate under load, so the disk sees a steady stream, not a burst.
    Atomics.wait(pause, 0, 0, 1);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))].toFixed(2);
  process.stdout.write(`durable 8 KiB writes (O_DSYNC) in ${dir}: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, p99.9 ${q(0.999)} ms, max ${ms.at(-1).toFixed(2)} ms (${writes} writes)\n`);
} finally {
  closeSync(fd);
  rmSync(path, { force: true });
}
