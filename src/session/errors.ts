/** Error codes of the session table and its stores (DESIGN habit 3: stable codes, nothing branches on text). */
export type SessionErrorCode =
  /** create() with an id the store already holds. */
  | 'AAA_ERR_SESSION_EXISTS'
  /** A call on a store (or table) after close(). */
  | 'AAA_ERR_SESSION_STORE_CLOSED'
  /** The state directory or a journal/snapshot file could not be read or written. */
  | 'AAA_ERR_SESSION_STATE_IO';

export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
