/**
 * `aaaproxy check-config` against real files: exit status 0/1, file:line:key messages, and
 * the demo-account guard (demo users only behind loopback listeners), which `run` enforces too.
 */
import t from 'tap';
import { aaaproxyCli, configYaml, hash, writeConfigFiles } from '../helpers/daemon.js';

// The two subtests share nothing: run them side by side (tap runs files one at a time on 2 cores).
t.jobs = 2;
// Every CLI call is a fresh node process (about 0.5 s of CPU); on a loaded 2-core machine this
// file can pass tap's default 30 s, while each step is bounded on its own (10 s per command).
t.setTimeout(90_000);

t.test('check-config', async (t) => {
  const users = `users:\n  nina:\n    password_hash: ${await hash('nina-pass')}\n`;
  const good = configYaml({});
  const goodPath = await writeConfigFiles(t, good, users);
  const lines = good.split('\n');
  const at = lines.findIndex((l) => l.startsWith('  port: '));
  t.ok(at > 0 && lines[at - 1] === '  address: 127.0.0.1', 'found the admin port line');
  lines[at] = '  port: "abc"';
  const badPath = await writeConfigFiles(t, lines.join('\n'), users);
  const unknownKeyPath = await writeConfigFiles(t, good.replace('local_users:', 'local_userz: {}\nlocal_users:'), users);

  const [ok, bad, unknownKey] = await Promise.all([
    aaaproxyCli(['check-config', '-c', goodPath]),
    aaaproxyCli(['check-config', '-c', badPath]),
    aaaproxyCli(['check-config', '-c', unknownKeyPath]),
  ]);
  t.equal(ok.code, 0, 'valid file: exit 0', { stderr: ok.stderr });
  t.match(ok.stdout, `${goodPath}: ok (2 listeners, 1 clients, 1 local users`);

  t.equal(bad.code, 1, 'port: "abc": exit 1');
  t.match(bad.stderr, `${badPath}:${at + 1}:`, `stderr names ${badPath}:${at + 1}:`);
  t.match(bad.stderr, 'admin.port', 'and the key path');
  t.match(bad.stderr, `${badPath}: invalid (1 problem)`);

  t.equal(unknownKey.code, 1, 'unknown key: exit 1');
  t.match(unknownKey.stderr, /local_userz.*unknown key/);
});

t.test('demo guard: a demo user with a non-loopback listener is refused', async (t) => {
  const demoUsers = `users:\n  demo:\n    password_hash: ${await hash('demo-pass')}\n    demo: true\n`;
  const exposed = await writeConfigFiles(t, configYaml({ listenAddress: '0.0.0.0' }), demoUsers);
  const loopbackOnly = await writeConfigFiles(t, configYaml({}), demoUsers);
  const disabledDemo = await writeConfigFiles(t, configYaml({ listenAddress: '0.0.0.0' }), demoUsers.replace('demo: true', 'demo: true\n    enabled: false'));

  const [check, run, loop, disabled] = await Promise.all([
    aaaproxyCli(['check-config', '-c', exposed]),
    aaaproxyCli(['run', '-c', exposed]),
    aaaproxyCli(['check-config', '-c', loopbackOnly]),
    aaaproxyCli(['check-config', '-c', disabledDemo]),
  ]);
  t.equal(check.code, 1, 'check-config exits 1');
  t.match(check.stderr, `${exposed}:3:28: listeners[0].address`, "names the first listener's line and column");
  t.match(check.stderr, 'listeners[0].address', 'names the first listener');
  t.match(check.stderr, 'listeners[1].address', 'and the second');
  t.match(check.stderr, /listener 0\.0\.0\.0 is not loopback while demo user\(s\) demo are enabled/);
  t.equal(run.code, 1, 'run refuses to start');
  t.match(run.stderr, 'AAA_ERR_CONFIG_INVALID');
  t.match(run.stderr, 'listeners[0].address');
  t.equal(loop.code, 0, 'the same users on loopback listeners are fine', { stderr: loop.stderr });
  t.equal(disabled.code, 0, 'a disabled demo user does not count', { stderr: disabled.stderr });
});
