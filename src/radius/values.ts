/**
 * Typed attribute values (RFC 8044 data types) to and from wire octets, and the
 * Vendor-Specific envelope (RFC 2865 §5.26). Pure.
 */
import type { AttributeDef, DataType, VendorDef } from './dictionary.js';

export type AttributeValue = string | number | bigint | Buffer;

export class ValueError extends Error {
  readonly code = 'AAA_ERR_ATTRIBUTE_VALUE';
}

export function ipv4ToBuffer(text: string): Buffer | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    if (!/^\d{1,3}$/.test(parts[i]!) || Number(parts[i]) > 255) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

export function ipv6ToBuffer(text: string): Buffer | undefined {
  const halves = text.split('::');
  // RFC 4291 §2.2: "::" appears at most once and stands for one or more zero groups.
  if (halves.length > 2) return undefined;
  const [head, tail] = halves as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  if (tail === undefined && h.length !== 8) return undefined;
  if (tail !== undefined && h.length + t.length > 7) return undefined;
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function bufferToIpv6(buf: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups (RFC 5952 §4.2).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function hex(buf: Buffer): string {
  return `0x${buf.toString('hex')}`;
}

function fromHex(text: string): Buffer | undefined {
  if (!/^0x([0-9a-f]{2})*$/i.test(text)) return undefined;
  return Buffer.from(text.slice(2), 'hex');
}

/** Decodes a value for display and logs; malformed lengths fall back to hex. */
export function decodeValue(def: AttributeDef, raw: Buffer): AttributeValue {
  const type: DataType = def.type;
  switch (type) {
    case 'string':
      // Text when it is printable UTF-8, hex otherwise (RFC 8044 §3.5 "string" may be binary).
      return isPrintableUtf8(raw) ? raw.toString('utf8') : hex(raw);
    case 'integer':
    case 'date':
      if (raw.length !== 4) return hex(raw);
      return enumName(def, raw.readUInt32BE(0));
    case 'signed':
      return raw.length === 4 ? raw.readInt32BE(0) : hex(raw);
    case 'byte':
      return raw.length === 1 ? enumName(def, raw[0]!) : hex(raw);
    case 'short':
      return raw.length === 2 ? enumName(def, raw.readUInt16BE(0)) : hex(raw);
    case 'integer64':
      return raw.length === 8 ? raw.readBigUInt64BE(0) : hex(raw);
    case 'ipaddr':
      return raw.length === 4 ? `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}` : hex(raw);
    case 'ipv6addr':
      return raw.length === 16 ? bufferToIpv6(raw) : hex(raw);
    case 'combo-ip':
      if (raw.length === 4) return `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`;
      return raw.length === 16 ? bufferToIpv6(raw) : hex(raw);
    case 'ipv6prefix': {
      // RFC 3162 §2.3: reserved, prefix-length, prefix (0..16 octets).
      if (raw.length < 2 || raw.length > 18 || raw[1]! > 128) return hex(raw);
      const addr = Buffer.alloc(16);
      raw.copy(addr, 0, 2);
      return `${bufferToIpv6(addr)}/${raw[1]}`;
    }
    case 'ipv4prefix':
      // RFC 6572 §4.1: reserved, prefix-length, 4 octets.
      if (raw.length !== 6 || raw[1]! > 32) return hex(raw);
      return `${raw[2]}.${raw[3]}.${raw[4]}.${raw[5]}/${raw[1]}`;
    case 'ether':
      return raw.length === 6 ? [...raw].map((b) => b.toString(16).padStart(2, '0')).join(':') : hex(raw);
    default:
      return hex(raw);
  }
}

function enumName(def: AttributeDef, n: number): string | number {
  return def.valueNames.get(n) ?? n;
}

function isPrintableUtf8(buf: Buffer): boolean {
  for (const b of buf) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  return Buffer.from(buf.toString('utf8'), 'utf8').equals(buf);
}

function toInteger(def: AttributeDef, value: AttributeValue, max: number): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\d+$/.test(value)) n = Number(value);
  else if (typeof value === 'string' && def.values.has(value.toLowerCase())) n = def.values.get(value.toLowerCase())!;
  else throw new ValueError(`${def.name}: ${String(value)} is not a number or a known value name`);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ValueError(`${def.name}: ${n} is out of range 0..${max}`);
  return n;
}

