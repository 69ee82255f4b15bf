// Micro-benchmark of the accounting spool (run by hand after `npm run build`):
//   node scripts/bench/spool.mjs [seconds=3] [window=64] [dir=<temp dir>]
// A closed loop of `window` appends in flight, each a 200-octet packet, for `seconds`:
//   1. reference: the accounting JSON-lines log (same group commit, same window);
//   2. spool, appends only;
//   3. spool with a forwarder that reads and acks as it goes (cursor writes, segment deletes).
// Prints appends/s (and the ratio to the reference), records per commit, commit time, latency.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountingLog } from '../../dist/src/accounting/accounting-log.js';
import { AccountingSpool } from '../../dist/src/accounting/spool.js';

const seconds = Number(process.argv[2] ?? 3);
const window = Number(process.argv[3] ?? 64);
const base = process.argv[4] ?? mkdtempSync(join(tmpdir(), 'aaaproxy-spool-bench-'));
const groupCommitMs = 0; // the config default (accounting group_commit_ms)
const packet = Buffer.alloc(200, 0x41);

function observer() {
  const o = { commits: 0, records: 0, seconds: 0 };
  return { o, committed: (n, s) => ((o.commits += 1), (o.records += n), (o.seconds += s)), corrupt: () => {} };
}

async function closedLoop(append) {
  const latencies = [];
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await append();
      latencies.push(performance.now() - t0);
      done++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: window }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2);
  return { rate: done / elapsed, p50: q(0.5), p99: q(0.99) };
}

function line(name, r, o, ref) {
  const ratio = ref ? ` (${(r.rate / ref).toFixed(2)}x reference)` : '';
  console.log(
    `${name.padEnd(26)} ${Math.round(r.rate).toString().padStart(7)} appends/s${ratio}; ` +
      `${(o.records / o.commits).toFixed(1)} records/commit, commit ${((o.seconds / o.commits) * 1000).toFixed(2)} ms; ` +
      `latency p50 ${r.p50} ms p99 ${r.p99} ms`,
  );
}

console.log(`window ${window}, ${seconds} s each, group commit ${groupCommitMs} ms, packet ${packet.length} octets, dir ${base}`);

// 1. Reference: the JSON-lines accounting log.
{
  const obs = observer();
  const log = new AccountingLog({ path: join(base, 'ref', 'accounting.jsonl'), groupCommitMs, maxBytes: 1 << 30, keep: 1 }, obs);
  await log.open();
  const record = { time: new Date().toISOString(), client: 'nas1', packet: packet.toString('hex') };
  var ref = await closedLoop(() => log.append(record));
  await log.close();
  line('reference accounting log', ref, obs.o);
}

// 2. Spool, appends only.
{
  const obs = observer();
  const spool = await AccountingSpool.open({ dir: join(base, 'spool1'), maxBytes: 1 << 30, segmentBytes: 16 << 20, groupCommitMs }, obs);
  const r = await closedLoop(() => spool.append('nas1', packet));
  line('spool append', r, obs.o, ref.rate);
  const st = spool.stats();
  console.log(`  pending ${st.pending}, ${(st.bytes / 1048576).toFixed(1)} MiB in segments`);
  await spool.close();
  const t0 = performance.now();
  const again = await AccountingSpool.open({ dir: join(base, 'spool1'), maxBytes: 1 << 30, segmentBytes: 16 << 20, groupCommitMs }, observer());
  const recoverMs = performance.now() - t0;
  const t1 = performance.now();
  let after = 0;
  let n = 0;
  for (;;) {
    const es = await again.read(after, 256);
    if (es.length === 0) break;
    n += es.length;
    after = es[es.length - 1].seq;
  }
  const readS = (performance.now() - t1) / 1000;
  console.log(`  reopen (recovery scan) ${recoverMs.toFixed(0)} ms; read all ${n} from disk: ${Math.round(n / readS)} records/s`);
  await again.close();
}

// 3. Spool with a forwarder that keeps up: read + ack in a loop.
{
  const obs = observer();
  const spool = await AccountingSpool.open({ dir: join(base, 'spool2'), maxBytes: 1 << 30, segmentBytes: 4 << 20, groupCommitMs }, obs);
  let stop = false;
  let after = 0;
  const forwarder = (async () => {
    while (!stop) {
      await spool.waitForData(after);
      const es = await spool.read(after, 256);
      for (const e of es) spool.ack(e.seq);
      if (es.length) after = es[es.length - 1].seq;
    }
  })();
  const r = await closedLoop(() => spool.append('nas1', packet));
  stop = true;
  await spool.close();
  await forwarder;
  line('spool append + forwarder', r, obs.o, ref.rate);
  const st = spool.stats();
  console.log(`  delivered ${st.delivered} of ${st.appended}`);
}

if (!process.argv[4]) rmSync(base, { recursive: true, force: true });
