/**
 * What the session table reads off packets: one pass over the attributes, values copied into
 * strings and numbers (nothing keeps a view into the datagram). Pure.
 */
import { Attr } from '../radius/attribute-types.js';
import type { RawAttribute } from '../radius/packet.js';
import { bufferToIpv6 } from '../radius/values.js';

/** The NAS's identity and the station, as an Access-Request or an Accounting-Request carries them. */
export interface NasFacts {
  user: string | undefined;
  nasIpAddress: string | undefined;
  nasIpv6Address: string | undefined;
  nasIdentifier: string | undefined;
  nasPort: number | undefined;
  nasPortId: string | undefined;
  nasPortType: number | undefined;
  callingStationId: string | undefined;
  calledStationId: string | undefined;
  framedIpAddress: string | undefined;
  acctSessionId: string | undefined;
  acctMultiSessionId: string | undefined;
  class: string[] | undefined;
}

/** An Accounting-Request as the table uses it. */
export interface AccountingFacts extends NasFacts {
  /** Acct-Status-Type (RFC 2866 §5.1); 0 when absent. */
  status: number;
  sessionTime: number | undefined;
  inputOctets: number | undefined;
  outputOctets: number | undefined;
  inputPackets: number | undefined;
  outputPackets: number | undefined;
  terminateCause: number | undefined;
}

/** An Access-Accept as the table uses it. */
export interface AcceptFacts {
  user: string | undefined;
  framedIpAddress: string | undefined;
  class: string[] | undefined;
  state: string | undefined;
  sessionTimeout: number | undefined;
  idleTimeout: number | undefined;
  terminationAction: number | undefined;
  interimInterval: number | undefined;
}

export const AcctStatus = { Start: 1, Stop: 2, InterimUpdate: 3, AccountingOn: 7, AccountingOff: 8 } as const;

const u32 = (v: Buffer): number | undefined => (v.length === 4 ? v.readUInt32BE(0) : undefined);
const ipv4 = (v: Buffer): string | undefined => (v.length === 4 ? `${v[0]}.${v[1]}.${v[2]}.${v[3]}` : undefined);
const ipv6 = (v: Buffer): string | undefined => (v.length === 16 ? bufferToIpv6(v) : undefined);
const text = (v: Buffer): string => v.toString('utf8');
/** Acct-Session-Id is octets (RFC 2866 §5.5): latin1 keeps every byte, so the Stop we build carries the same ones. */
const octets = (v: Buffer): string => v.toString('latin1');

/** Every field present from the start (one object shape for all packets). */
function emptyNasFacts(): NasFacts {
  return {
    user: undefined,
    nasIpAddress: undefined,
    nasIpv6Address: undefined,
    nasIdentifier: undefined,
    nasPort: undefined,
    nasPortId: undefined,
    nasPortType: undefined,
    callingStationId: undefined,
    calledStationId: undefined,
    framedIpAddress: undefined,
    acctSessionId: undefined,
    acctMultiSessionId: undefined,
    class: undefined,
  };
}

export function readNasFacts(attributes: readonly RawAttribute[]): NasFacts {
  const f = emptyNasFacts();
  for (const a of attributes) readNasAttribute(f, a);
  return f;
}

function readNasAttribute(f: NasFacts, a: RawAttribute): boolean {
  const v = a.value;
  switch (a.type) {
    case Attr.UserName:
      f.user ??= text(v);
      return true;
    case Attr.NasIpAddress:
      f.nasIpAddress ??= ipv4(v);
      return true;
    case Attr.NasIpv6Address:
      f.nasIpv6Address ??= ipv6(v);
      return true;
    case Attr.NasIdentifier:
      f.nasIdentifier ??= text(v);
      return true;
    case Attr.NasPort:
      f.nasPort ??= u32(v);
      return true;
    case Attr.NasPortId:
      f.nasPortId ??= text(v);
      return true;
    case Attr.NasPortType:
      f.nasPortType ??= u32(v);
      return true;
    case Attr.CallingStationId:
      f.callingStationId ??= text(v);
      return true;
    case Attr.CalledStationId:
      f.calledStationId ??= text(v);
      return true;
    case Attr.FramedIpAddress:
      f.framedIpAddress ??= ipv4(v);
      return true;
    case Attr.AcctSessionId:
      f.acctSessionId ??= octets(v);
      return true;
    case Attr.AcctMultiSessionId:
      f.acctMultiSessionId ??= octets(v);
      return true;
    case Attr.Class:
      (f.class ??= []).push(v.toString('hex'));
      return true;
    default:
      return false;
  }
}

