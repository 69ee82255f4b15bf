import t from 'tap';
import { loadConfigText, type LoadResult } from '../../../src/config/load.js';
import { formatIssue, type ConfigIssue } from '../../../src/config/yaml-loader.js';

const FILE = '/etc/aaaproxy/aaaproxy.yaml';

/** Lines 1-14; the upstream part starts at line 15. */
const BASE = `listeners:
  - { type: auth, address: 127.0.0.1, port: 1812, name: inside }
  - { type: acct, address: 127.0.0.1, port: 1813 }
clients:
  - name: nas1
    address: 127.0.0.1/32
    secret: testing123
    group: wifi
local_users:
  file: users.yaml
accounting:
  log: { path: accounting.jsonl }
  spool: { dir: spool }
admin: { enabled: false }
`;

/** Lines 15-31. */
const UPSTREAMS = `upstreams:
  - name: radius1
    address: 192.0.2.10
    secret: s1
  - name: radius2
    address: 192.0.2.11
    secret: s2
    require_message_authenticator: yes
pools:
  - name: corp
    servers: [radius1, radius2]
  - name: acct
    mode: load-balance
    servers:
      - radius2
routes:
  - { realm: corp.example, auth: corp, accounting: acct, strip_realm: true }
`;

function load(text: string): LoadResult {
  return loadConfigText(FILE, text);
}

function errorsOf(r: LoadResult): ConfigIssue[] {
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

t.test('a valid upstream section loads with its defaults', async (t) => {
  const r = load(BASE + UPSTREAMS);
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  const u = r.config.upstreams[0]!;
  t.match(u, {
    name: 'radius1',
    auth_port: 1812,
    acct_port: 1813,
    timeout_seconds: 3,
    retries: 2,
    require_message_authenticator: 'auto',
    max_sockets: 32,
    status_check: { interval_seconds: 10, revive_after: 3, zombie_period_seconds: 20 },
  });
  t.equal(u.source_address, undefined);
  t.equal(r.config.upstreams[1]!.require_message_authenticator, 'yes');
  t.same(r.config.pools, [
    { name: 'corp', servers: ['radius1', 'radius2'], mode: 'failover' },
    { name: 'acct', servers: ['radius2'], mode: 'load-balance' },
  ]);
  t.match(r.config.routes[0], { realm: 'corp.example', auth: 'corp', accounting: 'acct', strip_realm: true });
  const bare = load(BASE);
  if (!bare.ok) return t.fail(bare.errors.map(formatIssue).join('\n'));
  t.same([bare.config.upstreams, bare.config.pools, bare.config.routes], [[], [], []], 'all optional');
});

t.test('a route naming an unknown pool: file, line and key', async (t) => {
  const text = BASE + UPSTREAMS + '  - { realm: other, auth: nosuch, accounting: alsonot }\n';
  const errors = errorsOf(load(text));
  t.match(errors, [
    { file: FILE, line: 32, key: 'routes[1].auth', message: /no pool named nosuch/ },
    { file: FILE, line: 32, key: 'routes[1].accounting', message: /no pool named alsonot/ },
  ]);
  t.equal(errors.length, 2);
});

t.test('a route may name local', async (t) => {
  const r = load(BASE + UPSTREAMS + '  - { realm: "*", auth: local, accounting: local }\n');
  t.ok(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
});

t.test('a pool naming an unknown server', async (t) => {
  const text = BASE + UPSTREAMS.replace('      - radius2\n', '      - radius2\n      - radius9\n');
  const errors = errorsOf(load(text));
  t.same(errors.map((e) => [e.file, e.line, e.key]), [[FILE, 30, 'pools[1].servers[1]']]);
  t.match(errors[0]!.message, /no upstream named radius9/);
});

t.test('duplicate upstream and pool names', async (t) => {
  const text = BASE + UPSTREAMS.replace('  - name: radius2\n', '  - name: radius1\n').replace('  - name: acct\n', '  - name: corp\n');
  const errors = errorsOf(load(text));
  const at = errors.map((e) => `${e.line} ${e.key}: ${e.message}`);
  t.ok(at.includes('19 upstreams[1].name: duplicate upstream name radius1'), at.join('\n'));
  t.ok(at.includes('26 pools[1].name: duplicate pool name corp'), at.join('\n'));
  // radius2 is now undefined, so the pools that name it are reported too.
  t.ok(at.some((a) => a.startsWith('25 pools[0].servers[1]:')), at.join('\n'));
  t.ok(errors.every((e) => e.file === FILE));
});

t.test('a pool named local', async (t) => {
  const text = BASE + UPSTREAMS.replace('  - name: acct\n', '  - name: local\n').replace('accounting: acct', 'accounting: local');
  const errors = errorsOf(load(text));
  t.same(errors.map((e) => [e.line, e.key]), [[26, 'pools[1].name']]);
  t.match(errors[0]!.message, /local/);
});

t.test('route client, client_group and listener must exist', async (t) => {
  const text =
    BASE +
    UPSTREAMS +
    '  - { client: nas1, client_group: wifi, listener: inside, auth: corp }\n' +
    '  - { client: nas2, auth: corp }\n' +
    '  - { client_group: wired, auth: corp }\n' +
    '  - { listener: outside, auth: corp }\n';
  const errors = errorsOf(load(text));
  t.same(
    errors.map((e) => [e.line, e.key]),
    [
      [33, 'routes[2].client'],
      [34, 'routes[3].client_group'],
      [35, 'routes[4].listener'],
    ],
  );
  t.match(errors, [{ message: /no client named nas2/ }, { message: /no client has group wired/ }, { message: /no listener named outside/ }]);
});

t.test('field errors in upstreams name their line', async (t) => {
  const text = BASE + UPSTREAMS.replace('    address: 192.0.2.11\n', '    address: not-an-ip\n    retries: 11\n').replace('mode: load-balance', 'mode: round-robin');
  const errors = errorsOf(load(text));
  t.match(errors, [
    { line: 20, key: 'upstreams[1].address' },
    { line: 21, key: 'upstreams[1].retries' },
    { line: 28, key: 'pools[1].mode' },
  ]);
  t.equal(errors.length, 3);
});
