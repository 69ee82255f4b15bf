/**
 * Per-hop rewriting for proxied packets (each hop has its own secret). Pure functions over
 * attribute lists; the caller encodes and signs.
 *
 * Request (NAS -> upstream): User-Password re-hidden with the upstream secret and our new
 * Request Authenticator (RFC 2865 §5.2); CHAP-Challenge added when the NAS used its Request
 * Authenticator as the challenge (RFC 2865 §5.3); the NAS's Message-Authenticator dropped
 * (we sign our own, RFC 3579 §3.2); our Proxy-State appended after the NAS's (RFC 2865 §5.33).
 *
 * Reply (upstream -> NAS): every Proxy-State removed (the front echoes the NAS's own from
 * the request), Message-Authenticator removed (re-signed for the NAS), and attributes the
 * dictionary marks encrypted (Tunnel-Password, MS-MPPE-Send/Recv-Key, ...) decrypted with
 * the upstream secret and our authenticator, then encrypted again for the NAS (RFC 2868
 * §3.5, RFC 2548 §2.4.2).
 */
import { Attr } from '../radius/attribute-types.js';
import { decryptSalted, encryptSalted, hideUserPassword, revealUserPassword } from '../radius/crypto.js';
import type { Dictionary } from '../radius/dictionary.js';
import type { RawAttribute } from '../radius/packet.js';
import { buildVendorSpecific, parseVendorSpecific } from '../radius/values.js';

export interface HopKeys {
  /** The secret and Request Authenticator on the side a value comes from... */
  fromSecret: Buffer;
  fromAuthenticator: Buffer;
  /** ...and on the side it goes to. */
  toSecret: Buffer;
  toAuthenticator: Buffer;
}

export class RewriteError extends Error {
  constructor(
    readonly code: 'AAA_ERR_BAD_USER_PASSWORD' | 'AAA_ERR_BAD_ENCRYPTED_ATTRIBUTE',
    message: string,
  ) {
    super(message);
  }
}

export interface RequestRewriteOptions {
  /** Replaces User-Name (realm stripping). */
  userName?: Buffer | undefined;
  /** Our Proxy-State value for this hop. */
  proxyState: Buffer;
  /** Overrides, off unless configured: a proxy normally passes the NAS's own. */
  nasIdentifier?: Buffer | undefined;
  nasIpAddress?: Buffer | undefined;
}

export function rewriteAccessRequest(nas: readonly RawAttribute[], keys: HopKeys, opts: RequestRewriteOptions): RawAttribute[] {
  const out: RawAttribute[] = [];
  let chap = false;
  let chapChallenge = false;
  for (const a of nas) {
    switch (a.type) {
      case Attr.MessageAuthenticator:
        continue;
      case Attr.UserPassword: {
        const plain = revealUserPassword(a.value, keys.fromSecret, keys.fromAuthenticator);
        if (!plain) throw new RewriteError('AAA_ERR_BAD_USER_PASSWORD', 'User-Password length is not 16..128 in steps of 16');
        out.push({ type: a.type, value: hideUserPassword(plain, keys.toSecret, keys.toAuthenticator) });
        continue;
      }
      case Attr.UserName:
        out.push(opts.userName ? { type: a.type, value: opts.userName } : a);
        continue;
      case Attr.NasIdentifier:
        if (opts.nasIdentifier) continue;
        break;
      case Attr.NasIpAddress:
        if (opts.nasIpAddress) continue;
        break;
      case Attr.ChapPassword:
        chap = true;
        break;
      case Attr.ChapChallenge:
        chapChallenge = true;
        break;
    }
    out.push(a);
  }
  // RFC 2865 §5.3: without CHAP-Challenge the challenge is the Request Authenticator, which differs on our hop.
  if (chap && !chapChallenge) out.push({ type: Attr.ChapChallenge, value: keys.fromAuthenticator });
  if (opts.nasIdentifier) out.push({ type: Attr.NasIdentifier, value: opts.nasIdentifier });
  if (opts.nasIpAddress) out.push({ type: Attr.NasIpAddress, value: opts.nasIpAddress });
  out.push({ type: Attr.ProxyState, value: opts.proxyState });
  return out;
}

