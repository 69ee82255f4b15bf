/**
 * The LDAP directory harness on its own, without aaaproxy: an OpenLDAP slapd started from a
 * slapd.conf written at test time (test/helpers/slapd.ts), driven by ldap-utils. It proves what
 * the LDAP proxy and LDAP-backend tests will lean on: simple binds with cleartext and {SSHA}
 * userPasswords (and invalidCredentials for a wrong one), userPassword hidden from readers,
 * group membership by groupOfNames member and by the memberOf the overlay maintains,
 * stop()/start() on the same port with the data kept, pause() as a hung server, and LDAPS (and
 * StartTLS) verified against the test CA.
 */
import t from 'tap';
import { groupDn, ldapGroup, ldapSearch, ldapTool, ldapUser, ldapWhoami, ldifValues, sshaPassword, startSlapd, userDn, LDAPWHOAMI } from '../helpers/slapd.js';

const LDIF =
  ldapUser({ uid: 'alice', password: 'alice-pass', cn: 'Alice Example', mail: 'alice@example.test' }) +
  ldapUser({ uid: 'bob', password: sshaPassword('bob-pass') }) +
  ldapUser({ uid: 'carol', password: 'carol-pass' }) +
  ldapGroup('staff', ['alice', 'bob']) +
  ldapGroup('admins', ['alice']);

const t0 = Date.now();
const ldap = await startSlapd(t, { ldif: LDIF, ldaps: true });
t.comment(`slapd (ldap + ldaps, ${LDIF.split('\n\n').length - 1} entries) ready in ${Date.now() - t0} ms`);

t.test('started on loopback with the base entries', async (t) => {
  t.match(ldap.url, /^ldap:\/\/127\.0\.0\.1:\d+$/);
  t.match(ldap.ldapsUrl, /^ldaps:\/\/127\.0\.0\.1:\d+$/);
  t.equal(ldap.rootDn, 'cn=admin,dc=example,dc=test');
  const r = await ldapSearch(ldap.url, { base: ldap.suffix, scope: 'one', attrs: ['1.1'] });
  t.equal(r.code, 0, r.stderr);
  t.same(ldifValues(r.stdout, 'dn').sort(), ['ou=groups,dc=example,dc=test', 'ou=people,dc=example,dc=test']);
  const root = await ldapWhoami(ldap.url, ldap.rootDn, ldap.rootPassword);
  t.equal(root.code, 0, root.stderr);
});

t.test('simple bind: right password ok, wrong one invalidCredentials', async (t) => {
  const ok = await ldapWhoami(ldap.url, userDn('alice'), 'alice-pass');
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout.trim(), `dn:${userDn('alice')}`);
  const ssha = await ldapWhoami(ldap.url, userDn('bob'), 'bob-pass');
  t.equal(ssha.code, 0, `{SSHA} password: ${ssha.stderr}`);
  const bad = await ldapWhoami(ldap.url, userDn('alice'), 'wrong');
  t.equal(bad.code, 49, 'invalidCredentials');
  t.match(bad.stderr, /Invalid credentials/);
  const nobody = await ldapWhoami(ldap.url, userDn('nobody'), 'x');
  t.equal(nobody.code, 49, 'unknown DN: invalidCredentials too');
  const rootBad = await ldapWhoami(ldap.url, ldap.rootDn, 'wrong');
  t.equal(rootBad.code, 49);
});

t.test('search finds a user, hides userPassword, and shows group membership', async (t) => {
  const u = await ldapSearch(ldap.url, { base: `ou=people,${ldap.suffix}`, filter: '(uid=alice)', attrs: ['uid', 'cn', 'mail', 'userPassword', 'memberOf'] });
  t.equal(u.code, 0, u.stderr);
  t.same(ldifValues(u.stdout, 'dn'), [userDn('alice')]);
  t.same(ldifValues(u.stdout, 'cn'), ['Alice Example']);
  t.same(ldifValues(u.stdout, 'mail'), ['alice@example.test']);
  t.same(ldifValues(u.stdout, 'userPassword'), [], 'anonymous cannot read userPassword');
  t.same(ldifValues(u.stdout, 'memberOf').sort(), [groupDn('admins'), groupDn('staff')], 'memberof overlay');

  const g = await ldapSearch(ldap.url, {
    base: `ou=groups,${ldap.suffix}`,
    filter: `(&(objectClass=groupOfNames)(member=${userDn('bob')}))`,
    attrs: ['cn'],
    bind: { dn: userDn('bob'), password: 'bob-pass' },
  });
  t.equal(g.code, 0, g.stderr);
  t.same(ldifValues(g.stdout, 'cn'), ['staff'], 'bound as bob: his groups by member');

  const self = await ldapSearch(ldap.url, { base: userDn('carol'), scope: 'base', attrs: ['userPassword', 'memberOf'], bind: { dn: userDn('carol'), password: 'carol-pass' } });
  t.equal(self.code, 0, self.stderr);
  t.same(ldifValues(self.stdout, 'userPassword'), ['carol-pass'], 'a user reads her own password');
  t.same(ldifValues(self.stdout, 'memberOf'), [], 'carol is in no group');
});

