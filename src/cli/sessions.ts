/** `aaaproxy sessions ...`: the session table of a running daemon, through its admin endpoint. */
import { loadConfigFile } from '../config/load.js';
import { formatIssue } from '../config/yaml-loader.js';
import type { SessionView } from '../session/view.js';
import { DEFAULT_CONFIG, parseCommand } from './args.js';

const USAGE = `Usage: aaaproxy sessions <list|show|disconnect> [ID] [options]

  list                  live sessions of the running daemon (filters are ANDed)
  show ID               one session in full
  disconnect ID         send the session's NAS a Disconnect-Request (RFC 5176); the session
                        is closed when the NAS acknowledges it (needs a dynauth section)
  disconnect --user N   the same for every session of user N

Exit status of disconnect: 0 when every NAS acknowledged, 1 otherwise (NAK, no answer).

The daemon is reached on its admin endpoint: the config's admin.address and admin.port, or
--address and --port. A bearer token (admin.token) comes from --token, $AAAPROXY_ADMIN_TOKEN
or the config, in that order.

Options:
  -c, --config FILE          config naming the admin endpoint (default ${DEFAULT_CONFIG})
      --address ADDRESS      admin endpoint address (default: the config's; 127.0.0.1 with --port)
      --port PORT            admin endpoint port (the config is not needed then)
      --token TOKEN          bearer token (visible to other local users in the process list: prefer the variable)
      --user NAME            User-Name
      --nas NAS              NAS-IP-Address, NAS-Identifier or source address
      --client NAME          the clients[] entry
      --ip ADDRESS           Framed-IP-Address
      --mac MAC              Calling-Station-Id, any MAC spelling
      --acct-session-id ID   Acct-Session-Id
      --limit N              at most N sessions (default 1000)
      --json                 print the admin endpoint's JSON
  -h, --help                 show this help
`;

const FILTERS = { user: 'user', nas: 'nas', client: 'client', ip: 'ip', mac: 'mac', 'acct-session-id': 'acct_session_id', limit: 'limit' } as const;

class UsageError extends Error {}
class DaemonError extends Error {}

interface Endpoint {
  base: string;
  token: string | undefined;
}

