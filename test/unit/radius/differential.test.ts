/**
 * Differential tests against the npm `radius` package (node-radius 1.1.4): what one side
 * encodes, the other decodes and verifies. Known difference, not tested here: node-radius
 * computes a Message-Authenticator on Accounting/CoA/Disconnect requests over the finished
 * Request Authenticator, where RFC 5176 §3.1 (and FreeRADIUS) use 16 zero octets; so those
 * requests are compared without one, and freeradius-vectors.test.ts covers the CoA case.
 * node-radius also knows no salted encryption (encrypt=2), so Tunnel-Password and MPPE keys
 * cross only as opaque octets here.
 */
import t from 'tap';
import radius from 'radius';
import { fileURLToPath } from 'node:url';
import { decodePacket, findAttribute, type RadiusPacket, type RawAttribute } from '../../../src/radius/packet.js';
import { decryptSalted, hideUserPassword, revealUserPassword } from '../../../src/radius/crypto.js';
import { encodeRequest, encodeResponse, verifyRequest, verifyResponse } from '../../../src/radius/message.js';
import { Dictionary } from '../../../src/radius/dictionary.js';
import { describeAttributes, materialize, resolveAttribute } from '../../../src/radius/attributes.js';
import { buildVendorSpecific, parseVendorSpecific } from '../../../src/radius/values.js';

const dictFile = (name: string) => fileURLToPath(new URL(`../../../../dictionaries/${name}`, import.meta.url));
// node-radius ships RFC dictionaries only; give it our vendor files (its parser reads the same format).
radius.add_dictionary(dictFile('dictionary.microsoft'));
radius.add_dictionary(dictFile('dictionary.cisco'));

const dict = new Dictionary();
dict.load(dictFile('dictionary'));

const SECRET = 'differential-secret';
const KEY = Buffer.from(SECRET);
const RA = Buffer.from('1f1e1d1c1b1a19181716151413121110', 'hex');

function decoded(buf: Buffer): RadiusPacket {
  const r = decodePacket(buf);
  if (!r.ok) throw new Error(`does not decode: ${r.reason}`);
  return r.packet;
}

/** Printable ASCII with no NUL (node-radius stops a password at the first NUL). */
function password(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x21 + ((i * 13 + n) % 94));
  return s;
}

const LENGTHS = [1, 2, 15, 16, 17, 31, 32, 33, 64, 100, 127, 128];

t.test('Access-Request with User-Password: node-radius encodes, we decode', (t) => {
  for (const n of LENGTHS) {
    const pw = password(n);
    const buf = radius.encode({
      code: 'Access-Request',
      secret: SECRET,
      identifier: n,
      authenticator: RA,
      attributes: [['User-Name', 'alice'], ['User-Password', pw], ['NAS-IP-Address', '10.0.0.1'], ['NAS-Port', n]],
    });
    const p = decoded(buf);
    t.equal(p.identifier, n);
    const hidden = findAttribute(p.attributes, 2)!;
    t.equal(hidden.length, Math.ceil(n / 16) * 16, `${n} octets hide to ${Math.ceil(n / 16) * 16}`);
    t.equal(hidden.toString('hex'), hideUserPassword(Buffer.from(pw), KEY, RA).toString('hex'), `${n}: same ciphertext as ours`);
    t.equal(revealUserPassword(hidden, KEY, p.authenticator)!.toString(), pw, `${n}: revealed`);
    t.same(verifyRequest(buf, 1, KEY, false), { check: 'ok', hasMessageAuthenticator: false });
    t.same(describeAttributes(dict, p.attributes), { 'User-Name': 'alice', 'User-Password': '[hidden]', 'NAS-IP-Address': '10.0.0.1', 'NAS-Port': n });
  }
  t.end();
});