t.test('LDAPS and StartTLS verified with the test CA', async (t) => {
  const url = ldap.ldapsUrl!;
  const ok = await ldapWhoami(url, userDn('alice'), 'alice-pass', { caCert: ldap.caCert! });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout.trim(), `dn:${userDn('alice')}`);
  const bad = await ldapWhoami(url, userDn('alice'), 'wrong', { caCert: ldap.caCert! });
  t.equal(bad.code, 49);
  // (DNS:localhost is in the certificate too, for Node clients; libldap cannot use it: it swaps
  // "localhost" for the machine's hostname before checking the certificate.)
  // Without the CA the certificate does not verify (the system store does not know it).
  const untrusted = await ldapTool(LDAPWHOAMI, ['-x', '-H', url, '-o', 'nettimeout=2', '-D', userDn('alice'), '-w', 'alice-pass'], {
    env: { LDAPTLS_REQCERT: 'demand', LDAPTLS_CACERT: '/dev/null' },
  });
  t.not(untrusted.code, 0, 'unknown CA refused');
  const startTls = await ldapTool(LDAPWHOAMI, ['-x', '-ZZ', '-H', ldap.url, '-o', 'nettimeout=2', '-D', userDn('alice'), '-w', 'alice-pass'], { caCert: ldap.caCert! });
  t.equal(startTls.code, 0, `StartTLS: ${startTls.stderr}`);
});

t.test('add() at run time', async (t) => {
  await ldap.add(ldapUser({ uid: 'dave', password: 'dave-pass' }));
  const ok = await ldapWhoami(ldap.url, userDn('dave'), 'dave-pass');
  t.equal(ok.code, 0, ok.stderr);
});

t.test('pause() hangs the server, resume() brings it back', async (t) => {
  ldap.pause();
  const started = Date.now();
  const hung = await ldapSearch(ldap.url, { base: '', scope: 'base' }, { timeoutMs: 1000 });
  t.not(hung.code, 0, 'no answer while paused');
  t.ok(Date.now() - started >= 900, 'it waited, nothing refused the connection');
  ldap.resume();
  const ok = await ldapWhoami(ldap.url, userDn('alice'), 'alice-pass');
  t.equal(ok.code, 0, ok.stderr);
});

t.test('stop() closes the port; start() serves the same data on it again', async (t) => {
  const { url, port } = ldap;
  const t1 = Date.now();
  await ldap.stop();
  t.comment(`stop in ${Date.now() - t1} ms`);
  t.equal(ldap.running, false);
  const down = await ldapSearch(url, { base: '', scope: 'base' });
  t.equal(down.code, 255, "can't contact LDAP server");
  const t2 = Date.now();
  await ldap.start();
  t.comment(`restart in ${Date.now() - t2} ms`);
  t.equal(ldap.port, port);
  const ok = await ldapWhoami(url, userDn('alice'), 'alice-pass');
  t.equal(ok.code, 0, ok.stderr);
  const dave = await ldapWhoami(url, userDn('dave'), 'dave-pass');
  t.equal(dave.code, 0, 'an entry added at run time survived the restart');
  const tls = await ldapWhoami(ldap.ldapsUrl!, userDn('alice'), 'alice-pass', { caCert: ldap.caCert! });
  t.equal(tls.code, 0, tls.stderr);
});

t.test('another suffix, no LDAPS, custom root password, no anonymous read', async (t) => {
  const other = await startSlapd(t, {
    suffix: 'o=acme',
    rootPassword: 'acme-root',
    anonymousRead: false,
    ldif: ldapUser({ uid: 'eve', password: 'eve-pass' }, 'o=acme'),
  });
  t.equal(other.ldapsUrl, undefined);
  t.equal(other.rootDn, 'cn=admin,o=acme');
  t.equal((await ldapWhoami(other.url, 'cn=admin,o=acme', 'acme-root')).code, 0);
  t.equal((await ldapWhoami(other.url, userDn('eve', 'o=acme'), 'eve-pass')).code, 0);
  const anon = await ldapSearch(other.url, { base: 'o=acme', filter: '(uid=eve)' });
  t.equal(ldifValues(anon.stdout, 'dn').length, 0, 'anonymous sees nothing');
  const bound = await ldapSearch(other.url, { base: 'o=acme', filter: '(uid=eve)', bind: { dn: userDn('eve', 'o=acme'), password: 'eve-pass' } });
  t.same(ldifValues(bound.stdout, 'dn'), [userDn('eve', 'o=acme')]);
  t.match(other.logs(), /BIND dn="uid=eve,ou=people,o=acme"/);
});
