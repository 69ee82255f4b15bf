/**
 * An upstream RADIUS server: identifiers over a growing set of sockets, retransmission on
 * the server's timeout, verification of every reply before it is used (RFC 2865 §3
 * Response Authenticator, RFC 3579 §3.2 Message-Authenticator), and the health state
 * machine driven by replies, timeouts and Status-Server probes (RFC 5997).
 */
import { Code } from '../radius/codes.js';
import { encodeRequest, verifyResponse, type ResponseCheck } from '../radius/message.js';
import { decodePacket, type RadiusPacket } from '../radius/packet.js';
import { findMessageAuthenticatorOffset } from '../radius/crypto.js';
import { UpstreamSocket } from './upstream-socket.js';

/** Explicit health states (DESIGN habit 4); only transition() changes them. */
export type UpstreamState = 'alive' | 'zombie' | 'dead' | 'admin-down';

export type UpstreamPurpose = 'auth' | 'acct';

export interface UpstreamServerOptions {
  name: string;
  address: string;
  authPort: number;
  acctPort: number;
  secret: Buffer;
  timeoutMs: number;
  retries: number;
  /**
   * BlastRADIUS: Access-Accept/Reject/Challenge without Message-Authenticator are dropped.
   * undefined = auto: learned from the first verified Access-* reply.
   */
  requireMessageAuthenticator: boolean | undefined;
  sourceAddress: string;
  /** Status-Server probe interval while zombie or dead. */
  probeIntervalMs: number;
  /** Consecutive probe answers that bring a zombie or dead server back. */
  reviveAfter: number;
  /** A zombie with no answer for this long is dead. */
  zombiePeriodMs: number;
  maxSockets: number;
}

export type ReplyDropReason = 'malformed_reply' | 'unexpected_reply' | 'unexpected_code' | Exclude<ResponseCheck, 'ok'>;

export interface UpstreamObserver {
  stateChanged(server: string, from: UpstreamState, to: UpstreamState, reason: string): void;
  replyDropped(server: string, reason: ReplyDropReason): void;
  retransmitted(server: string, purpose: UpstreamPurpose): void;
  timedOut(server: string, purpose: UpstreamPurpose): void;
  replied(server: string, purpose: UpstreamPurpose, seconds: number): void;
}

export class UpstreamError extends Error {
  constructor(
    readonly code: 'AAA_ERR_UPSTREAM_TIMEOUT' | 'AAA_ERR_UPSTREAM_CLOSED' | 'AAA_ERR_UPSTREAM_NO_IDENTIFIER',
    message: string,
  ) {
    super(message);
  }
}

export interface UpstreamReply {
  buf: Buffer;
  packet: RadiusPacket;
}

/** Builds the packet for an identifier; the authenticator is what the reply is checked against. */
export type PacketBuilder = (identifier: number) => { buf: Buffer; requestAuthenticator: Buffer };

interface Slot {
  purpose: UpstreamPurpose;
  probe: boolean;
  buf: Buffer;
  requestAuthenticator: Buffer;
  expect: readonly number[];
  firstSentAt: number;
  sentAt: number;
  tries: number;
  resolve: (reply: UpstreamReply) => void;
  reject: (err: Error) => void;
}

const ACCESS_REPLIES = [Code.AccessAccept, Code.AccessReject, Code.AccessChallenge] as const;
const ACCOUNTING_REPLIES = [Code.AccountingResponse] as const;
const TICK_MS = 50;

export class UpstreamServer {
  private current: UpstreamState = 'alive';
  /** Sockets per purpose, each connected to the server's auth or accounting port. */
  private readonly sockets: Record<UpstreamPurpose, UpstreamSocket<Slot>[]> = { auth: [], acct: [] };
  private readonly opening: Partial<Record<UpstreamPurpose, Promise<UpstreamSocket<Slot>>>> = {};
  private readonly ticker: NodeJS.Timeout;
  private lastReplyAt = 0;
  private zombieSince = 0;
  private probeAnswers = 0;
  private lastProbeAt = -Infinity;
  private closed = false;
  private pending = 0;
  private requireMac: boolean | undefined;

  constructor(
    readonly opts: UpstreamServerOptions,
    private readonly observer: UpstreamObserver,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.requireMac = opts.requireMessageAuthenticator;
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.ticker.unref();
  }

  get name(): string {
    return this.opts.name;
  }

  get state(): UpstreamState {
    return this.current;
  }

  /** Proxied requests waiting for a reply (load-balancing weight); probes are not counted. */
  get outstanding(): number {
    return this.pending;
  }

  /** Admin action: take the server out of service, or put it back (it starts alive). */
  setAdminDown(down: boolean): void {
    if (down) this.transition('admin-down', 'admin');
    else if (this.current === 'admin-down') this.transition('alive', 'admin');
  }