t.test('Access-Request with User-Password: we encode, node-radius decodes (and checks our Message-Authenticator)', (t) => {
  for (const n of LENGTHS) {
    const pw = password(n);
    const buf = encodeRequest(
      {
        code: 1,
        identifier: 200 + (n % 50),
        authenticator: RA,
        attributes: [
          { type: 1, value: Buffer.from('alice') },
          { type: 2, value: hideUserPassword(Buffer.from(pw), KEY, RA) },
          { type: 32, value: Buffer.from('nas-1') },
        ],
      },
      KEY,
    );
    const d = radius.decode({ packet: buf, secret: SECRET });
    t.equal(d.code, 'Access-Request');
    t.equal(d.attributes['User-Password'], pw, `${n} octets`);
    t.equal(d.attributes['User-Name'], 'alice');
    t.equal(d.attributes['NAS-Identifier'], 'nas-1');
    t.ok(Buffer.isBuffer(d.attributes['Message-Authenticator']), 'Message-Authenticator present and accepted');
  }
  const buf = encodeRequest({ code: 1, identifier: 1, attributes: [{ type: 1, value: Buffer.from('a') }] }, KEY);
  t.throws(() => radius.decode({ packet: buf, secret: 'another-secret' }), { message: /Message-Authenticator mismatch/ });
  t.throws(() => hideUserPassword(Buffer.from(password(129)), KEY, RA), RangeError, '129 octets are refused by us');
  t.end();
});

t.test('Message-Authenticator: node-radius adds it (last), we verify', (t) => {
  const explicit = radius.encode({
    code: 'Access-Request',
    secret: SECRET,
    identifier: 3,
    attributes: [['User-Name', 'bob'], ['User-Password', 'pw']],
    add_message_authenticator: true,
  });
  t.equal(decoded(explicit).attributes.at(-1)!.type, 80);
  t.same(verifyRequest(explicit, 1, KEY, true), { check: 'ok', hasMessageAuthenticator: true });
  t.same(verifyRequest(explicit, 1, Buffer.from('x'), true), { check: 'bad_message_authenticator', hasMessageAuthenticator: true });

  // EAP-Message makes node-radius add one on its own (RFC 3579 §3.2 requires it).
  const eap = radius.encode({ code: 'Access-Request', secret: SECRET, identifier: 4, attributes: [['User-Name', 'bob'], ['EAP-Message', Buffer.from('0204000a01626f62', 'hex')]] });
  t.same(verifyRequest(eap, 1, KEY, true), { check: 'ok', hasMessageAuthenticator: true });

  // Status-Server always carries one (RFC 5997 §3).
  const status = radius.encode({ code: 'Status-Server', secret: SECRET, identifier: 5, attributes: [['NAS-Identifier', 'probe']] });
  t.same(verifyRequest(status, 12, KEY, false), { check: 'ok', hasMessageAuthenticator: true });
  const ours = encodeRequest({ code: 12, identifier: 6, attributes: [{ type: 32, value: Buffer.from('probe') }] }, KEY);
  t.equal(radius.decode({ packet: ours, secret: SECRET }).code, 'Status-Server');
  t.end();
});

t.test('Access-Accept: Response Authenticator and Message-Authenticator, both directions', (t) => {
  // node-radius client request + node-radius reply -> our verifyResponse.
  const theirReq = radius.encode({
    code: 'Access-Request',
    secret: SECRET,
    identifier: 42,
    attributes: [['User-Name', 'bob'], ['User-Password', 'pw']],
    add_message_authenticator: true,
  });
  const parsed = radius.decode({ packet: theirReq, secret: SECRET });
  const theirReply = radius.encode_response({
    packet: parsed,
    code: 'Access-Accept',
    secret: SECRET,
    attributes: [['Reply-Message', 'welcome'], ['Session-Timeout', 3600]],
  });
  const reqAuth = decoded(theirReq).authenticator;
  t.equal(verifyResponse(theirReply, reqAuth, KEY, true), 'ok', 'their reply, with Message-Authenticator last');
  t.equal(verifyResponse(theirReply, reqAuth, Buffer.from('x'), true), 'bad_response_authenticator');
  t.same(describeAttributes(dict, decoded(theirReply).attributes), { 'Reply-Message': 'welcome', 'Session-Timeout': 3600, 'Message-Authenticator': '[hidden]' });

  // Our reply to their request -> their verify_response (which requires the Message-Authenticator).
  const ourReply = encodeResponse(
    { code: 2, identifier: 42, attributes: [{ type: 18, value: Buffer.from('welcome') }, { type: 27, value: Buffer.from([0, 0, 14, 16]) }] },
    reqAuth,
    KEY,
  );
  t.equal(radius.verify_response({ request: theirReq, response: Buffer.from(ourReply), secret: SECRET }), true);
  t.equal(radius.verify_response({ request: theirReq, response: Buffer.from(ourReply), secret: 'wrong' }), false);
  const d = radius.decode({ packet: ourReply, secret: SECRET });
  t.equal(d.code, 'Access-Accept');
  t.equal(d.attributes['Reply-Message'], 'welcome');
  t.equal(d.attributes['Session-Timeout'], 3600);

  // Without a Message-Authenticator on either side (RFC 2865 §3 alone).
  const plainReq = radius.encode({ code: 'Access-Request', secret: SECRET, identifier: 43, attributes: [['User-Name', 'bob'], ['User-Password', 'pw']] });
  const plainReply = encodeResponse({ code: 3, identifier: 43, attributes: [] }, decoded(plainReq).authenticator, KEY, false);
  t.equal(radius.verify_response({ request: plainReq, response: plainReply, secret: SECRET }), true);
  const theirReject = radius.encode_response({ packet: radius.decode({ packet: plainReq, secret: SECRET }), code: 'Access-Reject', secret: SECRET });
  t.equal(verifyResponse(theirReject, decoded(plainReq).authenticator, KEY, false), 'ok');
  t.end();
});

