import t from 'tap';
import radius from 'radius';
import { createHash, createHmac } from 'node:crypto';
import { encodeUpstreamAccountingRequest } from '../../../src/accounting/upstream-request.js';
import { Attr } from '../../../src/radius/attribute-types.js';
import { Code } from '../../../src/radius/codes.js';
import { encodeRequest, verifyRequest } from '../../../src/radius/message.js';
import { decodePacket, type RawAttribute } from '../../../src/radius/packet.js';

const NAS_SECRET = Buffer.from('nas-secret');
const UPSTREAM_SECRET = 'upstream-secret, longer than sixteen octets';
const OURS = Buffer.from('0a0b0c0d00000007', 'hex');

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (s: string) => Buffer.from(s);

function nasRequest(attributes: RawAttribute[], withMac = true): Buffer {
  return encodeRequest({ code: Code.AccountingRequest, identifier: 9, attributes }, NAS_SECRET, withMac);
}

function upstream(nas: Buffer, waited: number, identifier = 77): RawAttribute[] {
  const out = encodeUpstreamAccountingRequest(nas, identifier, waited, OURS, Buffer.from(UPSTREAM_SECRET));
  // For accounting, verifyRequest checks the Request Authenticator and a Message-Authenticator if there is one.
  const check = verifyRequest(out, Code.AccountingRequest, Buffer.from(UPSTREAM_SECRET), false);
  if (check.check !== 'ok') throw new Error(`upstream copy does not verify: ${check.check}`);
  const d = decodePacket(out);
  if (!d.ok) throw new Error(d.reason);
  if (d.packet.identifier !== identifier) throw new Error('identifier not set');
  return d.packet.attributes;
}

const session = str('0000000000000abc');

t.test('Acct-Delay-Time grows in place; Message-Authenticator first, our Proxy-State last, the rest untouched', async (t) => {
  const nas = nasRequest([
    { type: Attr.UserName, value: str('alice') },
    { type: Attr.AcctStatusType, value: u32(1) },
    { type: Attr.AcctDelayTime, value: u32(5) },
    { type: Attr.AcctSessionId, value: session },
    { type: Attr.ProxyState, value: str('from-nas') },
  ]);
  const out = upstream(nas, 12);
  t.same(
    out.map((a) => a.type),
    [Attr.MessageAuthenticator, Attr.UserName, Attr.AcctStatusType, Attr.AcctDelayTime, Attr.AcctSessionId, Attr.ProxyState, Attr.ProxyState],
  );
  t.same(out[3]!.value, u32(17), '5 s from the NAS plus 12 s spooled');
  t.same(out[5]!.value, str('from-nas'), "the NAS's Proxy-State passes unchanged");
  t.same(out[6]!.value, OURS);

  // Checked again without our codec: node-radius reads the attributes, node:crypto the signatures.
  const wire = encodeUpstreamAccountingRequest(nas, 3, 12, OURS, Buffer.from(UPSTREAM_SECRET));
  const theirs = radius.decode_without_secret({ packet: wire });
  t.equal(theirs.code, 'Accounting-Request');
  t.equal(theirs.attributes['Acct-Delay-Time'], 17);
  t.equal(theirs.attributes['User-Name'], 'alice');
  const zeroed = Buffer.from(wire);
  zeroed.fill(0, 4, 20);
  t.same(wire.subarray(4, 20), createHash('md5').update(zeroed).update(UPSTREAM_SECRET).digest(), 'Request Authenticator (RFC 2866 §3)');
  zeroed.fill(0, 22, 38);
  t.same(wire.subarray(22, 38), createHmac('md5', UPSTREAM_SECRET).update(zeroed).digest(), 'Message-Authenticator over zeros (RFC 5176 §3.1)');
});

t.test('Acct-Delay-Time added when the NAS sent none; later duplicates dropped; a malformed one counts as 0', async (t) => {
  const none = upstream(nasRequest([{ type: Attr.AcctStatusType, value: u32(3) }], false), 4);
  t.same(
    none.map((a) => [a.type, a.value.toString('hex')]),
    [
      [Attr.AcctStatusType, '00000003'],
      [Attr.AcctDelayTime, '00000004'],
      [Attr.ProxyState, OURS.toString('hex')],
    ],
  );

  const twice = upstream(nasRequest([{ type: Attr.AcctDelayTime, value: u32(2) }, { type: Attr.AcctDelayTime, value: u32(900) }]), 1);
  t.same(twice.filter((a) => a.type === Attr.AcctDelayTime).map((a) => a.value), [u32(3)], 'the first counts, the second is dropped');

  const malformed = upstream(nasRequest([{ type: Attr.AcctDelayTime, value: Buffer.from([0, 0, 9]) }]), 6);
  t.same(malformed.filter((a) => a.type === Attr.AcctDelayTime).map((a) => a.value), [u32(6)], 'rewritten as a 4-octet value');

  const saturated = upstream(nasRequest([{ type: Attr.AcctDelayTime, value: u32(0xfffffff0) }]), 1000);
  t.same(saturated.find((a) => a.type === Attr.AcctDelayTime)!.value, u32(0xffffffff), 'stops at the largest value');
});

