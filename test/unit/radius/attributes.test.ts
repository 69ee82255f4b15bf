import t from 'tap';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Dictionary, type AttributeDef } from '../../../src/radius/dictionary.js';
import { ValueError, buildVendorSpecific, decodeValue, encodeValue, parseVendorSpecific, type AttributeValue } from '../../../src/radius/values.js';
import { describeAttributes, materialize, resolveAttribute } from '../../../src/radius/attributes.js';
import { decryptSalted, hideUserPassword } from '../../../src/radius/crypto.js';
import type { RawAttribute } from '../../../src/radius/packet.js';

const BUILTIN = fileURLToPath(new URL('../../../../dictionaries/dictionary', import.meta.url));
const FREERADIUS = '/usr/share/freeradius/dictionary';
const SECRET = Buffer.from('testing123');
const RA = Buffer.from('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf', 'hex');

function builtin(): Dictionary {
  const d = new Dictionary();
  d.load(BUILTIN);
  return d;
}

const TYPES = new Dictionary();
TYPES.loadText(
  [
    'ATTRIBUTE  T-String      1   string',
    'ATTRIBUTE  T-Octets      2   octets',
    'ATTRIBUTE  T-Ipaddr      3   ipaddr',
    'ATTRIBUTE  T-Ipv6addr    4   ipv6addr',
    'ATTRIBUTE  T-Ipv6prefix  5   ipv6prefix',
    'ATTRIBUTE  T-Ipv4prefix  6   ipv4prefix',
    'ATTRIBUTE  T-Integer     7   integer',
    'ATTRIBUTE  T-Byte        8   byte',
    'ATTRIBUTE  T-Short       9   short',
    'ATTRIBUTE  T-Signed      10  signed',
    'ATTRIBUTE  T-Integer64   11  integer64',
    'ATTRIBUTE  T-Date        12  date',
    'ATTRIBUTE  T-Ifid        13  ifid',
    'ATTRIBUTE  T-Ether       14  ether',
    'ATTRIBUTE  T-Combo       15  combo-ip',
    'ATTRIBUTE  T-Abinary     16  abinary',
    'VALUE  T-Integer  Seven  7',
    'VALUE  T-Byte     Nine   9',
  ].join('\n'),
  'types',
);

function def(name: string): AttributeDef {
  return TYPES.byAttributeName(name)!;
}

