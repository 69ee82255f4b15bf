import t from 'tap';
import { Attr } from '../../../src/radius/attribute-types.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import { decryptSalted, encryptSalted, hideUserPassword, revealUserPassword } from '../../../src/radius/crypto.js';
import type { RawAttribute } from '../../../src/radius/packet.js';
import { buildVendorSpecific, parseVendorSpecific } from '../../../src/radius/values.js';
import {
  EncryptedAttributes,
  RewriteError,
  rewriteAccessRequest,
  rewriteReply,
  type HopKeys,
} from '../../../src/proxy/rewrite.js';

const dict = loadDictionary([]);
const encrypted = new EncryptedAttributes(dict);
const microsoft = dict.vendorById(311)!;

const SECRET_A = Buffer.from('nas-secret-A');
const SECRET_B = Buffer.from('upstream-secret-B, rather longer than sixteen octets');
const RA = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const RB = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
const OUR_PROXY_STATE = Buffer.from('ours-0001');

/** NAS side (A, RA) towards the upstream (B, RB). */
const REQUEST_KEYS: HopKeys = { fromSecret: SECRET_A, fromAuthenticator: RA, toSecret: SECRET_B, toAuthenticator: RB };
/** Upstream reply (B, RB) back towards the NAS (A, RA). */
const REPLY_KEYS: HopKeys = { fromSecret: SECRET_B, fromAuthenticator: RB, toSecret: SECRET_A, toAuthenticator: RA };

const str = (s: string): Buffer => Buffer.from(s, 'utf8');
const values = (attrs: readonly RawAttribute[], type: number): Buffer[] => attrs.filter((a) => a.type === type).map((a) => a.value);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Non-zero octets, so trailing-NUL stripping on reveal cannot hide a difference. */
function password(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = 0x21 + ((i * 7) % 90);
  return b;
}

function vsa(...subs: [number, Buffer][]): RawAttribute {
  const parts = subs.map(([type, data]) => buildVendorSpecific(microsoft, type, data).subarray(4));
  return { type: Attr.VendorSpecific, value: Buffer.concat([buildVendorSpecific(microsoft, 0, Buffer.alloc(0)).subarray(0, 4), ...parts]) };
}

t.test('User-Password is re-hidden under the upstream secret and our authenticator (RFC 2865 §5.2)', async (t) => {
  for (const length of [1, 16, 17, 128]) {
    const plain = password(length);
    const nas: RawAttribute[] = [
      { type: Attr.UserName, value: str('alice') },
      { type: Attr.UserPassword, value: hideUserPassword(plain, SECRET_A, RA) },
    ];
    const out = rewriteAccessRequest(nas, REQUEST_KEYS, { proxyState: OUR_PROXY_STATE });
    const hidden = values(out, Attr.UserPassword);
    t.equal(hidden.length, 1, `${length}: one User-Password`);
    t.equal(hidden[0]!.length, Math.max(16, Math.ceil(length / 16) * 16), `${length}: padded to a multiple of 16`);
    t.same(revealUserPassword(hidden[0]!, SECRET_B, RB), plain, `${length}: reveals under (B, RB)`);
    t.notSame(revealUserPassword(hidden[0]!, SECRET_A, RA), plain, `${length}: no longer under (A, RA)`);
    t.same(out[0], nas[0], `${length}: other attributes untouched`);
  }
});

t.test('a malformed User-Password throws RewriteError', async (t) => {
  for (const length of [0, 15, 17, 144]) {
    const nas: RawAttribute[] = [{ type: Attr.UserPassword, value: Buffer.alloc(length, 0x41) }];
    const err = thrown(() => rewriteAccessRequest(nas, REQUEST_KEYS, { proxyState: OUR_PROXY_STATE }));
    t.ok(err instanceof RewriteError, `length ${length}: RewriteError`);
    t.equal((err as RewriteError).code, 'AAA_ERR_BAD_USER_PASSWORD');
  }
});

t.test('CHAP without CHAP-Challenge gets the NAS Request Authenticator as challenge (RFC 2865 §5.3)', async (t) => {
  const chap = Buffer.concat([Buffer.from([7]), Buffer.alloc(16, 0x5a)]);
  const out = rewriteAccessRequest(
    [
      { type: Attr.UserName, value: str('bob') },
      { type: Attr.ChapPassword, value: chap },
    ],
    REQUEST_KEYS,
    { proxyState: OUR_PROXY_STATE },
  );
  t.same(values(out, Attr.ChapPassword), [chap], 'CHAP-Password passes unchanged');
  t.same(values(out, Attr.ChapChallenge), [RA], 'CHAP-Challenge = RA');
  t.notOk(values(out, Attr.ChapChallenge)[0]!.equals(RB));

  const challenge = Buffer.from('a challenge of its own');
  const withChallenge = rewriteAccessRequest(
    [
      { type: Attr.ChapChallenge, value: challenge },
      { type: Attr.ChapPassword, value: chap },
    ],
    REQUEST_KEYS,
    { proxyState: OUR_PROXY_STATE },
  );
  t.same(values(withChallenge, Attr.ChapChallenge), [challenge], 'not added when present');

  const pap = rewriteAccessRequest([{ type: Attr.UserName, value: str('bob') }], REQUEST_KEYS, { proxyState: OUR_PROXY_STATE });
  t.same(values(pap, Attr.ChapChallenge), [], 'not added without CHAP-Password');
});

