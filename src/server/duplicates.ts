/**
 * Duplicate detection (RFC 5080 §2.2.2). Key: source address, port and Identifier, one
 * cache per listener. A request with the same key and the same Request Authenticator is a
 * retransmission: it gets the cached reply byte for byte, or nothing while the first copy
 * is still being worked on. A new authenticator under the same key is a new request.
 *
 * Shaped for the per-packet path: entries live in one map per source address, keyed by the
 * number port * 256 + Identifier; a NAS reuses its ports and identifiers, so in the steady
 * state a new request overwrites its key's finished entry in place and the maps do not
 * change. Expired entries are swept in batches whose cost is amortised over insertions.
 */

/** The record of one request; the caller that got it from check() completes or forgets it. */
export class DuplicateEntry {
  /** A copy of the 16 octets (the datagram is not kept). */
  readonly authenticator = Buffer.allocUnsafe(16);
  reply: Buffer | undefined = undefined;
  /** Monotonic ms after which a retransmission is treated as new. */
  expires = 0;
}

/** check()'s answer for a retransmission of a request that has no reply yet. */
export const IN_PROGRESS = 'in_progress';

export class DuplicateCache {
  private readonly byAddress = new Map<string, Map<number, DuplicateEntry>>();
  private entries = 0;
  private insertedSinceSweep = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Classifies a request. A retransmission gets the cached reply to resend, or IN_PROGRESS;
   * a new request gets its entry, which the caller must complete() or forget().
   */
  check(address: string, port: number, identifier: number, authenticator: Buffer): DuplicateEntry | Buffer | typeof IN_PROGRESS {
    const now = this.now();
    let byKey = this.byAddress.get(address);
    if (!byKey) this.byAddress.set(address, (byKey = new Map()));
    const key = port * 256 + identifier;
    let e = byKey.get(key);
    if (e) {
      const inProgress = e.reply === undefined;
      // A request still being worked on never expires: a slow upstream (failover can take
      // timeout x retries per server) must not turn the NAS's retransmission into a second request.
      if ((inProgress || e.expires > now) && equal16(e.authenticator, authenticator)) return inProgress ? IN_PROGRESS : e.reply!;
      // The finished entry is recycled; one still in progress belongs to its request until
      // that completes, so the new request gets a new entry.
      if (inProgress) byKey.set(key, (e = new DuplicateEntry()));
    } else {
      if (++this.insertedSinceSweep > this.entries / 2 || this.entries >= this.maxEntries) this.sweep(now);
      // After the sweep: it may have emptied and removed this address's map.
      byKey = this.byAddress.get(address) ?? this.byAddress.set(address, new Map()).get(address)!;
      byKey.set(key, (e = new DuplicateEntry()));
      this.entries++;
    }
    authenticator.copy(e.authenticator);
    e.reply = undefined;
    e.expires = now + this.windowMs;
    return e;
  }

  /** Stores the reply; the window restarts from the moment the reply was sent. */
  complete(entry: DuplicateEntry, reply: Buffer): void {
    entry.reply = reply;
    entry.expires = this.now() + this.windowMs;
  }

  /** Forgets a request that got no reply (dropped by policy), so a retry is processed afresh. */
  forget(entry: DuplicateEntry): void {
    // Expired and finished: the next copy is new, and the sweep may remove it.
    entry.reply = EMPTY;
    entry.expires = 0;
  }

  get size(): number {
    return this.entries;
  }

  /**
   * Removes finished entries past their window. Over max_entries it also removes, in
   * insertion order (about the oldest), finished entries and those in progress for longer
   * than the window (never one in progress for age alone), down to 90 % of max_entries so
   * that the next sweep is some insertions away.
   */
  private sweep(now: number): void {
    this.insertedSinceSweep = 0;
    const target = this.entries >= this.maxEntries ? Math.floor(this.maxEntries * 0.9) : Infinity;
    for (const [address, byKey] of this.byAddress) {
      for (const [key, e] of byKey) {
        const expired = e.expires <= now;
        const over = this.entries > target;
        if (e.reply !== undefined ? expired || over : expired && over) {
          byKey.delete(key);
          this.entries--;
        }
      }
      if (byKey.size === 0) this.byAddress.delete(address);
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Request Authenticators are random: a plain loop is enough (not a secret comparison). */
function equal16(a: Buffer, b: Buffer): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
