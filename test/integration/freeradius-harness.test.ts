/**
 * The upstream harness on its own, without aaaproxy: a FreeRADIUS 3.2 started from a raddb
 * written at test time (test/helpers/freeradius.ts), driven by radclient and eapol_test.
 * It proves what the proxy tests will lean on: PAP/CHAP accept and reject with the users
 * file's reply items (Tunnel-Password decrypted by radclient with the secret), Proxy-State
 * echoed, accounting counted line by line, Status-Server answered, stop()/start() on the same
 * ports, pause() as a hung server, and PEAP/MSCHAPv2, TTLS/PAP and EAP-TLS with MPPE keys
 * that match the MSK eapol_test derived.
 */
import t from 'tap';
import { radclient } from '../helpers/daemon.js';
import { eapolTest } from '../helpers/eapol.js';
import { startFreeRadius, statusServer } from '../helpers/freeradius.js';

const USERS = `alice Cleartext-Password := "alice-pass"
	Reply-Message = "hi alice", Tunnel-Type = VLAN, Tunnel-Medium-Type = IEEE-802, Tunnel-Private-Group-Id = "10", Tunnel-Password = "tp-secret", Class = 0x616c696365

bob Cleartext-Password := "bob-pass"
	Reply-Message = "hi bob"
`;

const MAC = /^0x[0-9a-f]{32}$/;

// Started concurrently: each takes about half a second.
const [fr, strict] = await Promise.all([
  startFreeRadius(t, { users: USERS, name: 'plain' }),
  startFreeRadius(t, {
    users: USERS,
    name: 'strict',
    secret: 'strict-secret',
    requireMessageAuthenticator: true,
    replyMessageAuthenticator: true,
    authorize: `		if (&User-Name == "mute") {
			update control {
				&Response-Packet-Type := Do-Not-Respond
			}
			handled
		}`,
  }),
]);

const auth = (attrs: string, server = fr, timeout = 2) => radclient({ port: server.authPort, secret: server.secret, type: 'auth', attrs, timeout, retries: 1 });
const acct = (attrs: string, server = fr, timeout = 2) => radclient({ port: server.acctPort, secret: server.secret, type: 'acct', attrs, timeout, retries: 1 });

t.test('PAP and CHAP accept: reply items, Tunnel-Password, Proxy-State echoed', async (t) => {
  const [pap, chap] = await Promise.all([
    auth('User-Name = alice, User-Password = "alice-pass", Proxy-State = 0x01, Proxy-State = 0x0203'),
    auth('User-Name = bob, CHAP-Password = "bob-pass"'),
  ]);
  t.equal(pap.code, 'Access-Accept', 'PAP Access-Accept', { stdout: pap.stdout });
  t.match(pap.replyAttrs, {
    'Reply-Message': 'hi alice',
    'Tunnel-Type:0': 'VLAN',
    'Tunnel-Medium-Type:0': 'IEEE-802',
    'Tunnel-Private-Group-Id:0': '10',
    'Tunnel-Password:0': 'tp-secret', // radclient decrypted it with the secret (RFC 2868 §3.5)
    Class: '0x616c696365',
  });
  t.same(pap.replyList.filter(([n]) => n === 'Proxy-State').map(([, v]) => v), ['0x01', '0x0203'], 'both Proxy-States echoed, in order');
  t.notOk('Message-Authenticator' in pap.replyAttrs, 'FreeRADIUS 3.2.1 does not sign a PAP Access-Accept');
  t.equal(chap.code, 'Access-Accept', 'CHAP Access-Accept', { stdout: chap.stdout });
  t.equal(chap.replyAttrs['Reply-Message'], 'hi bob');

  const logged = await fr.authRecords();
  const first = logged.find((r) => r['Proxy-State-Count'] === '2');
  t.ok(first, 'the request is in auth.log');
  t.match(first, { 'User-Name': 'alice', 'Proxy-State': '0x01,0x0203', 'Message-Authenticator-Count': '0', 'Packet-Src-IP-Address': '127.0.0.1' });
});

t.test('PAP reject: wrong password and unknown user carry no reply items', async (t) => {
  const [wrong, unknown] = await Promise.all([
    auth('User-Name = alice, User-Password = "nope", Proxy-State = 0x07'),
    auth('User-Name = nobody, User-Password = "nope"'),
  ]);
  for (const r of [wrong, unknown]) t.equal(r.code, 'Access-Reject', 'Access-Reject', { stdout: r.stdout });
  t.same(wrong.replyList, [['Proxy-State', '0x07']], 'only the echoed Proxy-State');
  t.same(unknown.replyList, []);
});

