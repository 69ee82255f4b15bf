/**
 * EAP and other multi-round conversations stay on one upstream server: the State of an
 * Access-Challenge (RFC 2865 §5.24) maps to the server that sent it, for a bounded time.
 */
import type { UpstreamServer } from '../upstream/server.js';

interface Entry {
  server: UpstreamServer;
  expires: number;
}

export class StickySessions {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  remember(state: Buffer, server: UpstreamServer): void {
    const now = this.now();
    const key = state.toString('latin1');
    this.entries.delete(key);
    this.entries.set(key, { server, expires: now + this.ttlMs });
    // Insertion order is expiry order: drop from the front.
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.expires > now) break;
      this.entries.delete(k);
    }
  }

  lookup(state: Buffer): UpstreamServer | undefined {
    const e = this.entries.get(state.toString('latin1'));
    return e && e.expires > this.now() ? e.server : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
