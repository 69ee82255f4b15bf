// Opens a stopped daemon's accounting spool and prints what is still undelivered, as
// KEY=VALUE lines (pending, bytes, last_seq, acked_through, corrupt, truncated).
//   node scripts/bench/spool-state.mjs SPOOL_DIR
// Used by bench.sh --peers after the harness stopped aaaproxy for the last time. Opening runs
// the spool's crash recovery (it may cut a torn tail), so use it only on a bench spool.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: spool-state.mjs SPOOL_DIR\n');
  process.exit(2);
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const { AccountingSpool } = await import(join(root, 'dist/src/accounting/spool.js'));
let corrupt = 0;
let truncated = 0;
const spool = await AccountingSpool.open(
  { dir, maxBytes: 1 << 30, segmentBytes: 16 << 20, groupCommitMs: 2 },
  { committed: () => {}, corrupt: () => (corrupt += 1), truncated: () => (truncated += 1) },
);
const st = spool.stats();
await spool.close();
process.stdout.write(
  `pending=${st.pending}\nbytes=${st.bytes}\nlast_seq=${st.lastSeq}\nacked_through=${st.ackedThrough}\ncorrupt=${corrupt}\ntruncated=${truncated}\n`,
);
