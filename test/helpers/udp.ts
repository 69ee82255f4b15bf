/**
 * Raw UDP for integration tests that need what radclient cannot do: send the very same
 * datagram twice, send malformed bytes, or send from another loopback address.
 * Packets are built with the project's own codec (src/radius), replies read as raw buffers.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Attr } from '../../src/radius/attribute-types.js';
import { Code } from '../../src/radius/codes.js';
import { hideUserPassword } from '../../src/radius/crypto.js';
import { encodeRequest } from '../../src/radius/message.js';
import type { RawAttribute } from '../../src/radius/packet.js';
import type { Teardown } from './daemon.js';

/** A UDP socket bound to a free port on 127.0.0.1. */
export async function bindLoopbackUdp(address = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  return socket;
}

/** A UDP socket bound to a loopback address that queues what it receives. */
export class UdpPeer {
  private readonly queue: Buffer[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg) => {
      this.queue.push(msg);
      this.waiter?.();
    });
  }

  static async open(t: Teardown, address = '127.0.0.1'): Promise<UdpPeer> {
    const peer = new UdpPeer(await bindLoopbackUdp(address));
    t.teardown(() => peer.close());
    return peer;
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(buf: Buffer, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(buf, port, address, (err) => (err ? reject(err) : resolve())));
  }

  /** The next datagram, or undefined when none arrives within timeoutMs. */
  receive(timeoutMs: number): Promise<Buffer | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(this.queue.shift());
      };
    });
  }

  /** Datagrams received and not yet taken. */
  get pending(): number {
    return this.queue.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

export function attr(type: number, value: string | Buffer): RawAttribute {
  return { type, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value };
}

/** A PAP Access-Request (with Message-Authenticator, as encodeRequest always writes it). */
export function papRequest(opts: {
  identifier: number;
  user: string;
  password: string;
  secret: string;
  authenticator?: Buffer;
  extra?: RawAttribute[];
}): Buffer {
  const authenticator = opts.authenticator ?? randomBytes(16);
  const secret = Buffer.from(opts.secret, 'utf8');
  return encodeRequest(
    {
      code: Code.AccessRequest,
      identifier: opts.identifier,
      authenticator,
      attributes: [
        attr(Attr.UserName, opts.user),
        attr(Attr.UserPassword, hideUserPassword(Buffer.from(opts.password, 'utf8'), secret, authenticator)),
        ...(opts.extra ?? []),
      ],
    },
    secret,
  );
}

/** A bare RADIUS header (code, id, length) followed by the given attribute bytes; no signing. */
export function rawPacket(code: number, identifier: number, body: Buffer = Buffer.alloc(0), lengthField?: number): Buffer {
  const buf = Buffer.alloc(20 + body.length);
  buf[0] = code;
  buf[1] = identifier;
  buf.writeUInt16BE(lengthField ?? buf.length, 2);
  randomBytes(16).copy(buf, 4);
  body.copy(buf, 20);
  return buf;
}
