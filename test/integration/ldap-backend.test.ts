// An LDAP directory as a RADIUS backend: radclient (PAP) -> aaaproxy -> slapd, with replies by group.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { radclient, startDaemon } from '../helpers/daemon.js';
import { groupDn, ldapGroup, ldapUser, startSlapd } from '../helpers/slapd.js';

const ldap = await startSlapd(t, {
  ldif:
    ldapUser({ uid: 'alice', password: 'alice-pass' }) +
    ldapUser({ uid: 'bob', password: 'bob-pass' }) +
    ldapGroup('admins', ['alice']) +
    ldapGroup('staff', ['alice', 'bob']),
});

const daemon = await startDaemon(t, {
  users: 'users: {}\n',
  extraConfig: `
ldap_directories:
  - name: corp
    urls: ["${ldap.url}"]
    bind_dn: "${ldap.rootDn}"
    bind_password: "${ldap.rootPassword}"
    base_dn: "ou=people,${ldap.suffix}"
    connect_timeout_seconds: 1
    operation_timeout_seconds: 1
    group_replies:
      - { group: "${groupDn('staff')}", reply: { Session-Timeout: 3600 } }
      - { group: "${groupDn('admins').toUpperCase()}", reply: { Filter-Id: admins } }
routes:
  - { realm: corp.example, strip_realm: true, auth: "ldap:corp" }
`,
});
const auth = (attrs: string) => radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs });

t.test('PAP against the directory, with reply attributes by group', async (t) => {
  const alice = await auth('User-Name = "alice@corp.example", User-Password = "alice-pass"');
  t.equal(alice.code, 'Access-Accept', alice.stdout);
  t.equal(alice.replyAttrs['Session-Timeout'], '3600');
  t.equal(alice.replyAttrs['Filter-Id'], 'admins', 'group DNs compare without case');
  const bob = await auth('User-Name = "bob@corp.example", User-Password = "bob-pass"');
  t.equal(bob.code, 'Access-Accept');
  t.notOk(bob.replyAttrs['Filter-Id'], 'bob is not an admin');
});

t.test('wrong password, unknown user, injection and CHAP are rejected', async (t) => {
  for (const attrs of [
    'User-Name = "alice@corp.example", User-Password = "nope"',
    'User-Name = "nobody@corp.example", User-Password = "x"',
    'User-Name = "*)(uid=*@corp.example", User-Password = "alice-pass"',
    'User-Name = "alice@corp.example", CHAP-Password = "alice-pass"',
  ]) {
    const r = await auth(attrs);
    t.equal(r.code, 'Access-Reject', attrs);
  }
});

t.test('a reload applies new group replies', async (t) => {
  const text = await readFile(daemon.configPath, 'utf8');
  await writeFile(daemon.configPath, text.replace('Filter-Id: admins', 'Filter-Id: admins-v2'));
  t.equal((await daemon.reload()).msg, 'config reloaded');
  const alice = await auth('User-Name = "alice@corp.example", User-Password = "alice-pass"');
  t.equal(alice.replyAttrs['Filter-Id'], 'admins-v2');
});

t.test('no directory answering: the NAS gets no reply and the drop is counted', async (t) => {
  await ldap.stop();
  const r = await radclient({ port: daemon.authPort, secret: daemon.secret, type: 'auth', attrs: 'User-Name = "alice@corp.example", User-Password = "alice-pass"', timeout: 3, retries: 1 });
  t.equal(r.code, 'timeout');
  await daemon.waitForMetric('aaaproxy_packets_dropped_total', { reason: 'ldap_unavailable' }, (v) => v >= 1, 5000);
  await ldap.start();
});
