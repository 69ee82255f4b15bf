/**
 * Between dictionary names and wire attributes: templates for configured reply attributes
 * (tags, per-hop encryption, vendor and extended envelopes) and JSON-friendly views of
 * received attributes for logs and the accounting record.
 */
import { Attr, isExtendedType, isLongExtendedType } from './attribute-types.js';
import { encryptSalted, hideUserPassword } from './crypto.js';
import type { AttributeDef, Dictionary } from './dictionary.js';
import { MAX_ATTRIBUTE_VALUE_LENGTH, type RawAttribute } from './packet.js';
import { buildVendorSpecific, decodeValue, encodeValue, parseVendorSpecific, ValueError, type AttributeValue } from './values.js';

/** A configured attribute, encoded once at config load and finished per reply. */
export interface AttributeTemplate {
  def: AttributeDef;
  /** RFC 2868 §3.1 tag (0 = none). */
  tag: number;
  /** The plain value octets, before tag and encryption. */
  data: Buffer;
}

/**
 * Resolves `Name` or `Name:tag` (FreeRADIUS notation for RFC 2868 tags) with a value.
 * Throws ValueError with a message fit for a config error.
 */
export function resolveAttribute(dict: Dictionary, nameWithTag: string, value: AttributeValue): AttributeTemplate {
  const m = /^(.+?)(?::(\d+))?$/.exec(nameWithTag)!;
  const def = dict.byAttributeName(m[1]!);
  if (!def) throw new ValueError(`unknown attribute ${m[1]}`);
  const tag = m[2] === undefined ? 0 : Number(m[2]);
  if (tag !== 0 && !def.hasTag) throw new ValueError(`${def.name} does not take a tag`);
  // RFC 2868 §3.1: tags are 0x01..0x1F.
  if (tag > 0x1f) throw new ValueError(`${def.name}: tag ${tag} is above 31`);
  if (def.vendorId < 0) throw new ValueError(`${def.name} is an extended vendor attribute, which is carried but not built`);
  if (def.type === 'tlv' || def.type === 'vsa' || def.type === 'extended' || def.type === 'long-extended') {
    throw new ValueError(`${def.name} is a container type (${def.type}) and cannot be set directly`);
  }
  // RFC 2865 §5: Type is one octet (RFC 2865 §5.26: vendor types are as wide as the vendor's field).
  // FreeRADIUS dictionaries define internal attributes above 255 (Cleartext-Password is 1100),
  // which would otherwise wrap onto a real attribute number.
  const vendor = def.vendorId > 0 ? dict.vendorById(def.vendorId) : undefined;
  const topMax = vendor ? 2 ** (8 * vendor.typeLength) - 1 : 0xff;
  if (def.path[0]! > topMax || def.path.slice(1).some((n) => n > 0xff)) {
    throw new ValueError(`${def.name} (${def.path.join('.')}) has no wire form: its number does not fit the attribute type field`);
  }
  const data = encodeValue(def, value);
  if (def.hasTag && (def.type === 'integer' || def.type === 'date') && data[0] !== 0) {
    throw new ValueError(`${def.name}: a tagged integer holds 24 bits`);
  }
  return { def, tag, data };
}

/** Finishes a template for one reply: the secret and Request Authenticator feed encryption. */
export function materialize(
  t: AttributeTemplate,
  dict: Dictionary,
  secret: Buffer,
  requestAuthenticator: Buffer,
): RawAttribute[] {
  const { def } = t;
  let value: Buffer;
  if (def.encrypt === 1) {
    value = hideUserPassword(t.data, secret, requestAuthenticator);
  } else if (def.encrypt === 2) {
    const salted = encryptSalted(t.data, secret, requestAuthenticator);
    // RFC 2868 §3.5: Tunnel-Password always has the Tag octet before the Salt.
    value = def.hasTag ? Buffer.concat([Buffer.from([t.tag]), salted]) : salted;
  } else if (def.hasTag && (def.type === 'integer' || def.type === 'date')) {
    // RFC 2868 §3.1: the tag takes the first octet of the 4-octet integer.
    value = Buffer.from(t.data);
    value[0] = t.tag;
  } else if (def.hasTag && (t.tag > 0 || (t.data.length > 0 && t.data[0]! <= 0x1f))) {
    // RFC 2868 §3.1: a first octet of 0x01..0x1F reads as a tag, so such a value gets an explicit tag octet.
    value = Buffer.concat([Buffer.from([t.tag]), t.data]);
  } else {
    value = t.data;
  }
  return wrap(def, value, dict);
}

