/**
 * An LDAP directory as a RADIUS backend: radclient (PAP) -> aaaproxy -> slapd. Accept, wrong
 * password, unknown user, empty password, filter injection; role mapping to Filter-Id and a
 * VLAN (Tunnel attributes) from static, nested and dynamic groups and user attributes; Windows
 * domain stripping; the health check at start in metrics and GET /directories; a directory that
 * cannot be reached answered with a reject (on_unreachable: reject) or not at all (drop);
 * certificate expiry metrics for the listener certificate and the directory CA bundle.
 */
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { radclient, startDaemon } from '../helpers/daemon.js';
import { freeTcpPort, groupDn, ldapDynamicGroup, ldapGroup, ldapUser, startSlapd } from '../helpers/slapd.js';
import { papRequest, UdpPeer } from '../helpers/udp.js';

const PEOPLE = 'ou=people,dc=example,dc=test';
const ldap = await startSlapd(t, {
  ldaps: true,
  ldif:
    ldapUser({ uid: 'alice', password: 'alice-pass' }) +
    ldapUser({ uid: 'bob', password: 'bob-pass' }) +
    ldapUser({ uid: 'carol', password: 'carol-pass' }) +
    ldapUser({ uid: 'dave', password: 'dave-pass', extra: { departmentNumber: '42' } }) +
    ldapUser({ uid: 'erin', password: 'erin-pass', extra: { employeeType: 'Contractor' } }) +
    ldapUser({ uid: 'probe', password: 'probe-pass' }) +
    ldapGroup('admins', ['alice']) +
    ldapGroup('staff', ['alice', 'bob']) +
    ldapGroup('helpdesk', ['carol']) +
    ldapGroup('vpn-users', [groupDn('helpdesk')]) +
    ldapDynamicGroup('dept42', [`ldap:///${PEOPLE}??sub?(departmentNumber=42)`]),
});
const closedPort = await freeTcpPort();

const daemon = await startDaemon(t, {
  users: 'users: {}\n',
  logLevel: 'debug',
  extraConfig: `
ldap_directories:
  - name: corp
    urls: ["${ldap.url}"]
    bind_dn: "${ldap.rootDn}"
    bind_password: "${ldap.rootPassword}"
    base_dn: "${PEOPLE}"
    strip_domain: true
    groups: { base_dn: "ou=groups,${ldap.suffix}", dynamic: {} }
    tls: { ca_file: "${ldap.caCert}" }
    connect_timeout_seconds: 1
    operation_timeout_seconds: 1
    health_check: { username: probe, password: probe-pass, interval_minutes: 5 }
    roles:
      - name: admins
        match: { groups: ["${groupDn('admins').toUpperCase()}"] }
        vlan: 10
        reply: { Filter-Id: admins, Aruba-User-Role: network-admin }
      - { name: vpn, match: { groups: ["${groupDn('vpn-users')}"] }, reply: { Filter-Id: vpn }, vlan: 20 }
      - { name: dept42, match: { groups: ["${groupDn('dept42')}"] }, reply: { Filter-Id: dept42 } }
      - { name: contractors, match: { attributes: { employeeType: contractor } }, reply: { Filter-Id: contractors, Reply-Message: [welcome, "read the rules"] } }
      - { name: staff, match: { groups: ["${groupDn('staff')}"] }, reply: { Filter-Id: staff }, continue: true }
      - { name: default, reply: { Session-Timeout: 3600 } }
  - name: down
    urls: ["ldap://127.0.0.1:${closedPort}"]
    bind_dn: "cn=x"
    bind_password: "x"
    base_dn: "dc=x"
    connect_timeout_seconds: 1
    on_unreachable: reject
  - name: down-drop
    urls: ["ldap://127.0.0.1:${closedPort}"]
    bind_dn: "cn=x"
    bind_password: "x"
    base_dn: "dc=x"
    connect_timeout_seconds: 1
ldap_listeners:
  - name: apps
    address: 127.0.0.1
    port: 0
    directory: corp
    tls: { mode: ldaps, cert_file: "${join(ldap.dir, 'server.pem')}", key_file: "${join(ldap.dir, 'server.key')}" }
    base_dns: ["${ldap.suffix}"]
sessions:
  enabled: true
routes:
  - { realm: corp.example, strip_realm: true, auth: "ldap:corp" }
  - { realm: ad.example, auth: "ldap:corp" }
  - { realm: CORP, auth: "ldap:corp" }
  - { realm: down.example, strip_realm: true, auth: "ldap:down" }
  - { realm: drop.example, strip_realm: true, auth: "ldap:down-drop" }
`,
});
const auth = (user: string, password: string, extra = '') =>
  radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs: `User-Name = "${user}", User-Password = "${password}"${extra}` });

