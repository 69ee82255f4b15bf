/**
 * Dynamic authorization as the daemon runs it: the dynauth listeners, their clients table and
 * duplicate caches, and the server that asks the NASes. Opened after the session table and
 * before the RADIUS listeners; closed (drained) before the session table.
 */
import type { Config, DynauthConfig } from '../config/schema.js';
import { DynauthServer, type DynauthObserver, type DynauthSessions } from '../dynauth/server.js';
import { sendToNas, type NasClientObserver, type NasTarget } from '../dynauth/nas-client.js';
import { disconnectAttributes, type NasOutcome } from '../dynauth/identify.js';
import { Code } from '../radius/codes.js';
import { ClientTable } from '../server/clients.js';
import { DuplicateCache } from '../server/duplicates.js';
import type { SessionRecord } from '../session/types.js';
import { createUdpEndpoint, type Peer, type UdpEndpoint } from '../transport/udp.js';

/** The dynauth clients as a clients table (lookup by source address, longest prefix). */
function dynauthClients(c: DynauthConfig): ClientTable {
  return new ClientTable(c.clients.map((d) => ({ ...d, require_message_authenticator: 'no' as const, limit_proxy_state: 'no' as const })));
}

export class DynauthServices {
  private closing: Promise<void> | undefined;
  private readonly ownInFlight = new Set<Promise<void>>();

  private constructor(
    private readonly server: DynauthServer,
    private readonly endpoints: UdpEndpoint[],
    readonly bound: Peer[],
    private readonly nasFor: (r: SessionRecord) => NasTarget | undefined,
    private readonly send: (target: NasTarget, code: number, attributes: ReturnType<typeof disconnectAttributes>) => ReturnType<typeof sendToNas>,
    private readonly observer: DynauthObserver & NasClientObserver,
    private readonly sessions: DynauthSessions,
  ) {}

  /**
   * The admin's disconnect (DELETE /sessions/ID): a Disconnect-Request to the session's NAS; on
   * its ACK the session is closed with an Admin-Reset Stop, as for a requester's Disconnect.
   */
  async disconnectSession(record: SessionRecord): Promise<NasOutcome> {
    const target = this.nasFor(record);
    const outcome: NasOutcome = target ? await this.send(target, Code.DisconnectRequest, disconnectAttributes(record, Date.now())) : { kind: 'not_routable' };
    this.observer.nasAnswered('disconnect', outcome.kind, target, [record]);
    if (outcome.kind === 'ack') await this.sessions.terminate(record.id, 'admin-reset');
    return outcome;
  }

  /**
   * A session the table ended itself (Session-Timeout, Idle-Timeout, missed interims): its NAS
   * is sent a Disconnect-Request, in the background; the table has already closed it and sent
   * the Stop, so the NAS's answer is only counted and logged.
   */
  disconnectEnded(record: SessionRecord): void {
    if (this.closing) return;
    const target = this.nasFor(record);
    if (!target) return this.observer.nasAnswered('disconnect', 'not_routable', undefined, [record]);
    const p = this.send(target, Code.DisconnectRequest, disconnectAttributes(record, Date.now()))
      .then((outcome) => this.observer.nasAnswered('disconnect', outcome.kind, target, [record]))
      .catch((err: unknown) => this.observer.failed(err));
    this.ownInFlight.add(p);
    void p.finally(() => this.ownInFlight.delete(p));
  }

  /**
   * `config()` is read per request: a reload's clients (secrets, dynauth_port) apply to the next
   * NAS request. The dynauth section itself (listeners, clients) changes only on restart.
   */
  static async open(
    c: DynauthConfig,
    config: () => Config,
    sessions: DynauthSessions,
    observer: DynauthObserver & NasClientObserver,
    duplicates: { windowMs: number; maxEntries: number },
  ): Promise<DynauthServices> {
    const nasFor = (r: SessionRecord): NasTarget | undefined => {
      const cfg = config();
      const client = cfg.clients.find((x) => x.name === r.client);
      if (!client) return undefined;
      return { client: client.name, address: r.nasAddress, port: client.dynauth_port ?? cfg.dynauth?.nas_port ?? c.nas_port, secret: Buffer.from(client.secret, 'utf8') };
    };
    const nasOpts = { timeoutMs: c.timeout_seconds * 1000, retries: c.retries };
    const server = new DynauthServer(
      dynauthClients(c),
      { sessions, nasFor, send: (target, code, attributes) => sendToNas(target, code, attributes, nasOpts, observer) },
      observer,
      { eventTimestampWindowSeconds: c.event_timestamp_window_seconds },
    );
    const endpoints: UdpEndpoint[] = [];
    const bound: Peer[] = [];
    try {
      for (const l of c.listeners) {
        const cache = new DuplicateCache(duplicates.windowMs, duplicates.maxEntries);
        let endpoint: UdpEndpoint | undefined;
        endpoint = createUdpEndpoint(
          { address: l.address, port: l.port, receiveBufferBytes: l.receive_buffer_bytes },
          (msg, peer) => server.handleDatagram(cache, (buf, to) => endpoint!.send(buf, to), msg, peer),
          (err) => observer.failed(err),
        );
        endpoints.push(endpoint);
        bound.push(await endpoint.start());
      }
    } catch (err) {
      await Promise.all(endpoints.map((e) => e.close()));
      throw err;
    }
    const send = (target: NasTarget, code: number, attributes: ReturnType<typeof disconnectAttributes>) => sendToNas(target, code, attributes, nasOpts, observer);
    return new DynauthServices(server, endpoints, bound, nasFor, send, observer, sessions);
  }

  /** Requests in flight finish (bounded by the NAS retries), then the sockets close. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.server.drain();
      while (this.ownInFlight.size > 0) await Promise.all(this.ownInFlight);
      await Promise.all(this.endpoints.map((e) => e.close()));
    })();
    return this.closing;
  }
}
