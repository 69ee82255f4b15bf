/**
 * Pure parts of dynamic authorization (RFC 5176): which sessions a request names, whether its
 * Event-Timestamp is current, and how the NASes' answers combine into one. No I/O.
 */
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { findAttribute, type RawAttribute } from '../radius/packet.js';
import { bufferToIpv6 } from '../radius/values.js';
import { normalizeStationId, type SessionQuery, type SessionRecord } from '../session/types.js';
import { ErrorCause, type DynauthResult } from './errors.js';

/** The identification attributes of a Disconnect/CoA request (RFC 5176 §3), decoded. */
export interface Identification {
  user?: string | undefined;
  acctSessionId?: string | undefined;
  acctMultiSessionId?: string | undefined;
  framedIpAddress?: string | undefined;
  callingStationId?: string | undefined;
  nasIpAddress?: string | undefined;
  nasIpv6Address?: string | undefined;
  nasIdentifier?: string | undefined;
}

export function identification(attributes: readonly RawAttribute[]): Identification {
  const text = (type: number) => findAttribute(attributes, type)?.toString('utf8');
  const ipv4 = (type: number) => {
    const v = findAttribute(attributes, type);
    return v?.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined;
  };
  const v6 = findAttribute(attributes, Attr.NasIpv6Address);
  return {
    user: text(Attr.UserName),
    acctSessionId: text(Attr.AcctSessionId),
    acctMultiSessionId: text(Attr.AcctMultiSessionId),
    framedIpAddress: ipv4(Attr.FramedIpAddress),
    callingStationId: text(Attr.CallingStationId),
    nasIpAddress: ipv4(Attr.NasIpAddress),
    nasIpv6Address: v6?.length === 16 ? bufferToIpv6(v6) : undefined,
    nasIdentifier: text(Attr.NasIdentifier),
  };
}

/** True when the request names a session (not only a NAS): RFC 5176 §3 session identification. */
export function hasSessionIdentification(id: Identification): boolean {
  return (
    id.user !== undefined ||
    id.acctSessionId !== undefined ||
    id.acctMultiSessionId !== undefined ||
    id.framedIpAddress !== undefined ||
    id.callingStationId !== undefined
  );
}

/** The store query for a request: every session attribute given must match (AND), and the first NAS identity. */
export function sessionQuery(id: Identification): SessionQuery {
  return {
    user: id.user,
    acctSessionId: id.acctSessionId,
    acctMultiSessionId: id.acctMultiSessionId,
    framedIpAddress: id.framedIpAddress,
    callingStationId: id.callingStationId,
    nas: id.nasIpAddress ?? id.nasIpv6Address ?? id.nasIdentifier,
  };
}

/** Whether a record matches every identification attribute given (the store's answer, checked again for all NAS identities). */
export function matchesIdentification(r: SessionRecord, id: Identification): boolean {
  if (id.user !== undefined && r.user !== id.user) return false;
  if (id.acctSessionId !== undefined && r.acctSessionId !== id.acctSessionId) return false;
  if (id.acctMultiSessionId !== undefined && r.acctMultiSessionId !== id.acctMultiSessionId) return false;
  if (id.framedIpAddress !== undefined && r.framedIpAddress !== id.framedIpAddress) return false;
  if (id.callingStationId !== undefined && (r.callingStationId === undefined || normalizeStationId(r.callingStationId) !== normalizeStationId(id.callingStationId))) return false;
  const nasIds = [r.nasKey, r.nasAddress, r.nasIpAddress, r.nasIpv6Address, r.nasIdentifier];
  for (const want of [id.nasIpAddress, id.nasIpv6Address, id.nasIdentifier]) if (want !== undefined && !nasIds.includes(want)) return false;
  return true;
}

/** The matched sessions grouped by the NAS that holds them (client and source address): one request per NAS. */
export function groupByNas(records: readonly SessionRecord[]): Map<string, SessionRecord[]> {
  const out = new Map<string, SessionRecord[]>();
  for (const r of records) {
    const key = `${r.client}|${r.nasAddress}`;
    const list = out.get(key);
    if (list) list.push(r);
    else out.set(key, [r]);
  }
  return out;
}

/**
 * RFC 5176 §3.5: when Event-Timestamp is present it must be current within the window (300 s
 * recommended), else the request is silently discarded. Without one the request is current.
 */
