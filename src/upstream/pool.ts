/**
 * A pool of upstream servers: failover (in the configured order) or load-balance (fewest
 * outstanding requests). Alive servers are preferred, zombies are used only when no server
 * is alive, dead and admin-down servers are skipped.
 */
import type { UpstreamServer } from './server.js';

export type PoolMode = 'failover' | 'load-balance';

export class UpstreamPool {
  constructor(
    readonly name: string,
    readonly servers: readonly UpstreamServer[],
    readonly mode: PoolMode,
  ) {}

  /** The next server to try, skipping those already tried for this request. */
  pick(tried?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    const alive = this.choose('alive', tried);
    return alive ?? this.choose('zombie', tried);
  }

  private choose(state: 'alive' | 'zombie', tried?: ReadonlySet<UpstreamServer>): UpstreamServer | undefined {
    let best: UpstreamServer | undefined;
    for (const s of this.servers) {
      if (s.state !== state || tried?.has(s)) continue;
      if (this.mode === 'failover') return s;
      if (!best || s.outstanding < best.outstanding) best = s;
    }
    return best;
  }
}
