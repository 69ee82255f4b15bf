/**
 * The store behind the session table (DESIGN "federation"): the memory store now, a Redis
 * store shared by several nodes later, both held to one contract test suite
 * (test/helpers/session-store-contract.ts).
 *
 * The contract:
 *  - Every method is asynchronous, even where the memory store could answer at once.
 *  - Records are keyed by id; find() looks them up by User-Name, Calling-Station-Id (any MAC
 *    spelling), Framed-IP-Address, Acct-Session-Id, Acct-Multi-Session-Id, NAS, client and owner.
 *  - Mutations issued one after another (without awaiting) are applied in that order (one
 *    connection, pipelined, for Redis). Returned records are snapshots: never mutate them.
 *  - `owner` changes only through setOwner(), a compare-and-set; `startedAt` never changes.
 *  - `expiresAt` is the record's remaining lifetime as an absolute time: once it has passed,
 *    the store removes the record by itself (checked at least every `sweep` interval) and
 *    emits `ended` with cause `expired`. update() may move it (a refresh); setOwner() keeps it,
 *    so a session that moves to another node still ends when it would have ended at the first.
 *  - Events (created, updated, migrated, ended) reach every subscriber after the change is
 *    applied, in order per session; a subscriber must not assume they arrive synchronously.
 */
import type { SessionListener, SessionPatch, SessionQuery, SessionRecord } from './types.js';

export interface SessionStoreCounts {
  total: number;
  /** Sessions per client (NAS) name. */
  byClient: Record<string, number>;
}

export interface SessionStore {
  /** Adds a record; rejects with AAA_ERR_SESSION_EXISTS when the id is taken. */
  create(record: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** Applies the patch (id, owner and startedAt are not patchable); resolves with the new record, or undefined when there is none. */
  update(id: string, patch: SessionPatch): Promise<SessionRecord | undefined>;
  /** Removes the record; resolves with its last state, or undefined when it was already gone. */
  end(id: string, cause: string): Promise<SessionRecord | undefined>;
  /** Records matching every given field of the query (all records for an empty query). */
  find(query: SessionQuery): Promise<SessionRecord[]>;
  /** Sets the owner to `next` only if it is `expected` now; resolves with whether it did. */
  setOwner(id: string, expected: string, next: string): Promise<boolean>;
  counts(): Promise<SessionStoreCounts>;
  /** Calls the listener for every change from now on; resolves with its unsubscribe. */
  subscribe(listener: SessionListener): Promise<() => Promise<void>>;
  /** Finishes what is pending (a persistent store writes it out) and stops. Idempotent. */
  close(): Promise<void>;
}
