import t from 'tap';
import { createHash, createHmac } from 'node:crypto';
import {
  MAX_USER_PASSWORD_LENGTH,
  computeChapPassword,
  decryptSalted,
  encryptSalted,
  findMessageAuthenticatorOffset,
  hideUserPassword,
  revealUserPassword,
  signComputedRequestAuthenticator,
  signMessageAuthenticator,
  signResponseAuthenticator,
  verifyChapPassword,
  verifyComputedRequestAuthenticator,
  verifyMessageAuthenticator,
  verifyResponseAuthenticator,
} from '../../../src/radius/crypto.js';
import { encodePacket } from '../../../src/radius/packet.js';
import { encodeRequest, encodeResponse, verifyRequest, verifyResponse } from '../../../src/radius/message.js';

const SECRET = Buffer.from('s3cr3t-shared');
const RA = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Printable bytes of a given length, so a trailing NUL never trims a password short. */
function pw(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => 0x21 + ((i * 7) % 90)));
}

t.test('User-Password round trips at 0, 1, 15, 16, 17, 128 octets (RFC 2865 §5.2)', (t) => {
  for (const n of [0, 1, 15, 16, 17, 31, 32, 33, 127, 128]) {
    const hidden = hideUserPassword(pw(n), SECRET, RA);
    t.equal(hidden.length, Math.max(16, Math.ceil(n / 16) * 16), `${n} octets hide to a multiple of 16`);
    t.equal(revealUserPassword(hidden, SECRET, RA)!.toString('hex'), pw(n).toString('hex'), `${n} octets round trip`);
    t.not(revealUserPassword(hidden, Buffer.from('other'), RA)!.toString('hex'), pw(n).toString('hex'), 'wrong secret');
  }
  t.equal(MAX_USER_PASSWORD_LENGTH, 128);
  t.end();
});

t.test('User-Password hiding follows the RFC 2865 §5.2 chain', (t) => {
  // c(1) = p(1) xor MD5(S + RA); c(2) = p(2) xor MD5(S + c(1)).
  const p = pw(20);
  const padded = Buffer.alloc(32);
  p.copy(padded);
  const b1 = md5(SECRET, RA);
  const c1 = Buffer.from(padded.subarray(0, 16).map((x, i) => x ^ b1[i]!));
  const b2 = md5(SECRET, c1);
  const c2 = Buffer.from(padded.subarray(16, 32).map((x, i) => x ^ b2[i]!));
  t.equal(hideUserPassword(p, SECRET, RA).toString('hex'), Buffer.concat([c1, c2]).toString('hex'));
  t.end();
});

t.test('a User-Password of 129 octets throws', (t) => {
  t.throws(() => hideUserPassword(pw(129), SECRET, RA), RangeError);
  t.end();
});

t.test('revealUserPassword rejects bad lengths', (t) => {
  for (const n of [0, 1, 15, 17, 31, 33, 127, 129, 144]) {
    t.equal(revealUserPassword(Buffer.alloc(n, 0x41), SECRET, RA), undefined, `${n} octets refused`);
  }
  t.ok(revealUserPassword(Buffer.alloc(128, 0x41), SECRET, RA), '128 octets accepted');
  t.end();
});

/**
 * RFC 2868 §3.5 written out independently of src/: P = Data-Length + Password + padding;
 * b(1) = MD5(S + R + A), c(i) = p(i) xor b(i), b(i) = MD5(S + c(i-1)); value = A + c(1) + ... .
 */
function rfc2868Encrypt(plain: Buffer, secret: Buffer, ra: Buffer, salt: Buffer): Buffer {
  const p = Buffer.alloc(Math.ceil((plain.length + 1) / 16) * 16);
  p[0] = plain.length;
  plain.copy(p, 1);
  const chunks: Buffer[] = [];
  let b = md5(secret, ra, salt);
  for (let i = 0; i < p.length; i += 16) {
    const c = Buffer.from(p.subarray(i, i + 16).map((x, j) => x ^ b[j]!));
    chunks.push(c);
    b = md5(secret, c);
  }
  return Buffer.concat([salt, ...chunks]);
}

t.test('salted encryption matches RFC 2868 §3.5 with a fixed salt, and round trips', (t) => {
  for (const n of [0, 1, 14, 15, 16, 17, 31, 32, 100, 239]) {
    const plain = pw(n);
    const salt = Buffer.from([0x80 | (n & 0x7f), 0x5a]);
    const enc = encryptSalted(plain, SECRET, RA, salt);
    t.equal(enc.toString('hex'), rfc2868Encrypt(plain, SECRET, RA, salt).toString('hex'), `${n} octets`);
    t.equal(enc.length, 2 + Math.ceil((n + 1) / 16) * 16);
    t.equal(decryptSalted(enc, SECRET, RA)!.toString('hex'), plain.toString('hex'), `${n} octets round trip`);
  }
  t.end();
});

