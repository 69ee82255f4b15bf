/**
 * The Accounting-Request Stop the table sends when it ends a session itself (missed interims,
 * Session-Timeout, Idle-Timeout), built from the session record: what the NAS's own Stop would
 * have carried, as far as the table knows it (RFC 2866 §5, RFC 2869 §5.1-5.2). Pure.
 */
import { Attr } from '../radius/attribute-types.js';
import type { RawAttribute } from '../radius/packet.js';
import { ipv6ToBuffer } from '../radius/values.js';
import { terminateCauseValue, type EndCause, type SessionRecord } from './types.js';
import { AcctStatus } from './attributes.js';

const u32 = (type: number, n: number): RawAttribute => {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(Math.min(0xffffffff, Math.max(0, Math.floor(n))));
  return { type, value };
};
const text = (type: number, s: string): RawAttribute => ({ type, value: Buffer.from(s, 'utf8') });

/** A 64-bit counter as Octets (low 32 bits) and, when it wrapped, Gigawords (RFC 2869 §5.1). */
function counter(out: RawAttribute[], octetsType: number, gigawordsType: number, n: number): void {
  const gigawords = Math.floor(n / 2 ** 32);
  out.push(u32(octetsType, n - gigawords * 2 ** 32));
  if (gigawords > 0) out.push(u32(gigawordsType, gigawords));
}

/**
 * Acct-Session-Time: for a lost session, what the NAS last reported (or start to last
 * record): the table cannot know that it lasted any longer. For a session the table times out,
 * from the accounting start until now.
 */
function sessionTime(r: SessionRecord, cause: EndCause, now: number): number {
  const from = r.acctStartedAt ?? r.startedAt;
  if (cause === 'lost-service') return r.sessionTime ?? Math.max(0, (r.lastUpdateAt - from) / 1000);
  return Math.max(r.sessionTime ?? 0, (now - from) / 1000);
}

export function buildStop(r: SessionRecord, cause: EndCause, now: number): RawAttribute[] {
  const out: RawAttribute[] = [u32(Attr.AcctStatusType, AcctStatus.Stop), text(Attr.UserName, r.user)];
  if (r.acctSessionId !== undefined) out.push({ type: Attr.AcctSessionId, value: Buffer.from(r.acctSessionId, 'latin1') });
  if (r.acctMultiSessionId !== undefined) out.push({ type: Attr.AcctMultiSessionId, value: Buffer.from(r.acctMultiSessionId, 'latin1') });
  if (r.nasIpAddress !== undefined) out.push({ type: Attr.NasIpAddress, value: Buffer.from(r.nasIpAddress.split('.').map(Number)) });
  const v6 = r.nasIpv6Address === undefined ? undefined : ipv6ToBuffer(r.nasIpv6Address);
  if (v6) out.push({ type: Attr.NasIpv6Address, value: v6 });
  if (r.nasIdentifier !== undefined) out.push(text(Attr.NasIdentifier, r.nasIdentifier));
  if (r.nasPort !== undefined) out.push(u32(Attr.NasPort, r.nasPort));
  if (r.nasPortId !== undefined) out.push(text(Attr.NasPortId, r.nasPortId));
  if (r.nasPortType !== undefined) out.push(u32(Attr.NasPortType, r.nasPortType));
  if (r.calledStationId !== undefined) out.push(text(Attr.CalledStationId, r.calledStationId));
  if (r.callingStationId !== undefined) out.push(text(Attr.CallingStationId, r.callingStationId));
  if (r.framedIpAddress !== undefined) out.push({ type: Attr.FramedIpAddress, value: Buffer.from(r.framedIpAddress.split('.').map(Number)) });
  // RFC 2865 §5.25: the NAS sends the Access-Accept's Class unmodified in accounting.
  for (const c of r.class ?? []) out.push({ type: Attr.Class, value: Buffer.from(c, 'hex') });
  out.push(u32(Attr.AcctSessionTime, sessionTime(r, cause, now)));
  counter(out, Attr.AcctInputOctets, Attr.AcctInputGigawords, r.inputOctets);
  counter(out, Attr.AcctOutputOctets, Attr.AcctOutputGigawords, r.outputOctets);
  out.push(u32(Attr.AcctInputPackets, r.inputPackets));
  out.push(u32(Attr.AcctOutputPackets, r.outputPackets));
  const value = terminateCauseValue(cause);
  if (value !== undefined) out.push(u32(Attr.AcctTerminateCause, value));
  out.push(u32(Attr.EventTimestamp, now / 1000));
  return out;
}
