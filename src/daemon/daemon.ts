/**
 * Composition root: builds every part from a Config, starts them in order, reloads by
 * validate-then-swap, and closes in reverse order.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { AccountingLog } from '../accounting/accounting-log.js';
import { LocalUsersBackend } from '../auth/local/local-backend.js';
import { LockoutTracker } from '../auth/local/lockout.js';
import type { LocalUser } from '../auth/local/users-file.js';
import { isLoopbackAddress } from '../config/cidr.js';
import type { Config, ListenerConfig } from '../config/schema.js';
import type { ConfigIssue } from '../config/yaml-loader.js';
import { AdminServer } from '../observability/admin-http.js';
import { createLogger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import type { Dictionary } from '../radius/dictionary.js';
import { ClientTable } from '../server/clients.js';
import { DuplicateCache } from '../server/duplicates.js';
import { DROP_REASONS, RadiusFront, type ListenerContext } from '../server/front.js';
import { chooseUdpIo, createDurableCommitter, createUdpEndpoint, type Peer, type UdpEndpoint } from '../transport/udp.js';
import { registerAdminRoutes } from './admin-routes.js';
import { buildUpstreams, serverSettings, type UpstreamSet } from './upstreams.js';
import { UpstreamMetrics } from '../observability/upstream-metrics.js';
import { AccessProxy } from '../proxy/access-proxy.js';
import { EncryptedAttributes } from '../proxy/rewrite.js';
import { recordGeneratedAccounting, routeAccessRequest, routeAccountingRequest, type Routing } from '../proxy/request-router.js';
import { LdapServices, LdapServicesError, type DirectoryStatus, type StagedLdap } from './ldap-services.js';
import { LdapFrontMetrics } from '../observability/ldap-front-metrics.js';
import { AccountingSpool, SpoolError } from '../accounting/spool.js';
import { AccountingForwarder } from '../accounting/forwarder.js';
import { SpoolMetrics } from '../observability/spool-metrics.js';
import type { UpstreamServer } from '../upstream/server.js';
import { DaemonObserver, forwarderObserver, ldapFrontObserver, ldapHealthObserver, ldapObserver, spoolObserver } from './observer.js';
import { LdapMetrics } from '../observability/ldap-metrics.js';
import { CertificateMetrics } from '../observability/cert-metrics.js';
import { CertificateWatch } from './cert-expiry.js';
import { describeIssue, prepare, StartupError } from './prepare.js';
import { SESSION_RESTART_KEYS, SessionServices } from './sessions.js';
import { sessionJournalObserver, sessionObserver } from './observer.js';
import { SessionMetrics } from '../observability/session-metrics.js';
import { SessionError } from '../session/errors.js';
import { ACCOUNTING_RESULTS } from '../session/table.js';
import { END_CAUSES, type EndCause, type SessionRecord } from '../session/types.js';
import type { RawAttribute } from '../radius/packet.js';
import { DynauthServices } from './dynauth.js';
import { dynauthObserver } from './observer.js';
import { DynauthMetrics } from '../observability/dynauth-metrics.js';
import { DYNAUTH_DROP_REASONS, DYNAUTH_RESULTS, NAS_RESULTS } from '../dynauth/errors.js';

export { StartupError };

const DRAIN_TIMEOUT_MS = 10_000;

interface RunningListener {
  key: string;
  config: ListenerConfig;
  endpoint: UdpEndpoint;
  context: ListenerContext;
}

/** A listener is kept across a reload only if nothing about it changed; port-0 ones are told apart by position. */
function listenerKey(l: ListenerConfig, index: number): string {
  return JSON.stringify([l.type, l.address, l.port, l.name, l.receive_buffer_bytes, l.port === 0 ? index : -1]);
}

/** The long-lived parts a running daemon holds, in construction order. */
interface Parts {
  dict: Dictionary;
  metrics: Metrics;
  observer: DaemonObserver;
  upstreamMetrics: UpstreamMetrics;
  spoolMetrics: SpoolMetrics;
  backend: LocalUsersBackend;
  front: RadiusFront;
  log: Logger;
  spool: AccountingSpool | undefined;
  forwarder: AccountingForwarder | undefined;
  sessionMetrics: SessionMetrics;
  sessions: SessionServices | undefined;
  dynauth?: DynauthServices | undefined;
  certs: CertificateWatch;
}

