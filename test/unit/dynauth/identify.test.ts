import t from 'tap';
import { Attr } from '../../../src/radius/attribute-types.js';
import { Code } from '../../../src/radius/codes.js';
import type { RawAttribute } from '../../../src/radius/packet.js';
import { ErrorCause } from '../../../src/dynauth/errors.js';
import {
  combine,
  disconnectAttributes,
  eventTimestampCurrent,
  groupByNas,
  hasSessionIdentification,
  identification,
  matchesIdentification,
  relayable,
  sessionQuery,
} from '../../../src/dynauth/identify.js';
import { sessionRecord } from '../../helpers/session-store-contract.js';

const text = (type: number, s: string): RawAttribute => ({ type, value: Buffer.from(s) });
const ip = (type: number, a: string): RawAttribute => ({ type, value: Buffer.from(a.split('.').map(Number)) });
const u32 = (type: number, n: number): RawAttribute => {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(n);
  return { type, value };
};
const causeOf = (attrs: RawAttribute[]) => attrs.find((a) => a.type === Attr.ErrorCause)?.value.readUInt32BE(0);

t.test('identification attributes (RFC 5176 §3) decoded and turned into a query', async (t) => {
  const id = identification([
    text(Attr.UserName, 'alice'),
    text(Attr.AcctSessionId, 'S1'),
    text(Attr.AcctMultiSessionId, 'M1'),
    ip(Attr.FramedIpAddress, '10.0.0.5'),
    text(Attr.CallingStationId, '02:00:5e:10:00:01'),
    ip(Attr.NasIpAddress, '192.0.2.10'),
    text(Attr.NasIdentifier, 'switch-1'),
  ]);
  t.same(id, {
    user: 'alice',
    acctSessionId: 'S1',
    acctMultiSessionId: 'M1',
    framedIpAddress: '10.0.0.5',
    callingStationId: '02:00:5e:10:00:01',
    nasIpAddress: '192.0.2.10',
    nasIpv6Address: undefined,
    nasIdentifier: 'switch-1',
  });
  t.equal(sessionQuery(id).nas, '192.0.2.10', 'the first NAS identity goes to the store');
  t.ok(hasSessionIdentification(id));
  t.notOk(hasSessionIdentification(identification([ip(Attr.NasIpAddress, '192.0.2.10')])), 'a NAS alone names no session');
  t.notOk(hasSessionIdentification(identification([])));
});

t.test('matching a request to sessions', async (t) => {
  const now = 1_700_000_000_000;
  const r = sessionRecord(now, { user: 'alice', acctSessionId: 'S1', callingStationId: '02-00-5E-10-00-01', framedIpAddress: '10.0.0.5' });
  const m = (attrs: RawAttribute[]) => matchesIdentification(r, identification(attrs));
  t.ok(m([text(Attr.UserName, 'alice')]));
  t.ok(m([text(Attr.CallingStationId, '0200.5e10.0001')]), 'MAC in any spelling');
  t.ok(m([text(Attr.UserName, 'alice'), ip(Attr.NasIpAddress, '192.0.2.10'), text(Attr.NasIdentifier, 'switch-1')]), 'every NAS identity checked');
  t.notOk(m([text(Attr.UserName, 'alice'), text(Attr.NasIdentifier, 'switch-2')]), 'another NAS');
  t.notOk(m([text(Attr.UserName, 'alice'), text(Attr.AcctSessionId, 'S2')]), 'all given attributes must match');
  t.notOk(m([ip(Attr.FramedIpAddress, '10.0.0.6')]));
  const other = sessionRecord(now, { client: 'nas-2', nasAddress: '127.0.0.2' });
  const same = sessionRecord(now);
  const groups = groupByNas([r, other, same]);
  t.same([...groups.values()].map((g) => g.map((x) => x.id)), [[r.id, same.id], [other.id]], 'one request per NAS');
});

t.test('Event-Timestamp window (RFC 5176 §3.5)', async (t) => {
  const now = 1_700_000_000_000;
  const at = (s: number) => [u32(Attr.EventTimestamp, s)];
  t.ok(eventTimestampCurrent([], now, 300), 'absent: current');
  t.ok(eventTimestampCurrent(at(now / 1000 - 300), now, 300));
  t.ok(eventTimestampCurrent(at(now / 1000 + 300), now, 300));
  t.notOk(eventTimestampCurrent(at(now / 1000 - 301), now, 300));
  t.notOk(eventTimestampCurrent(at(now / 1000 + 301), now, 300));
  t.notOk(eventTimestampCurrent([{ type: Attr.EventTimestamp, value: Buffer.alloc(3) }], now, 300), 'malformed');
});

t.test('answers: ACK only when every NAS ACKed, NAKs relayed, our Error-Causes', async (t) => {
  const nasNak = [u32(Attr.ErrorCause, 504)];
  const ackAttr = [text(Attr.ReplyMessage, 'bye')];
  t.same(combine(Code.DisconnectRequest, [{ kind: 'ack', attributes: ackAttr }]), { code: Code.DisconnectAck, attributes: ackAttr, result: 'ack' });
  t.same(combine(Code.CoARequest, [{ kind: 'ack', attributes: ackAttr }, { kind: 'ack', attributes: [] }]), { code: Code.CoAAck, attributes: [], result: 'ack' });
  const nak = combine(Code.DisconnectRequest, [{ kind: 'ack', attributes: [] }, { kind: 'timeout' }, { kind: 'nak', attributes: nasNak }]);
  t.equal(nak.code, Code.DisconnectNak);
  t.equal(causeOf(nak.attributes), 504, "the NAS's Error-Cause relayed");
  const silent = combine(Code.CoARequest, [{ kind: 'ack', attributes: [] }, { kind: 'timeout' }]);
  t.same([silent.code, causeOf(silent.attributes), silent.result], [Code.CoANak, ErrorCause.ResourcesUnavailable, 'nas_timeout']);
  const gone = combine(Code.DisconnectRequest, [{ kind: 'not_routable' }]);
  t.same([gone.code, causeOf(gone.attributes), gone.result], [Code.DisconnectNak, ErrorCause.RequestNotRoutable, 'not_routable']);
  t.same(
    relayable([text(Attr.UserName, 'a'), text(Attr.ProxyState, 'p'), { type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }]).map((a) => a.type),
    [Attr.UserName],
    'Proxy-State and Message-Authenticator are per hop',
  );
});

t.test('the Disconnect-Request for a session aaaproxy ended names it and its NAS', async (t) => {
  const now = 1_700_000_000_000;
  const r = sessionRecord(now, { user: 'alice', acctSessionId: 'S1', callingStationId: '02-00-5E-10-00-01', framedIpAddress: '10.0.0.5', acctMultiSessionId: undefined });
  const attrs = disconnectAttributes(r, now);
  const id = identification(attrs);
  t.same(id, {
    user: 'alice',
    acctSessionId: 'S1',
    acctMultiSessionId: undefined,
    framedIpAddress: '10.0.0.5',
    callingStationId: '02-00-5E-10-00-01',
    nasIpAddress: '192.0.2.10',
    nasIpv6Address: undefined,
    nasIdentifier: 'switch-1',
  });
  t.ok(matchesIdentification(r, id), 'and matches the session it came from');
  t.ok(eventTimestampCurrent(attrs, now, 0), 'Event-Timestamp is now');
});