t.test('Message-Authenticator is removed, Proxy-State kept in order with ours last (RFC 2865 §5.33)', async (t) => {
  const nas: RawAttribute[] = [
    { type: Attr.MessageAuthenticator, value: Buffer.alloc(16, 1) },
    { type: Attr.ProxyState, value: str('first') },
    { type: Attr.UserName, value: str('carol') },
    { type: Attr.ProxyState, value: str('second') },
    { type: Attr.NasPort, value: Buffer.from([0, 0, 0, 7]) },
  ];
  const out = rewriteAccessRequest(nas, REQUEST_KEYS, { proxyState: OUR_PROXY_STATE });
  t.same(values(out, Attr.MessageAuthenticator), []);
  t.same(values(out, Attr.ProxyState), [str('first'), str('second'), OUR_PROXY_STATE]);
  t.same(out.at(-1), { type: Attr.ProxyState, value: OUR_PROXY_STATE }, 'ours is the last attribute');
  t.same(out.slice(0, 4), nas.slice(1), 'the rest in the NAS order');
});

t.test('User-Name replacement (realm stripping)', async (t) => {
  const nas: RawAttribute[] = [
    { type: Attr.NasPort, value: Buffer.from([0, 0, 0, 1]) },
    { type: Attr.UserName, value: str('dave@example.org') },
  ];
  const out = rewriteAccessRequest(nas, REQUEST_KEYS, { proxyState: OUR_PROXY_STATE, userName: str('dave') });
  t.same(values(out, Attr.UserName), [str('dave')]);
  t.equal(out[1]!.type, Attr.UserName, 'in place');
  const kept = rewriteAccessRequest(nas, REQUEST_KEYS, { proxyState: OUR_PROXY_STATE });
  t.same(values(kept, Attr.UserName), [str('dave@example.org')], 'kept without the option');
});

t.test('NAS-Identifier and NAS-IP-Address overrides replace rather than duplicate', async (t) => {
  const nas: RawAttribute[] = [
    { type: Attr.NasIdentifier, value: str('nas-7') },
    { type: Attr.NasIpAddress, value: Buffer.from([192, 0, 2, 7]) },
    { type: Attr.UserName, value: str('erin') },
  ];
  const out = rewriteAccessRequest(nas, REQUEST_KEYS, {
    proxyState: OUR_PROXY_STATE,
    nasIdentifier: str('proxy-1'),
    nasIpAddress: Buffer.from([198, 51, 100, 1]),
  });
  t.same(values(out, Attr.NasIdentifier), [str('proxy-1')]);
  t.same(values(out, Attr.NasIpAddress), [Buffer.from([198, 51, 100, 1])]);
  t.same(out.at(-1)!.value, OUR_PROXY_STATE, 'Proxy-State still last');

  const added = rewriteAccessRequest([{ type: Attr.UserName, value: str('erin') }], REQUEST_KEYS, {
    proxyState: OUR_PROXY_STATE,
    nasIdentifier: str('proxy-1'),
  });
  t.same(values(added, Attr.NasIdentifier), [str('proxy-1')], 'added when the NAS sent none');

  const passed = rewriteAccessRequest(nas, REQUEST_KEYS, { proxyState: OUR_PROXY_STATE });
  t.same(values(passed, Attr.NasIdentifier), [str('nas-7')], 'no override: the NAS own');
  t.same(values(passed, Attr.NasIpAddress), [Buffer.from([192, 0, 2, 7])]);
});

t.test('reply: Tunnel-Password keeps its tag and is re-encrypted for the NAS (RFC 2868 §3.5)', async (t) => {
  const plain = Buffer.from('tunnel secret');
  const upstream: RawAttribute[] = [
    { type: Attr.TunnelPassword, value: Buffer.concat([Buffer.from([1]), encryptSalted(plain, SECRET_B, RB)]) },
  ];
  const out = rewriteReply(upstream, REPLY_KEYS, encrypted);
  t.equal(out.length, 1);
  const v = out[0]!.value;
  t.equal(out[0]!.type, Attr.TunnelPassword);
  t.equal(v[0], 1, 'tag kept');
  t.ok(v[1]! & 0x80, 'salt high bit set');
  t.same(decryptSalted(v.subarray(1), SECRET_A, RA), plain, 'decrypts under (A, RA)');
  t.equal(decryptSalted(v.subarray(1), SECRET_B, RB)?.equals(plain) ?? false, false, 'not under (B, RB)');
});

