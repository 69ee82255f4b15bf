/**
 * RFC examples as byte-for-byte fixtures (test/vectors/rfc2865.json, rfc5997.json).
 * RFC 2868 and RFC 2548 give no worked examples; their salted encryption is checked in
 * crypto.test.ts against an independent transcription of the RFC text and in
 * freeradius-vectors.test.ts against FreeRADIUS.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodePacket, encodePacket, findAttribute, type RadiusPacket } from '../../../src/radius/packet.js';
import { hideUserPassword, revealUserPassword, verifyResponseAuthenticator } from '../../../src/radius/crypto.js';
import { encodeRequest, encodeResponse, verifyRequest, verifyResponse } from '../../../src/radius/message.js';
import { Dictionary } from '../../../src/radius/dictionary.js';
import { describeAttributes } from '../../../src/radius/attributes.js';

function vectors(name: string): any {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../../../test/vectors/${name}`, import.meta.url)), 'utf8'));
}

const RFC2865 = vectors('rfc2865.json');
const RFC5997 = vectors('rfc5997.json');
const hex = (s: string) => Buffer.from(s, 'hex');

function decoded(buf: Buffer): RadiusPacket {
  const r = decodePacket(buf);
  if (!r.ok) throw new Error(`vector does not decode: ${r.reason}`);
  return r.packet;
}

const dict = new Dictionary();
dict.load(fileURLToPath(new URL('../../../../dictionaries/dictionary', import.meta.url)));

t.test('RFC 2865 §7.1: PAP Access-Request, byte for byte', (t) => {
  const v = RFC2865.section_7_1;
  const secret = Buffer.from(RFC2865.secret);
  const wire = hex(v.request);
  const p = decoded(wire);
  t.equal(p.code, 1);
  t.equal(p.identifier, 0);
  t.equal(wire.readUInt16BE(2), 56);
  t.same(p.attributes.map((a) => [a.type, a.value.length]), [[1, 4], [2, 16], [4, 4], [5, 4]]);
  t.equal(revealUserPassword(findAttribute(p.attributes, 2)!, secret, p.authenticator)!.toString(), v.password);
  t.same(describeAttributes(dict, p.attributes), {
    'User-Name': v.user_name,
    'User-Password': '[hidden]',
    'NAS-IP-Address': v.nas_ip_address,
    'NAS-Port': v.nas_port,
  });

  // Built from scratch: the hidden password and the whole packet match the RFC.
  const hidden = hideUserPassword(Buffer.from(v.password), secret, p.authenticator);
  t.equal(hidden.toString('hex'), '0dbe708d93d413ce3196e43f782a0aee');
  const built = encodePacket({
    code: 1,
    identifier: 0,
    authenticator: p.authenticator,
    attributes: [
      { type: 1, value: Buffer.from(v.user_name) },
      { type: 2, value: hidden },
      { type: 4, value: Buffer.from([192, 168, 1, 16]) },
      { type: 5, value: Buffer.from([0, 0, 0, 3]) },
    ],
  });
  t.equal(built.toString('hex'), v.request);
  t.equal(encodePacket(p).toString('hex'), v.request, 'decode -> encode is the identity');
  // No Message-Authenticator: acceptable only when the client is not required to send one.
  t.same(verifyRequest(wire, 1, secret, false), { check: 'ok', hasMessageAuthenticator: false });
  t.same(verifyRequest(wire, 1, secret, true), { check: 'missing_message_authenticator', hasMessageAuthenticator: false });
  t.end();
});

t.test('RFC 2865 §7.1: the Access-Accept Response Authenticator', (t) => {
  const v = RFC2865.section_7_1;
  const secret = Buffer.from(RFC2865.secret);
  const req = decoded(hex(v.request));
  const accept = hex(v.accept);
  const p = decoded(accept);
  t.same(describeAttributes(dict, p.attributes), {
    'Service-Type': 'Login-User',
    'Login-Service': 'Telnet',
    'Login-IP-Host': v.accept_attributes['Login-IP-Host'],
  });
  // Our Response Authenticator computation reproduces the RFC's reply.
  const ours = encodeResponse({ code: 2, identifier: 0, attributes: p.attributes }, req.authenticator, secret, false);
  t.equal(ours.toString('hex'), v.accept);
  t.ok(verifyResponseAuthenticator(accept, req.authenticator, secret));
  t.equal(verifyResponse(accept, req.authenticator, secret, false), 'ok');
  t.equal(verifyResponse(accept, req.authenticator, secret, true), 'missing_message_authenticator');
  t.equal(verifyResponse(accept, req.authenticator, Buffer.from('xyzzy5462'), false), 'bad_response_authenticator');
  t.end();
});

t.test('RFC 2865 §7.2: CHAP Access-Request and its Access-Accept', (t) => {
  const v = RFC2865.section_7_2;
  const secret = Buffer.from(RFC2865.secret);
  const req = decoded(hex(v.request));
  t.equal(req.identifier, 1);
  t.equal(encodePacket(req).toString('hex'), v.request);
  const chap = findAttribute(req.attributes, 3)!;
  t.equal(chap.length, 17, 'CHAP Ident + 16-octet response');
  t.equal(chap[0], v.chap_ident);
  t.same(describeAttributes(dict, req.attributes), {
    'User-Name': v.user_name,
    'CHAP-Password': '[hidden]',
    'NAS-IP-Address': '192.168.1.16',
    'NAS-Port': v.nas_port,
    'Service-Type': 'Framed-User',
    'Framed-Protocol': 'PPP',
  });
  const accept = decoded(hex(v.accept));
  t.equal(encodeResponse({ code: 2, identifier: 1, attributes: accept.attributes }, req.authenticator, secret, false).toString('hex'), v.accept);
  t.equal(verifyResponse(hex(v.accept), req.authenticator, secret, false), 'ok');
  t.end();
});

t.test('RFC 2865 §7.3: the Access-Challenge decodes and re-encodes', (t) => {
  const v = RFC2865.section_7_3;
  const p = decoded(hex(v.challenge));
  t.equal(p.code, 11);
  t.equal(p.identifier, 2);
  t.same(describeAttributes(dict, p.attributes), { 'Reply-Message': v.reply_message, State: `0x${Buffer.from(v.state).toString('hex')}` });
  t.equal(encodePacket(p).toString('hex'), v.challenge);
  t.end();
});

t.test('RFC 5997 §6: Status-Server with Message-Authenticator, and the answer', (t) => {
  const secret = Buffer.from(RFC5997.secret);
  const wire = hex(RFC5997.status_server);
  const p = decoded(wire);
  t.equal(p.code, 12);
  t.equal(p.identifier, 0xda);
  t.equal(findAttribute(p.attributes, 80)!.toString('hex'), RFC5997.message_authenticator);
  t.same(verifyRequest(wire, 12, secret, false), { check: 'ok', hasMessageAuthenticator: true });
  t.same(verifyRequest(wire, 12, Buffer.from('xyzzy5462'), false), { check: 'bad_message_authenticator', hasMessageAuthenticator: true });
  // Our encoder writes the same packet: Message-Authenticator first, RFC 3579 §3.2 HMAC-MD5.
  const ours = encodeRequest({ code: 12, identifier: 0xda, attributes: [], authenticator: p.authenticator }, secret);
  t.equal(ours.toString('hex'), RFC5997.status_server);
  // RFC 5997 §6 answers with an Access-Accept without attributes.
  const accept = encodeResponse({ code: 2, identifier: 0xda, attributes: [] }, p.authenticator, secret, false);
  t.equal(accept.toString('hex'), RFC5997.access_accept);
  t.equal(verifyResponse(hex(RFC5997.access_accept), p.authenticator, secret, false), 'ok');
  t.end();
});