function wrap(def: AttributeDef, value: Buffer, dict: Dictionary): RawAttribute[] {
  const [top, sub, ...deeper] = def.path as number[];
  if (deeper.length > 0) throw new ValueError(`${def.name}: nested TLV members cannot be built yet`);
  if (def.vendorId > 0) {
    const vendor = dict.vendorById(def.vendorId)!;
    return [{ type: Attr.VendorSpecific, value: buildVendorSpecific(vendor, top!, value) }];
  }
  if (sub !== undefined && isExtendedType(top!)) {
    if (isLongExtendedType(top!)) return longExtendedFragments(top!, sub, value);
    return [{ type: top!, value: Buffer.concat([Buffer.from([sub]), value]) }];
  }
  if (def.concat && value.length > MAX_ATTRIBUTE_VALUE_LENGTH) {
    const out: RawAttribute[] = [];
    for (let i = 0; i < value.length; i += MAX_ATTRIBUTE_VALUE_LENGTH) {
      out.push({ type: top!, value: value.subarray(i, i + MAX_ATTRIBUTE_VALUE_LENGTH) });
    }
    return out;
  }
  return [{ type: top!, value }];
}

/** RFC 6929 §2.2: long values are split with the More flag set on all but the last fragment. */
function longExtendedFragments(type: number, extType: number, value: Buffer): RawAttribute[] {
  const chunk = MAX_ATTRIBUTE_VALUE_LENGTH - 2;
  const out: RawAttribute[] = [];
  for (let i = 0; i === 0 || i < value.length; i += chunk) {
    const more = i + chunk < value.length ? 0x80 : 0;
    out.push({ type, value: Buffer.concat([Buffer.from([extType, more]), value.subarray(i, i + chunk)]) });
  }
  return out;
}

/** Attributes never shown in logs or records, whatever the caller asks. */
function isHidden(def: AttributeDef | undefined, type: number): boolean {
  if (type === Attr.UserPassword || type === Attr.ChapPassword || type === Attr.MessageAuthenticator) return true;
  return def !== undefined && def.encrypt !== 0;
}

type JsonValue = string | number;

function toJson(v: AttributeValue): JsonValue {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  return v;
}

function add(out: Record<string, JsonValue | JsonValue[]>, name: string, value: JsonValue): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else out[name] = [prev, value];
}

function describeOne(def: AttributeDef | undefined, raw: Buffer, fallbackName: string): [string, JsonValue] {
  if (!def) return [fallbackName, `0x${raw.toString('hex')}`];
  if (isHidden(def, def.vendorId === 0 ? def.path[0]! : -1)) return [def.name, '[hidden]'];
  if (def.hasTag && raw.length > 0 && raw[0]! <= 0x1f) {
    const tag = raw[0]!;
    const isInt = def.type === 'integer' || def.type === 'date';
    const inner = isInt ? Buffer.concat([Buffer.from([0]), raw.subarray(1)]) : raw.subarray(1);
    return [tag > 0 ? `${def.name}:${tag}` : def.name, toJson(decodeValue(def, inner))];
  }
  return [def.name, toJson(decodeValue(def, raw))];
}

/**
 * A JSON-friendly view (name -> value, repeated names become arrays). Unknown attributes
 * appear as `Attr-<type>` or `Vendor-<id>-Attr-<type>` with hex values; secrets as [hidden].
 */
export function describeAttributes(
  dict: Dictionary,
  attributes: readonly RawAttribute[],
): Record<string, JsonValue | JsonValue[]> {
  const out: Record<string, JsonValue | JsonValue[]> = {};
  for (const a of attributes) {
    if (a.type === Attr.VendorSpecific) {
      const vsa = parseVendorSpecific(a.value, (id) => dict.vendorById(id));
      if (vsa) {
        for (const va of vsa.attributes) {
          const [name, value] = describeOne(dict.byNumber(vsa.vendorId, [va.type]), va.value, `Vendor-${vsa.vendorId}-Attr-${va.type}`);
          add(out, name, value);
        }
        continue;
      }
    }
    if (isExtendedType(a.type) && a.value.length >= 1) {
      const ext = a.value[0]!;
      const data = a.value.subarray(isLongExtendedType(a.type) ? 2 : 1);
      const [name, value] = describeOne(dict.byNumber(0, [a.type, ext]), data, `Attr-${a.type}.${ext}`);
      add(out, name, value);
      continue;
    }
    const def = dict.standard(a.type);
    if (isHidden(def, a.type)) {
      add(out, def?.name ?? `Attr-${a.type}`, '[hidden]');
      continue;
    }
    const [name, value] = describeOne(def, a.value, `Attr-${a.type}`);
    add(out, name, value);
  }
  return out;
}
