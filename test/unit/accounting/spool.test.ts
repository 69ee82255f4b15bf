import t from 'tap';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountingSpool, SpoolError, SpoolFullError, type SpoolEntry, type SpoolObserver, type SpoolOptions } from '../../../src/accounting/spool.js';
import { frameBytes } from '../../../src/accounting/spool-format.js';
import { loadUdpBatchAddon } from '../../../src/transport/batched-udp.js';

function tempDir(): string {
  const base = mkdtempSync(join(tmpdir(), 'aaaproxy-spool-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  return join(base, 'spool');
}

interface Recorder extends SpoolObserver {
  commits: number[];
  corrupted: [string, number, number][];
  torn: [string, number, number][];
}

function recorder(): Recorder {
  const r: Recorder = {
    commits: [],
    corrupted: [],
    torn: [],
    committed: (n) => r.commits.push(n),
    corrupt: (s, o, b) => r.corrupted.push([s, o, b]),
    truncated: (s, o, b) => r.torn.push([s, o, b]),
  };
  return r;
}

function options(dir: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return { dir, maxBytes: 1 << 20, segmentBytes: 64 * 1024, groupCommitMs: 1, cursorFlushMs: 10, ...over };
}

/** Packets of one size, so frames have one size and offsets can be computed. */
function packet(i: number): Buffer {
  const b = Buffer.alloc(100, 0x2e);
  b.write(`acct-${String(i).padStart(6, '0')}`);
  return b;
}
const FRAME = frameBytes('nas1'.length, 100);

function segments(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();
}

async function readAll(spool: AccountingSpool, after = 0): Promise<SpoolEntry[]> {
  const out: SpoolEntry[] = [];
  for (let i = 0; i < 10_000; i++) {
    const got = await spool.read(out.at(-1)?.seq ?? after, 37);
    if (got.length === 0) return out;
    out.push(...got);
  }
  throw new Error('read does not end');
}

async function until(what: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test('appends get increasing seqs; read returns them in order; acks remove them', async (t) => {
  const dir = tempDir();
  const spool = await AccountingSpool.open(options(dir), recorder());
  t.equal(statSync(dir).mode & 0o777 & ~0o750, 0, 'directory is at most 0750');
  const before = Date.now();
  const appended = await Promise.all(Array.from({ length: 10 }, (_, i) => spool.append('nas1', packet(i))));
  t.same(appended.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'seqs in arrival order');
  t.ok(appended.every((e) => e.enqueuedAt >= before && e.enqueuedAt <= Date.now()), 'enqueuedAt is the commit time');
  const all = await spool.read(0, 100);
  t.same(all.map((e) => e.seq), appended.map((e) => e.seq));
  t.ok(all.every((e, i) => e.client === 'nas1' && e.packet.equals(packet(i))), 'client and packet bytes round-trip');
  t.same((await spool.read(3, 2)).map((e) => e.seq), [4, 5], 'after and limit');
  t.same(await spool.read(10, 5), [], 'nothing after the last');
  for (const s of [1, 2, 3]) spool.ack(s);
  t.same((await spool.read(0, 100)).map((e) => e.seq), [4, 5, 6, 7, 8, 9, 10], 'acked entries are not read again');
  const st = spool.stats();
  t.equal(st.pending, 7);
  t.equal(st.ackedThrough, 3);
  t.equal(st.lastSeq, 10);
  t.equal(st.oldestEnqueuedAt, appended[3]!.enqueuedAt);
  t.equal(st.delivered, 3);
  t.equal(st.appended, 10);
  t.equal(st.bytes, 10 * FRAME);

  await spool.waitForData(0); // resolves at once: there is data
  let woke = false;
  const waiting = spool.waitForData(10).then(() => (woke = true));
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(woke, 'waitForData waits while nothing is beyond afterSeq');
  const e11 = await spool.append('nas1', packet(10));
  await waiting;
  t.equal(e11.seq, 11);
  t.ok(woke);

  for (let s = 4; s <= 11; s++) spool.ack(s);
  t.equal(spool.stats().pending, 0);
  t.equal(spool.stats().oldestEnqueuedAt, undefined);
  const closing = spool.waitForData(11);
  await spool.close();
  await closing; // close wakes waiters
  t.ok(spool.isClosed);
  t.same(await spool.read(0, 10), [], 'nothing to read after close');
  await spool.close(); // idempotent
  await t.rejects(spool.append('nas1', packet(0)), { code: 'AAA_ERR_SPOOL_CLOSED' });
});

t.test('out-of-order acks: the cursor is the highest seq below which all is acked', async (t) => {
  const dir = tempDir();
  let spool = await AccountingSpool.open(options(dir), recorder());
  for (let i = 0; i < 10; i++) await spool.append('nas1', packet(i));
  for (const s of [3, 2, 5]) spool.ack(s);
  t.equal(spool.stats().ackedThrough, 0);
  t.equal(spool.stats().pending, 7);
  t.same((await spool.read(0, 100)).map((e) => e.seq), [1, 4, 6, 7, 8, 9, 10]);
  spool.ack(1);
  t.equal(spool.stats().ackedThrough, 3);
  spool.ack(4);
  t.equal(spool.stats().ackedThrough, 5);
  spool.ack(7); // acked above the cursor: after a restart it is delivered again (at least once)
  spool.ack(7);
  spool.ack(99); // unknown: ignored
  spool.ack(2); // already covered: ignored
  t.equal(spool.stats().pending, 4);
  await spool.close();
  const cursor = JSON.parse(readFileSync(join(dir, 'cursor'), 'utf8')) as { ackedThrough: number; lastSeq: number };
  t.same(cursor, { format: 1, ackedThrough: 5, lastSeq: 10 });

  spool = await AccountingSpool.open(options(dir), recorder());
  t.same((await readAll(spool)).map((e) => e.seq), [6, 7, 8, 9, 10], 'seq 7 comes again');
  t.equal(spool.stats().ackedThrough, 5);
  await spool.close();
});

t.test('restart: pending entries are the same, seq continues, reads cross segments from disk', async (t) => {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 4096, tailCacheBytes: 0 });
  let spool = await AccountingSpool.open(opts, recorder());
  const first = await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append('nas1', packet(i))));
  t.ok(segments(dir).length > 3, `${segments(dir).length} segments`);
  for (let s = 1; s <= 5; s++) spool.ack(s);
  t.same((await readAll(spool)).map((e) => e.seq), first.slice(5).map((e) => e.seq), 'disk reads (no tail cache) across segments');
  await spool.close();

  spool = await AccountingSpool.open(opts, recorder());
  const again = await readAll(spool);
  t.same(
    again.map((e) => [e.seq, e.enqueuedAt, e.client, e.packet.toString('hex')]),
    first.slice(5).map((e) => [e.seq, e.enqueuedAt, e.client, e.packet.toString('hex')]),
    'same entries after reopen',
  );
  t.equal(spool.stats().oldestEnqueuedAt, first[5]!.enqueuedAt, 'oldest age survives the restart');
  t.equal((await spool.append('nas1', packet(100))).seq, 101, 'seq continues');
  await spool.close();
});