t.test('accounting: every request is a line; fields parsed', async (t) => {
  const session = 'User-Name = alice, Acct-Session-Id = "sess-1", NAS-IP-Address = 192.0.2.1, Class = 0x616c696365';
  const start = await acct(`Acct-Status-Type = Start, ${session}, Proxy-State = 0x99`);
  t.equal(start.code, 'Accounting-Response', 'Start answered', { stdout: start.stdout });
  t.same(start.replyList, [['Proxy-State', '0x99']], 'Proxy-State echoed in the Accounting-Response');
  const stop = await acct(`Acct-Status-Type = Stop, ${session}, Acct-Delay-Time = 4, Acct-Session-Time = 60`);
  t.equal(stop.code, 'Accounting-Response', 'Stop answered');
  const lines = await fr.waitForAccounting(2);
  t.equal(lines.length, 2, 'two lines');
  const records = await fr.accountingRecords();
  t.match(records[0], { 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'sess-1', 'Acct-Delay-Time': '', 'User-Name': 'alice', Class: '0x616c696365', 'Proxy-State-Count': '1' });
  t.match(records[1], { 'Acct-Status-Type': 'Stop', 'Acct-Delay-Time': '4', 'Acct-Session-Time': '60', 'NAS-IP-Address': '192.0.2.1' });
});

t.test('Status-Server is answered on both ports and counted', async (t) => {
  const before = (await fr.statusLines()).length;
  const [a, b] = await Promise.all([statusServer(fr.authPort, fr.secret), statusServer(fr.acctPort, fr.secret, 'probe-on-acct')]);
  t.equal(a.code, 'Access-Accept', 'auth port: Access-Accept', { stdout: a.stdout });
  t.equal(b.code, 'Accounting-Response', 'acct port: Accounting-Response', { stdout: b.stdout });
  t.notOk('Message-Authenticator' in a.replyAttrs, '3.2.1 answers Status-Server without Message-Authenticator');
  const lines = await fr.statusRecords();
  t.equal(lines.length, before + 2, 'two more lines in status.log (start-up probes not counted)');
  t.match(lines.find((l) => l['NAS-Identifier'] === 'probe-on-acct'), { 'Packet-Type': 'Status-Server', 'Packet-Dst-Port': String(fr.acctPort), 'NAS-Identifier': 'probe-on-acct', 'Message-Authenticator-Count': '1' });
});

t.test('strict instance: Message-Authenticator required and sent, Do-Not-Respond', async (t) => {
  const [bare, signed, mute, status] = await Promise.all([
    auth('User-Name = alice, User-Password = "alice-pass"', strict, 1),
    auth('User-Name = alice, User-Password = "alice-pass", Message-Authenticator = 0x00', strict),
    auth('User-Name = mute, User-Password = "x", Message-Authenticator = 0x00', strict, 1),
    statusServer(strict.authPort, strict.secret),
  ]);
  t.equal(bare.code, 'timeout', 'an Access-Request without Message-Authenticator is dropped', { stdout: bare.stdout });
  t.equal(signed.code, 'Access-Accept', 'signed request accepted', { stdout: signed.stdout });
  t.match(signed.replyAttrs['Message-Authenticator'], MAC, 'Access-Accept carries Message-Authenticator (radclient verified it)');
  t.equal(mute.code, 'timeout', 'the authorize hook made the server silent');
  t.match(status.replyAttrs['Message-Authenticator'], MAC, 'Status-Server answer signed');
});

t.test('stop(): requests time out; start(): same ports, answering again', async (t) => {
  const { authPort, acctPort } = fr;
  const linesBefore = (await fr.accountingLines()).length;
  await fr.stop();
  t.equal(fr.running, false, 'not running');
  const down = await auth('User-Name = alice, User-Password = "alice-pass"', fr, 1);
  t.equal(down.code, 'timeout', 'no answer while stopped');
  await fr.start();
  t.equal(fr.running, true, 'running again');
  t.equal(fr.authPort, authPort, 'same auth port');
  t.equal(fr.acctPort, acctPort, 'same acct port');
  const up = await auth('User-Name = alice, User-Password = "alice-pass"');
  t.equal(up.code, 'Access-Accept', 'answering after start()', { stdout: up.stdout });
  const a = await acct('Acct-Status-Type = Start, User-Name = alice, Acct-Session-Id = "after-restart"');
  t.equal(a.code, 'Accounting-Response');
  t.equal((await fr.accountingLines()).length, linesBefore + 1, 'accounting.log kept across the restart');
});

