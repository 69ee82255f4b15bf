/**
 * Everything LDAP the daemon runs, built from a Config: the directories (shared), the RADIUS
 * backends over them, their health checkers, and the LDAP front listeners. Reload is stage
 * (build and bind, nothing live changes; a failure undoes itself) then commit (swap, then close
 * what left) or abort. A health checker is kept across a reload while its directory and its
 * settings stay; a new one runs its first check at once.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { LdapAuthBackend } from '../auth/ldap-backend.js';
import { isLoopbackAddress } from '../config/cidr.js';
import type { Config, LdapListenerConfig } from '../config/schema.js';
import type { ConfigIssue, IssueLocator } from '../config/yaml-loader.js';
import type { LdapDirectory, LdapServerState, ServiceAccount } from '../ldap/directory.js';
import { parseDn } from '../ldap/dn.js';
import { LdapHealthChecker, type HealthObserver, type ServerHealth } from '../ldap/health-check.js';
import { LdapFrontServer, type BoundAddress } from '../ldap/front-server.js';
import type { LdapFrontObserver, LdapFrontSettings } from '../ldap/front-settings.js';
import type { Dictionary } from '../radius/dictionary.js';
import { buildLdapBackends, buildLdapDirectories, type DirectoryEntry, type LdapObserverFor } from './ldap-backends.js';

/** Error catalogue (DESIGN habit 3). */
export type LdapServicesErrorCode =
  /** A listener's address and port cannot be bound. */
  | 'AAA_ERR_LDAP_LISTEN'
  /** A listener's certificate or key cannot be loaded. */
  | 'AAA_ERR_LDAP_TLS';

export class LdapServicesError extends Error {
  constructor(
    readonly code: LdapServicesErrorCode,
    /** Config path of the listener at fault, e.g. `ldap_listeners[0]`. */
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'LdapServicesError';
  }
}

/** Checks what the schema cannot: base DN syntax, certificate and key readable and matching. */
export function checkLdapListeners(config: Config, locate: IssueLocator): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.ldap_listeners.forEach((l, i) => {
    l.base_dns.forEach((b, j) => {
      if (parseDn(b) === undefined) issues.push(locate(['ldap_listeners', i, 'base_dns', j], `not a valid DN (RFC 4514): ${b}`));
    });
    if (l.tls.mode === 'none' || !l.tls.cert_file || !l.tls.key_file) return;
    let cert: X509Certificate | undefined;
    try {
      cert = new X509Certificate(readFileSync(l.tls.cert_file));
    } catch (err) {
      issues.push(locate(['ldap_listeners', i, 'tls', 'cert_file'], `cannot read a PEM certificate from ${l.tls.cert_file}: ${(err as Error).message}`));
    }
    let key: ReturnType<typeof createPrivateKey> | undefined;
    try {
      key = createPrivateKey(readFileSync(l.tls.key_file));
    } catch (err) {
      issues.push(locate(['ldap_listeners', i, 'tls', 'key_file'], `cannot read a PEM private key from ${l.tls.key_file}: ${(err as Error).message}`));
    }
    if (cert && key && !cert.checkPrivateKey(key)) {
      issues.push(locate(['ldap_listeners', i, 'tls', 'key_file'], `the key in ${l.tls.key_file} does not match the certificate in ${l.tls.cert_file}`));
    }
  });
  return issues;
}

function settingsFor(l: LdapListenerConfig, directory: LdapDirectory): LdapFrontSettings {
  return {
    name: l.name,
    directory,
    tlsMode: l.tls.mode,
    secureContext:
      l.tls.mode === 'none' || !l.tls.cert_file || !l.tls.key_file
        ? undefined
        : createSecureContext({ cert: readFileSync(l.tls.cert_file), key: readFileSync(l.tls.key_file), minVersion: 'TLSv1.2' }),
    baseDns: l.base_dns.map((text) => ({ text, dn: parseDn(text)! })),
    sizeLimit: l.size_limit,
    timeLimitSeconds: l.time_limit_seconds,
    allowAnonymous: l.allow_anonymous,
    allowPasswordChange: l.allow_password_change,
    maxMessageBytes: l.max_message_bytes,
    maxFilterDepth: l.max_filter_depth,
    maxConnections: l.max_connections,
    maxConnectionsPerClient: l.max_connections_per_client,
    idleTimeoutMs: l.idle_timeout_seconds * 1000,
  };
}

