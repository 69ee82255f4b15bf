/** Error codes of the challenge rules (DESIGN habit 3: stable codes, nothing branches on text). */
export type ChallengeErrorCode =
  /** A rule that check-config would have refused reached the daemon (a bug: prepare checks first). */
  'AAA_ERR_CHALLENGE_RULE_INVALID';

export class ChallengeError extends Error {
  constructor(
    readonly code: ChallengeErrorCode,
    message: string,
  ) {
    super(message);
  }
}