t.test('pause(): a hung server (port bound, no answer); resume() answers the queued request', async (t) => {
  strict.pause();
  const pending = auth('User-Name = bob, User-Password = "bob-pass", Message-Authenticator = 0x00', strict, 3);
  const during = await statusServer(strict.authPort, strict.secret);
  t.equal(during.code, 'timeout', 'Status-Server unanswered while paused');
  strict.resume();
  const r = await pending;
  t.equal(r.code, 'Access-Accept', 'the request sent while paused is answered after resume()', { stdout: r.stdout });
});

t.test('eapol_test directly against FreeRADIUS', async (t) => {
  const { caCert, clientCert, clientKey } = fr.certs;
  const common = { port: fr.authPort, secret: fr.secret, caCert, password: 'alice-pass' };
  const [peap, ttls, tls, bad] = await Promise.all([
    eapolTest({ ...common, config: 'peap-mschapv2', identity: 'alice' }),
    eapolTest({ ...common, config: 'ttls-pap', identity: 'alice', anonymousIdentity: 'anonymous@example.org', mac: '02:00:00:00:aa:01' }),
    eapolTest({ ...common, config: 'eap-tls', identity: 'alice', clientCert, clientKey }),
    eapolTest({ ...common, config: 'peap-mschapv2', identity: 'alice', password: 'wrong' }),
  ]);
  for (const [name, r] of [['PEAP/MSCHAPv2', peap], ['TTLS/PAP', ttls], ['EAP-TLS', tls]] as const) {
    t.ok(r.success, `${name}: SUCCESS`, { output: r.success ? '' : r.output.slice(-3000) });
    t.ok(r.mppeKeysMatch, `${name}: MPPE keys OK: 1  mismatch: 0`);
    t.match(r.msk, /^[0-9a-f]{128}$/, `${name}: 64-byte MSK`);
    t.equal(r.msk, `${r.mppeRecvKey}${r.mppeSendKey}`, `${name}: MSK = MS-MPPE-Recv-Key | MS-MPPE-Send-Key (RFC 5216 §2.3)`);
    t.equal(r.pmk, r.mppeRecvKey, `${name}: PMK is the Recv-Key`);
    t.equal(r.finalReply?.name, 'Access-Accept');
    t.ok(r.accessRequests >= 4, `${name}: a multi-round conversation (${r.accessRequests} Access-Requests)`);
  }
  const vlan = (r: typeof peap) => r.finalReply?.attributes.find((a) => a.name === 'Tunnel-Private-Group-Id')?.value;
  t.equal(vlan(peap), '3130', 'PEAP Access-Accept carries the inner tunnel reply (VLAN "10")');
  t.equal(vlan(ttls), '3130', 'TTLS Access-Accept carries it too');
  const challenges = [...peap.messages, ...ttls.messages].filter((m) => m.name === 'Access-Challenge');
  t.ok(challenges.every((m) => !m.attributes.some((a) => a.name === 'Reply-Message')), 'no user reply items in Access-Challenges');
  t.ok(challenges.every((m) => m.attributes.some((a) => a.name === 'Message-Authenticator')), 'every Access-Challenge signed');

  t.notOk(bad.success, 'wrong password: FAILURE');
  t.equal(bad.finalReply?.name, 'Access-Reject');
  t.ok(bad.finalReply?.attributes.some((a) => a.name === 'EAP-Message'), 'the Access-Reject carries EAP-Failure');
  t.equal(bad.mppeKeysMatch, false);

  const outer = (await fr.authRecords()).filter((r) => r['Calling-Station-Id'] === '02-00-00-00-AA-01');
  t.ok(outer.length >= 4, 'TTLS rounds logged by Calling-Station-Id');
  t.ok(outer.every((r) => r['User-Name'] === 'anonymous@example.org' && r['EAP-Message-Count'] !== '0'), 'outer User-Name is the anonymous identity');
});
