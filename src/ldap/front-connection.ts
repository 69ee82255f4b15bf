/**
 * One client connection of the LDAP front server: framing, decoding, one operation at a time,
 * and the proxying of each operation to a directory connection of the client's own, bound as
 * the client's DN (so the directory's ACLs apply; the service account is never used here).
 *
 * Life of a connection (`phase`, changed only by setPhase()):
 *   handshake (LDAPS) -> open <-> upgrading (StartTLS) ; any -> closing -> closed
 *
 * - Framing: the BER header of each LDAPMessage is read first; a message longer than
 *   max_message_bytes is refused before it is buffered. A message that is not BER, not LDAP or
 *   an unknown operation ends the session with a Notice of Disconnection (protocolError,
 *   RFC 4511 §4.1.1 and §4.4.1); so does a search filter nested deeper than max_filter_depth
 *   (its search is answered adminLimitExceeded first). Nothing a client sends can throw out of
 *   here: the worst it gets is its own connection closed.
 * - Operations run one after another (RFC 4511 §4.2.1 already forbids anything during a bind);
 *   Abandon and Unbind act at once. When too many requests are queued the socket is paused.
 * - Bind: a new directory connection, bound as the client's DN with the client's password,
 *   replaces the old one; a failed bind leaves the session anonymous (RFC 4511 §4.2.1). The
 *   password is used for that bind only and is not kept.
 * - When the directory connection is lost, or a directory operation gets no answer in time,
 *   that operation is answered `unavailable` and the session ends with a Notice of
 *   Disconnection (unavailable): the client's identity lived on that connection, so the client
 *   connects and binds again, and the directory's failover picks the next server.
 */
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import ldap from 'ldapjs';
import { frameHead } from './ber.js';
import { resultCodeOf, type DirectoryConnection } from './directory.js';
import { parseDn, type NormalizedDn } from './dn.js';
import { decodeRequest, OpTag, rawFilter, type DecodeFailure, type LdapRequest } from './front-codec.js';
import { checkPasswordChange, checkSubtree, classifySimpleBind, effectiveLimit, isObjectClassPresent, isRootDseSearch } from './front-policy.js';
import { encodeEntry, encodeExtended, encodeNoticeOfDisconnection, encodeResult, reencode, type Result } from './front-responses.js';
import type { DisconnectReason, FrontOperation, LdapFrontObserver, LdapFrontSettings } from './front-settings.js';
import { Oid, ResultCode } from './result-codes.js';

export type ConnectionPhase = 'handshake' | 'open' | 'upgrading' | 'closing' | 'closed';

type Identity = { kind: 'anonymous' } | { kind: 'bound'; dn: string; normalized: NormalizedDn };

/** Requests waiting beyond this pause the socket; it resumes at RESUME_AT. */
const MAX_QUEUED = 32;
const RESUME_AT = 8;
/** After close() a peer that does not close its side is cut off. */
const CLOSE_GRACE_MS = 2000;

type SearchRequest = Extract<LdapRequest, { op: 'search' }>;

type BackendOutcome<T> =
  | { kind: 'ok'; value: T }
  /** The directory answered with this result. */
  | { kind: 'result'; result: Result }
  /** ldapjs refused to send it (a DN or attribute name it cannot encode). */
  | { kind: 'unsupported' }
  /** No answer in time, or the connection went: the session ends after this operation. */
  | { kind: 'lost' };

interface Change {
  operation: string;
  modification: unknown;
}
const L = ldap as unknown as {
  Change: new (o: Change) => unknown;
  Attribute: new (o: { type: string; values: Buffer[] }) => unknown;
};

