/**
 * One UDP socket connected to an upstream server's port, with its 256 RADIUS identifiers. Identifiers are
 * handed out least-recently-freed first, so a number is reused as late as possible (the
 * upstream's duplicate cache may still hold the previous request with that identifier).
 */
import { createUdpEndpoint, type Peer, type UdpEndpoint } from '../transport/udp.js';

export class UpstreamSocket<Slot> {
  readonly slots: (Slot | undefined)[] = new Array<Slot | undefined>(256).fill(undefined);
  private readonly free = new Uint8Array(256);
  private head = 0;
  private count = 256;
  private readonly endpoint: UdpEndpoint;

  constructor(
    sourceAddress: string,
    destination: Peer,
    onReply: (msg: Buffer, socket: UpstreamSocket<Slot>) => void,
    onError: (err: Error) => void,
  ) {
    for (let i = 0; i < 256; i++) this.free[i] = i;
    this.endpoint = createUdpEndpoint(
      { address: sourceAddress, port: 0, receiveBufferBytes: 4 * 1024 * 1024, connect: destination },
      (msg) => onReply(msg, this),
      onError,
    );
  }

  start(): Promise<Peer> {
    return this.endpoint.start();
  }

  get available(): number {
    return this.count;
  }

  get inFlight(): number {
    return 256 - this.count;
  }

  /** Takes an identifier, or -1 when all 256 are in use. */
  acquire(slot: Slot): number {
    if (this.count === 0) return -1;
    const id = this.free[this.head]!;
    this.head = (this.head + 1) & 0xff;
    this.count--;
    this.slots[id] = slot;
    return id;
  }

  release(id: number): void {
    if (this.slots[id] === undefined) return;
    this.slots[id] = undefined;
    this.free[(this.head + this.count) & 0xff] = id;
    this.count++;
  }

  send(buf: Buffer): void {
    this.endpoint.sendToPeer(buf);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}
