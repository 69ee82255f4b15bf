/**
 * Expiry of the certificates the daemon loads (LDAPS/StartTLS listeners, RADIUS/TLS, client
 * certificates): `aaaproxy_certificate_expiry_seconds{path}` and a log line per certificate.
 *
 * The gauge holds the Unix time of notAfter, not the time left (Prometheus practice: export
 * when something happens, let the query subtract), so it only changes when a file does:
 *   aaaproxy_certificate_expiry_seconds - time() < 30 * 86400
 * For a file holding a chain, the certificate that expires first counts.
 *
 * The daemon calls check() with every certificate path of its config at start and after each
 * reload; paths no longer listed, or that cannot be read, lose their series. Key files are
 * never read here.
 */
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { CertError, type CertErrorCode } from '../certs/errors.js';
import { certificateExpiry, type CertificateExpiry } from '../certs/inspect.js';

export const EXPIRY_WARNING_DAYS = 30;

export type CertificateState = 'valid' | 'expiring' | 'expired';

export type CertificateCheck =
  | { path: string; ok: true; state: CertificateState; expiry: CertificateExpiry }
  | { path: string; ok: false; code: CertErrorCode; message: string };

export type CertificateLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export function certificateState(expiry: CertificateExpiry, warnDays = EXPIRY_WARNING_DAYS): CertificateState {
  if (expiry.secondsLeft <= 0) return 'expired';
  return expiry.daysLeft < warnDays ? 'expiring' : 'valid';
}

export class CertificateMetrics {
  private readonly expiry: Gauge<'path'>;
  private readonly exported = new Set<string>();

  constructor(
    registry: Registry,
    private readonly log: CertificateLogger,
    private readonly warnDays = EXPIRY_WARNING_DAYS,
  ) {
    this.expiry = new Gauge({
      name: 'aaaproxy_certificate_expiry_seconds',
      help: 'Unix time at which the certificate in the file expires (notAfter; the earliest one for a chain).',
      labelNames: ['path'] as const,
      registers: [registry],
    });
  }

  /** Reads each file, sets its series and logs: info when valid, warn within warnDays, error when expired or unreadable. */
  async check(paths: readonly string[], now: Date = new Date()): Promise<CertificateCheck[]> {
    const unique = [...new Set(paths)];
    const results = await Promise.all(unique.map((path) => this.checkOne(path, now)));
    for (const path of this.exported) {
      if (!results.some((r) => r.ok && r.path === path)) {
        this.expiry.remove({ path });
        this.exported.delete(path);
      }
    }
    return results;
  }

  private async checkOne(path: string, now: Date): Promise<CertificateCheck> {
    let expiry: CertificateExpiry;
    try {
      expiry = await certificateExpiry(path, now);
    } catch (err) {
      if (!(err instanceof CertError)) throw err;
      this.log.error({ path, code: err.code }, `certificate unreadable: ${err.message}`);
      return { path, ok: false, code: err.code, message: err.message };
    }
    this.expiry.set({ path }, Math.floor(expiry.notAfter.getTime() / 1000));
    this.exported.add(path);
    const state = certificateState(expiry, this.warnDays);
    const fields = { path, subject: expiry.subject, not_after: expiry.notAfter.toISOString(), days_left: expiry.daysLeft };
    if (state === 'expired') this.log.error(fields, 'certificate expired');
    else if (state === 'expiring') this.log.warn(fields, `certificate expires in ${expiry.daysLeft} days`);
    else this.log.info(fields, 'certificate loaded');
    return { path, ok: true, state, expiry };
  }
}