export class FrontConnection {
  private phase: ConnectionPhase;
  private stream: Socket | TLSSocket;
  private tls = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly queue: LdapRequest[] = [];
  private paused = false;
  private current: { id: number; abandoned: boolean } | undefined;
  private identity: Identity = { kind: 'anonymous' };
  private backend: DirectoryConnection | undefined;
  private backendLost = false;
  private draining = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private closeReason: DisconnectReason | undefined;
  private readonly openedAt = performance.now();
  private resolveClosed!: () => void;
  /** Resolves once the socket is gone. */
  readonly closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));

  constructor(
    private readonly raw: Socket,
    readonly peer: string,
    private readonly s: LdapFrontSettings,
    private readonly observer: LdapFrontObserver,
    private readonly onClosed: (c: FrontConnection) => void,
  ) {
    this.stream = raw;
    // Errors on the raw socket after a TLS upgrade, or during teardown, are never unhandled.
    raw.on('error', () => undefined);
    raw.setNoDelay(true);
    this.phase = s.tlsMode === 'ldaps' ? 'handshake' : 'open';
    // Bounds the TLS handshake too.
    this.armIdle();
    if (s.tlsMode === 'ldaps') this.startTls();
    else this.attach(raw);
  }

  get state(): ConnectionPhase {
    return this.phase;
  }

  // -------------------------------------------------------------------------------------
  // Transport

  private attach(stream: Socket | TLSSocket): void {
    this.stream = stream;
    stream.on('data', this.onData);
    stream.on('error', this.onError);
    stream.on('close', this.onStreamClose);
  }

  private detach(stream: Socket | TLSSocket): void {
    stream.off('data', this.onData);
    stream.off('error', this.onError);
    stream.off('close', this.onStreamClose);
  }

  /** Server side of TLS on the raw socket: at once for LDAPS, after the response for StartTLS. */
  private startTls(): void {
    const secure = new TLSSocket(this.raw, { isServer: true, secureContext: this.s.secureContext!, requestCert: false, rejectUnauthorized: false });
    secure.once('secure', () => {
      if (this.phase !== 'handshake' && this.phase !== 'upgrading') return;
      this.tls = true;
      this.setPhase('open');
      this.armIdle();
      this.pump();
    });
    secure.on('error', () => {
      if (!this.tls) this.close('tls_failed');
      else this.onError();
    });
    secure.on('data', this.onData);
    secure.on('close', this.onStreamClose);
    this.stream = secure;
  }

  private readonly onError = (): void => {
    this.close('socket_error');
  };

  private readonly onStreamClose = (): void => {
    this.finish('client_closed');
  };

  private send(bytes: Buffer): void {
    if (this.phase === 'closed') return;
    if (!this.stream.destroyed && this.stream.writable) this.stream.write(bytes);
  }

  private setPhase(to: ConnectionPhase): void {
    this.phase = to;
  }

  // -------------------------------------------------------------------------------------
  // Framing

  private readonly onData = (chunk: Buffer): void => {
    if (this.phase !== 'open') {
      // Bytes during a StartTLS upgrade (RFC 4511 §4.14.1: the client must wait) or after close.
      if (this.phase === 'upgrading') this.disconnect('unexpected_tag', 'data sent before the StartTLS response');
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.safeExtract();
  };

  private safeExtract(): void {
    try {
      this.extract();
    } catch (err) {
      this.observer.internalError(this.s.name, this.peer, err);
      this.close('internal_error');
    }
  }

  private extract(): void {
    // A full queue stops the reading of further messages (the socket is paused too) until it drains.
    while (this.phase === 'open' && this.buffered > 0 && this.queue.length < MAX_QUEUED) {
      const head = frameHead(this.peek(6));
      if (head.kind === 'incomplete') return;
      if (head.kind === 'malformed') return this.disconnect(head.reason, 'the data is not an LDAP message');
      if (head.total > this.s.maxMessageBytes) {
        return this.disconnect('message_too_large', `a message of ${head.total} bytes is over this server's limit of ${this.s.maxMessageBytes}`);
      }
      if (this.buffered < head.total) return;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      const frame = all.subarray(0, head.total);
      const rest = all.subarray(head.total);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
      this.onMessage(frame);
    }
  }

  /** The first `n` buffered bytes (fewer if not there yet). */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.min(n, this.buffered)).subarray(0, n);
  }

  private onMessage(frame: Buffer): void {
    this.armIdle();
    const d = decodeRequest(frame, { maxFilterDepth: this.s.maxFilterDepth });
    if (!d.ok) {
      if (d.reason === 'filter_too_deep' && d.id !== undefined && d.responseTag !== undefined) {
        this.send(encodeResult(d.id, d.responseTag, { status: ResultCode.adminLimitExceeded, diagnosticMessage: `filter nested deeper than ${this.s.maxFilterDepth} levels` }));
        this.observer.operation(this.s.name, this.peer, 'search', ResultCode.adminLimitExceeded, 0);
      }
      return this.disconnect(d.reason, describeFailure(d.reason));
    }
    const req = d.request;
    // RFC 4511 §4.3: no response to Unbind; the session ends.
    if (req.op === 'unbind') return this.close('unbind');
    // RFC 4511 §4.11: no response to Abandon.
    if (req.op === 'abandon') return this.abandon(req.abandonId);
    this.queue.push(req);
    if (this.queue.length >= MAX_QUEUED && !this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    this.pump();
  }

  private abandon(id: number): void {
    if (this.current?.id === id) this.current.abandoned = true;
    const i = this.queue.findIndex((r) => r.id === id);
    if (i >= 0) this.queue.splice(i, 1);
  }

  // -------------------------------------------------------------------------------------
  // Operations

  private pump(): void {
    if (this.current !== undefined || this.phase !== 'open') return;
    const req = this.queue.shift();
    if (req === undefined) {
      if (this.draining) this.close('server_closing', { status: ResultCode.unavailable, message: 'the server is shutting down' });
      return;
    }
    if (this.paused && !this.draining && this.queue.length <= RESUME_AT) {
      this.paused = false;
      this.stream.resume();
      // Messages that arrived with the ones queued are still in the buffer.
      if (this.buffered > 0) setImmediate(() => this.safeExtract());
    }
    const current = { id: req.id, abandoned: false };
    this.current = current;
    const started = performance.now();
    void this.dispatch(req, current)
      .then(
        (done) => {
          if (done) this.observer.operation(this.s.name, this.peer, done.op, done.status, (performance.now() - started) / 1000, done.dn);
        },
        (err: unknown) => {
          // A bug of ours: this session ends, nothing else is touched.
          this.observer.internalError(this.s.name, this.peer, err);
          this.close('internal_error', { status: ResultCode.unavailable, message: 'internal error' });
        },
      )
      .finally(() => {
        this.current = undefined;
        if (this.phase === 'closing' || this.phase === 'closed') return;
        if (this.backendLost) return this.close('directory_lost', { status: ResultCode.unavailable, message: 'the connection to the directory was lost; connect and bind again' });
        this.armIdle();
        this.pump();
      });
  }

  /** Runs one request; returns what to count (undefined: nothing was answered). */
  private async dispatch(req: LdapRequest, current: { abandoned: boolean }): Promise<{ op: FrontOperation; status: number; dn?: string } | undefined> {
    if (req.op === 'unbind' || req.op === 'abandon') return undefined;
    const op = operationOf(req);
    // RFC 4511 §4.2.1: any bind, failed ones included, ends the previous authentication.
    if (req.op === 'bind') {
      this.identity = { kind: 'anonymous' };
      this.releaseBackend();
    }
    // RFC 4511 §4.1.11: a critical control we do not support fails the operation.
    const critical = req.controls.find((c) => c.critical);
    if (critical !== undefined) {
      return this.answer(req, op, { status: ResultCode.unavailableCriticalExtension, diagnosticMessage: `control ${critical.oid} is not supported` });
    }
    switch (req.op) {
      case 'bind':
        return this.bind(req);
      case 'search':
        return this.search(req, current);
      case 'compare':
        return this.compare(req);
      case 'modify':
        return this.modify(req);
      case 'add':
      case 'delete':
      case 'modifyDN':
        return this.answer(req, op, { status: ResultCode.unwillingToPerform, diagnosticMessage: `this proxy does not pass on ${req.op} requests` });
      case 'extended':
        return this.extended(req);
    }
  }

  private answer(req: LdapRequest, op: FrontOperation, r: Result, dn?: string): { op: FrontOperation; status: number; dn?: string } {
    const tag = responseTagOf(req);
    if (req.op === 'extended') this.send(encodeExtended(req.id, r));
    else if (tag !== undefined) this.send(encodeResult(req.id, tag, r));
    return dn === undefined ? { op, status: r.status } : { op, status: r.status, dn };
  }

  private mayUseDirectory(): boolean {
    return this.identity.kind === 'bound' || this.s.allowAnonymous;
  }

  private async bind(req: Extract<LdapRequest, { op: 'bind' }>) {
    // RFC 4511 §4.2: version 3 only.
    if (req.version !== 3) return this.answer(req, 'bind', { status: ResultCode.protocolError, diagnosticMessage: 'only LDAP version 3 is supported' });
    if (req.auth.kind === 'sasl') return this.answer(req, 'bind', { status: ResultCode.authMethodNotSupported, diagnosticMessage: 'only simple binds are supported' });
    const kind = classifySimpleBind(req.name, req.auth.password);
    const dn = req.name;
    switch (kind) {
      case 'anonymous':
        // RFC 4511 Appendix A: inappropriateAuthentication for an anonymous bind a server will not take.
        if (!this.s.allowAnonymous) return this.answer(req, 'bind', { status: ResultCode.inappropriateAuthentication, diagnosticMessage: 'anonymous binds are not allowed' });
        return this.answer(req, 'bind', { status: ResultCode.success });
      case 'unauthenticated':
        // RFC 4513 §5.1.2: servers SHOULD by default fail unauthenticated binds with unwillingToPerform.
        // Allowed anonymous access makes it an anonymous bind: never an authentication as `dn`.
        if (!this.s.allowAnonymous) return this.answer(req, 'bind', { status: ResultCode.unwillingToPerform, diagnosticMessage: 'unauthenticated bind (DN with no password) disallowed' }, dn);
        return this.answer(req, 'bind', { status: ResultCode.success }, dn);
      case 'no_name':
        return this.answer(req, 'bind', { status: ResultCode.invalidCredentials }, dn);
      case 'name_password':
        break;
    }
    const normalized = parseDn(dn);
    if (normalized === undefined) return this.answer(req, 'bind', { status: ResultCode.invalidDNSyntax, diagnosticMessage: 'invalid DN' }, dn);
    // On a StartTLS listener a password never crosses the network in clear: confidentialityRequired
    // (RFC 4511 Appendix A: "the session is not protected by a protocol such as TLS").
    if (this.s.tlsMode === 'starttls' && !this.tls) {
      return this.answer(req, 'bind', { status: ResultCode.confidentialityRequired, diagnosticMessage: 'use StartTLS before binding' }, dn);
    }
    const opened = await this.s.directory.openConnection({ dn, password: req.auth.password.toString('utf8') });
    if (this.phase === 'closing' || this.phase === 'closed') {
      if (opened.ok) opened.connection.release();
      return undefined;
    }
    if (!opened.ok) {
      if (opened.reason === 'unavailable') return this.answer(req, 'bind', { status: ResultCode.unavailable, diagnosticMessage: 'no directory server answered' }, dn);
      return this.answer(req, 'bind', { status: opened.resultCode }, dn);
    }
    this.adoptBackend(opened.connection);
    this.identity = { kind: 'bound', dn, normalized };
    return this.answer(req, 'bind', { status: ResultCode.success }, dn);
  }

  private async search(req: SearchRequest, current: { abandoned: boolean }) {
    if (isRootDseSearch(req)) return this.rootDse(req);
    const where = checkSubtree(req.base, this.s.baseDns);
    if (!where.ok) {
      if (where.reason === 'invalid_dn') return this.answer(req, 'search', { status: ResultCode.invalidDNSyntax, diagnosticMessage: 'invalid base DN' });
      // Outside the listener's view: as for a base this server does not hold (RFC 4511 §4.5.1.1 noSuchObject).
      return this.answer(req, 'search', { status: ResultCode.noSuchObject, diagnosticMessage: 'the base DN is outside the subtrees this listener serves' });
    }
    if (!this.mayUseDirectory()) return this.answer(req, 'search', { status: ResultCode.insufficientAccessRights, diagnosticMessage: 'bind first' });
    const conn = await this.ensureBackend();
    if (conn === undefined) return this.answer(req, 'search', { status: ResultCode.unavailable, diagnosticMessage: 'no directory server answered' });
    const sizeLimit = effectiveLimit(req.sizeLimit, this.s.sizeLimit);
    const timeLimit = effectiveLimit(req.timeLimit, this.s.timeLimitSeconds);
    let sent = 0;
    let overLimit = false;
    const outcome = await this.backendOp<void>(conn, timeLimit * 1000 + this.s.directory.operationTimeoutMs, (done) =>
      conn.client.search(
        req.base,
        {
          scope: (['base', 'one', 'sub'] as const)[req.scope],
          filter: rawFilter(req.filter) as ldap.Filter,
          attributes: req.attributes,
          sizeLimit,
          timeLimit,
          typesOnly: req.typesOnly,
          derefAliases: req.derefAliases,
        },
        (err, res) => {
          if (err) return done(err);
          res.on('searchEntry', (entry: unknown) => {
            if (current.abandoned || this.phase !== 'open') return;
            if (sent >= sizeLimit) {
              overLimit = true;
              return;
            }
            sent++;
            this.send(reencode(entry, req.id));
          });
          res.on('searchReference', (ref: unknown) => {
            if (!current.abandoned && this.phase === 'open') this.send(reencode(ref, req.id));
          });
          res.on('error', (e: unknown) => done(e));
          res.on('end', () => done(null));
        },
      ),
    );
    // RFC 4511 §4.11: an abandoned operation gets no response.
    if (current.abandoned) return undefined;
    return this.answer(req, 'search', overLimit ? { status: ResultCode.sizeLimitExceeded } : this.outcomeResult(outcome, { status: ResultCode.success }));
  }

  /** RFC 4512 §5.1: the root DSE, answered here (the proxy's own, not the directory's). */
  private rootDse(req: SearchRequest) {
    const operational: Record<string, string[]> = {
      namingContexts: this.s.baseDns.map((b) => b.text),
      supportedLDAPVersion: ['3'],
      supportedExtension: [Oid.whoAmI, ...(this.s.tlsMode === 'starttls' ? [Oid.startTls] : [])],
      vendorName: ['aaaproxy'],
    };
    const user: Record<string, string[]> = { objectClass: ['top'] };
    const wanted = req.attributes.map((a) => a.toLowerCase());
    const attrs: Record<string, string[]> = {};
    const all = wanted.length === 0 || wanted.includes('*');
    for (const [k, v] of Object.entries(user)) if (all || wanted.includes(k.toLowerCase())) attrs[k] = v;
    for (const [k, v] of Object.entries(operational)) if (wanted.includes('+') || wanted.includes(k.toLowerCase())) attrs[k] = v;
    if (wanted.length === 1 && wanted[0] === '1.1') for (const k of Object.keys(attrs)) delete attrs[k];
    if (isObjectClassPresent(req.filter)) {
      if (req.typesOnly) for (const k of Object.keys(attrs)) attrs[k] = [];
      this.send(encodeEntry(req.id, '', attrs));
    }
    return this.answer(req, 'search', { status: ResultCode.success });
  }

  private async compare(req: Extract<LdapRequest, { op: 'compare' }>) {
    const where = checkSubtree(req.entry, this.s.baseDns);
    if (!where.ok) {
      if (where.reason === 'invalid_dn') return this.answer(req, 'compare', { status: ResultCode.invalidDNSyntax, diagnosticMessage: 'invalid DN' });
      return this.answer(req, 'compare', { status: ResultCode.noSuchObject, diagnosticMessage: 'the entry is outside the subtrees this listener serves' });
    }
    if (!this.mayUseDirectory()) return this.answer(req, 'compare', { status: ResultCode.insufficientAccessRights, diagnosticMessage: 'bind first' });
    const conn = await this.ensureBackend();
    if (conn === undefined) return this.answer(req, 'compare', { status: ResultCode.unavailable, diagnosticMessage: 'no directory server answered' });
    const outcome = await this.backendOp<boolean>(conn, this.s.directory.operationTimeoutMs, (done) =>
      conn.client.compare(req.entry, req.attribute, req.value.toString('utf8'), (err, matched) => done(err, matched)),
    );
    if (outcome.kind === 'ok') return this.answer(req, 'compare', { status: outcome.value ? ResultCode.compareTrue : ResultCode.compareFalse });
    return this.answer(req, 'compare', this.outcomeResult(outcome, { status: ResultCode.success }));
  }

  private async modify(req: Extract<LdapRequest, { op: 'modify' }>) {
    if (!this.s.allowPasswordChange) return this.answer(req, 'modify', { status: ResultCode.unwillingToPerform, diagnosticMessage: 'this proxy does not pass on modify requests' });
    const bound = this.identity.kind === 'bound' ? this.identity.normalized : undefined;
    const check = checkPasswordChange(req.object, req.changes, bound);
    if (!check.ok) return this.answer(req, 'modify', { status: ResultCode.unwillingToPerform, diagnosticMessage: check.message });
    const conn = this.backend;
    if (conn === undefined) return this.answer(req, 'modify', { status: ResultCode.unavailable, diagnosticMessage: 'no directory connection' });
    const change = new L.Change({ operation: 'replace', modification: new L.Attribute({ type: req.changes[0]!.type, values: [check.value] }) });
    const outcome = await this.backendOp<void>(conn, this.s.directory.operationTimeoutMs, (done) =>
      conn.client.modify(req.object, change as ldap.Change, (err) => done(err)),
    );
    return this.answer(req, 'modify', this.outcomeResult(outcome, { status: ResultCode.success }));
  }

  private extended(req: Extract<LdapRequest, { op: 'extended' }>) {
    switch (req.oid) {
      case Oid.whoAmI:
        // RFC 4532 §2: no request value; the authzId is "dn:<DN>", or empty when anonymous.
        if (req.value !== undefined) return this.answer(req, 'whoami', { status: ResultCode.protocolError, diagnosticMessage: 'Who am I? takes no value' });
        this.send(encodeExtended(req.id, { status: ResultCode.success }, this.identity.kind === 'bound' ? `dn:${this.identity.dn}` : ''));
        return { op: 'whoami' as const, status: ResultCode.success };
      case Oid.startTls:
        return this.startTlsRequest(req);
      default:
        // RFC 4511 §4.12: an extended operation the server does not recognise gets protocolError.
        return this.answer(req, 'extended', { status: ResultCode.protocolError, diagnosticMessage: `extended operation ${req.oid} is not supported` });
    }
  }

  /** RFC 4511 §4.14: answer, then start TLS on the same socket. ldapjs's server has no StartTLS, so the upgrade is done here. */
  private startTlsRequest(req: Extract<LdapRequest, { op: 'extended' }>) {
    if (this.s.tlsMode !== 'starttls') {
      // An LDAPS session has TLS already (§4.14.1: operationsError); a plain listener does not offer it.
      if (this.tls) return this.answer(req, 'starttls', { status: ResultCode.operationsError, diagnosticMessage: 'TLS is already established' });
      return this.answer(req, 'starttls', { status: ResultCode.protocolError, diagnosticMessage: 'StartTLS is not offered on this listener' });
    }
    if (this.tls) return this.answer(req, 'starttls', { status: ResultCode.operationsError, diagnosticMessage: 'TLS is already established' });
    // §4.14.1: no other operation may be outstanding; the client must not send anything until the response.
    if (this.queue.length > 0 || this.buffered > 0) return this.answer(req, 'starttls', { status: ResultCode.operationsError, diagnosticMessage: 'operations are outstanding' });
    if (req.value !== undefined) return this.answer(req, 'starttls', { status: ResultCode.protocolError, diagnosticMessage: 'StartTLS takes no value' });
    this.setPhase('upgrading');
    const plain = this.raw;
    plain.pause();
    this.detach(plain);
    // Keep the raw socket's 'close' until TLS takes over, so a client that leaves now is noticed.
    plain.once('close', this.onStreamClose);
    plain.write(encodeExtended(req.id, { status: ResultCode.success }, undefined, Oid.startTls), () => {
      plain.off('close', this.onStreamClose);
      if (this.phase !== 'upgrading') return;
      // TLSSocket takes the socket over; bytes the client already sent (its ClientHello) are read from its buffer.
      this.startTls();
      plain.resume();
    });
    return { op: 'starttls' as const, status: ResultCode.success };
  }

  private outcomeResult(outcome: BackendOutcome<unknown>, ok: Result): Result {
    switch (outcome.kind) {
      case 'ok':
        return ok;
      case 'result':
        return outcome.result;
      case 'unsupported':
        return { status: ResultCode.unwillingToPerform, diagnosticMessage: 'this proxy cannot pass on this request as sent' };
      case 'lost':
        return { status: ResultCode.unavailable, diagnosticMessage: 'the directory did not answer' };
    }
  }

  // -------------------------------------------------------------------------------------
  // The directory connection

  private async ensureBackend(): Promise<DirectoryConnection | undefined> {
    if (this.backend !== undefined) return this.backend;
    // Only an anonymous session gets here (a bound one always has its connection).
    const opened = await this.s.directory.openConnection();
    if (!opened.ok) return undefined;
    if (this.phase === 'closing' || this.phase === 'closed') {
      opened.connection.release();
      return undefined;
    }
    this.adoptBackend(opened.connection);
    return opened.connection;
  }

  private adoptBackend(conn: DirectoryConnection): void {
    this.releaseBackend();
    this.backend = conn;
    this.backendLost = false;
    conn.client.on('close', () => {
      if (this.backend !== conn) return;
      this.backendLost = true;
      if (this.current === undefined && this.phase === 'open') {
        this.close('directory_lost', { status: ResultCode.unavailable, message: 'the connection to the directory was lost; connect and bind again' });
      }
    });
  }

  private releaseBackend(): void {
    const b = this.backend;
    this.backend = undefined;
    b?.release();
  }

  /** One directory operation, bounded by `timeoutMs`; never rejects. */
  private backendOp<T>(conn: DirectoryConnection, timeoutMs: number, run: (done: (err: unknown, value?: T) => void) => void): Promise<BackendOutcome<T>> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (o: BackendOutcome<T>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.client.off('close', onClose);
        if (o.kind === 'lost') this.backendLost = true;
        resolve(o);
      };
      const timer = setTimeout(() => {
        conn.failed('AAA_ERR_LDAP_OPERATION_TIMEOUT');
        finish({ kind: 'lost' });
      }, timeoutMs);
      // Closed by us (a new bind, the session ending) is not the server's fault.
      const ours = () => this.backend !== conn;
      const onClose = () => {
        if (!ours()) conn.failed('AAA_ERR_LDAP_CONNECTION_LOST');
        finish({ kind: 'lost' });
      };
      conn.client.once('close', onClose);
      const done = (err: unknown, value?: T) => {
        if (err === null || err === undefined) return finish({ kind: 'ok', value: value as T });
        const status = resultCodeOf(err);
        if (status === undefined) {
          if (!ours()) conn.failed('AAA_ERR_LDAP_CONNECTION_LOST');
          return finish({ kind: 'lost' });
        }
        const e = err as { dn?: unknown; message?: unknown };
        finish({ kind: 'result', result: { status, matchedDN: typeof e.dn === 'string' ? e.dn : '', diagnosticMessage: typeof e.message === 'string' ? e.message : '' } });
      };
      try {
        run(done);
      } catch {
        // ldapjs validates arguments before sending (DN syntax it cannot parse, attribute names).
        finish({ kind: 'unsupported' });
      }
    });
  }

  // -------------------------------------------------------------------------------------
  // Ending

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.idleTimer = setTimeout(() => {
      if (this.current !== undefined) return this.armIdle();
      this.close('idle_timeout');
    }, this.s.idleTimeoutMs);
    this.idleTimer.unref();
  }

  /** Protocol failure: Notice of Disconnection with protocolError (RFC 4511 §4.1.1, §4.4.1), then close. */
  private disconnect(reason: DisconnectReason, message: string): void {
    this.close(reason, { status: ResultCode.protocolError, message });
  }

  /** Ends the session (idempotent); with `notice`, a Notice of Disconnection goes first. */
  close(reason: DisconnectReason, notice?: { status: number; message: string }): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    // A notice only on an established session (not mid-handshake, not mid-upgrade).
    const established = this.phase === 'open';
    this.setPhase('closing');
    this.closeReason = reason;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.queue.length = 0;
    this.chunks = [];
    this.buffered = 0;
    this.releaseBackend();
    if (notice && established) this.send(encodeNoticeOfDisconnection(notice.status, notice.message));
    this.stream.end();
    const cut = setTimeout(() => {
      this.stream.destroy();
      this.raw.destroy();
    }, CLOSE_GRACE_MS);
    cut.unref();
    void this.closed.then(() => clearTimeout(cut));
  }

  /** Server shutdown: the operation in progress finishes, then the session ends (unavailable). */
  drain(): void {
    this.draining = true;
    if (this.phase !== 'open') return this.close('server_closing');
    if (!this.paused) {
      this.paused = true;
      this.stream.pause();
    }
    this.queue.length = 0;
    if (this.current === undefined) this.close('server_closing', { status: ResultCode.unavailable, message: 'the server is shutting down' });
  }

  private finish(reason: DisconnectReason): void {
    if (this.phase === 'closed') return;
    const why = this.closeReason ?? reason;
    this.setPhase('closed');
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.releaseBackend();
    this.stream.destroy();
    this.raw.destroy();
    this.observer.connectionClosed(this.s.name, this.peer, why, (performance.now() - this.openedAt) / 1000);
    this.onClosed(this);
    this.resolveClosed();
  }
}

