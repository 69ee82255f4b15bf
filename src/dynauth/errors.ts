/**
 * RFC 5176 §3.6 Error-Cause values this module sends or relays, and the closed sets that
 * label the dynamic-authorization metrics.
 */

/** RFC 5176 §3.6: the Error-Cause values aaaproxy itself puts in a NAK. */
export const ErrorCause = {
  /** A required attribute is missing: no session identification attribute at all. */
  MissingAttribute: 402,
  /** The NAS that holds the session is no longer a configured client. */
  RequestNotRoutable: 502,
  /** No session matches the identification attributes. */
  SessionContextNotFound: 503,
  /** The NAS did not answer after every retry. */
  ResourcesUnavailable: 506,
} as const;

/** Why a dynamic-authorization request was dropped without an answer. A closed set: it labels a metric. */
export const DYNAUTH_DROP_REASONS = [
  'unknown_client',
  'malformed',
  'unexpected_code',
  'bad_request_authenticator',
  'bad_message_authenticator',
  'event_timestamp_out_of_window',
  'internal_error',
] as const;
export type DynauthDropReason = (typeof DYNAUTH_DROP_REASONS)[number];

/** What became of a request that was answered. A closed set: it labels a metric. */
export const DYNAUTH_RESULTS = ['ack', 'nak', 'no_session', 'missing_attribute', 'not_routable', 'nas_timeout'] as const;
export type DynauthResult = (typeof DYNAUTH_RESULTS)[number];

/** What one NAS did with the request aaaproxy sent it. */
export const NAS_RESULTS = ['ack', 'nak', 'timeout', 'not_routable'] as const;
export type NasResult = (typeof NAS_RESULTS)[number];

export type DynauthType = 'disconnect' | 'coa';
