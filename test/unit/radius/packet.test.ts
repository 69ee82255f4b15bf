import t from 'tap';
import { Attr } from '../../../src/radius/attribute-types.js';
import {
  attributeOf,
  attributesOf,
  DECODE_FAILURES,
  EncodeError,
  MAX_PACKET_LENGTH,
  concatAttribute,
  countAttribute,
  decodePacket,
  encodePacket,
  findAttribute,
  splitIntoAttributes,
  type DecodeFailure,
} from '../../../src/radius/packet.js';

const AUTH = Buffer.from('0f403f9473978057bd83d5cb98f4227a', 'hex');

/** A header (code 1, id 0) with the given Length field, then `body`, then `extra` octets past Length. */
function datagram(body: number[], opts: { code?: number; length?: number; extra?: number[] } = {}): Buffer {
  const length = opts.length ?? 20 + body.length;
  const b = Buffer.concat([Buffer.from([opts.code ?? 1, 0, length >> 8, length & 0xff]), AUTH, Buffer.from(body), Buffer.from(opts.extra ?? [])]);
  return b;
}

t.test('malformed datagrams are refused with a typed reason, never a throw', (t) => {
  const cases: Array<[string, Buffer, DecodeFailure]> = [
    ['empty', Buffer.alloc(0), 'packet_too_short'],
    ['19 octets', Buffer.alloc(19, 1), 'packet_too_short'],
    ['Length field 19', datagram([], { length: 19 }), 'length_field_invalid'],
    ['Length field 0', datagram([], { length: 0 }), 'length_field_invalid'],
    ['Length field 4097', datagram([], { length: 4097, extra: new Array<number>(4077).fill(0) }), 'packet_too_long'],
    ['Length field 65535', datagram([], { length: 0xffff }), 'packet_too_long'],
    ['Length beyond the datagram', datagram([1, 3, 0x41], { length: 30 }), 'length_exceeds_datagram'],
    ['unknown code 0', datagram([], { code: 0 }), 'unknown_code'],
    ['unknown code 6', datagram([], { code: 6 }), 'unknown_code'],
    ['unknown code 255', datagram([], { code: 255 }), 'unknown_code'],
    ['attribute length 0', datagram([1, 0, 0x41, 0x41]), 'attribute_length_invalid'],
    ['attribute length 1', datagram([1, 1, 0x41, 0x41]), 'attribute_length_invalid'],
    ['attribute overflowing the packet', datagram([1, 6, 0x41, 0x41]), 'attribute_overflows_packet'],
    ['second attribute overflowing', datagram([1, 3, 0x41, 18, 10, 0x41]), 'attribute_overflows_packet'],
    // Overflowing Length although the datagram has the octets: Length decides (RFC 2865 §3).
    ['attribute overflowing Length into padding', datagram([1, 5, 0x41], { extra: [0x42, 0x43] }), 'attribute_overflows_packet'],
    ['truncated attribute header', datagram([1, 3, 0x41, 18]), 'attribute_header_truncated'],
    // RFC 6929 §2.1: Extended-Type attributes carry at least the Extended-Type octet.
    ['extended 241 of length 2', datagram([241, 2]), 'extended_attribute_too_short'],
    ['extended 244 of length 2', datagram([244, 2]), 'extended_attribute_too_short'],
    // RFC 6929 §2.2: Long-Extended-Type attributes also carry the flags octet.
    ['long-extended 245 of length 3', datagram([245, 3, 1]), 'extended_attribute_too_short'],
    ['long-extended 246 of length 2', datagram([246, 2]), 'extended_attribute_too_short'],
  ];
  const seen = new Set<DecodeFailure>();
  for (const [name, buf, reason] of cases) {
    let r: ReturnType<typeof decodePacket> | undefined;
    t.doesNotThrow(() => (r = decodePacket(buf)), `${name}: no throw`);
    t.same(r, { ok: false, reason }, `${name}: ${reason}`);
    seen.add(reason);
  }
  t.same([...seen].sort(), [...DECODE_FAILURES].sort(), 'every DecodeFailure is exercised');
  t.end();
});

