/**
 * The client side of LDAP: a directory reached through an ordered list of servers (ldap://
 * or ldaps://, optionally StartTLS, verified against a configured CA), with failover in
 * order and a per-server health state. Shared by the LDAP RADIUS backend and the LDAP proxy.
 *
 * authenticate() is search-then-bind: bind as the service account, find exactly one entry
 * under base_dn with the user filter (value escaped per RFC 4515 §3), bind as that DN with
 * the password on a second connection, then read groups. Each attempt opens its own
 * connections and closes them (no pool yet). openConnection() gives the LDAP front server a
 * connection of its client's own, bound as the client's DN, picked with the same failover.
 *
 * Failover: a connect failure, a TLS failure, a lost connection or a timeout (connect or
 * operation) marks the server dead and moves to the next URL. A dead server is skipped until
 * retry_seconds have passed since it failed; if every server is dead and none is due, all
 * are tried in order anyway (a request is never refused without one try).
 *
 * No secret (bind password, user password) appears in any error message this module makes,
 * and errors from ldapjs are never passed on as text: they are mapped to the codes below.
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import ldap from 'ldapjs';
import { buildFilter } from './filter-build.js';
import { fillFilter } from './filter-escape.js';

/** Explicit health states (DESIGN habit 4); only LdapDirectory.transition() changes them. */
export type LdapServerState = 'alive' | 'dead';

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

export type GroupLookup =
  /** Groups from an attribute of the user entry (OpenLDAP memberof overlay, AD). */
  | { mode: 'memberOf'; attribute?: string }
  /** Groups by a search under `baseDn`; `filter` holds `{dn}` (the user DN) and/or `{user}`. */
  | { mode: 'search'; baseDn: string; filter: string }
  | { mode: 'none' };

export interface LdapDirectoryOptions {
  /** In failover order; ldap://host[:port] or ldaps://host[:port]. */
  urls: string[];
  /** Service account. */
  bindDn: string;
  bindPassword: string;
  /** Where users are searched (scope sub). */
  baseDn: string;
  /** Filter template with `{user}`, e.g. `(uid={user})`; the value is escaped (RFC 4515 §3). */
  userFilter: string;
  /** User attributes to return (default all user attributes); userPassword is never returned. */
  attributes?: string[];
  /** Default `{ mode: 'memberOf' }`. */
  groups?: GroupLookup;
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

export type LdapAuthFailure = 'no_such_user' | 'wrong_password' | 'empty_password' | 'ambiguous_user' | 'directory_unavailable';

export type LdapAuthResult =
  | { ok: true; dn: string; groups: string[]; attributes: Record<string, string[]> }
  | { ok: false; reason: LdapAuthFailure };

interface Server {
  url: string;
  host: string;
  secure: boolean;
  state: LdapServerState;
  /** now() after which a dead server is tried again. */
  retryAt: number;
}

interface Entry {
  dn: string;
  attributes: Record<string, string[]>;
}

const NO_OBSERVER: LdapDirectoryObserver = { stateChanged: () => undefined };
const TRANSPORT_ERROR_NAMES = new Set(['ConnectionError', 'TimeoutError', 'AbandonedError', 'LDAPError']);
const INVALID_CREDENTIALS = 49;

export class LdapDirectory {
  private readonly servers: Server[];
  private readonly clients = new Set<ldap.Client>();
  private readonly inFlight = new Set<Promise<unknown>>();
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
      return { url: `${u.protocol}//${u.host}`, host: u.hostname.replace(/^\[|\]$/g, ''), secure: u.protocol === 'ldaps:', state: 'alive', retryAt: 0 };
    });
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
      try {
        await this.bind(service, this.opts.bindDn, this.opts.bindPassword);
      } catch (err) {
        const e = asDirectoryError(err);
        if (e.code === 'AAA_ERR_LDAP_RESULT') throw new LdapDirectoryError('AAA_ERR_LDAP_SERVICE_BIND', `${server.url}: service account bind refused (result ${e.resultCode})`, e.resultCode);
        throw e;
      }
      const groupMode = this.opts.groups ?? { mode: 'memberOf' };
      const memberOfAttr = groupMode.mode === 'memberOf' ? (groupMode.attribute ?? 'memberOf') : undefined;
      const wanted = [...(this.opts.attributes ?? ['*']), ...(memberOfAttr ? [memberOfAttr] : [])];
      // sizeLimit 2: enough to tell one entry from several. sizeLimitExceeded (4) then means ambiguous.
      const found = await this.search(service, this.opts.baseDn, { scope: 'sub', filter: userFilter, attributes: wanted, sizeLimit: 2 }, true);
      if (found.length === 0) return { ok: false, reason: 'no_such_user' };
      if (found.length > 1) return { ok: false, reason: 'ambiguous_user' };
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

      let groups: string[] = [];
      if (memberOfAttr !== undefined) {
        groups = valuesOf(entry.attributes, memberOfAttr);
      } else if (groupMode.mode === 'search') {
        const filter = buildFilter(fillFilter(groupMode.filter, { dn: entry.dn, user: username }));
        const g = await this.search(service, groupMode.baseDn, { scope: 'sub', filter, attributes: ['1.1'] }, false);
        groups = g.map((x) => x.dn);
      }
      const attributes: Record<string, string[]> = {};
      for (const [k, v] of Object.entries(entry.attributes)) if (k.toLowerCase() !== 'userpassword') attributes[k] = v;
      return { ok: true, dn: entry.dn, groups, attributes };
    } finally {
      this.release(service);
    }
  }

  // -------------------------------------------------------------------------------------
  // ldapjs, wrapped: every call bounded by our own timers, every error mapped to a code.

  private connect(server: Server): Promise<ldap.Client> {
    if (this.closed) return Promise.reject(new LdapDirectoryError('AAA_ERR_LDAP_CLOSED', 'directory closed'));
    const tlsOptions = this.tlsOptions(server);
    return new Promise<ldap.Client>((resolve, reject) => {
      let settled = false;
      const client = ldap.createClient({
        url: server.url,
        connectTimeout: this.opts.connectTimeoutMs,
        // Operation timeouts are ours (op()); ldapjs's own timer would leave the request tracked.
        timeout: 0,
        ...(server.secure ? { tlsOptions } : {}),
      });
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

function valuesOf(attrs: Record<string, string[]>, name: string): string[] {
  const want = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of Object.entries(attrs)) if (k.toLowerCase() === want) out.push(...v);
  return out;
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