t.test('salted encryption: the salt high bit, randomness and limits', (t) => {
  // RFC 2868 §3.5: "The most significant bit (leftmost) of the Salt field MUST be set (1)."
  const enc = encryptSalted(pw(5), SECRET, RA, Buffer.from([0x01, 0x02]));
  t.equal(enc[0], 0x81);
  t.equal(enc[1], 0x02);
  t.equal(enc.toString('hex'), rfc2868Encrypt(pw(5), SECRET, RA, Buffer.from([0x81, 0x02])).toString('hex'));
  const salts = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const r = encryptSalted(pw(5), SECRET, RA);
    t.ok(r[0]! & 0x80, 'random salt has its high bit set');
    salts.add(r.subarray(0, 2).toString('hex'));
  }
  t.ok(salts.size > 32, `random salts differ (${salts.size} distinct of 64)`);
  t.throws(() => encryptSalted(pw(240), SECRET, RA), RangeError);
  t.end();
});

t.test('MS-MPPE key encryption round trips (RFC 2548 §2.4.2, §2.4.3)', (t) => {
  // MPPE keys are 16 (or 32) octets; the same salted construction as Tunnel-Password.
  for (const key of [Buffer.alloc(16, 0xab), Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex')]) {
    const salt = Buffer.from([0x91, 0x07]);
    const enc = encryptSalted(key, SECRET, RA, salt);
    t.equal(enc.length, 2 + Math.ceil((key.length + 1) / 16) * 16);
    t.equal(enc.toString('hex'), rfc2868Encrypt(key, SECRET, RA, salt).toString('hex'));
    t.equal(decryptSalted(enc, SECRET, RA)!.toString('hex'), key.toString('hex'));
  }
  t.end();
});

t.test('decryptSalted rejects malformed values', (t) => {
  t.equal(decryptSalted(Buffer.alloc(17), SECRET, RA), undefined, 'too short');
  t.equal(decryptSalted(Buffer.alloc(19), SECRET, RA), undefined, 'not salt + 16n');
  // A length octet larger than what follows.
  const salt = Buffer.from([0x80, 0x00]);
  const b = md5(SECRET, RA, salt);
  const c = Buffer.alloc(16);
  c[0] = 200;
  const forged = Buffer.concat([salt, Buffer.from(c.map((x, i) => x ^ b[i]!))]);
  t.equal(decryptSalted(forged, SECRET, RA), undefined, 'length octet beyond the data');
  t.end();
});

t.test('CHAP (RFC 1994 §4.1, RFC 2865 §5.3)', (t) => {
  const chap = computeChapPassword(22, Buffer.from('pass'), RA);
  t.equal(chap.length, 17);
  t.equal(chap[0], 22);
  t.equal(chap.subarray(1).toString('hex'), md5(Buffer.from([22]), Buffer.from('pass'), RA).toString('hex'));
  t.ok(verifyChapPassword(chap, Buffer.from('pass'), RA));
  t.notOk(verifyChapPassword(chap, Buffer.from('Pass'), RA));
  t.notOk(verifyChapPassword(chap.subarray(0, 16), Buffer.from('pass'), RA), 'short CHAP-Password');
  t.end();
});

/** Access-Accept with Message-Authenticator first, signed as encodeResponse does. */
function signedAccept(): Buffer {
  return encodeResponse(
    { code: 2, identifier: 7, attributes: [{ type: 18, value: Buffer.from('welcome') }, { type: 25, value: Buffer.from('class-1') }] },
    RA,
    SECRET,
  );
}

t.test('Message-Authenticator is the RFC 3579 §3.2 HMAC-MD5', (t) => {
  const buf = signedAccept();
  const off = findMessageAuthenticatorOffset(buf);
  t.equal(off, 22, 'written first');
  // HMAC-MD5 over the packet with the request authenticator and a zeroed Message-Authenticator.
  const copy = Buffer.from(buf);
  RA.copy(copy, 4);
  copy.fill(0, off, off + 16);
  t.equal(buf.subarray(off, off + 16).toString('hex'), createHmac('md5', SECRET).update(copy).digest('hex'));
  t.ok(verifyMessageAuthenticator(buf, off, RA, SECRET));
  t.end();
});

t.test('verifyMessageAuthenticator detects every single flipped bit', (t) => {
  const buf = signedAccept();
  const off = findMessageAuthenticatorOffset(buf);
  let detected = 0;
  let total = 0;
  for (let byte = 0; byte < buf.length; byte++) {
    // The Response Authenticator (octets 4..19) is not covered: the HMAC uses the request's.
    if (byte >= 4 && byte < 20) continue;
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(buf);
      bad[byte] = bad[byte]! ^ (1 << bit);
      total++;
      if (!verifyMessageAuthenticator(bad, off, RA, SECRET)) detected++;
    }
  }
  t.equal(detected, total, `${detected}/${total} flips detected`);
  t.notOk(verifyMessageAuthenticator(buf, off, Buffer.alloc(16), SECRET), 'wrong authenticator');
  t.notOk(verifyMessageAuthenticator(buf, off, RA, Buffer.from('x')), 'wrong secret');
  t.notOk(verifyMessageAuthenticator(buf, buf.length - 8, RA, SECRET), 'offset past the packet');
  t.end();
});

