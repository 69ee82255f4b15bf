/**
 * PAP and CHAP against local users through the real daemon, driven by radclient: accepts
 * carry the user's reply attributes, and every Access-Accept/Reject carries
 * Message-Authenticator (BlastRADIUS). Proxy-State is echoed; Status-Server is answered.
 */
import t from 'tap';
import { hash, radclient, startDaemon, type Asserts, type RadclientResult } from '../helpers/daemon.js';

const MAC = /^0x[0-9a-f]{32}$/;

const d = await startDaemon(t, {
  users: `users:
  alice:
    password_hash: ${await hash('alice-pass')}
    reply:
      Reply-Message: Hello alice
      Session-Timeout: 1800
  carol:
    password: carol-chap
    allow_cleartext: true
    reply:
      Reply-Message: Hello carol
  hashonly:
    password_hash: ${await hash('hash-pass')}
  disabled:
    password_hash: ${await hash('disabled-pass')}
    enabled: false
`,
});

const auth = (attrs: string) => radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs });

function hasMessageAuthenticator(t: Asserts, r: RadclientResult): void {
  t.match(r.replyAttrs['Message-Authenticator'], MAC, `${r.code} carries Message-Authenticator`, { stdout: r.stdout });
  t.equal(r.replyList[0]?.[0], 'Message-Authenticator', 'Message-Authenticator is the first attribute', { stdout: r.stdout });
}

t.test('a users file with cleartext passwords is warned about, naming the users', async (t) => {
  const warning = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('users file stores cleartext passwords'), 3000);
  t.same(warning['users'], ['carol']);
  t.notMatch(JSON.stringify(warning), /carol-chap/, 'the password itself is not logged');
});

t.test('PAP accept returns the reply attributes from the users file', async (t) => {
  const r = await auth('User-Name = alice, User-Password = "alice-pass"');
  t.equal(r.code, 'Access-Accept', 'Access-Accept', { stdout: r.stdout });
  t.equal(r.replyAttrs['Reply-Message'], 'Hello alice');
  t.equal(r.replyAttrs['Session-Timeout'], '1800');
  hasMessageAuthenticator(t, r);
  // The second login hits the verified-password cache; same answer.
  const again = await auth('User-Name = alice, User-Password = "alice-pass"');
  t.equal(again.code, 'Access-Accept');
});

t.test('PAP reject: wrong password, unknown user, disabled user', async (t) => {
  const [wrong, unknown, disabled] = await Promise.all([
    auth('User-Name = alice, User-Password = "not-her-password"'),
    auth('User-Name = nobody, User-Password = "whatever"'),
    auth('User-Name = disabled, User-Password = "disabled-pass"'),
  ]);
  for (const r of [wrong, unknown, disabled]) {
    t.equal(r.code, 'Access-Reject', 'Access-Reject', { stdout: r.stdout });
    t.notOk(r.replyAttrs['Reply-Message'], 'a reject carries no reply attributes of the user');
    hasMessageAuthenticator(t, r);
  }
  // Log lines may trail the reply (pino writes asynchronously): wait for each.
  for (const [user, reason] of [['alice', 'wrong_password'], ['nobody', 'unknown_user'], ['disabled', 'user_disabled']]) {
    const line = await d.waitForLog((l) => l.msg === 'access rejected' && l.user === user && l.reason === reason);
    t.equal(line.client, 'loopback', `reject of ${user} logged with reason ${reason}`);
  }
  t.notMatch(JSON.stringify(d.logs), /not-her-password|disabled-pass/, 'no password in the logs');
  // A correct login clears alice's failure count, so later tests start clean.
  t.equal((await auth('User-Name = alice, User-Password = "alice-pass"')).code, 'Access-Accept');
});

t.test('CHAP accept with a cleartext user', async (t) => {
  const r = await auth('User-Name = carol, CHAP-Password = "carol-chap"');
  t.equal(r.code, 'Access-Accept', 'Access-Accept', { stdout: r.stdout });
  t.equal(r.replyAttrs['Reply-Message'], 'Hello carol');
  hasMessageAuthenticator(t, r);
});

t.test('CHAP reject: wrong password, and a user with only a hash', async (t) => {
  const [wrong, hashOnly] = await Promise.all([
    auth('User-Name = carol, CHAP-Password = "not-carol"'),
    auth('User-Name = hashonly, CHAP-Password = "hash-pass"'),
  ]);
  t.equal(wrong.code, 'Access-Reject', 'Access-Reject', { stdout: wrong.stdout });
  hasMessageAuthenticator(t, wrong);
  t.equal(hashOnly.code, 'Access-Reject', 'Access-Reject', { stdout: hashOnly.stdout });
  hasMessageAuthenticator(t, hashOnly);
  await d.waitForLog((l) => l.msg === 'access rejected' && l.user === 'hashonly' && l.reason === 'chap_needs_cleartext_password');
  t.equal((await auth('User-Name = carol, CHAP-Password = "carol-chap"')).code, 'Access-Accept');
});

t.test('Proxy-State is echoed unchanged and in order', async (t) => {
  const r = await auth('User-Name = alice, User-Password = "alice-pass", Proxy-State = 0x0102030405, Proxy-State = 0xdeadbeef');
  t.equal(r.code, 'Access-Accept', 'Access-Accept', { stdout: r.stdout });
  t.same(
    r.replyList.filter(([n]) => n === 'Proxy-State').map(([, v]) => v),
    ['0x0102030405', '0xdeadbeef'],
  );
  const rej = await auth('User-Name = nobody, User-Password = "x", Proxy-State = 0xcafe');
  t.equal(rej.code, 'Access-Reject');
  t.same(rej.replyList.filter(([n]) => n === 'Proxy-State').map(([, v]) => v), ['0xcafe']);
});

t.test('Status-Server: Access-Accept on the auth port, Accounting-Response on the acct port', async (t) => {
  const [onAuth, onAcct] = await Promise.all([
    radclient({ port: d.authPort, secret: d.secret, type: 'status', attrs: 'Message-Authenticator = 0x00' }),
    radclient({ port: d.acctPort, secret: d.secret, type: 'status', attrs: 'Message-Authenticator = 0x00' }),
  ]);
  t.equal(onAuth.code, 'Access-Accept', 'Access-Accept', { stdout: onAuth.stdout });
  t.match(onAuth.replyAttrs['Message-Authenticator'], MAC);
  t.equal(onAcct.code, 'Accounting-Response', 'Accounting-Response', { stdout: onAcct.stdout });
  t.match(onAcct.replyAttrs['Message-Authenticator'], MAC, 'RFC 5997 §3: Message-Authenticator in the Status-Server answer');
});

t.test('metrics count the answers', async (t) => {
  const accepts = await d.metric('aaaproxy_requests_total', { client: 'loopback', code: 'Access-Request', result: 'accept' });
  const rejects = await d.metric('aaaproxy_requests_total', { client: 'loopback', code: 'Access-Request', result: 'reject' });
  t.ok(accepts >= 6, `accepts counted (${accepts})`);
  t.ok(rejects >= 6, `rejects counted (${rejects})`);
  t.equal(await d.stop(), 0);
});
