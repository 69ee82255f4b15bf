// Proxying Access-Requests to FreeRADIUS upstreams: per-hop crypto, realm routing, failover.
import t from 'tap';
import { radclient, startDaemon } from '../helpers/daemon.js';
import { papRequest, UdpPeer } from '../helpers/udp.js';
import { startFreeRadius, UPSTREAM_SECRET } from '../helpers/freeradius.js';

const UPSTREAM_USERS = [
  'alice Cleartext-Password := "alice-pw"',
  '\tReply-Message = "hello from upstream",',
  '\tTunnel-Type:1 = VLAN,',
  '\tTunnel-Medium-Type:1 = IEEE-802,',
  '\tTunnel-Private-Group-Id:1 = "42",',
  '\tTunnel-Password:1 = "tunnel-secret-1"',
  '',
  'carol Cleartext-Password := "carol-pw"',
  '',
].join('\n');

const primary = await startFreeRadius(t, { users: UPSTREAM_USERS, name: 'primary' });
const backup = await startFreeRadius(t, { users: UPSTREAM_USERS, name: 'backup' });

const upstreamConfig = `
upstreams:
  - { name: primary, address: 127.0.0.1, auth_port: ${primary.authPort}, acct_port: ${primary.acctPort}, secret: ${UPSTREAM_SECRET},
      timeout_seconds: 0.5, retries: 1, status_check: { interval_seconds: 0.3, revive_after: 2, zombie_period_seconds: 1 } }
  - { name: backup, address: 127.0.0.1, auth_port: ${backup.authPort}, acct_port: ${backup.acctPort}, secret: ${UPSTREAM_SECRET},
      timeout_seconds: 0.5, retries: 1, status_check: { interval_seconds: 0.3, revive_after: 2, zombie_period_seconds: 1 } }
pools:
  - { name: main, servers: [primary, backup] }
routes:
  - { name: corp, realm: example.com, strip_realm: true, auth: main }
  - { name: upstream-users, realm: "*", auth: main }
`;

const daemon = await startDaemon(t, {
  users: 'users:\n  localonly:\n    password: local-pw\n    allow_cleartext: true\n',
  extraConfig: upstreamConfig,
});
const nas = { port: daemon.authPort, secret: daemon.secret, type: 'auth' as const };

t.test('PAP through the proxy: accept with the upstream reply, Tunnel-Password re-encrypted for the NAS', async (t) => {
  const r = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "alice-pw", Message-Authenticator = 0x00' });
  t.equal(r.code, 'Access-Accept', r.stdout);
  t.equal(r.replyAttrs['Reply-Message'], 'hello from upstream');
  t.equal(r.replyAttrs['Tunnel-Private-Group-Id:1'], '42');
  // radclient decrypts Tunnel-Password with the NAS secret and our Request Authenticator.
  t.equal(r.replyAttrs['Tunnel-Password:1'], 'tunnel-secret-1');
  t.match(r.replyList[0]?.[0], 'Message-Authenticator', 'Message-Authenticator first');
  const seen = (await primary.authRecords()).at(-1)!;
  t.equal(seen['User-Name'], 'alice', 'the realm was stripped before the upstream');
});

t.test('PAP reject and CHAP accept pass through', async (t) => {
  const reject = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "wrong", Message-Authenticator = 0x00' });
  t.equal(reject.code, 'Access-Reject');
  // radclient computes CHAP-Password over its own Request Authenticator; we add CHAP-Challenge upstream.
  const chap = await radclient({ ...nas, attrs: 'User-Name = "carol@example.com", CHAP-Password = "carol-pw", Message-Authenticator = 0x00' });
  t.equal(chap.code, 'Access-Accept', chap.stdout);
});

t.test('Proxy-State: the NAS gets its own back, the upstream sees ours after it', async (t) => {
  const r = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "alice-pw", Proxy-State = 0x6e617331, Message-Authenticator = 0x00' });
  t.equal(r.code, 'Access-Accept');
  t.same(r.replyList.filter(([n]) => n === 'Proxy-State').map(([, v]) => v), ['0x6e617331']);
  const seen = (await primary.authRecords()).at(-1)!;
  t.equal(seen['Proxy-State-Count'] ?? seen['Proxy-State[#]'] ?? seen['Proxy-State'], '2', JSON.stringify(seen));
});

