/**
 * LdapDirectory against real slapd instances: nested groups (memberOf and member searches, to a
 * depth), dynamic groups (memberURL evaluated by aaaproxy; and a slapd with the dynlist overlay,
 * which expands them itself), an Active Directory-like schema with the in-chain rule sent, the
 * backup service account, connections from a source address, and checkServer().
 */
import t from 'tap';
import { LdapDirectory, type LdapDirectoryObserver, type LdapDirectoryOptions } from '../../src/ldap/directory.js';
import type { Teardown } from '../helpers/daemon.js';
import { DEFAULT_SUFFIX, groupDn, ldapDynamicGroup, ldapGroup, ldapUser, startSlapd, userDn, type RunningSlapd } from '../helpers/slapd.js';

const PEOPLE = `ou=people,${DEFAULT_SUFFIX}`;
const GROUPS = `ou=groups,${DEFAULT_SUFFIX}`;

// alice in g1; g1 in g2; g2 in g3; g3 in g4 (depth 3 above g1). bob in ops (departmentNumber 42).
const LDIF =
  ldapUser({ uid: 'alice', password: 'alice-pass', extra: { departmentNumber: '7' } }) +
  ldapUser({ uid: 'bob', password: 'bob-pass', extra: { departmentNumber: '42' } }) +
  ldapUser({ uid: 'carol', password: 'carol-pass', extra: { departmentNumber: '42' } }) +
  ldapGroup('g1', ['alice']) +
  ldapGroup('g2', [groupDn('g1')]) +
  ldapGroup('g3', [groupDn('g2')]) +
  ldapGroup('g4', [groupDn('g3')]) +
  ldapGroup('loop-a', ['alice', groupDn('loop-b')]) +
  ldapDynamicGroup('dept42', [`ldap:///${PEOPLE}??sub?(departmentNumber=42)`]) +
  ldapDynamicGroup('bob-only', ['ldap:///uid=bob,ou=people,dc=example,dc=test??base']) +
  ldapDynamicGroup('nobody-here', [`ldap:///ou=elsewhere,${DEFAULT_SUFFIX}??sub?(departmentNumber=42)`, 'not a url', `ldap:///${PEOPLE}??sub?(departmentNumber=42)??!x-critical`]) +
  ldapGroup('dept42-parent', [groupDn('dept42')]);

const s1 = await startSlapd(t, { ldif: LDIF, name: 'slapd-groups' });
// loop-b contains loop-a: a cycle.
await s1.add(ldapGroup('loop-b', [groupDn('loop-a')]));

function directory(t: Teardown, server: RunningSlapd, over: Partial<LdapDirectoryOptions> = {}, observer?: LdapDirectoryObserver): LdapDirectory {
  const d = new LdapDirectory(
    {
      urls: [server.url],
      bindDn: server.rootDn,
      bindPassword: server.rootPassword,
      baseDn: PEOPLE,
      userFilter: '(uid={user})',
      connectTimeoutMs: 1000,
      operationTimeoutMs: 1000,
      retrySeconds: 1,
      ...over,
    },
    observer,
  );
  t.teardown(() => d.close());
  return d;
}

async function groupsOf(d: LdapDirectory, user: string, password: string): Promise<string[]> {
  const r = await d.authenticate(user, password);
  if (!r.ok) throw new Error(`${user}: ${r.reason}`);
  return r.groups.map((g) => g.split(',')[0]!.slice(3)).sort();
}

t.test('nested groups through memberOf, to the configured depth; cycles end', async (t) => {
  t.same(await groupsOf(directory(t, s1, { groups: { nestedDepth: 0 } }), 'alice', 'alice-pass'), ['g1', 'loop-a']);
  t.same(await groupsOf(directory(t, s1), 'alice', 'alice-pass'), ['g1', 'g2', 'g3', 'loop-a', 'loop-b'], 'default depth 2: g2 and g3');
  t.same(await groupsOf(directory(t, s1, { groups: { nestedDepth: 5 } }), 'alice', 'alice-pass'), ['g1', 'g2', 'g3', 'g4', 'loop-a', 'loop-b']);
});

