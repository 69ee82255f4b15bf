/**
 * Challenge rules: what an admin writes (specs, plain data from the config or a preset), what
 * they compile to once at config load, and the events they report.
 *
 * A rule looks at a verified Access-Challenge or Access-Reject from an upstream server and
 * decides what the NAS gets instead: a challenge with our prompt (new-pin, next-token,
 * generic-login), a reject with our message (error), or nothing yet, because the proxy
 * answers the upstream itself (send-access-request).
 */
import type { AttributeTemplate } from '../radius/attributes.js';
import type { AttributeDef, Dictionary } from '../radius/dictionary.js';

export const CHALLENGE_ACTIONS = ['new-pin', 'next-token', 'generic-login', 'error', 'send-access-request'] as const;
export type ChallengeAction = (typeof CHALLENGE_ACTIONS)[number];

/** The actions that relay an Access-Challenge to the NAS with our prompt and the upstream's State. */
export const RELAY_ACTIONS: ReadonlySet<ChallengeAction> = new Set(['new-pin', 'next-token', 'generic-login']);

export type ReplyKind = 'access-challenge' | 'access-reject';

export type RoundFailure = 'no_answer' | 'password_too_long';

export type CompareOperator = '<' | '<=' | '>' | '>=' | '==';

/** One expression over the reply's attributes; exactly one test is set. */
export interface ExpressionSpec {
  /** A dictionary name (default Reply-Message). */
  attribute: string;
  present?: true | undefined;
  absent?: true | undefined;
  equals?: string | number | undefined;
  contains?: string | undefined;
  regex?: string | undefined;
  compare?: { op: CompareOperator; value: number } | undefined;
  /** For equals (text), contains and regex. */
  ignore_case?: boolean | undefined;
}

export interface RuleSpec {
  name: string;
  on: ReplyKind;
  /** ANDed. */
  match: readonly ExpressionSpec[];
  action: ChallengeAction;
  /** Reply-Message for the NAS (relay actions and error). */
  prompt?: string | undefined;
  /** User-Password of the automatic request (send-access-request); default `<PASSWORD>`. */
  password?: string | undefined;
  /** Extra attributes of the automatic request, by dictionary name. */
  attributes?: Readonly<Record<string, string | number>> | undefined;
}

/** Where an attribute sits in a packet. */
export type AttributeTarget =
  | { kind: 'standard'; type: number }
  | { kind: 'vendor'; vendorId: number; type: number }
  | { kind: 'extended'; type: number; extType: number; long: boolean };

export type CompiledTest =
  | { op: 'present' }
  | { op: 'absent' }
  | { op: 'text-equals'; value: string; ignoreCase: boolean }
  | { op: 'bytes-equals'; value: Buffer }
  | { op: 'contains'; value: string; ignoreCase: boolean }
  | { op: 'regex'; re: RegExp }
  | { op: 'compare'; cmp: CompareOperator; value: number };

export interface CompiledExpression {
  attribute: string;
  target: AttributeTarget;
  /** RFC 2865 §5.18: all Reply-Message attributes together are one message. */
  concatenate: boolean;
  /** RFC 2868 §3.1 tag octet to take off before a test. */
  tagged: 'none' | 'octet' | 'integer';
  /** The dictionary definition, for display text and numbers. */
  def: AttributeDef;
  test: CompiledTest;
}

/** A prompt or password template, parsed once. */
export type TemplatePart = Buffer | { capture: number } | { group: string } | 'reply' | 'password';

export interface Template {
  parts: readonly TemplatePart[];
  usesPassword: boolean;
}

export interface CompiledRule {
  name: string;
  /** Code.AccessChallenge or Code.AccessReject. */
  code: number;
  action: ChallengeAction;
  expressions: readonly CompiledExpression[];
  /** Index of the expression whose regex captures feed the templates; -1 when none. */
  captureFrom: number;
  prompt: Template | undefined;
  password: Template | undefined;
  /** Extra attributes of the automatic request, encoded once. */
  extra: readonly AttributeTemplate[];
  /** Standard attribute types the extras replace in the NAS's request. */
  replaces: ReadonlySet<number>;
}

/** A server's rules: its own, then its presets', compiled against one dictionary. */
export interface ChallengeRuleSet {
  rules: readonly CompiledRule[];
  /** Automatic send-access-request rounds per Access-Request from the NAS. */
  maxRounds: number;
  dict: Dictionary;
}

/** Decisions, for logs (debug) and metrics. Nothing here ever carries a password. */
export interface ChallengeObserver {
  /** A rule matched a reply and its action is taken; `round` counts automatic requests sent before. */
  challengeRuleMatched(server: string, rule: string, action: ChallengeAction, round: number, user: string | undefined): void;
  /** A challenge or reject that no rule matched: relayed as it is. */
  challengeUnmatched(server: string, code: number, round: number, user: string | undefined): void;
  /** A send-access-request rule matched after max_rounds automatic requests: the reply is relayed as it is. */
  challengeRoundsExhausted(server: string, rule: string, maxRounds: number, user: string | undefined): void;
  /**
   * send-access-request could not be done: no_answer (the server did not answer the automatic
   * request; the NAS gets no answer either), password_too_long (the templated User-Password
   * passed 128 octets; the reply is relayed as if no rule matched).
   */
  challengeRoundFailed(server: string, rule: string, reason: RoundFailure, user: string | undefined): void;
}