export class Daemon {
  private readonly listeners = new Map<string, RunningListener>();
  private admin: AdminServer | undefined;
  private ready = false;
  private closing: Promise<void> | undefined;
  private reloading: Promise<{ ok: boolean; errors?: ConfigIssue[] }> | undefined;
  private onUpstreamsSwapped: (set: UpstreamSet) => void = () => {};
  private readonly retiring = new Set<{ server: UpstreamServer; grace: NodeJS.Timeout }>();

  private constructor(
    private readonly configPath: string,
    private config: Config,
    private readonly parts: Parts,
    private upstreams: UpstreamSet,
    private accountingLog: AccountingLog,
    private readonly ldap: LdapServices,
  ) {
    this.routing = { router: upstreams.router, pools: upstreams.pools, ldap: ldap.backends };
  }

  /** What request routing reads; replaced as a whole on reload. */
  private routing: Routing;

  private get log(): Logger {
    return this.parts.log;
  }

  /** Validates, binds every listener and the admin endpoint; throws StartupError on failure. */
  static async start(configPath: string, logOverride?: Logger): Promise<Daemon> {
    const p = await prepare(configPath);
    if (!p.ok) throw new StartupError('AAA_ERR_CONFIG_INVALID', p.errors);
    const { config, users } = p.prepared;
    const dict = p.dict;
    let udp: ReturnType<typeof chooseUdpIo>;
    try {
      udp = chooseUdpIo();
    } catch (err) {
      throw new StartupError('AAA_ERR_CONFIG_INVALID', [{ file: 'environment', line: 0, column: 0, key: 'AAAPROXY_UDP_IO', message: (err as Error).message }]);
    }
    const log = logOverride ?? createLogger({ level: config.log.level, format: config.log.format });
    const metrics = new Metrics();
    metrics.initDropReasons(DROP_REASONS);
    const lockout = new LockoutTracker(config.local_users.lockout);
    const observer = new DaemonObserver(log, metrics, () => lockout.lockedUsers().length);
    const upstreamMetrics = new UpstreamMetrics(metrics.registry);
    observer.upstreamMetrics = upstreamMetrics;
    const spoolMetrics = new SpoolMetrics(metrics.registry);
    const backend = new LocalUsersBackend(users, dict, lockout, observer);
    const accountingLog = new AccountingLog(accountingOptions(config), observer);
    const { set: upstreams } = buildUpstreams(config, observer);
    let identity = serverSettings(upstreams, dict, observer);
    const proxy = new AccessProxy(new EncryptedAttributes(dict), (server) => identity(server));
    let spool: AccountingSpool | undefined;
    let forwarder: AccountingForwarder | undefined;
    let sessions: SessionServices | undefined;
    const front = new RadiusFront(
      new ClientTable(config.clients),
      {
        access: (packet, origin) => routeAccessRequest(daemon.routing, backend, proxy, packet, origin, sessions?.table),
        accounting: (packet, origin) =>
          routeAccountingRequest(daemon.routing, { log: daemon.accountingLog, dict, spool, sessions: sessions?.table }, packet, origin),
      },
      observer,
    );
    const sessionMetrics = new SessionMetrics(metrics.registry, END_CAUSES, ACCOUNTING_RESULTS);
    const certs = new CertificateWatch(new CertificateMetrics(metrics.registry, log), (err) => daemon.log.error({ err }, 'certificate expiry check failed'));
    const parts: Parts = { dict, metrics, observer, upstreamMetrics, spoolMetrics, backend, front, log, spool: undefined, forwarder: undefined, certs, sessionMetrics, sessions: undefined };
    const ldapMetrics = new LdapMetrics(metrics.registry);
    const ldap = new LdapServices(
      () => daemon.log,
      (name) => ldapObserver(() => daemon.log, upstreamMetrics, ldapMetrics, name),
      ldapFrontObserver(() => daemon.log, new LdapFrontMetrics(metrics.registry)),
      (name) => ldapHealthObserver(() => daemon.log, ldapMetrics, name),
    );
    const daemon = new Daemon(configPath, config, parts, upstreams, accountingLog, ldap);
    daemon.onUpstreamsSwapped = (set) => {
      identity = serverSettings(set, dict, observer);
      forwarder?.swapPools(set.pools);
    };
    for (const { server } of upstreams.servers.values()) upstreamMetrics.setState(server.name, server.state);
    metrics.beforeRender = () => daemon.sampleGauges();
    try {
      await accountingLog.open();
      const sp = config.accounting.spool;
      if (sp) {
        spool = await AccountingSpool.open(
          { dir: sp.dir, maxBytes: sp.max_bytes, segmentBytes: sp.segment_bytes, groupCommitMs: sp.group_commit_ms, committer: createDurableCommitter(udp.io) },
          spoolObserver(() => daemon.log, spoolMetrics),
        );
        forwarder = new AccountingForwarder(spool, upstreams.pools, forwarderObserver(() => daemon.log, spoolMetrics), {
          window: sp.window,
          retryMinMs: sp.retry_min_seconds * 1000,
          retryMaxMs: sp.retry_max_seconds * 1000,
          identity: (server) => identity(server),
        });
        parts.spool = spool;
        parts.forwarder = forwarder;
        forwarder.start();
      }
      // Before the listeners: the first Access-Accept already starts a session.
      if (config.sessions.enabled) {
        sessions = await SessionServices.open(config.sessions, {
          observer: sessionObserver(() => daemon.log, sessionMetrics),
          journalObserver: sessionJournalObserver(() => daemon.log, sessionMetrics),
          sink: { send: (record, cause, attributes) => daemon.recordSessionStop(record, cause, attributes) },
        });
        parts.sessions = sessions;
        daemon.logSessionStart(sessions);
      }
      // After the table it looks sessions up in (the schema requires sessions.enabled).
      if (config.dynauth && sessions) {
        const metricsD = new DynauthMetrics(metrics.registry, DYNAUTH_RESULTS, NAS_RESULTS, DYNAUTH_DROP_REASONS);
        const d = config.duplicates;
        try {
          parts.dynauth = await DynauthServices.open(config.dynauth, () => daemon.config, sessions.table, dynauthObserver(() => daemon.log, metricsD), {
            windowMs: d.window_seconds * 1000,
            maxEntries: d.max_entries,
          });
        } catch (err) {
          throw new StartupError('AAA_ERR_BIND_FAILED', [{ file: configPath, line: 0, column: 0, key: 'dynauth.listeners', message: `cannot bind: ${(err as Error).message}` }]);
        }
        for (const b of parts.dynauth.bound) log.info({ type: 'dynauth', address: b.address, port: b.port }, 'listening');
        // RFC 5176: a session aaaproxy ends itself is ended at its NAS too.
        const dyn = parts.dynauth;
        sessions.table.onExpired((record) => dyn.disconnectEnded(record));
      }
      // LDAP first: a RADIUS route to ldap:NAME needs its backend from the first packet.
      await ldap.start(config, dict);
      daemon.routing = { ...daemon.routing, ldap: ldap.backends };
      await certs.check(config);
      await daemon.openListeners(config.listeners);
      await daemon.startAdmin();
    } catch (err) {
      await daemon.close();
      if (err instanceof LdapServicesError) throw new StartupError('AAA_ERR_BIND_FAILED', [{ file: configPath, line: 0, column: 0, key: err.key, message: err.message }]);
      if (err instanceof SessionError) {
        throw new StartupError('AAA_ERR_CONFIG_INVALID', [{ file: configPath, line: 0, column: 0, key: 'sessions.state_dir', message: err.message }]);
      }
      if (err instanceof SpoolError) {
        throw new StartupError('AAA_ERR_CONFIG_INVALID', [{ file: configPath, line: 0, column: 0, key: 'accounting.spool', message: err.message }]);
      }
      throw err;
    }
    daemon.ready = true;
    warnCleartext(log, config.local_users.file, users);
    log.info(
      { config: configPath, clients: config.clients.length, users: users.size, attributes: dict.attributeCount, udp_io: udp.io, udp_io_reason: udp.reason },
      'aaaproxy started',
    );
    return daemon;
  }

