import t from 'tap';
import { loadConfigFile, loadConfigText, type LoadResult } from '../../../src/config/load.js';
import { formatIssue, type ConfigIssue } from '../../../src/config/yaml-loader.js';
/** The example config from the brief, as text, so tests can point at exact lines. */
const VALID = `listeners:
  - { type: auth, address: 127.0.0.1, port: 1812 }
  - { type: acct, address: 127.0.0.1, port: 1813 }
clients:
  - name: localhost
    address: 127.0.0.1/32
    secret: testing123
local_users:
  file: users.yaml
accounting:
  log:
    path: ../var/accounting.jsonl
admin:
  address: 127.0.0.1
  port: 9812
`;

const FILE = '/etc/aaaproxy/aaaproxy.yaml';

function errorsOf(r: LoadResult): ConfigIssue[] {
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

t.test('valid config loads with every default filled in', async (t) => {
  const r = loadConfigText(FILE, VALID);
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  const c = r.config;
  t.equal(c.listeners[0]?.receive_buffer_bytes, 4 * 1024 * 1024);
  t.match(c.clients[0], { secret: 'testing123', require_message_authenticator: 'auto', limit_proxy_state: 'auto' });
  t.same(c.local_users.lockout, { attempts: 3, minutes: 10 });
  t.same(c.accounting.log.rotate, { max_bytes: 100 * 1024 * 1024, keep: 10 });
  t.equal(c.accounting.log.group_commit_ms, 0);
  t.same(c.duplicates, { window_seconds: 5, max_entries: 262144 });
  t.same(c.dictionaries, []);
  t.same(c.admin, { enabled: true, address: '127.0.0.1', port: 9812 });
  t.same(c.log, { level: 'info', format: 'auto' });
});

t.test('relative paths resolve against the config file directory', async (t) => {
  const text = VALID + 'dictionaries: [dictionary.local, /usr/share/freeradius/dictionary]\n';
  const r = loadConfigText(FILE, text);
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  t.equal(r.config.local_users.file, '/etc/aaaproxy/users.yaml');
  t.equal(r.config.accounting.log.path, '/etc/var/accounting.jsonl');
  t.same(r.config.dictionaries, ['/etc/aaaproxy/dictionary.local', '/usr/share/freeradius/dictionary']);
});

t.test('the result is deeply frozen', async (t) => {
  const r = loadConfigText(FILE, VALID);
  if (!r.ok) return t.fail('expected ok');
  const c = r.config as any;
  // ES modules run in strict mode, where writing to a frozen object throws.
  t.throws(() => { c.admin = null; }, TypeError);
  t.throws(() => { c.listeners[0].port = 1; }, TypeError);
  t.throws(() => { c.clients.push({}); }, TypeError);
  t.throws(() => { c.local_users.lockout.attempts = 9; }, TypeError);
  t.throws(() => { c.accounting.log.rotate.keep = 1; }, TypeError);
});

t.test('unknown key is reported at its own line', async (t) => {
  const text = VALID.replace('    secret: testing123\n', '    secret: testing123\n    secert: oops\n');
  const errors = errorsOf(loadConfigText(FILE, text));
  t.same(errors, [{ file: FILE, line: 8, column: 5, key: 'clients[0].secert', message: 'unknown key "secert"' }]);
});

t.test('unknown key inside a flow mapping and at top level', async (t) => {
  const text = VALID.replace('port: 1813 }', 'port: 1813, bind: eth0 }') + 'extra: 1\n';
  const errors = errorsOf(loadConfigText(FILE, text));
  t.match(errors, [
    { line: 3, column: 51, key: 'listeners[1].bind' },
    { line: 16, column: 1, key: 'extra' },
  ]);
  t.equal(errors.length, 2);
});

t.test('wrong type is reported as file:line:column: key: message', async (t) => {
  const text = VALID.replace('port: 1813', 'port: "1813"');
  const errors = errorsOf(loadConfigText(FILE, text));
  t.equal(errors.length, 1);
  t.equal(formatIssue(errors[0]!), `${FILE}:3:45: listeners[1].port: Invalid input: expected number, received string`);
});

t.test('a failed refinement points at the value', async (t) => {
  const errors = errorsOf(loadConfigText(FILE, VALID.replace('127.0.0.1/32', '127.0.0.1/33')));
  t.match(errors, [{ line: 6, column: 14, key: 'clients[0].address', message: /CIDR/ }]);
});

t.test('missing required key is reported at its parent', async (t) => {
  const text = VALID.replace('    secret: testing123\n', '');
  const errors = errorsOf(loadConfigText(FILE, text));
  t.match(errors, [{ line: 5, column: 5, key: 'clients[0].secret', message: /expected string, received undefined/ }]);

  const noUsers = VALID.replace('local_users:\n  file: users.yaml\n', '');
  t.match(errorsOf(loadConfigText(FILE, noUsers)), [{ line: 1, column: 1, key: 'local_users' }]);
});

t.test('YAML syntax error carries its line', async (t) => {
  const text = VALID.replace('file: users.yaml', 'file: users.yaml: extra');
  const errors = errorsOf(loadConfigText(FILE, text));
  t.same(errors, [{ file: FILE, line: 9, column: 9, key: '', message: 'Nested mappings are not allowed in compact mappings' }]);
  t.equal(formatIssue(errors[0]!), `${FILE}:9:9: Nested mappings are not allowed in compact mappings`);
});

t.test('duplicate YAML keys are an error naming the key', async (t) => {
  const admin = VALID.replace('  port: 9812\n', '  port: 9812\n  port: 9813\n');
  t.same(errorsOf(loadConfigText(FILE, admin)), [{ file: FILE, line: 16, column: 3, key: 'admin.port', message: 'duplicate key "port"' }]);
  const client = VALID.replace('    secret: testing123\n', '    secret: testing123\n    "secret": again\n');
  t.match(errorsOf(loadConfigText(FILE, client)), [{ line: 8, column: 5, key: 'clients[0].secret', message: 'duplicate key "secret"' }]);
  const flow = VALID.replace('port: 1813 }', 'port: 1813, port: 1814 }');
  t.match(errorsOf(loadConfigText(FILE, flow)), [{ line: 3, column: 51, key: 'listeners[1].port' }]);
});

t.test('an empty file is one issue at 1:1', async (t) => {
  t.match(errorsOf(loadConfigText(FILE, '')), [{ line: 1, column: 1, key: '', message: /expected object/ }]);
});

t.test('secrets never appear in messages', async (t) => {
  const secret = 'S3cr3t-Value';
  const broken = [
    VALID.replace('testing123', `${secret}\n    secret: ${secret}`), // duplicate key
    VALID.replace('testing123', `[${secret}`), // syntax error
    VALID.replace('testing123', `{ v: ${secret} }`), // wrong type
    VALID.replace('address: 127.0.0.1/32', `address: ${secret}`),
  ];
  for (const text of broken) {
    const errors = errorsOf(loadConfigText(FILE, text));
    t.notMatch(errors.map(formatIssue).join('\n'), secret);
  }
});

t.test('loadConfigFile reads from disk', async (t) => {
  const dir = t.testdir({ 'aaaproxy.yaml': VALID });
  const r = await loadConfigFile(`${dir}/aaaproxy.yaml`);
  if (!r.ok) return t.fail(r.errors.map(formatIssue).join('\n'));
  t.equal(r.config.local_users.file, `${dir}/users.yaml`);
});

t.test('unreadable file is one issue with line 0', async (t) => {
  const dir = t.testdir({});
  const errors = errorsOf(await loadConfigFile(`${dir}/missing.yaml`));
  t.equal(errors.length, 1);
  t.match(errors[0], { file: `${dir}/missing.yaml`, line: 0, column: 0, key: '', message: /^cannot read config: ENOENT/ });
});

// Cross-key checks (schema.ts checkWholeConfig).

const CLIENT2 = (name: string, address: string) => `  - { name: ${name}, address: ${address}, secret: other }\n`;
const withClient = (name: string, address: string) => VALID.replace('local_users:', CLIENT2(name, address) + 'local_users:');
const withListener = (l: string) => VALID.replace('clients:', `  - ${l}\nclients:`);

t.test('duplicate listener: same type, address and port', async (t) => {
  const errors = errorsOf(loadConfigText(FILE, withListener('{ type: auth, address: 127.0.0.1, port: 1812 }')));
  t.match(errors, [{ line: 4, column: 45, key: 'listeners[2].port', message: /listeners\[0\]/ }]);
  t.equal(errors.length, 1);
});

t.test('duplicate listener spelled differently is still a duplicate', async (t) => {
  const text = VALID.replace(/127\.0\.0\.1, port: 1812/, '"::1", port: 1812');
  const errors = errorsOf(loadConfigText(FILE, text.replace('clients:', '  - { type: auth, address: "0:0:0:0:0:0:0:1", port: 1812 }\nclients:')));
  t.match(errors, [{ key: 'listeners[2].port' }]);
});

t.test('listeners that differ, or ask for port 0, are fine', async (t) => {
  t.ok(loadConfigText(FILE, withListener('{ type: acct, address: 127.0.0.1, port: 1812 }')).ok, 'other type');
  t.ok(loadConfigText(FILE, withListener('{ type: auth, address: 127.0.0.2, port: 1812 }')).ok, 'other address');
  const zeros = VALID.replace('port: 1812', 'port: 0');
  t.ok(loadConfigText(FILE, zeros.replace('clients:', '  - { type: auth, address: 127.0.0.1, port: 0 }\nclients:')).ok, 'port 0 twice');
});

t.test('duplicate client name', async (t) => {
  const errors = errorsOf(loadConfigText(FILE, withClient('localhost', '10.0.0.0/8')));
  t.same(errors, [{ file: FILE, line: 8, column: 13, key: 'clients[1].name', message: 'duplicate client name, also used by clients[0]' }]);
});

t.test('two clients with the identical CIDR', async (t) => {
  const errors = errorsOf(loadConfigText(FILE, withClient('lo2', '127.0.0.1')));
  t.match(errors, [{ line: 8, column: 27, key: 'clients[1].address', message: /clients\[0\]/ }]);
  t.equal(errors.length, 1);
  // Host bits do not make a different prefix.
  const text = withClient('a', '10.1.2.3/16').replace('local_users:', CLIENT2('b', '10.1.0.0/16') + 'local_users:');
  t.match(errorsOf(loadConfigText(FILE, text)), [{ key: 'clients[2].address', message: /clients\[1\]/ }]);
  // Nested prefixes are allowed: the longest match wins.
  t.ok(loadConfigText(FILE, withClient('lan', '127.0.0.0/8')).ok);
});

t.test('admin port colliding with a listener on the same address', async (t) => {
  const text = VALID.replace('port: 9812', 'port: 1813');
  const errors = errorsOf(loadConfigText(FILE, text));
  t.same(errors, [{ file: FILE, line: 15, column: 9, key: 'admin.port', message: 'same address and port as listeners[1]' }]);
  t.ok(loadConfigText(FILE, text.replace('  address: 127.0.0.1\n  port', '  address: 127.0.0.2\n  port')).ok, 'other address');
  t.ok(loadConfigText(FILE, text + '  enabled: false\n').ok, 'admin disabled');
});

t.test('admin collision from defaults is reported at the document root', async (t) => {
  const text = VALID.replace('admin:\n  address: 127.0.0.1\n  port: 9812\n', '').replace('port: 1813', 'port: 9812');
  t.match(errorsOf(loadConfigText(FILE, text)), [{ line: 1, column: 1, key: 'admin.port' }]);
});

t.test('semantic checks run on values that failed their own rules without tripping', async (t) => {
  const text = withClient('localhost', 'not-a-cidr');
  const errors = errorsOf(loadConfigText(FILE, text));
  t.match(errors, [{ key: 'clients[1].name' }, { key: 'clients[1].address', message: /CIDR/ }]);
  const listener = errorsOf(loadConfigText(FILE, withListener('{ type: auth, address: bogus, port: 1812 }')));
  t.match(listener, [{ key: 'listeners[2].address', message: /IPv4 or IPv6/ }]);
  t.equal(listener.length, 1);
});
