/**
 * The dynamic-authorization front (RFC 5176): Disconnect-Request and CoA-Request from the
 * configured dynauth clients, authenticated (computed Request Authenticator, RFC 5176 §2.3;
 * Message-Authenticator when present, §3.1), Event-Timestamp checked (§3.5), duplicates
 * answered from the cache (RFC 5080 §2.2.2); the sessions named are looked up in the session
 * table and the request goes to each NAS that holds one; the answer goes back signed with the
 * requester's secret, its Proxy-State copied back in order (RFC 2865 §5.33).
 */
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { encodeResponse, verifyRequest } from '../radius/message.js';
import { decodePacket, type RadiusPacket, type RawAttribute } from '../radius/packet.js';
import type { ClientTable } from '../server/clients.js';
import { DuplicateEntry, IN_PROGRESS, type DuplicateCache } from '../server/duplicates.js';
import type { EndCause, SessionQuery, SessionRecord } from '../session/types.js';
import type { Peer } from '../transport/udp.js';
import { ErrorCause, type DynauthDropReason, type DynauthResult, type DynauthType, type NasResult } from './errors.js';
import {
  combine,
  eventTimestampCurrent,
  groupByNas,
  hasSessionIdentification,
  identification,
  matchesIdentification,
  nakWith,
  relayable,
  sessionQuery,
  type Answer,
  type NasOutcome,
} from './identify.js';
import type { NasTarget } from './nas-client.js';

/** What the server needs of the session table. */
export interface DynauthSessions {
  find(query: SessionQuery): Promise<SessionRecord[]>;
  terminate(id: string, cause: EndCause): Promise<SessionRecord | undefined>;
}

export interface DynauthObserver {
  dropped(reason: DynauthDropReason, peer: Peer, client: string | undefined): void;
  answered(type: DynauthType, result: DynauthResult, client: string, detail: { sessions: number; nases: number; user?: string | undefined }): void;
  nasAnswered(type: DynauthType, result: NasResult, target: NasTarget | undefined, sessions: readonly SessionRecord[]): void;
  duplicate(client: string): void;
  failed(err: unknown): void;
}

export interface DynauthServerOptions {
  eventTimestampWindowSeconds: number;
  now?: () => number;
}

export interface DynauthDeps {
  sessions: DynauthSessions;
  /** Where a session's NAS takes dynamic authorization (undefined: its client is gone). */
  nasFor(record: SessionRecord): NasTarget | undefined;
  /** Sends the request to one NAS (sendToNas, with the configured retries and timeout). */
  send(target: NasTarget, code: number, attributes: RawAttribute[]): Promise<NasOutcome>;
}

export class DynauthServer {
  private inFlight = new Set<Promise<void>>();
  private draining = false;

  constructor(
    private clients: ClientTable,
    private readonly deps: DynauthDeps,
    private readonly observer: DynauthObserver,
    private readonly opts: DynauthServerOptions,
  ) {}

  swapClients(clients: ClientTable): void {
    this.clients = clients;
  }

  /** One datagram on a dynauth listener; `send` answers from that listener's socket. */
  handleDatagram(duplicates: DuplicateCache, send: (buf: Buffer, peer: Peer) => void, msg: Buffer, peer: Peer): void {
    if (this.draining) return;
    const client = this.clients.lookup(peer.address);
    if (!client) return this.observer.dropped('unknown_client', peer, undefined);
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.observer.dropped('malformed', peer, client.name);
    const packet = decoded.packet;
    if (packet.code !== Code.DisconnectRequest && packet.code !== Code.CoARequest) return this.observer.dropped('unexpected_code', peer, client.name);
    const check = verifyRequest(msg, packet.code, client.secret, false);
    if (check.check !== 'ok') return this.observer.dropped(check.check === 'bad_request_authenticator' ? 'bad_request_authenticator' : 'bad_message_authenticator', peer, client.name);
    // RFC 5176 §3.5: an Event-Timestamp outside the window is silently discarded (replay protection).
    if (!eventTimestampCurrent(packet.attributes, (this.opts.now ?? Date.now)(), this.opts.eventTimestampWindowSeconds)) {
      return this.observer.dropped('event_timestamp_out_of_window', peer, client.name);
    }
    const dup = duplicates.check(peer.address, peer.port, packet.identifier, packet.authenticator);
    if (dup === IN_PROGRESS) return this.observer.duplicate(client.name);
    if (Buffer.isBuffer(dup)) {
      this.observer.duplicate(client.name);
      return send(dup, peer);
    }
    const entry: DuplicateEntry = dup;
    const type: DynauthType = packet.code === Code.DisconnectRequest ? 'disconnect' : 'coa';
    const work = this.process(packet, type)
      .then(({ answer, sessions, nases, user }) => {
        // RFC 2865 §5.33: Proxy-State copied unmodified and in order into the reply.
        const proxyState = packet.attributes.filter((a) => a.type === Attr.ProxyState);
        const reply = encodeResponse(
          { code: answer.code, identifier: packet.identifier, attributes: [...answer.attributes, ...proxyState] },
          packet.authenticator,
          client.secret,
          check.hasMessageAuthenticator,
        );
        duplicates.complete(entry, reply);
        send(reply, peer);
        this.observer.answered(type, answer.result, client.name, { sessions, nases, user });
      })
      .catch((err: unknown) => {
        duplicates.forget(entry);
        this.observer.failed(err);
        this.observer.dropped('internal_error', peer, client.name);
      });
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Finds the sessions, asks their NASes, closes the sessions a Disconnect-ACK ended. */
  private async process(packet: RadiusPacket, type: DynauthType): Promise<{ answer: Answer; sessions: number; nases: number; user: string | undefined }> {
    const id = identification(packet.attributes);
    const base = { sessions: 0, nases: 0, user: id.user };
    // RFC 5176 §3: without a session identification attribute the request names no session.
    if (!hasSessionIdentification(id)) return { ...base, answer: nakWith(packet.code, ErrorCause.MissingAttribute, 'missing_attribute') };
    const found = (await this.deps.sessions.find(sessionQuery(id))).filter((r) => matchesIdentification(r, id));
    if (found.length === 0) return { ...base, answer: nakWith(packet.code, ErrorCause.SessionContextNotFound, 'no_session') };
    const forward = relayable(packet.attributes);
    const groups = [...groupByNas(found).values()];
    const outcomes = await Promise.all(
      groups.map(async (sessions) => {
        const target = this.deps.nasFor(sessions[0]!);
        let outcome: NasOutcome;
        if (!target) outcome = { kind: 'not_routable' };
        else outcome = await this.deps.send(target, packet.code, forward);
        this.observer.nasAnswered(type, outcome.kind, target, sessions);
        // The NAS ended them: Admin-Reset Stops to the accounting server (RFC 2866 §5.10: 6).
        if (outcome.kind === 'ack' && type === 'disconnect') {
          await Promise.all(sessions.map((s) => this.deps.sessions.terminate(s.id, 'admin-reset')));
        }
        return outcome;
      }),
    );
    return { answer: combine(packet.code, outcomes), sessions: found.length, nases: groups.length, user: id.user };
  }

  /** New datagrams are ignored; resolves once every request in flight has answered. Idempotent. */
  async drain(): Promise<void> {
    this.draining = true;
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }
}
