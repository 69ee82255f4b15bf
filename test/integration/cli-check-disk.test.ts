/**
 * `aaaproxy check-disk`: the directories it takes from a config (the spool's, or before the
 * daemon made it the one it will be made in, and the accounting log's), --dir, and its errors.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import t from 'tap';
import { aaaproxyCli, configYaml, writeConfigFiles } from '../helpers/daemon.js';

t.setTimeout(60_000);

const LINE = /^durable 8 KiB writes \(O_DSYNC\) in (.+): p50 \d+\.\d\d ms, p99 \d+\.\d\d ms, p99\.9 \d+\.\d\d ms, max \d+\.\d\d ms \(20 writes\)$/;

function measuredDirs(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => LINE.exec(line)?.[1] ?? `unexpected line: ${line}`);
}

t.test('from a config: the spool directory and the accounting log directory', async (t) => {
  const path = await writeConfigFiles(t, configYaml({ spool: 'dir: spool' }), 'users: {}\n');
  const base = dirname(path);
  const before = await aaaproxyCli(['check-disk', '-c', path, '--writes', '20']);
  t.equal(before.code, 0, 'exit 0', { stderr: before.stderr });
  t.same(measuredDirs(before.stdout), [base], 'no spool directory yet: the one it will be made in, which is also the log directory');

  await mkdir(join(base, 'spool'));
  const after = await aaaproxyCli(['check-disk', '-c', path, '--writes', '20']);
  t.equal(after.code, 0, 'exit 0', { stderr: after.stderr });
  t.same(measuredDirs(after.stdout), [join(base, 'spool'), base], 'the spool directory, then the log directory');
});

t.test('--dir, and the errors', async (t) => {
  const path = await writeConfigFiles(t, configYaml({}), 'users: {}\n');
  const dir = dirname(path);
  const [given, missing, badCount, badConfig] = await Promise.all([
    aaaproxyCli(['check-disk', '--dir', dir, '--writes', '20']),
    aaaproxyCli(['check-disk', '--dir', join(dir, 'absent'), '--writes', '20']),
    aaaproxyCli(['check-disk', '--dir', dir, '--writes', 'many']),
    aaaproxyCli(['check-disk', '-c', join(dir, 'absent.yaml')]),
  ]);
  t.equal(given.code, 0, '--dir: exit 0', { stderr: given.stderr });
  t.same(measuredDirs(given.stdout), [dir]);
  t.equal(missing.code, 1, 'a directory that does not exist: exit 1');
  t.equal(missing.stderr, `aaaproxy check-disk: cannot write in ${join(dir, 'absent')}: ENOENT\n`);
  t.equal(badCount.code, 2, 'a count that is not a number: usage error');
  t.match(badCount.stderr, "--writes must be a whole number from 1 to 1000000, not 'many'");
  t.equal(badConfig.code, 1, 'a config that cannot be read: exit 1');
  t.match(badConfig.stderr, 'absent.yaml');
});
