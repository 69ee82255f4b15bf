/**
 * The session record and what can be asked of a store about it. Records are flat (no nested
 * objects), so an update is one shallow copy and a store can keep them as hashes (Redis).
 */

/** How a session came to be in the table. */
export type SessionOrigin = 'access' | 'accounting';

export interface SessionRecord {
  /** Unique across nodes and restarts: a random per-process prefix and a counter. */
  readonly id: string;
  /** The node that runs the session's timers; changed only by compare-and-set (SessionStore.setOwner). */
  readonly owner: string;
  readonly origin: SessionOrigin;
  /** The User-Name accounting carries: the Access-Accept's when it had one (RFC 2865 §5.1), else the request's. */
  readonly user: string;
  /** From `user@realm` or `REALM\user`. */
  readonly realm?: string | undefined;
  /** The clients[] entry (the NAS) by name. */
  readonly client: string;
  /**
   * The NAS as matching sees it: the client's name and the NAS's own identity, the first of
   * NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier and the packet's source address.
   */
  readonly nasKey: string;
  /** Source address of the NAS's packets. */
  readonly nasAddress: string;
  readonly nasIpAddress?: string | undefined;
  readonly nasIpv6Address?: string | undefined;
  readonly nasIdentifier?: string | undefined;
  readonly nasPort?: number | undefined;
  readonly nasPortId?: string | undefined;
  readonly nasPortType?: number | undefined;
  readonly callingStationId?: string | undefined;
  readonly calledStationId?: string | undefined;
  readonly framedIpAddress?: string | undefined;
  /** Class attributes of the Access-Accept (or of accounting), hex, in order. */
  readonly class?: readonly string[] | undefined;
  /** State of the Access-Accept, hex (RFC 2865 §5.24). */
  readonly state?: string | undefined;
  /** Where the login was decided: `local`, `ldap:NAME` or the pool's name. */
  readonly backend?: string | undefined;
  /** The upstream server that sent the Access-Accept (proxied logins). */
  readonly upstream?: string | undefined;
  /** Role mapping rules that matched at login (LDAP backend), in order. */
  readonly roles?: readonly string[] | undefined;
  /** Seconds, from the Access-Accept. */
  readonly sessionTimeout?: number | undefined;
  readonly idleTimeout?: number | undefined;
  /** RFC 2865 §5.29: 1 (RADIUS-Request) makes Session-Timeout a re-authentication period, not an end. */
  readonly terminationAction?: number | undefined;
  /** Seconds: the Acct-Interim-Interval the NAS was sent (after the override and floor). */
  readonly interimInterval?: number | undefined;
  /** ms since the epoch; kept for the whole life of the session, on every node. */
  readonly startedAt: number;
  /** ms: when Session-Timeout ends the session (from the latest Access-Accept). */
  readonly timeoutAt?: number | undefined;
  /** ms: when the store drops the record by itself (remaining lifetime); undefined: never. */
  readonly expiresAt?: number | undefined;
  readonly acctSessionId?: string | undefined;
  readonly acctMultiSessionId?: string | undefined;
  /** ms: the Accounting-Start (or first accounting record) that bound the session. */
  readonly acctStartedAt?: number | undefined;
  /** The accounting listener's name (routes by listener), from the last accounting record. */
  readonly acctListener?: string | undefined;
  /** ms: the last accounting record (or the start). */
  readonly lastUpdateAt: number;
  /** ms: the last accounting record whose counters grew (or the start). */
  readonly lastActivityAt: number;
  /** Acct-Session-Time of the last accounting record, seconds. */
  readonly sessionTime?: number | undefined;
  /** Counters of the last accounting record, Gigawords included (2^32 x Gigawords + Octets). */
  readonly inputOctets: number;
  readonly outputOctets: number;
  readonly inputPackets: number;
  readonly outputPackets: number;
  /** Accounting records seen for the session. */
  readonly updates: number;
}

/** What update() may change: not the id, the owner (setOwner) or the start time. */
export type SessionPatch = { -readonly [K in Exclude<keyof SessionRecord, 'id' | 'owner' | 'startedAt'>]?: SessionRecord[K] };

