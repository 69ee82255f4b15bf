// Writes the benchmark's daemon config and users file into DIR.
//   node scripts/bench/setup.mjs DIR SECRET USER PASSWORD
// Listeners and the admin endpoint use port 0 (the kernel picks free ports; bench.sh reads
// the bound ports from the daemon's JSON log), all on 127.0.0.1. The user's password is
// hashed exactly as `aaaproxy users add` would (scrypt, PHC string).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dir, secret, user, password] = process.argv.slice(2);
if (!dir || !secret || !user || !password) {
  process.stderr.write('usage: setup.mjs DIR SECRET USER PASSWORD\n');
  process.exit(2);
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const { hashPassword } = await import(join(root, 'dist/src/auth/local/password-hash.js'));

const q = (s) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
writeFileSync(
  join(dir, 'users.yaml'),
  `# aaaproxy bench user (scripts/bench.sh); matches radload -u/-p.\nusers:\n  ${q(user)}:\n    password_hash: ${q(await hashPassword(password))}\n`,
  { mode: 0o600 },
);
writeFileSync(
  join(dir, 'aaaproxy.yaml'),
  `# aaaproxy bench config (scripts/bench.sh). Loopback only, kernel-chosen ports.
listeners:
  - { type: auth, address: 127.0.0.1, port: 0 }
  - { type: acct, address: 127.0.0.1, port: 0 }
clients:
  - name: bench
    address: 127.0.0.1/32
    secret: ${q(secret)}
local_users:
  file: users.yaml
accounting:
  log:
    path: accounting.jsonl
admin:
  address: 127.0.0.1
  port: 0
log:
  level: info
  format: json
`,
  { mode: 0o600 },
);