t.test('sparse index: reads from the middle of a large segment', async (t) => {
  const dir = tempDir();
  const spool = await AccountingSpool.open(options(dir, { tailCacheBytes: 0, segmentBytes: 128 * 1024 }), recorder());
  await Promise.all(Array.from({ length: 500 }, (_, i) => spool.append('nas1', packet(i))));
  t.equal(segments(dir).length, 1);
  for (const after of [0, 63, 64, 65, 200, 447, 495]) {
    const got = await spool.read(after, 5);
    t.same(got.map((e) => e.seq), [1, 2, 3, 4, 5].map((k) => after + k), `after ${after}`);
    t.ok(got[0]!.packet.equals(packet(after)));
  }
  await spool.close();
});

t.test('records of varied sizes across read chunks, from disk and after a restart', async (t) => {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 2 << 20, maxBytes: 8 << 20, tailCacheBytes: 0 });
  let spool = await AccountingSpool.open(opts, recorder());
  const sizes = Array.from({ length: 800 }, (_, i) => 20 + ((i * 7919) % 4077));
  const made = (i: number): Buffer => Buffer.alloc(sizes[i]!, i % 251);
  const appended = await Promise.all(sizes.map((_, i) => spool.append(`nas-${i % 7}`, made(i))));
  t.ok(spool.stats().bytes > 1 << 20, 'more than one 256 KiB read chunk');
  const check = (es: SpoolEntry[]): boolean =>
    es.length === 800 && es.every((e, i) => e.seq === appended[i]!.seq && e.client === `nas-${i % 7}` && e.packet.equals(made(i)));
  t.ok(check(await readAll(spool)), 'all intact from disk');
  await spool.close();
  spool = await AccountingSpool.open(opts, recorder());
  t.ok(check(await readAll(spool)), 'all intact after recovery');
  await spool.close();

  // Damage the record that straddles the first 256 KiB chunk boundary: resync crosses chunks.
  let off = 0;
  let k = 0;
  for (; ; k++) {
    const next = off + frameBytes(`nas-${k % 7}`.length, sizes[k]!);
    if (next > 256 * 1024) break;
    off = next;
  }
  const [seg] = segments(dir);
  const bytes = readFileSync(join(dir, seg!));
  bytes[off + 5]! ^= 0x04; // its length field
  writeFileSync(join(dir, seg!), bytes);
  const rec = recorder();
  spool = await AccountingSpool.open(opts, rec);
  t.same(rec.corrupted, [[seg, off, frameBytes(`nas-${k % 7}`.length, sizes[k]!)]], 'one damaged record, at its offset');
  const got = await readAll(spool);
  t.equal(got.length, 799);
  t.notOk(got.some((e) => e.seq === k + 1));
  t.ok(got.every((e) => e.packet.equals(made(e.seq - 1))), 'the others intact');
  await spool.close();
});

