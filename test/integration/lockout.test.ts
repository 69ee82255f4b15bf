/**
 * Account lockout through the real daemon: three wrong passwords lock the account, so the
 * right one is refused; the admin endpoint and `aaaproxy users unlock` lift the lock.
 */
import t from 'tap';
import { aaaproxyCli, hash, radclient, startDaemon, type Asserts } from '../helpers/daemon.js';

const d = await startDaemon(t, {
  users: `users:\n  bob:\n    password_hash: ${await hash('bob-right')}\n    reply: { Reply-Message: welcome bob }\n`,
  lockout: { attempts: 3, minutes: 10 },
});

const login = async (password: string) =>
  (await radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: `User-Name = bob, User-Password = "${password}"` })).code;

/** Three wrong passwords, one after the other (each is a failure counted in order). */
async function lockBob(t: Pick<Asserts, 'equal'>): Promise<void> {
  for (let i = 1; i <= 3; i++) t.equal(await login(`wrong-${i}`), 'Access-Reject', `wrong password ${i} rejected`, {});
}

t.test('three wrong passwords lock the account; the right one is then refused', async (t) => {
  t.equal(await d.metric('aaaproxy_lockouts_total'), 0, 'no lockout yet');
  await lockBob(t);
  t.equal(await login('bob-right'), 'Access-Reject', 'right password refused while locked');
  await d.waitForLog((l) => l.msg === 'user locked out after repeated wrong passwords' && l.user === 'bob');
  await d.waitForLog((l) => l.msg === 'access rejected' && l.user === 'bob' && l.reason === 'locked_out');
  t.equal(await d.metric('aaaproxy_lockouts_total'), 1, 'aaaproxy_lockouts_total 1');
  t.equal(await d.metric('aaaproxy_locked_users'), 1, 'aaaproxy_locked_users 1');
  const locked = await d.admin('GET', '/users/locked');
  t.equal(locked.status, 200);
  const list = JSON.parse(locked.body) as { user: string; until: string }[];
  t.same(list.map((l) => l.user), ['bob']);
  t.ok(Date.parse(list[0]!.until) > Date.now() + 9 * 60_000, 'locked for about 10 minutes');
});

t.test('POST /users/bob/unlock lifts the lock', async (t) => {
  const res = await d.admin('POST', '/users/bob/unlock');
  t.equal(res.status, 200);
  t.same(JSON.parse(res.body), { user: 'bob', was_locked: true });
  t.equal(await login('bob-right'), 'Access-Accept', 'right password accepted after unlock');
  t.equal(await d.metric('aaaproxy_locked_users'), 0);
  const again = await d.admin('POST', '/users/bob/unlock');
  t.same(JSON.parse(again.body), { user: 'bob', was_locked: false }, 'a second unlock is a no-op');
});

t.test('aaaproxy users list / unlock against the running daemon', async (t) => {
  await lockBob(t);
  t.equal(await login('bob-right'), 'Access-Reject', 'locked again');
  t.equal(await d.metric('aaaproxy_lockouts_total'), 2, 'second lockout counted');
  const cli = await d.cliConfig();

  const list = await aaaproxyCli(['users', 'list', '-c', cli]);
  t.equal(list.code, 0, 'users list exits 0', { stderr: list.stderr });
  const bobLine = list.stdout.split('\n').find((l) => l.startsWith('bob\t'));
  t.match(bobLine, /^bob\tyes\tscrypt\t1\t\d{4}-\d\d-\d\dT/, 'list shows bob locked until a time', { stdout: list.stdout });

  const unlock = await aaaproxyCli(['users', 'unlock', 'bob', '-c', cli]);
  t.equal(unlock.code, 0, 'users unlock exits 0', { stderr: unlock.stderr });
  t.equal(unlock.stdout, 'bob: unlocked\n');
  const r = await radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: 'User-Name = bob, User-Password = "bob-right"' });
  t.equal(r.code, 'Access-Accept', 'accepted after the CLI unlock');
  t.equal(r.replyAttrs['Reply-Message'], 'welcome bob');
  t.same(JSON.parse((await d.admin('GET', '/users/locked')).body), [], 'no longer locked');
});

t.test('wrong passwords for an unknown user lock nothing', async (t) => {
  const attempts = await Promise.all(
    [1, 2, 3, 4].map((i) => radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: `User-Name = ghost, User-Password = "x${i}"` })),
  );
  t.same(attempts.map((a) => a.code), ['Access-Reject', 'Access-Reject', 'Access-Reject', 'Access-Reject']);
  t.equal(await d.metric('aaaproxy_lockouts_total'), 2, 'still two lockouts');
  t.same(JSON.parse((await d.admin('GET', '/users/locked')).body), []);
});
