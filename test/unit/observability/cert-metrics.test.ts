/** aaaproxy_certificate_expiry_seconds and the log lines, on certificates made by the certs library and a real pino logger. */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import forge from 'node-forge';
import { Registry } from 'prom-client';
import { createCa } from '../../../src/certs/authority.js';
import { issueCertificate } from '../../../src/certs/issue.js';
import { CertificateMetrics } from '../../../src/observability/cert-metrics.js';
import { createLogger } from '../../../src/observability/logger.js';

// Four RSA keys; slow on a loaded machine.
t.setTimeout(60_000);

const DAY = 86_400_000;

function logCapture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ level: 'info', format: 'json', destination }), lines };
}

function series(body: string, path: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`aaaproxy_certificate_expiry_seconds{path="${path}"} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

t.test('gauge per path, warnings by remaining days, removal on the next check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-certmetrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const now = new Date();
  const ca = await createCa({ commonName: 'Metrics CA', days: 400, now });
  const signer = { cert: ca.cert, key: forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey };
  const long = await issueCertificate(signer, { commonName: 'long.test', server: true, client: false, days: 365, now });
  const short = await issueCertificate(signer, { commonName: 'short.test', server: true, client: false, days: 5, now });
  const paths = { long: join(dir, 'long.crt'), short: join(dir, 'short.crt'), chain: join(dir, 'chain.crt'), missing: join(dir, 'missing.crt'), key: join(dir, 'short.key') };
  writeFileSync(paths.long, long.certPem);
  writeFileSync(paths.short, short.certPem);
  writeFileSync(paths.chain, long.certPem + short.certPem + ca.certPem);
  writeFileSync(paths.key, short.keyPem);

  const registry = new Registry();
  const { log, lines } = logCapture();
  const metrics = new CertificateMetrics(registry, log);
  const results = await metrics.check([paths.long, paths.short, paths.chain, paths.missing, paths.key, paths.long], now);
  t.equal(results.length, 5, 'a path listed twice is checked once');
  t.same(
    results.map((r) => (r.ok ? r.state : r.code)),
    ['valid', 'expiring', 'expiring', 'AAA_ERR_CERT_READ', 'AAA_ERR_CERT_PARSE'],
  );

  const body = await registry.metrics();
  t.match(body, '# TYPE aaaproxy_certificate_expiry_seconds gauge');
  t.equal(series(body, paths.long), Math.floor((now.getTime() + 365 * DAY) / 1000), 'Unix time of notAfter');
  t.equal(series(body, paths.short), Math.floor((now.getTime() + 5 * DAY) / 1000));
  t.equal(series(body, paths.chain), series(body, paths.short), 'a chain counts its earliest expiry');
  t.equal(series(body, paths.missing), undefined, 'no series for an unreadable file');
  t.equal(series(body, paths.key), undefined, 'no series for a file without a certificate');

  const byPath = (p: string) => lines.filter((l) => l['path'] === p);
  t.match(byPath(paths.long), [{ level: 30, msg: 'certificate loaded', subject: 'CN=long.test', days_left: 364 }]);
  t.match(byPath(paths.short), [{ level: 40, msg: 'certificate expires in 4 days', days_left: 4, not_after: /^\d{4}-/ }]);
  t.match(byPath(paths.missing), [{ level: 50, code: 'AAA_ERR_CERT_READ' }]);
  t.notMatch(JSON.stringify(lines), 'PRIVATE KEY', 'no key material in the logs');

  // Ten days later, only one path configured: the others' series go away, the short one is expired.
  lines.length = 0;
  const later = await metrics.check([paths.short], new Date(now.getTime() + 10 * DAY));
  t.match(later, [{ ok: true, state: 'expired' }]);
  const after = await registry.metrics();
  t.equal(series(after, paths.long), undefined, 'removed from the config: series removed');
  t.equal(series(after, paths.chain), undefined);
  t.ok(series(after, paths.short), 'still listed: still exported');
  t.match(lines, [{ level: 50, msg: 'certificate expired', path: paths.short }]);
});

t.test('a custom warning threshold', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-certmetrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createCa({ commonName: 'Threshold CA', days: 20 });
  writeFileSync(join(dir, 'ca.crt'), ca.certPem);
  const { log } = logCapture();
  const [r] = await new CertificateMetrics(new Registry(), log, 10).check([join(dir, 'ca.crt')]);
  t.match(r, { ok: true, state: 'valid' }, '19 days left is fine with a 10-day threshold');
});
