/**
 * The RADIUS front: everything between a datagram arriving and a reply leaving.
 * Client lookup, decode, authenticity (RFC 2865 §3, RFC 2866 §3, RFC 3579 §3.2),
 * BlastRADIUS policy, duplicate detection (RFC 5080 §2.2.2), dispatch, reply encoding.
 */
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { encodeResponse, verifyRequest } from '../radius/message.js';
import { attributeOf, attributesOf, DECODE_FAILURES, decodePacket, type DecodeFailure, type RadiusPacket, type RawAttribute } from '../radius/packet.js';
import type { CommitReply } from '../transport/durable-commit.js';
import type { Peer } from '../transport/udp.js';
import type { ClientTable, RadiusClient } from './clients.js';
import { DuplicateEntry, IN_PROGRESS, type DuplicateCache } from './duplicates.js';

export type ListenerKind = 'auth' | 'acct';

export type DropReason =
  | DecodeFailure
  | 'unknown_client'
  | 'unexpected_code'
  | 'bad_request_authenticator'
  | 'bad_message_authenticator'
  | 'missing_message_authenticator'
  | 'proxy_state_without_message_authenticator'
  | 'handler_failed'
  | 'internal_error'
  | 'no_upstream_answer'
  | 'bad_user_password'
  | 'spool_full'
  | 'spool_unavailable'
  | 'ldap_unavailable';

export const DROP_REASONS: readonly DropReason[] = [
  ...DECODE_FAILURES,
  'unknown_client',
  'unexpected_code',
  'bad_request_authenticator',
  'bad_message_authenticator',
  'missing_message_authenticator',
  'proxy_state_without_message_authenticator',
  'handler_failed',
  'internal_error',
  'no_upstream_answer',
  'bad_user_password',
  'spool_full',
  'spool_unavailable',
  'ldap_unavailable',
];

/** Thrown by a handler that decided not to answer (e.g. no upstream answered); the NAS retries or fails over. */
export class DropRequest extends Error {
  constructor(readonly reason: DropReason) {
    super(reason);
  }
}

/** What a handler decided; the front adds Proxy-State, signs and sends. */
export interface HandlerReply {
  code: number;
  attributes: RawAttribute[];
  /** Metric label: accept, reject, challenge, acct_ok, status_ok. */
  result: string;
  /** For the request log line: user name and why (never a password). */
  user?: string;
  reason?: string;
  /** Role mapping rules that matched (LDAP backend): for the log line and the session. */
  roles?: readonly string[];
  /** The reply already left (the spool sent it with its commit: durableAccountingReply): these octets. */
  sent?: Buffer;
}

/** Where a request arrived: the client, its source and the listener's name (for routing). */
export interface RequestOrigin {
  client: RadiusClient;
  peer: Peer;
  listener: string | undefined;
  /** The verified request as received (the accounting spool stores it as it is). */
  datagram: Buffer;
  /** The listener's way to have a reply sent by a spool commit (batched UDP I/O), if it has one. */
  commitReply: ListenerContext['commitReply'];
}

export interface RequestHandlers {
  access(packet: RadiusPacket, origin: RequestOrigin): Promise<HandlerReply>;
  accounting(packet: RadiusPacket, origin: RequestOrigin): Promise<HandlerReply>;
}

export interface FrontObserver {
  dropped(reason: DropReason, peer: Peer, client: string | undefined, detail?: unknown): void;
  duplicate(result: 'resent' | 'in_progress', client: string): void;
  completed(client: string, code: number, reply: HandlerReply, seconds: number): void;
}

/** One listening socket's view: its kind, its duplicate cache and how to send. */
export interface ListenerContext {
  kind: ListenerKind;
  name: string | undefined;
  duplicates: DuplicateCache;
  send(buf: Buffer, peer: Peer): void;
  /** Wraps a reply for the accounting spool to send from this listener's socket (batched UDP I/O only). */
  commitReply?(buf: Buffer, peer: Peer): CommitReply | undefined;
}

export class RadiusFront {
  private inFlight = 0;
  private draining = false;
  private drained: (() => void) | undefined;

  constructor(
    private clients: ClientTable,
    private readonly handlers: RequestHandlers,
    private readonly observer: FrontObserver,
  ) {}

  /** Reload: new clients apply to the next datagram; requests in flight keep the client they had. */
  swapClients(clients: ClientTable): void {
    this.clients = clients;
  }