t.test('append copies the packet: the caller may reuse its buffer once the record is durable', async (t) => {
  const spool = await AccountingSpool.open(options(tempDir()), recorder());
  const datagram = packet(0);
  await spool.append('nas1', datagram);
  datagram.fill(0);
  const [cached] = await spool.read(0, 1);
  t.ok(cached!.packet.equals(packet(0)), 'the cached entry keeps the bytes that were written');
  await spool.close();
});

/**
 * A child process appends with 16 appends in flight and prints "seq n" once each append
 * resolves; with `ack`, it also acks each record at once (a forwarder that keeps up), so the
 * cursor moves and segments are deleted while it runs. The parent SIGKILLs it mid-stream.
 */
async function crashChild(dir: string, ack: boolean): Promise<Map<number, number>> {
  const moduleUrl = new URL('../../../src/accounting/spool.js', import.meta.url).href;
  const script = `
    const { AccountingSpool } = await import(${JSON.stringify(moduleUrl)});
    const [dir, mode] = process.argv.slice(1);
    const spool = await AccountingSpool.open(
      { dir, maxBytes: 1 << 26, segmentBytes: 4096, groupCommitMs: 1, cursorFlushMs: 2 },
      { committed() {}, corrupt() {} });
    let i = 0;
    const worker = async () => {
      for (;;) {
        const n = i++;
        const p = Buffer.alloc(100, 0x2e);
        p.write('crash-' + n);
        const e = await spool.append('nas1', p);
        process.stdout.write(e.seq + ' ' + n + '\\n');
        if (mode === 'ack') spool.ack(e.seq);
      }
    };
    for (let w = 0; w < 16; w++) void worker();
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir, ack ? 'ack' : 'keep'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('child printed too little')), 8000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // With acks, also wait until a cursor has been persisted, so the kill lands after it moved.
      if (out.split('\n').length > 400 && (!ack || existsSync(join(dir, 'cursor')))) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGKILL');
  if ((await exited) !== 'SIGKILL') throw new Error('child was not killed');
  const lines = out.split('\n');
  lines.pop(); // a line cut short by the kill
  return new Map(lines.map((l) => l.split(' ').map(Number) as [number, number]));
}

t.test('SIGKILL mid-stream: every acknowledged append survives, seq continues', async (t) => {
  const dir = tempDir();
  const printed = await crashChild(dir, false);
  t.ok(printed.size >= 400, `${printed.size} appends acknowledged before the kill`);
  const rec = recorder();
  const spool = await AccountingSpool.open(options(dir, { segmentBytes: 4096 }), rec);
  const entries = new Map((await readAll(spool)).map((e) => [e.seq, e]));
  let lost = 0;
  let wrong = 0;
  for (const [seq, n] of printed) {
    const e = entries.get(seq);
    if (!e) lost++;
    else if (!e.packet.toString('latin1').startsWith(`crash-${n}.`)) wrong++;
  }
  t.equal(lost, 0, 'nothing acknowledged is lost');
  t.equal(wrong, 0, 'each seq holds the packet it was acknowledged for');
  const maxPrinted = Math.max(...printed.keys());
  t.ok(spool.stats().lastSeq >= maxPrinted);
  t.same(rec.corrupted, [], 'no damage reported');
  const next = await spool.append('nas1', packet(0));
  t.ok(next.seq > maxPrinted && next.seq === spool.stats().lastSeq, 'seq continues after the last durable record');
  await spool.close();
});

t.test('SIGKILL while acks move the cursor and delete segments: undelivered records survive', async (t) => {
  const dir = tempDir();
  const printed = await crashChild(dir, true);
  const rec = recorder();
  const spool = await AccountingSpool.open(options(dir, { segmentBytes: 4096 }), rec);
  const st = spool.stats();
  t.ok(st.ackedThrough > 0, `cursor was persisted at ${st.ackedThrough} of ${printed.size}`);
  const present = new Set((await readAll(spool)).map((e) => e.seq));
  const lost = [...printed.keys()].filter((s) => s > st.ackedThrough && !present.has(s));
  t.same(lost, [], 'every record above the persisted cursor is there to deliver again');
  t.ok(st.lastSeq >= Math.max(...printed.keys()));
  t.same(rec.corrupted, []);
  const names = segments(dir);
  t.ok(
    names.slice(1).every((n) => Number(n.slice(0, 16)) - 1 > st.ackedThrough),
    `${names.length} segments left: none wholly below the cursor`,
  );
  t.equal((await spool.append('nas1', packet(0))).seq, st.lastSeq + 1);
  await spool.close();
});

t.test('torn tail: the incomplete record is cut off, every complete one recovered', async (t) => {
  const dir = tempDir();
  let spool = await AccountingSpool.open(options(dir), recorder());
  for (let i = 0; i < 10; i++) await spool.append('nas1', packet(i));
  await spool.close();
  const [seg] = segments(dir);
  const path = join(dir, seg!);
  truncateSync(path, 10 * FRAME - 7); // the last record's write was torn by a crash

  const rec = recorder();
  spool = await AccountingSpool.open(options(dir), rec);
  t.same(rec.torn, [[seg, 9 * FRAME, FRAME - 7]], 'truncation reported');
  t.same(rec.corrupted, []);
  t.equal(statSync(path).size, 9 * FRAME, 'the file ends at the last complete record');
  const got = await readAll(spool);
  t.same(got.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.equal(spool.stats().pending, 9);
  t.equal((await spool.append('nas1', packet(10))).seq, 11, 'a seq once committed is not reused');
  await spool.close();

  // Zeroes after the end (the file grew but the data never reached the disk) and a partial header.
  appendFileSync(path, Buffer.alloc(300));
  appendFileSync(path, Buffer.from([0xaa, 0x53, 0x50]));
  const rec2 = recorder();
  spool = await AccountingSpool.open(options(dir), rec2);
  t.equal(rec2.torn.length, 1);
  t.same((await readAll(spool)).map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
  t.equal((await spool.append('nas1', packet(11))).seq, 12);
  await spool.close();
});

t.test('damage in the middle is skipped and reported; the cursor passes it', async (t) => {
  const dir = tempDir();
  let spool = await AccountingSpool.open(options(dir), recorder());
  for (let i = 0; i < 10; i++) await spool.append('nas1', packet(i));
  await spool.close();
  const [seg] = segments(dir);
  const path = join(dir, seg!);
  const bytes = readFileSync(path);
  bytes[4 * FRAME + 40]! ^= 0x01; // a bit flip in seq 5's packet
  bytes[2 * FRAME + 6]! ^= 0x80; // seq 3's length field: the frame claims to run far past the file
  bytes[7 * FRAME]! ^= 0xff; // seq 8's magic
  writeFileSync(path, bytes);

  const rec = recorder();
  spool = await AccountingSpool.open(options(dir), rec);
  t.same(
    rec.corrupted,
    [
      [seg, 2 * FRAME, FRAME],
      [seg, 4 * FRAME, FRAME],
      [seg, 7 * FRAME, FRAME],
    ],
    'each damaged record reported once, with its offset',
  );
  t.same(rec.torn, []);
  const got = await readAll(spool);
  t.same(got.map((e) => e.seq), [1, 2, 4, 6, 7, 9, 10], 'the rest is recovered');
  t.ok(got.every((e) => e.packet.equals(packet(e.seq - 1))));
  t.equal(spool.stats().pending, 7);
  for (const e of got) spool.ack(e.seq);
  t.equal(spool.stats().ackedThrough, 10, 'lost seqs do not hold the cursor back');
  t.equal(spool.stats().pending, 0);
  await spool.read(0, 10);
  t.equal(rec.corrupted.length, 3, 'no second report when read passes the damage');
  await spool.close();
});

t.test('damage at a segment boundary and in the cursor file', async (t) => {
  const dir = tempDir();
  let spool = await AccountingSpool.open(options(dir, { segmentBytes: 4096 }), recorder());
  for (let i = 0; i < 60; i++) await spool.append('nas1', packet(i));
  spool.ack(1);
  await spool.close();
  const segs = segments(dir);
  t.ok(segs.length >= 3);
  // The last record of the first segment and the first of the second.
  const p0 = join(dir, segs[0]!);
  const b0 = readFileSync(p0);
  b0[b0.length - 20]! ^= 0x10;
  writeFileSync(p0, b0);
  const p1 = join(dir, segs[1]!);
  const b1 = readFileSync(p1);
  b1[30]! ^= 0x10;
  writeFileSync(p1, b1);
  writeFileSync(join(dir, 'cursor'), '{"format":1,"acked');

  const rec = recorder();
  spool = await AccountingSpool.open(options(dir, { segmentBytes: 4096 }), rec);
  t.equal(rec.corrupted.length, 3, 'two records and the cursor');
  t.equal(rec.corrupted[0]![0], 'cursor');
  t.same(rec.torn, [], 'a damaged end of an older segment is not a torn write');
  const perSeg = Math.floor(4096 / FRAME);
  const got = (await readAll(spool)).map((e) => e.seq);
  t.equal(got.length, 58);
  t.notOk(got.includes(perSeg) || got.includes(perSeg + 1));
  t.equal(got[0], 1, 'no cursor: everything left is delivered again');
  for (const s of got) spool.ack(s);
  t.equal(spool.stats().ackedThrough, 60);
  t.equal((await spool.append('nas1', packet(60))).seq, 61);
  await spool.close();
});

t.test('size limit: SpoolFullError, nothing acknowledged lost, space comes back after delivery', async (t) => {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 4096, maxBytes: 8192 });
  let spool = await AccountingSpool.open(opts, recorder());
  const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => spool.append('nas1', packet(i))));
  const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  t.equal(ok.length, Math.floor(8192 / FRAME), 'appends up to the limit are taken');
  t.ok(failed.length > 0 && failed.every((e) => e instanceof SpoolFullError && (e as SpoolFullError).code === 'AAA_ERR_SPOOL_FULL'));
  t.ok(spool.stats().bytes <= 8192);
  await t.rejects(spool.append('nas1', packet(0)), { code: 'AAA_ERR_SPOOL_FULL' }, 'still full');
  await spool.close();

  spool = await AccountingSpool.open(opts, recorder());
  t.same((await readAll(spool)).map((e) => e.seq), ok.map((e) => e.seq), 'every acknowledged record is there after reopen');
  t.ok((await spool.append('nas1', packet(0)).catch((e: unknown) => e)) instanceof SpoolFullError);
  for (const e of ok) spool.ack(e.seq);
  await until(() => spool.stats().bytes < 4096);
  const e = await spool.append('nas1', packet(0));
  t.equal(e.seq, ok.length + 1, 'appends are taken again once delivered segments are deleted');
  await spool.close();
});

t.test('segments are deleted once fully acked and the cursor is persisted', async (t) => {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 4096 });
  let spool = await AccountingSpool.open(opts, recorder());
  await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append('nas1', packet(i))));
  const before = segments(dir);
  t.ok(before.length >= 4, `${before.length} segments`);
  const perSeg = Math.floor(4096 / FRAME);
  for (let s = 1; s <= perSeg; s++) spool.ack(s); // exactly the first segment
  await until(() => segments(dir).length === before.length - 1);
  t.same(segments(dir), before.slice(1), 'the first segment went');
  for (let s = 100; s > perSeg; s--) spool.ack(s);
  await until(() => segments(dir).length === 1);
  t.same(segments(dir), before.slice(-1), 'the segment being written stays');
  const lastFirstSeq = Number(before.at(-1)!.slice(0, 16));
  t.equal(spool.stats().bytes, (100 - lastFirstSeq + 1) * FRAME, 'bytes counts the records of the segment left');
  t.equal(spool.stats().pending, 0);
  await spool.close();

  spool = await AccountingSpool.open(opts, recorder());
  t.equal(spool.stats().pending, 0);
  t.equal(spool.stats().lastSeq, 100);
  t.equal((await spool.append('nas1', packet(0))).seq, 101);
  for (let s = 1; s <= 101; s++) spool.ack(s);
  await spool.close();
});

t.test('everything delivered and deleted: seq still continues after a restart', async (t) => {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 4096 });
  let spool = await AccountingSpool.open(opts, recorder());
  for (let i = 0; i < 50; i++) spool.ack((await spool.append('nas1', packet(i))).seq);
  await spool.close();
  t.equal(segments(dir).length, 1);
  // A crash after the cursor moved but before the deletion leaves fully acked segments: recovery deletes them.
  writeFileSync(join(dir, '0000000000000100.seg'), Buffer.alloc(0));
  writeFileSync(join(dir, 'cursor'), JSON.stringify({ format: 1, ackedThrough: 120, lastSeq: 120 }));
  spool = await AccountingSpool.open(opts, recorder());
  t.same(segments(dir), ['0000000000000100.seg']);
  t.equal((await spool.append('nas1', packet(0))).seq, 121);
  await spool.close();
});

t.test('segment files removed by hand (to make room): the cursor moves past them', async (t) => {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 4096 });
  let spool = await AccountingSpool.open(opts, recorder());
  await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append('nas1', packet(i))));
  await spool.close();
  const names = segments(dir);
  const perSeg = Math.floor(4096 / FRAME);
  rmSync(join(dir, names[0]!));
  rmSync(join(dir, names[2]!));
  spool = await AccountingSpool.open(opts, recorder());
  const got = (await readAll(spool)).map((e) => e.seq);
  const expected = Array.from({ length: 100 }, (_, i) => i + 1).filter((s) => s > perSeg && (s <= 2 * perSeg || s > 3 * perSeg));
  t.same(got, expected);
  t.equal(spool.stats().ackedThrough, perSeg);
  t.equal(spool.stats().pending, expected.length);
  for (const s of got) spool.ack(s);
  t.equal(spool.stats().ackedThrough, 100, 'the removed seqs do not hold the cursor');
  await spool.close();
});

t.test('group commit: concurrent appends share commits; lone appends wait groupCommitMs', async (t) => {
  const dir = tempDir();
  const rec = recorder();
  const spool = await AccountingSpool.open(options(dir, { groupCommitMs: 5 }), rec);
  await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append('nas1', packet(i))));
  t.ok(rec.commits.length < 20, `${rec.commits.length} commits for 200 records`);
  t.equal(rec.commits.reduce((a, b) => a + b, 0), 200);
  // Let the commit chain end, so the next append starts an idle period.
  await new Promise((r) => setTimeout(r, 20));
  const started = performance.now();
  await spool.append('nas1', packet(0));
  t.ok(performance.now() - started >= 4, 'the first record of an idle period waits for company');
  await spool.close();
});

t.test('options are checked', async (t) => {
  const dir = tempDir();
  await t.rejects(AccountingSpool.open(options(dir, { segmentBytes: 4096, maxBytes: 6000 }), recorder()), { code: 'AAA_ERR_SPOOL_OPTIONS' });
  t.ok((await AccountingSpool.open(options(dir, { segmentBytes: 100 }), recorder()).catch((e: unknown) => e)) instanceof SpoolError);
  const spool = await AccountingSpool.open(options(dir), recorder());
  await t.rejects(spool.append('nas1', Buffer.alloc(70000)), { code: 'AAA_ERR_SPOOL_RECORD_TOO_LONG' });
  await spool.close();
});

t.test('preallocation: a rotation takes the zero-filled spare; zeros after the last record are free space, not damage', async (t) => {
  const dir = tempDir();
  const segmentBytes = 8192;
  const opts = options(dir, { segmentBytes });
  const perSeg = Math.floor(segmentBytes / FRAME);
  let spool = await AccountingSpool.open(opts, recorder());
  const spare = join(dir, 'spare.tmp');
  await until(() => existsSync(spare) && statSync(spare).size === segmentBytes);
  await new Promise((r) => setTimeout(r, 50)); // its fdatasync
  for (let i = 1; i <= perSeg + 3; i++) await spool.append('nas1', packet(i));
  const names = segments(dir);
  t.equal(names.length, 2, 'one rotation');
  t.equal(statSync(join(dir, names[1]!)).size, segmentBytes, 'the new segment is the preallocated spare');
  await until(() => existsSync(spare) && statSync(spare).size === segmentBytes);
  await spool.close();

  const rec = recorder();
  spool = await AccountingSpool.open(opts, rec);
  t.same(rec.corrupted, [], 'no damage reported');
  t.same(rec.torn, [], 'nothing cut off');
  t.same((await readAll(spool)).map((e) => e.seq), Array.from({ length: perSeg + 3 }, (_, i) => i + 1));
  t.equal(statSync(join(dir, names[1]!)).size, segmentBytes, 'the free space stays');
  t.equal((await spool.append('nas1', packet(0))).seq, perSeg + 4, 'appends go on after the last record');
  await spool.close();
  spool = await AccountingSpool.open(opts, recorder());
  t.equal((await readAll(spool)).length, perSeg + 4, 'the record written into the free space is found after a restart');
  await spool.close();
});

t.test('preallocation: a torn record inside preallocated space is cut off', async (t) => {
  const dir = tempDir();
  const segmentBytes = 8192;
  const opts = options(dir, { segmentBytes });
  const perSeg = Math.floor(segmentBytes / FRAME);
  let spool = await AccountingSpool.open(opts, recorder());
  await until(() => existsSync(join(dir, 'spare.tmp')) && statSync(join(dir, 'spare.tmp')).size === segmentBytes);
  await new Promise((r) => setTimeout(r, 50));
  for (let i = 1; i <= perSeg + 2; i++) await spool.append('nas1', packet(i));
  await spool.close();
  const last = join(dir, segments(dir)[1]!);
  t.equal(statSync(last).size, segmentBytes);
  // A crash tore the third record of the new segment: half a frame, then the zeros.
  const third = readFileSync(last).subarray(FRAME, 2 * FRAME);
  const torn = Buffer.from(readFileSync(last));
  third.subarray(0, FRAME >> 1).copy(torn, 2 * FRAME);
  writeFileSync(last, torn);

  const rec = recorder();
  spool = await AccountingSpool.open(opts, rec);
  t.same(rec.torn, [[segments(dir)[1], 2 * FRAME, segmentBytes - 2 * FRAME]], 'the torn record is cut off');
  t.same(rec.corrupted, []);
  t.equal((await readAll(spool)).length, perSeg + 2, 'every complete record is there');
  await spool.close();
});

/**
 * A real write failure: the child runs under a file-size limit (ulimit -f, SIGXFSZ handled),
 * so a commit that would pass it gets EFBIG. Records go in 40 at a time, one batch per
 * event-loop turn, so several commits are in flight when the limit is hit. Written through
 * node:fs, and through the native committer, which also sends each record's reply (to a
 * socket in the child): exactly the acknowledged records may get one.
 */
for (const writer of ['node:fs', 'native committer'] as const) {
  const native = writer === 'native committer';
  t.test(`a failed write (EFBIG) rejects its commit and every later one in flight; nothing acknowledged is lost (${writer})`, { skip: native && !loadUdpBatchAddon().addon && 'addon not built' }, async (t) => {
    const dir = tempDir();
    const moduleUrl = (path: string) => JSON.stringify(new URL(`../../../src/${path}`, import.meta.url).href);
    const script = `
      // Node resets inherited signal dispositions: handled, SIGXFSZ leaves the write with EFBIG.
      process.on('SIGXFSZ', () => {});
      const { AccountingSpool } = await import(${moduleUrl('accounting/spool.js')});
      let committer, reply = () => undefined, replies = [];
      if (${native}) {
        const { BatchedUdpEndpoint, loadUdpBatchAddon } = await import(${moduleUrl('transport/batched-udp.js')});
        const { DurableCommitter } = await import(${moduleUrl('transport/durable-commit.js')});
        const { createSocket } = await import('node:dgram');
        const addon = loadUdpBatchAddon().addon;
        committer = new DurableCommitter(addon);
        const ep = new BatchedUdpEndpoint(addon, { address: '127.0.0.1', port: 0, receiveBufferBytes: 1 << 20 }, () => {}, () => {});
        await ep.start();
        const nas = createSocket('udp4');
        nas.on('message', (m) => replies.push(Number(m.toString())));
        await new Promise((r) => nas.bind(0, '127.0.0.1', r));
        nas.setRecvBufferSize(4 << 20);
        reply = (n) => ep.commitReply(Buffer.from(String(n)), { address: '127.0.0.1', port: nas.address().port });
      }
      const spool = await AccountingSpool.open(
        { dir: process.argv[1], maxBytes: 1 << 24, segmentBytes: 1 << 22, groupCommitMs: 0, cursorFlushMs: 10, committer },
        { committed() {}, corrupt() {} });
      const settled = [];
      for (let turn = 0; turn < 25; turn++) {
        for (let k = 0; k < 40; k++) {
          const n = turn * 40 + k;
          const p = Buffer.alloc(100, 0x2e);
          p.write('acct-' + String(n).padStart(6, '0'));
          settled.push(spool.append('nas1', p, reply(n)).then((e) => ({ n, seq: e.seq }), (err) => ({ n, code: err.code })));
        }
        await new Promise((r) => setImmediate(r));
      }
      const results = await Promise.all(settled);
      await new Promise((r) => setTimeout(r, 300));
      process.stdout.write(JSON.stringify({ results, replies }));
      await spool.close();
      process.exit(0);
    `;
    // ulimit -f counts 1024-octet blocks: 48 KiB hold some 300 records of the 1000.
    const child = spawn('bash', ['-c', `ulimit -f 48; exec "$0" --input-type=module -e "$1" "$2"`, process.execPath, script, dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.equal(code, 0, 'the child ran to the end');
    const { results, replies } = JSON.parse(out) as { results: { n: number; seq?: number; code?: string }[]; replies: number[] };
    const acked = results.filter((r) => r.seq !== undefined);
    const failed = results.filter((r) => r.code !== undefined);
    t.ok(acked.length > 100 && failed.length > 100, `${acked.length} acknowledged, ${failed.length} refused`);
    t.same([...new Set(failed.map((r) => r.code))], ['EFBIG'], 'refused with the write error');
    // A commit in flight behind the failed one holds later seqs: had it been acknowledged, the
    // failed commit's seqs (given back and assigned again) would leave a gap or a repeat here.
    // Records appended after the failed commits were cut off may be acknowledged: the next
    // commit starts at the cut and succeeds when it fits under the limit.
    t.same(
      acked.map((r) => r.seq),
      acked.map((_, i) => i + 1),
      'acknowledged seqs are 1..N in append order with no gap: a failed commit and those in flight behind it gave their seqs back',
    );
    if (native) {
      t.same(
        replies.sort((a, b) => a - b),
        acked.map((r) => r.n),
        'the committer sent a reply for every acknowledged record and for no refused one',
      );
    }

    const rec = recorder();
    const spool = await AccountingSpool.open(options(dir, { segmentBytes: 1 << 22, maxBytes: 1 << 24 }), rec);
    const got = await readAll(spool);
    t.same(
      got.map((e) => e.packet.subarray(0, 11).toString()),
      acked.map((r) => `acct-${String(r.n).padStart(6, '0')}`),
      'after a restart without the limit, exactly the acknowledged records are there, in order',
    );
    t.same(rec.corrupted, [], 'the failed writes were cut off: no damage left behind');
    t.same(rec.torn, []);
    await spool.close();
  });
}