t.test('PAP accepted; role mapping: first match, VLAN and Filter-Id; continue', async (t) => {
  const alice = await auth('alice@corp.example', 'alice-pass');
  t.equal(alice.code, 'Access-Accept', alice.stdout);
  t.equal(alice.replyAttrs['Filter-Id'], 'admins', 'group DNs compare as DNs (upper case in the config)');
  // RFC 3580 §3.31: the VLAN as three Tunnel attributes (tag 0).
  t.match(alice.stdout, /Tunnel-Type(:0)? = VLAN/);
  t.match(alice.stdout, /Tunnel-Medium-Type(:0)? = IEEE-802/);
  t.match(alice.stdout, /Tunnel-Private-Group-Id(:0)? = "10"/);
  t.equal(alice.replyAttrs['Aruba-User-Role'], 'network-admin', 'a vendor attribute (Vendor-Specific, RFC 2865 §5.26)');
  t.notOk(alice.replyAttrs['Session-Timeout'], 'admins ends the evaluation: staff and default do not apply');
  const bob = await auth('bob@corp.example', 'bob-pass');
  t.equal(bob.code, 'Access-Accept');
  t.same(
    bob.replyList.filter(([k]) => k === 'Filter-Id' || k === 'Session-Timeout'),
    [
      ['Filter-Id', 'staff'],
      ['Session-Timeout', '3600'],
    ],
    'staff has continue: the default rule adds its attributes',
  );
  t.notMatch(bob.stdout, /Tunnel/, 'no VLAN for bob');
  const line = await daemon.waitForLog((l) => l.msg === 'request completed' && l.user === 'bob');
  t.same(line.roles, ['staff', 'default'], 'matched roles in the debug log line');
  let session: { user: string; roles: string[]; backend: string } | undefined;
  for (let i = 0; i < 100 && !session; i++) {
    const listed = JSON.parse((await daemon.admin('GET', '/sessions?user=bob%40corp.example')).body) as { sessions: { user: string; roles: string[]; backend: string }[] };
    session = listed.sessions[0];
    if (!session) await new Promise((r) => setTimeout(r, 20));
  }
  t.match(session, { user: 'bob@corp.example', backend: 'ldap:corp', roles: ['staff', 'default'] }, 'the matched roles are recorded on the session');
});

t.test('nested and dynamic groups, user attributes', async (t) => {
  const carol = await auth('carol@corp.example', 'carol-pass');
  t.equal(carol.code, 'Access-Accept');
  t.equal(carol.replyAttrs['Filter-Id'], 'vpn', 'helpdesk is in vpn-users: nested membership counts');
  t.match(carol.stdout, /Tunnel-Private-Group-Id(:0)? = "20"/);
  const dave = await auth('dave@corp.example', 'dave-pass');
  t.equal(dave.replyAttrs['Filter-Id'], 'dept42', 'memberURL (departmentNumber=42) evaluated for dave');
  const erin = await auth('erin@corp.example', 'erin-pass');
  t.equal(erin.replyAttrs['Filter-Id'], 'contractors', 'attribute values compare without case');
  t.same(
    erin.replyList.filter(([k]) => k === 'Reply-Message').map(([, v]) => v),
    ['welcome', 'read the rules'],
    'a list gives several values',
  );
  const probe = await auth('probe@corp.example', 'probe-pass');
  t.equal(probe.code, 'Access-Accept');
  t.same(
    probe.replyList.filter(([k]) => k !== 'Message-Authenticator'),
    [['Session-Timeout', '3600']],
    'no group: only the default rule',
  );
});

t.test('Windows domains stripped before the search', async (t) => {
  t.equal((await auth('alice@ad.example', 'alice-pass')).code, 'Access-Accept', 'user@domain');
  const slash = await auth('CORP\\\\alice', 'alice-pass');
  t.equal(slash.code, 'Access-Accept', `DOMAIN\\user: ${slash.stdout}`);
  t.equal(slash.replyAttrs['Filter-Id'], 'admins');
});

t.test('wrong password, unknown user, empty password, injection and CHAP are rejected', async (t) => {
  const before = ldap.logs().length;
  for (const [attrs, reason] of [
    ['User-Name = "alice@corp.example", User-Password = "nope"', 'wrong_password'],
    ['User-Name = "nobody@corp.example", User-Password = "x"', 'no_such_user'],
    ['User-Name = "*)(uid=*@corp.example", User-Password = "alice-pass"', 'no_such_user'],
    ['User-Name = "*@corp.example", User-Password = "alice-pass"', 'no_such_user'],
    ['User-Name = "alice@corp.example", CHAP-Password = "alice-pass"', 'ldap_needs_pap'],
  ] as const) {
    const from = daemon.logs.length;
    const r = await radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs });
    t.equal(r.code, 'Access-Reject', attrs);
    const line = await daemon.waitForLog((l) => l.msg === 'access rejected', 3000, from);
    t.equal(line.reason, reason, attrs);
  }
  await new Promise((r) => setTimeout(r, 100));
  t.match(ldap.logs().slice(before), /filter="\(uid=\\2A\\29\\28uid=\\2A\)"/i, 'the directory saw the escaped value');
  t.notMatch(ldap.logs().slice(before), /BIND dn="uid=alice,ou=people,dc=example,dc=test"[^\n]*\n[^\n]*RESULT tag=97 err=0/, 'the injection bound as nobody');

  // radclient sends no User-Password for an empty one: a datagram of our own does.
  const peer = await UdpPeer.open(t);
  const from = daemon.logs.length;
  await peer.send(papRequest({ identifier: 7, user: 'alice@corp.example', password: '', secret: daemon.secret }), daemon.authPort);
  const reply = await peer.receive(3000);
  t.equal(reply?.[0], 3, 'Access-Reject');
  const line = await daemon.waitForLog((l) => l.msg === 'access rejected', 3000, from);
  t.equal(line.reason, 'empty_password', 'refused before any bind (RFC 4513 §5.1.2)');
});

