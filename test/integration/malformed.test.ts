/**
 * Hostile and broken datagrams through the real daemon: each is dropped without an answer
 * and counted under its reason in aaaproxy_packets_dropped_total; the daemon keeps serving.
 * Also: a datagram from an address that is no configured client.
 */
import t from 'tap';
import { Attr } from '../../src/radius/attribute-types.js';
import { Code } from '../../src/radius/codes.js';
import { encodeRequest } from '../../src/radius/message.js';
import { hash, radclient, startDaemon } from '../helpers/daemon.js';
import { attr, papRequest, rawPacket, UdpPeer } from '../helpers/udp.js';

const d = await startDaemon(t, {
  users: `users:\n  hank:\n    password_hash: ${await hash('hank-pass')}\n`,
  // The harness default; spelled out because the Status-Server case relies on MA being checked anyway.
  requireMessageAuthenticator: 'no',
});
const bytes = (...b: number[]) => Buffer.from(b);

interface Case {
  name: string;
  packet: Buffer;
  reason: string;
  port?: 'auth' | 'acct';
}

const cases: Case[] = [
  { name: 'shorter than a header (19 octets)', packet: Buffer.alloc(19, 1), reason: 'packet_too_short' },
  { name: 'empty datagram', packet: Buffer.alloc(0), reason: 'packet_too_short' },
  { name: 'Length field below 20', packet: rawPacket(Code.AccessRequest, 1, Buffer.alloc(0), 19), reason: 'length_field_invalid' },
  { name: 'Length field above 4096', packet: rawPacket(Code.AccessRequest, 2, Buffer.alloc(4980), 5000), reason: 'packet_too_long' },
  { name: 'Length field past the end of the datagram', packet: rawPacket(Code.AccessRequest, 3, Buffer.alloc(0), 40), reason: 'length_exceeds_datagram' },
  { name: 'unknown code 99', packet: rawPacket(99, 4), reason: 'unknown_code' },
  { name: 'attribute header cut after the type octet', packet: rawPacket(Code.AccessRequest, 5, bytes(1)), reason: 'attribute_header_truncated' },
  { name: 'attribute length 0', packet: rawPacket(Code.AccessRequest, 6, bytes(1, 0, 0x61, 0x62)), reason: 'attribute_length_invalid' },
  { name: 'attribute length 1', packet: rawPacket(Code.AccessRequest, 7, bytes(1, 1, 0x61, 0x62)), reason: 'attribute_length_invalid' },
  { name: 'attribute overflowing the packet', packet: rawPacket(Code.AccessRequest, 8, bytes(1, 10, 0x61, 0x62)), reason: 'attribute_overflows_packet' },
  { name: 'Extended-Type attribute without its type octet', packet: rawPacket(Code.AccessRequest, 9, bytes(241, 2)), reason: 'extended_attribute_too_short' },
  { name: 'Long-Extended-Type attribute without its flags octet', packet: rawPacket(Code.AccessRequest, 10, bytes(245, 3, 1)), reason: 'extended_attribute_too_short' },
  { name: 'a reply code (Access-Accept) sent as a request', packet: rawPacket(Code.AccessAccept, 11), reason: 'unexpected_code' },
  { name: 'Accounting-Request on the auth port', packet: rawPacket(Code.AccountingRequest, 12), reason: 'unexpected_code' },
  { name: 'Access-Request on the acct port', packet: rawPacket(Code.AccessRequest, 13), reason: 'unexpected_code', port: 'acct' },
  {
    name: 'Message-Authenticator signed with another secret',
    packet: papRequest({ identifier: 14, user: 'hank', password: 'hank-pass', secret: 'some-other-secret' }),
    reason: 'bad_message_authenticator',
  },
  { name: 'Status-Server without Message-Authenticator (RFC 5997 §3)', packet: rawPacket(Code.StatusServer, 15), reason: 'missing_message_authenticator' },
  {
    name: 'Accounting-Request with a random Request Authenticator',
    packet: rawPacket(Code.AccountingRequest, 16, bytes(Attr.AcctStatusType, 6, 0, 0, 0, 1)),
    reason: 'bad_request_authenticator',
    port: 'acct',
  },
];

