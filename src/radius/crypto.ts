/**
 * RADIUS cryptography over wire buffers: authenticators, Message-Authenticator,
 * attribute hiding. Secrets and authenticators are always passed in.
 * Randomness comes only from node:crypto; MD5 and HMAC-MD5 from ./md5.ts (why: see there).
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { findAttributeOffset, HEADER_LENGTH } from './packet.js';
import { Attr } from './attribute-types.js';
import { HmacMd5, Md5 } from './md5.js';

/**
 * Scratch state of the synchronous functions below. Each call resets what it uses and
 * copies its result out before returning, so nothing passes from one call to another.
 */
const hasher = new Md5();
const mac = new HmacMd5();
const scratchDigest = Buffer.alloc(16);

/** Compares 16 octets in time independent of where they differ. */
function equal16(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): boolean {
  let diff = 0;
  for (let i = 0; i < 16; i++) diff |= a[aOffset + i]! ^ b[bOffset + i]!;
  return diff === 0;
}

const ZERO_AUTHENTICATOR = Buffer.alloc(16);
const MESSAGE_AUTHENTICATOR_LENGTH = 16;

export function randomAuthenticator(): Buffer {
  return randomBytes(16);
}

/**
 * Random authenticators for a hot path: one call to the CSPRNG per 256 of them (its
 * per-call cost showed in profiles). Each is a fresh slice, never handed out twice.
 */
export class AuthenticatorSource {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): Buffer {
    if (this.offset >= this.pool.length) {
      this.pool = randomBytes(16 * 256);
      this.offset = 0;
    }
    const out = this.pool.subarray(this.offset, this.offset + 16);
    this.offset += 16;
    return out;
  }
}

/** MD5 of the parts, concatenated, into the scratch digest (valid until the next call). */
function md5(a: Uint8Array, b: Uint8Array, c?: Uint8Array): Buffer {
  hasher.reset().update(a).update(b);
  if (c) hasher.update(c);
  hasher.digestInto(scratchDigest, 0);
  return scratchDigest;
}

/**
 * Response Authenticator (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3):
 * MD5(Code + Identifier + Length + Request Authenticator + Attributes + Secret).
 * Writes it into buf, which must hold the Request Authenticator in its authenticator field.
 */
export function signResponseAuthenticator(buf: Buffer, secret: Buffer): void {
  hasher.reset().update(buf).update(secret).digestInto(buf, 4);
}

/** Checks a reply against the Request Authenticator of the request it answers. */
export function verifyResponseAuthenticator(buf: Buffer, requestAuthenticator: Buffer, secret: Buffer): boolean {
  const length = buf.readUInt16BE(2);
  hasher.reset().update(buf, 0, 4).update(requestAuthenticator).update(buf, HEADER_LENGTH, length).update(secret).digestInto(scratchDigest, 0);
  return equal16(scratchDigest, 0, buf, 4);
}

/**
 * Request Authenticator of Accounting-Request (RFC 2866 §3) and Disconnect/CoA-Request
 * (RFC 5176 §2.3): MD5 over the packet with 16 zero octets in the authenticator field, plus secret.
 */
export function signComputedRequestAuthenticator(buf: Buffer, secret: Buffer): void {
  ZERO_AUTHENTICATOR.copy(buf, 4);
  hasher.reset().update(buf).update(secret).digestInto(buf, 4);
}

export function verifyComputedRequestAuthenticator(buf: Buffer, secret: Buffer): boolean {
  const length = buf.readUInt16BE(2);
  hasher.reset().update(buf, 0, 4).update(ZERO_AUTHENTICATOR).update(buf, HEADER_LENGTH, length).update(secret).digestInto(scratchDigest, 0);
  return equal16(scratchDigest, 0, buf, 4);
}

/**
 * Finds the value offset of the Message-Authenticator attribute in a wire packet,
 * or -1. Assumes the packet already passed decodePacket.
 */
export function findMessageAuthenticatorOffset(buf: Buffer): number {
  const offset = findAttributeOffset(buf, Attr.MessageAuthenticator);
  return offset < 0 ? -1 : offset + 2;
}

/**
 * HMAC-MD5 over the packet with the Message-Authenticator value zeroed (RFC 3579 §3.2) and
 * `authenticatorForMac` in the authenticator field: the Request Authenticator for Access-Request,
 * Status-Server and every response; zeros for Accounting, Disconnect and CoA requests
 * (RFC 5176 §3.1, RFC 5997 §3).
 */
function messageAuthenticatorDigest(
  buf: Buffer,
  valueOffset: number,
  authenticatorForMac: Buffer,
  secret: Buffer,
  out: Uint8Array,
  outOffset: number,
): void {
  const length = buf.readUInt16BE(2);
  mac
    .start(secret)
    .update(buf, 0, 4)
    .update(authenticatorForMac)
    .update(buf, HEADER_LENGTH, valueOffset)
    .update(ZERO_AUTHENTICATOR)
    .update(buf, valueOffset + MESSAGE_AUTHENTICATOR_LENGTH, length)
    .digestInto(out, outOffset);
}

export function signMessageAuthenticator(
  buf: Buffer,
  valueOffset: number,
  authenticatorForMac: Buffer,
  secret: Buffer,
): void {
  messageAuthenticatorDigest(buf, valueOffset, authenticatorForMac, secret, buf, valueOffset);
}