function operationOf(req: LdapRequest): FrontOperation {
  switch (req.op) {
    case 'modifyDN':
      return 'modify_dn';
    case 'extended':
      return req.oid === Oid.whoAmI ? 'whoami' : req.oid === Oid.startTls ? 'starttls' : 'extended';
    case 'unbind':
    case 'abandon':
      return 'extended';
    default:
      return req.op;
  }
}

function responseTagOf(req: LdapRequest): number | undefined {
  switch (req.op) {
    case 'bind':
      return OpTag.bindResponse;
    case 'search':
      return OpTag.searchResultDone;
    case 'compare':
      return OpTag.compareResponse;
    case 'modify':
      return OpTag.modifyResponse;
    case 'add':
      return OpTag.addResponse;
    case 'delete':
      return OpTag.delResponse;
    case 'modifyDN':
      return OpTag.modDNResponse;
    case 'extended':
      return OpTag.extendedResponse;
    default:
      return undefined;
  }
}

function describeFailure(reason: DecodeFailure): string {
  switch (reason) {
    case 'filter_too_deep':
      return 'search filter nested too deeply';
    case 'unknown_operation':
      return 'not an LDAP request';
    case 'bad_message_id':
      return 'bad message ID';
    default:
      return `malformed message (${reason})`;
  }
}
