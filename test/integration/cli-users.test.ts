/**
 * `aaaproxy users` editing a real users file (password on stdin) and having the running
 * daemon reload it: add, passwd, del and list, checked end to end with radclient.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { aaaproxyCli, configYaml, radclient, startDaemon, writeConfigFiles } from '../helpers/daemon.js';

// The two subtests share nothing: run them side by side (tap runs files one at a time on 2 cores).
t.jobs = 2;
// Every CLI call is a fresh node process (about 0.5 s of CPU); on a loaded 2-core machine this
// file can pass tap's default 30 s, while each step is bounded on its own (10 s per command).
t.setTimeout(90_000);

t.test('users add/passwd/del/list against a running daemon', async (t) => {
  const d = await startDaemon(t, { users: '# local users (this comment must survive edits)\nusers: {}\n' });
  const cli = await d.cliConfig();
  const users = (args: string[], stdin?: string) => aaaproxyCli(['users', ...args, '-c', cli], stdin === undefined ? {} : { stdin });
  const pap = async (user: string, password: string) =>
    radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: `User-Name = ${user}, User-Password = "${password}"` });

  const add = await users(['add', 'lena'], 'lena-pass\n');
  t.equal(add.code, 0, 'add lena', { stderr: add.stderr });
  t.match(add.stdout, `lena: added in ${d.usersPath}`);
  t.match(add.stdout, 'the running daemon reloaded');
  t.equal((await pap('lena', 'lena-pass')).code, 'Access-Accept', 'lena accepted right after add');

  const addMike = await users(['add', 'mike', '--cleartext', '--reply', 'Reply-Message=hello mike', '--reply', 'Session-Timeout=600'], 'mike-pass\n');
  t.equal(addMike.code, 0, 'add mike (cleartext, reply attributes)', { stderr: addMike.stderr });
  const chap = await radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: 'User-Name = mike, CHAP-Password = "mike-pass"' });
  t.equal(chap.code, 'Access-Accept', 'mike accepted with CHAP', { stdout: chap.stdout });
  t.same([chap.replyAttrs['Reply-Message'], chap.replyAttrs['Session-Timeout']], ['hello mike', '600']);

  const dup = await users(['add', 'lena'], 'other\n');
  t.equal(dup.code, 2, 'adding an existing user is a usage error');
  t.match(dup.stderr, 'already exists');
  // Neither of these takes the users-file lock, so they may run together.
  const [noPassword, list] = await Promise.all([users(['add', 'olga'], ''), users(['list'])]);
  t.equal(noPassword.code, 2, 'no password on stdin');
  t.match(noPassword.stderr, 'no password given on stdin');

  t.equal(list.code, 0);
  t.match(list.stdout, /^NAME\tENABLED\tPASSWORD\tREPLY\tLOCKED$/m);
  t.match(list.stdout, /^lena\tyes\tscrypt\t0\t-$/m);
  t.match(list.stdout, /^mike\tyes\tcleartext\t2\t-$/m);
  t.notMatch(list.stdout, 'lockout state unknown', 'the daemon answered');

  const passwd = await users(['passwd', 'lena'], 'lena-new-pass\n');
  t.equal(passwd.code, 0, 'passwd lena', { stderr: passwd.stderr });
  t.match(passwd.stdout, 'lena: password changed');
  const [oldPw, newPw] = await Promise.all([pap('lena', 'lena-pass'), pap('lena', 'lena-new-pass')]);
  t.equal(oldPw.code, 'Access-Reject', 'old password refused');
  t.equal(newPw.code, 'Access-Accept', 'new password accepted');

  const del = await users(['del', 'mike']);
  t.equal(del.code, 0, 'del mike', { stderr: del.stderr });
  t.equal((await pap('mike', 'mike-pass')).code, 'Access-Reject', 'mike gone');

  const text = await readFile(d.usersPath, 'utf8');
  t.match(text, '# local users (this comment must survive edits)', 'comment preserved');
  const doc = parse(text) as { users: Record<string, Record<string, unknown>> };
  t.same(Object.keys(doc.users), ['lena'], 'valid YAML with only lena left');
  t.match(doc.users['lena']!['password_hash'], /^\$scrypt\$ln=14,r=8,p=1\$/, 'stored as scrypt');
  t.notMatch(text, 'lena-new-pass', 'no cleartext for a hashed user');
  t.same((await readdir(d.dir)).filter((f) => f.startsWith('.')), [], 'no lock or temp file left behind');
  let from = 0;
  for (let i = 0; i < 4; i++) from = d.logs.indexOf(await d.waitForLog((l) => l.msg === 'config reloaded', 2000, from)) + 1;
  t.equal(d.logs.filter((l) => l.msg === 'config reloaded').length, 4, 'the daemon reloaded after each successful edit');
});

t.test('users add without a daemon, --no-reload, and list', async (t) => {
  const config = await writeConfigFiles(t, configYaml({}), 'users: {}\n');
  const add = await aaaproxyCli(['users', 'add', 'pia', '--no-reload', '-c', config], { stdin: 'pia-pass\n' });
  t.equal(add.code, 0, 'added', { stderr: add.stderr });
  t.notMatch(add.stdout, 'daemon');
  const list = await aaaproxyCli(['users', 'list', '-c', config]);
  t.equal(list.code, 0);
  t.match(list.stdout, /^pia\tyes\tscrypt\t0\t-$/m);
  t.match(list.stdout, 'lockout state unknown', 'says the daemon was not reachable');
  const users = parse(await readFile(join(config, '..', 'users.yaml'), 'utf8')) as { users: Record<string, unknown> };
  t.same(Object.keys(users.users), ['pia']);
});
