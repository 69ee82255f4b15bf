/**
 * Signing and verifying whole messages: which authenticator each code uses and where
 * Message-Authenticator goes. Built on the wire helpers in packet.ts and crypto.ts.
 */
import { Code, hasComputedRequestAuthenticator } from './codes.js';
import { HEADER_LENGTH, encodePacket, type RawAttribute } from './packet.js';
import {
  ZERO_AUTHENTICATOR,
  findMessageAuthenticatorOffset,
  randomAuthenticator,
  signComputedRequestAuthenticator,
  signMessageAuthenticator,
  signResponseAuthenticator,
  verifyComputedRequestAuthenticator,
  verifyMessageAuthenticator,
  verifyResponseAuthenticator,
} from './crypto.js';

/** Offset of the Message-Authenticator value when it is written first. */
const FIRST_MAC_VALUE_OFFSET = HEADER_LENGTH + 2;

export interface ResponseSpec {
  code: number;
  identifier: number;
  attributes: RawAttribute[];
}

/** Access-Accept/Reject/Challenge always carry Message-Authenticator (BlastRADIUS, RFC 3579 §3.2). */
export function responseNeedsMessageAuthenticator(code: number): boolean {
  return code === Code.AccessAccept || code === Code.AccessReject || code === Code.AccessChallenge;
}

/**
 * Encodes a response: Message-Authenticator first where required (HMAC keyed with the
 * request's authenticator), then the Response Authenticator (RFC 2865 §3).
 */
export function encodeResponse(
  spec: ResponseSpec,
  requestAuthenticator: Buffer,
  secret: Buffer,
  withMessageAuthenticator = responseNeedsMessageAuthenticator(spec.code),
): Buffer {
  const buf = encodePacket(
    { code: spec.code, identifier: spec.identifier, authenticator: requestAuthenticator, attributes: spec.attributes },
    { messageAuthenticatorFirst: withMessageAuthenticator },
  );
  if (withMessageAuthenticator) signMessageAuthenticator(buf, FIRST_MAC_VALUE_OFFSET, requestAuthenticator, secret);
  signResponseAuthenticator(buf, secret);
  return buf;
}

export interface RequestSpec {
  code: number;
  identifier: number;
  attributes: RawAttribute[];
  /** Access-Request/Status-Server: the random authenticator User-Password was hidden with. */
  authenticator?: Buffer;
}

/**
 * Encodes a request. Access-Request and Status-Server get a random authenticator and
 * Message-Authenticator first (RFC 5997 §3 requires it on Status-Server); Accounting,
 * Disconnect and CoA get the computed Request Authenticator, after the optional
 * Message-Authenticator keyed over a zeroed authenticator (RFC 5176 §3.1).
 */
export function encodeRequest(spec: RequestSpec, secret: Buffer, withMessageAuthenticator = true): Buffer {
  if (hasComputedRequestAuthenticator(spec.code)) {
    const buf = encodePacket(
      { code: spec.code, identifier: spec.identifier, authenticator: ZERO_AUTHENTICATOR, attributes: spec.attributes },
      { messageAuthenticatorFirst: withMessageAuthenticator },
    );
    if (withMessageAuthenticator) signMessageAuthenticator(buf, FIRST_MAC_VALUE_OFFSET, ZERO_AUTHENTICATOR, secret);
    signComputedRequestAuthenticator(buf, secret);
    return buf;
  }
  const authenticator = spec.authenticator ?? randomAuthenticator();
  const buf = encodePacket(
    { code: spec.code, identifier: spec.identifier, authenticator, attributes: spec.attributes },
    { messageAuthenticatorFirst: true },
  );
  signMessageAuthenticator(buf, FIRST_MAC_VALUE_OFFSET, authenticator, secret);
  return buf;
}

export type RequestCheck =
  | 'ok'
  | 'bad_request_authenticator'
  | 'bad_message_authenticator'
  | 'missing_message_authenticator';

export interface RequestCheckResult {
  check: RequestCheck;
  hasMessageAuthenticator: boolean;
}

/**
 * Verifies a received request with the client's secret. Message-Authenticator is required
 * when `requireMessageAuthenticator` is set, and always on Status-Server (RFC 5997 §3).
 */
export function verifyRequest(buf: Buffer, code: number, secret: Buffer, requireMessageAuthenticator: boolean): RequestCheckResult {
  const macOffset = findMessageAuthenticatorOffset(buf);
  const hasMac = macOffset >= 0;
  if (hasComputedRequestAuthenticator(code)) {
    if (!verifyComputedRequestAuthenticator(buf, secret)) return { check: 'bad_request_authenticator', hasMessageAuthenticator: hasMac };
    if (hasMac && !verifyMessageAuthenticator(buf, macOffset, ZERO_AUTHENTICATOR, secret)) {
      return { check: 'bad_message_authenticator', hasMessageAuthenticator: true };
    }
    return { check: 'ok', hasMessageAuthenticator: hasMac };
  }
  if (!hasMac) {
    const required = requireMessageAuthenticator || code === Code.StatusServer;
    return { check: required ? 'missing_message_authenticator' : 'ok', hasMessageAuthenticator: false };
  }
  const ok = verifyMessageAuthenticator(buf, macOffset, buf.subarray(4, HEADER_LENGTH), secret);
  return { check: ok ? 'ok' : 'bad_message_authenticator', hasMessageAuthenticator: true };
}

export type ResponseCheck = 'ok' | 'bad_response_authenticator' | 'bad_message_authenticator' | 'missing_message_authenticator';

/** Verifies a reply to a request we sent (RFC 2865 §3, RFC 3579 §3.2). */
export function verifyResponse(
  buf: Buffer,
  requestAuthenticator: Buffer,
  secret: Buffer,
  requireMessageAuthenticator: boolean,
): ResponseCheck {
  if (!verifyResponseAuthenticator(buf, requestAuthenticator, secret)) return 'bad_response_authenticator';
  const macOffset = findMessageAuthenticatorOffset(buf);
  if (macOffset < 0) return requireMessageAuthenticator ? 'missing_message_authenticator' : 'ok';
  return verifyMessageAuthenticator(buf, macOffset, requestAuthenticator, secret) ? 'ok' : 'bad_message_authenticator';
}