t.test('limits that are allowed', (t) => {
  const min = decodePacket(datagram([]));
  t.ok(min.ok, 'a bare 20-octet header decodes');
  // RFC 2865 §3: maximum length is 4096.
  const body: number[] = [];
  let left = MAX_PACKET_LENGTH - 20;
  while (left > 0) {
    const n = Math.min(255, left);
    body.push(26, n, ...new Array<number>(n - 2).fill(0x61));
    left -= n;
  }
  const max = decodePacket(datagram(body));
  t.ok(max.ok, 'a 4096-octet packet decodes');
  // RFC 7930 raises the limit for RADIUS over TCP/TLS; the caller passes it in.
  const bigBody: number[] = [];
  for (let i = 0; i < 20; i++) bigBody.push(26, 250, ...new Array<number>(248).fill(0x62));
  const big = datagram(bigBody);
  t.equal(big.length, 5020);
  t.same(decodePacket(big), { ok: false, reason: 'packet_too_long' });
  t.ok(decodePacket(big, { maxLength: 65535 }).ok, 'decodes under a larger maxLength');
  // Zero-length values (attribute Length 2) are legal on the wire.
  const empty = decodePacket(datagram([1, 2]));
  t.ok(empty.ok && empty.packet.attributes[0]!.value.length === 0);
  t.ok(decodePacket(datagram([241, 3, 1])).ok, 'extended with only the Extended-Type octet');
  t.ok(decodePacket(datagram([245, 4, 1, 0])).ok, 'long-extended with type and flags');
  t.end();
});

t.test('octets past Length are padding and are ignored (RFC 2865 §3)', (t) => {
  const body = [1, 6, 0x6e, 0x65, 0x6d, 0x6f];
  const exact = datagram(body);
  const padded = datagram(body, { extra: [0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0] });
  const a = decodePacket(exact);
  const b = decodePacket(padded);
  t.ok(a.ok && b.ok);
  if (!a.ok || !b.ok) return t.end();
  t.same(b.packet, a.packet, 'same header');
  t.same(b.packet.attributes, a.packet.attributes, 'same attributes');
  t.equal(encodePacket(b.packet).toString('hex'), exact.toString('hex'), 're-encodes without the padding');
  // Padding that would not parse as attributes is still ignored.
  t.ok(decodePacket(datagram(body, { extra: [1, 0, 1] })).ok);
  t.end();
});

t.test('unknown, vendor-specific, extended and long-extended attributes survive decode -> encode', (t) => {
  const vsaUnknownVendor = [26, 12, 0x00, 0x01, 0x02, 0x03, 7, 6, 0xaa, 0xbb, 0xcc, 0xdd];
  const vsaMalformed = [26, 7, 0x00, 0x00, 0x01, 0x37, 0xff]; // Microsoft, vendor attribute cut short
  const unknownType = [199, 5, 1, 2, 3];
  const reserved = [17, 2]; // type 17 is unassigned in RFC 2865
  const extended = [241, 7, 1, 0, 0, 0, 4]; // 241.1 Frag-Status = 4
  const extendedUnknown = [243, 5, 200, 0x10, 0x20];
  const longFirst = [245, 10, 26, 0x80, 0x00, 0x00, 0x00, 0x09, 1, 2];
  const longLast = [245, 6, 26, 0x00, 3, 4];
  const evs = [241, 12, 26, 0x00, 0x00, 0x00, 0x09, 5, 0x61, 0x62, 0x63, 0x64];
  const body = [
    ...[1, 6, 0x6e, 0x65, 0x6d, 0x6f],
    ...vsaUnknownVendor,
    ...vsaMalformed,
    ...unknownType,
    ...reserved,
    ...extended,
    ...extendedUnknown,
    ...longFirst,
    ...longLast,
    ...evs,
  ];
  for (const code of [1, 2, 4, 11, 43]) {
    const buf = datagram(body, { code });
    const r = decodePacket(buf);
    t.ok(r.ok, `code ${code} decodes`);
    if (!r.ok) continue;
    t.equal(r.packet.attributes.length, 10);
    t.equal(r.packet.code, code);
    t.equal(r.packet.identifier, 0);
    t.equal(r.packet.authenticator.toString('hex'), AUTH.toString('hex'));
    t.equal(encodePacket(r.packet).toString('hex'), buf.toString('hex'), `code ${code} re-encodes byte for byte`);
  }
  t.end();
});

t.test('encodePacket limits and Message-Authenticator placement', (t) => {
  t.throws(() => encodePacket({ code: 1, identifier: 0, authenticator: AUTH, attributes: [{ type: 1, value: Buffer.alloc(254) }] }), {
    code: 'AAA_ERR_ATTRIBUTE_TOO_LONG',
  });
  t.ok(encodePacket({ code: 1, identifier: 0, authenticator: AUTH, attributes: [{ type: 1, value: Buffer.alloc(253) }] }));
  const many = Array.from({ length: 17 }, () => ({ type: 26, value: Buffer.alloc(253) }));
  try {
    encodePacket({ code: 2, identifier: 0, authenticator: AUTH, attributes: many });
    t.fail('expected EncodeError');
  } catch (err) {
    t.ok(err instanceof EncodeError);
    t.equal((err as EncodeError).code, 'AAA_ERR_PACKET_TOO_LONG');
  }
  const withMac = encodePacket(
    { code: 2, identifier: 5, authenticator: AUTH, attributes: [{ type: 18, value: Buffer.from('hi') }, { type: 80, value: Buffer.alloc(16, 0xff) }] },
    { messageAuthenticatorFirst: true },
  );
  t.equal(withMac.length, 20 + 18 + 4, 'the given Message-Authenticator is replaced, not duplicated');
  t.equal(withMac[20], 80);
  t.equal(withMac[21], 18);
  t.equal(withMac.subarray(22, 38).toString('hex'), '00'.repeat(16), 'left zeroed for signing');
  t.equal(withMac.readUInt16BE(2), withMac.length);
  t.end();
});