t.test('nested groups through member searches under the groups base', async (t) => {
  const d = directory(t, s1, { groups: { lookup: 'search', baseDn: GROUPS, filter: '(|(member={dn})(uniqueMember={dn}))', nestedDepth: 2 } });
  t.same(await groupsOf(d, 'alice', 'alice-pass'), ['g1', 'g2', 'g3', 'loop-a', 'loop-b']);
  const before = s1.logs().length;
  await groupsOf(d, 'alice', 'alice-pass');
  await new Promise((r) => setTimeout(r, 100));
  const searches = s1.logs().slice(before).match(/SRCH base="ou=groups,dc=example,dc=test"/g) ?? [];
  t.equal(searches.length, 3, 'one search for the user, one per level');
  t.match(s1.logs().slice(before), /filter="\(\|\(\|\(member=cn=(g1|loop-a),ou=groups,dc=example,dc=test\)/, 'a level is one OR of the member tests');
});

t.test('dynamic groups: memberURL evaluated by aaaproxy (base, scope, filter); then nested like any group', async (t) => {
  const d = directory(t, s1, { groups: { baseDn: GROUPS, dynamic: { filter: '(objectClass=groupOfURLs)', urlAttribute: 'memberURL' } } });
  t.same(await groupsOf(d, 'bob', 'bob-pass'), ['bob-only', 'dept42', 'dept42-parent'], 'the parent of a dynamic group counts too');
  t.same(await groupsOf(d, 'carol', 'carol-pass'), ['dept42', 'dept42-parent'], 'a base-scope URL names one entry only');
  t.notOk((await groupsOf(d, 'alice', 'alice-pass')).some((g) => g.startsWith('dept42')), 'the filter decides');
  const before = s1.logs().length;
  await groupsOf(d, 'carol', 'carol-pass');
  await new Promise((r) => setTimeout(r, 100));
  t.match(s1.logs().slice(before), /SRCH base="uid=carol,ou=people,dc=example,dc=test" scope=0 deref=0 filter="\(departmentNumber=42\)"/, "the URL's filter is run on the user's entry");
});

t.test('a slapd with the dynlist overlay expands groupOfURLs itself: the same groups, once', async (t) => {
  const s2 = await startSlapd(t, { ldif: LDIF, dynlist: true, name: 'slapd-dynlist' });
  const ours = directory(t, s2, { groups: { lookup: 'search', baseDn: GROUPS, filter: '(member={dn})', dynamic: { filter: '(objectClass=groupOfURLs)', urlAttribute: 'memberURL' } } });
  t.same(await groupsOf(ours, 'bob', 'bob-pass'), ['bob-only', 'dept42', 'dept42-parent']);
});

t.test('Active Directory style: sAMAccountName, and nested groups by LDAP_MATCHING_RULE_IN_CHAIN', async (t) => {
  const ad = await startSlapd(t, {
    adSchema: true,
    name: 'slapd-ad',
    ldif:
      ldapUser({ uid: 'dave', password: 'dave-pass', extra: { objectClass: 'user', sAMAccountName: 'dave', userPrincipalName: 'dave@corp.example.test' } }) +
      ldapGroup('vpn', ['dave']) +
      ldapGroup('vpn-parent', [groupDn('vpn')]),
  });
  const d = directory(t, ad, { userFilter: '(&(objectClass=user)(sAMAccountName={user}))', groups: { inChain: true, baseDn: GROUPS } });
  const before = ad.logs().length;
  // slapd has no in-chain rule: its search finds nothing, so only the direct memberOf groups come back.
  t.same(await groupsOf(d, 'DAVE', 'dave-pass'), ['vpn'], 'found by sAMAccountName (caseIgnoreMatch)');
  await new Promise((r) => setTimeout(r, 100));
  const log = ad.logs().slice(before);
  t.match(log, /filter="\(&\(objectClass=user\)\(sAMAccountName=dave\)\)"/, "slapd logs the value normalised");
  // slapd logs an extensible match with an unknown rule as "(?=undefined)": the in-chain search was sent.
  t.match(log, /SRCH base="ou=groups,dc=example,dc=test" scope=2 deref=0 filter="\(\?=undefined\)"/, 'one in-chain search');
  t.notMatch(log, /SRCH base="cn=vpn,ou=groups/, 'no walk of memberOf with in-chain');
});

t.test('backup service account when the primary one is refused; the primary again after retry_seconds', async (t) => {
  const changes: string[] = [];
  const observer: LdapDirectoryObserver = { stateChanged: () => undefined, serviceAccountChanged: (from, to) => changes.push(`${from}->${to}`) };
  const d = directory(t, s1, { bindDn: s1.rootDn, bindPassword: 'wrong-root-password', backupBind: { dn: userDn('alice'), password: 'alice-pass' } }, observer);
  const before = s1.logs().length;
  t.ok((await d.authenticate('bob', 'bob-pass')).ok, 'served with the backup account');
  t.equal(d.serviceAccount, 'backup');
  t.ok((await d.authenticate('bob', 'bob-pass')).ok);
  await new Promise((r) => setTimeout(r, 100));
  const log = s1.logs().slice(before);
  t.equal((log.match(/BIND dn="cn=admin,dc=example,dc=test"/g) ?? []).length, 1, 'the refused account is not tried at every login');
  t.same(changes, ['primary->backup']);
  const noBackup = directory(t, s1, { bindPassword: 'wrong-root-password' });
  t.same(await noBackup.authenticate('bob', 'bob-pass'), { ok: false, reason: 'directory_unavailable' }, 'without a backup the service bind fails');
  t.equal(noBackup.stateOf(s1.url), 'alive', 'a refusal is an answer');
});

t.test('the primary service account binds again once it works and retry_seconds have passed', async (t) => {
  const changes: string[] = [];
  const observer: LdapDirectoryObserver = { stateChanged: () => undefined, serviceAccountChanged: (from, to) => changes.push(`${from}->${to}`) };
  // The primary service account does not exist yet (invalidCredentials); it is added under us.
  const svc = `uid=svc-radius,${PEOPLE}`;
  const d = directory(t, s1, { bindDn: svc, bindPassword: 'svc-pass', backupBind: { dn: userDn('alice'), password: 'alice-pass' } }, observer);
  t.ok((await d.authenticate('bob', 'bob-pass')).ok);
  t.equal(d.serviceAccount, 'backup');
  await s1.add(ldapUser({ uid: 'svc-radius', password: 'svc-pass' }));
  t.ok((await d.authenticate('bob', 'bob-pass')).ok);
  t.equal(d.serviceAccount, 'backup', 'not before retry_seconds');
  await new Promise((r) => setTimeout(r, 1100));
  t.ok((await d.authenticate('bob', 'bob-pass')).ok);
  t.equal(d.serviceAccount, 'primary', 'back to the primary account');
  t.same(changes, ['primary->backup', 'backup->primary']);
});

/** The source addresses of the connections in a slapd log whose operations mention `needle`. */
function sourcesOf(log: string, needle: string): string[] {
  const source = new Map<string, string>();
  const mentioned = new Set<string>();
  for (const line of log.split('\n')) {
    const conn = /conn=(\d+) /.exec(line)?.[1];
    if (conn === undefined) continue;
    const ip = /ACCEPT from IP=([0-9.]+)/.exec(line)?.[1];
    if (ip) source.set(conn, ip);
    if (line.includes(needle)) mentioned.add(conn);
  }
  return [...mentioned].map((c) => source.get(c) ?? `conn=${c} accepted before the window`);
}

t.test('connections leave from the configured source address', async (t) => {
  const d = directory(t, s1, { sourceAddress: '127.0.0.2' });
  const before = s1.logs().length;
  t.ok((await d.authenticate('alice', 'alice-pass')).ok);
  await new Promise((r) => setTimeout(r, 100));
  // The login's connections: the search for alice and the bind as alice. (Other clients of
  // this slapd, such as an earlier test's harness tools, may connect meanwhile.)
  const accepts = sourcesOf(s1.logs().slice(before), 'uid=alice');
  t.ok(accepts.length >= 2, accepts.join(', '));
  t.ok(accepts.every((a) => a === '127.0.0.2'), accepts.join(', '));
  const tls = await startSlapd(t, { ldif: LDIF, ldaps: true, name: 'slapd-tls' });
  const { readFile } = await import('node:fs/promises');
  const ca = await readFile(tls.caCert!);
  for (const [url, startTls] of [
    [tls.ldapsUrl!, false],
    [tls.url, true],
  ] as const) {
    const viaTls = directory(t, tls, { urls: [url], sourceAddress: '127.0.0.3', tls: { ca, startTls } });
    const b = tls.logs().length;
    t.ok((await viaTls.authenticate('alice', 'alice-pass')).ok, url);
    await new Promise((r) => setTimeout(r, 100));
    const a = sourcesOf(tls.logs().slice(b), 'uid=alice');
    t.ok(a.length >= 2 && a.every((x) => x === '127.0.0.3'), `${startTls ? 'StartTLS' : 'LDAPS'}: ${a.join(', ')}`);
  }
});

t.test('checkServer: one login on one server, with its answer', async (t) => {
  const d = directory(t, s1);
  t.equal(await d.checkServer(s1.url, 'alice', 'alice-pass'), 'ok');
  t.equal(await d.checkServer(s1.url, 'alice', 'nope'), 'wrong_password');
  t.equal(await d.checkServer(s1.url, 'nobody', 'x'), 'no_such_user');
  t.equal(await d.checkServer('ldap://not-configured', 'alice', 'alice-pass'), 'closed');
  const refused = directory(t, s1, { bindPassword: 'wrong' });
  t.equal(await refused.checkServer(s1.url, 'alice', 'alice-pass'), 'service_bind_refused');
  s1.pause();
  t.teardown(() => s1.resume());
  t.equal(await d.checkServer(s1.url, 'alice', 'alice-pass'), 'unreachable');
  t.equal(d.stateOf(s1.url), 'dead');
  s1.resume();
  t.equal(await d.checkServer(s1.url, 'alice', 'alice-pass'), 'ok');
  t.equal(d.stateOf(s1.url), 'alive', 'a passing check brings the server back at once');
});