t.test('Accounting-Request (RFC 2866 §3): both directions, and the Accounting-Response', (t) => {
  const attrs: Array<[string, unknown]> = [
    ['User-Name', 'bob'],
    ['Acct-Status-Type', 'Start'],
    ['Acct-Session-Id', 'sess-42'],
    ['NAS-IP-Address', '192.0.2.7'],
    ['Acct-Input-Octets', 123456],
  ];
  for (const [code, name] of [
    [4, 'Accounting-Request'],
    [40, 'Disconnect-Request'],
    [43, 'CoA-Request'],
  ] as const) {
    const theirs = radius.encode({ code: name, secret: SECRET, identifier: 9, attributes: attrs });
    t.same(verifyRequest(theirs, code, KEY, false), { check: 'ok', hasMessageAuthenticator: false }, `their ${name} verifies`);
    t.same(verifyRequest(theirs, code, Buffer.from('x'), false), { check: 'bad_request_authenticator', hasMessageAuthenticator: false });
  }

  const theirs = radius.encode({ code: 'Accounting-Request', secret: SECRET, identifier: 9, attributes: attrs });
  const ours = encodeRequest({ code: 4, identifier: 9, attributes: decoded(theirs).attributes }, KEY, false);
  t.equal(ours.toString('hex'), theirs.toString('hex'), 'same attributes, same packet');
  const d = radius.decode({ packet: ours, secret: SECRET });
  t.equal(d.attributes['Acct-Status-Type'], 'Start');
  t.equal(d.attributes['Acct-Session-Id'], 'sess-42');
  t.throws(() => radius.decode({ packet: ours, secret: 'wrong' }), { message: /authenticator mismatch/ });

  const ourResponse = encodeResponse({ code: 5, identifier: 9, attributes: [] }, decoded(ours).authenticator, KEY);
  t.equal(radius.verify_response({ request: ours, response: ourResponse, secret: SECRET }), true);
  const theirResponse = radius.encode_response({ packet: d, code: 'Accounting-Response', secret: SECRET });
  t.equal(verifyResponse(theirResponse, decoded(ours).authenticator, KEY, false), 'ok');
  t.end();
});

