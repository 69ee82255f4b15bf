/**
 * MD5 (RFC 1321) and HMAC-MD5 (RFC 2104) for RADIUS's small inputs, without allocation.
 *
 * Why not node:crypto: every RADIUS hop computes several MD5 and HMAC-MD5 digests over about
 * a hundred octets (authenticators, Message-Authenticator, User-Password and salt hiding).
 * There node:crypto's cost is its binding, not the hashing: createHash/createHmac build a
 * native object and a result Buffer per digest (2-3 µs each, measured), which made crypto
 * the largest item of a proxied request's CPU. This implementation keeps its state in typed
 * arrays that it reuses and digests into a caller's buffer (0.3-0.7 µs for the same input).
 * The audited pure-JS library @noble/hashes was measured too and is slower than node:crypto
 * here. Correctness is pinned by the RFC 1321 §A.5 and RFC 2202 §2 test vectors and by
 * differential tests against node:crypto (test/unit/radius/md5.test.ts).
 *
 * MD5 is used only where the RADIUS RFCs prescribe it; nothing here is secret-dependent in
 * its control flow (the loop counts depend on input lengths only).
 */

/** RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i))), i = 1..64. */
const T = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

export const MD5_DIGEST_LENGTH = 16;
const BLOCK = 64;

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** An incremental MD5: reset(), update() any number of times, digestInto(). Reusable. */
export class Md5 {
  private readonly state = new Int32Array(4);
  private readonly words = new Int32Array(16);
  /** Input not yet compressed (less than one block). */
  private readonly tail = new Uint8Array(BLOCK);
  private tailLength = 0;
  private length = 0;

  constructor() {
    this.reset();
  }

  reset(): this {
    // RFC 1321 §3.3: the initial words A, B, C, D.
    this.state[0] = 0x67452301;
    this.state[1] = 0xefcdab89 | 0;
    this.state[2] = 0x98badcfe | 0;
    this.state[3] = 0x10325476;
    this.tailLength = 0;
    this.length = 0;
    return this;
  }

  update(data: Uint8Array, start = 0, end = data.length): this {
    this.length += end - start;
    let at = start;
    const tail = this.tail;
    // Byte loops rather than tail.set(data.subarray()): a view per call was most of what a
    // request allocated here, and the copies are under 64 octets.
    if (this.tailLength > 0) {
      let n = this.tailLength;
      while (n < BLOCK && at < end) tail[n++] = data[at++]!;
      this.tailLength = n;
      if (n < BLOCK) return this;
      this.compress(tail, 0);
      this.tailLength = 0;
    }
    for (; at + BLOCK <= end; at += BLOCK) this.compress(data, at);
    let n = 0;
    while (at < end) tail[n++] = data[at++]!;
    this.tailLength = n;
    return this;
  }

  /** Copies the chaining state out; valid as a restore point only after whole blocks (see restore). */
  saveState(out: Int32Array): void {
    out.set(this.state);
  }

  /** Continues from a saved state as if `length` octets (a multiple of 64) had been hashed. */
  restore(state: Int32Array, length: number): this {
    this.state.set(state);
    this.tailLength = 0;
    this.length = length;
    return this;
  }

  /** Writes the 16-octet digest at out[offset]; the hasher must be reset() before reuse. */
  digestInto(out: Uint8Array, offset = 0): void {
    // RFC 1321 §3.1-3.2: a 1 bit, zeros to 56 mod 64 octets, then the bit length, little-endian.
    const bits = this.length * 8;
    const tail = this.tail;
    let n = this.tailLength;
    tail[n++] = 0x80;
    if (n > 56) {
      tail.fill(0, n);
      this.compress(tail, 0);
      n = 0;
    }
    tail.fill(0, n, 56);
    writeInt32LE(tail, 56, bits | 0);
    writeInt32LE(tail, 60, Math.floor(bits / 2 ** 32) | 0);
    this.compress(tail, 0);
    for (let i = 0; i < 4; i++) writeInt32LE(out, offset + 4 * i, this.state[i]!);
  }