export function verifyMessageAuthenticator(
  buf: Buffer,
  valueOffset: number,
  authenticatorForMac: Buffer,
  secret: Buffer,
): boolean {
  const length = buf.readUInt16BE(2);
  if (valueOffset + MESSAGE_AUTHENTICATOR_LENGTH > length || buf[valueOffset - 1] !== 18) return false;
  messageAuthenticatorDigest(buf, valueOffset, authenticatorForMac, secret, scratchDigest, 0);
  return equal16(scratchDigest, 0, buf, valueOffset);
}

export { ZERO_AUTHENTICATOR };

/** RFC 2865 §5.2: passwords are at most 128 octets. */
export const MAX_USER_PASSWORD_LENGTH = 128;

/**
 * User-Password hiding (RFC 2865 §5.2): pad to a multiple of 16 with NULs;
 * c(1) = p(1) xor MD5(S + RA), c(i) = p(i) xor MD5(S + c(i-1)).
 */
export function hideUserPassword(password: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  if (password.length > MAX_USER_PASSWORD_LENGTH) {
    throw new RangeError(`User-Password is ${password.length} octets, RFC 2865 §5.2 allows 128`);
  }
  const padded = Math.max(16, Math.ceil(password.length / 16) * 16);
  // allocUnsafe and an explicit fill: Buffer.alloc costs a zeroed allocation of its own (~1 µs).
  const out = Buffer.allocUnsafe(padded);
  password.copy(out);
  out.fill(0, password.length);
  let previous = requestAuthenticator;
  for (let i = 0; i < padded; i += 16) {
    const b = md5(secret, previous);
    for (let j = 0; j < 16; j++) out[i + j] = out[i + j]! ^ b[j]!;
    previous = out.subarray(i, i + 16);
  }
  return out;
}

/** Reverses hideUserPassword; undefined when the length is not 16..128 in steps of 16. */
export function revealUserPassword(hidden: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer | undefined {
  if (hidden.length < 16 || hidden.length > MAX_USER_PASSWORD_LENGTH || hidden.length % 16 !== 0) return undefined;
  const out = Buffer.allocUnsafe(hidden.length);
  let previous = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += 16) {
    const b = md5(secret, previous);
    for (let j = 0; j < 16; j++) out[i + j] = hidden[i + j]! ^ b[j]!;
    previous = hidden.subarray(i, i + 16);
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.subarray(0, end);
}

/**
 * Salt encryption shared by Tunnel-Password (RFC 2868 §3.5) and MS-MPPE-Send/Recv-Key
 * (RFC 2548 §2.4.2): Salt (2 octets, high bit set) + encrypted(length octet + data + padding),
 * b(1) = MD5(S + R + A), b(i) = MD5(S + c(i-1)). R is the Request Authenticator of the
 * request being answered.
 */
export function encryptSalted(plain: Buffer, secret: Buffer, requestAuthenticator: Buffer, salt?: Buffer): Buffer {
  if (plain.length > 239) throw new RangeError(`salted value is ${plain.length} octets, at most 239 fit`);
  const s = salt ?? randomFillSync(Buffer.allocUnsafe(2));
  const body = Math.ceil((plain.length + 1) / 16) * 16;
  const out = Buffer.allocUnsafe(2 + body);
  out[0] = s[0]! | 0x80; // RFC 2868 §3.5: the most significant bit of the salt MUST be set.
  out[1] = s[1]!;
  out[2] = plain.length;
  plain.copy(out, 3);
  out.fill(0, 3 + plain.length);
  let b = md5(secret, requestAuthenticator, out.subarray(0, 2));
  for (let i = 2; i < out.length; i += 16) {
    for (let j = 0; j < 16; j++) out[i + j] = out[i + j]! ^ b[j]!;
    if (i + 16 < out.length) b = md5(secret, out.subarray(i, i + 16));
  }
  return out;
}

export function decryptSalted(value: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer | undefined {
  if (value.length < 18 || (value.length - 2) % 16 !== 0) return undefined;
  const out = Buffer.allocUnsafe(value.length - 2);
  let b = md5(secret, requestAuthenticator, value.subarray(0, 2));
  for (let i = 2; i < value.length; i += 16) {
    for (let j = 0; j < 16; j++) out[i - 2 + j] = value[i + j]! ^ b[j]!;
    b = md5(secret, value.subarray(i, i + 16));
  }
  const length = out[0]!;
  if (length > out.length - 1) return undefined;
  return out.subarray(1, 1 + length);
}

/**
 * CHAP (RFC 1994 §4.1, RFC 2865 §5.3): CHAP-Password is Ident (1) + MD5(Ident + secret + challenge).
 * The challenge is CHAP-Challenge if present, else the Request Authenticator.
 */
export function verifyChapPassword(chapPassword: Buffer, password: Buffer, challenge: Buffer): boolean {
  if (chapPassword.length !== 17) return false;
  return equal16(md5(chapPassword.subarray(0, 1), password, challenge), 0, chapPassword, 1);
}

export function computeChapPassword(ident: number, password: Buffer, challenge: Buffer): Buffer {
  const id = Buffer.from([ident & 0xff]);
  return Buffer.concat([id, md5(id, password, challenge)]);
}