  /**
   * Shutdown: new datagrams are ignored from now on (the NAS will retransmit to a peer or
   * to us after restart) and the promise resolves once every accepted request has replied.
   */
  drain(): Promise<void> {
    this.draining = true;
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drained = resolve;
    });
  }

  handleDatagram(listener: ListenerContext, msg: Buffer, peer: Peer): void {
    if (this.draining) return;
    try {
      this.admit(listener, msg, peer);
    } catch (err) {
      // A bug must cost one packet, never the daemon.
      this.observer.dropped('internal_error', peer, undefined, err);
    }
  }

  private admit(listener: ListenerContext, msg: Buffer, peer: Peer): void {
    const started = performance.now();
    const client = this.clients.lookup(peer.address);
    if (!client) return this.observer.dropped('unknown_client', peer, undefined);
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.observer.dropped(decoded.reason, peer, client.name);
    const packet = decoded.packet;
    if (!acceptsCode(listener.kind, packet.code)) return this.observer.dropped('unexpected_code', peer, client.name, packet.code);

    const isAccess = packet.code === Code.AccessRequest;
    // RFC 3579 §3.2: an Access-Request with EAP-Message must carry Message-Authenticator.
    const eap = isAccess && attributeOf(packet, Attr.EapMessage) !== undefined;
    const check = verifyRequest(msg, packet.code, client.secret, eap);
    if (check.check !== 'ok') return this.observer.dropped(check.check, peer, client.name);
    if (isAccess) {
      const hasProxyState = attributeOf(packet, Attr.ProxyState) !== undefined;
      const refused = client.checkAccessRequestPolicy(check.hasMessageAuthenticator, hasProxyState);
      if (refused) return this.observer.dropped(refused, peer, client.name);
    }

    const dup = listener.duplicates.check(peer.address, peer.port, packet.identifier, packet.authenticator);
    if (dup === IN_PROGRESS) return this.observer.duplicate('in_progress', client.name);
    if (!(dup instanceof DuplicateEntry)) {
      listener.send(dup, peer);
      return this.observer.duplicate('resent', client.name);
    }
    void this.respond(listener, msg, packet, client, peer, dup, started);
  }

  private async respond(
    listener: ListenerContext,
    datagram: Buffer,
    packet: RadiusPacket,
    client: RadiusClient,
    peer: Peer,
    entry: DuplicateEntry,
    started: number,
  ): Promise<void> {
    this.inFlight++;
    try {
      const origin = { client, peer, listener: listener.name, datagram, commitReply: listener.commitReply };
      const reply = await this.dispatch(listener.kind, origin, packet);
      const buf = reply.sent ?? encodeReply(reply, packet, client);
      listener.duplicates.complete(entry, buf);
      if (!reply.sent) listener.send(buf, peer);
      this.observer.completed(client.name, packet.code, reply, (performance.now() - started) / 1000);
    } catch (err) {
      listener.duplicates.forget(entry);
      if (err instanceof DropRequest) this.observer.dropped(err.reason, peer, client.name);
      else this.observer.dropped('handler_failed', peer, client.name, err);
    } finally {
      if (--this.inFlight === 0 && this.drained) this.drained();
    }
  }

  private dispatch(kind: ListenerKind, origin: RequestOrigin, packet: RadiusPacket): Promise<HandlerReply> {
    switch (packet.code) {
      case Code.AccessRequest:
        return this.handlers.access(packet, origin);
      case Code.AccountingRequest:
        return this.handlers.accounting(packet, origin);
      default:
        // Status-Server (RFC 5997 §3): Access-Accept on an auth port, Accounting-Response on an accounting port.
        return Promise.resolve({
          code: kind === 'auth' ? Code.AccessAccept : Code.AccountingResponse,
          attributes: [],
          result: 'status_ok',
        });
    }
  }
}

/** RFC 2866 §4.2: an Accounting-Response with nothing but the NAS's Proxy-State. */
const ACCOUNTING_OK = { code: Code.AccountingResponse, attributes: [] as RawAttribute[] };

/**
 * The plain Accounting-Response to an Accounting-Request, for the spool to send as soon as
 * the record is durable; undefined when the listener cannot have a commit send it.
 */
export function durableAccountingReply(packet: RadiusPacket, origin: RequestOrigin): CommitReply | undefined {
  return origin.commitReply?.(encodeReply(ACCOUNTING_OK, packet, origin.client), origin.peer);
}

function encodeReply(reply: { code: number; attributes: RawAttribute[] }, packet: RadiusPacket, client: RadiusClient): Buffer {
  return encodeResponse(
    { code: reply.code, identifier: packet.identifier, attributes: withProxyState(reply.attributes, packet) },
    packet.authenticator,
    client.secret,
    // RFC 5997 §3: answers to Status-Server carry Message-Authenticator too.
    packet.code === Code.StatusServer || undefined,
  );
}

function acceptsCode(kind: ListenerKind, code: number): boolean {
  if (code === Code.StatusServer) return true;
  return kind === 'auth' ? code === Code.AccessRequest : code === Code.AccountingRequest;
}

/** RFC 2865 §5.33: Proxy-State is copied unmodified and in order into the reply. */
function withProxyState(reply: RawAttribute[], request: RadiusPacket): RawAttribute[] {
  const proxyStates = attributesOf(request, Attr.ProxyState);
  return proxyStates.length === 0 ? reply : reply.concat(proxyStates);
}