  get logger(): Logger {
    return this.log;
  }

  get lockout(): LockoutTracker {
    return this.parts.backend.lockout;
  }

  /** The session table, for the admin routes (undefined when sessions are off). */
  get sessionTable(): SessionServices['table'] | undefined {
    return this.parts.sessions?.table;
  }

  /** Disconnect-Request to a session's NAS (admin routes); undefined without a dynauth section. */
  get disconnectSession(): ((record: SessionRecord) => ReturnType<DynauthServices['disconnectSession']>) | undefined {
    const d = this.parts.dynauth;
    return d ? (record) => d.disconnectSession(record) : undefined;
  }

  /** As the admin endpoint was started with (`admin` changes only on restart). */
  get adminToken(): string | undefined {
    return this.adminTokenAtStart;
  }

  private adminTokenAtStart: string | undefined;

  /** A Stop the session table made, routed and recorded as the NAS's own accounting would be. */
  private recordSessionStop(record: SessionRecord, cause: EndCause, attributes: RawAttribute[]): Promise<void> {
    const client = this.config.clients.find((c) => c.name === record.client);
    return recordGeneratedAccounting(
      this.routing,
      { log: this.accountingLog, dict: this.parts.dict, spool: this.parts.spool },
      {
        client: record.client,
        clientGroup: client?.group,
        secret: Buffer.from(client?.secret ?? '', 'utf8'),
        nasAddress: record.nasAddress,
        listener: record.acctListener,
        userName: record.user,
      },
      attributes,
      { session: record.id, cause },
    );
  }

