/**
 * RADIUS packet codes: RFC 2865 §3, RFC 2866 §4, RFC 5176 §3, RFC 5997 §3.
 */
export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
  StatusClient: 13,
  DisconnectRequest: 40,
  DisconnectAck: 41,
  DisconnectNak: 42,
  CoARequest: 43,
  CoAAck: 44,
  CoANak: 45,
} as const;

export type CodeNumber = (typeof Code)[keyof typeof Code];

const CODE_NAMES = new Map<number, string>([
  [1, 'Access-Request'],
  [2, 'Access-Accept'],
  [3, 'Access-Reject'],
  [4, 'Accounting-Request'],
  [5, 'Accounting-Response'],
  [11, 'Access-Challenge'],
  [12, 'Status-Server'],
  [13, 'Status-Client'],
  [40, 'Disconnect-Request'],
  [41, 'Disconnect-ACK'],
  [42, 'Disconnect-NAK'],
  [43, 'CoA-Request'],
  [44, 'CoA-ACK'],
  [45, 'CoA-NAK'],
]);

export function isKnownCode(code: number): boolean {
  return CODE_NAMES.has(code);
}

export function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? `Unknown-Code-${code}`;
}

/** Requests whose Request Authenticator is an MD5 over the packet (RFC 2866 §3, RFC 5176 §2.3). */
export function hasComputedRequestAuthenticator(code: number): boolean {
  return code === Code.AccountingRequest || code === Code.DisconnectRequest || code === Code.CoARequest;
}

export function isRequestCode(code: number): boolean {
  return (
    code === Code.AccessRequest ||
    code === Code.AccountingRequest ||
    code === Code.StatusServer ||
    code === Code.DisconnectRequest ||
    code === Code.CoARequest
  );
}
