/**
 * A UDP endpoint on the batched I/O addon (native/udp_batch.c, Linux): one readiness event
 * reads up to BATCH datagrams with recvmmsg and hands them over in one callback; what is
 * sent while they are handled (promise jobs included) leaves with one sendmmsg per socket,
 * and what is sent outside a batch (timers, disk completions) leaves from setImmediate.
 * The kernel's verdict on a queued datagram is not reported back: a refused send is lost as
 * on the wire (the kernel counts it in SndbufErrors) and the peer retransmits.
 * Same contract as the node:dgram endpoint in udp.ts, which is used when the addon is absent.
 */
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { CommitReply, DurableCommitAddon } from './durable-commit.js';
import type { DatagramHandler, Peer, UdpEndpoint, UdpEndpointOptions } from './udp.js';

type Handle = object & { readonly __udpBatchHandle: unique symbol };

export interface UdpBatchAddon extends DurableCommitAddon {
  readonly BATCH: number;
  open(family: 4 | 6, onBatch: (data: Buffer, count: number) => void, meta: Uint32Array, addresses: string[]): Handle;
  bind(h: Handle, address: string, port: number): number;
  connect(h: Handle, address: string, port: number): number;
  setReceiveBuffer(h: Handle, bytes: number): number;
  start(h: Handle): number;
  /** Queues: 0, or 1 when flush() must be called (outside a batch), or -errno. `address` null on a connected socket. */
  send(h: Handle, buf: Buffer, address: string | null, port: number): number;
  flush(): void;
  close(h: Handle): void;
}

/** Offset, length and source port of each datagram of a batch (native/udp_batch.c META_WORDS). */
const META_WORDS = 3;
const ADDON_PATH = '../../../build/Release/udp_batch.node';

/** The addon, or why it is not there (not built, not Linux); require() caches it. */
export function loadUdpBatchAddon(): { addon: UdpBatchAddon } | { addon: undefined; reason: string } {
  if (process.platform !== 'linux') return { addon: undefined, reason: 'batched UDP I/O is Linux-only' };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as UdpBatchAddon };
  } catch (err) {
    return { addon: undefined, reason: `the addon is not built (npm ci builds it; see scripts/build-native.sh): ${(err as Error).message.split('\n')[0]}` };
  }
}

function systemError(syscall: string, negErrno: number, where: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(negErrno);
  return Object.assign(new Error(`${syscall} ${code} ${where}`), { code, errno: negErrno, syscall });
}

export class BatchedUdpEndpoint implements UdpEndpoint {
  private handle: Handle | undefined;
  private bound: Peer | undefined;
  private readonly meta: Uint32Array;
  private readonly addresses: string[] = [];

  constructor(
    private readonly addon: UdpBatchAddon,
    private readonly opts: UdpEndpointOptions,
    private readonly onDatagram: DatagramHandler,
    private readonly onSocketError: (err: Error) => void,
  ) {
    this.meta = new Uint32Array(addon.BATCH * META_WORDS);
  }

  start(): Promise<Peer> {
    try {
      return Promise.resolve(this.open());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  private open(): Peer {
    const { address, port, connect } = this.opts;
    const h = this.addon.open(isIPv6(address) ? 6 : 4, (data, count) => this.onBatch(data, count), this.meta, this.addresses);
    this.handle = h;
    const boundPort = this.addon.bind(h, address, port);
    if (boundPort < 0) {
      this.close();
      throw systemError('bind', boundPort, `${address}:${port}`);
    }
    // The kernel caps SO_RCVBUF at net.core.rmem_max; a smaller buffer still works.
    this.addon.setReceiveBuffer(h, this.opts.receiveBufferBytes);
    if (connect) {
      const r = this.addon.connect(h, connect.address, connect.port);
      if (r < 0) {
        this.close();
        throw systemError('connect', r, `${connect.address}:${connect.port}`);
      }
    }
    this.addon.start(h);
    this.bound = { address, port: boundPort };
    return this.bound;
  }

  private onBatch(data: Buffer, count: number): void {
    const meta = this.meta;
    for (let i = 0, m = 0; i < count; i++, m += META_WORDS) {
      const offset = meta[m]!;
      this.onDatagram(data.subarray(offset, offset + meta[m + 1]!), { address: this.addresses[i]!, port: meta[m + 2]! });
    }
  }

  get address(): Peer | undefined {
    return this.bound;
  }

  send(buf: Buffer, peer: Peer): void {
    if (this.handle) this.queued(this.addon.send(this.handle, buf, peer.address, peer.port), peer);
  }

  /** A reply for a spool commit to send from this socket (durable-commit.ts); undefined once closed. */
  commitReply(buf: Buffer, peer: Peer): CommitReply | undefined {
    return this.handle ? { socket: this.handle, buf, peer } : undefined;
  }

  sendToPeer(buf: Buffer): void {
    if (this.handle) this.queued(this.addon.send(this.handle, buf, null, 0), this.opts.connect);
  }

  /** A send outside a batch leaves with the others of this loop turn, from setImmediate. */
  private queued(result: number, peer: Peer | undefined): void {
    if (result === 1) setImmediate(this.flush);
    else if (result < 0) this.onSocketError(systemError('send', result, peer ? `${peer.address}:${peer.port}` : ''));
  }

  private readonly flush = (): void => this.addon.flush();

  close(): Promise<void> {
    if (this.handle) this.addon.close(this.handle);
    this.handle = undefined;
    return Promise.resolve();
  }
}
