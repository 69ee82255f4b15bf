/**
 * One UDP socket per local address:port. Hands (Buffer, peer) upward and sends replies from
 * the same socket, so a reply leaves from the address the NAS sent to. Nothing above this
 * module imports node:dgram.
 *
 * Two implementations behind one contract: batched I/O on the native addon when it is built
 * (batched-udp.ts, the default on Linux), node:dgram otherwise or when AAAPROXY_UDP_IO=dgram.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { BatchedUdpEndpoint, loadUdpBatchAddon } from './batched-udp.js';
import { DurableCommitter, type CommitReply } from './durable-commit.js';

export interface Peer {
  address: string;
  port: number;
}

export type DatagramHandler = (msg: Buffer, peer: Peer) => void;

export interface UdpEndpointOptions {
  address: string;
  port: number;
  receiveBufferBytes: number;
  /**
   * Connect to one peer (upstream sockets): the kernel then takes datagrams only from it and
   * sends without a route lookup per packet; send() takes no peer.
   */
  connect?: Peer;
}

export interface UdpEndpoint {
  /** Binds; resolves with the bound address and port (port 0 becomes the kernel's choice). */
  start(): Promise<Peer>;
  readonly address: Peer | undefined;
  send(buf: Buffer, peer: Peer): void;
  /** For a connected endpoint. */
  sendToPeer(buf: Buffer): void;
  /**
   * A reply that an accounting spool commit sends from this socket once it is durable
   * (durable-commit.ts); absent on node:dgram.
   */
  commitReply?(buf: Buffer, peer: Peer): CommitReply | undefined;
  /** Idempotent. */
  close(): Promise<void>;
}

export type UdpIo = 'batched' | 'dgram';

/**
 * Which implementation this process uses: AAAPROXY_UDP_IO=dgram|batched forces one (batched
 * fails when the addon is missing); unset, batched when the addon loads. `reason` says why.
 */
export function chooseUdpIo(env: NodeJS.ProcessEnv = process.env): { io: UdpIo; reason: string } {
  const wanted = env['AAAPROXY_UDP_IO'];
  if (wanted === 'dgram') return { io: 'dgram', reason: 'AAAPROXY_UDP_IO=dgram' };
  const loaded = loadUdpBatchAddon();
  if (loaded.addon) return { io: 'batched', reason: 'native addon loaded' };
  if (wanted === 'batched') throw new Error(`AAAPROXY_UDP_IO=batched, but ${loaded.reason}`);
  return { io: 'dgram', reason: loaded.reason };
}

export function createUdpEndpoint(
  opts: UdpEndpointOptions,
  onDatagram: DatagramHandler,
  onSocketError: (err: Error) => void,
  io: UdpIo = chooseUdpIo().io,
): UdpEndpoint {
  if (io === 'batched') {
    const loaded = loadUdpBatchAddon();
    if (!loaded.addon) throw new Error(`batched UDP I/O: ${loaded.reason}`);
    return new BatchedUdpEndpoint(loaded.addon, opts, onDatagram, onSocketError);
  }
  return new DgramUdpEndpoint(opts, onDatagram, onSocketError);
}

/** The committer for the accounting spool with batched I/O (durable-commit.ts); none with node:dgram. */
export function createDurableCommitter(io: UdpIo): DurableCommitter | undefined {
  if (io !== 'batched') return undefined;
  const loaded = loadUdpBatchAddon();
  return loaded.addon ? new DurableCommitter(loaded.addon) : undefined;
}

/** node:dgram: one system call and one callback per datagram. */
class DgramUdpEndpoint implements UdpEndpoint {
  private socket: Socket | undefined;
  private closing: Promise<void> | undefined;
  private bound: Peer | undefined;

  constructor(
    private readonly opts: UdpEndpointOptions,
    private readonly onDatagram: DatagramHandler,
    private readonly onSocketError: (err: Error) => void,
  ) {}

  start(): Promise<Peer> {
    const v6 = isIPv6(this.opts.address);
    // ipv6Only keeps a [::] listener from also taking IPv4 datagrams meant for another socket.
    // Peers are always IP literals: a synchronous lookup spares dns.lookup and a nextTick per send.
    const lookup = (address: string, _opts: unknown, cb: (err: null, address: string, family: number) => void) => cb(null, address, v6 ? 6 : 4);
    const socket = createSocket(v6 ? { type: 'udp6', ipv6Only: true, lookup } : { type: 'udp4', lookup });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      // rinfo already has address and port: handed on as the Peer without a copy.
      socket.on('message', this.onDatagram);
      socket.bind({ address: this.opts.address, port: this.opts.port, exclusive: true }, () => {
        socket.off('error', reject);
        socket.on('error', this.onSocketError);
        try {
          socket.setRecvBufferSize(this.opts.receiveBufferBytes);
        } catch {
          // The kernel caps SO_RCVBUF at net.core.rmem_max; a smaller buffer still works.
        }
        const a = socket.address();
        this.bound = { address: a.address, port: a.port };
        const peer = this.opts.connect;
        if (!peer) return resolve(this.bound);
        socket.connect(peer.port, peer.address, () => resolve(this.bound!));
      });
    });
  }

  get address(): Peer | undefined {
    return this.bound;
  }

  send(buf: Buffer, peer: Peer): void {
    this.socket?.send(buf, peer.port, peer.address);
  }

  sendToPeer(buf: Buffer): void {
    this.socket?.send(buf);
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (!this.socket) return resolve();
      this.socket.close(() => resolve());
    });
    return this.closing;
  }
}
