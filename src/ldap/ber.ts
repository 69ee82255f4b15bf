/**
 * A strict, bounded BER reader for LDAP's subset of it (RFC 4511 §5.1): definite lengths only,
 * single-byte tags, every length checked against its container before anything is read. Pure,
 * no I/O, no recursion. The LDAP front server frames and decodes client messages with it
 * before any other code looks at them.
 */

/** Why a byte string is not acceptable BER for LDAP (a closed set: it labels a metric). */
export type BerFailure =
  /** A length runs past the end of its container. */
  | 'truncated'
  /** RFC 4511 §5.1: "Only the definite form of length encoding is used." */
  | 'indefinite_length'
  /** A length of more than four octets: no LDAP message is that long. */
  | 'length_too_long'
  /** A tag number of 31 or more (high-tag-number form): LDAP uses none. */
  | 'high_tag'
  /** An element other than the one the grammar wants at this place. */
  | 'unexpected_tag'
  /** An INTEGER, ENUMERATED or BOOLEAN with a bad length or an out-of-range value. */
  | 'bad_value'
  /** An LDAPString that is not UTF-8 (RFC 4511 §4.1.2). */
  | 'bad_utf8'
  /** Bytes left over inside a container after its last element. */
  | 'trailing_bytes';

export class BerError extends Error {
  constructor(readonly reason: BerFailure) {
    super(`BER: ${reason}`);
    this.name = 'BerError';
  }
}

/** One tag-length-value: the value is buf[valueStart, end). */
export interface Tlv {
  tag: number;
  constructed: boolean;
  /** Offset of the tag octet. */
  start: number;
  valueStart: number;
  end: number;
}

/** Reads the TLV at `offset`, which must end at or before `limit`. */
export function readTlv(buf: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new BerError('truncated');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new BerError('high_tag');
  const first = buf[offset + 1]!;
  let p = offset + 2;
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0) throw new BerError('indefinite_length');
    if (n > 4) throw new BerError('length_too_long');
    if (p + n > limit) throw new BerError('truncated');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
  }
  if (p + length > limit) throw new BerError('truncated');
  return { tag, constructed: (tag & 0x20) !== 0, start: offset, valueStart: p, end: p + length };
}

/** The elements directly inside a constructed TLV, in order. */
export function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.valueStart;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number): Tlv {
  if (t === undefined || t.tag !== tag) throw new BerError('unexpected_tag');
  return t;
}

/**
 * A non-negative INTEGER or ENUMERATED of at most four octets (MessageID, limits and enums are
 * all 0..maxInt, RFC 4511 §4.1.1). Negative values are refused.
 */
export function readUint(buf: Buffer, t: Tlv): number {
  const n = t.end - t.valueStart;
  if (n < 1 || n > 4) throw new BerError('bad_value');
  if (buf[t.valueStart]! & 0x80) throw new BerError('bad_value');
  let v = 0;
  for (let i = t.valueStart; i < t.end; i++) v = v * 256 + buf[i]!;
  return v;
}

export function readBoolean(buf: Buffer, t: Tlv): boolean {
  if (t.end - t.valueStart !== 1) throw new BerError('bad_value');
  return buf[t.valueStart] !== 0;
}

export function readBytes(buf: Buffer, t: Tlv): Buffer {
  return buf.subarray(t.valueStart, t.end);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An LDAPString / LDAPDN / LDAPOID: UTF-8, refused when not (RFC 4511 §4.1.2). */
export function readUtf8(buf: Buffer, t: Tlv): string {
  try {
    return utf8.decode(buf.subarray(t.valueStart, t.end));
  } catch {
    throw new BerError('bad_utf8');
  }
}

/** What the first bytes of a stream say about the next LDAPMessage. */
export type FrameHead =
  | { kind: 'incomplete' }
  | { kind: 'malformed'; reason: BerFailure }
  /** `total` bytes (header included) make the message. */
  | { kind: 'frame'; total: number };

/**
 * Looks at the header of the next LDAPMessage in a stream, without needing its body: the
 * caller can refuse an oversized message before buffering it. RFC 4511 §4.1.1: an LDAPMessage
 * is a SEQUENCE (0x30).
 */
export function frameHead(buf: Buffer): FrameHead {
  if (buf.length === 0) return { kind: 'incomplete' };
  if (buf[0] !== 0x30) return { kind: 'malformed', reason: 'unexpected_tag' };
  if (buf.length < 2) return { kind: 'incomplete' };
  const first = buf[1]!;
  if (!(first & 0x80)) return { kind: 'frame', total: 2 + first };
  const n = first & 0x7f;
  if (n === 0) return { kind: 'malformed', reason: 'indefinite_length' };
  if (n > 4) return { kind: 'malformed', reason: 'length_too_long' };
  if (buf.length < 2 + n) return { kind: 'incomplete' };
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buf[2 + i]!;
  return { kind: 'frame', total: 2 + n + length };
}
