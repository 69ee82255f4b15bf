import t from 'tap';
import { loadConfigText } from '../../../src/config/load.js';
import { checkLdapListeners } from '../../../src/daemon/ldap-services.js';
import { testCerts } from '../../helpers/freeradius.js';

const base = `listeners: [{ type: auth, address: 127.0.0.1, port: 0 }]
clients: [{ name: a, address: 127.0.0.1, secret: s }]
local_users: { file: users.yaml }
accounting: { log: { path: acct.jsonl } }
ldap_directories:
  - { name: corp, urls: ["ldap://127.0.0.1"], bind_dn: "cn=svc", bind_password: pw, base_dn: "dc=example,dc=test" }
`;

t.test('defaults: ports by TLS mode, limits, anonymous off; paths relative to the config file', async (t) => {
  const r = loadConfigText('/etc/aaaproxy/x.yaml', `${base}ldap_listeners:
  - { name: plain, address: 127.0.0.1, directory: corp, base_dns: ["dc=example,dc=test"] }
  - { name: secure, address: 127.0.0.1, directory: corp, base_dns: ["dc=example,dc=test"], tls: { mode: ldaps, cert_file: tls/ldap.pem, key_file: tls/ldap.key } }
  - { name: upgrade, address: 127.0.0.1, port: 10389, directory: corp, base_dns: ["dc=example,dc=test"], tls: { mode: starttls, cert_file: /x.pem, key_file: /x.key } }
`);
  t.ok(r.ok, JSON.stringify(r.ok ? '' : r.errors));
  if (!r.ok) return;
  const [plain, secure, upgrade] = r.config.ldap_listeners;
  t.match(plain, {
    port: 389,
    tls: { mode: 'none' },
    size_limit: 1000,
    time_limit_seconds: 60,
    allow_anonymous: false,
    allow_password_change: false,
    max_message_bytes: 262144,
    max_filter_depth: 32,
    max_connections: 1024,
    max_connections_per_client: 64,
    idle_timeout_seconds: 300,
  });
  t.match(secure, { port: 636, tls: { mode: 'ldaps', cert_file: '/etc/aaaproxy/tls/ldap.pem', key_file: '/etc/aaaproxy/tls/ldap.key' } });
  t.match(upgrade, { port: 10389, tls: { mode: 'starttls' } });
});

t.test('an interface instead of an address, as for RADIUS listeners', async (t) => {
  const r = loadConfigText('x.yaml', `${base}ldap_listeners:
  - { name: lo, interface: lo, directory: corp, base_dns: ["dc=x"] }
  - { name: nope, interface: no-such-if0, port: 1389, directory: corp, base_dns: ["dc=x"] }
`);
  t.notOk(r.ok);
  if (r.ok) return;
  t.same(r.errors.map((e) => e.key), ['ldap_listeners[1].interface'], 'lo resolves; a missing interface is an error with its key');
  const ok = loadConfigText('x.yaml', `${base}ldap_listeners:\n  - { name: lo, interface: lo, directory: corp, base_dns: ["dc=x"] }\n`);
  t.match(ok.ok ? ok.config.ldap_listeners[0] : undefined, { address: '127.0.0.1', port: 389 });
});

t.test('errors name the line and the key', async (t) => {
  const r = loadConfigText('x.yaml', `${base}ldap_listeners:
  - { name: a, address: 127.0.0.1, port: 1389, directory: other, base_dns: ["dc=x"] }
  - { name: a, address: 127.0.0.1, port: 1389, directory: corp, base_dns: [] }
  - { name: c, address: 127.0.0.1, directory: corp, base_dns: ["dc=x"], tls: { mode: ldaps } }
  - { name: d, directory: corp, base_dns: ["dc=x"] }
`);
  t.notOk(r.ok);
  if (r.ok) return;
  const byKey = new Map(r.errors.map((e) => [e.key, e]));
  t.match(byKey.get('ldap_listeners[1].base_dns')?.message, /1/);
  t.match(byKey.get('ldap_listeners[2].tls.cert_file'), { line: 10, message: /needs cert_file/ });
  t.match(byKey.get('ldap_listeners[2].tls.key_file')?.message, /needs key_file/);
  t.match(byKey.get('ldap_listeners[3].address')?.message, /needs address or interface/);
});

t.test('the directory must exist (whole-config check, with its line)', async (t) => {
  const r = loadConfigText('x.yaml', `${base}ldap_listeners:
  - { name: a, address: 127.0.0.1, directory: other, base_dns: ["dc=x"] }
`);
  t.notOk(r.ok);
  if (!r.ok) t.match(r.errors, [{ key: 'ldap_listeners[0].directory', line: 8, message: /no ldap_directories entry named other/ }]);
});

t.test('duplicate names and sockets', async (t) => {
  const r = loadConfigText('x.yaml', `${base}ldap_listeners:
  - { name: a, address: 127.0.0.1, port: 1389, directory: corp, base_dns: ["dc=x"] }
  - { name: a, address: 127.0.0.1, port: 1389, directory: corp, base_dns: ["dc=x"] }
admin: { address: 127.0.0.1, port: 1389 }
`);
  t.notOk(r.ok);
  if (r.ok) return;
  const byKey = new Map(r.errors.map((e) => [e.key, e.message]));
  t.match(byKey.get('ldap_listeners[1].name'), /duplicate LDAP listener name/);
  t.match(byKey.get('ldap_listeners[1].port'), /same address and port as ldap_listeners\[0\]/);
  t.match(byKey.get('admin.port'), /ldap_listeners\[0\]/);
});

t.test('prepare-time checks: base DN syntax, certificate and key readable and matching', async (t) => {
  const certs = await testCerts();
  const r = loadConfigText('x.yaml', `${base}ldap_listeners:
  - { name: a, address: 127.0.0.1, directory: corp, base_dns: ["ou=people,dc=x", "not a dn"] }
  - { name: b, address: 127.0.0.1, port: 636, directory: corp, base_dns: ["dc=x"], tls: { mode: ldaps, cert_file: "${certs.serverCert}", key_file: "${certs.clientKey}" } }
  - { name: c, address: 127.0.0.1, port: 637, directory: corp, base_dns: ["dc=x"], tls: { mode: ldaps, cert_file: /nonexistent.pem, key_file: "${certs.serverKey}" } }
  - { name: d, address: 127.0.0.1, port: 638, directory: corp, base_dns: ["dc=x"], tls: { mode: starttls, cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}" } }
`);
  t.ok(r.ok);
  if (!r.ok) return;
  const issues = checkLdapListeners(r.config, r.locate);
  const byKey = new Map(issues.map((e) => [e.key, e]));
  t.match(byKey.get('ldap_listeners[0].base_dns[1]'), { line: 8, message: /not a valid DN/ });
  t.match(byKey.get('ldap_listeners[1].tls.key_file'), { line: 9, message: /does not match the certificate/ });
  t.match(byKey.get('ldap_listeners[2].tls.cert_file')?.message, /cannot read a PEM certificate/);
  t.equal(issues.length, 3, 'the matching pair passes');
});
