/**
 * The front server's responses, encoded by ldapjs's message classes (RFC 4511 §4.1.9
 * LDAPResult, §4.12 ExtendedResponse, §4.4.1 Notice of Disconnection, §4.5.2 entries).
 * Pure: each function returns the bytes to write.
 */
import ldap from 'ldapjs';
import { Oid } from './result-codes.js';

interface Encodable {
  toBer(): { buffer: Buffer };
}
type Ctor = new (o: Record<string, unknown>) => Encodable;
const L = ldap as unknown as { LDAPResult: Ctor; ExtendedResponse: Ctor; SearchEntry: Ctor; Attribute: Ctor };

export interface Result {
  status: number;
  matchedDN?: string;
  diagnosticMessage?: string;
}

/** An LDAPResult-shaped response: bind, search done, modify, add, delete, modDN, compare. */
export function encodeResult(messageId: number, responseTag: number, r: Result): Buffer {
  return new L.LDAPResult({
    messageId,
    protocolOp: responseTag,
    status: r.status,
    matchedDN: r.matchedDN ?? '',
    diagnosticMessage: r.diagnosticMessage ?? '',
  }).toBer().buffer;
}

/** RFC 4511 §4.12 ExtendedResponse; `value` only when there is one (RFC 4532: "" for anonymous). */
export function encodeExtended(messageId: number, r: Result, value?: string, responseName?: string): Buffer {
  return new L.ExtendedResponse({
    messageId,
    status: r.status,
    matchedDN: r.matchedDN ?? '',
    diagnosticMessage: r.diagnosticMessage ?? '',
    ...(responseName !== undefined ? { responseName } : {}),
    ...(value !== undefined ? { responseValue: value } : {}),
  }).toBer().buffer;
}

/**
 * RFC 4511 §4.4.1 Notice of Disconnection: messageID 0, responseName 1.3.6.1.4.1.1466.20036,
 * resultCode protocolError, strongerAuthRequired or unavailable. The session ends after it.
 */
export function encodeNoticeOfDisconnection(status: number, diagnosticMessage: string): Buffer {
  return encodeExtended(0, { status, diagnosticMessage }, undefined, Oid.noticeOfDisconnection);
}

/** A search entry of our own (the root DSE). */
export function encodeEntry(messageId: number, dn: string, attributes: Record<string, string[]>): Buffer {
  return new L.SearchEntry({
    messageId,
    objectName: dn,
    attributes: Object.entries(attributes).map(([type, values]) => new L.Attribute({ type, values })),
  }).toBer().buffer;
}

/** A search entry or reference received from the directory, sent on under the client's message ID. */
export function reencode(message: unknown, messageId: number): Buffer {
  const m = message as Encodable & { messageId: number };
  m.messageId = messageId;
  return m.toBer().buffer;
}

