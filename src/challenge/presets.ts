/**
 * Built-in presets: the default challenge expressions of common token and OTP servers, as rule
 * lists. They are DEFAULTS written from the vendors' documented prompts as we understand them,
 * not captures from every version: servers are localised and admins reword their prompts. A
 * server's own challenge_rules run before its presets, so an admin overrides a preset by
 * writing a rule that matches first (or by not selecting the preset).
 *
 * Preset rules keep the upstream's own words (<REPLY>): they tell the user what to type (PIN
 * length, y/n). What a preset adds is the classification (new-pin, next-token, generic-login)
 * in logs and in aaaproxy_challenge_rule_hits_total, and CASQUE's challenge cut out of the text.
 * Rule names are `preset/rule`; a `/` cannot appear in an admin's rule name, so they never clash.
 */
import type { RuleSpec } from './types.js';

/** Keep in step with CHALLENGE_PRESETS in src/config/schema.ts (a unit test compares them). */
export const PRESET_NAMES = ['rsa-securid', 'steel-belted', 'defender', 'casque', 'otp'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const replyRegex = (regex: string) => [{ attribute: 'Reply-Message', regex, ignore_case: true }];

export const PRESETS: Readonly<Record<PresetName, readonly RuleSpec[]>> = {
  /**
   * RSA Authentication Manager (SecurID) RADIUS server. Next Tokencode mode: "Wait for token to
   * change, then enter the new tokencode"; after a new PIN: "PIN Accepted. Wait for the
   * tokencode to change, then enter the new passcode" (so next-token is tried first). New PIN
   * mode: "Enter a new PIN having from 4 to 8 digits", "Please re-enter new PIN", and for
   * system-generated PINs "Are you prepared to have the system generate your PIN? (y/n)".
   */
  'rsa-securid': [
    {
      name: 'rsa-securid/next-token',
      on: 'access-challenge',
      match: replyRegex('wait for (the )?token(code)? to change|enter the (new|next) token ?code|next token ?code'),
      action: 'next-token',
      prompt: '<REPLY>',
    },
    {
      name: 'rsa-securid/system-pin',
      on: 'access-challenge',
      match: replyRegex('prepared to have the system generate|want the system to generate|system[- ]generated PIN|accept the (system|server)[- ]assigned PIN'),
      action: 'new-pin',
      prompt: '<REPLY>',
    },
    {
      name: 'rsa-securid/new-pin',
      on: 'access-challenge',
      match: replyRegex('enter (a |your )?new PIN|re-?enter (the |your )?new PIN|new PIN (is )?required|create (a |your )?(new )?PIN'),
      action: 'new-pin',
      prompt: '<REPLY>',
    },
  ],
  /**
   * Juniper Steel-Belted RADIUS (SBR) in front of SecurID and other token servers, in its own
   * wording: "Enter Next Token Code", "New PIN required", "Enter PASSCODE".
   */
  'steel-belted': [
    {
      name: 'steel-belted/next-token',
      on: 'access-challenge',
      match: replyRegex('next (token ?code|tokencode|passcode|code)'),
      action: 'next-token',
      prompt: '<REPLY>',
    },
    {
      name: 'steel-belted/new-pin',
      on: 'access-challenge',
      match: replyRegex('new PIN|PIN (must be changed|has expired)'),
      action: 'new-pin',
      prompt: '<REPLY>',
    },
    {
      name: 'steel-belted/passcode',
      on: 'access-challenge',
      match: replyRegex('enter (your |the )?(passcode|token ?code|response)'),
      action: 'generic-login',
      prompt: '<REPLY>',
    },
  ],
  /**
   * Quest (One Identity) Defender 4 and 5 Security Server: challenge-response tokens
   * ("Challenge: 48213765 Enter Response:"), synchronous tokens ("Enter Synchronous
   * Response", "Enter Token Response") and PIN changes ("Enter new PIN", "PIN expired").
   */
  defender: [
    {
      name: 'defender/new-pin',
      on: 'access-challenge',
      match: replyRegex('(enter|re-?enter|confirm) (a |your )?new (Defender )?PIN|PIN (has )?expired'),
      action: 'new-pin',
      prompt: '<REPLY>',
    },
    {
      name: 'defender/challenge',
      on: 'access-challenge',
      match: replyRegex('challenge:?\\s*([0-9A-Za-z]+)'),
      action: 'generic-login',
      prompt: '<REPLY>',
    },
    {
      name: 'defender/response',
      on: 'access-challenge',
      match: replyRegex('synchronous response|(enter|type) (your |the )?(token |Defender )?response|token response'),
      action: 'generic-login',
      prompt: '<REPLY>',
    },
  ],
  /**
   * CASQUE SNR: the challenge travels between colons in the Reply-Message; the user's CASQUE
   * Player reads it and computes the response. The NAS gets the challenge alone, in the same
   * colon-delimited form, without the server's surrounding text.
   */
  casque: [
    {
      name: 'casque/challenge',
      on: 'access-challenge',
      match: [{ attribute: 'Reply-Message', regex: ':([0-9a-zA-Z/+=]+):' }],
      action: 'generic-login',
      prompt: 'CASQUE challenge :<1>:',
    },
  ],
  /** Generic one-time codes: SMS, e-mail or app codes ("Enter the code sent by SMS to ..."). */
  otp: [
    {
      name: 'otp/code',
      on: 'access-challenge',
      match: replyRegex(
        '\\bSMS\\b|text message|one[- ]time (code|pass(word|code))|\\bOTP\\b|verification code|security code|authentication code|code (was |has been )?sent',
      ),
      action: 'generic-login',
      prompt: '<REPLY>',
    },
  ],
};

/** The server's own rules, then each selected preset's, in the order selected. */
export function withPresets(own: readonly RuleSpec[], presets: readonly PresetName[]): RuleSpec[] {
  return [...own, ...presets.flatMap((p) => PRESETS[p])];
}
