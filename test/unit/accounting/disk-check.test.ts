/** The durable-write timer behind `aaaproxy check-disk` and the benchmark's disk lines. */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { checkDurableWrites, formatDiskCheck } from '../../../src/accounting/disk-check.js';

t.test('times the writes it was asked for and leaves nothing behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-disk-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = checkDurableWrites(dir, 30, 0);
  t.equal(r.writes, 30);
  t.ok(r.p50 > 0, 'a durable write takes some time');
  t.ok(r.p50 <= r.p99 && r.p99 <= r.p999 && r.p999 <= r.max, `percentiles in order: ${JSON.stringify(r)}`);
  t.same(readdirSync(dir), [], 'the scratch file is removed');
  t.match(formatDiskCheck(dir, r), new RegExp(`^durable 8 KiB writes \\(O_DSYNC\\) in ${dir}: p50 \\d+\\.\\d\\d ms, p99 \\d+\\.\\d\\d ms, p99\\.9 \\d+\\.\\d\\d ms, max \\d+\\.\\d\\d ms \\(30 writes\\)$`));
});

t.test("a directory it cannot write in is the file system's error", async (t) => {
  t.throws(() => checkDurableWrites(join(tmpdir(), `aaaproxy-no-such-dir-${process.pid}`), 5, 0), { code: 'ENOENT' });
});

t.test('the number of writes must be a positive integer', async (t) => {
  t.throws(() => checkDurableWrites(tmpdir(), 0, 0), RangeError);
  t.throws(() => checkDurableWrites(tmpdir(), 2.5, 0), RangeError);
});
