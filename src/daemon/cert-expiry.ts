/**
 * Keeps aaaproxy_certificate_expiry_seconds current for every certificate the daemon loads:
 * the LDAP listeners' certificates and the directories' CA bundles. Checked at start, after
 * each reload, and once a day in between (a certificate does not change its expiry, but the
 * log line warns again as the date comes nearer, and a file replaced on disk shows up).
 */
import type { Config } from '../config/schema.js';
import type { CertificateMetrics } from '../observability/cert-metrics.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Certificate files of a config, in config order, each once. Key files are never listed. */
export function certificatePaths(config: Config): string[] {
  const paths: string[] = [];
  for (const l of config.ldap_listeners) if (l.tls.mode !== 'none' && l.tls.cert_file) paths.push(l.tls.cert_file);
  for (const d of config.ldap_directories) if (d.tls.ca_file) paths.push(d.tls.ca_file);
  return [...new Set(paths)];
}

export class CertificateWatch {
  private paths: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly metrics: Pick<CertificateMetrics, 'check'>,
    private readonly onError: (err: unknown) => void,
    private readonly intervalMs = DAY_MS,
  ) {}

  /** Checks the config's certificates now (start, reload) and keeps re-checking them every interval. */
  async check(config: Config): Promise<void> {
    if (this.closed) return;
    this.paths = certificatePaths(config);
    await this.run();
    if (this.timer === undefined && !this.closed) {
      this.timer = setInterval(() => void this.run(), this.intervalMs);
      this.timer.unref();
    }
  }

  private async run(): Promise<void> {
    try {
      await this.metrics.check(this.paths);
    } catch (err) {
      // An unreadable file is reported by check() itself; this is anything else, never fatal.
      this.onError(err);
    }
  }

  /** Stops the daily re-check. Idempotent. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