export async function runSessions(argv: string[]): Promise<number> {
  const args = parseCommand(argv, USAGE, {
    config: { type: 'string', short: 'c' },
    address: { type: 'string' },
    port: { type: 'string' },
    token: { type: 'string' },
    json: { type: 'boolean', default: false },
    ...Object.fromEntries(Object.keys(FILTERS).map((k) => [k, { type: 'string' as const }])),
  });
  if (!args) return process.exitCode as number;
  const [sub, id, ...extra] = args.positionals;
  try {
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    const endpoint = await resolveEndpoint(args.values);
    const asJson = args.values['json'] === true;
    switch (sub) {
      case 'list': {
        if (id !== undefined) throw new UsageError('sessions list takes no ID (use show)');
        const params = new URLSearchParams();
        for (const [opt, param] of Object.entries(FILTERS)) {
          const v = args.values[opt];
          if (typeof v === 'string') params.set(param, v);
        }
        const q = params.toString();
        const body = await call(endpoint, `/sessions${q ? `?${q}` : ''}`);
        if (asJson) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
        else printList(body as { count: number; truncated: boolean; sessions: SessionView[] });
        return 0;
      }
      case 'show': {
        if (id === undefined) throw new UsageError('sessions show needs a session ID (see sessions list)');
        const body = await call(endpoint, `/sessions/${encodeURIComponent(id)}`);
        if (asJson) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
        else printOne(body as SessionView);
        return 0;
      }
      case 'disconnect': {
        const user = args.values['user'];
        if ((id === undefined) === (typeof user !== 'string')) throw new UsageError('sessions disconnect needs a session ID or --user NAME (one of them)');
        const body = (
          id !== undefined
            ? await call(endpoint, `/sessions/${encodeURIComponent(id)}/disconnect`, 'POST', true)
            : await call(endpoint, `/sessions?user=${encodeURIComponent(user as string)}`, 'DELETE')
        ) as DisconnectResult | { count: number; acked: number; results: DisconnectResult[] };
        if (asJson) process.stdout.write(JSON.stringify(body, null, 2) + '\n');
        const results = 'results' in body ? body.results : [body];
        if (!asJson) {
          for (const r of results) process.stdout.write(`${r.id}: ${describeDisconnect(r)}\n`);
          if ('results' in body) process.stdout.write(`${body.acked} of ${body.count} acknowledged\n`);
        }
        return results.every((r) => r.result === 'ack') ? 0 : 1;
      }
      default:
        throw new UsageError(sub ? `unknown sessions command '${sub}'` : 'sessions needs a command: list, show or disconnect');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`aaaproxy sessions: ${err.message}\n`);
      return 2;
    }
    if (err instanceof DaemonError) {
      process.stderr.write(`aaaproxy sessions: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function resolveEndpoint(values: Record<string, unknown>): Promise<Endpoint> {
  const portArg = values['port'] as string | undefined;
  const envToken = process.env['AAAPROXY_ADMIN_TOKEN'] || undefined;
  let address = values['address'] as string | undefined;
  let port: number | undefined;
  let configToken: string | undefined;
  if (portArg !== undefined) {
    if (!/^\d+$/.test(portArg) || Number(portArg) < 1 || Number(portArg) > 65535) throw new UsageError(`--port wants 1..65535, got '${portArg}'`);
    port = Number(portArg);
  }
  // The config is read when it is needed for the endpoint, or named explicitly (for its token).
  const configPath = values['config'] as string | undefined;
  if (port === undefined || configPath !== undefined) {
    const loaded = await loadConfigFile(configPath ?? DEFAULT_CONFIG);
    if (!loaded.ok) {
      throw new DaemonError(`cannot use the config (give --port to do without it):\n${loaded.errors.map(formatIssue).join('\n')}`);
    }
    const admin = loaded.config.admin;
    if (!admin.enabled && port === undefined) throw new DaemonError('the admin endpoint is disabled in the config');
    address ??= admin.address;
    port ??= admin.port;
    configToken = admin.token;
  }
  address ??= '127.0.0.1';
  const host = address.includes(':') ? `[${address}]` : address;
  return { base: `http://${host}:${port}`, token: (values['token'] as string | undefined) ?? envToken ?? configToken };
}

/** A Disconnect's outcome as the admin endpoint reports it (daemon/session-routes.ts). */
interface DisconnectResult {
  id: string;
  result: 'ack' | 'nak' | 'timeout' | string;
  error_cause?: number | null;
  error?: string;
}

function describeDisconnect(r: DisconnectResult): string {
  if (r.result === 'ack') return 'acknowledged by the NAS; the session is closed';
  if (r.result === 'nak') return `refused by the NAS${r.error_cause ? ` (Error-Cause ${r.error_cause})` : ''}`;
  return r.error ?? r.result;
}

/**
 * `outcome`: an HTTP error status whose body is still an answer (a Disconnect the NAS refused
 * or did not answer: 409, 504) is returned, not thrown.
 */
async function call(endpoint: Endpoint, path: string, method = 'GET', outcome = false): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${endpoint.base}${path}`, {
      method,
      headers: endpoint.token ? { authorization: `Bearer ${endpoint.token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new DaemonError(`no daemon answered on ${endpoint.base}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new DaemonError(`${endpoint.base}${path} answered ${res.status}: ${text.trim()}`);
  }
  if (!res.ok && !(outcome && (res.status === 409 || res.status === 504))) throw new DaemonError(`${(body as { error?: string }).error ?? `answered ${res.status}`}`);
  return body;
}

const dash = (v: unknown): string => (v === null || v === undefined || v === '' ? '-' : String(v));

function printList(body: { count: number; truncated: boolean; sessions: SessionView[] }): void {
  const rows = [['ID', 'USER', 'NAS', 'PORT', 'IP', 'CALLING-STATION-ID', 'STARTED', 'ACCT-SESSION-ID', 'IN/OUT OCTETS']];
  for (const s of body.sessions) {
    rows.push([
      s.id,
      s.user,
      s.nas.identifier ?? s.nas.ip_address ?? s.nas.address,
      dash(s.nas.port),
      dash(s.framed_ip_address),
      dash(s.calling_station_id),
      s.started_at,
      dash(s.acct_session_id),
      `${s.input_octets}/${s.output_octets}`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n');
  process.stdout.write(`${body.count} session${body.count === 1 ? '' : 's'}${body.truncated ? ' (more match: raise --limit or filter)' : ''}\n`);
}

function printOne(s: SessionView): void {
  const lines: [string, unknown][] = [
    ['id', s.id],
    ['user', s.user],
    ['realm', s.realm],
    ['origin', s.origin],
    ['owner', s.owner],
    ['client', s.client],
    ['nas', s.nas.key],
    ['nas address', s.nas.address],
    ['NAS-IP-Address', s.nas.ip_address],
    ['NAS-IPv6-Address', s.nas.ipv6_address],
    ['NAS-Identifier', s.nas.identifier],
    ['NAS-Port', s.nas.port],
    ['NAS-Port-Id', s.nas.port_id],
    ['NAS-Port-Type', s.nas.port_type],
    ['Calling-Station-Id', s.calling_station_id],
    ['Called-Station-Id', s.called_station_id],
    ['Framed-IP-Address', s.framed_ip_address],
    ['Class', s.class.length ? s.class.map((c) => `0x${c}`).join(', ') : null],
    ['State', s.state ? `0x${s.state}` : null],
    ['backend', s.backend],
    ['upstream', s.upstream],
    ['Session-Timeout', s.session_timeout],
    ['Idle-Timeout', s.idle_timeout],
    ['Acct-Interim-Interval', s.interim_interval],
    ['started', s.started_at],
    ['times out', s.timeout_at],
    ['Acct-Session-Id', s.acct_session_id],
    ['Acct-Multi-Session-Id', s.acct_multi_session_id],
    ['accounting started', s.acct_started_at],
    ['last accounting', s.last_update_at],
    ['last activity', s.last_activity_at],
    ['Acct-Session-Time', s.session_time],
    ['input octets/packets', `${s.input_octets}/${s.input_packets}`],
    ['output octets/packets', `${s.output_octets}/${s.output_packets}`],
    ['accounting records', s.updates],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) process.stdout.write(`${k.padEnd(width)}  ${dash(v)}\n`);
}
