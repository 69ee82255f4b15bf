import t from 'tap';
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccountingLog } from '../../../src/accounting/accounting-log.js';

function tempPath(): string {
  const base = mkdtempSync(join(tmpdir(), 'aaaproxy-acct-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  return join(base, 'sub', 'accounting.jsonl');
}

t.test('records are on disk when append resolves; concurrent appends share fsyncs', async (t) => {
  const path = tempPath();
  const commits: number[] = [];
  const log = new AccountingLog({ path, groupCommitMs: 5, maxBytes: 1 << 20, keep: 3 }, { committed: (n) => commits.push(n) });
  await log.open();
  await Promise.all(Array.from({ length: 100 }, (_, i) => log.append({ i })));
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number });
  t.equal(lines.length, 100);
  t.same(lines.map((l) => l.i), Array.from({ length: 100 }, (_, i) => i), 'in arrival order');
  t.ok(commits.length < 100, `${commits.length} commits for 100 records`);
  t.equal(commits.reduce((a, b) => a + b, 0), 100);
  await log.close();
  await log.close();
  await t.rejects(log.append({ late: true }), /closed/);
});

t.test('rotation keeps the configured number of files', async (t) => {
  const path = tempPath();
  const log = new AccountingLog({ path, groupCommitMs: 0, maxBytes: 1024, keep: 2 }, { committed: () => {} });
  await log.open();
  for (let i = 0; i < 40; i++) await log.append({ i, pad: 'x'.repeat(100) });
  await log.close();
  t.ok(existsSync(`${path}.1`));
  t.ok(existsSync(`${path}.2`));
  t.notOk(existsSync(`${path}.3`));
  const current = readFileSync(path, 'utf8').trim().split('\n');
  t.equal(JSON.parse(current.at(-1)!).i, 39, 'the newest record is in the current file');
  t.ok(readFileSync(path).length <= 1024);
});

t.test('reopening appends rather than truncating', async (t) => {
  const path = tempPath();
  for (const i of [1, 2]) {
    const log = new AccountingLog({ path, groupCommitMs: 0, maxBytes: 1 << 20, keep: 1 }, { committed: () => {} });
    await log.open();
    await log.append({ i });
    await log.close();
  }
  t.equal(readFileSync(path, 'utf8').trim().split('\n').length, 2);
});
