/**
 * The LDAP front server end to end: ldapsearch, ldapwhoami, ldapcompare and ldapmodify (Debian
 * ldap-utils) as clients of aaaproxy, which proxies to two real slapd instances (primary and
 * backup) over plain LDAP, LDAPS and StartTLS. The directory lets only bound users read, and
 * keeps telephoneNumber readable by its owner alone, so what a client sees shows whose rights
 * the search ran with.
 */
import { connect, type Socket } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon, type LogLine } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';
import { ldapGroup, ldapSearch, ldapTool, ldapUser, ldapWhoami, ldifValues, startSlapd, userDn, type LdapToolResult } from '../helpers/slapd.js';

// About 25 s alone; more when the suite runs files in parallel.
t.setTimeout(180_000);

const SUFFIX = 'dc=example,dc=test';
const PEOPLE = `ou=people,${SUFFIX}`;
const GROUPS = `ou=groups,${SUFFIX}`;
const LDIF =
  ldapUser({ uid: 'alice', password: 'alice-pass', mail: 'alice@example.test', extra: { telephoneNumber: '+1 555 0100' } }) +
  ldapUser({ uid: 'bob', password: 'bob-pass' }) +
  ldapUser({ uid: 'carol', password: 'carol-pass' }) +
  ldapUser({ uid: 'dave', password: 'dave-pass' }) +
  ldapUser({ uid: 'erin', password: 'erin-pass' }) +
  ldapGroup('staff', ['alice', 'bob']) +
  `dn: ou=secret,${SUFFIX}\nobjectClass: organizationalUnit\nou: secret\n\n`;
const ACCESS = [
  'access to attrs=userPassword',
  '\tby self write',
  '\tby anonymous auth',
  '\tby * none',
  'access to attrs=telephoneNumber',
  '\tby self read',
  '\tby * none',
  'access to *',
  '\tby users read',
  '\tby anonymous auth',
  '\tby * none',
].join('\n');

const [primary, backup] = await Promise.all([
  startSlapd(t, { ldif: LDIF, access: ACCESS, ldaps: true, name: 'slapd-primary' }),
  startSlapd(t, { ldif: LDIF, access: ACCESS, name: 'slapd-backup' }),
]);
// The primary's certificate (127.0.0.1, signed by the test CA) serves aaaproxy's LDAPS and StartTLS too.
const cert = join(primary.dir, 'server.pem');
const key = join(primary.dir, 'server.key');
const ca = primary.caCert!;

const listener = (name: string, extra: string) =>
  `  - { name: ${name}, address: 127.0.0.1, port: 0, directory: corp, base_dns: ["${PEOPLE}", "${GROUPS}"], ${extra} }`;

const daemon = await startDaemon(t, {
  users: 'users: {}\n',
  extraConfig: `
ldap_directories:
  - name: corp
    urls: ["${primary.url}", "${backup.url}"]
    bind_dn: "${primary.rootDn}"
    bind_password: "${primary.rootPassword}"
    base_dn: "${PEOPLE}"
    connect_timeout_seconds: 1
    operation_timeout_seconds: 2
    retry_seconds: 1
ldap_listeners:
${listener('plain', 'size_limit: 3, allow_password_change: true')}
${listener('ldaps', `tls: { mode: ldaps, cert_file: "${cert}", key_file: "${key}" }`)}
${listener('starttls', `tls: { mode: starttls, cert_file: "${cert}", key_file: "${key}" }`)}
${listener('anon', 'allow_anonymous: true')}
${listener('strict', 'max_filter_depth: 8, max_message_bytes: 4096, max_connections_per_client: 3, idle_timeout_seconds: 1')}
`,
});

const ports = new Map(daemon.logs.filter((l) => l.msg === 'LDAP listening').map((l) => [l.listener as string, l.port as number]));
const url = (name: string, scheme = 'ldap') => `${scheme}://127.0.0.1:${ports.get(name)}`;
const PLAIN = url('plain');
const alice = { dn: userDn('alice'), password: 'alice-pass' };
const bob = { dn: userDn('bob'), password: 'bob-pass' };

function ldapCompare(u: string, bind: { dn: string; password: string }, dn: string, assertion: string, opts: { caCert?: string } = {}): Promise<LdapToolResult> {
  return ldapTool('ldapcompare', ['-x', '-H', u, '-o', 'nettimeout=2', '-D', bind.dn, '-w', bind.password, dn, assertion], opts);
}

