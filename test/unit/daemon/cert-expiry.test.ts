// Which certificate files the daemon watches, and the re-check schedule (start, reload, interval, close).
import t from 'tap';
import { loadConfigText } from '../../../src/config/load.js';
import { CertificateWatch, certificatePaths } from '../../../src/daemon/cert-expiry.js';

const config = (extra: string) => {
  const r = loadConfigText(
    '/etc/aaaproxy/aaaproxy.yaml',
    `listeners: [{ type: auth, address: 127.0.0.1, port: 0 }]
clients: [{ name: a, address: 127.0.0.1, secret: s }]
local_users: { file: users.yaml }
accounting: { log: { path: acct.jsonl } }
ldap_directories:
  - { name: a, urls: ["ldaps://dc1"], bind_dn: x, bind_password: y, base_dn: "dc=x", tls: { ca_file: tls/ca.pem } }
  - { name: b, urls: ["ldap://dc2"], bind_dn: x, bind_password: y, base_dn: "dc=x" }
${extra}`,
  );
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
};

t.test('listener certificates and directory CA bundles, each once; never key files', async (t) => {
  const c = config(`ldap_listeners:
  - { name: s, address: 127.0.0.1, port: 1636, directory: a, base_dns: ["dc=x"], tls: { mode: ldaps, cert_file: tls/ldap.pem, key_file: tls/ldap.key } }
  - { name: u, address: 127.0.0.1, port: 1389, directory: a, base_dns: ["dc=x"], tls: { mode: starttls, cert_file: tls/ldap.pem, key_file: tls/ldap.key } }
  - { name: p, address: 127.0.0.1, port: 2389, directory: b, base_dns: ["dc=x"] }
`);
  t.same(certificatePaths(c), ['/etc/aaaproxy/tls/ldap.pem', '/etc/aaaproxy/tls/ca.pem']);
});

t.test('checked at once, on each check() (reload), then every interval until close()', async (t) => {
  const calls: string[][] = [];
  const watch = new CertificateWatch({ check: async (paths) => (calls.push([...paths]), []) }, () => undefined, 30);
  await watch.check(config(''));
  t.same(calls, [['/etc/aaaproxy/tls/ca.pem']], 'at start');
  await watch.check({ ...config(''), ldap_directories: [] });
  t.same(calls[1], [], 'a reload replaces the list');
  const deadline = Date.now() + 5000;
  while (calls.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.ok(calls.length >= 4, `re-checked every interval (${calls.length} checks)`);
  t.same(calls.at(-1), [], 'with the current list');
  watch.close();
  watch.close();
  const after = calls.length;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(calls.length, after, 'no check after close()');
  await watch.check(config(''));
  t.equal(calls.length, after, 'check() after close() does nothing');
});

t.test('a failing check is reported, never thrown', async (t) => {
  const errors: unknown[] = [];
  const watch = new CertificateWatch(
    {
      check: async () => {
        throw new Error('boom');
      },
    },
    (err) => errors.push(err),
  );
  await watch.check(config(''));
  watch.close();
  t.match(errors, [{ message: 'boom' }]);
});
