/**
 * Admin HTTP routes of the session table (JSON). With `admin.token` set they want
 * `Authorization: Bearer <token>`; the other admin routes are unchanged.
 *
 *   GET    /sessions?user=&nas=&client=&ip=&mac=&acct_session_id=&acct_multi_session_id=&limit=
 *   GET    /sessions/ID
 *   DELETE /sessions/ID, DELETE /sessions?user=...   501: needs dynamic authorization (not built yet)
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminServer } from '../observability/admin-http.js';
import type { SessionQuery, SessionRecord } from '../session/types.js';
import { sessionView } from '../session/view.js';

export interface SessionAdminView {
  find(query: SessionQuery): Promise<SessionRecord[]>;
  get(id: string): Promise<SessionRecord | undefined>;
}

export interface SessionRoutesSource {
  /** Undefined when sessions are off. */
  readonly sessionTable: SessionAdminView | undefined;
  readonly adminToken: string | undefined;
}

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;

/** Query parameters and the store field each one sets. */
const FILTERS: Record<string, keyof SessionQuery> = {
  user: 'user',
  nas: 'nas',
  client: 'client',
  ip: 'framedIpAddress',
  mac: 'callingStationId',
  calling_station_id: 'callingStationId',
  acct_session_id: 'acctSessionId',
  acct_multi_session_id: 'acctMultiSessionId',
};

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body) + '\n');
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Bearer token check in constant time (digests, so the lengths do not show either). */
function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

export const DYNAUTH_MISSING = 'needs dynamic authorization (not built yet)';

export function registerSessionRoutes(admin: AdminServer, source: SessionRoutesSource): void {
  /** Runs the handler once the caller is authorized and sessions are on. */
  const guarded =
    (handler: (table: SessionAdminView, req: IncomingMessage, res: ServerResponse, m: RegExpExecArray) => Promise<void> | void) =>
    (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray) => {
      if (!authorized(req, source.adminToken)) return json(res, 401, { error: 'unauthorized: this route needs Authorization: Bearer <admin.token>' }, { 'www-authenticate': 'Bearer realm="aaaproxy"' });
      const table = source.sessionTable;
      if (!table) return json(res, 404, { error: 'the session table is off (sessions.enabled: false)' });
      return handler(table, req, res, m);
    };

  admin.addRoute(
    'GET',
    /^\/sessions\/?$/,
    guarded(async (table, req, res) => {
      const parsed = parseQuery(req.url ?? '/');
      if ('error' in parsed) return json(res, 400, { error: parsed.error });
      const found = await table.find({ ...parsed.query, limit: parsed.limit + 1 });
      const truncated = found.length > parsed.limit;
      const sessions = (truncated ? found.slice(0, parsed.limit) : found).sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
      json(res, 200, { count: sessions.length, truncated, sessions: sessions.map(sessionView) });
    }),
  );
  admin.addRoute(
    'GET',
    /^\/sessions\/([^/]+)$/,
    guarded(async (table, _req, res, m) => {
      const id = decodeURIComponent(m[1]!);
      const r = await table.get(id);
      if (!r) return json(res, 404, { error: `no session ${id}` });
      json(res, 200, sessionView(r));
    }),
  );
  // Ending a session means telling its NAS: RFC 5176 Disconnect-Request, which is not built yet.
  const notYet = guarded((_table, _req, res) => json(res, 501, { error: DYNAUTH_MISSING }));
  admin.addRoute('DELETE', /^\/sessions\/?$/, notYet);
  admin.addRoute('DELETE', /^\/sessions\/([^/]+)$/, notYet);
  admin.addRoute('POST', /^\/sessions\/([^/]+)\/disconnect$/, notYet);
}

function parseQuery(url: string): { query: SessionQuery; limit: number } | { error: string } {
  const params = new URL(url, 'http://admin.invalid').searchParams;
  const query: SessionQuery = {};
  let limit = DEFAULT_LIMIT;
  for (const [key, value] of params) {
    if (key === 'limit') {
      if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) return { error: `limit must be 1..${MAX_LIMIT}` };
      limit = Number(value);
      continue;
    }
    const field = FILTERS[key];
    if (!field) return { error: `unknown filter ${key}; known: ${[...Object.keys(FILTERS), 'limit'].join(', ')}` };
    if (value === '') return { error: `${key} needs a value` };
    (query as Record<string, string>)[field] = value;
  }
  return { query, limit };
}