/** ldapmodify or ldapadd with the LDIF in a file. */
async function withLdif(command: string, u: string, bind: { dn: string; password: string }, ldif: string): Promise<LdapToolResult> {
  const file = join(daemon.dir, `change-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
  await writeFile(file, ldif);
  return ldapTool(command, ['-x', '-H', u, '-o', 'nettimeout=2', '-D', bind.dn, '-w', bind.password, '-f', file]);
}
const ldapModify = (u: string, bind: { dn: string; password: string }, ldif: string) => withLdif('ldapmodify', u, bind, ldif);

// Raw TCP clients, for hostile input and for requests ldap-utils cannot send.

/** A raw client: collects bytes, resolves `closed` when the server closes. */
function raw(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(chunks), closed }));
    socket.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);

/** BER TLV with a definite length. */
function tlv(tag: number, value: Buffer): Buffer {
  const n = value.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : n < 0x10000 ? Buffer.from([0x82, n >> 8, n & 0xff]) : Buffer.from([0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, value]);
}
const octets = (s: string) => tlv(0x04, Buffer.from(s));
/** A non-negative INTEGER, shortest two's complement form. */
function int(n: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function searchMessage(id: number, filter: Buffer): Buffer {
  const body = Buffer.concat([octets(PEOPLE), tlv(0x0a, Buffer.from([2])), tlv(0x0a, Buffer.from([0])), int(0), int(0), tlv(0x01, Buffer.from([0])), filter, tlv(0x30, Buffer.alloc(0))]);
  return tlv(0x30, Buffer.concat([int(id), tlv(0x63, body)]));
}

function nested(depth: number): Buffer {
  let f = tlv(0x87, Buffer.from('objectClass'));
  for (let i = 1; i < depth; i++) f = tlv(0xa0, f);
  return f;
}

/** The resultCode of the first LDAPResult-shaped message with `opTag` in `bytes`, and whether a Notice of Disconnection follows. */
function results(bytes: Buffer): { op: number; id: number; code: number; notice: boolean }[] {
  const out: { op: number; id: number; code: number; notice: boolean }[] = [];
  let p = 0;
  while (p < bytes.length) {
    // 0x30 len(short or 0x84) id op...
    const lenByte = bytes[p + 1]!;
    let hl = 2;
    let len = lenByte;
    if (lenByte & 0x80) {
      const n = lenByte & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + bytes[p + 2 + i]!;
      hl = 2 + n;
    }
    const msg = bytes.subarray(p + hl, p + hl + len);
    const idLen = msg[1]!;
    const id = msg.readUIntBE(2, idLen);
    const opAt = 2 + idLen;
    const op = msg[opAt]!;
    const opLenByte = msg[opAt + 1]!;
    const opHl = opLenByte & 0x80 ? 2 + (opLenByte & 0x7f) : 2;
    const code = msg[opAt + opHl + 2]!; // ENUMERATED 0x0a 0x01 <code>
    out.push({ op, id, code, notice: op === 0x78 && msg.includes(Buffer.from('1.3.6.1.4.1.1466.20036')) });
    p += hl + len;
  }
  return out;
}

t.test('the listeners are up', async (t) => {
  t.same([...ports.keys()].sort(), ['anon', 'ldaps', 'plain', 'starttls', 'strict']);
});

t.test('simple bind: success, wrong password, empty password, anonymous', async (t) => {
  const ok = await ldapWhoami(PLAIN, alice.dn, alice.password);
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout.trim(), `dn:${alice.dn}`, 'Who am I? answers the bound DN');
  const wrong = await ldapWhoami(PLAIN, alice.dn, 'nope');
  t.equal(wrong.code, 49, 'invalidCredentials from the directory');
  const nobody = await ldapWhoami(PLAIN, userDn('nobody'), 'x');
  t.equal(nobody.code, 49, 'unknown DN: invalidCredentials');
  // RFC 4513 §5.1.2: a DN with an empty password is an unauthenticated bind, refused (unwillingToPerform).
  const empty = await ldapWhoami(PLAIN, alice.dn, '');
  t.equal(empty.code, 53, empty.stderr);
  // Anonymous bind refused by default: inappropriateAuthentication (RFC 4511 Appendix A).
  const anon = await ldapTool('ldapwhoami', ['-x', '-H', PLAIN, '-o', 'nettimeout=2']);
  t.equal(anon.code, 48, anon.stderr);
  const bad = await ldapWhoami(PLAIN, 'not a dn', 'x');
  t.equal(bad.code, 34, 'invalidDNSyntax');
});

t.test('searches run with the client\'s own rights', async (t) => {
  const own = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(uid=alice)', attrs: ['cn', 'telephoneNumber'], bind: alice });
  t.equal(own.code, 0, own.stderr);
  t.same(ldifValues(own.stdout, 'dn'), [alice.dn]);
  t.same(ldifValues(own.stdout, 'telephoneNumber'), ['+1 555 0100'], 'alice reads her own telephoneNumber');
  const other = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(uid=alice)', attrs: ['cn', 'telephoneNumber'], bind: bob });
  t.equal(other.code, 0, other.stderr);
  t.same(ldifValues(other.stdout, 'cn'), ['alice'], 'bob reads the entry');
  t.same(ldifValues(other.stdout, 'telephoneNumber'), [], 'but not what only alice may read (no service account rights)');
  const userPassword = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(uid=bob)', attrs: ['userPassword'], bind: alice });
  t.same(ldifValues(userPassword.stdout, 'userPassword'), []);
});

t.test('filters reach the directory as the client sent them (RFC 4515 escapes, substrings, and/or/not)', async (t) => {
  const star = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(uid=\\2a)', attrs: ['uid'], bind: alice });
  t.equal(star.code, 0);
  t.same(ldifValues(star.stdout, 'uid'), [], 'an escaped * is a literal asterisk, not a wildcard');
  const complex = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(&(objectClass=inetOrgPerson)(|(uid=al*)(uid=*ob))(!(uid=carol)))', attrs: ['uid'], bind: alice });
  t.equal(complex.code, 0, complex.stderr);
  t.same(ldifValues(complex.stdout, 'uid').sort(), ['alice', 'bob']);
  const groups = await ldapSearch(PLAIN, { base: GROUPS, filter: `(member=${alice.dn})`, attrs: ['cn'], bind: alice });
  t.same(ldifValues(groups.stdout, 'cn'), ['staff'], 'a second allowed base');
});

t.test('base DN restriction: noSuchObject outside the allowed subtrees', async (t) => {
  for (const base of [SUFFIX, `ou=secret,${SUFFIX}`, 'dc=other']) {
    const r = await ldapSearch(PLAIN, { base, filter: '(objectClass=*)', bind: alice });
    t.equal(r.code, 32, `${base}: ${r.stderr}`);
    t.same(ldifValues(r.stdout, 'dn'), [], 'nothing returned');
  }
  const mixedCase = await ldapSearch(PLAIN, { base: 'OU=People, DC=Example,DC=Test', filter: '(uid=bob)', attrs: ['uid'], bind: alice });
  t.equal(mixedCase.code, 0, 'DNs compare without case and spaces');
  const compareOutside = await ldapCompare(PLAIN, alice, `ou=secret,${SUFFIX}`, 'ou:secret');
  t.equal(compareOutside.code, 32);
});

t.test('size limit: the smaller of the listener\'s (3) and the client\'s', async (t) => {
  const all = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(objectClass=inetOrgPerson)', attrs: ['uid'], bind: alice });
  t.equal(all.code, 4, 'sizeLimitExceeded');
  t.equal(ldifValues(all.stdout, 'uid').length, 3);
  const two = await ldapTool('ldapsearch', ['-x', '-LLL', '-H', PLAIN, '-D', alice.dn, '-w', alice.password, '-z', '2', '-b', PEOPLE, '(objectClass=inetOrgPerson)', 'uid']);
  t.equal(two.code, 4);
  t.equal(ldifValues(two.stdout, 'uid').length, 2);
  const other = await ldapSearch(url('anon'), { base: PEOPLE, filter: '(objectClass=inetOrgPerson)', attrs: ['uid'], bind: alice });
  t.equal(other.code, 0, 'the default listener limit (1000) lets all five through');
  t.equal(ldifValues(other.stdout, 'uid').length, 5);
});

t.test('compare', async (t) => {
  const yes = await ldapCompare(PLAIN, alice, alice.dn, 'mail:alice@example.test');
  t.equal(yes.code, 6, 'compareTrue');
  t.match(yes.stdout, /TRUE/);
  const no = await ldapCompare(PLAIN, alice, alice.dn, 'mail:bob@example.test');
  t.equal(no.code, 5, 'compareFalse');
  const hidden = await ldapCompare(PLAIN, bob, alice.dn, 'telephoneNumber:+1 555 0100');
  t.not(hidden.code, 6, 'bob cannot compare what he cannot read');
});

t.test('operations before a bind are refused when anonymous access is off', async (t) => {
  // ldapsearch -x binds anonymously first: that bind is refused.
  const r = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(uid=alice)' });
  t.equal(r.code, 48, 'inappropriateAuthentication');
  // A search with no bind at all (raw client below): insufficientAccessRights.
  const c = await raw(ports.get('plain')!);
  c.socket.write(searchMessage(5, tlv(0x87, Buffer.from('objectClass'))));
  await until(() => results(c.received()).length > 0);
  t.match(results(c.received())[0], { op: 0x65, id: 5, code: 50 });
  c.socket.destroy();
});

t.test('anonymous allowed on one listener: bind, Who am I?, search as anonymous', async (t) => {
  const who = await ldapTool('ldapwhoami', ['-x', '-H', url('anon'), '-o', 'nettimeout=2']);
  t.equal(who.code, 0, who.stderr);
  t.equal(who.stdout.trim(), 'anonymous');
  // The directory lets anonymous read nothing: the search runs as anonymous there too, same answer.
  const s = await ldapSearch(url('anon'), { base: PEOPLE, filter: '(uid=alice)' });
  const direct = await ldapSearch(backup.url, { base: PEOPLE, filter: '(uid=alice)' });
  t.equal(s.code, direct.code, `as slapd answers anonymous (${direct.code})`);
  t.same(ldifValues(s.stdout, 'dn'), []);
  // An unauthenticated bind (DN, no password) is anonymous here, never alice.
  const unauth = await ldapWhoami(url('anon'), alice.dn, '');
  t.equal(unauth.code, 0);
  t.equal(unauth.stdout.trim(), 'anonymous');
});

t.test('root DSE: the proxy\'s own', async (t) => {
  const r = await ldapTool('ldapsearch', ['-x', '-ZZ', '-LLL', '-H', url('starttls'), '-D', alice.dn, '-w', alice.password, '-b', '', '-s', 'base', '+'], { caCert: ca });
  t.equal(r.code, 0, r.stderr);
  t.same(ldifValues(r.stdout, 'namingContexts'), [PEOPLE, GROUPS]);
  t.same(ldifValues(r.stdout, 'supportedExtension').sort(), ['1.3.6.1.4.1.1466.20037', '1.3.6.1.4.1.4203.1.11.3']);
  t.same(ldifValues(r.stdout, 'supportedLDAPVersion'), ['3']);
});

t.test('LDAPS', async (t) => {
  const who = await ldapWhoami(url('ldaps', 'ldaps'), alice.dn, alice.password, { caCert: ca });
  t.equal(who.code, 0, who.stderr);
  t.equal(who.stdout.trim(), `dn:${alice.dn}`);
  const s = await ldapSearch(url('ldaps', 'ldaps'), { base: PEOPLE, filter: '(uid=bob)', attrs: ['uid'], bind: alice }, { caCert: ca });
  t.same(ldifValues(s.stdout, 'uid'), ['bob']);
  const cmp = await ldapCompare(url('ldaps', 'ldaps'), alice, alice.dn, 'uid:alice', { caCert: ca });
  t.equal(cmp.code, 6);
  const wrong = await ldapWhoami(url('ldaps', 'ldaps'), alice.dn, 'nope', { caCert: ca });
  t.equal(wrong.code, 49);
  const untrusted = await ldapWhoami(url('ldaps', 'ldaps'), alice.dn, alice.password, { caCert: '/etc/ssl/certs/ca-certificates.crt' });
  t.not(untrusted.code, 0, 'a client that does not trust the CA fails the handshake');
});

t.test('StartTLS', async (t) => {
  const who = await ldapTool('ldapwhoami', ['-x', '-ZZ', '-H', url('starttls'), '-o', 'nettimeout=2', '-D', alice.dn, '-w', alice.password], { caCert: ca });
  t.equal(who.code, 0, who.stderr);
  t.equal(who.stdout.trim(), `dn:${alice.dn}`);
  const search = await ldapTool('ldapsearch', ['-x', '-ZZ', '-LLL', '-H', url('starttls'), '-D', alice.dn, '-w', alice.password, '-b', PEOPLE, '(uid=alice)', 'mail'], { caCert: ca });
  t.equal(search.code, 0, search.stderr);
  t.same(ldifValues(search.stdout, 'mail'), ['alice@example.test']);
  // No password in clear on a StartTLS listener: confidentialityRequired.
  const clear = await ldapWhoami(url('starttls'), alice.dn, alice.password);
  t.equal(clear.code, 13, 'confidentialityRequired');
  const notOffered = await ldapTool('ldapwhoami', ['-x', '-ZZ', '-H', PLAIN, '-o', 'nettimeout=2', '-D', alice.dn, '-w', alice.password], { caCert: ca });
  t.not(notOffered.code, 0, 'StartTLS is not offered on a plain listener');
});

t.test('password change by Modify (replace userPassword on one\'s own entry), when enabled', async (t) => {
  const carol = { dn: userDn('carol'), password: 'carol-pass' };
  const change = (dn: string, pw: string) => `dn: ${dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${pw}\n`;
  const other = await ldapModify(PLAIN, bob, change(carol.dn, 'stolen'));
  t.equal(other.code, 53, 'not on someone else\'s entry');
  const mod = await ldapModify(PLAIN, carol, change(carol.dn, 'carol-new'));
  t.equal(mod.code, 0, mod.stderr);
  t.equal((await ldapWhoami(PLAIN, carol.dn, 'carol-new')).code, 0, 'the new password works');
  t.equal((await ldapWhoami(PLAIN, carol.dn, 'carol-pass')).code, 49, 'the old one does not');
  const mail = await ldapModify(PLAIN, { dn: carol.dn, password: 'carol-new' }, `dn: ${carol.dn}\nchangetype: modify\nreplace: mail\nmail: x@example.test\n`);
  t.equal(mail.code, 53, 'other modifications are refused');
  const off = await ldapModify(url('anon'), bob, change(bob.dn, 'bob-new'));
  t.equal(off.code, 53, 'off unless allow_password_change');
});

t.test('other operations get unwillingToPerform or protocolError', async (t) => {
  const add = await withLdif('ldapadd', PLAIN, alice, `dn: uid=mallory,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: mallory\ncn: m\nsn: m\n`);
  t.equal(add.code, 53, 'add: unwillingToPerform');
  const del = await ldapTool('ldapdelete', ['-x', '-H', PLAIN, '-o', 'nettimeout=2', '-D', alice.dn, '-w', alice.password, userDn('erin')]);
  t.equal(del.code, 53, 'delete: unwillingToPerform');
  const modrdn = await ldapTool('ldapmodrdn', ['-x', '-H', PLAIN, '-o', 'nettimeout=2', '-D', alice.dn, '-w', alice.password, userDn('erin'), 'uid=erin2']);
  t.equal(modrdn.code, 53, 'modifyDN: unwillingToPerform');
  const passwd = await ldapTool('ldappasswd', ['-x', '-H', PLAIN, '-o', 'nettimeout=2', '-D', alice.dn, '-w', alice.password, '-s', 'x']);
  t.match(passwd.stdout, /Protocol error \(2\)/, 'an unknown extended operation (Password Modify): protocolError (RFC 4511 §4.12)');
});

// ---------------------------------------------------------------------------------------
// Hostile input over raw TCP

async function stillServes(t: { equal(found: unknown, wanted: unknown, msg: string): unknown }, what: string): Promise<void> {
  const r = await ldapWhoami(url('strict'), alice.dn, alice.password);
  t.equal(r.code, 0, `${what}: another client is served (${r.stderr})`);
}

t.test('a filter nested deeper than max_filter_depth: adminLimitExceeded, then disconnection', async (t) => {
  const c = await raw(ports.get('strict')!);
  c.socket.write(searchMessage(7, nested(200)));
  await within(c.closed, 2000, 'close after a deep filter');
  const got = results(c.received());
  t.match(got[0], { op: 0x65, id: 7, code: 11 }, 'the search is answered adminLimitExceeded');
  t.match(got[1], { op: 0x78, id: 0, code: 2, notice: true }, 'Notice of Disconnection (protocolError)');
  await stillServes(t, 'deep filter');
  const ok = await raw(ports.get('strict')!);
  ok.socket.write(searchMessage(8, nested(8)));
  await until(() => results(ok.received()).length > 0);
  t.match(results(ok.received())[0], { op: 0x65, id: 8, code: 50 }, 'depth 8 is fine (and answered: bind first)');
  ok.socket.destroy();
});

t.test('an oversized message length: disconnection before the body is read', async (t) => {
  const c = await raw(ports.get('strict')!);
  c.socket.write(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01]));
  await within(c.closed, 2000, 'close after an oversized length');
  t.match(results(c.received())[0], { op: 0x78, id: 0, code: 2, notice: true });
  const big = await raw(ports.get('strict')!);
  big.socket.write(searchMessage(3, tlv(0xa3, Buffer.concat([octets('cn'), octets('x'.repeat(5000))]))));
  await within(big.closed, 2000, 'close after 5000 bytes on a 4096-byte listener');
  await stillServes(t, 'oversized message');
});

t.test('garbage bytes and a response sent as a request: disconnection', async (t) => {
  for (const bytes of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), tlv(0x30, Buffer.concat([int(1), tlv(0x61, Buffer.alloc(0))])), Buffer.from([0x30, 0x80, 0x00, 0x00])]) {
    const c = await raw(ports.get('strict')!);
    c.socket.write(bytes);
    await within(c.closed, 2000, `close after ${bytes.subarray(0, 4).toString('hex')}`);
    t.match(results(c.received())[0], { op: 0x78, code: 2, notice: true });
  }
  await stillServes(t, 'garbage');
});

t.test('connections per client address are limited; idle connections are closed', async (t) => {
  const held = await Promise.all([raw(ports.get('strict')!), raw(ports.get('strict')!), raw(ports.get('strict')!)]);
  const fourth = await raw(ports.get('strict')!);
  await within(fourth.closed, 2000, 'the fourth connection is refused');
  t.equal(fourth.received().length, 0, 'refused before any LDAP');
  await Promise.all(held.map((h) => within(h.closed, 3000, 'idle timeout (1 s)')));
  await stillServes(t, 'after the limit');
});

t.test('pipelined requests are all answered, in order (the queue pauses reading, never drops)', async (t) => {
  const c = await raw(ports.get('plain')!);
  const n = 200;
  c.socket.write(Buffer.concat(Array.from({ length: n }, (_, i) => searchMessage(i + 1, tlv(0x87, Buffer.from('objectClass'))))));
  t.ok(await until(() => results(c.received()).length >= n, 5000), 'all answered');
  const got = results(c.received());
  t.same(got.map((r) => r.id), Array.from({ length: n }, (_, i) => i + 1));
  t.ok(got.every((r) => r.op === 0x65 && r.code === 50), 'each: insufficientAccessRights (no bind)');
  c.socket.destroy();
});

t.test('the daemon counts all of it', async (t) => {
  const m = (name: string, labels: Record<string, string>) => daemon.metric(name, labels);
  t.ok((await m('aaaproxy_ldap_front_operations_total', { listener: 'plain', operation: 'bind', result: 'success' })) > 0);
  t.ok((await m('aaaproxy_ldap_front_operations_total', { listener: 'plain', operation: 'bind', result: 'invalidCredentials' })) > 0);
  t.ok((await m('aaaproxy_ldap_front_operations_total', { listener: 'plain', operation: 'search', result: 'noSuchObject' })) > 0);
  t.ok((await m('aaaproxy_ldap_front_disconnects_total', { listener: 'strict', reason: 'filter_too_deep' })) >= 1);
  t.ok((await m('aaaproxy_ldap_front_disconnects_total', { listener: 'strict', reason: 'message_too_large' })) >= 2);
  t.ok((await m('aaaproxy_ldap_front_disconnects_total', { listener: 'strict', reason: 'idle_timeout' })) >= 3);
  t.ok((await m('aaaproxy_ldap_front_rejected_connections_total', { listener: 'strict', reason: 'per_client_limit' })) >= 1);
  t.ok((await m('aaaproxy_ldap_front_connections_total', { listener: 'ldaps' })) > 0);
  t.ok(daemon.logs.some((l: LogLine) => l.msg === 'LDAP bind refused' && l.dn === alice.dn), 'refused binds are logged with the DN');
  const text = daemon.logs.map((l) => JSON.stringify(l)).join('\n') + daemon.stderr();
  for (const secret of ['alice-pass', 'bob-pass', 'carol-pass', 'carol-new', primary.rootPassword]) t.notMatch(text, secret, `${secret} never logged`);
  t.notOk(daemon.logs.some((l) => l.msg === 'LDAP front server error'), 'no internal error');
});

t.test('failover: the primary stopped, the backup serves; new binds come back to the primary', async (t) => {
  await primary.stop();
  const r = await ldapWhoami(PLAIN, alice.dn, alice.password);
  t.equal(r.code, 0, r.stderr);
  const s = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(uid=bob)', attrs: ['uid'], bind: alice });
  t.same(ldifValues(s.stdout, 'uid'), ['bob'], 'served by the backup');
  await daemon.waitForMetric('aaaproxy_upstream_state', { server: `ldap:corp ${primary.url}`, state: 'dead' }, (v) => v === 1, 3000);
  await primary.start();
  await new Promise((r) => setTimeout(r, 1100)); // retry_seconds
  const back = await ldapWhoami(PLAIN, alice.dn, alice.password);
  t.equal(back.code, 0);
  await daemon.waitForMetric('aaaproxy_upstream_state', { server: `ldap:corp ${primary.url}`, state: 'alive' }, (v) => v === 1, 3000);
});

t.test('the primary stalled (SIGSTOP): a bind fails over to the backup within the operation timeout', async (t) => {
  primary.pause();
  const started = Date.now();
  const r = await ldapTool('ldapwhoami', ['-x', '-H', PLAIN, '-o', 'nettimeout=2', '-D', alice.dn, '-w', alice.password], { timeoutMs: 8000 });
  t.equal(r.code, 0, r.stderr);
  t.ok(Date.now() - started < 6000, `answered in ${Date.now() - started} ms (operation timeout 2 s, then the backup)`);
  primary.resume();
  await new Promise((res) => setTimeout(res, 1100)); // retry_seconds
});

t.test('no directory server answering: the bind is answered unavailable (52), not left hanging', async (t) => {
  await Promise.all([primary.stop(), backup.stop()]);
  const started = Date.now();
  const r = await ldapWhoami(PLAIN, alice.dn, alice.password, { timeoutMs: 8000 });
  t.equal(r.code, 52, r.stderr);
  t.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms (refused connections, nothing to wait for)`);
  await Promise.all([primary.start(), backup.start()]);
  await new Promise((res) => setTimeout(res, 1100));
  t.equal((await ldapWhoami(PLAIN, alice.dn, alice.password)).code, 0, 'served again');
});