/** A listener keeps its socket across a reload while its address and port stay (port-0 ones by name). */
function socketKey(l: LdapListenerConfig): string {
  return JSON.stringify([l.address, l.port, l.port === 0 ? l.name : '']);
}

interface Running {
  server: LdapFrontServer;
  config: LdapListenerConfig;
}

interface Checker {
  key: string;
  directory: LdapDirectory;
  checker: LdapHealthChecker;
}

/** What GET /directories shows of one directory. */
export interface DirectoryStatus {
  name: string;
  service_account: ServiceAccount;
  servers: { url: string; state: LdapServerState; health?: { state: ServerHealth['state']; result?: string; checked_at?: string } }[];
}

export interface StagedLdap {
  config: Config;
  directories: Map<string, DirectoryEntry>;
  backends: Map<string, LdapAuthBackend>;
  created: LdapDirectory[];
  retired: LdapDirectory[];
  /** Listeners to keep (same socket), with their new settings. */
  keep: { key: string; running: Running; settings: LdapFrontSettings; config: LdapListenerConfig }[];
  /** Listeners opened for this config. */
  opened: { key: string; running: Running }[];
}

export class LdapServices {
  private directories = new Map<string, DirectoryEntry>();
  private fronts = new Map<string, Running>();
  private checkers = new Map<string, Checker>();
  /** Closing of what a reload replaced, awaited by close(). */
  private retiring: Promise<unknown> = Promise.resolve();
  backends = new Map<string, LdapAuthBackend>();

  constructor(
    private readonly log: () => Logger,
    private readonly observerFor: LdapObserverFor,
    private readonly frontObserver: LdapFrontObserver,
    private readonly healthObserverFor: (directory: string) => HealthObserver,
  ) {}

  /** Builds and binds everything `config` names; throws LdapServicesError when a listener cannot bind. */
  async start(config: Config, dict: Dictionary): Promise<void> {
    this.commit(await this.stage(config, dict));
  }

  /** Builds the new set and opens new listeners; nothing in use changes. Throws after undoing itself. */
  async stage(config: Config, dict: Dictionary): Promise<StagedLdap> {
    const { directories, created, retired } = buildLdapDirectories(config, this.observerFor, this.directories);
    for (const d of config.ldap_directories) {
      // An explicit choice (issue: validation is on by default), and one to see in the logs.
      if (!d.tls.reject_unauthorized) this.log().warn({ directory: d.name }, 'LDAP directory: TLS certificate validation is OFF (tls.reject_unauthorized: false)');
    }
    const backends = buildLdapBackends(config, dict, directories);
    const keep: StagedLdap['keep'] = [];
    const opened: StagedLdap['opened'] = [];
    try {
      for (const [i, l] of config.ldap_listeners.entries()) {
        const key = socketKey(l);
        let settings: LdapFrontSettings;
        try {
          settings = settingsFor(l, directories.get(l.directory)!.directory);
        } catch (err) {
          // The certificate or key changed on disk since the config was checked.
          throw new LdapServicesError('AAA_ERR_LDAP_TLS', `ldap_listeners[${i}].tls`, `cannot load the certificate and key: ${(err as Error).message}`);
        }
        const running = this.fronts.get(key);
        if (running !== undefined) {
          keep.push({ key, running, settings, config: l });
          continue;
        }
        const server = new LdapFrontServer({ address: l.address, port: l.port }, settings, this.frontObserver);
        try {
          await server.listen();
        } catch (err) {
          throw new LdapServicesError('AAA_ERR_LDAP_LISTEN', `ldap_listeners[${i}]`, `cannot listen on ${l.address}:${l.port}: ${(err as Error).message}`);
        }
        opened.push({ key, running: { server, config: l } });
      }
    } catch (err) {
      await Promise.all(opened.map((o) => o.running.server.close(0)));
      await Promise.all(created.map((d) => d.close()));
      throw err;
    }
    return { config, directories, backends, created, retired, keep, opened };
  }

