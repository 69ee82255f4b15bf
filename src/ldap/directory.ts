/**
 * The client side of LDAP: a directory reached through an ordered list of servers (ldap://
 * or ldaps://, optionally StartTLS, verified against a configured CA), with failover in
 * order and a per-server health state. Shared by the LDAP RADIUS backend and the LDAP proxy.
 *
 * authenticate() is search-then-bind: bind as the service account (the backup account when the
 * primary one is refused), find the user under base_dn with the user filter (value escaped per
 * RFC 4515 §3; when several entries match, the first one the server returns is used), bind as
 * that DN with the password on a second connection, then resolve groups (groups.ts). Each
 * attempt opens its own connections and closes them (no pool yet). openConnection() gives the
 * LDAP front server a connection of its client's own, bound as the client's DN, picked with the
 * same failover. checkServer() runs one login on one given server (the health check).
 *
 * Failover: a connect failure, a TLS failure, a lost connection or a timeout (connect or
 * operation) marks the server dead and moves to the next URL. A dead server is skipped until
 * retry_seconds have passed since it failed; if every server is dead and none is due, all
 * are tried in order anyway (a request is never refused without one try). Servers are always
 * tried in configured order, so the primary serves again as soon as it answers (after
 * retry_seconds, or at once when a health check finds it answering).
 *
 * Service account: `primary | backup` (DESIGN habit 4). When the primary account's bind is
 * refused and a backup account is configured, the backup binds instead and stays in use for
 * retry_seconds; then the primary is tried again (not at every login: a directory may lock an
 * account after repeated failures).
 *
 * No secret (bind password, user password) appears in any error message this module makes,
 * and errors from ldapjs are never passed on as text: they are mapped to the codes below.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type ldap from 'ldapjs';
import { createLdapClient } from './client-factory.js';
import { buildFilter } from './filter-build.js';
import { fillFilter } from './filter-escape.js';
import { resolveGroups, type GroupSearch, type GroupSettings, type LdapEntry } from './groups.js';

/** Explicit health states (DESIGN habit 4); only LdapDirectory.transition() changes them. */
export type LdapServerState = 'alive' | 'dead';

/** Which service account binds for searches; only LdapDirectory.useAccount() changes it. */
export type ServiceAccount = 'primary' | 'backup';

/** Error catalogue (DESIGN habit 3). */
export type LdapErrorCode =
  /** TCP connect refused/reset, or the TLS handshake failed (certificate not trusted...). */
  | 'AAA_ERR_LDAP_CONNECT'
  | 'AAA_ERR_LDAP_CONNECT_TIMEOUT'
  | 'AAA_ERR_LDAP_OPERATION_TIMEOUT'
  /** The connection closed under an operation. */
  | 'AAA_ERR_LDAP_CONNECTION_LOST'
  /** The server refused StartTLS. */
  | 'AAA_ERR_LDAP_STARTTLS'
  /** The service account bind was refused (bind_dn / bind_password wrong or locked). */
  | 'AAA_ERR_LDAP_SERVICE_BIND'
  /** The server answered an operation with a non-success result code. */
  | 'AAA_ERR_LDAP_RESULT'
  | 'AAA_ERR_LDAP_CLOSED';

/** Codes after which the server counts as unreachable (dead); the others are answers. */
const UNREACHABLE: ReadonlySet<LdapErrorCode> = new Set([
  'AAA_ERR_LDAP_CONNECT',
  'AAA_ERR_LDAP_CONNECT_TIMEOUT',
  'AAA_ERR_LDAP_OPERATION_TIMEOUT',
  'AAA_ERR_LDAP_CONNECTION_LOST',
  'AAA_ERR_LDAP_STARTTLS',
]);

export class LdapDirectoryError extends Error {
  constructor(
    readonly code: LdapErrorCode,
    message: string,
    /** The LDAP result code (RFC 4511 §4.1.9) for AAA_ERR_LDAP_RESULT / SERVICE_BIND. */
    readonly resultCode?: number,
  ) {
    super(message);
    this.name = 'LdapDirectoryError';
  }
}

