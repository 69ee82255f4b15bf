/**
 * Reload through the real daemon: SIGHUP applies a changed users file and config; a broken
 * file is refused with file:line:key in the log, and the old config keeps serving.
 */
import { readFile, writeFile } from 'node:fs/promises';
import t from 'tap';
import { hash, radclient, startDaemon } from '../helpers/daemon.js';

const ivan = `  ivan:\n    password_hash: ${await hash('ivan-pass')}\n`;
const d = await startDaemon(t, { users: `users:\n${ivan}` });
const goodConfig = await readFile(d.configPath, 'utf8');

const login = async (user: string, password: string, secret = d.secret) =>
  (await radclient({ port: d.authPort, secret, type: 'auth', attrs: `User-Name = ${user}, User-Password = "${password}", Message-Authenticator = 0x00` })).code;
const reloads = (result: 'ok' | 'failed') => d.metric('aaaproxy_config_reloads_total', { result });

t.test('a user added to the users file is accepted after SIGHUP', async (t) => {
  t.equal(await login('judy', 'judy-pass'), 'Access-Reject', 'judy unknown at first');
  await writeFile(d.usersPath, `users:\n${ivan}  judy:\n    password_hash: ${await hash('judy-pass')}\n    reply: { Reply-Message: new here }\n`);
  const line = await d.reload();
  t.equal(line.msg, 'config reloaded');
  t.equal(line.users, 2, 'two users now');
  const r = await radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: 'User-Name = judy, User-Password = "judy-pass"' });
  t.equal(r.code, 'Access-Accept', 'judy accepted', { stdout: r.stdout });
  t.equal(r.replyAttrs['Reply-Message'], 'new here');
  t.equal(await login('ivan', 'ivan-pass'), 'Access-Accept', 'ivan still accepted');
  t.equal(await reloads('ok'), 1);
  t.equal(await reloads('failed'), 0);
});

t.test('a broken config is refused with file:line and the old config keeps serving', async (t) => {
  const lines = goodConfig.split('\n');
  const at = lines.findIndex((l) => l.includes('type: auth'));
  lines[at] = '  - { type: auth, address: 127.0.0.1, port: "abc" }';
  await writeFile(d.configPath, lines.join('\n'));

  const line = await d.reload();
  t.match(line.msg, /^reload refused: /);
  t.equal(line.file, d.configPath, 'names the file');
  t.equal(line.line, at + 1, `names line ${at + 1}`);
  t.equal(line.path, 'listeners[0].port', 'names the key path');
  t.match(line.msg, `${d.configPath}:${at + 1}:`, 'the message reads file:line:');
  t.equal(line.level, 50, 'logged at error level');
  t.equal(await reloads('failed'), 1, 'aaaproxy_config_reloads_total{result="failed"} 1');
  t.equal(await reloads('ok'), 1);

  t.equal(await login('judy', 'judy-pass'), 'Access-Accept', 'still serving with the old config and users');
  t.equal((await d.admin('GET', '/readyz')).status, 200, 'still ready');

  // The admin endpoint reports the same refusal to the CLI.
  const res = await d.admin('POST', '/reload');
  t.equal(res.status, 422);
  const body = JSON.parse(res.body) as { ok: boolean; errors: { file: string; line: number; key: string }[] };
  t.equal(body.ok, false);
  t.match(body.errors[0], { file: d.configPath, line: at + 1, key: 'listeners[0].port' });
  t.equal(await reloads('failed'), 2);
});

t.test('a broken users file is refused too; nothing is half-applied', async (t) => {
  await writeFile(d.configPath, goodConfig);
  await writeFile(d.usersPath, `users:\n${ivan}  kate:\n    password_hash: ${await hash('kate-pass')}\n    reply:\n      No-Such-Attribute: 1\n`);
  const line = await d.reload();
  t.match(line.msg, /^reload refused: /);
  t.equal(line.file, d.usersPath, 'names the users file');
  t.equal(line.line, 7, 'names the line of the bad reply attribute');
  t.equal(line.path, 'users.kate.reply.No-Such-Attribute', 'names the key path');
  t.equal(await login('kate', 'kate-pass'), 'Access-Reject', 'kate not loaded');
  t.equal(await login('judy', 'judy-pass'), 'Access-Accept', 'judy (old users) still there');
  t.equal(await reloads('failed'), 3);
});

t.test('a valid change after a refusal applies (new secret)', async (t) => {
  await writeFile(d.usersPath, `users:\n${ivan}`);
  await writeFile(d.configPath, goodConfig.replace(JSON.stringify(d.secret), JSON.stringify('rotated-secret')));
  const line = await d.reload();
  t.equal(line.msg, 'config reloaded');
  t.equal(await login('ivan', 'ivan-pass', 'rotated-secret'), 'Access-Accept', 'the new secret works');
  t.equal(await login('judy', 'judy-pass', 'rotated-secret'), 'Access-Reject', 'judy removed');
  t.equal(await reloads('ok'), 2);
  t.equal(await d.stop(), 0);
});
