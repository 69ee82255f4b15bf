// IPv6: a listener on ::1, a client by IPv6 prefix, radclient over IPv6.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RADCLIENT, hash, parseRadclientOutput, startDaemon } from '../helpers/daemon.js';

const daemon = await startDaemon(t, { users: `users:\n  v6user:\n    password_hash: "${await hash('v6-pass')}"\n` });
// Rewrite the config for ::1 and reload: the harness writes IPv4 listeners.
const config = `
listeners:
  - { type: auth, address: "::1", port: 0 }
clients:
  - { name: v6, address: "::1/128", secret: v6-secret, require_message_authenticator: no, limit_proxy_state: no }
local_users: { file: users.yaml }
accounting: { log: { path: accounting.jsonl } }
admin: { address: 127.0.0.1, port: 0 }
log: { level: info, format: json }
`;
await writeFile(join(daemon.dir, 'aaaproxy.yaml'), config);
const from = daemon.logs.length;
const reloaded = await daemon.reload();
t.equal(reloaded.msg, 'config reloaded');
const listening = await daemon.waitForLog((l) => l.msg === 'listening' && l['address'] === '::1', 5000, from);
const port = listening['port'] as number;

t.test('PAP over IPv6', async (t) => {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(RADCLIENT, ['-6', '-x', '-r', '1', '-t', '2', `[::1]:${port}`, 'auth', 'v6-secret'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.once('error', reject);
    child.once('close', () => resolve(stdout));
    child.stdin.end('User-Name = "v6user", User-Password = "v6-pass"\n');
  });
  t.equal(parseRadclientOutput(out).code, 'Access-Accept', out);
});