t.test('each malformed datagram is dropped and counted under its reason', async (t) => {
  const expected = new Map<string, number>();
  for (const c of cases) expected.set(c.reason, (expected.get(c.reason) ?? 0) + 1);
  for (const reason of expected.keys()) {
    t.equal(await d.metric('aaaproxy_packets_dropped_total', { reason }), 0, `${reason} starts at 0`);
  }
  const peer = await UdpPeer.open(t);
  for (const c of cases) await peer.send(c.packet, c.port === 'acct' ? d.acctPort : d.authPort);
  for (const [reason, n] of expected) {
    const v = await d.waitForMetric('aaaproxy_packets_dropped_total', { reason }, (v) => v >= n);
    t.equal(v, n, `${reason}: ${n} dropped (${cases.filter((c) => c.reason === reason).map((c) => c.name).join('; ')})`);
  }
  for (const reason of ['unknown_client', 'handler_failed']) {
    t.equal(await d.metric('aaaproxy_packets_dropped_total', { reason }), 0, `nothing counted as ${reason}`);
  }
  // A well-formed request from the same socket is still answered, and it is the only answer.
  await peer.send(papRequest({ identifier: 200, user: 'hank', password: 'hank-pass', secret: d.secret }), d.authPort);
  const reply = await peer.receive(2000);
  t.equal(reply?.[0], Code.AccessAccept, 'valid request answered');
  t.equal(reply?.[1], 200, 'and it is the answer to that request');
  t.equal(await peer.receive(50), undefined, 'no answer to any malformed datagram');
  const logged = await d.waitForLog((l) => l.msg === 'packet dropped' && l.reason === 'attribute_overflows_packet');
  t.equal(logged.client, 'loopback', 'drops are logged with the client');
});

t.test('octets past the Length field are padding and ignored (RFC 2865 §3)', async (t) => {
  const peer = await UdpPeer.open(t);
  const padded = Buffer.concat([papRequest({ identifier: 201, user: 'hank', password: 'hank-pass', secret: d.secret }), Buffer.alloc(13, 0xee)]);
  await peer.send(padded, d.authPort);
  const reply = await peer.receive(2000);
  t.equal(reply?.[0], Code.AccessAccept);
});

t.test('a valid radclient request afterwards is answered', async (t) => {
  const r = await radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: 'User-Name = hank, User-Password = "hank-pass"' });
  t.equal(r.code, 'Access-Accept', 'Access-Accept', { stdout: r.stdout });
  const s = await radclient({ port: d.acctPort, secret: d.secret, type: 'acct', attrs: 'Acct-Status-Type = Start, User-Name = hank, Acct-Session-Id = "m-1"' });
  t.equal(s.code, 'Accounting-Response', 'Accounting-Response', { stdout: s.stdout });
});

t.test('a datagram from an unknown client (127.0.0.2) is dropped unanswered', async (t) => {
  const stranger = await UdpPeer.open(t, '127.0.0.2');
  await stranger.send(papRequest({ identifier: 1, user: 'hank', password: 'hank-pass', secret: d.secret }), d.authPort);
  const acct = encodeRequest(
    { code: Code.AccountingRequest, identifier: 2, attributes: [attr(Attr.AcctStatusType, bytes(0, 0, 0, 1)), attr(Attr.UserName, 'hank')] },
    Buffer.from(d.secret),
  );
  await stranger.send(acct, d.acctPort);
  t.equal(await d.waitForMetric('aaaproxy_packets_dropped_total', { reason: 'unknown_client' }, (v) => v >= 2), 2, 'unknown_client counted twice');
  const line = await d.waitForLog((l) => l.msg === 'packet dropped' && l.reason === 'unknown_client');
  t.match(line.peer, /^127\.0\.0\.2:\d+$/, 'the log names the source');
  t.equal(await stranger.receive(200), undefined, 'no answer');
});