  /** The swap (synchronous); listeners and directories that left close in the background, draining. */
  commit(staged: StagedLdap): void {
    const next = new Map<string, Running>();
    for (const k of staged.keep) {
      k.running.server.swap(k.settings);
      next.set(k.key, { server: k.running.server, config: k.config });
    }
    for (const o of staged.opened) {
      next.set(o.key, o.running);
      const a = o.running.server.address!;
      const l = o.running.config;
      this.log().info({ listener: l.name, address: a.address, port: a.port, tls: l.tls.mode, directory: l.directory }, 'LDAP listening');
      if (l.tls.mode === 'none' && !isLoopbackAddress(a.address)) {
        this.log().warn({ listener: l.name, address: a.address }, 'LDAP listener without TLS beyond loopback: passwords cross the network in clear');
      }
    }
    const gone = [...this.fronts.entries()].filter(([key]) => !next.has(key)).map(([, r]) => r.server);
    this.fronts = next;
    this.directories = staged.directories;
    this.backends = staged.backends;
    const stopped = this.swapCheckers(staged.config);
    // Front sessions on a retired directory end when it closes (their clients bind again, on the new one).
    const retiring = Promise.all([...gone.map((s) => s.close()), ...stopped]).then(() => Promise.all(staged.retired.map((d) => d.close())));
    this.retiring = Promise.all([this.retiring, retiring]);
  }

  /** Keeps the checkers whose directory and settings stay, starts new ones; returns the closing of the others. */
  private swapCheckers(config: Config): Promise<void>[] {
    const next = new Map<string, Checker>();
    for (const d of config.ldap_directories) {
      if (d.health_check === undefined) continue;
      const directory = this.directories.get(d.name)!.directory;
      const key = JSON.stringify(d.health_check);
      const prev = this.checkers.get(d.name);
      if (prev !== undefined && prev.directory === directory && prev.key === key) {
        next.set(d.name, prev);
        continue;
      }
      const h = d.health_check;
      const checker = new LdapHealthChecker(directory, { username: h.username, password: h.password, intervalMs: h.interval_minutes * 60_000 }, this.healthObserverFor(d.name));
      next.set(d.name, { key, directory, checker });
    }
    const kept = new Set(next.values());
    const stopped = [...this.checkers.values()].filter((c) => !kept.has(c)).map((c) => c.checker.close());
    this.checkers = next;
    for (const c of next.values()) c.checker.start();
    return stopped;
  }

  /** Each directory's servers (failover order), their alive/dead state and health check, the service account in use. */
  status(): DirectoryStatus[] {
    return [...this.directories.entries()].map(([name, { directory }]) => {
      const health = new Map((this.checkers.get(name)?.checker.status() ?? []).map((h) => [h.url, h]));
      return {
        name,
        service_account: directory.serviceAccount,
        servers: directory.states.map(({ url, state }) => {
          const h = health.get(url);
          if (h === undefined) return { url, state };
          return {
            url,
            state,
            health: {
              state: h.state,
              ...(h.result !== undefined ? { result: h.result } : {}),
              ...(h.checkedAt !== undefined ? { checked_at: new Date(h.checkedAt).toISOString() } : {}),
            },
          };
        }),
      };
    });
  }

  /** A staged reload that will not happen: close what it opened. */
  async abort(staged: StagedLdap): Promise<void> {
    await Promise.all(staged.opened.map((o) => o.running.server.close(0)));
    await Promise.all(staged.created.map((d) => d.close()));
  }

  boundListeners(): ({ name: string } & BoundAddress)[] {
    return [...this.fronts.values()].flatMap((r) => (r.server.address ? [{ name: r.server.name, ...r.server.address }] : []));
  }

  /** Front listeners drain and close first, then the directories (RADIUS logins in flight finish). Idempotent. */
  async close(): Promise<void> {
    // Health checks stop first (a check in flight ends when its directory closes).
    const checks = [...this.checkers.values()].map((c) => c.checker.close());
    await Promise.all([...this.fronts.values()].map((r) => r.server.close()));
    await this.retiring;
    await Promise.all([...this.directories.values()].map((e) => e.directory.close()));
    await Promise.all(checks);
  }
}
