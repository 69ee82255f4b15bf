import t from 'tap';
import { loadConfigText } from '../../../src/config/load.js';
import { BASE, configErrors, FILE } from '../../helpers/config-text.js';

const DYNAUTH = `dynauth:
  listeners: [{ address: 0.0.0.0 }]
  clients: [{ name: policy, address: 192.0.2.0/24, secret: coa-secret }]
`;

const errors = configErrors;

t.test('defaults: port 3799, NAS port 3799, 3 s x 2 retries, 300 s window', async (t) => {
  const r = loadConfigText(FILE, BASE + 'sessions: { enabled: true }\n' + DYNAUTH);
  if (!r.ok) return t.fail('valid', { errors: r.errors });
  t.same(r.config.dynauth, {
    listeners: [{ address: '0.0.0.0', port: 3799, receive_buffer_bytes: 1024 * 1024 }],
    clients: [{ name: 'policy', address: '192.0.2.0/24', secret: 'coa-secret' }],
    nas_port: 3799,
    timeout_seconds: 3,
    retries: 2,
    event_timestamp_window_seconds: 300,
  });
  t.equal(r.config.clients[0]!.dynauth_port, undefined);
});

t.test('absent: no dynauth', async (t) => {
  const r = loadConfigText(FILE, BASE);
  t.ok(r.ok && r.config.dynauth === undefined);
});

t.test('a client dynauth_port', async (t) => {
  const r = loadConfigText(FILE, BASE.replace('secret: testing123\n', 'secret: testing123\n    dynauth_port: 1700\n'));
  t.ok(r.ok && r.config.clients[0]!.dynauth_port === 1700);
});

t.test('errors name the file, the line and the key', async (t) => {
  t.same(errors(BASE + DYNAUTH), [`${FILE}:12:3: dynauth: needs sessions.enabled: true (the session table says which NAS holds a session)`]);
  const bad = errors(BASE + 'sessions: { enabled: true }\ndynauth:\n  listeners: [{ address: 0.0.0.0 }]\n  clients: [{ name: policy, address: nope, secret: x }]\n');
  t.equal(bad.length, 1);
  t.match(bad[0], /^\/etc\/aaaproxy\/aaaproxy\.yaml:14:\d+: dynauth\.clients\[0\]\.address: must be an IP address or CIDR prefix/);
});