export function eventTimestampCurrent(attributes: readonly RawAttribute[], nowMs: number, windowSeconds: number): boolean {
  const v = findAttribute(attributes, Attr.EventTimestamp);
  if (v === undefined) return true;
  if (v.length !== 4) return false;
  return Math.abs(nowMs / 1000 - v.readUInt32BE(0)) <= windowSeconds;
}

export function ackCode(requestCode: number): number {
  return requestCode === Code.DisconnectRequest ? Code.DisconnectAck : Code.CoAAck;
}

export function nakCode(requestCode: number): number {
  return requestCode === Code.DisconnectRequest ? Code.DisconnectNak : Code.CoANak;
}

export function errorCauseAttribute(cause: number): RawAttribute {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(cause, 0);
  return { type: Attr.ErrorCause, value };
}

/** What one NAS answered (its reply attributes without Proxy-State and Message-Authenticator). */
export type NasOutcome =
  | { kind: 'ack'; attributes: RawAttribute[] }
  | { kind: 'nak'; attributes: RawAttribute[] }
  | { kind: 'timeout' }
  | { kind: 'not_routable' };

export interface Answer {
  code: number;
  attributes: RawAttribute[];
  result: DynauthResult;
}

/** Our own NAK with one Error-Cause. */
export function nakWith(requestCode: number, cause: number, result: DynauthResult): Answer {
  return { code: nakCode(requestCode), attributes: [errorCauseAttribute(cause)], result };
}

/**
 * Combines the NASes' answers into the one the requester gets: an ACK only if every NAS ACKed
 * (with the attributes of a single NAS's ACK relayed); otherwise the first NAK as the NAS sent
 * it (its Error-Cause relayed), else our NAK for a silent NAS (506 Resources Unavailable) or an
 * unknown one (502 Request Not Routable).
 */
export function combine(requestCode: number, outcomes: readonly NasOutcome[]): Answer {
  if (outcomes.length > 0 && outcomes.every((o) => o.kind === 'ack')) {
    const attributes = outcomes.length === 1 ? (outcomes[0] as { attributes: RawAttribute[] }).attributes : [];
    return { code: ackCode(requestCode), attributes, result: 'ack' };
  }
  const nak = outcomes.find((o) => o.kind === 'nak');
  if (nak && nak.kind === 'nak') return { code: nakCode(requestCode), attributes: nak.attributes, result: 'nak' };
  if (outcomes.some((o) => o.kind === 'timeout')) return nakWith(requestCode, ErrorCause.ResourcesUnavailable, 'nas_timeout');
  return nakWith(requestCode, ErrorCause.RequestNotRoutable, 'not_routable');
}

/**
 * The Disconnect-Request aaaproxy makes itself for a session it ended (RFC 5176 §3: session
 * and NAS identification from the record; Event-Timestamp now, §3.5).
 */
export function disconnectAttributes(r: SessionRecord, nowMs: number): RawAttribute[] {
  const out: RawAttribute[] = [];
  const text = (type: number, v: string | undefined) => {
    if (v !== undefined && v !== '') out.push({ type, value: Buffer.from(v, 'utf8') });
  };
  const ipv4 = (type: number, v: string | undefined) => {
    const parts = v?.split('.').map(Number);
    if (parts?.length === 4 && parts.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) out.push({ type, value: Buffer.from(parts) });
  };
  text(Attr.UserName, r.user);
  text(Attr.AcctSessionId, r.acctSessionId);
  text(Attr.AcctMultiSessionId, r.acctMultiSessionId);
  ipv4(Attr.NasIpAddress, r.nasIpAddress);
  text(Attr.NasIdentifier, r.nasIdentifier);
  text(Attr.CallingStationId, r.callingStationId);
  ipv4(Attr.FramedIpAddress, r.framedIpAddress);
  const ts = Buffer.alloc(4);
  ts.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 0);
  out.push({ type: Attr.EventTimestamp, value: ts });
  return out;
}

/** Attributes relayed between hops: not Proxy-State (per hop, RFC 2865 §5.33) nor Message-Authenticator (re-signed). */
export function relayable(attributes: readonly RawAttribute[]): RawAttribute[] {
  return attributes.filter((a) => a.type !== Attr.ProxyState && a.type !== Attr.MessageAuthenticator);
}
