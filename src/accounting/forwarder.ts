/**
 * Delivers the spool to upstream accounting pools: at least once, in order per session,
 * with failover inside the pool and retries without end (a record leaves the spool only
 * when an upstream acknowledged it).
 *
 * Per session: a record waits while an earlier one of the same session (Acct-Session-Id at
 * the same NAS; Accounting-On/Off per NAS) is in flight. Records of other sessions go ahead,
 * up to `window` at once.
 */
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { checkLayout, EncodeError, findAttributeOffset } from '../radius/packet.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { UpstreamError, type UpstreamServer } from '../upstream/server.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { AccountingSpool, SpoolEntry } from './spool.js';
import { encodeUpstreamAccountingRequest } from './upstream-request.js';
import { ProxyStateSource } from '../proxy/proxy-state.js';

/**
 * The spool's label for an entry: the target pool, the client and, when the route strips the
 * realm, the User-Name to send, one per line (pool and client names have no control characters;
 * the user name comes last, so it may).
 */
export function spoolLabel(pool: string, client: string, strippedUserName?: string): string {
  return strippedUserName === undefined ? `${pool}\n${client}` : `${pool}\n${client}\n${strippedUserName}`;
}

function parseLabel(label: string): { pool: string; client: string; userName: string | undefined } {
  const first = label.indexOf('\n');
  if (first < 0) return { pool: label, client: '', userName: undefined };
  const second = label.indexOf('\n', first + 1);
  if (second < 0) return { pool: label.slice(0, first), client: label.slice(first + 1), userName: undefined };
  return { pool: label.slice(0, first), client: label.slice(first + 1, second), userName: label.slice(second + 1) };
}

export type DeferReason = 'no_server_answered' | 'unknown_pool' | 'internal_error';

export interface ForwarderObserver {
  delivered(pool: string, server: string): void;
  /** No server of the pool answered (or the pool is gone, or a bug); the record is retried later. */
  deferred(pool: string, reason: DeferReason, err?: unknown): void;
  /**
   * A spooled packet that cannot be decoded, or whose upstream copy would pass 4096 octets;
   * it is acknowledged so it does not block its session.
   */
  undeliverable(seq: number, reason: 'malformed' | 'too_long'): void;
}

export interface ForwarderOptions {
  window: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** A server's NAS identity override (as for Access-Requests); looked up per delivery, so a reload applies. */
  identity?: (server: UpstreamServer) => { nasIdentifier?: Buffer | undefined; nasIpAddress?: Buffer | undefined } | undefined;
}

/** A spooled record with what delivery needs, worked out once when it is read. */
interface Queued {
  entry: SpoolEntry;
  pool: string;
  session: string;
  /** The realm-stripped User-Name to send instead of the NAS's. */
  userName: Buffer | undefined;
  /** The packet is a well-formed Accounting-Request (spooled records were checked on arrival; this guards against damage). */
  wellFormed: boolean;
}

/** Records read ahead of delivery, so that a busy session does not stall the others. */
const READ_AHEAD = 2048;

export class AccountingForwarder {
  private readonly proxyStates = new ProxyStateSource();
  /** Records read and not in flight: ready per pool, or parked behind their session's delivery. */
  private readonly queue = new DeliveryQueue<Queued>();
  private readThrough: number;
  private active = 0;
  private closed = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** One outstanding wait on the spool at a time (a wait per pass would pile up). */
  private dataWait: Promise<void> | undefined;
  /** Backoff per pool after every server failed; reset by a delivery. */
  private readonly retryAt = new Map<string, { at: number; delayMs: number }>();

  constructor(
    private readonly spool: AccountingSpool,
    private pools: ReadonlyMap<string, UpstreamPool>,
    private readonly observer: ForwarderObserver,
    private readonly opts: ForwarderOptions,
  ) {
    this.readThrough = spool.stats().ackedThrough;
  }

  /** Reload: deliveries in flight finish on the pools they started with. */
  swapPools(pools: ReadonlyMap<string, UpstreamPool>): void {
    this.pools = pools;
    this.retryAt.clear();
    this.poke();
  }

  start(): void {
    this.loop ??= this.run();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private waitForData(): Promise<void> {
    this.dataWait ??= this.spool.waitForData(this.readThrough).finally(() => {
      this.dataWait = undefined;
    });
    return this.dataWait;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      // Each pass waits for the check phase: the I/O callbacks of this loop turn (the NAS's
      // requests, whose answers are waited for) go first; delivery only has to keep up.
      await new Promise((r) => setImmediate(r));
      if (this.queue.size < READ_AHEAD) await this.readMore();
      const nextRetryMs = this.dispatchReady();
      const woken = new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      const waits: Promise<void>[] = [woken];
      // New records matter only when there is room to send them.
      if (this.active < this.opts.window && this.queue.size < READ_AHEAD) waits.push(this.waitForData());
      if (Number.isFinite(nextRetryMs)) waits.push(new Promise((r) => setTimeout(r, nextRetryMs).unref()));
      await Promise.race(waits);
    }
  }