/**
 * A lookup: every given field must match (AND). `nas` matches any of the NAS's identities
 * (nasKey, source address, NAS-IP-Address, NAS-IPv6-Address, NAS-Identifier);
 * `callingStationId` matches a MAC address in any spelling (normalizeStationId). `nasPort` and
 * `unbound` only narrow what the other fields found (or the whole table).
 */
export interface SessionQuery {
  user?: string | undefined;
  callingStationId?: string | undefined;
  framedIpAddress?: string | undefined;
  acctSessionId?: string | undefined;
  acctMultiSessionId?: string | undefined;
  nas?: string | undefined;
  nasKey?: string | undefined;
  client?: string | undefined;
  owner?: string | undefined;
  nasPort?: number | undefined;
  /** Only sessions that no Acct-Session-Id is bound to yet. */
  unbound?: boolean | undefined;
  /** At most this many records (default: all). */
  limit?: number | undefined;
}

export type SessionEventType = 'created' | 'updated' | 'migrated' | 'ended';

export interface SessionEvent {
  type: SessionEventType;
  /** The record after the change; for `ended`, the last one. */
  record: SessionRecord;
  /** For `ended`: why (an EndCause, or `expired` when the store's lifetime ran out). */
  cause?: string | undefined;
}

export type SessionListener = (event: SessionEvent) => void;

/**
 * Why a session ended: the RFC 2866 §5.10 / RFC 3580 §3.19 Acct-Terminate-Cause values by
 * name, and the table's own reasons. A closed set: it labels a metric.
 */
export const TERMINATE_CAUSES = [
  'user-request', // 1
  'lost-carrier', // 2
  'lost-service', // 3
  'idle-timeout', // 4
  'session-timeout', // 5
  'admin-reset', // 6
  'admin-reboot', // 7
  'port-error', // 8
  'nas-error', // 9
  'nas-request', // 10
  'nas-reboot', // 11
  'port-unneeded', // 12
  'port-preempted', // 13
  'port-suspended', // 14
  'service-unavailable', // 15
  'callback', // 16
  'user-error', // 17
  'host-request', // 18
  'supplicant-restart', // 19 (RFC 3580)
  'reauthentication-failure', // 20
  'port-reinitialized', // 21
  'port-administratively-disabled', // 22
] as const;

export const END_CAUSES = [
  ...TERMINATE_CAUSES,
  /** A Stop with an Acct-Terminate-Cause we do not know. */
  'other',
  /** A Stop without Acct-Terminate-Cause. */
  'unknown',
  /** Accounting-On / Accounting-Off from the NAS (RFC 2866 §5.1: 7, 8). */
  'accounting-on',
  'accounting-off',
  /** A new Access-Accept for the same NAS port and user replaced a session no accounting had bound. */
  'superseded',
  /** The store's lifetime ran out (expiresAt) before the owner ended it. */
  'expired',
] as const;

export type EndCause = (typeof END_CAUSES)[number];

/** Acct-Terminate-Cause value -> name (RFC 2866 §5.10, RFC 3580 §3.19). */
export function terminateCauseName(value: number | undefined): EndCause {
  if (value === undefined) return 'unknown';
  return TERMINATE_CAUSES[value - 1] ?? 'other';
}

/** Name -> Acct-Terminate-Cause value, for the causes a Stop can carry. */
export function terminateCauseValue(cause: EndCause): number | undefined {
  const i = (TERMINATE_CAUSES as readonly string[]).indexOf(cause);
  return i < 0 ? undefined : i + 1;
}

/**
 * Calling-Station-Id as an index key: a MAC address in any spelling (`02-00-5E-10-00-01`,
 * `02:00:5e:10:00:01`, `0200.5e10.0001`, `02005E100001`) becomes 12 lower-case hex digits;
 * anything else (a telephone number) is kept as it is.
 */
export function normalizeStationId(id: string): string {
  if (id.length < 12 || id.length > 17) return id;
  const bare = id.replace(MAC_SEPARATORS, '');
  return bare.length === 12 && HEX12.test(bare) ? bare.toLowerCase() : id;
}

const MAC_SEPARATORS = /[-:.]/g;
const HEX12 = /^[0-9a-fA-F]{12}$/;