t.test('attribute helpers', (t) => {
  const long = Buffer.alloc(600, 0x5a);
  const parts = splitIntoAttributes(79, long);
  t.same(parts.map((p) => p.value.length), [253, 253, 94]);
  t.equal(concatAttribute(parts, 79)!.toString('hex'), long.toString('hex'));
  t.equal(countAttribute(parts, 79), 3);
  t.equal(findAttribute(parts, 79)!.length, 253);
  t.equal(findAttribute(parts, 1), undefined);
  t.equal(concatAttribute(parts, 1), undefined);
  t.same(splitIntoAttributes(79, Buffer.alloc(0)).map((p) => p.value.length), [0]);
  t.end();
});

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('5000 random datagrams never make decodePacket throw', (t) => {
  const seed = 0x5eed2865;
  const rand = prng(seed);
  const codes = [1, 2, 3, 4, 5, 11, 12, 13, 40, 41, 42, 43, 44, 45];
  let decoded = 0;
  const reasons = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    const size = Math.floor(rand() * 300);
    const buf = Buffer.alloc(size);
    for (let j = 0; j < size; j++) buf[j] = Math.floor(rand() * 256);
    // Most of the time, make the header plausible so that the attribute walk is reached.
    if (size >= 20 && rand() < 0.8) {
      buf[0] = codes[Math.floor(rand() * codes.length)]!;
      const length = rand() < 0.7 ? size - Math.floor(rand() * 4) : Math.floor(rand() * 0x1100);
      buf.writeUInt16BE(Math.max(0, length), 2);
      // And sometimes lay out well-formed attributes, with an occasional broken one.
      if (rand() < 0.5) {
        let off = 20;
        while (off + 2 <= size) {
          const type = rand() < 0.2 ? 241 + Math.floor(rand() * 6) : Math.floor(rand() * 256);
          const len = rand() < 0.9 ? 2 + Math.floor(rand() * Math.min(40, size - off - 1)) : Math.floor(rand() * 4);
          buf[off] = type;
          buf[off + 1] = len;
          off += Math.max(len, 2);
        }
      }
    }
    let r: ReturnType<typeof decodePacket>;
    try {
      r = decodePacket(buf);
    } catch (err) {
      t.fail(`seed ${seed} iteration ${i} threw ${(err as Error).message} on ${buf.toString('hex')}`);
      break;
    }
    if (r.ok) {
      decoded++;
      // A packet that decodes re-encodes to its first Length octets.
      const length = buf.readUInt16BE(2);
      if (!encodePacket(r.packet).equals(buf.subarray(0, length))) {
        t.fail(`iteration ${i}: re-encode differs for ${buf.toString('hex')}`);
        break;
      }
    } else {
      reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    }
  }
  t.ok(decoded > 100, `${decoded} of 5000 decoded`);
  t.ok(reasons.size >= 7, `refusal reasons seen: ${[...reasons].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  t.end();
});

t.test('a decoded packet finds attributes in the datagram as in its list', (t) => {
  const proxyState = (v: number) => [Attr.ProxyState, 3, v];
  const wire = datagram([...proxyState(1), 1, 6, 0x6e, 0x65, 0x6d, 0x6f, ...proxyState(2), 40, 6, 0, 0, 0, 1]);
  for (const listFirst of [false, true]) {
    const d = decodePacket(wire);
    if (!d.ok) return t.fail('decodes');
    if (listFirst) t.equal(d.packet.attributes.length, 4);
    t.equal(attributeOf(d.packet, Attr.UserName)?.toString(), 'nemo');
    t.same(attributeOf(d.packet, Attr.ProxyState), Buffer.from([1]), 'the first of two');
    t.equal(attributeOf(d.packet, Attr.State), undefined);
    t.same(attributesOf(d.packet, Attr.ProxyState), [{ type: Attr.ProxyState, value: Buffer.from([1]) }, { type: Attr.ProxyState, value: Buffer.from([2]) }], 'both, in order');
    t.same(attributesOf(d.packet, Attr.State), []);
  }
  // A packet built in code (not decoded) is searched through its list.
  const built = { code: 1, identifier: 0, authenticator: Buffer.alloc(16), attributes: [{ type: Attr.UserName, value: Buffer.from('x') }] };
  t.equal(attributeOf(built, Attr.UserName)?.toString(), 'x');
  t.same(attributesOf(built, Attr.ProxyState), []);
  t.end();
});
