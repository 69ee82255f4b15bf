/**
 * LdapDirectory against two real slapd instances on loopback (test/helpers/slapd.ts):
 * search-then-bind, groups, RFC 4515 escaping, the empty password refused before any bind,
 * failover in order with alive/dead states and recovery, all servers down within the
 * timeouts, LDAPS and StartTLS verified against the harness CA.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { LdapDirectory, type LdapDirectoryObserver, type LdapDirectoryOptions, type LdapServerState } from '../../src/ldap/directory.js';
import { buildFilter, unescapeFilterValue } from '../../src/ldap/filter-build.js';
import { escapeFilterValue, fillFilter } from '../../src/ldap/filter-escape.js';
import type { Teardown } from '../helpers/daemon.js';
import { freeTcpPort, groupDn, ldapGroup, ldapUser, startSlapd, userDn } from '../helpers/slapd.js';

const LDIF =
  ldapUser({ uid: 'alice', password: 'alice-pass', cn: 'Alice Example', mail: 'alice@example.test' }) +
  ldapUser({ uid: 'bob', password: 'bob-pass' }) +
  ldapUser({ uid: 'o(d)d*', password: 'odd-pass' }) +
  ldapUser({ uid: 'twin1', password: 'twin-pass', cn: 'Twin' }) +
  ldapUser({ uid: 'twin2', password: 'twin-pass', cn: 'Twin' }) +
  ldapGroup('staff', ['alice', 'bob']) +
  ldapGroup('admins', ['alice']);

const t0 = Date.now();
const [s1, s2] = await Promise.all([startSlapd(t, { ldif: LDIF, ldaps: true, name: 'slapd-1' }), startSlapd(t, { ldif: LDIF, name: 'slapd-2' })]);
t.comment(`two slapd instances ready in ${Date.now() - t0} ms`);
const ca = await readFile(s1.caCert!);

interface Change {
  url: string;
  from: LdapServerState;
  to: LdapServerState;
  reason: string;
}
function recorder(): LdapDirectoryObserver & { changes: Change[] } {
  const changes: Change[] = [];
  return { changes, stateChanged: (url, from, to, reason) => changes.push({ url, from, to, reason }) };
}

function directory(t: Teardown, over: Partial<LdapDirectoryOptions> = {}, observer?: LdapDirectoryObserver): LdapDirectory {
  const d = new LdapDirectory(
    {
      urls: [s1.url, s2.url],
      bindDn: s1.rootDn,
      bindPassword: s1.rootPassword,
      baseDn: `ou=people,${s1.suffix}`,
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('RFC 4515 §3 escaping', async (t) => {
  t.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
  t.equal(escapeFilterValue('a\\b\0c'), 'a\\5cb\\00c');
  t.equal(escapeFilterValue('Müller'), 'Müller');
  t.equal(fillFilter('(&(objectClass=*)(uid={user}))', { user: 'x*' }), '(&(objectClass=*)(uid=x\\2a))');
  t.throws(() => fillFilter('(uid={nope})', { user: 'x' }));
  t.same(unescapeFilterValue('a\\2a\\28\\00'), Buffer.from('a*(\0'));
  t.throws(() => unescapeFilterValue('a\\zz'));
  // Escapes decoded before BER (ldapjs 3 alone would send the backslash): (uid=a*b() as octets.
  t.equal((buildFilter('(uid=a\\2ab\\28)') as unknown as { toBer(): { buffer: Buffer } }).toBer().buffer.toString('hex'), 'a30b04037569640404612a6228');
});

t.test('right password: ok with dn, memberOf groups and attributes', async (t) => {
  const d = directory(t);
  const r = await d.authenticate('alice', 'alice-pass');
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.dn, userDn('alice'));
  t.same([...r.groups].sort(), [groupDn('admins'), groupDn('staff')]);
  t.same(r.attributes['mail'], ['alice@example.test']);
  t.same(r.attributes['cn'], ['Alice Example']);
  t.notOk('userPassword' in r.attributes, 'userPassword never returned');
  t.same(d.states, [
    { url: s1.url, state: 'alive' },
    { url: s2.url, state: 'alive' },
  ]);
});

t.test('groups by a group search (member={dn})', async (t) => {
  const d = directory(t, { groups: { lookup: 'search', baseDn: `ou=groups,${s1.suffix}`, filter: '(&(objectClass=groupOfNames)(member={dn}))' } });
  const r = await d.authenticate('bob', 'bob-pass');
  t.ok(r.ok);
  if (r.ok) t.same(r.groups, [groupDn('staff')]);
});

t.test('wrong password, unknown user; several entries: the first DN wins', async (t) => {
  const d = directory(t);
  t.same(await d.authenticate('alice', 'wrong'), { ok: false, reason: 'wrong_password' });
  t.same(await d.authenticate('nobody', 'x'), { ok: false, reason: 'no_such_user' });
  const several: string[] = [];
  const byCn = directory(t, { userFilter: '(cn={user})' }, { stateChanged: () => undefined, severalEntriesMatched: (user) => several.push(user) });
  const r = await byCn.authenticate('Twin', 'twin-pass');
  t.ok(r.ok, 'the first entry the server returned is used');
  if (r.ok) t.ok([userDn('twin1'), userDn('twin2')].includes(r.dn), r.dn);
  t.same(several, ['Twin'], 'reported to the observer');
});

t.test('empty password refused before any bind reaches the server', async (t) => {
  const d = directory(t);
  const before = s1.logs().length;
  t.same(await d.authenticate('alice', ''), { ok: false, reason: 'empty_password' });
  await sleep(200);
  const after = s1.logs().slice(before);
  t.notMatch(after, /BIND dn="uid=alice/i, 'no bind as the user');
  t.notMatch(after, /ACCEPT from/, 'no connection at all');
});

t.test('filter injection in the user name matches nobody; special characters still match exactly', async (t) => {
  const d = directory(t);
  const before = s1.logs().length;
  t.same(await d.authenticate('*)(uid=*', 'alice-pass'), { ok: false, reason: 'no_such_user' });
  t.same(await d.authenticate('*', 'alice-pass'), { ok: false, reason: 'no_such_user' });
  t.same(await d.authenticate('alice)(|(uid=*', 'alice-pass'), { ok: false, reason: 'no_such_user' });
  await sleep(100);
  t.match(s1.logs().slice(before), /filter="\(uid=\\2A\\29\\28uid=\\2A\)"/i, 'the server saw the escaped value');
  const odd = await d.authenticate('o(d)d*', 'odd-pass');
  t.ok(odd.ok, 'uid with ( ) * found by its exact value');
  if (odd.ok) t.equal(odd.dn, userDn('o(d)d*'));
});

t.test('service account refused: directory_unavailable, no secret in any reason', async (t) => {
  const obs = recorder();
  const d = directory(t, { bindPassword: 'not-the-root-password' }, obs);
  t.same(await d.authenticate('alice', 'alice-pass'), { ok: false, reason: 'directory_unavailable' });
  t.same(d.states.map((s) => s.state), ['alive', 'alive'], 'an answer is not a dead server');
  t.notMatch(JSON.stringify(obs.changes), /not-the-root-password|alice-pass/);
});

t.test('failover: a closed port first, then the second URL answers', async (t) => {
  const closed = `ldap://127.0.0.1:${await freeTcpPort()}`;
  const obs = recorder();
  const d = directory(t, { urls: [closed, s2.url] }, obs);
  const started = Date.now();
  const r = await d.authenticate('alice', 'alice-pass');
  t.ok(r.ok);
  t.equal(d.stateOf(closed), 'dead');
  t.equal(d.stateOf(s2.url), 'alive');
  t.same(obs.changes, [{ url: closed, from: 'alive', to: 'dead', reason: 'AAA_ERR_LDAP_CONNECT' }]);
  t.ok(Date.now() - started < 1000, `refused port costs no timeout (${Date.now() - started} ms)`);
});

t.test('failover: primary stopped -> backup answers, primary dead; start() -> back after retry_seconds', async (t) => {
  const obs = recorder();
  const d = directory(t, {}, obs);
  t.ok((await d.authenticate('alice', 'alice-pass')).ok);
  await s1.stop();
  t.teardown(() => s1.start());
  const s2Before = s2.logs().length;
  const r = await d.authenticate('alice', 'alice-pass');
  t.ok(r.ok, 'served by the backup');
  await sleep(100);
  t.match(s2.logs().slice(s2Before), /BIND dn="uid=alice,ou=people,dc=example,dc=test"/, 'the backup saw the user bind');
  t.equal(d.stateOf(s1.url), 'dead');
  // While dead and not yet due, the primary is skipped.
  t.ok((await d.authenticate('bob', 'bob-pass')).ok);
  t.equal(obs.changes.length, 1, 'no second transition while skipped');

  await s1.start();
  await sleep(1100);
  const s1Before = s1.logs().length;
  t.ok((await d.authenticate('alice', 'alice-pass')).ok);
  t.equal(d.stateOf(s1.url), 'alive', 'primary back');
  await sleep(100);
  t.match(s1.logs().slice(s1Before), /BIND dn="uid=alice/, 'served by the primary again');
  t.same(
    obs.changes.map((c) => [c.url, c.from, c.to]),
    [
      [s1.url, 'alive', 'dead'],
      [s1.url, 'dead', 'alive'],
    ],
  );
});

t.test('all servers down: directory_unavailable within the timeouts', async (t) => {
  const closed = `ldap://127.0.0.1:${await freeTcpPort()}`;
  s2.pause();
  t.teardown(() => s2.resume());
  const d = directory(t, { urls: [closed, s2.url], connectTimeoutMs: 400, operationTimeoutMs: 400 });
  const started = Date.now();
  t.same(await d.authenticate('alice', 'alice-pass'), { ok: false, reason: 'directory_unavailable' });
  const ms = Date.now() - started;
  t.ok(ms < 1500, `answered in ${ms} ms (stalled server: operation timeout)`);
  t.same(d.states.map((s) => s.state), ['dead', 'dead']);
  s2.resume();
  // Both dead, none due: all are still tried, and the resumed one answers.
  t.ok((await d.authenticate('alice', 'alice-pass')).ok);
  t.equal(d.stateOf(s2.url), 'alive');
});

t.test('LDAPS verified with the harness CA; untrusted without it', async (t) => {
  const d = directory(t, { urls: [s1.ldapsUrl!], tls: { ca } });
  const r = await d.authenticate('alice', 'alice-pass');
  t.ok(r.ok);
  const noCa = directory(t, { urls: [s1.ldapsUrl!] });
  t.same(await noCa.authenticate('alice', 'alice-pass'), { ok: false, reason: 'directory_unavailable' });
  t.equal(noCa.stateOf(s1.ldapsUrl!), 'dead');
});

t.test('StartTLS on ldap:// with the harness CA', async (t) => {
  const d = directory(t, { urls: [s1.url], tls: { ca, startTls: true } });
  t.ok((await d.authenticate('alice', 'alice-pass')).ok);
  t.same(await d.authenticate('alice', 'wrong'), { ok: false, reason: 'wrong_password' });
  const noCa = directory(t, { urls: [s1.url], tls: { startTls: true } });
  t.same(await noCa.authenticate('alice', 'alice-pass'), { ok: false, reason: 'directory_unavailable' }, 'certificate not trusted without the CA');
});

t.test('close() is idempotent and ends use', async (t) => {
  const d = directory(t);
  await d.close();
  await d.close();
  t.same(await d.authenticate('alice', 'alice-pass'), { ok: false, reason: 'directory_unavailable' });
});
