// Writes the config of aaaproxy as a proxy in front of the benchmark's FreeRADIUS home server.
//   node scripts/bench/proxy-config.mjs DIR NAS_SECRET AUTH_PORT ACCT_PORT ADMIN_PORT [HOME_SECRET] [HOME_AUTH_PORT] [HOME_ACCT_PORT]
// Writes DIR/aaaproxy.yaml and DIR/users.yaml (no users: every request goes upstream), and
// creates DIR/spool (accounting.spool, durable before each Accounting-Response).
// Everything is on 127.0.0.1. Port 0 = kernel-chosen (bench.sh reads the bound ports from
// the daemon's JSON log); the shared harness (--peers) needs fixed ports.
// One client (127.0.0.1/32, the loadgen), one upstream (the home server, homesecret,
// require_message_authenticator auto), one pool, and a default route for auth and accounting.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [dirArg, secret, authPort, acctPort, adminPort, homeSecret = 'homesecret', homeAuth = '21812', homeAcct = '21813'] = process.argv.slice(2);
const ports = [authPort, acctPort, adminPort, homeAuth, homeAcct];
if (!dirArg || !secret || ports.some((p) => !/^\d+$/.test(p ?? '') || Number(p) > 65535)) {
  process.stderr.write('usage: proxy-config.mjs DIR NAS_SECRET AUTH_PORT ACCT_PORT ADMIN_PORT [HOME_SECRET] [HOME_AUTH_PORT] [HOME_ACCT_PORT]\n');
  process.exit(2);
}
const dir = resolve(dirArg);
mkdirSync(join(dir, 'spool'), { recursive: true });

const q = (s) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
writeFileSync(join(dir, 'users.yaml'), '# aaaproxy bench (proxy): no local users, everything is proxied.\nusers: {}\n', { mode: 0o600 });
writeFileSync(
  join(dir, 'aaaproxy.yaml'),
  `# aaaproxy bench config (scripts/bench.sh, proxy scenario). Loopback only.
listeners:
  - { type: auth, address: 127.0.0.1, port: ${Number(authPort)} }
  - { type: acct, address: 127.0.0.1, port: ${Number(acctPort)} }
clients:
  - name: bench
    address: 127.0.0.1/32
    secret: ${q(secret)}
upstreams:
  - name: home
    address: 127.0.0.1
    auth_port: ${Number(homeAuth)}
    acct_port: ${Number(homeAcct)}
    secret: ${q(homeSecret)}
    require_message_authenticator: auto
pools:
  - { name: home, servers: [home], mode: failover }
routes:
  - { name: default, auth: home, accounting: home }
local_users:
  file: users.yaml
accounting:
  log:
    path: accounting.jsonl
  spool:
    dir: ${q(join(dir, 'spool'))}
admin:
  address: 127.0.0.1
  port: ${Number(adminPort)}
log:
  level: info
  format: json
`,
  { mode: 0o600 },
);