export function readAccountingFacts(attributes: readonly RawAttribute[]): AccountingFacts {
  const f: AccountingFacts = {
    ...emptyNasFacts(),
    status: 0,
    sessionTime: undefined,
    inputOctets: undefined,
    outputOctets: undefined,
    inputPackets: undefined,
    outputPackets: undefined,
    terminateCause: undefined,
  };
  let inputGigawords = 0;
  let outputGigawords = 0;
  for (const a of attributes) {
    if (readNasAttribute(f, a)) continue;
    const v = a.value;
    switch (a.type) {
      case Attr.AcctStatusType:
        f.status = u32(v) ?? 0;
        break;
      case Attr.AcctSessionTime:
        f.sessionTime = u32(v);
        break;
      case Attr.AcctInputOctets:
        f.inputOctets = u32(v);
        break;
      case Attr.AcctOutputOctets:
        f.outputOctets = u32(v);
        break;
      case Attr.AcctInputPackets:
        f.inputPackets = u32(v);
        break;
      case Attr.AcctOutputPackets:
        f.outputPackets = u32(v);
        break;
      // RFC 2869 §5.1, §5.2: how many times the 32-bit octet counter wrapped.
      case Attr.AcctInputGigawords:
        inputGigawords = u32(v) ?? 0;
        break;
      case Attr.AcctOutputGigawords:
        outputGigawords = u32(v) ?? 0;
        break;
      case Attr.AcctTerminateCause:
        f.terminateCause = u32(v);
        break;
    }
  }
  if (inputGigawords > 0) f.inputOctets = inputGigawords * 2 ** 32 + (f.inputOctets ?? 0);
  if (outputGigawords > 0) f.outputOctets = outputGigawords * 2 ** 32 + (f.outputOctets ?? 0);
  return f;
}

export function readAcceptFacts(attributes: readonly RawAttribute[]): AcceptFacts {
  const f: AcceptFacts = {
    user: undefined,
    framedIpAddress: undefined,
    class: undefined,
    state: undefined,
    sessionTimeout: undefined,
    idleTimeout: undefined,
    terminationAction: undefined,
    interimInterval: undefined,
  };
  for (const a of attributes) {
    const v = a.value;
    switch (a.type) {
      case Attr.UserName:
        f.user ??= text(v);
        break;
      case Attr.FramedIpAddress:
        f.framedIpAddress ??= ipv4(v);
        break;
      case Attr.Class:
        (f.class ??= []).push(v.toString('hex'));
        break;
      case Attr.State:
        f.state ??= v.toString('hex');
        break;
      case Attr.SessionTimeout:
        f.sessionTimeout ??= u32(v);
        break;
      case Attr.IdleTimeout:
        f.idleTimeout ??= u32(v);
        break;
      case Attr.TerminationAction:
        f.terminationAction ??= u32(v);
        break;
      case Attr.AcctInterimInterval:
        f.interimInterval ??= u32(v);
        break;
    }
  }
  return f;
}

/**
 * The NAS as matching sees it: the client's name, then the NAS's own identity (the first of
 * NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier), else the packet's source address. A NAS
 * behind one client entry (a prefix, or a proxy in front of many NASes) is told apart by what
 * it says it is; a NAS whose accounting leaves from another address than its Access-Requests
 * still matches as long as it names itself.
 */
export function nasKeyOf(client: string, f: NasFacts, sourceAddress: string): string {
  return `${client}/${f.nasIpAddress ?? f.nasIpv6Address ?? f.nasIdentifier ?? sourceAddress}`;
}

/** `user@realm` or `REALM\user` (as routing reads it). */
export function realmOf(user: string): string | undefined {
  const at = user.lastIndexOf('@');
  if (at >= 0) return user.slice(at + 1) || undefined;
  const backslash = user.indexOf('\\');
  return backslash > 0 ? user.slice(0, backslash) : undefined;
}
