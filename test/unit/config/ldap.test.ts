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
  t.same(d.groups, { mode: 'memberOf', attribute: 'memberOf' });
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
