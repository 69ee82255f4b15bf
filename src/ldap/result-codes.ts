/** LDAP result codes (RFC 4511 §4.1.9 and Appendix A) and the OIDs the front server knows. Pure. */

export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  referral: 10,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  saslBindInProgress: 14,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  aliasProblem: 33,
  invalidDNSyntax: 34,
  aliasDereferencingProblem: 36,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  loopDetect: 54,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  objectClassModsProhibited: 69,
  affectsMultipleDSAs: 71,
  other: 80,
} as const;

export type ResultCodeName = keyof typeof ResultCode;

const NAMES = new Map<number, ResultCodeName>(Object.entries(ResultCode).map(([k, v]) => [v, k as ResultCodeName]));

/** The RFC 4511 name of a result code; codes outside Appendix A are `other` (a bounded metric label). */
export function resultCodeName(code: number): ResultCodeName {
  return NAMES.get(code) ?? 'other';
}

export const Oid = {
  /** RFC 4511 §4.14: StartTLS. */
  startTls: '1.3.6.1.4.1.1466.20037',
  /** RFC 4511 §4.4.1: Notice of Disconnection (unsolicited). */
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036',
  /** RFC 4532: "Who am I?". */
  whoAmI: '1.3.6.1.4.1.4203.1.11.3',
} as const;