t.test('the health check runs at start: state in metrics and GET /directories', async (t) => {
  await daemon.waitForMetric('aaaproxy_ldap_health_check_state', { directory: 'corp', server: ldap.url, state: 'passing' }, (v) => v === 1, 5000);
  t.equal(await daemon.metric('aaaproxy_ldap_health_checks_total', { directory: 'corp', server: ldap.url, result: 'ok' }), 1, 'one check so far (interval 5 minutes)');
  t.ok((await daemon.metric('aaaproxy_ldap_health_check_timestamp_seconds', { directory: 'corp', server: ldap.url })) > Date.now() / 1000 - 60);
  t.equal(await daemon.metric('aaaproxy_ldap_service_account', { directory: 'corp', account: 'primary' }), 1);
  const res = await daemon.admin('GET', '/directories');
  t.equal(res.status, 200);
  const corp = (JSON.parse(res.body) as { name: string }[]).find((d) => d.name === 'corp');
  t.match(corp, { name: 'corp', service_account: 'primary', servers: [{ url: ldap.url, state: 'alive', health: { state: 'passing', result: 'ok', checked_at: /^\d{4}-/ } }] });
  t.notMatch(res.body, /probe-pass|ldap-root-secret/, 'no password in the admin output');
  t.ok(daemon.logs.some((l) => l.msg === 'LDAP health check state' && l.directory === 'corp' && l.to === 'passing'), 'logged');
  t.notOk(JSON.stringify(daemon.logs).includes('probe-pass'), 'the test password is never logged');
});

t.test('certificate expiry: the listener certificate and the directory CA bundle', async (t) => {
  const cert = join(ldap.dir, 'server.pem');
  const notAfter = await daemon.metric('aaaproxy_certificate_expiry_seconds', { path: cert });
  // The harness issues 2-day certificates.
  t.ok(notAfter > Date.now() / 1000 && notAfter < Date.now() / 1000 + 3 * 86400, `${notAfter}`);
  t.ok((await daemon.metric('aaaproxy_certificate_expiry_seconds', { path: ldap.caCert! })) > Date.now() / 1000);
  t.ok(daemon.logs.some((l) => l.msg === 'certificate expires in 1 days' || l.msg === 'certificate expires in 2 days' || l.msg === 'certificate expires in 0 days'), 'a warning within 30 days');
});

t.test('directory unreachable: on_unreachable reject answers Access-Reject; drop answers nothing', async (t) => {
  const from = daemon.logs.length;
  const started = Date.now();
  const r = await auth('alice@down.example', 'alice-pass');
  t.equal(r.code, 'Access-Reject');
  t.ok(Date.now() - started < 2000, 'a refused port costs no timeout');
  const line = await daemon.waitForLog((l) => l.msg === 'access rejected', 3000, from);
  t.equal(line.reason, 'ldap_unavailable');
  const dropped = await radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs: 'User-Name = "alice@drop.example", User-Password = "x"', timeout: 2, retries: 1 });
  t.equal(dropped.code, 'timeout');
  await daemon.waitForMetric('aaaproxy_packets_dropped_total', { reason: 'ldap_unavailable' }, (v) => v >= 1, 5000);
});

t.test('a reload applies new roles', async (t) => {
  const text = await readFile(daemon.configPath, 'utf8');
  await writeFile(daemon.configPath, text.replace('reply: { Filter-Id: admins,', 'reply: { Filter-Id: admins-v2,'));
  t.equal((await daemon.reload()).msg, 'config reloaded');
  const alice = await auth('alice@corp.example', 'alice-pass');
  t.equal(alice.replyAttrs['Filter-Id'], 'admins-v2');
  t.equal(await daemon.metric('aaaproxy_ldap_health_checks_total', { directory: 'corp', server: ldap.url, result: 'ok' }), 1, 'the health checker is kept (no second check at reload)');
});

t.test('the primary stopped: no reply, counted', async (t) => {
  await ldap.stop();
  t.teardown(() => ldap.start());
  const r = await radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs: 'User-Name = "alice@corp.example", User-Password = "alice-pass"', timeout: 3, retries: 1 });
  t.equal(r.code, 'timeout');
  await daemon.waitForMetric('aaaproxy_packets_dropped_total', { reason: 'ldap_unavailable' }, (v) => v >= 2, 5000);
});
