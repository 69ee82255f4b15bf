/**
 * Values for our own Proxy-State (RFC 2865 §5.33): a per-process random prefix and a
 * counter, so each request we send carries a distinct value that captures can trace.
 */
import { randomBytes } from 'node:crypto';

export class ProxyStateSource {
  private readonly prefix = randomBytes(4);
  private counter = 0;

  next(): Buffer {
    const b = Buffer.allocUnsafe(8);
    this.prefix.copy(b, 0);
    b.writeUInt32BE(this.counter, 4);
    this.counter = (this.counter + 1) >>> 0;
    return b;
  }
}