  private async readMore(): Promise<void> {
    const more = await this.spool.read(this.readThrough, READ_AHEAD - this.queue.size);
    if (more.length === 0) return;
    this.readThrough = more.at(-1)!.seq;
    for (const entry of more) this.queue.add(prepare(entry));
  }

  /** Starts every delivery the window, sessions and backoffs allow; returns ms to the next backoff end. */
  private dispatchReady(): number {
    const now = Date.now();
    const backingOff = (pool: string): boolean => (this.retryAt.get(pool)?.at ?? 0) > now;
    while (this.active < this.opts.window) {
      const q = this.queue.take(backingOff);
      if (!q) break;
      this.active++;
      void this.deliver(q);
    }
    let nextRetry = Infinity;
    if (this.retryAt.size > 0) {
      for (const pool of this.queue.readyPools()) {
        const at = this.retryAt.get(pool)?.at ?? 0;
        if (at > now) nextRetry = Math.min(nextRetry, at - now);
      }
    }
    return nextRetry;
  }

  private async deliver(q: Queued): Promise<void> {
    const { entry, pool: poolName } = q;
    try {
      if (!q.wellFormed) {
        this.observer.undeliverable(entry.seq, 'malformed');
        this.acknowledge(q);
        return;
      }
      const pool = this.pools.get(poolName);
      if (!pool) {
        this.defer(poolName, 'unknown_pool');
        this.queue.retry(q);
        return;
      }
      // Made on the first failover only.
      let tried: Set<UpstreamServer> | undefined;
      for (let server = pool.pick(); server; server = pool.pick(tried)) {
        try {
          await this.send(server, q);
          this.retryAt.delete(poolName);
          this.observer.delivered(poolName, server.name);
          this.acknowledge(q);
          return;
        } catch (err) {
          if (!(err instanceof UpstreamError)) throw err;
          (tried ??= new Set()).add(server);
        }
      }
      // At shutdown the servers fail what is in flight: the record simply stays in the spool.
      if (!this.closed) this.defer(poolName, 'no_server_answered');
      this.queue.retry(q);
    } catch (err) {
      if (err instanceof EncodeError) {
        this.observer.undeliverable(entry.seq, 'too_long');
        this.acknowledge(q);
        return;
      }
      // Not an upstream failure (a bug): keep the record and try again after a backoff.
      this.defer(poolName, 'internal_error', err);
      this.queue.retry(q);
    } finally {
      this.active--;
      this.poke();
    }
  }

  /** The record leaves the spool, and its session's next record may go. */
  private acknowledge(q: Queued): void {
    this.spool.ack(q.entry.seq);
    this.queue.done(q);
  }

  private defer(pool: string, reason: DeferReason, err?: unknown): void {
    const prev = this.retryAt.get(pool);
    const delayMs = prev ? Math.min(prev.delayMs * 2, this.opts.retryMaxMs) : this.opts.retryMinMs;
    this.retryAt.set(pool, { at: Date.now() + delayMs, delayMs });
    this.observer.deferred(pool, reason, err);
  }

  private send(server: UpstreamServer, { entry, userName }: Queued) {
    const secret = server.opts.secret;
    const identity = this.opts.identity?.(server);
    const rewrite = { userName, nasIdentifier: identity?.nasIdentifier, nasIpAddress: identity?.nasIpAddress };
    // RFC 2866 §5.2: the time spent here counts; a new value means a new packet (new identifier
    // and authenticator, RFC 5080 §2.2.1), which sendAccounting gives on every try.
    const waited = Math.max(0, Math.floor((Date.now() - entry.enqueuedAt) / 1000));
    const proxyState = this.proxyStates.next();
    return server.sendAccounting((identifier) => {
      const buf = encodeUpstreamAccountingRequest(entry.packet, identifier, waited, proxyState, secret, rewrite);
      return { buf, requestAuthenticator: buf.subarray(4, 20) };
    });
  }

  /** Stops taking records; deliveries in flight finish or fail with their servers. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.poke();
    await this.loop;
  }
}

/**
 * Records of one session at one NAS are delivered in order; records without
 * Acct-Session-Id (Accounting-On/Off) are ordered per NAS.
 */
function prepare(entry: SpoolEntry): Queued {
  const { pool, client, userName: stripped } = parseLabel(entry.client);
  const userName = stripped === undefined ? undefined : Buffer.from(stripped, 'utf8');
  const packet = entry.packet;
  if (checkLayout(packet) !== undefined || packet[0] !== Code.AccountingRequest) return { entry, pool, session: `${client}|`, userName, wellFormed: false };
  const at = findAttributeOffset(packet, Attr.AcctSessionId);
  const session = at < 0 ? `${client}|` : `${client}|${packet.toString('latin1', at + 2, at + packet[at + 1]!)}`;
  return { entry, pool, session, userName, wellFormed: true };
}