t.test('Vendor-Specific: Microsoft and Cisco-AVPair, both directions', (t) => {
  const mppe = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const theirs = radius.encode({
    code: 'Access-Accept',
    secret: SECRET,
    identifier: 7,
    authenticator: RA,
    attributes: [
      ['Vendor-Specific', 9, [['Cisco-AVPair', 'shell:priv-lvl=15'], ['Cisco-AVPair', 'ip:inacl#1=permit ip any any']]],
      ['Vendor-Specific', 'Microsoft', [['MS-MPPE-Encryption-Policy', 'Encryption-Required']]],
      ['Vendor-Specific', 311, [['MS-MPPE-Send-Key', mppe]]],
    ],
  });
  const p = decoded(theirs);
  t.equal(verifyResponse(theirs, RA, KEY, false), 'ok');
  const first = parseVendorSpecific(p.attributes[0]!.value, (id) => dict.vendorById(id))!;
  t.equal(first.vendorId, 9);
  t.same(first.attributes.map((a) => [a.type, a.value.toString()]), [[1, 'shell:priv-lvl=15'], [1, 'ip:inacl#1=permit ip any any']]);
  t.same(describeAttributes(dict, p.attributes), {
    'Cisco-AVPair': ['shell:priv-lvl=15', 'ip:inacl#1=permit ip any any'],
    'MS-MPPE-Encryption-Policy': 'Encryption-Required',
    'MS-MPPE-Send-Key': '[hidden]',
  });

  // Ours: templates through the dictionary, one VSA per attribute.
  const mk = (name: string, value: string | number) => materialize(resolveAttribute(dict, name, value), dict, KEY, RA);
  const attributes: RawAttribute[] = [
    ...mk('Cisco-AVPair', 'shell:priv-lvl=15'),
    ...mk('MS-MPPE-Encryption-Types', 'RC4-40-or-128-Allowed'),
    ...mk('MS-MPPE-Send-Key', `0x${mppe.toString('hex')}`),
    { type: 26, value: buildVendorSpecific(dict.vendorById(311)!, 17, Buffer.from('opaque')) },
  ];
  const ours = encodeResponse({ code: 2, identifier: 7, attributes }, RA, KEY);
  const d = radius.decode({ packet: ours, secret: SECRET });
  t.equal(d.attributes['Vendor-Specific']['Cisco-AVPair'], 'shell:priv-lvl=15');
  t.equal(d.attributes['Vendor-Specific']['MS-MPPE-Encryption-Types'], 'RC4-40-or-128-Allowed');
  const sendKey: Buffer = d.attributes['Vendor-Specific']['MS-MPPE-Send-Key'];
  t.ok(Buffer.isBuffer(sendKey), 'node-radius carries the encrypted key as octets');
  t.equal(decryptSalted(sendKey, KEY, RA)!.toString('hex'), mppe.toString('hex'), 'and it decrypts with our code');
  t.equal(d.attributes['Vendor-Specific']['MS-MPPE-Recv-Key'].toString(), 'opaque');
  t.end();
});

t.test('tagged Tunnel attributes (RFC 2868 §3.1): both directions', (t) => {
  const theirs = radius.encode({
    code: 'Access-Accept',
    secret: SECRET,
    identifier: 8,
    authenticator: RA,
    attributes: [
      ['Tunnel-Type', 1, 'VLAN'],
      ['Tunnel-Medium-Type', 1, 'IEEE-802'],
      ['Tunnel-Private-Group-Id', 1, '10'],
      ['Tunnel-Type', 2, 'L2TP'],
      ['Tunnel-Client-Endpoint', 2, '192.0.2.1'],
    ],
  });
  const mk = (name: string, value: string) => materialize(resolveAttribute(dict, name, value), dict, KEY, RA);
  const ours = encodeResponse(
    {
      code: 2,
      identifier: 8,
      attributes: [
        ...mk('Tunnel-Type:1', 'VLAN'),
        ...mk('Tunnel-Medium-Type:1', 'IEEE-802'),
        ...mk('Tunnel-Private-Group-Id:1', '10'),
        ...mk('Tunnel-Type:2', 'L2TP'),
        ...mk('Tunnel-Client-Endpoint:2', '192.0.2.1'),
      ],
    },
    RA,
    KEY,
    false,
  );
  t.equal(ours.toString('hex'), theirs.toString('hex'), 'identical packets');
  const d = radius.decode({ packet: ours, secret: SECRET });
  // (node-radius folds a repeated tagged attribute oddly, so Tunnel-Type is compared as bytes above.)
  t.same(d.attributes['Tunnel-Medium-Type'], [1, 'IEEE-802']);
  t.same(d.attributes['Tunnel-Private-Group-Id'], [1, '10']);
  t.same(d.attributes['Tunnel-Client-Endpoint'], [2, '192.0.2.1']);
  t.same(describeAttributes(dict, decoded(theirs).attributes), {
    'Tunnel-Type:1': 'VLAN',
    'Tunnel-Medium-Type:1': 'IEEE-802',
    'Tunnel-Private-Group-Id:1': '10',
    'Tunnel-Type:2': 'L2TP',
    'Tunnel-Client-Endpoint:2': '192.0.2.1',
  });

  // Tunnel-Password: node-radius carries it as an opaque tagged string; the salted value is ours.
  const tp = mk('Tunnel-Password:3', 'vpn-secret');
  const withPw = encodeResponse({ code: 2, identifier: 9, attributes: tp }, RA, KEY, false);
  const raw = radius.decode({ packet: withPw, secret: SECRET }).raw_attributes.find(([type]) => type === 69)![1];
  t.equal(raw[0], 3, 'tag');
  t.equal(decryptSalted(raw.subarray(1), KEY, RA)!.toString(), 'vpn-secret');
  t.end();
});