export interface LdapDirectoryOptions {
  /** In failover order; ldap://host[:port] or ldaps://host[:port]. */
  urls: string[];
  /** Service account. */
  bindDn: string;
  bindPassword: string;
  /** Used when the service account's bind is refused. */
  backupBind?: { dn: string; password: string };
  /** Where users are searched (scope sub). */
  baseDn: string;
  /** Filter template with `{user}`, e.g. `(uid={user})`; the value is escaped (RFC 4515 §3). */
  userFilter: string;
  /** User attributes to return (default all user attributes); userPassword is never returned. */
  attributes?: string[];
  /** Default: the user's memberOf attribute, two levels of nesting. */
  groups?: Partial<GroupSettings>;
  /** Source address of every connection (IPv4 or IPv6); the kernel chooses when absent. */
  sourceAddress?: string;
  tls?: {
    /** PEM CA bundle that verifies the servers' certificates. */
    ca?: string | Buffer;
    /** StartTLS (RFC 4511 §4.14) on ldap:// URLs before any bind. */
    startTls?: boolean;
    /** Default true; turning it off is an explicit (to be logged) choice. */
    rejectUnauthorized?: boolean;
  };
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  /** A dead server is tried again after this long. */
  retrySeconds: number;
}

export interface LdapDirectoryObserver {
  stateChanged(url: string, from: LdapServerState, to: LdapServerState, reason: string): void;
  /** The service account in use changed (the primary one refused, or back to it). */
  serviceAccountChanged?(from: ServiceAccount, to: ServiceAccount, url: string): void;
  /** Several entries matched the user filter; the first one was used. */
  severalEntriesMatched?(user: string): void;
}

/**
 * A connection of the caller's own to one server of the directory (LDAP proxying): the caller
 * runs its operations on `client` and calls release() when done. failed() reports that the
 * server stopped answering on it, which marks the server dead as authenticate() would.
 */
export interface DirectoryConnection {
  readonly client: ldap.Client;
  readonly url: string;
  failed(code: LdapErrorCode): void;
  /** Unbinds and drops the connection. Idempotent. */
  release(): void;
}

export type OpenConnectionResult =
  | { ok: true; connection: DirectoryConnection }
  /** The server answered the bind with this result code (invalidCredentials...). */
  | { ok: false; reason: 'refused'; resultCode: number }
  /** No server could be reached, or none answered in time. */
  | { ok: false; reason: 'unavailable' };

export type LdapAuthFailure = 'no_such_user' | 'wrong_password' | 'empty_password' | 'directory_unavailable';

export type LdapAuthResult =
  | { ok: true; dn: string; groups: string[]; attributes: Record<string, string[]> }
  | { ok: false; reason: LdapAuthFailure };

/** One server's answer to a health check login (a closed set: it labels a metric). */
export type ServerCheckResult = 'ok' | 'unreachable' | 'service_bind_refused' | 'no_such_user' | 'wrong_password' | 'error' | 'closed';

interface Server {
  url: string;
  host: string;
  port: number;
  secure: boolean;
  state: LdapServerState;
  /** now() after which a dead server is tried again. */
  retryAt: number;
}

type Entry = LdapEntry;

const DEFAULT_GROUPS: GroupSettings = { lookup: 'memberOf', memberOfAttribute: 'memberOf', nestedDepth: 2, inChain: false, inChainBaseDn: '' };

const NO_OBSERVER: LdapDirectoryObserver = { stateChanged: () => undefined };
const TRANSPORT_ERROR_NAMES = new Set(['ConnectionError', 'TimeoutError', 'AbandonedError', 'LDAPError']);
const INVALID_CREDENTIALS = 49;

export class LdapDirectory {
  private readonly servers: Server[];
  private readonly clients = new Set<ldap.Client>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly groups: GroupSettings;
  private account: ServiceAccount = 'primary';
  /** now() after which the primary account is tried again while the backup is in use. */
  private accountRetryAt = 0;
  private closed = false;

  constructor(
    private readonly opts: LdapDirectoryOptions,
    private readonly observer: LdapDirectoryObserver = NO_OBSERVER,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (opts.urls.length === 0) throw new LdapDirectoryError('AAA_ERR_LDAP_CONNECT', 'no LDAP server URL configured');
    this.servers = opts.urls.map((raw) => {
      const u = new URL(raw);
      if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') throw new LdapDirectoryError('AAA_ERR_LDAP_CONNECT', `not an ldap:// or ldaps:// URL: ${u.protocol}`);
      const secure = u.protocol === 'ldaps:';
      const port = u.port === '' ? (secure ? 636 : 389) : Number(u.port);
      return { url: `${u.protocol}//${u.host}`, host: u.hostname.replace(/^\[|\]$/g, ''), port, secure, state: 'alive', retryAt: 0 };
    });
    this.groups = { ...DEFAULT_GROUPS, inChainBaseDn: opts.baseDn, ...opts.groups };
  }