t.test('a session whose directory server goes away ends with a Notice of Disconnection (unavailable)', async (t) => {
  const c = await raw(ports.get('anon')!);
  // Anonymous search opens the session's directory connection (on the primary).
  c.socket.write(searchMessage(1, tlv(0x87, Buffer.from('objectClass'))));
  await until(() => results(c.received()).length > 0);
  t.match(results(c.received())[0], { op: 0x65, id: 1 }, 'answered by the directory (as anonymous)');
  await primary.stop();
  await within(c.closed, 3000, 'the session ends when its directory connection does');
  t.match(results(c.received()).at(-1), { op: 0x78, id: 0, code: 52, notice: true });
  await primary.start();
});

t.test('reload: new limits for new connections on the same port; a bad config keeps the old one', async (t) => {
  const before = ports.get('plain');
  const text = await readFile(daemon.configPath, 'utf8');
  await writeFile(daemon.configPath, text.replace('size_limit: 3', 'size_limit: 2'));
  t.equal((await daemon.reload()).msg, 'config reloaded');
  const r = await ldapSearch(PLAIN, { base: PEOPLE, filter: '(objectClass=inetOrgPerson)', attrs: ['uid'], bind: alice });
  t.equal(r.code, 4);
  t.equal(ldifValues(r.stdout, 'uid').length, 2, 'the new size limit');
  t.equal(before, ports.get('plain'));
  await writeFile(daemon.configPath, text.replace(`base_dns: ["${PEOPLE}"`, 'base_dns: ["not a dn"'));
  const refused = await daemon.reload();
  t.match(refused.msg, /reload refused: .*ldap_listeners\[0\]\.base_dns\[0\]: not a valid DN/);
  t.equal((await ldapWhoami(PLAIN, alice.dn, alice.password)).code, 0, 'the old config serves');
});

t.test('SIGTERM drains: an idle session gets a Notice of Disconnection, the daemon exits 0', async (t) => {
  const c = await raw(ports.get('anon')!);
  await new Promise((r) => setTimeout(r, 100));
  const code = await daemon.stop(10_000);
  t.equal(code, 0);
  await within(c.closed, 2000, 'session closed');
  t.match(results(c.received()).at(-1), { op: 0x78, code: 52, notice: true });
});

