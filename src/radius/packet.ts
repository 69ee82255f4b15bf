/**
 * Wire format of a RADIUS packet (RFC 2865 §3, §5). Pure: no secrets, no I/O.
 * Attribute values are views into the datagram, so decoding copies nothing.
 */
import { isKnownCode } from './codes.js';
import { Attr, isExtendedType, isLongExtendedType } from './attribute-types.js';

export const HEADER_LENGTH = 20;
/** RFC 2865 §3: minimum length is 20, maximum 4096. */
export const MIN_PACKET_LENGTH = 20;
export const MAX_PACKET_LENGTH = 4096;
/** RFC 2865 §5: Length covers Type, Length and Value; one octet, so at most 253 value octets. */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 253;

export interface RawAttribute {
  type: number;
  value: Buffer;
}

export interface RadiusPacket {
  code: number;
  identifier: number;
  /** 16 octets: Request or Response Authenticator as received. */
  authenticator: Buffer;
  attributes: RawAttribute[];
}

/** The closed set of reasons a datagram is refused; each labels a drop metric. */
export type DecodeFailure =
  | 'packet_too_short'
  | 'packet_too_long'
  | 'length_field_invalid'
  | 'length_exceeds_datagram'
  | 'unknown_code'
  | 'attribute_header_truncated'
  | 'attribute_length_invalid'
  | 'attribute_overflows_packet'
  | 'extended_attribute_too_short';

export const DECODE_FAILURES: readonly DecodeFailure[] = [
  'packet_too_short',
  'packet_too_long',
  'length_field_invalid',
  'length_exceeds_datagram',
  'unknown_code',
  'attribute_header_truncated',
  'attribute_length_invalid',
  'attribute_overflows_packet',
  'extended_attribute_too_short',
];

export type DecodeResult = { ok: true; packet: RadiusPacket } | { ok: false; reason: DecodeFailure };

export interface DecodeOptions {
  /** RFC 7930 raises the limit for RADIUS over TLS; UDP keeps 4096. */
  maxLength?: number;
}

/**
 * Checks the header and the attribute framing without allocating; undefined when the
 * datagram is a well-formed packet. decodePacket and the wire-level rewrites share it.
 */
export function checkLayout(buf: Buffer, maxLength = MAX_PACKET_LENGTH): DecodeFailure | undefined {
  // RFC 2865 §3: shorter than the minimum length is silently discarded.
  if (buf.length < MIN_PACKET_LENGTH) return 'packet_too_short';
  const length = buf.readUInt16BE(2);
  if (length < MIN_PACKET_LENGTH) return 'length_field_invalid';
  if (length > maxLength) return 'packet_too_long';
  // RFC 2865 §3: a packet shorter than its Length field is discarded; octets past it are padding.
  if (length > buf.length) return 'length_exceeds_datagram';
  if (!isKnownCode(buf[0]!)) return 'unknown_code';
  let offset = HEADER_LENGTH;
  while (offset < length) {
    if (offset + 2 > length) return 'attribute_header_truncated';
    const type = buf[offset]!;
    const attrLength = buf[offset + 1]!;
    // RFC 2865 §5: Length includes the two header octets, so it is at least 2.
    if (attrLength < 2) return 'attribute_length_invalid';
    if (offset + attrLength > length) return 'attribute_overflows_packet';
    // RFC 6929 §2.1/§2.2: Extended-Type needs the Extended-Type octet, Long-Extended also the flags.
    if (isExtendedType(type) && attrLength < (isLongExtendedType(type) ? 4 : 3)) return 'extended_attribute_too_short';
    offset += attrLength;
  }
  return undefined;
}

export function decodePacket(buf: Buffer, opts?: DecodeOptions): DecodeResult {
  const failure = checkLayout(buf, opts?.maxLength);
  if (failure) return { ok: false, reason: failure };
  return { ok: true, packet: new WirePacket(buf) };
}

/**
 * A packet that passed checkLayout. Its attribute list is built on first use: an
 * Accounting-Request on its way to the spool, or an upstream's Accounting-Response, needs
 * a few attributes at most, and attributeOf finds them in the datagram itself (the list
 * was about a third of what such a request allocated).
 */
export class WirePacket implements RadiusPacket {
  readonly code: number;
  readonly identifier: number;
  readonly authenticator: Buffer;
  // #private: the datagram and the cache are not the packet's value (deep comparisons skip them).
  readonly #wire: Buffer;
  readonly #length: number;
  #list: RawAttribute[] | undefined;

  constructor(wire: Buffer) {
    this.code = wire[0]!;
    this.identifier = wire[1]!;
    this.authenticator = wire.subarray(4, HEADER_LENGTH);
    this.#wire = wire;
    this.#length = wire.readUInt16BE(2);
  }