  /** The service account in use. */
  get serviceAccount(): ServiceAccount {
    return this.account;
  }

  /** Health of each server, in failover order. */
  get states(): { url: string; state: LdapServerState }[] {
    return this.servers.map((s) => ({ url: s.url, state: s.state }));
  }

  stateOf(url: string): LdapServerState | undefined {
    return this.servers.find((s) => s.url === url)?.state;
  }

  authenticate(username: string, password: string): Promise<LdapAuthResult> {
    const p = this.doAuthenticate(username, password);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private async doAuthenticate(username: string, password: string): Promise<LdapAuthResult> {
    // RFC 4513 §5.1.2: a simple bind with a DN and an empty password is an unauthenticated
    // bind, which a server may "accept": refused here before anything reaches a server.
    if (password.length === 0) return { ok: false, reason: 'empty_password' };
    if (username.length === 0) return { ok: false, reason: 'no_such_user' };
    if (this.closed) return { ok: false, reason: 'directory_unavailable' };
    const userFilter = buildFilter(fillFilter(this.opts.userFilter, { user: username }));
    for (const server of this.candidates()) {
      if (this.closed) break;
      try {
        const result = await this.attempt(server, username, userFilter, password);
        this.transition(server, 'alive', 'answered');
        return result;
      } catch (err) {
        const e = asDirectoryError(err);
        if (UNREACHABLE.has(e.code)) this.transition(server, 'dead', e.code);
        else if (e.code !== 'AAA_ERR_LDAP_CLOSED') this.transition(server, 'alive', 'answered');
        // Next server: unreachable, or it answered with an error (service bind refused, bad base).
      }
    }
    return { ok: false, reason: 'directory_unavailable' };
  }

  /**
   * One login on the server with this URL, without failover (the health check). Updates that
   * server's state as authenticate() would: unreachable is dead, any answer is alive.
   */
  checkServer(url: string, username: string, password: string): Promise<ServerCheckResult> {
    const p = this.doCheckServer(url, username, password);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private async doCheckServer(url: string, username: string, password: string): Promise<ServerCheckResult> {
    const server = this.servers.find((s) => s.url === url);
    if (server === undefined || this.closed) return 'closed';
    if (password.length === 0) return 'wrong_password';
    try {
      const r = await this.attempt(server, username, buildFilter(fillFilter(this.opts.userFilter, { user: username })), password);
      this.transition(server, 'alive', 'health check');
      return r.ok ? 'ok' : r.reason === 'no_such_user' ? 'no_such_user' : 'wrong_password';
    } catch (err) {
      const e = asDirectoryError(err);
      if (e.code === 'AAA_ERR_LDAP_CLOSED') return 'closed';
      if (UNREACHABLE.has(e.code)) {
        this.transition(server, 'dead', e.code);
        return 'unreachable';
      }
      this.transition(server, 'alive', 'health check');
      return e.code === 'AAA_ERR_LDAP_SERVICE_BIND' ? 'service_bind_refused' : 'error';
    }
  }

  /** The operation timeout, for callers of openConnection() that bound their own operations. */
  get operationTimeoutMs(): number {
    return this.opts.operationTimeoutMs;
  }

  /**
   * Opens a connection to the first usable server, in the same failover order and with the same
   * health states as authenticate(), bound as `bind.dn` (or anonymous without `bind`). A server
   * that cannot be reached, or does not answer the bind in time, is marked dead and the next one
   * is tried; a bind the server answers with an error ends the search (the caller relays it).
   */
  openConnection(bind?: { dn: string; password: string }): Promise<OpenConnectionResult> {
    const p = this.doOpenConnection(bind);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private async doOpenConnection(bind: { dn: string; password: string } | undefined): Promise<OpenConnectionResult> {
    // RFC 4513 §5.1.2: a DN with an empty password is an unauthenticated bind; it never reaches a server as one.
    if (bind && bind.password.length === 0) return { ok: false, reason: 'refused', resultCode: 53 };
    for (const server of this.candidates()) {
      if (this.closed) break;
      let client: ldap.Client | undefined;
      try {
        client = await this.connect(server);
        if (bind) await this.bind(client, bind.dn, bind.password);
        this.transition(server, 'alive', 'answered');
        const c = client;
        return {
          ok: true,
          connection: {
            client: c,
            url: server.url,
            failed: (code) => {
              if (UNREACHABLE.has(code)) this.transition(server, 'dead', code);
            },
            release: () => this.release(c),
          },
        };
      } catch (err) {
        if (client) this.release(client);
        const e = asDirectoryError(err);
        if (e.code === 'AAA_ERR_LDAP_RESULT') {
          this.transition(server, 'alive', 'answered');
          return { ok: false, reason: 'refused', resultCode: e.resultCode ?? 80 };
        }
        if (UNREACHABLE.has(e.code)) this.transition(server, 'dead', e.code);
      }
    }
    return { ok: false, reason: 'unavailable' };
  }

  /** Alive servers and dead ones due for a retry, in configured order; all of them if none. */
  private candidates(): Server[] {
    const now = this.now();
    const usable = this.servers.filter((s) => s.state === 'alive' || now >= s.retryAt);
    return usable.length > 0 ? usable : [...this.servers];
  }

  private async attempt(server: Server, username: string, userFilter: ldap.Filter, password: string): Promise<LdapAuthResult> {
    const service = await this.connect(server);
    try {
      await this.serviceBind(service, server);
      const memberOfAttr = this.groups.lookup === 'memberOf' ? this.groups.memberOfAttribute : undefined;
      const wanted = [...(this.opts.attributes ?? ['*']), ...(memberOfAttr ? [memberOfAttr] : [])];
      // sizeLimit 2: enough to tell one entry from several; sizeLimitExceeded (4) returns what came.
      const found = await this.search(service, this.opts.baseDn, { scope: 'sub', filter: userFilter, attributes: wanted, sizeLimit: 2 }, true);
      if (found.length === 0) return { ok: false, reason: 'no_such_user' };
      // The first DN wins (the rule; the server's order decides which is first).
      if (found.length > 1) this.observer.severalEntriesMatched?.(username);
      const entry = found[0]!;

      // The user's bind goes on its own connection: the service connection keeps its identity.
      const userConn = await this.connect(server);
      try {
        await this.bind(userConn, entry.dn, password);
      } catch (err) {
        const e = asDirectoryError(err);
        if (e.code === 'AAA_ERR_LDAP_RESULT') {
          // 49 invalidCredentials; other refusals (a locked account, unwillingToPerform) are a reject too.
          return { ok: false, reason: 'wrong_password' };
        }
        throw e;
      } finally {
        this.release(userConn);
      }

      const groups = await resolveGroups({ search: (base, q) => this.groupSearch(service, base, q) }, entry, username, this.groups);
      const attributes: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(entry.attributes)) if (k.toLowerCase() !== 'userpassword') attributes[k] = v;
      return { ok: true, dn: entry.dn, groups, attributes };
    } finally {
      this.release(service);
    }
  }

  /** Binds the service account: the primary one, or the backup while the primary is refused. */
  private async serviceBind(client: ldap.Client, server: Server): Promise<void> {
    const backup = this.opts.backupBind;
    const refused = (e: LdapDirectoryError, which: string) =>
      new LdapDirectoryError('AAA_ERR_LDAP_SERVICE_BIND', `${server.url}: ${which} service account bind refused (result ${e.resultCode})`, e.resultCode);
    if (backup === undefined || this.account === 'primary' || this.now() >= this.accountRetryAt) {
      try {
        await this.bind(client, this.opts.bindDn, this.opts.bindPassword);
        this.useAccount('primary', server);
        return;
      } catch (err) {
        const e = asDirectoryError(err);
        if (e.code !== 'AAA_ERR_LDAP_RESULT') throw e;
        if (backup === undefined) throw refused(e, 'the');
        // RFC 4511 §4.2.1: after a failed bind the connection is anonymous and may bind again.
      }
    }
    try {
      await this.bind(client, backup.dn, backup.password);
    } catch (err) {
      const e = asDirectoryError(err);
      throw e.code === 'AAA_ERR_LDAP_RESULT' ? refused(e, 'the backup') : e;
    }
    if (this.account === 'primary' || this.now() >= this.accountRetryAt) this.accountRetryAt = this.now() + this.opts.retrySeconds * 1000;
    this.useAccount('backup', server);
  }

  private useAccount(to: ServiceAccount, server: Server): void {
    const from = this.account;
    if (from === to) return;
    this.account = to;
    this.observer.serviceAccountChanged?.(from, to, server.url);
  }

  private groupSearch(client: ldap.Client, base: string, q: GroupSearch): Promise<Entry[]> {
    const options: ldap.SearchOptions = { scope: q.scope, filter: q.filter, attributes: q.attributes, ...(q.sizeLimit !== undefined ? { sizeLimit: q.sizeLimit } : {}) };
    const found = this.search(client, base, options, q.sizeLimit !== undefined);
    if (!q.lenient) return found;
    return found.catch((err: unknown) => {
      if (asDirectoryError(err).code === 'AAA_ERR_LDAP_RESULT') return [];
      throw err;
    });
  }

  // -------------------------------------------------------------------------------------
  // ldapjs, wrapped: every call bounded by our own timers, every error mapped to a code.

  private connect(server: Server): Promise<ldap.Client> {
    if (this.closed) return Promise.reject(new LdapDirectoryError('AAA_ERR_LDAP_CLOSED', 'directory closed'));
    const tlsOptions = this.tlsOptions(server);
    return new Promise<ldap.Client>((resolve, reject) => {
      let settled = false;
      // Operation timeouts are ours (op()); the factory turns ldapjs's own off.
      const client = createLdapClient(server, { connectTimeoutMs: this.opts.connectTimeoutMs, tlsOptions, sourceAddress: this.opts.sourceAddress });
      this.clients.add(client);
      const fail = (code: LdapErrorCode, what: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.release(client);
        reject(new LdapDirectoryError(code, `${server.url}: ${what}`));
      };
      // Errors after setup (a reset socket) surface as failed operations; never unhandled.
      client.on('error', (err: unknown) => fail(isTimeout(err) ? 'AAA_ERR_LDAP_CONNECT_TIMEOUT' : 'AAA_ERR_LDAP_CONNECT', `connect failed (${errorName(err)})`));
      client.on('connectError', (err: unknown) => fail(isTimeout(err) ? 'AAA_ERR_LDAP_CONNECT_TIMEOUT' : 'AAA_ERR_LDAP_CONNECT', `connect failed (${errorName(err)})`));
      client.on('connectRefused', () => fail('AAA_ERR_LDAP_CONNECT', 'connection refused'));
      client.on('connectTimeout', () => fail('AAA_ERR_LDAP_CONNECT_TIMEOUT', `no connection within ${this.opts.connectTimeoutMs} ms`));
      client.on('setupError', (err: unknown) => fail('AAA_ERR_LDAP_CONNECT', `setup failed (${errorName(err)})`));
      // A guard of our own: ldapjs's connect timer is skipped when the socket looks readable.
      const timer = setTimeout(() => fail('AAA_ERR_LDAP_CONNECT_TIMEOUT', `no connection within ${this.opts.connectTimeoutMs} ms`), this.opts.connectTimeoutMs + 50);
      client.once('connect', () => {
        if (settled) return;
        if (!this.opts.tls?.startTls || server.secure) {
          settled = true;
          clearTimeout(timer);
          resolve(client);
          return;
        }
        client.starttls(tlsOptions, [], (err: Error | null) => {
          if (err) fail(isResult(err) ? 'AAA_ERR_LDAP_STARTTLS' : 'AAA_ERR_LDAP_CONNECT', `StartTLS failed (${errorName(err)})`);
          else if (!settled) {
            settled = true;
            clearTimeout(timer);
            resolve(client);
          }
        });
      });
    });
  }

  private tlsOptions(server: Server): ConnectionOptions {
    const t = this.opts.tls ?? {};
    return {
      host: server.host,
      // RFC 6066 §3: no IP address in SNI; the certificate is still checked against the IP.
      ...(isIP(server.host) === 0 ? { servername: server.host } : {}),
      ...(t.ca !== undefined ? { ca: t.ca } : {}),
      rejectUnauthorized: t.rejectUnauthorized ?? true,
    };
  }

  /** Runs one operation with the operation timeout; on timeout the connection is dropped. */
  private op<T>(client: ldap.Client, what: string, run: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.release(client);
        reject(new LdapDirectoryError('AAA_ERR_LDAP_OPERATION_TIMEOUT', `${what}: no answer within ${this.opts.operationTimeoutMs} ms`));
      }, this.opts.operationTimeoutMs);
      const onClose = () => done(new LdapDirectoryError('AAA_ERR_LDAP_CONNECTION_LOST', `${what}: connection closed`));
      const done = (err: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.off('close', onClose);
        if (err === null || err === undefined) resolve(value as T);
        else reject(toDirectoryError(err, what));
      };
      client.once('close', onClose);
      try {
        run(done);
      } catch (err) {
        done(err);
      }
    });
  }

  private bind(client: ldap.Client, dn: string, password: string): Promise<void> {
    // The DN may be a user's: it is not put in error text either (only the operation name).
    return this.op<void>(client, 'bind', (done) => client.bind(dn, password, (err) => done(err)));
  }

  /** Collects entries; with `tolerateSizeLimit`, sizeLimitExceeded (4) returns what came. */
  private search(client: ldap.Client, base: string, options: ldap.SearchOptions, tolerateSizeLimit: boolean): Promise<Entry[]> {
    return this.op<Entry[]>(client, 'search', (done) =>
      client.search(base, options, (err, res) => {
        if (err) return done(err);
        const entries: Entry[] = [];
        res.on('searchEntry', (e: ldap.SearchEntry) => entries.push(toEntry(e)));
        res.on('error', (e: unknown) => {
          if (tolerateSizeLimit && resultCodeOf(e) === 4) done(null, entries);
          else if (resultCodeOf(e) === 32) done(null, []); // noSuchObject: nothing under that base
          else done(e);
        });
        res.on('end', () => done(null, entries));
      }),
    );
  }

  private release(client: ldap.Client): void {
    if (!this.clients.delete(client)) return;
    client.removeAllListeners('connect');
    // Keep a listener: ldapjs may still emit errors while tearing down.
    client.on('error', () => undefined);
    try {
      client.destroy();
    } catch {
      // Already torn down.
    }
  }

  private transition(server: Server, to: LdapServerState, reason: string): void {
    if (to === 'dead') server.retryAt = this.now() + this.opts.retrySeconds * 1000;
    const from = server.state;
    if (from === to) return;
    server.state = to;
    this.observer.stateChanged(server.url, from, to, reason);
  }

  /** Drops every connection, waits for in-flight calls to settle. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) {
      await Promise.allSettled([...this.inFlight]);
      return;
    }
    this.closed = true;
    for (const c of [...this.clients]) this.release(c);
    await Promise.allSettled([...this.inFlight]);
  }
}

// ---------------------------------------------------------------------------------------

function toEntry(e: ldap.SearchEntry): Entry {
  const pojo = e.pojo as unknown as { objectName: string; attributes: { type: string; values: string[] }[] };
  const attributes: Record<string, string[]> = {};
  for (const a of pojo.attributes) attributes[a.type] = [...(attributes[a.type] ?? []), ...a.values];
  return { dn: String(pojo.objectName), attributes };
}

function errorName(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return typeof code === 'string' ? code : err.name;
  }
  return 'unknown';
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || /timeout/i.test(err.message));
}

/** The LDAP result code of a server answer in an ldapjs error, or undefined for transport errors. */
export function resultCodeOf(err: unknown): number | undefined {
  if (!(err instanceof Error) || TRANSPORT_ERROR_NAMES.has(err.name)) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && code > 0 ? code : undefined;
}

function isResult(err: unknown): boolean {
  return resultCodeOf(err) !== undefined;
}

function toDirectoryError(err: unknown, what: string): LdapDirectoryError {
  if (err instanceof LdapDirectoryError) return err;
  const rc = resultCodeOf(err);
  if (rc !== undefined) return new LdapDirectoryError('AAA_ERR_LDAP_RESULT', `${what}: result ${rc}${rc === INVALID_CREDENTIALS ? ' (invalidCredentials)' : ''}`, rc);
  if (isTimeout(err)) return new LdapDirectoryError('AAA_ERR_LDAP_OPERATION_TIMEOUT', `${what}: timed out`);
  return new LdapDirectoryError('AAA_ERR_LDAP_CONNECTION_LOST', `${what}: ${errorName(err)}`);
}

function asDirectoryError(err: unknown): LdapDirectoryError {
  return err instanceof LdapDirectoryError ? err : toDirectoryError(err, 'operation');
}
