/**
 * BlastRADIUS hardening (FreeRADIUS 3.2.5 semantics) per client, through the real daemon and
 * radclient: Access-Requests that lack Message-Authenticator are dropped silently when the
 * client requires it, Proxy-State without Message-Authenticator is dropped under
 * limit_proxy_state, and "auto" learns from the client's first Access-Request.
 */
import t from 'tap';
import { hash, radclient, startDaemon, type RunningDaemon, type Tristate } from '../helpers/daemon.js';

const users = `users:\n  erin:\n    password_hash: ${await hash('erin-pass')}\n`;
const PAP = 'User-Name = erin, User-Password = "erin-pass"';
const WITH_MA = `${PAP}, Message-Authenticator = 0x00`;

const start = (requireMessageAuthenticator: Tristate, limitProxyState: Tristate) =>
  startDaemon(t, { users, requireMessageAuthenticator, limitProxyState });
// Four daemons, one per policy, started side by side.
const [requireYes, limitYes, autoWithMa, autoWithoutMa] = await Promise.all([
  start('yes', 'no'),
  start('no', 'yes'),
  start('auto', 'auto'),
  start('auto', 'auto'),
]);

/** An expected silence costs one radclient timeout of 1 s. */
const send = (d: RunningDaemon, attrs: string, expectTimeout = false) =>
  radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs, ...(expectTimeout ? { timeout: 1, retries: 1 } : {}) });
const dropped = (d: RunningDaemon, reason: string) => d.metric('aaaproxy_packets_dropped_total', { reason });

// The four daemons are independent: their subtests (each waiting out one timeout) run side by side.
t.jobs = 4;

t.test('require_message_authenticator: yes', async (t) => {
  const d = requireYes;
  t.equal(await dropped(d, 'missing_message_authenticator'), 0);
  const without = await send(d, PAP, true);
  t.equal(without.code, 'timeout', 'no answer without Message-Authenticator', { stdout: without.stdout });
  t.equal(await dropped(d, 'missing_message_authenticator'), 1, 'drop counted as missing_message_authenticator');
  await d.waitForLog((l) => l.msg === 'packet dropped' && l.reason === 'missing_message_authenticator' && l.client === 'loopback');

  const withMa = await send(d, WITH_MA);
  t.equal(withMa.code, 'Access-Accept', 'accepted with Message-Authenticator', { stdout: withMa.stdout });
  t.match(withMa.replyAttrs['Message-Authenticator'], /^0x[0-9a-f]{32}$/);
});

t.test('limit_proxy_state: yes', async (t) => {
  const d = limitYes;
  const ps = await send(d, `${PAP}, Proxy-State = 0x0badcafe`, true);
  t.equal(ps.code, 'timeout', 'Proxy-State without Message-Authenticator: no answer', { stdout: ps.stdout });
  t.equal(await dropped(d, 'proxy_state_without_message_authenticator'), 1);

  const [psWithMa, plain] = await Promise.all([send(d, `${WITH_MA}, Proxy-State = 0x0badcafe`), send(d, PAP)]);
  t.equal(psWithMa.code, 'Access-Accept', 'Proxy-State with Message-Authenticator is answered', { stdout: psWithMa.stdout });
  t.equal(psWithMa.replyAttrs['Proxy-State'], '0x0badcafe', 'and Proxy-State echoed');
  t.equal(plain.code, 'Access-Accept', 'no Proxy-State, no Message-Authenticator: still answered', { stdout: plain.stdout });
  t.equal(await dropped(d, 'missing_message_authenticator'), 0);
});

t.test('auto: a first Access-Request with Message-Authenticator makes it required', async (t) => {
  const d = autoWithMa;
  const first = await send(d, WITH_MA);
  t.equal(first.code, 'Access-Accept', 'first request (with MA) accepted', { stdout: first.stdout });
  const later = await send(d, PAP, true);
  t.equal(later.code, 'timeout', 'a later request without MA is dropped', { stdout: later.stdout });
  t.equal(await dropped(d, 'missing_message_authenticator'), 1);
  t.equal((await send(d, WITH_MA)).code, 'Access-Accept', 'with MA still accepted');
});

t.test('auto: a first Access-Request without MA and Proxy-State keeps MA optional but limits Proxy-State', async (t) => {
  const d = autoWithoutMa;
  const first = await send(d, PAP);
  t.equal(first.code, 'Access-Accept', 'first request (no MA) accepted', { stdout: first.stdout });
  t.equal((await send(d, PAP)).code, 'Access-Accept', 'MA stays optional for this client');
  const ps = await send(d, `${PAP}, Proxy-State = 0x01`, true);
  t.equal(ps.code, 'timeout', 'the client is a NAS: Proxy-State without MA is dropped', { stdout: ps.stdout });
  t.equal(await dropped(d, 'proxy_state_without_message_authenticator'), 1);
  t.equal(await dropped(d, 'missing_message_authenticator'), 0);
});
