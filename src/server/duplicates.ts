/**
 * Duplicate detection (RFC 5080 §2.2.2). Key: source address, port and Identifier, one
 * cache per listener. A request with the same key and the same Request Authenticator is a
 * retransmission: it gets the cached reply byte for byte, or nothing while the first copy
 * is still being worked on. A new authenticator under the same key is a new request.
 */
export type DuplicateVerdict = 'new' | 'resend' | 'in_progress';

interface Entry {
  authenticator: Buffer;
  reply: Buffer | undefined;
  /** Monotonic ms after which a retransmission is treated as new. */
  expires: number;
}

export class DuplicateCache {
  /** Map iteration order is insertion order: refreshed entries are re-inserted, so the oldest come first. */
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  static key(address: string, port: number, identifier: number): string {
    return `${address}|${port}|${identifier}`;
  }

  /**
   * Classifies a request and, when it is new, records it as in progress.
   * `cached` is set for 'resend'.
   */
  check(key: string, authenticator: Buffer): { verdict: DuplicateVerdict; cached?: Buffer } {
    const now = this.now();
    const e = this.entries.get(key);
    // A request still being worked on never expires: a slow upstream (failover can take
    // timeout x retries per server) must not turn the NAS's retransmission into a second request.
    if (e && (e.expires > now || !e.reply) && e.authenticator.equals(authenticator)) {
      return e.reply ? { verdict: 'resend', cached: e.reply } : { verdict: 'in_progress' };
    }
    if (e) this.entries.delete(key);
    // The authenticator is a view into the datagram; copy the 16 octets, not the packet.
    this.entries.set(key, { authenticator: Buffer.from(authenticator), reply: undefined, expires: now + this.windowMs });
    this.evict(now);
    return { verdict: 'new' };
  }

  /** Stores the reply; the window restarts from the moment the reply was sent. */
  complete(key: string, authenticator: Buffer, reply: Buffer): void {
    const e = this.entries.get(key);
    if (!e || !e.authenticator.equals(authenticator)) return;
    this.entries.delete(key);
    e.reply = reply;
    e.expires = this.now() + this.windowMs;
    this.entries.set(key, e);
  }

  /** Forgets a request that got no reply (dropped by policy), so a retry is processed afresh. */
  forget(key: string, authenticator: Buffer): void {
    const e = this.entries.get(key);
    if (e && e.authenticator.equals(authenticator) && !e.reply) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.expires > now) break;
      // Never evict an entry still in progress because of age alone: its reply must be cached.
      if (e.reply === undefined && e.expires > now) break;
      this.entries.delete(key);
    }
  }
}