t.test('a NAS Message-Authenticator anywhere is replaced by ours, computed with zeros as authenticator (RFC 5176 §3.1)', async (t) => {
  const nas = nasRequest([{ type: Attr.AcctStatusType, value: u32(2) }], true);
  // Moved from first to last, where ours must not be.
  const last = Buffer.concat([nas.subarray(0, 20), nas.subarray(38), nas.subarray(20, 38)]);
  for (const [name, packet] of [['first', nas], ['last', last]] as const) {
    const wire = encodeUpstreamAccountingRequest(packet, 4, 0, OURS, Buffer.from(UPSTREAM_SECRET));
    t.equal(verifyRequest(wire, Code.AccountingRequest, Buffer.from(UPSTREAM_SECRET), true).check, 'ok', `NAS's ${name}: ours verifies`);
    const out = upstream(packet, 0);
    t.equal(out.filter((a) => a.type === Attr.MessageAuthenticator).length, 1, `NAS's ${name}: one`);
    t.equal(out[0]!.type, Attr.MessageAuthenticator, `NAS's ${name}: ours is first`);
  }
});

t.test('a NAS request without Message-Authenticator goes upstream without one (accounting does not use it)', async (t) => {
  const nas = nasRequest([{ type: Attr.UserName, value: str('alice') }, { type: Attr.AcctStatusType, value: u32(1) }], false);
  const wire = encodeUpstreamAccountingRequest(nas, 8, 0, OURS, Buffer.from(UPSTREAM_SECRET));
  t.equal(verifyRequest(wire, Code.AccountingRequest, Buffer.from(UPSTREAM_SECRET), false).check, 'ok', 'the Request Authenticator verifies');
  t.same(
    upstream(nas, 0).map((a) => a.type),
    [Attr.UserName, Attr.AcctStatusType, Attr.AcctDelayTime, Attr.ProxyState],
    'no Message-Authenticator; only Acct-Delay-Time and Proxy-State added',
  );
  t.equal(wire.length, nas.length + 6 + 2 + OURS.length);
});

t.test('a result past 4096 octets is refused', async (t) => {
  const classes: RawAttribute[] = [];
  for (let n = 0; n < 15; n++) classes.push({ type: Attr.Class, value: Buffer.alloc(253, n) });
  // 20 + 18 (Message-Authenticator) + 15 x 255 + 233 = 4096; ours adds Acct-Delay-Time and Proxy-State
  // (the Message-Authenticator is replaced, not added).
  classes.push({ type: Attr.Class, value: Buffer.alloc(231) });
  const nas = nasRequest(classes, true);
  t.equal(nas.length, 4096, 'the NAS packet is at the limit');
  t.throws(() => encodeUpstreamAccountingRequest(nas, 1, 0, OURS, Buffer.from(UPSTREAM_SECRET)), { code: 'AAA_ERR_PACKET_TOO_LONG', message: 'packet would be 4112 octets, limit is 4096' });
});

t.test("the route's stripped User-Name and the server's NAS identity replace the NAS's, as for Access-Requests", async (t) => {
  const nas = nasRequest([
    { type: Attr.NasIdentifier, value: str('nas-7') },
    { type: Attr.UserName, value: str('bob@example.com') },
    { type: Attr.AcctSessionId, value: session },
    { type: Attr.NasIpAddress, value: Buffer.from([192, 0, 2, 7]) },
    { type: Attr.UserName, value: str('second') },
  ]);
  const wire = encodeUpstreamAccountingRequest(nas, 5, 0, OURS, Buffer.from(UPSTREAM_SECRET), {
    userName: str('bob'),
    nasIdentifier: str('proxy-1'),
    nasIpAddress: Buffer.from([198, 51, 100, 1]),
  });
  t.equal(verifyRequest(wire, Code.AccountingRequest, Buffer.from(UPSTREAM_SECRET), true).check, 'ok');
  const d = decodePacket(wire);
  if (!d.ok) throw new Error(d.reason);
  t.same(
    d.packet.attributes.map((a) => [a.type, a.value.toString('hex')]).slice(1),
    [
      [Attr.UserName, str('bob').toString('hex')],
      [Attr.AcctSessionId, session.toString('hex')],
      [Attr.AcctDelayTime, '00000000'],
      [Attr.NasIdentifier, str('proxy-1').toString('hex')],
      [Attr.NasIpAddress, 'c6336401'],
      [Attr.ProxyState, OURS.toString('hex')],
    ],
    'User-Name replaced where it was (the second dropped); the NAS identity dropped and ours added before Proxy-State',
  );
  const theirs = radius.decode_without_secret({ packet: wire });
  t.equal(theirs.attributes['User-Name'], 'bob');
  t.equal(theirs.attributes['NAS-IP-Address'], '198.51.100.1');
});