  sendAccess(build: PacketBuilder): Promise<UpstreamReply> {
    return this.send('auth', false, ACCESS_REPLIES, build);
  }

  sendAccounting(build: PacketBuilder): Promise<UpstreamReply> {
    return this.send('acct', false, ACCOUNTING_REPLIES, build);
  }

  private send(purpose: UpstreamPurpose, probe: boolean, expect: readonly number[], build: PacketBuilder): Promise<UpstreamReply> {
    if (this.closed) return Promise.reject(new UpstreamError('AAA_ERR_UPSTREAM_CLOSED', `${this.name} is closed`));
    const socket = this.freeSocket(purpose);
    // The usual case has a socket with a free identifier at hand: no extra await on the hot path.
    return socket ? this.sendOn(socket, purpose, probe, expect, build) : this.sendAfterOpening(purpose, probe, expect, build);
  }

  private freeSocket(purpose: UpstreamPurpose): UpstreamSocket<Slot> | undefined {
    for (const s of this.sockets[purpose]) if (s.available > 0) return s;
    return undefined;
  }

  /**
   * Callers that waited for the same new socket take its identifiers in turn; one that finds
   * them all taken opens the next socket (openSocket throws at maxSockets, so this ends).
   */
  private async sendAfterOpening(purpose: UpstreamPurpose, probe: boolean, expect: readonly number[], build: PacketBuilder): Promise<UpstreamReply> {
    let socket: UpstreamSocket<Slot> | undefined;
    while (!socket) {
      await this.openSocket(purpose);
      if (this.closed) throw new UpstreamError('AAA_ERR_UPSTREAM_CLOSED', `${this.name} is closed`);
      socket = this.freeSocket(purpose);
    }
    return this.sendOn(socket, purpose, probe, expect, build);
  }

  private sendOn(socket: UpstreamSocket<Slot>, purpose: UpstreamPurpose, probe: boolean, expect: readonly number[], build: PacketBuilder): Promise<UpstreamReply> {
    return new Promise((resolve, reject) => {
      const now = this.now();
      const slot: Slot = { purpose, probe, buf: EMPTY, requestAuthenticator: EMPTY, expect, firstSentAt: now, sentAt: now, tries: 1, resolve, reject };
      const id = socket.acquire(slot);
      if (id < 0) {
        reject(new UpstreamError('AAA_ERR_UPSTREAM_NO_IDENTIFIER', `${this.name}: no free identifier`));
        return;
      }
      try {
        const built = build(id);
        slot.buf = built.buf;
        slot.requestAuthenticator = built.requestAuthenticator;
      } catch (err) {
        socket.release(id);
        reject(err as Error);
        return;
      }
      // Probes are not load: `outstanding` counts proxied requests only.
      if (!probe) this.pending++;
      socket.send(slot.buf);
    });
  }

  /** Identifiers ran out on every socket of this purpose: open one more (up to maxSockets). */
  private openSocket(purpose: UpstreamPurpose): Promise<UpstreamSocket<Slot>> {
    this.opening[purpose] ??= (async () => {
      const list = this.sockets[purpose];
      if (list.length >= this.opts.maxSockets) {
        throw new UpstreamError('AAA_ERR_UPSTREAM_NO_IDENTIFIER', `${this.name}: ${this.opts.maxSockets} sockets x 256 identifiers in use`);
      }
      const port = purpose === 'auth' ? this.opts.authPort : this.opts.acctPort;
      const socket = new UpstreamSocket<Slot>(
        this.opts.sourceAddress,
        { address: this.opts.address, port },
        (msg, s) => this.onReply(msg, s),
        () => {
          // ICMP errors (port unreachable) surface here on a connected socket; the retransmit timer handles them.
        },
      );
      await socket.start();
      if (this.closed) {
        // close() ran while the socket was binding: it must not outlive the server.
        await socket.close();
        throw new UpstreamError('AAA_ERR_UPSTREAM_CLOSED', `${this.name} is closed`);
      }
      list.push(socket);
      return socket;
    })().finally(() => {
      this.opening[purpose] = undefined;
    });
    return this.opening[purpose]!;
  }