t.test('reply: MS-MPPE keys inside a Microsoft VSA are re-encrypted, siblings byte-identical (RFC 2548 §2.4.2)', async (t) => {
  const sendKey = Buffer.alloc(32, 0x11);
  const recvKey = Buffer.alloc(32, 0x22);
  const policy = Buffer.from([0, 0, 0, 2]);
  const mppeKeys = Buffer.alloc(24, 0x33); // MS-CHAP-MPPE-Keys, User-Password style (encrypt=1)
  const upstream: RawAttribute[] = [
    vsa([7, policy], [16, encryptSalted(sendKey, SECRET_B, RB)], [17, encryptSalted(recvKey, SECRET_B, RB)], [8, Buffer.from([0, 0, 0, 6])]),
    vsa([12, hideUserPassword(mppeKeys, SECRET_B, RB)]),
  ];
  const out = rewriteReply(upstream, REPLY_KEYS, encrypted);
  t.equal(out.length, 2);
  const parsed = parseVendorSpecific(out[0]!.value, (id) => dict.vendorById(id))!;
  t.equal(parsed.vendorId, 311);
  t.same(parsed.attributes.map((a) => a.type), [7, 16, 17, 8], 'sub-attribute order kept');
  t.same(parsed.attributes[0]!.value, policy, 'MS-MPPE-Encryption-Policy byte-identical');
  t.same(parsed.attributes[3]!.value, Buffer.from([0, 0, 0, 6]), 'MS-MPPE-Encryption-Types byte-identical');
  t.same(decryptSalted(parsed.attributes[1]!.value, SECRET_A, RA), sendKey, 'Send-Key under (A, RA)');
  t.same(decryptSalted(parsed.attributes[2]!.value, SECRET_A, RA), recvKey, 'Recv-Key under (A, RA)');
  t.equal(out[0]!.value.length, upstream[0]!.value.length, 'same VSA length');
  const chapKeys = parseVendorSpecific(out[1]!.value, (id) => dict.vendorById(id))!;
  t.same(revealUserPassword(chapKeys.attributes[0]!.value, SECRET_A, RA), mppeKeys, 'MS-CHAP-MPPE-Keys under (A, RA)');
});

t.test('reply: VSAs without encrypted members pass unchanged', async (t) => {
  // Vendor 99999 is unknown: even a sub-type that is encrypted for Microsoft is left alone.
  const unknown = Buffer.concat([Buffer.from([0, 1, 0x86, 0x9f]), Buffer.from([16, 6, 1, 2, 3, 4])]);
  const plainMs = vsa([7, Buffer.from([0, 0, 0, 1])]);
  const malformed = { type: Attr.VendorSpecific, value: Buffer.from([0, 0, 1, 0x37, 16, 40, 1]) };
  const upstream: RawAttribute[] = [{ type: Attr.VendorSpecific, value: unknown }, plainMs, malformed];
  const out = rewriteReply(upstream, REPLY_KEYS, encrypted);
  t.same(out, upstream);
  t.equal(out[0], upstream[0], 'unknown vendor: the very same attribute');
});

t.test('reply: every Proxy-State and Message-Authenticator removed, others in order', async (t) => {
  const upstream: RawAttribute[] = [
    { type: Attr.MessageAuthenticator, value: Buffer.alloc(16, 9) },
    { type: Attr.ProxyState, value: str('nas') },
    { type: Attr.ReplyMessage, value: str('welcome') },
    { type: Attr.ProxyState, value: OUR_PROXY_STATE },
    { type: Attr.SessionTimeout, value: Buffer.from([0, 0, 14, 16]) },
  ];
  const out = rewriteReply(upstream, REPLY_KEYS, encrypted);
  t.same(out, [upstream[2], upstream[4]]);
});

t.test('reply: a corrupt encrypted attribute throws RewriteError', async (t) => {
  const bad = (value: Buffer, type = Attr.TunnelPassword) => () => rewriteReply([{ type, value }], REPLY_KEYS, encrypted);
  const isBad = (fn: () => unknown, what: string) => {
    const err = thrown(fn);
    t.ok(err instanceof RewriteError, `${what}: RewriteError`);
    t.equal((err as RewriteError).code, 'AAA_ERR_BAD_ENCRYPTED_ATTRIBUTE', what);
  };
  isBad(bad(Buffer.from([1, 0x80, 0x01, 1, 2, 3, 4, 5])), 'length not 2 + 16k');
  isBad(bad(Buffer.from([1])), 'tag only');
  // Flip the first encrypted octet so the hidden length octet reads 200 (more than the 15 that fit).
  const plain = Buffer.from('short');
  const salted = encryptSalted(plain, SECRET_B, RB);
  salted[2] = salted[2]! ^ plain.length ^ 200;
  isBad(bad(Buffer.concat([Buffer.from([1]), salted])), 'hidden length too large');
  isBad(() => rewriteReply([vsa([16, Buffer.alloc(5, 0x80)])], REPLY_KEYS, encrypted), 'MS-MPPE-Send-Key too short');
});
