/**
 * An LDAP front listener: one TCP socket (plain, LDAPS or StartTLS, all on node:net; TLS is
 * started per connection by front-connection.ts), connection limits per client address and per
 * listener, settings swapped on reload, and a close() that drains.
 *
 * States: idle -> listening -> closing -> closed (changed only by setState()).
 *
 * Why not ldapjs's own Server (ldapjs 3): its router answers an anonymous bind (empty name and
 * password) with success before any handler runs (Server._getHandlerChain), so anonymous access
 * could not be refused at the bind; it has no StartTLS; its message parser grows a buffer until
 * a message is complete, with no size limit, and reports parse errors as server-wide 'error'
 * events; and its request parsing has the faults listed in front-codec.ts. So the socket side is
 * node:net and node:tls here, and ldapjs encodes the responses and talks to the directory.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FrontConnection } from './front-connection.js';
import type { LdapFrontObserver, LdapFrontSettings } from './front-settings.js';

export type FrontServerState = 'idle' | 'listening' | 'closing' | 'closed';

export interface BoundAddress {
  address: string;
  port: number;
}

/** IPv4-mapped IPv6 (::ffff:192.0.2.1) counts as the IPv4 client it is. */
function clientAddress(socket: Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

export class LdapFrontServer {
  private state: FrontServerState = 'idle';
  private readonly server: Server;
  private readonly connections = new Set<FrontConnection>();
  private readonly perClient = new Map<string, number>();
  private bound: BoundAddress | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly bindTo: BoundAddress,
    private settings: LdapFrontSettings,
    private readonly observer: LdapFrontObserver,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    // Accept errors (EMFILE...) must not take the daemon down.
    this.server.on('error', (err) => this.observer.internalError(this.settings.name, '', err));
  }

  get name(): string {
    return this.settings.name;
  }

  get address(): BoundAddress | undefined {
    return this.bound;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  listen(): Promise<BoundAddress> {
    if (this.state !== 'idle') return Promise.reject(new Error(`LDAP listener ${this.settings.name} is ${this.state}`));
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.bindTo.address, port: this.bindTo.port, exclusive: true }, () => {
        this.server.off('error', onError);
        const a = this.server.address();
        this.bound = typeof a === 'object' && a !== null ? { address: a.address, port: a.port } : this.bindTo;
        this.setState('listening');
        this.observer.listening(this.settings.name);
        resolve(this.bound);
      });
    });
  }

  /** New connections use these settings; open ones keep theirs. */
  swap(settings: LdapFrontSettings): void {
    this.settings = settings;
  }

  private setState(to: FrontServerState): void {
    this.state = to;
  }

  private accept(socket: Socket): void {
    const s = this.settings;
    const peer = clientAddress(socket);
    const reject = (reason: 'per_client_limit' | 'listener_limit' | 'closing') => {
      this.observer.connectionRejected(s.name, peer, reason);
      socket.on('error', () => undefined);
      socket.destroy();
    };
    if (this.state !== 'listening') return reject('closing');
    if (this.connections.size >= s.maxConnections) return reject('listener_limit');
    const count = this.perClient.get(peer) ?? 0;
    if (count >= s.maxConnectionsPerClient) return reject('per_client_limit');
    this.perClient.set(peer, count + 1);
    this.observer.connectionOpened(s.name, peer);
    const conn = new FrontConnection(socket, peer, s, this.observer, (c) => {
      this.connections.delete(c);
      const n = (this.perClient.get(peer) ?? 1) - 1;
      if (n <= 0) this.perClient.delete(peer);
      else this.perClient.set(peer, n);
    });
    this.connections.add(conn);
  }

  /**
   * Stops accepting, lets each connection finish its operation in progress (up to `drainMs`),
   * then ends the rest with a Notice of Disconnection (unavailable). Idempotent.
   */
  close(drainMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      const wasListening = this.state === 'listening';
      this.setState('closing');
      const stopped = wasListening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
      for (const c of this.connections) c.drain();
      const all = Promise.all([...this.connections].map((c) => c.closed));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainMs);
        timer.unref();
      });
      await Promise.race([all, late]);
      clearTimeout(timer);
      for (const c of this.connections) c.close('server_closing');
      await Promise.race([Promise.all([...this.connections].map((c) => c.closed)), new Promise((r) => setTimeout(r, 3000).unref())]);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000).unref())]);
      this.setState('closed');
    })();
    return this.closing;
  }
}