  /** RFC 1321 §3.4: the four rounds over one 64-octet block. */
  private compress(b: Uint8Array, o: number): void {
    const x = this.words;
    for (let i = 0; i < 16; i++, o += 4) x[i] = b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
    const s = this.state;
    let a = s[0]!;
    let bb = s[1]!;
    let c = s[2]!;
    let d = s[3]!;
    let t: number;
    for (let i = 0; i < 16; i++) {
      t = (a + ((bb & c) | (~bb & d)) + T[i]! + x[i]!) | 0;
      a = d;
      d = c;
      c = bb;
      bb = (bb + rotl(t, R1[i & 3]!)) | 0;
    }
    for (let i = 16; i < 32; i++) {
      t = (a + ((bb & d) | (c & ~d)) + T[i]! + x[(5 * i + 1) & 15]!) | 0;
      a = d;
      d = c;
      c = bb;
      bb = (bb + rotl(t, R2[i & 3]!)) | 0;
    }
    for (let i = 32; i < 48; i++) {
      t = (a + (bb ^ c ^ d) + T[i]! + x[(3 * i + 5) & 15]!) | 0;
      a = d;
      d = c;
      c = bb;
      bb = (bb + rotl(t, R3[i & 3]!)) | 0;
    }
    for (let i = 48; i < 64; i++) {
      t = (a + (c ^ (bb | ~d)) + T[i]! + x[(7 * i) & 15]!) | 0;
      a = d;
      d = c;
      c = bb;
      bb = (bb + rotl(t, R4[i & 3]!)) | 0;
    }
    s[0] = (s[0]! + a) | 0;
    s[1] = (s[1]! + bb) | 0;
    s[2] = (s[2]! + c) | 0;
    s[3] = (s[3]! + d) | 0;
  }
}

/** RFC 1321 §3.4: the shift amounts of each round, repeating every four steps. */
const R1 = [7, 12, 17, 22];
const R2 = [5, 9, 14, 20];
const R3 = [4, 11, 16, 23];
const R4 = [6, 10, 15, 21];

function writeInt32LE(out: Uint8Array, at: number, v: number): void {
  out[at] = v;
  out[at + 1] = v >>> 8;
  out[at + 2] = v >>> 16;
  out[at + 3] = v >>> 24;
}

const IPAD = 0x36;
const OPAD = 0x5c;

/** A key's state after its padded block (RFC 2104 §2 steps 1-2), for inner and outer hash. */
interface KeySchedule {
  readonly key: Uint8Array;
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

/**
 * Keys whose schedules are kept. A proxy uses a few secrets over and over (the NAS's and the
 * upstream's); their two pad blocks were a third of the blocks of a typical Message-Authenticator.
 */
const KEY_SCHEDULES = 8;

/** An incremental HMAC-MD5 (RFC 2104): start(key), update() any number of times, digestInto(). */
export class HmacMd5 {
  private readonly inner = new Md5();
  private readonly outer = new Md5();
  private readonly pad = new Uint8Array(BLOCK);
  private readonly innerDigest = new Uint8Array(MD5_DIGEST_LENGTH);
  private readonly schedules: KeySchedule[] = [];
  private nextSlot = 0;

  start(key: Uint8Array): this {
    const known = this.scheduleOf(key);
    if (known) {
      this.inner.restore(known.inner, BLOCK);
      this.outer.restore(known.outer, BLOCK);
      return this;
    }
    const pad = this.pad;
    pad.fill(0);
    // RFC 2104 §2: a key longer than the block is replaced by its digest.
    if (key.length > BLOCK) this.inner.reset().update(key).digestInto(pad, 0);
    else pad.set(key, 0);
    for (let i = 0; i < BLOCK; i++) pad[i] = pad[i]! ^ IPAD;
    this.inner.reset().update(pad);
    for (let i = 0; i < BLOCK; i++) pad[i] = pad[i]! ^ IPAD ^ OPAD;
    this.outer.reset().update(pad);
    this.remember(key);
    return this;
  }

  /** Compared by content, not identity: a caller may reuse one buffer for different keys. */
  private scheduleOf(key: Uint8Array): KeySchedule | undefined {
    for (const s of this.schedules) {
      if (s.key.length !== key.length) continue;
      let i = 0;
      while (i < key.length && s.key[i] === key[i]) i++;
      if (i === key.length) return s;
    }
    return undefined;
  }

  private remember(key: Uint8Array): void {
    const s: KeySchedule = { key: Uint8Array.from(key), inner: new Int32Array(4), outer: new Int32Array(4) };
    this.inner.saveState(s.inner);
    this.outer.saveState(s.outer);
    this.schedules[this.nextSlot] = s;
    this.nextSlot = (this.nextSlot + 1) % KEY_SCHEDULES;
  }

  update(data: Uint8Array, start = 0, end = data.length): this {
    this.inner.update(data, start, end);
    return this;
  }

  digestInto(out: Uint8Array, offset = 0): void {
    this.inner.digestInto(this.innerDigest, 0);
    this.outer.update(this.innerDigest).digestInto(out, offset);
  }
}