t.test('Response Authenticator (RFC 2865 §3) and a flipped bit', (t) => {
  const buf = signedAccept();
  t.ok(verifyResponseAuthenticator(buf, RA, SECRET));
  t.equal(verifyResponse(buf, RA, SECRET, true), 'ok');
  const bad = Buffer.from(buf);
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
  t.notOk(verifyResponseAuthenticator(bad, RA, SECRET));
  t.equal(verifyResponse(bad, RA, SECRET, true), 'bad_response_authenticator');
  t.equal(verifyResponse(buf, Buffer.alloc(16), SECRET, true), 'bad_response_authenticator');

  // A reply whose Response Authenticator is right but whose Message-Authenticator is not.
  const macWrong = Buffer.from(buf);
  macWrong[22] = macWrong[22]! ^ 0x80;
  RA.copy(macWrong, 4);
  signResponseAuthenticator(macWrong, SECRET);
  t.equal(verifyResponse(macWrong, RA, SECRET, false), 'bad_message_authenticator');

  const plain = encodeResponse({ code: 3, identifier: 1, attributes: [] }, RA, SECRET, false);
  t.equal(plain.length, 20);
  t.equal(verifyResponse(plain, RA, SECRET, true), 'missing_message_authenticator');
  t.equal(verifyResponse(plain, RA, SECRET, false), 'ok');
  t.end();
});

t.test('computed Request Authenticator (RFC 2866 §3, RFC 5176 §2.3)', (t) => {
  for (const code of [4, 40, 43]) {
    const buf = encodeRequest({ code, identifier: 9, attributes: [{ type: 44, value: Buffer.from('sess') }] }, SECRET, false);
    // MD5(Code + Identifier + Length + 16 zero octets + Attributes + Secret)
    const zeroed = Buffer.from(buf);
    zeroed.fill(0, 4, 20);
    t.equal(buf.subarray(4, 20).toString('hex'), md5(zeroed, SECRET).toString('hex'), `code ${code}`);
    t.ok(verifyComputedRequestAuthenticator(buf, SECRET));
    t.equal(verifyRequest(buf, code, SECRET, false).check, 'ok');
    const bad = Buffer.from(buf);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    t.equal(verifyRequest(bad, code, SECRET, false).check, 'bad_request_authenticator');
  }
  // With Message-Authenticator: HMAC over 16 zero octets first (RFC 5176 §3.1), then the authenticator.
  const withMac = encodeRequest({ code: 43, identifier: 3, attributes: [{ type: 27, value: Buffer.from([0, 0, 14, 16]) }] }, SECRET, true);
  t.same(verifyRequest(withMac, 43, SECRET, true), { check: 'ok', hasMessageAuthenticator: true });
  const copy = Buffer.from(withMac);
  copy.fill(0, 4, 20);
  copy.fill(0, 22, 38);
  t.equal(withMac.subarray(22, 38).toString('hex'), createHmac('md5', SECRET).update(copy).digest('hex'));
  // Re-signing the authenticator over a broken Message-Authenticator is caught by the HMAC.
  const macWrong = Buffer.from(withMac);
  macWrong[30] = macWrong[30]! ^ 4;
  signComputedRequestAuthenticator(macWrong, SECRET);
  t.same(verifyRequest(macWrong, 43, SECRET, false), { check: 'bad_message_authenticator', hasMessageAuthenticator: true });
  t.end();
});

t.test('Access-Request and Status-Server checks (RFC 3579 §3.2, RFC 5997 §3)', (t) => {
  const req = encodeRequest({ code: 1, identifier: 1, attributes: [{ type: 1, value: Buffer.from('bob') }] }, SECRET);
  t.equal(req[20], 80, 'Message-Authenticator first');
  t.same(verifyRequest(req, 1, SECRET, true), { check: 'ok', hasMessageAuthenticator: true });
  t.same(verifyRequest(req, 1, Buffer.from('nope'), false), { check: 'bad_message_authenticator', hasMessageAuthenticator: true });

  const bare = encodePacket({ code: 1, identifier: 1, authenticator: RA, attributes: [{ type: 1, value: Buffer.from('bob') }] });
  t.same(verifyRequest(bare, 1, SECRET, false), { check: 'ok', hasMessageAuthenticator: false });
  t.same(verifyRequest(bare, 1, SECRET, true), { check: 'missing_message_authenticator', hasMessageAuthenticator: false });
  const status = encodePacket({ code: 12, identifier: 1, authenticator: RA, attributes: [] });
  t.same(verifyRequest(status, 12, SECRET, false), { check: 'missing_message_authenticator', hasMessageAuthenticator: false });

  // signMessageAuthenticator at an offset other than first.
  const last = encodePacket({
    code: 1,
    identifier: 2,
    authenticator: RA,
    attributes: [{ type: 1, value: Buffer.from('bob') }, { type: 80, value: Buffer.alloc(16) }],
  });
  const off = findMessageAuthenticatorOffset(last);
  t.equal(off, 27);
  signMessageAuthenticator(last, off, RA, SECRET);
  t.same(verifyRequest(last, 1, SECRET, true), { check: 'ok', hasMessageAuthenticator: true });
  t.end();
});