  private onReply(msg: Buffer, socket: UpstreamSocket<Slot>): void {
    if (msg.length < 20) return this.observer.replyDropped(this.name, 'malformed_reply');
    const slot = socket.slots[msg[1]!];
    if (!slot) return this.observer.replyDropped(this.name, 'unexpected_reply');
    const decoded = decodePacket(msg);
    if (!decoded.ok) return this.observer.replyDropped(this.name, 'malformed_reply');
    if (!slot.expect.includes(decoded.packet.code)) return this.observer.replyDropped(this.name, 'unexpected_code');
    const access = slot.purpose === 'auth';
    // Probe answers follow the same policy: FreeRADIUS before 3.2.5 answers Status-Server without one.
    const requireMac = access && this.requireMac === true;
    const check = verifyResponse(msg, slot.requestAuthenticator, this.opts.secret, requireMac);
    // A reply that fails verification may be forged: it is dropped and the request keeps waiting.
    if (check !== 'ok') return this.observer.replyDropped(this.name, check);
    if (access && !slot.probe && this.requireMac === undefined) this.requireMac = findMessageAuthenticatorOffset(msg) >= 0;
    socket.release(msg[1]!);
    if (!slot.probe) this.pending--;
    const now = this.now();
    this.lastReplyAt = now;
    if (slot.probe) this.onProbeAnswer();
    else {
      if (this.current === 'zombie' || this.current === 'dead') this.transition('alive', 'answered a request');
      this.observer.replied(this.name, slot.purpose, (now - slot.firstSentAt) / 1000);
    }
    slot.resolve({ buf: msg, packet: decoded.packet });
  }

  private tick(): void {
    const now = this.now();
    const { timeoutMs, retries } = this.opts;
    for (const socket of this.allSockets()) {
      if (socket.inFlight === 0) continue;
      for (let id = 0; id < 256; id++) {
        const slot = socket.slots[id];
        if (!slot || now - slot.sentAt < timeoutMs) continue;
        if (!slot.probe && slot.tries <= retries) {
          // RFC 5080 §2.2.1: a retransmission is the same packet, same identifier and authenticator.
          slot.tries++;
          slot.sentAt = now;
          socket.send(slot.buf);
          this.observer.retransmitted(this.name, slot.purpose);
          continue;
        }
        socket.release(id);
        if (!slot.probe) this.pending--;
        if (slot.probe) this.onProbeTimeout();
        else this.onRequestTimeout(slot);
        slot.reject(new UpstreamError('AAA_ERR_UPSTREAM_TIMEOUT', `${this.name}: no reply after ${slot.tries} tries`));
      }
    }
    this.healthTick(now);
  }

  private onRequestTimeout(slot: Slot): void {
    this.observer.timedOut(this.name, slot.purpose);
    // Silent since before this request went out: the server stopped answering.
    if (this.current === 'alive' && this.lastReplyAt < slot.firstSentAt) this.transition('zombie', 'request timed out');
  }

  private onProbeAnswer(): void {
    this.probeAnswers++;
    if ((this.current === 'zombie' || this.current === 'dead') && this.probeAnswers >= this.opts.reviveAfter) {
      this.transition('alive', `${this.probeAnswers} Status-Server answers`);
    }
  }

  private onProbeTimeout(): void {
    this.probeAnswers = 0;
  }

  private healthTick(now: number): void {
    if (this.current !== 'zombie' && this.current !== 'dead') return;
    if (this.current === 'zombie' && now - this.zombieSince >= this.opts.zombiePeriodMs && this.lastReplyAt < this.zombieSince) {
      this.transition('dead', 'no answer in the zombie period');
    }
    if (now - this.lastProbeAt >= this.opts.probeIntervalMs) {
      this.lastProbeAt = now;
      this.probe().catch(() => {
        // Counted by onProbeTimeout; the next interval probes again.
      });
    }
  }

  /** RFC 5997 §3: Status-Server to the authentication port, with Message-Authenticator. */
  probe(): Promise<UpstreamReply> {
    return this.send('auth', true, [Code.AccessAccept], (identifier) => {
      const buf = encodeRequest({ code: Code.StatusServer, identifier, attributes: [] }, this.opts.secret);
      return { buf, requestAuthenticator: buf.subarray(4, 20) };
    });
  }

  private transition(to: UpstreamState, reason: string): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    if (to === 'zombie') {
      this.zombieSince = this.now();
      this.probeAnswers = 0;
      // Probe at the next tick (performance.now() counts from process start, so 0 may be "recent").
      this.lastProbeAt = -Infinity;
    }
    if (to === 'alive') this.probeAnswers = 0;
    this.observer.stateChanged(this.name, from, to, reason);
  }

  private allSockets(): UpstreamSocket<Slot>[] {
    return [...this.sockets.auth, ...this.sockets.acct];
  }

  /** Fails what is in flight and closes the sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    for (const socket of this.allSockets()) {
      for (let id = 0; id < 256; id++) {
        const slot = socket.slots[id];
        if (!slot) continue;
        socket.release(id);
        slot.reject(new UpstreamError('AAA_ERR_UPSTREAM_CLOSED', `${this.name} closed`));
      }
    }
    this.pending = 0;
    const opening = [this.opening.auth, this.opening.acct].map((o) =>
      o?.then(
        () => {},
        () => {},
      ),
    );
    await Promise.all([...this.allSockets().map((s) => s.close()), ...opening]);
  }
}

const EMPTY = Buffer.alloc(0);
