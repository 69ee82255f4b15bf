import t from 'tap';
import { loadConfigText } from '../../../src/config/load.js';

const base = `listeners: [{ type: auth, address: 127.0.0.1, port: 0 }]
clients: [{ name: a, address: 127.0.0.1, secret: s }]
local_users: { file: users.yaml }
accounting: { log: { path: acct.jsonl } }
`;

t.test('an LDAP directory with defaults, and a route to it', async (t) => {
  const r = loadConfigText('/etc/aaaproxy/x.yaml', `${base}ldap_directories:
  - { name: corp, urls: ["ldaps://dc1.example.test"], bind_dn: "cn=svc", bind_password: pw, base_dn: "dc=example,dc=test", tls: { ca_file: ca.pem } }
routes:
  - { auth: "ldap:corp" }
`);
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (!r.ok) return;
  const d = r.config.ldap_directories[0]!;
  t.equal(d.user_filter, '(uid={user})');
  t.same(d.groups, { mode: 'memberOf', attribute: 'memberOf', filter: '(|(member={dn})(uniqueMember={dn}))', nested_depth: 2, in_chain: false });
  t.equal(d.type, 'generic');
  t.equal(d.strip_domain, false);
  t.equal(d.connect_timeout_seconds, 15, 'the issue: connection timeout 15 s by default');
  t.equal(d.operation_timeout_seconds, 5);
  t.equal(d.on_unreachable, 'drop');
  t.same(d.roles, []);
  t.equal(d.health_check, undefined);
  t.equal(d.source_address, undefined);
  t.equal(d.tls.ca_file, '/etc/aaaproxy/ca.pem', 'relative to the config file');
});