/** Which attributes are encrypted, looked up once per dictionary. */
interface EncryptInfo {
  encrypt: number;
  tagged: boolean;
}

export class EncryptedAttributes {
  private readonly standard = new Map<number, EncryptInfo>();
  /** Filled lazily, only for vendors the dictionary knows (so its size is bounded). */
  private readonly vendor = new Map<number, Map<number, EncryptInfo | null>>();

  constructor(private readonly dict: Dictionary) {
    for (let type = 1; type < 256; type++) {
      const def = dict.standard(type);
      if (def && (def.encrypt === 1 || def.encrypt === 2)) this.standard.set(type, { encrypt: def.encrypt, tagged: def.hasTag });
    }
  }

  standardType(type: number): EncryptInfo | undefined {
    return this.standard.get(type);
  }

  vendorType(vendorId: number, type: number): EncryptInfo | undefined {
    let byType = this.vendor.get(vendorId);
    if (!byType) {
      byType = new Map();
      this.vendor.set(vendorId, byType);
    }
    if (!byType.has(type)) {
      const def = this.dict.byNumber(vendorId, [type]);
      byType.set(type, def && (def.encrypt === 1 || def.encrypt === 2) ? { encrypt: def.encrypt, tagged: def.hasTag } : null);
    }
    return byType.get(type) ?? undefined;
  }

  get dictionary(): Dictionary {
    return this.dict;
  }
}

function reencrypt(value: Buffer, how: EncryptInfo, keys: HopKeys, name: string): Buffer {
  const tagged = how.tagged && how.encrypt === 2;
  const body = tagged ? value.subarray(1) : value;
  let plain: Buffer | undefined;
  let out: Buffer;
  if (how.encrypt === 2) {
    plain = decryptSalted(body, keys.fromSecret, keys.fromAuthenticator);
    if (!plain) throw new RewriteError('AAA_ERR_BAD_ENCRYPTED_ATTRIBUTE', `${name} does not decrypt`);
    out = encryptSalted(plain, keys.toSecret, keys.toAuthenticator);
  } else {
    plain = revealUserPassword(body, keys.fromSecret, keys.fromAuthenticator);
    if (!plain) throw new RewriteError('AAA_ERR_BAD_ENCRYPTED_ATTRIBUTE', `${name} does not decrypt`);
    out = hideUserPassword(plain, keys.toSecret, keys.toAuthenticator);
  }
  return tagged ? Buffer.concat([value.subarray(0, 1), out]) : out;
}

export function rewriteReply(upstream: readonly RawAttribute[], keys: HopKeys, encrypted: EncryptedAttributes): RawAttribute[] {
  const out: RawAttribute[] = [];
  for (const a of upstream) {
    if (a.type === Attr.ProxyState || a.type === Attr.MessageAuthenticator) continue;
    if (a.type === Attr.VendorSpecific) {
      out.push(rewriteVendorSpecific(a, keys, encrypted));
      continue;
    }
    const how = encrypted.standardType(a.type);
    out.push(how ? { type: a.type, value: reencrypt(a.value, how, keys, `attribute ${a.type}`) } : a);
  }
  return out;
}

function rewriteVendorSpecific(a: RawAttribute, keys: HopKeys, encrypted: EncryptedAttributes): RawAttribute {
  const dict = encrypted.dictionary;
  const vsa = parseVendorSpecific(a.value, (id) => dict.vendorById(id));
  if (!vsa) return a;
  let changed = false;
  const parts: Buffer[] = [];
  const vendor = dict.vendorById(vsa.vendorId);
  for (const sub of vsa.attributes) {
    const how = vendor ? encrypted.vendorType(vsa.vendorId, sub.type) : undefined;
    if (!how || !vendor) {
      parts.push(buildVendorSpecific(vendor ?? { name: '', id: vsa.vendorId, typeLength: 1, lengthLength: 1 }, sub.type, sub.value).subarray(4));
      continue;
    }
    changed = true;
    parts.push(buildVendorSpecific(vendor, sub.type, reencrypt(sub.value, how, keys, `vendor ${vsa.vendorId} attribute ${sub.type}`)).subarray(4));
  }
  if (!changed) return a;
  return { type: Attr.VendorSpecific, value: Buffer.concat([a.value.subarray(0, 4), ...parts]) };
}