  private logSessionStart(sessions: SessionServices): void {
    const c = this.config.sessions;
    const r = sessions.recovery;
    if (r) {
      const fields = { state_dir: c.state_dir, sessions: r.records, snapshot_records: r.snapshotRecords, journal_entries: r.journalEntries, torn_bytes: r.tornBytes, corrupt_lines: r.corruptLines, snapshot_set_aside: r.snapshotSetAside };
      if (r.corruptLines > 0 || r.snapshotSetAside) this.log.warn(fields, 'session state restored with damage skipped');
      else this.log.info(fields, 'session state restored');
    } else {
      this.log.info('sessions are kept in memory only (no sessions.state_dir): a restart forgets them');
    }
    if (c.interim_floor_seconds < 60) this.log.warn({ interim_floor_seconds: c.interim_floor_seconds }, 'sessions.interim_floor_seconds is below 60 (RFC 2869 §5.16 forbids shorter interim intervals; NASes may refuse them)');
  }

  /** The bound address of each listener, in config order (tests use port 0). */
  boundListeners(): { type: string; address: string; port: number }[] {
    return [...this.listeners.values()].map((l) => ({ type: l.config.type, ...l.endpoint.address! }));
  }

  private async openListeners(configs: readonly ListenerConfig[]): Promise<void> {
    const opened: RunningListener[] = [];
    try {
      for (const [i, cfg] of configs.entries()) {
        const key = listenerKey(cfg, i);
        if (this.listeners.has(key)) continue;
        opened.push(await this.openListener(cfg, key));
      }
    } catch (err) {
      await Promise.all(opened.map((l) => l.endpoint.close()));
      const e = err as NodeJS.ErrnoException;
      throw new StartupError('AAA_ERR_BIND_FAILED', [{ file: this.configPath, line: 0, column: 0, key: 'listeners', message: `cannot bind: ${e.message}` }]);
    }
    for (const l of opened) this.listeners.set(l.key, l);
  }

  private async openListener(cfg: ListenerConfig, key: string): Promise<RunningListener> {
    const duplicates = new DuplicateCache(this.config.duplicates.window_seconds * 1000, this.config.duplicates.max_entries);
    let endpoint: UdpEndpoint;
    const context: ListenerContext = {
      kind: cfg.type,
      name: cfg.name,
      duplicates,
      send: (buf: Buffer, peer: Peer) => endpoint.send(buf, peer),
    };
    endpoint = createUdpEndpoint(
      { address: cfg.address, port: cfg.port, receiveBufferBytes: cfg.receive_buffer_bytes },
      (msg, peer) => this.parts.front.handleDatagram(context, msg, peer),
      (err) => this.log.error({ err, listener: key }, 'socket error'),
    );
    if (endpoint.commitReply) context.commitReply = endpoint.commitReply.bind(endpoint);
    const bound = await endpoint.start();
    this.log.info({ type: cfg.type, address: bound.address, port: bound.port }, 'listening');
    return { key, config: cfg, endpoint, context };
  }

