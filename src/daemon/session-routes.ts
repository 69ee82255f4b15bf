/**
 * Admin HTTP routes of the session table (JSON). With `admin.token` set they want
 * `Authorization: Bearer <token>`; the other admin routes are unchanged.
 *
 *   GET    /sessions?user=&nas=&client=&ip=&mac=&acct_session_id=&acct_multi_session_id=&limit=
 *   GET    /sessions/ID
 *   DELETE /sessions/ID, POST /sessions/ID/disconnect, DELETE /sessions?user=...
 *          a Disconnect-Request to the NAS (RFC 5176); 501 without a dynauth section
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminServer } from '../observability/admin-http.js';
import type { SessionQuery, SessionRecord } from '../session/types.js';
import { sessionView } from '../session/view.js';
import type { NasOutcome } from '../dynauth/identify.js';
import { Attr } from '../radius/attribute-types.js';

export interface SessionAdminView {
  find(query: SessionQuery): Promise<SessionRecord[]>;
  get(id: string): Promise<SessionRecord | undefined>;
}

export interface SessionRoutesSource {
  /** Undefined when sessions are off. */
  readonly sessionTable: SessionAdminView | undefined;
  readonly adminToken: string | undefined;
  /** Sends the session's NAS a Disconnect-Request, closes the session on its ACK; undefined without dynauth. */
  readonly disconnectSession?: ((record: SessionRecord) => Promise<NasOutcome>) | undefined;
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

export const DYNAUTH_MISSING = 'needs dynamic authorization (a dynauth section in the config)';

/** What the NAS did, as JSON; the HTTP status: 200 ACK, 409 NAK, 504 no answer, 502 NAS not configured. */
function outcomeJson(id: string, o: NasOutcome): { status: number; body: Record<string, unknown> } {
  if (o.kind === 'ack') return { status: 200, body: { id, result: 'ack' } };
  if (o.kind === 'nak') {
    const cause = o.attributes.find((a) => a.type === Attr.ErrorCause);
    return { status: 409, body: { id, result: 'nak', error_cause: cause?.value.length === 4 ? cause.value.readUInt32BE(0) : null } };
  }
  if (o.kind === 'timeout') return { status: 504, body: { id, result: 'timeout', error: 'the NAS did not answer' } };
  return { status: 502, body: { id, result: 'not_routable', error: "the session's NAS is not a configured client" } };
}

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
  // Ending a session means telling its NAS: an RFC 5176 Disconnect-Request.
  const disconnectOne = guarded(async (table, _req, res, m) => {
    const disconnect = source.disconnectSession;
    if (!disconnect) return json(res, 501, { error: DYNAUTH_MISSING });
    const id = decodeURIComponent(m[1]!);
    const r = await table.get(id);
    if (!r) return json(res, 404, { error: `no session ${id}` });
    const { status, body } = outcomeJson(id, await disconnect(r));
    json(res, status, body);
  });
  admin.addRoute('DELETE', /^\/sessions\/([^/]+)$/, disconnectOne);
  admin.addRoute('POST', /^\/sessions\/([^/]+)\/disconnect$/, disconnectOne);
  admin.addRoute(
    'DELETE',
    /^\/sessions\/?$/,
    guarded(async (table, req, res) => {
      const disconnect = source.disconnectSession;
      if (!disconnect) return json(res, 501, { error: DYNAUTH_MISSING });
      const user = new URL(req.url ?? '/', 'http://admin.invalid').searchParams.get('user');
      if (!user) return json(res, 400, { error: 'DELETE /sessions needs ?user=NAME' });
      const found = await table.find({ user });
      const results = await Promise.all(found.map(async (r) => outcomeJson(r.id, await disconnect(r)).body));
      json(res, 200, { count: results.length, acked: results.filter((x) => x['result'] === 'ack').length, results });
    }),
  );
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
