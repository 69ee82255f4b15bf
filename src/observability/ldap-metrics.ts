/**
 * Metrics of the LDAP directories (backend side), in the daemon's registry. The servers'
 * alive/dead state is in aaaproxy_upstream_state as `ldap:NAME URL` (upstream-metrics.ts).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

const HEALTH_STATES = ['unknown', 'passing', 'failing'] as const;
const ACCOUNTS = ['primary', 'backup'] as const;

export class LdapMetrics {
  private readonly healthState: Gauge<'directory' | 'server' | 'state'>;
  private readonly healthChecks: Counter<'directory' | 'server' | 'result'>;
  private readonly healthTimestamp: Gauge<'directory' | 'server'>;
  private readonly account: Gauge<'directory' | 'account'>;
  private readonly several: Counter<'directory'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.healthState = new Gauge({
      name: 'aaaproxy_ldap_health_check_state',
      help: 'Health check state of each LDAP server (1 for its current state: unknown, passing, failing).',
      labelNames: ['directory', 'server', 'state'] as const,
      registers,
    });
    this.healthChecks = new Counter({
      name: 'aaaproxy_ldap_health_checks_total',
      help: 'Health check logins per LDAP server, by result.',
      labelNames: ['directory', 'server', 'result'] as const,
      registers,
    });
    this.healthTimestamp = new Gauge({
      name: 'aaaproxy_ldap_health_check_timestamp_seconds',
      help: 'Unix time of the last health check of each LDAP server.',
      labelNames: ['directory', 'server'] as const,
      registers,
    });
    this.account = new Gauge({
      name: 'aaaproxy_ldap_service_account',
      help: 'Service account each LDAP directory binds with for searches (1 for the one in use: primary, backup).',
      labelNames: ['directory', 'account'] as const,
      registers,
    });
    this.several = new Counter({
      name: 'aaaproxy_ldap_several_entries_total',
      help: 'Logins whose user filter matched several entries (the first one was used).',
      labelNames: ['directory'] as const,
      registers,
    });
  }

  setHealthState(directory: string, server: string, current: string): void {
    for (const s of HEALTH_STATES) this.healthState.labels(directory, server, s).set(s === current ? 1 : 0);
  }

  healthChecked(directory: string, server: string, result: string, at: Date = new Date()): void {
    this.healthChecks.labels(directory, server, result).inc();
    this.healthTimestamp.labels(directory, server).set(at.getTime() / 1000);
  }

  setServiceAccount(directory: string, current: string): void {
    for (const a of ACCOUNTS) this.account.labels(directory, a).set(a === current ? 1 : 0);
  }

  severalEntries(directory: string): void {
    this.several.labels(directory).inc();
  }
}