  private async startAdmin(): Promise<void> {
    const a = this.config.admin;
    if (!a.enabled) return;
    if (!isLoopbackAddress(a.address)) this.log.warn({ address: a.address }, 'admin HTTP is reachable beyond loopback');
    this.adminTokenAtStart = a.token;
    this.admin = new AdminServer({ address: a.address, port: a.port, metrics: this.parts.metrics, logger: this.log, readiness: () => this.ready });
    registerAdminRoutes(this.admin, this);
    await this.admin.start();
  }

  adminAddress(): Promise<{ address: string; port: number }> | undefined {
    return this.admin?.start();
  }

  /** Refreshes the gauges that are sampled rather than counted. */
  sampleGauges(): void {
    if (this.parts.spool) this.parts.spoolMetrics.sample(this.parts.spool.stats());
    let entries = 0;
    for (const l of this.listeners.values()) entries += l.context.duplicates.size;
    this.parts.metrics.setDuplicateCacheEntries(entries);
    this.parts.metrics.setLockedUsers(this.parts.backend.lockout.lockedUsers().length);
    if (this.parts.sessions) this.parts.sessionMetrics.sampleActive(this.parts.sessions.table.activeByClient());
  }

  /**
   * SIGHUP: validate the new config and users file; on any error keep serving the old
   * config. Otherwise open new listeners first, then swap clients, users, lockout policy,
   * accounting log and log level, and close listeners that are gone.
   */
  reload(): Promise<{ ok: boolean; errors?: ConfigIssue[] }> {
    this.reloading ??= this.doReload()
      .catch((err: unknown) => {
        // Never let a reload bug take the daemon down: the old config keeps serving.
        this.parts.metrics.configReloaded('failed');
        this.log.error({ err }, 'reload failed unexpectedly; the old config keeps serving');
        return { ok: false, errors: [{ file: this.configPath, line: 0, column: 0, key: '', message: (err as Error).message }] };
      })
      .finally(() => {
        this.reloading = undefined;
      });
    return this.reloading;
  }

  private async doReload(): Promise<{ ok: boolean; errors?: ConfigIssue[] }> {
    const fail = (errors: ConfigIssue[]) => {
      this.parts.metrics.configReloaded('failed');
      // `path`, not `key`: the logger redacts any field named key (TLS keys), which hid the setting at fault.
      for (const e of errors) this.log.error({ file: e.file, line: e.line, path: e.key }, `reload refused: ${describeIssue(e)}`);
      return { ok: false, errors };
    };
    const p = await prepare(this.configPath, this.parts.dict);
    if (!p.ok) return fail(p.errors);
    const next = p.prepared.config;
    const restartOnly = ['admin', 'dictionaries', 'duplicates', 'dynauth'].filter(
      (k) => JSON.stringify(next[k as keyof Config]) !== JSON.stringify(this.config[k as keyof Config]),
    );
    if (JSON.stringify(next.accounting.spool) !== JSON.stringify(this.config.accounting.spool)) restartOnly.push('accounting.spool');
    for (const k of SESSION_RESTART_KEYS) if (next.sessions[k] !== this.config.sessions[k]) restartOnly.push(`sessions.${k}`);
    if (restartOnly.length > 0) this.log.warn({ keys: restartOnly }, 'these settings change only on restart');

    let ldap: StagedLdap;
    try {
      ldap = await this.ldap.stage(next, this.parts.dict);
    } catch (err) {
      const key = err instanceof LdapServicesError ? err.key : 'ldap_directories';
      return fail([{ file: this.configPath, line: 0, column: 0, key, message: (err as Error).message }]);
    }
    let newLog: AccountingLog | undefined;
    if (JSON.stringify(next.accounting.log) !== JSON.stringify(this.config.accounting.log)) {
      newLog = new AccountingLog(accountingOptions(next), this.parts.observer);
      try {
        await newLog.open();
      } catch (err) {
        await this.ldap.abort(ldap);
        return fail([{ file: this.configPath, line: 0, column: 0, key: 'accounting.log.path', message: (err as Error).message }]);
      }
    }
    try {
      await this.openListeners(next.listeners);
    } catch (err) {
      await newLog?.close();
      await this.ldap.abort(ldap);
      return fail((err as StartupError).issues);
    }
    // The swap: synchronous, so no datagram sees half of it.
    const wanted = new Set(next.listeners.map((l, i) => listenerKey(l, i)));
    const gone = [...this.listeners.values()].filter((l) => !wanted.has(l.key));
    for (const l of gone) this.listeners.delete(l.key);
    const { set: upstreams, retired } = buildUpstreams(next, this.parts.observer, this.upstreams);
    this.upstreams = upstreams;
    this.onUpstreamsSwapped(upstreams);
    this.ldap.commit(ldap);
    this.routing = { router: upstreams.router, pools: upstreams.pools, ldap: this.ldap.backends };
    for (const { server } of upstreams.servers.values()) this.parts.upstreamMetrics.setState(server.name, server.state);
    this.parts.front.swapClients(new ClientTable(next.clients));
    this.parts.backend.swapUsers(p.prepared.users);
    this.parts.backend.lockout.setPolicy(next.local_users.lockout);
    const oldLog = newLog ? this.accountingLog : undefined;
    if (newLog) this.accountingLog = newLog;
    this.log.level = next.log.level;
    this.parts.sessions?.reconfigure(next.sessions);
    this.config = next;

    await Promise.all(gone.map((l) => l.endpoint.close()));
    await oldLog?.close();
    await this.parts.certs.check(next);
    this.retire(retired);
    this.parts.metrics.configReloaded('ok');
    warnCleartext(this.log, next.local_users.file, p.prepared.users);
    this.log.info({ clients: next.clients.length, users: p.prepared.users.size }, 'config reloaded');
    return { ok: true };
  }