/** Encodes a configured value (a YAML scalar) to wire octets for this attribute's type. */
export function encodeValue(def: AttributeDef, value: AttributeValue): Buffer {
  if (Buffer.isBuffer(value)) return value;
  const fail = (what: string): never => {
    throw new ValueError(`${def.name}: ${String(value)} is not ${what}`);
  };
  switch (def.type) {
    case 'string':
      return typeof value === 'string' ? (fromHex(value) ?? Buffer.from(value, 'utf8')) : Buffer.from(String(value), 'utf8');
    case 'octets':
    case 'abinary':
    case 'tlv':
    case 'vsa':
    case 'evs':
    case 'extended':
    case 'long-extended':
      return (typeof value === 'string' ? fromHex(value) : undefined) ?? fail('hex octets (0x...)');
    case 'integer':
    case 'date': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(toInteger(def, value, 0xffffffff));
      return b;
    }
    case 'signed': {
      const n = Number(value);
      if (!Number.isInteger(n) || n < -0x80000000 || n > 0x7fffffff) fail('a signed 32-bit integer');
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    }
    case 'byte':
      return Buffer.from([toInteger(def, value, 0xff)]);
    case 'short': {
      const b = Buffer.alloc(2);
      b.writeUInt16BE(toInteger(def, value, 0xffff));
      return b;
    }
    case 'integer64': {
      const b = Buffer.alloc(8);
      try {
        b.writeBigUInt64BE(BigInt(value as string | number | bigint));
      } catch {
        fail('an unsigned 64-bit integer');
      }
      return b;
    }
    case 'ipaddr':
      return ipv4ToBuffer(String(value)) ?? fail('an IPv4 address');
    case 'ipv6addr':
      return ipv6ToBuffer(String(value)) ?? fail('an IPv6 address');
    case 'combo-ip':
      return ipv4ToBuffer(String(value)) ?? ipv6ToBuffer(String(value)) ?? fail('an IP address');
    case 'ipv6prefix': {
      const [addr, len] = String(value).split('/');
      const a = ipv6ToBuffer(addr ?? '');
      const l = Number(len);
      if (!a || !Number.isInteger(l) || l < 0 || l > 128) fail('an IPv6 prefix');
      const octets = Math.ceil(l / 8);
      return Buffer.concat([Buffer.from([0, l]), a!.subarray(0, octets)]);
    }
    case 'ipv4prefix': {
      const [addr, len] = String(value).split('/');
      const a = ipv4ToBuffer(addr ?? '');
      const l = Number(len);
      if (!a || !Number.isInteger(l) || l < 0 || l > 32) fail('an IPv4 prefix');
      return Buffer.concat([Buffer.from([0, l]), a!]);
    }
    case 'ifid':
      return (typeof value === 'string' ? fromHex(value) : undefined)?.length === 8 ? fromHex(value as string)! : fail('8 octets (0x...)');
    case 'ether': {
      const m = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})$/i.exec(String(value));
      return m ? Buffer.from(m.slice(1).join(''), 'hex') : fail('a MAC address');
    }
  }
}

/** One attribute inside a Vendor-Specific attribute. */
export interface VendorAttribute {
  type: number;
  value: Buffer;
}

/**
 * Splits a Vendor-Specific value (RFC 2865 §5.26: Vendor-Id, then vendor attributes in the
 * vendor's type/length format). Undefined when the layout does not parse; such a VSA is
 * still carried intact as raw octets.
 */
export function parseVendorSpecific(
  value: Buffer,
  vendorOf: (id: number) => VendorDef | undefined,
): { vendorId: number; attributes: VendorAttribute[] } | undefined {
  if (value.length < 4) return undefined;
  const vendorId = value.readUInt32BE(0);
  const vendor = vendorOf(vendorId);
  const t = vendor?.typeLength ?? 1;
  const l = vendor?.lengthLength ?? 1;
  const attributes: VendorAttribute[] = [];
  let offset = 4;
  while (offset < value.length) {
    if (offset + t + l > value.length) return undefined;
    const type = t === 1 ? value[offset]! : t === 2 ? value.readUInt16BE(offset) : value.readUInt32BE(offset);
    let length: number;
    if (l === 0) length = value.length - offset;
    else length = l === 1 ? value[offset + t]! : value.readUInt16BE(offset + t);
    if (length < t + l || offset + length > value.length) return undefined;
    attributes.push({ type, value: value.subarray(offset + t + l, offset + length) });
    offset += length;
  }
  return { vendorId, attributes };
}

export function buildVendorSpecific(vendor: VendorDef, type: number, data: Buffer): Buffer {
  const t = vendor.typeLength;
  const l = vendor.lengthLength;
  const out = Buffer.alloc(4 + t + l + data.length);
  out.writeUInt32BE(vendor.id, 0);
  if (t === 1) out[4] = type;
  else if (t === 2) out.writeUInt16BE(type, 4);
  else out.writeUInt32BE(type, 4);
  if (l === 1) out[4 + t] = t + l + data.length;
  else if (l === 2) out.writeUInt16BE(t + l + data.length, 4 + t);
  data.copy(out, 4 + t + l);
  return out;
}
