/**
 * Which session an Accounting-Request belongs to. The rule, in order:
 *
 *  1. Same NAS (nasKey: client and NAS identity) and the same Acct-Session-Id (RFC 2866 §5.5:
 *     unique per NAS).
 *  2. Otherwise a session at the same NAS, for the same User-Name, that no Acct-Session-Id is
 *     bound to yet (every session, when the record itself has no Acct-Session-Id), and
 *     a. on the same NAS-Port, when both have one; else
 *     b. from the same Calling-Station-Id (any MAC spelling), when both have one.
 *     The newest such session wins (a NAS port is reused by the next login).
 *  3. None: the caller decides (a Start or Interim-Update creates a session from accounting,
 *     a Stop is only counted).
 *
 * The same rule finds the session an Access-Request with Acct-Session-Id re-authenticates
 * (802.1X re-authentication), and the unbound session a new Access-Accept supersedes.
 */
import type { SessionStore } from './store.js';
import { normalizeStationId, type SessionRecord } from './types.js';

export type MatchedBy = 'session_id' | 'nas_port' | 'calling_station';

export interface MatchKey {
  nasKey: string;
  user: string | undefined;
  acctSessionId: string | undefined;
  nasPort: number | undefined;
  callingStationId: string | undefined;
}

export async function matchSession(store: SessionStore, k: MatchKey): Promise<{ record: SessionRecord; by: MatchedBy } | undefined> {
  if (k.acctSessionId !== undefined) {
    const [r] = await store.find({ acctSessionId: k.acctSessionId, nasKey: k.nasKey, limit: 1 });
    if (r) return { record: r, by: 'session_id' };
  }
  if (k.user === undefined) return undefined;
  return pick(await sessionsAtPlace(store, k, k.acctSessionId !== undefined), k);
}

/**
 * The sessions of the key's NAS and user that rule 2 can pick from: those on its NAS-Port, and
 * those from its Calling-Station-Id where one of the two has no NAS-Port. Each through an index
 * that holds a few sessions (NAS and port together; the station), never the whole NAS.
 */
export async function sessionsAtPlace(store: SessionStore, k: MatchKey, unbound: boolean): Promise<SessionRecord[]> {
  let out: SessionRecord[] = [];
  if (k.nasPort !== undefined) out = await store.find({ nasKey: k.nasKey, nasPort: k.nasPort, user: k.user, unbound });
  if (k.callingStationId !== undefined) {
    for (const r of await store.find({ nasKey: k.nasKey, callingStationId: k.callingStationId, user: k.user, unbound })) {
      if (r.nasPort === undefined || k.nasPort === undefined) out.push(r);
    }
  }
  return out;
}

/** Rule 2 over candidates already narrowed to the NAS and user (and unbound when it applies). */
export function pick(candidates: readonly SessionRecord[], k: MatchKey): { record: SessionRecord; by: MatchedBy } | undefined {
  let byPort: SessionRecord | undefined;
  let byStation: SessionRecord | undefined;
  const station = k.callingStationId === undefined ? undefined : normalizeStationId(k.callingStationId);
  for (const r of candidates) {
    if (k.nasPort !== undefined && r.nasPort !== undefined) {
      if (r.nasPort === k.nasPort && (!byPort || r.startedAt >= byPort.startedAt)) byPort = r;
      continue;
    }
    if (station !== undefined && r.callingStationId !== undefined && normalizeStationId(r.callingStationId) === station) {
      if (!byStation || r.startedAt >= byStation.startedAt) byStation = r;
    }
  }
  if (byPort) return { record: byPort, by: 'nas_port' };
  if (byStation) return { record: byStation, by: 'calling_station' };
  return undefined;
}

/** Whether a new login at `b` takes the place of `a` (rule 2 between two sessions of one NAS and user). */
export function samePlace(a: SessionRecord, b: SessionRecord): boolean {
  if (a.nasPort !== undefined && b.nasPort !== undefined) return a.nasPort === b.nasPort;
  return a.callingStationId !== undefined && b.callingStationId !== undefined && normalizeStationId(a.callingStationId) === normalizeStationId(b.callingStationId);
}