  /** Servers that left the config finish what they have in flight, then close. */
  private retire(servers: UpstreamServer[]): void {
    for (const server of servers) {
      const o = server.opts;
      this.parts.upstreamMetrics.forget(server.name);
      const grace = setTimeout(() => void server.close(), o.timeoutMs * (o.retries + 1) + 1000);
      grace.unref();
      this.retiring.add({ server, grace });
    }
  }

  /** LDAP directories: servers, states, health checks (GET /directories). */
  directoryStates(): DirectoryStatus[] {
    return this.ldap.status();
  }

  upstreamStates(): { name: string; state: string; outstanding: number }[] {
    return [...this.upstreams.servers.values()].map(({ server }) => ({ name: server.name, state: server.state, outstanding: server.outstanding }));
  }

  /** SIGTERM: stop taking packets, let accepted work finish, flush the accounting log. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ready = false;
      this.parts.certs.close();
      await this.reloading;
      // Bounded, so a stuck backend cannot hold shutdown hostage.
      await Promise.race([this.parts.front.drain(), delay(DRAIN_TIMEOUT_MS, undefined, { ref: false })]);
      await Promise.all([...this.listeners.values()].map((l) => l.endpoint.close()));
      this.listeners.clear();
      await this.admin?.close();
      // Requests in flight finish (their Disconnect-ACKs end sessions), before the table closes.
      await this.parts.dynauth?.close();
      // Its last Stops go to the accounting log or the spool, so it closes before them.
      await this.parts.sessions?.close();
      await this.accountingLog.close();
      await this.parts.backend.close();
      // LDAP front sessions drain, then the directories close (logins in flight finish first).
      await this.ldap.close();
      // Delivery stops first; records in flight stay in the spool and go again after restart.
      await this.parts.forwarder?.close();
      for (const r of this.retiring) clearTimeout(r.grace);
      await Promise.all([...this.retiring].map((r) => r.server.close()));
      await Promise.all([...this.upstreams.servers.values()].map((s) => s.server.close()));
      await this.parts.spool?.close();
      this.log.info('aaaproxy stopped');
    })();
    return this.closing;
  }
}

/** Cleartext passwords are allowed for CHAP, but an admin should see that they are there. */
function warnCleartext(log: Logger, file: string, users: Map<string, LocalUser>): void {
  const names = [...users.values()].filter((u) => u.cleartext !== undefined).map((u) => u.name);
  if (names.length === 0) return;
  log.warn({ file, users: names.slice(0, 20), count: names.length }, 'users file stores cleartext passwords (needed only for CHAP); protect the file or use password_hash');
}

function accountingOptions(config: Config) {
  const l = config.accounting.log;
  return { path: l.path, groupCommitMs: l.group_commit_ms, maxBytes: l.rotate.max_bytes, keep: l.rotate.keep };
}
