import t from 'tap';
import { loadConfigText } from '../../../src/config/load.js';
import { BASE, configErrors, FILE } from '../../helpers/config-text.js';

const errors = (extra: string): string[] => configErrors(BASE + extra);

t.test('defaults: off, in memory, no interim override, floor 60', async (t) => {
  const r = loadConfigText(FILE, BASE);
  if (!r.ok) return t.fail('valid', { errors: r.errors });
  t.same(r.config.sessions, {
    enabled: false,
    max_sessions: 1_000_000,
    interim_floor_seconds: 60,
    missed_interims: 3,
    timeout_grace_seconds: 10,
    flush_ms: 1000,
    compact_min_bytes: 16 * 1024 * 1024,
  });
  t.equal(r.config.admin.token, undefined, 'no admin token by default');
});

t.test('state_dir is relative to the config file; the token is kept', async (t) => {
  const r = loadConfigText(FILE, BASE + 'sessions: { state_dir: ../lib/sessions, interim_interval_seconds: 300, node_id: node-1 }\nadmin: { token: 0123456789abcdef0123 }\n');
  if (!r.ok) return t.fail('valid', { errors: r.errors });
  t.equal(r.config.sessions.state_dir, '/etc/lib/sessions');
  t.equal(r.config.sessions.interim_interval_seconds, 300);
  t.equal(r.config.admin.token, '0123456789abcdef0123');
});

t.test('errors name the file, the line and the key', async (t) => {
  t.same(errors('sessions:\n  interim_floor_seconds: 120\n  interim_interval_seconds: 60\n'), [
    `${FILE}:13:29: sessions.interim_interval_seconds: must be at least interim_floor_seconds (120)`,
  ]);
  t.match(errors('sessions:\n  missed_interims: 0\n'), [/^\/etc\/aaaproxy\/aaaproxy\.yaml:12:\d+: sessions\.missed_interims: /]);
  t.match(errors('sessions:\n  max_sessions: -1\n'), [/:12:\d+: sessions\.max_sessions: /]);
  t.match(errors('sessions:\n  node_id: "two words"\n'), [/:12:\d+: sessions\.node_id: letters, digits/]);
  t.match(errors('sessions:\n  state_dri: x\n'), [/:12:3: sessions\.state_dri: unknown key/]);
  t.match(errors('admin:\n  token: short\n'), [/:12:\d+: admin\.token: must be at least 16 characters/]);
});