t.test('a user without a matching route stays local', async (t) => {
  const r = await radclient({ ...nas, attrs: 'User-Name = "localonly", User-Password = "local-pw"' });
  t.equal(r.code, 'Access-Accept');
});

t.test('failover to the backup when the primary stops, failback when it returns', async (t) => {
  await primary.stop();
  const r = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "alice-pw", Message-Authenticator = 0x00', timeout: 4, retries: 1 });
  t.equal(r.code, 'Access-Accept', 'answered by the backup within timeout x (retries + 1)');
  t.equal((await backup.authRecords()).at(-1)?.['User-Name'], 'alice');
  const states = JSON.parse((await daemon.admin('GET', '/upstreams')).body) as { name: string; state: string }[];
  t.not(states.find((s) => s.name === 'primary')?.state, 'alive', 'the primary is no longer alive');
  await daemon.waitForMetric('aaaproxy_upstream_state', { server: 'primary', state: 'dead' }, (v) => v === 1, 5000);
  const before = (await backup.authRecords()).length;
  const skip = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "alice-pw", Message-Authenticator = 0x00', timeout: 2, retries: 1 });
  t.equal(skip.code, 'Access-Accept', 'a dead primary is skipped at once');
  t.equal((await backup.authRecords()).length, before + 1);

  await primary.start();
  await daemon.waitForMetric('aaaproxy_upstream_state', { server: 'primary', state: 'alive' }, (v) => v === 1, 5000);
  const primaryBefore = (await primary.authRecords()).length;
  const back = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "alice-pw", Message-Authenticator = 0x00' });
  t.equal(back.code, 'Access-Accept');
  t.equal((await primary.authRecords()).length, primaryBefore + 1, 'failback: the primary serves again');
});

t.test('no server answering: the NAS gets nothing, and the drop is counted', async (t) => {
  await primary.stop();
  await backup.stop();
  const r = await radclient({ ...nas, attrs: 'User-Name = "alice@example.com", User-Password = "alice-pw", Message-Authenticator = 0x00', timeout: 2, retries: 1 });
  t.equal(r.code, 'timeout');
  await daemon.waitForMetric('aaaproxy_packets_dropped_total', { reason: 'no_upstream_answer' }, (v) => v >= 1, 3000);
});

t.test('NAS retransmissions of a request in flight are not sent upstream again', async (t) => {
  const upstream = await startFreeRadius(t, { users: UPSTREAM_USERS, name: 'slow' });
  const d = await startDaemon(t, {
    users: 'users: {}\n',
    // A 10 s proxy timeout and a 1 s duplicate window: the request outlives the window.
    extraConfig: `
duplicates: { window_seconds: 1 }
upstreams:
  - { name: slow, address: 127.0.0.1, auth_port: ${upstream.authPort}, acct_port: ${upstream.acctPort}, secret: ${UPSTREAM_SECRET}, timeout_seconds: 10, retries: 0 }
pools:
  - { name: slow, servers: [slow] }
routes:
  - { auth: slow }
`,
  });
  const nas = await UdpPeer.open(t);
  const packet = papRequest({ identifier: 77, user: 'alice', password: 'alice-pw', secret: d.secret });
  const before = (await upstream.authRecords()).length;
  upstream.pause();
  await nas.send(packet, d.authPort);
  await new Promise((r) => setTimeout(r, 300));
  await nas.send(packet, d.authPort);
  await new Promise((r) => setTimeout(r, 1500));
  await nas.send(packet, d.authPort);
  upstream.resume();
  const reply = await nas.receive(5000);
  t.equal(reply?.[0], 2, 'Access-Accept once the upstream answers');
  t.equal(await nas.receive(500), undefined, 'one reply for three copies');
  t.equal((await upstream.authRecords()).length, before + 1, 'the upstream saw the request once');
  t.equal(await d.metric('aaaproxy_duplicates_total', { result: 'in_progress' }), 2);
  t.equal(await d.metric('aaaproxy_upstream_retransmits_total', { server: 'slow', purpose: 'auth' }), 0);
});