  get attributes(): RawAttribute[] {
    if (this.#list) return this.#list;
    const buf = this.#wire;
    const list: RawAttribute[] = [];
    for (let offset = HEADER_LENGTH; offset < this.#length; offset += buf[offset + 1]!) {
      list.push({ type: buf[offset]!, value: buf.subarray(offset + 2, offset + buf[offset + 1]!) });
    }
    return (this.#list = list);
  }

  /** The first value of `type`, from the datagram unless the list is built already. */
  find(type: number): Buffer | undefined {
    if (this.#list) return findAttribute(this.#list, type);
    const buf = this.#wire;
    for (let offset = HEADER_LENGTH; offset < this.#length; offset += buf[offset + 1]!) {
      if (buf[offset] === type) return buf.subarray(offset + 2, offset + buf[offset + 1]!);
    }
    return undefined;
  }

  /** Every attribute of `type` in order (a new array only when there is one). */
  every(type: number): readonly RawAttribute[] {
    if (this.#list) return allOfType(this.#list, type);
    const buf = this.#wire;
    let out: RawAttribute[] | undefined;
    for (let offset = HEADER_LENGTH; offset < this.#length; offset += buf[offset + 1]!) {
      if (buf[offset] === type) (out ??= []).push({ type, value: buf.subarray(offset + 2, offset + buf[offset + 1]!) });
    }
    return out ?? NONE;
  }
}

const NONE: readonly RawAttribute[] = Object.freeze([]);

/** The first value of `type` in a packet; a decoded one is searched without building its list. */
export function attributeOf(packet: RadiusPacket, type: number): Buffer | undefined {
  return packet instanceof WirePacket ? packet.find(type) : findAttribute(packet.attributes, type);
}

/** Every attribute of `type` in a packet, in order (a new array only when there is one). */
export function attributesOf(packet: RadiusPacket, type: number): readonly RawAttribute[] {
  return packet instanceof WirePacket ? packet.every(type) : allOfType(packet.attributes, type);
}

/** The attributes of `type` in a list: NONE, without allocating, when there is none (the usual case). */
function allOfType(list: readonly RawAttribute[], type: number): readonly RawAttribute[] {
  let out: RawAttribute[] | undefined;
  for (const a of list) if (a.type === type) (out ??= []).push(a);
  return out ?? NONE;
}

/**
 * Offset of the first attribute of `type` in a packet that passed checkLayout, or -1 (also
 * on framing it would have refused). Its value is buf[offset + 2, offset + buf[offset + 1]).
 */
export function findAttributeOffset(buf: Buffer, type: number): number {
  const length = buf.readUInt16BE(2);
  for (let offset = HEADER_LENGTH; offset + 2 <= length; offset += buf[offset + 1]!) {
    if (buf[offset + 1]! < 2) return -1;
    if (buf[offset] === type) return offset;
  }
  return -1;
}

export class EncodeError extends Error {
  constructor(
    readonly code: 'AAA_ERR_ATTRIBUTE_TOO_LONG' | 'AAA_ERR_PACKET_TOO_LONG',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Lays out header and attributes. The authenticator field is written as given and a
 * Message-Authenticator is left zeroed: callers sign afterwards (see message.ts).
 */
export function encodePacket(
  packet: RadiusPacket,
  opts?: { messageAuthenticatorFirst?: boolean; maxLength?: number },
): Buffer {
  const maxLength = opts?.maxLength ?? MAX_PACKET_LENGTH;
  // RFC 3579 §3.2 allows any position; writing it first is the BlastRADIUS hardening.
  const withMac = opts?.messageAuthenticatorFirst === true;
  let length = HEADER_LENGTH + (withMac ? 18 : 0);
  for (const a of packet.attributes) if (!(withMac && a.type === Attr.MessageAuthenticator)) length += 2 + a.value.length;
  if (length > maxLength) {
    throw new EncodeError('AAA_ERR_PACKET_TOO_LONG', `packet would be ${length} octets, limit is ${maxLength}`);
  }
  const buf = Buffer.allocUnsafe(length);
  buf[0] = packet.code;
  buf[1] = packet.identifier;
  buf.writeUInt16BE(length, 2);
  packet.authenticator.copy(buf, 4, 0, 16);
  let offset = HEADER_LENGTH;
  if (withMac) {
    buf[offset] = Attr.MessageAuthenticator;
    buf[offset + 1] = 18;
    buf.fill(0, offset + 2, offset + 18);
    offset += 18;
  }
  for (const a of packet.attributes) {
    if (withMac && a.type === Attr.MessageAuthenticator) continue;
    if (a.value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
      throw new EncodeError(
        'AAA_ERR_ATTRIBUTE_TOO_LONG',
        `attribute ${a.type} has ${a.value.length} octets, limit is ${MAX_ATTRIBUTE_VALUE_LENGTH}`,
      );
    }
    buf[offset] = a.type;
    buf[offset + 1] = a.value.length + 2;
    a.value.copy(buf, offset + 2);
    offset += 2 + a.value.length;
  }
  return buf;
}

export function findAttribute(attributes: readonly RawAttribute[], type: number): Buffer | undefined {
  for (const a of attributes) if (a.type === type) return a.value;
  return undefined;
}

export function countAttribute(attributes: readonly RawAttribute[], type: number): number {
  let n = 0;
  for (const a of attributes) if (a.type === type) n++;
  return n;
}

/**
 * Splits a long value over consecutive attributes of one type, as RFC 3579 §3.1
 * (EAP-Message) and RFC 6929 "concat" attributes require.
 */
export function splitIntoAttributes(type: number, value: Buffer): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (let i = 0; i < value.length; i += MAX_ATTRIBUTE_VALUE_LENGTH) {
    out.push({ type, value: value.subarray(i, i + MAX_ATTRIBUTE_VALUE_LENGTH) });
  }
  if (out.length === 0) out.push({ type, value: Buffer.alloc(0) });
  return out;
}

/** Joins consecutive attributes of one type (EAP-Message, RFC 3579 §3.1). */
export function concatAttribute(attributes: readonly RawAttribute[], type: number): Buffer | undefined {
  const parts: Buffer[] = [];
  for (const a of attributes) if (a.type === type) parts.push(a.value);
  if (parts.length === 0) return undefined;
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