t.test('encode and decode of each data type (RFC 8044)', (t) => {
  const cases: Array<[string, AttributeValue, string, AttributeValue]> = [
    ['T-String', 'héllo', '68c3a96c6c6f', 'héllo'],
    ['T-String', '', '', ''],
    ['T-String', '0x0001ff', '0001ff', '0x0001ff'],
    ['T-String', 42, '3432', '42'],
    ['T-Octets', '0xdeadBEEF', 'deadbeef', '0xdeadbeef'],
    ['T-Octets', Buffer.from([1, 2]), '0102', '0x0102'],
    ['T-Ipaddr', '192.0.2.1', 'c0000201', '192.0.2.1'],
    ['T-Ipv6addr', '2001:db8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['T-Ipv6addr', '2001:db8:0:1:0:0:0:1', '20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['T-Ipv6addr', '::', '00000000000000000000000000000000', '::'],
    ['T-Ipv6addr', '1:0:0:2:0:0:0:3', '00010000000000020000000000000003', '1:0:0:2::3'],
    ['T-Ipv6prefix', '2001:db8::/32', '002020010db8', '2001:db8::/32'],
    ['T-Ipv6prefix', '::/0', '0000', '::/0'],
    ['T-Ipv6prefix', '2001:db8:1:2::/64', '004020010db800010002', '2001:db8:1:2::/64'],
    ['T-Ipv4prefix', '10.1.2.0/24', '00180a010200', '10.1.2.0/24'],
    ['T-Integer', 7, '00000007', 'Seven'],
    ['T-Integer', 'seven', '00000007', 'Seven'],
    ['T-Integer', '42', '0000002a', 42],
    ['T-Integer', 4294967295, 'ffffffff', 4294967295],
    ['T-Byte', 255, 'ff', 255],
    ['T-Byte', 'Nine', '09', 'Nine'],
    ['T-Short', 65535, 'ffff', 65535],
    ['T-Signed', -2, 'fffffffe', -2],
    ['T-Signed', '2147483647', '7fffffff', 2147483647],
    ['T-Integer64', '18446744073709551615', 'ffffffffffffffff', 18446744073709551615n],
    ['T-Integer64', 5n, '0000000000000005', 5n],
    ['T-Date', 1700000000, '6553f100', 1700000000],
    ['T-Ifid', '0x0102030405060708', '0102030405060708', '0x0102030405060708'],
    ['T-Ether', '00:11:22:aa:bb:cc', '001122aabbcc', '00:11:22:aa:bb:cc'],
    ['T-Ether', '00-11-22-AA-BB-CC', '001122aabbcc', '00:11:22:aa:bb:cc'],
    ['T-Ether', '001122aabbcc', '001122aabbcc', '00:11:22:aa:bb:cc'],
    ['T-Combo', '192.0.2.1', 'c0000201', '192.0.2.1'],
    ['T-Combo', '2001:db8::1', '20010db8000000000000000000000001', '2001:db8::1'],
    ['T-Abinary', '0x0102', '0102', '0x0102'],
  ];
  for (const [name, input, wire, decoded] of cases) {
    const raw = encodeValue(def(name), input);
    t.equal(raw.toString('hex'), wire, `${name} ${String(input)} encodes`);
    t.equal(decodeValue(def(name), raw), decoded, `${name} ${String(input)} decodes`);
  }
  t.end();
});

t.test('bad configured values are ValueErrors naming the attribute', (t) => {
  const bad: Array<[string, AttributeValue]> = [
    ['T-Integer', 'abc'],
    ['T-Integer', 4294967296],
    ['T-Integer', -1],
    ['T-Integer', 1.5],
    ['T-Byte', 256],
    ['T-Short', 65536],
    ['T-Signed', 2147483648],
    ['T-Signed', 'x'],
    ['T-Integer64', '-1'],
    ['T-Integer64', 'big'],
    ['T-Ipaddr', '1.2.3.256'],
    ['T-Ipaddr', '1.2.3'],
    ['T-Ipv6addr', '1::2::3'],
    ['T-Ipv6addr', '1:2:3:4:5:6:7:8:9'],
    ['T-Ipv6addr', '1:2:3:4:5:6:7:8:9::'],
    ['T-Ipv6addr', '1:2:3:4:5:6:7:8::'],
    ['T-Ipv6addr', 'g::1'],
    ['T-Ipv6prefix', '2001:db8::/129'],
    ['T-Ipv6prefix', '2001:db8::'],
    ['T-Ipv4prefix', '10.0.0.0/33'],
    ['T-Ifid', '0x01'],
    ['T-Ether', 'zz:11:22:33:44:55'],
    ['T-Octets', 'not hex'],
    ['T-Octets', '0x123'],
    ['T-Combo', 'host.example'],
  ];
  for (const [name, value] of bad) {
    t.throws(() => encodeValue(def(name), value), { code: 'AAA_ERR_ATTRIBUTE_VALUE', message: new RegExp(`^${name}: `) }, `${name} ${String(value)}`);
    try {
      encodeValue(def(name), value);
    } catch (err) {
      t.ok(err instanceof ValueError, `${name} ${String(value)} is a ValueError`);
    }
  }
  t.end();
});

t.test('values of the wrong length decode as hex', (t) => {
  t.equal(decodeValue(def('T-Integer'), Buffer.from([1, 2, 3])), '0x010203');
  t.equal(decodeValue(def('T-Ipaddr'), Buffer.from([1, 2, 3, 4, 5])), '0x0102030405');
  t.equal(decodeValue(def('T-Ipv6addr'), Buffer.alloc(15)), `0x${'00'.repeat(15)}`);
  t.equal(decodeValue(def('T-Ipv6prefix'), Buffer.from([0, 129])), '0x0081');
  t.equal(decodeValue(def('T-Ipv4prefix'), Buffer.from([0, 33, 1, 2, 3, 4])), '0x002101020304');
  t.equal(decodeValue(def('T-Ether'), Buffer.alloc(5)), '0x0000000000');
  t.equal(decodeValue(def('T-Byte'), Buffer.alloc(2)), '0x0000');
  t.equal(decodeValue(def('T-Integer64'), Buffer.alloc(4)), '0x00000000');
  t.end();
});

t.test('Vendor-Specific envelope (RFC 2865 §5.26)', (t) => {
  const ms = { name: 'Microsoft', id: 311, typeLength: 1 as const, lengthLength: 1 as const };
  const vsa = buildVendorSpecific(ms, 16, Buffer.from([0xaa, 0xbb]));
  t.equal(vsa.toString('hex'), '000001371004aabb');
  t.same(parseVendorSpecific(vsa, () => ms), { vendorId: 311, attributes: [{ type: 16, value: Buffer.from([0xaa, 0xbb]) }] });

  const wide = { name: 'Wide', id: 4242, typeLength: 2 as const, lengthLength: 2 as const };
  const w = buildVendorSpecific(wide, 300, Buffer.from('x'));
  t.equal(w.toString('hex'), '00001092012c000578');
  t.same(parseVendorSpecific(w, () => wide)!.attributes, [{ type: 300, value: Buffer.from('x') }]);
  const usr = { name: 'USR', id: 429, typeLength: 4 as const, lengthLength: 0 as const };
  const u = buildVendorSpecific(usr, 0x9800, Buffer.from('abc'));
  t.equal(u.toString('hex'), '000001ad00009800616263');
  t.same(parseVendorSpecific(u, () => usr)!.attributes, [{ type: 0x9800, value: Buffer.from('abc') }]);

  // Two vendor attributes in one VSA; a broken layout is undefined, never a throw.
  const two = Buffer.from('00000009' + '0105' + '616263' + '0203' + '64', 'hex');
  t.same(parseVendorSpecific(two, () => undefined)!.attributes.map((a) => [a.type, a.value.toString()]), [[1, 'abc'], [2, 'd']]);
  t.equal(parseVendorSpecific(Buffer.from('000000', 'hex'), () => undefined), undefined);
  t.equal(parseVendorSpecific(Buffer.from('000000090109', 'hex'), () => undefined), undefined);
  t.equal(parseVendorSpecific(Buffer.from('000000090101', 'hex'), () => undefined), undefined);
  t.equal(parseVendorSpecific(Buffer.from('0000000901', 'hex'), () => undefined), undefined);
  t.end();
});

t.test('resolveAttribute + materialize: the 802.1X VLAN set (RFC 2868 §3.1, RFC 3580 §3.31)', (t) => {
  const d = builtin();
  const out = (name: string, value: AttributeValue): RawAttribute[] => materialize(resolveAttribute(d, name, value), d, SECRET, RA);
  const hex = (a: RawAttribute[]) => a.map((x) => `${x.type}:${x.value.toString('hex')}`);

  // A tagged integer: the tag takes the first of the 4 octets.
  t.same(hex(out('Tunnel-Type:1', 'VLAN')), ['64:0100000d']);
  t.same(hex(out('Tunnel-Medium-Type:1', 'IEEE-802')), ['65:01000006']);
  t.same(hex(out('Tunnel-Private-Group-Id:1', '10')), ['81:013130']);
  // Untagged forms: tag octet 0 for integers, no tag octet for strings.
  t.same(hex(out('Tunnel-Type', 13)), ['64:0000000d']);
  t.same(hex(out('Tunnel-Private-Group-Id', 'vlan10')), ['81:766c616e3130']);

  // RFC 2868 §3.5: Tag, Salt (high bit set), encrypted length + password + padding.
  const [tp] = out('Tunnel-Password:1', 'tunnel-secret');
  t.equal(tp!.type, 69);
  t.equal(tp!.value[0], 1, 'tag');
  t.ok(tp!.value[1]! & 0x80, 'salt high bit');
  t.equal(tp!.value.length, 1 + 2 + 16);
  t.equal(decryptSalted(tp!.value.subarray(1), SECRET, RA)!.toString(), 'tunnel-secret');
  const [tp0] = out('Tunnel-Password', 'x');
  t.equal(tp0!.value[0], 0, 'the Tag octet is always present on Tunnel-Password');
  t.equal(decryptSalted(tp0!.value.subarray(1), SECRET, RA)!.toString(), 'x');
  t.end();
});

t.test('resolveAttribute + materialize: MS-MPPE-Send-Key in its VSA (RFC 2548 §2.4.2)', (t) => {
  const d = builtin();
  const key = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
  const tpl = resolveAttribute(d, 'MS-MPPE-Send-Key', `0x${key}`);
  t.equal(tpl.def.vendorId, 311);
  const [a, b] = [materialize(tpl, d, SECRET, RA), materialize(tpl, d, SECRET, RA)];
  t.equal(a.length, 1);
  t.equal(a[0]!.type, 26);
  const vsa = parseVendorSpecific(a[0]!.value, (id) => d.vendorById(id))!;
  t.equal(vsa.vendorId, 311);
  t.equal(vsa.attributes.length, 1);
  t.equal(vsa.attributes[0]!.type, 16);
  const enc = vsa.attributes[0]!.value;
  t.equal(enc.length, 2 + 48, 'salt + 32-octet key with its length octet, padded to 48');
  t.ok(enc[0]! & 0x80, 'salt high bit');
  t.equal(decryptSalted(enc, SECRET, RA)!.toString('hex'), key);
  t.not(a[0]!.value.toString('hex'), b[0]!.value.toString('hex'), 'a fresh salt per reply');
  t.end();
});

t.test('resolveAttribute + materialize: other envelopes', (t) => {
  const d = builtin();
  d.loadText('ATTRIBUTE  Test-Long  245.1  octets\nVENDOR  Wide  4242  format=2,2\nBEGIN-VENDOR  Wide\nATTRIBUTE  Wide-Thing  300  integer\nEND-VENDOR  Wide\n', 'extra');
  // RFC 6929 §2.1: Extended-Type attribute = Type, Length, Extended-Type, Value.
  t.same(materialize(resolveAttribute(d, 'Frag-Status', 4), d, SECRET, RA).map((a) => [a.type, a.value.toString('hex')]), [[241, '0100000004']]);
  // RFC 6929 §2.2: long values split with the More flag on all but the last fragment.
  const long = materialize(resolveAttribute(d, 'Test-Long', `0x${'ab'.repeat(600)}`), d, SECRET, RA);
  t.same(long.map((a) => [a.type, a.value[0], a.value[1], a.value.length]), [
    [245, 1, 0x80, 253],
    [245, 1, 0x80, 253],
    [245, 1, 0x00, 600 - 2 * 251 + 2],
  ]);
  // RFC 3579 §3.1: EAP-Message ("concat") is split over consecutive attributes.
  const eap = materialize(resolveAttribute(d, 'EAP-Message', `0x${'cd'.repeat(300)}`), d, SECRET, RA);
  t.same(eap.map((a) => [a.type, a.value.length]), [[79, 253], [79, 47]]);
  // A vendor with 2-octet type and length fields.
  const wide = materialize(resolveAttribute(d, 'Wide-Thing', 5), d, SECRET, RA);
  t.same(wide.map((a) => a.value.toString('hex')), ['00001092012c000800000005']);
  // User-Password style (encrypt=1) on an attribute that is not User-Password.
  const keys = materialize(resolveAttribute(d, 'MS-CHAP-MPPE-Keys', `0x${'11'.repeat(24)}`), d, SECRET, RA);
  const inner = parseVendorSpecific(keys[0]!.value, (id) => d.vendorById(id))!.attributes[0]!;
  t.equal(inner.value.toString('hex'), hideUserPassword(Buffer.alloc(24, 0x11), SECRET, RA).toString('hex'));
  t.end();
});

t.test('resolveAttribute refuses what it cannot build', (t) => {
  const d = builtin();
  const cases: Array<[string, AttributeValue, RegExp]> = [
    ['No-Such-Attribute', 'x', /unknown attribute No-Such-Attribute/],
    ['User-Name:1', 'bob', /does not take a tag/],
    ['Tunnel-Type:32', 'VLAN', /tag 32 is above 31/],
    ['Tunnel-Type:1', 16777216, /tagged integer holds 24 bits/],
    ['Extended-Attribute-1', '0x01', /container type/],
    ['Vendor-Specific', '0x01', /container type/],
    ['Tunnel-Type:1', 'NotAType', /not a number or a known value name/],
  ];
  for (const [name, value, message] of cases) {
    t.throws(() => resolveAttribute(d, name, value), { code: 'AAA_ERR_ATTRIBUTE_VALUE', message }, name);
  }

  // Numbers that do not fit the wire Type field (RFC 2865 §5, §5.26) must not wrap onto another
  // attribute: FreeRADIUS's internal attributes (Cleartext-Password is 1100 = 0x44c would go out as
  // type 0x4c), or a vendor type wider than the vendor's type field.
  d.loadText(
    [
      'ATTRIBUTE  My-Internal  1100  string',
      'ATTRIBUTE  My-Ext-Big  241.300  string',
      'VENDOR  Narrow  4244',
      'VENDOR  Wide  4245  format=2,2',
      'BEGIN-VENDOR  Narrow',
      'ATTRIBUTE  Narrow-Big  300  integer',
      'END-VENDOR  Narrow',
      'BEGIN-VENDOR  Wide',
      'ATTRIBUTE  Wide-Big  300  integer',
      'END-VENDOR  Wide',
    ].join('\n'),
    'wire-limits',
  );
  for (const name of ['My-Internal', 'My-Ext-Big', 'Narrow-Big']) {
    t.throws(() => resolveAttribute(d, name, 1), { code: 'AAA_ERR_ATTRIBUTE_VALUE', message: /has no wire form/ }, name);
  }
  t.ok(resolveAttribute(d, 'Wide-Big', 1), 'a 2-octet vendor type field holds 300');
  t.end();
});

t.test('FreeRADIUS internal attributes are refused as reply attributes', { skip: existsSync(FREERADIUS) ? false : `${FREERADIUS} is absent` }, (t) => {
  const d = new Dictionary();
  d.load(FREERADIUS);
  t.throws(() => resolveAttribute(d, 'Cleartext-Password', 'x'), { code: 'AAA_ERR_ATTRIBUTE_VALUE', message: /has no wire form/ });
  t.throws(() => resolveAttribute(d, 'Auth-Type', 'Accept'), { code: 'AAA_ERR_ATTRIBUTE_VALUE', message: /has no wire form/ });
  t.same(materialize(resolveAttribute(d, 'Tunnel-Type:1', 'VLAN'), d, SECRET, RA).map((a) => a.value.toString('hex')), ['0100000d']);
  t.end();
});

t.test('describeAttributes hides secrets and names the rest', (t) => {
  const d = builtin();
  const mk = (name: string, value: AttributeValue) => materialize(resolveAttribute(d, name, value), d, SECRET, RA);
  const secrets = ['hunter2-password', 'tunnel-secret', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', 'b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2'];
  const attrs: RawAttribute[] = [
    { type: 1, value: Buffer.from('bob') },
    { type: 2, value: hideUserPassword(Buffer.from(secrets[0]!), SECRET, RA) },
    { type: 3, value: Buffer.alloc(17, 1) },
    { type: 4, value: Buffer.from([192, 0, 2, 1]) },
    ...mk('Tunnel-Type:1', 'VLAN'),
    ...mk('Tunnel-Medium-Type:1', 'IEEE-802'),
    ...mk('Tunnel-Private-Group-Id:1', '10'),
    ...mk('Tunnel-Password:1', secrets[1]!),
    ...mk('MS-MPPE-Send-Key', `0x${secrets[2]}`),
    ...mk('MS-MPPE-Recv-Key', `0x${secrets[3]}`),
    ...mk('Cisco-AVPair', 'shell:priv-lvl=15'),
    ...mk('Cisco-AVPair', 'ip:addr-pool=a'),
    ...mk('Frag-Status', 4),
    { type: 80, value: Buffer.alloc(16, 0xee) },
    { type: 199, value: Buffer.from([1, 2]) },
    { type: 26, value: Buffer.from('0000fffe0104abcd', 'hex') },
    { type: 243, value: Buffer.from([200, 0x10]) },
  ];
  const view = describeAttributes(d, attrs);
  t.same(view, {
    'User-Name': 'bob',
    'User-Password': '[hidden]',
    'CHAP-Password': '[hidden]',
    'NAS-IP-Address': '192.0.2.1',
    'Tunnel-Type:1': 'VLAN',
    'Tunnel-Medium-Type:1': 'IEEE-802',
    'Tunnel-Private-Group-Id:1': '10',
    'Tunnel-Password': '[hidden]',
    'MS-MPPE-Send-Key': '[hidden]',
    'MS-MPPE-Recv-Key': '[hidden]',
    'Cisco-AVPair': ['shell:priv-lvl=15', 'ip:addr-pool=a'],
    'Frag-Status': 4,
    'Message-Authenticator': '[hidden]',
    'Attr-199': '0x0102',
    'Vendor-65534-Attr-1': '0xabcd',
    'Attr-243.200': '0x10',
  });
  const text = JSON.stringify(view);
  for (const s of secrets) t.notOk(text.includes(s), `${s} does not appear`);
  t.end();
});