t.test('errors name the line and key', async (t) => {
  const r = loadConfigText('x.yaml', `${base}ldap_directories:
  - { name: corp, urls: ["http://nope"], bind_dn: "cn=svc", bind_password: pw, base_dn: "dc=x", user_filter: "(uid=x)" }
routes:
  - { auth: "ldap:other" }
`);
  t.notOk(r.ok);
  if (r.ok) return;
  const byKey = new Map(r.errors.map((e) => [e.key, e]));
  t.match(byKey.get('ldap_directories[0].urls[0]')?.message, /ldap:\/\//);
  t.match(byKey.get('ldap_directories[0].user_filter')?.message, /\{user\}/);
  t.match(byKey.get('routes[0].auth'), { line: 8, message: /no ldap_directories entry named other/ });
});

const dir = (extra: string, urls = '["ldap://dc1.example.test"]') =>
  `${base}ldap_directories:\n  - name: corp\n    urls: ${urls}\n    bind_dn: "cn=svc"\n    bind_password: pw\n    base_dn: "dc=example,dc=test"\n${extra
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `    ${l}`)
    .join('\n')}\n`;

t.test('active-directory: user filter, domain stripping and in-chain nesting by default', async (t) => {
  const r = loadConfigText('x.yaml', dir('type: active-directory'));
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (!r.ok) return;
  const d = r.config.ldap_directories[0]!;
  t.equal(d.user_filter, '(&(objectClass=user)(sAMAccountName={user}))');
  t.equal(d.strip_domain, true);
  t.equal(d.groups.mode, 'memberOf');
  t.equal(d.groups.in_chain, true);
  const own = loadConfigText('x.yaml', dir('type: active-directory\nuser_filter: "(userPrincipalName={user})"\nstrip_domain: false\ngroups: { in_chain: false }'));
  t.ok(own.ok);
  if (!own.ok) return;
  const o = own.config.ldap_directories[0]!;
  t.same([o.user_filter, o.strip_domain, o.groups.in_chain], ['(userPrincipalName={user})', false, false], 'explicit settings win');
});

t.test('servers: a primary and at most two backups, host names and IP literals, default ports', async (t) => {
  const ok = loadConfigText('x.yaml', dir('', '["ldap://dc1.example.test", "ldaps://192.0.2.1", "ldap://[2001:db8::1]:3389"]'));
  t.ok(ok.ok, JSON.stringify(ok.ok ? '' : ok.errors));
  const four = loadConfigText('x.yaml', dir('', '["ldap://a", "ldap://b", "ldap://c", "ldap://d"]'));
  t.notOk(four.ok);
  if (!four.ok) t.match(four.errors[0], { key: 'ldap_directories[0].urls', message: /at most two backups/ });
  for (const [url, message] of [
    ['ldap://[192.0.2.1]', /not an IPv6 address/],
    ['ldap://bad_host!', /not a host name or an IPv4 address/],
    ['ldap://host:70000', /out of range/],
    ['ldap://2001:db8::1', /must be ldap/],
  ] as const) {
    const r = loadConfigText('x.yaml', dir('', `["${url}"]`));
    t.notOk(r.ok, url);
    if (!r.ok) t.match(r.errors[0], { key: 'ldap_directories[0].urls[0]', message }, url);
  }
});

t.test('backup service account, health check, on_unreachable, source address', async (t) => {
  const r = loadConfigText(
    'x.yaml',
    dir('backup_bind_dn: "cn=svc2"\nbackup_bind_password: pw2\nhealth_check: { username: probe, password: probe-pw }\non_unreachable: reject\nsource_address: 127.0.0.1'),
  );
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (!r.ok) return;
  const d = r.config.ldap_directories[0]!;
  t.same(d.health_check, { username: 'probe', password: 'probe-pw', interval_minutes: 60 });
  t.equal(d.on_unreachable, 'reject');
  t.equal(d.source_address, '127.0.0.1');
  const lo = loadConfigText('x.yaml', dir('source_interface: lo'));
  t.ok(lo.ok);
  if (lo.ok) t.equal(lo.config.ldap_directories[0]!.source_address, '127.0.0.1', 'an interface resolves to its address');

  const bad = loadConfigText(
    'x.yaml',
    dir('backup_bind_dn: "cn=svc2"\nhealth_check: { username: probe, password: pw, interval_minutes: 1 }\non_unreachable: maybe\nsource_address: "::1"', '["ldap://127.0.0.1"]'),
  );
  t.notOk(bad.ok);
  if (bad.ok) return;
  const byKey = new Map(bad.errors.map((e) => [e.key, e]));
  t.match(byKey.get('ldap_directories[0].health_check.interval_minutes'), { line: 12, message: /5/ });
  t.ok(byKey.has('ldap_directories[0].on_unreachable'));
  const half = loadConfigText('x.yaml', dir('backup_bind_dn: "cn=svc2"'));
  t.notOk(half.ok);
  if (!half.ok) t.match(half.errors[0], { key: 'ldap_directories[0].backup_bind_password', message: /go together/ });
  const mixed = loadConfigText('x.yaml', dir('source_address: "::1"', '["ldap://127.0.0.1"]'));
  t.notOk(mixed.ok);
  if (!mixed.ok) t.match(mixed.errors[0], { key: 'ldap_directories[0].urls[0]', message: /not of the source address's family/ });
});

t.test('groups: search mode and dynamic groups need base_dn; placeholders; nesting', async (t) => {
  const r = loadConfigText('x.yaml', dir('groups: { mode: search, base_dn: "ou=groups,dc=example,dc=test", dynamic: {} }'));
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (r.ok) t.same(r.config.ldap_directories[0]!.groups.dynamic, { filter: '(objectClass=groupOfURLs)', url_attribute: 'memberURL' });
  const posix = loadConfigText('x.yaml', dir('groups: { mode: search, base_dn: "ou=groups,dc=x", filter: "(memberUid={user})" }'));
  t.ok(posix.ok);
  if (posix.ok) t.equal(posix.config.ldap_directories[0]!.groups.nested_depth, 0, 'no nesting by default for a filter without {dn}');
  for (const [groups, key, message] of [
    ['{ mode: search }', 'groups.base_dn', /needs base_dn/],
    ['{ dynamic: {} }', 'groups.base_dn', /dynamic groups need base_dn/],
    ['{ mode: search, base_dn: "dc=x", filter: "(member={group})" }', 'groups.filter', /unknown placeholder \{group\}/],
    ['{ mode: search, base_dn: "dc=x", filter: "(memberUid={user})", nested_depth: 1 }', 'groups.nested_depth', /\{dn\}/],
    ['{ nested_depth: 11 }', 'groups.nested_depth', /10/],
  ] as const) {
    const bad = loadConfigText('x.yaml', dir(`groups: ${groups}`));
    t.notOk(bad.ok, groups);
    if (!bad.ok) t.match(bad.errors[0], { key: `ldap_directories[0].${key}`, message }, groups);
  }
});

t.test('roles: defaults, vlan, and what is refused', async (t) => {
  const r = loadConfigText(
    'x.yaml',
    dir(`roles:
  - name: admins
    match: { groups: ["cn=admins,dc=example,dc=test"] }
    vlan: 10
    reply: { Filter-Id: admins, Class: ["0x61", "0x62"] }
  - { name: everyone, reply: { Session-Timeout: 3600 }, continue: true }`),
  );
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (!r.ok) return;
  const roles = r.config.ldap_directories[0]!.roles;
  t.same(roles[0], { name: 'admins', match: { groups: ['cn=admins,dc=example,dc=test'] }, vlan: 10, reply: { 'Filter-Id': 'admins', Class: ['0x61', '0x62'] }, continue: false });
  t.same(roles[1]!.match, {}, 'no condition: always matches');
  const bad = loadConfigText(
    'x.yaml',
    dir(`roles:
  - { name: a, vlan: 10, reply: { Tunnel-Private-Group-Id: "20" } }
  - { name: a }
  - { name: c, group_replies: [] }`),
  );
  t.notOk(bad.ok);
  if (bad.ok) return;
  const byKey = new Map(bad.errors.map((e) => [e.key, e]));
  t.match(byKey.get('ldap_directories[0].roles[0].reply.Tunnel-Private-Group-Id'), { line: 12, message: /vlan/ });
  t.match(byKey.get('ldap_directories[0].roles[1]'), { message: /listed twice/ });
  t.ok(bad.errors.some((e) => e.key.startsWith('ldap_directories[0].roles[2]')), 'unknown keys refused');
  const old = loadConfigText('x.yaml', dir('group_replies: []'));
  t.notOk(old.ok, 'group_replies is gone (README: Role mapping has the migration)');
});

t.test('what the schema cannot check: reply attributes against the dictionary, DNs and filters', async (t) => {
  const { checkLdapDirectories } = await import('../../../src/daemon/ldap-backends.js');
  const { loadDictionary } = await import('../../../src/radius/builtin-dictionary.js');
  const r = loadConfigText(
    'x.yaml',
    dir(`user_filter: "(uid={user}"
groups: { mode: search, base_dn: "not a dn", filter: "(member={dn})" }
roles:
  - name: r1
    match: { groups: ["cn=ok,dc=x", "nonsense"] }
    reply: { No-Such-Attribute: 1, Session-Timeout: [60, many] }
  - { name: r2, vlan: 10 }`),
  );
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (!r.ok) return;
  const issues = checkLdapDirectories(r.config, loadDictionary([]), r.locate);
  const byKey = new Map(issues.map((e) => [e.key, e]));
  t.match(byKey.get('ldap_directories[0].user_filter'), { line: 11, message: /not a valid search filter/ });
  t.match(byKey.get('ldap_directories[0].groups.base_dn'), { line: 12, message: /not a valid DN/ });
  t.match(byKey.get('ldap_directories[0].roles[0].match.groups[1]'), { line: 15, message: /not a valid DN/ });
  t.match(byKey.get('ldap_directories[0].roles[0].reply.No-Such-Attribute'), { line: 16, message: /unknown attribute/ });
  t.match(byKey.get('ldap_directories[0].roles[0].reply.Session-Timeout[1]'), { line: 16 });
  t.equal(issues.length, 5, issues.map((i) => `${i.key}: ${i.message}`).join('\n'));
});

t.test('user_filter: <username> is the same placeholder as {user}; a filter without one is refused', async (t) => {
  const r = loadConfigText('x.yaml', dir('user_filter: "(&(objectClass=person)(cn=<username>))"'));
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (r.ok) t.equal(r.config.ldap_directories[0]!.user_filter, '(&(objectClass=person)(cn={user}))');
  const none = loadConfigText('x.yaml', dir('user_filter: "(cn=admin)"'));
  t.notOk(none.ok);
  if (!none.ok) t.match(none.errors[0]!.message, /must contain \{user\} \(or <username>\)/);
});
