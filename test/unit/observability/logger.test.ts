import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger, REDACT_CENSOR, REDACT_PATHS, type LogFormat } from '../../../src/observability/logger.js';

/** A non-TTY stream that keeps what was written, so 'auto' means JSON. */
function memory(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

function logTo(format: LogFormat, level = 'info') {
  const mem = memory();
  return { log: createLogger({ level, format, destination: mem.stream }), text: mem.text };
}

const SECRETS = ['s3cr3t-top', 'hunter2', 'nas-secret', 'pap-pw', 'clients-secret', 'hash-xyz', 'tok-1', 'key-pem'];

const sensitive = {
  secret: 's3cr3t-top',
  password: 'hunter2',
  client: { name: 'nas1', secret: 'nas-secret', tls: { key: 'key-pem' } },
  attrs: { 'User-Name': 'alice', 'User-Password': 'pap-pw' },
  config: { clients: [{ name: 'nas1', secret: 'clients-secret' }] },
  user: { name: 'alice', password_hash: 'hash-xyz' },
  session: { token: 'tok-1' },
};

t.test('JSON lines: secrets and passwords are censored, the rest kept', async (t) => {
  const { log, text } = logTo('auto');
  log.info(sensitive, 'request');
  const out = text();
  for (const s of SECRETS) t.notMatch(out, s, `${s} does not appear`);
  const line = JSON.parse(out.trim()) as Record<string, any>;
  t.equal(line.secret, REDACT_CENSOR);
  t.equal(line.password, REDACT_CENSOR);
  t.equal(line.client.secret, REDACT_CENSOR);
  t.equal(line.client.tls.key, REDACT_CENSOR);
  t.equal(line.attrs['User-Password'], REDACT_CENSOR);
  t.equal(line.config.clients[0].secret, REDACT_CENSOR);
  t.equal(line.user.password_hash, REDACT_CENSOR);
  t.equal(line.session.token, REDACT_CENSOR);
  t.equal(line.client.name, 'nas1');
  t.equal(line.attrs['User-Name'], 'alice');
  t.equal(line.msg, 'request');
  t.equal(line.service, 'aaaproxy');
  t.equal(line.pid, process.pid);
  t.notOk('hostname' in line, 'base replaces hostname');
});

t.test('redaction also applies in child bindings', async (t) => {
  const { log, text } = logTo('json');
  log.child({ client: { name: 'nas1', secret: 'nas-secret' } }).warn('bound');
  t.notMatch(text(), 'nas-secret');
  t.equal(JSON.parse(text()).client.secret, REDACT_CENSOR);
});

t.test('non-object values under redacted roots are left alone', async (t) => {
  const { log, text } = logTo('json');
  log.info({ client: 'nas1', config: 3 }, 'scalar');
  const line = JSON.parse(text());
  t.equal(line.client, 'nas1');
  t.equal(line.config, 3);
});

t.test('pretty format is human text and still redacted', async (t) => {
  const { log, text } = logTo('pretty');
  log.info(sensitive, 'hello pretty');
  const out = text();
  t.match(out, 'hello pretty');
  t.throws(() => JSON.parse(out), 'not JSON');
  for (const s of SECRETS) t.notMatch(out, s, `${s} does not appear`);
});

t.test("'auto' is pretty on a terminal", async (t) => {
  const mem = memory();
  Object.assign(mem.stream, { isTTY: true });
  createLogger({ level: 'info', format: 'auto', destination: mem.stream }).info({ password: 'hunter2' }, 'on a tty');
  t.match(mem.text(), 'on a tty');
  t.throws(() => JSON.parse(mem.text()), 'not JSON');
  t.notMatch(mem.text(), 'hunter2');
});

t.test('level filters', async (t) => {
  const { log, text } = logTo('json', 'warn');
  log.info('quiet');
  log.error('loud');
  t.notMatch(text(), 'quiet');
  t.match(text(), 'loud');
});

t.test('exported redact paths cover the documented keys', async (t) => {
  const expected = [
    ...['secret', '*.secret', 'password', '*.password', '*["User-Password"]', 'token', '*.token'],
    ...['key', '*.key', 'passwordHash', '*.password_hash', 'client.*.secret', 'config.*.password'],
  ];
  for (const p of expected) t.ok(REDACT_PATHS.includes(p), p);
  t.ok(Object.isFrozen(REDACT_PATHS));
});
