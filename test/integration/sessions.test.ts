/**
 * The session table end to end: the real daemon, radclient as the NAS, FreeRADIUS as the
 * upstream auth and accounting server.
 *
 *  1. Local users, local accounting log: an Access-Accept (with the interim override) creates a
 *     session seen through the admin HTTP (bearer token) and `aaaproxy sessions list|show`;
 *     Start binds it, Interim-Update refreshes it; the daemon restarted (SIGTERM, then SIGKILL)
 *     keeps it; Stop closes it; Accounting-On closes one NAS's sessions; disconnect is 501 without dynauth.
 *  2. Local accounting: a missed interim writes our Stop into the accounting log.
 *  3. Proxied to FreeRADIUS, accounting through the spool: a missed interim reaches FreeRADIUS
 *     as a Stop with Acct-Terminate-Cause Lost-Service, Session-Timeout as one with
 *     Session-Timeout.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { aaaproxyCli, radclient, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { startFreeRadius, UPSTREAM_SECRET, type LoggedRequest, type RunningFreeRadius } from '../helpers/freeradius.js';

// Four daemon starts, a FreeRADIUS, CLI processes, and sessions that must time out on their own.
t.setTimeout(120_000);

const TOKEN = 'integration-admin-token-0123456789';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, get: () => Promise<T | undefined>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

interface SessionJson {
  id: string;
  user: string;
  upstream: string | null;
  backend: string | null;
  interim_interval: number | null;
  acct_session_id: string | null;
  input_octets: number;
  output_octets: number;
  session_time: number | null;
  updates: number;
  nas: { key: string; port: number | null; ip_address: string | null; identifier: string | null };
  calling_station_id: string | null;
  framed_ip_address: string | null;
}

async function sessions(d: RunningDaemon, query = ''): Promise<SessionJson[]> {
  const res = await d.admin('GET', `/sessions${query}`);
  if (res.status !== 200) throw new Error(`GET /sessions${query}: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { sessions: SessionJson[] }).sessions;
}

const nonEmpty = <T>(list: T[]): T[] | undefined => (list.length > 0 ? list : undefined);

const nasAttrs = (nasIp: string, port: number) => `NAS-IP-Address = ${nasIp}, NAS-Identifier = "sw-${nasIp}", NAS-Port = ${port}, Calling-Station-Id = "02-00-00-00-00-${String(port).padStart(2, '0')}"`;

function acct(d: RunningDaemon, attrs: string) {
  return radclient({ port: d.acctPort, secret: d.secret, type: 'acct', attrs });
}

function auth(d: RunningDaemon, user: string, password: string, attrs: string) {
  return radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: `User-Name = "${user}", User-Password = "${password}", ${attrs}` });
}

const LOCAL_USERS = ['users:', '  alice:', '    password: alice-pw', '    allow_cleartext: true', '    reply: { Session-Timeout: 3600 }', '  bert:', '    password: bert-pw', '    allow_cleartext: true', ''].join('\n');

t.test('local users: sessions through the admin HTTP and the CLI, accounting, restart, Accounting-On', async (t) => {
  const opts = {
    users: LOCAL_USERS,
    adminToken: TOKEN,
    extraConfig: ['sessions:', '  enabled: true', '  state_dir: sessions', '  interim_interval_seconds: 300', '  flush_ms: 50', ''].join('\n'),
  };
  let d = await startDaemon(t, opts);

  const accept = await auth(d, 'alice', 'alice-pw', nasAttrs('192.0.2.10', 5));
  t.equal(accept.code, 'Access-Accept', accept.stdout);
  t.equal(accept.replyAttrs['Acct-Interim-Interval'], '300', 'the configured interim interval goes to the NAS');

  t.equal((await d.admin('GET', '/sessions', {})).status, 401, 'no token: 401');
  t.equal((await d.admin('GET', '/sessions', { authorization: 'Bearer wrong-token-wrong-token' })).status, 401, 'wrong token: 401');
  t.equal((await d.admin('GET', '/healthz', {})).status, 200, 'other routes need no token');
  const [s] = await until('the session', async () => nonEmpty(await sessions(d, '?user=alice')));
  t.match(s, {
    user: 'alice',
    backend: 'local',
    interim_interval: 300,
    acct_session_id: null,
    nas: { key: 'loopback/192.0.2.10', port: 5, ip_address: '192.0.2.10', identifier: 'sw-192.0.2.10' },
    calling_station_id: '02-00-00-00-00-05',
  });
  t.same((await sessions(d, '?mac=02:00:00:00:00:05')).map((x) => x.id), [s!.id], 'filter by MAC in another spelling');
  t.same((await sessions(d, '?nas=192.0.2.10')).map((x) => x.id), [s!.id], 'filter by NAS');
  t.same(await sessions(d, '?user=nobody'), [], 'filter with no match');
  t.equal((await d.admin('GET', '/sessions?colour=red')).status, 400, 'unknown filter: 400');
  const one = await d.admin('GET', `/sessions/${s!.id}`);
  t.equal(one.status, 200);
  t.equal((JSON.parse(one.body) as SessionJson).id, s!.id, 'GET /sessions/ID');
  t.equal((await d.admin('GET', '/sessions/no-such-session')).status, 404);
  const del = await d.admin('DELETE', `/sessions/${s!.id}`);
  t.same([del.status, JSON.parse(del.body)], [501, { error: 'needs dynamic authorization (a dynauth section in the config)' }], 'disconnect: 501 without dynauth');

  await t.test('aaaproxy sessions list|show', async (t) => {
    const cli = await d.cliConfig();
    const list = await aaaproxyCli(['sessions', 'list', '-c', cli]);
    t.equal(list.code, 0, list.stderr);
    t.match(list.stdout, /^ID\s+USER\s+NAS\s+PORT/m, 'a header');
    t.match(list.stdout, new RegExp(`^${s!.id}\\s+alice\\s+sw-192\\.0\\.2\\.10\\s+5\\s`, 'm'), 'the session');
    t.match(list.stdout, /^1 session$/m);
    const show = await aaaproxyCli(['sessions', 'show', s!.id, '-c', cli]);
    t.equal(show.code, 0, show.stderr);
    t.match(show.stdout, /^NAS-Port\s+5$/m);
    t.match(show.stdout, /^Acct-Interim-Interval\s+300$/m);
    const filtered = await aaaproxyCli(['sessions', 'list', '-c', cli, '--user', 'nobody']);
    t.match(filtered.stdout, /^0 sessions$/m, 'filters reach the daemon');
    const noToken = await aaaproxyCli(['sessions', 'list', '--port', String(d.adminPort), '--json']);
    t.equal(noToken.code, 1, 'without the token: exit 1');
    t.match(noToken.stderr, 'unauthorized');
    const json = await aaaproxyCli(['sessions', 'list', '--port', String(d.adminPort), '--token', TOKEN, '--json', '--mac', '020000000005']);
    t.equal(json.code, 0, json.stderr);
    t.equal((JSON.parse(json.stdout) as { count: number }).count, 1, '--json with --port and --token');
    const missing = await aaaproxyCli(['sessions', 'show', 'no-such', '-c', cli]);
    t.equal(missing.code, 1);
    t.match(missing.stderr, 'no session no-such');
    const usage = await aaaproxyCli(['sessions', 'frobnicate', '--port', '1']);
    t.equal(usage.code, 2, 'unknown subcommand: usage error');
  });

  const start = await acct(d, `User-Name = alice, Acct-Status-Type = Start, Acct-Session-Id = "A-1", ${nasAttrs('192.0.2.10', 5)}, Framed-IP-Address = 10.9.0.5`);
  t.equal(start.code, 'Accounting-Response', start.stdout);
  const bound = await until('Start bound', async () => (await sessions(d, '?acct_session_id=A-1'))[0]);
  t.match(bound, { id: s!.id, framed_ip_address: '10.9.0.5', updates: 1 }, 'Start bound the Accept\'s session (NAS + NAS-Port + User-Name)');
  const interim = await acct(d, `User-Name = alice, Acct-Status-Type = Interim-Update, Acct-Session-Id = "A-1", ${nasAttrs('192.0.2.10', 5)}, Acct-Session-Time = 60, Acct-Input-Octets = 1000, Acct-Input-Gigawords = 1, Acct-Output-Octets = 2000`);
  t.equal(interim.code, 'Accounting-Response');
  const refreshed = await until('Interim applied', async () => (await sessions(d, '?acct_session_id=A-1')).find((x) => x.updates === 2));
  t.match(refreshed, { input_octets: 2 ** 32 + 1000, output_octets: 2000, session_time: 60 }, 'Interim-Update refreshed the counters (Gigawords included)');

  // The restarted daemons belong to the outer test: they serve the steps after this one.
  const outer = t;
  await t.test('the daemon restarted keeps its live sessions', async (t) => {
    t.equal(await d.stop(), 0, 'SIGTERM: clean exit');
    d = await startDaemon(outer, { ...opts, dir: d.dir });
    t.match(await sessions(d, '?user=alice'), [{ id: s!.id, acct_session_id: 'A-1', input_octets: 2 ** 32 + 1000 }], 'after SIGTERM');
    t.match(d.logs.find((l) => l.msg === 'session state restored'), { sessions: 1 });
    const other = await auth(d, 'bert', 'bert-pw', nasAttrs('192.0.2.10', 6));
    t.equal(other.code, 'Access-Accept');
    await until('bert', async () => (await sessions(d, '?user=bert'))[0]);
    await sleep(300); // past flush_ms: the journal has it
    await d.kill('SIGKILL');
    d = await startDaemon(outer, { ...opts, dir: d.dir });
    t.same((await sessions(d)).map((x) => x.user).sort(), ['alice', 'bert'], 'after SIGKILL too');
  });

  const stop = await acct(d, `User-Name = alice, Acct-Status-Type = Stop, Acct-Session-Id = "A-1", ${nasAttrs('192.0.2.10', 5)}, Acct-Terminate-Cause = User-Request, Acct-Session-Time = 90`);
  t.equal(stop.code, 'Accounting-Response');
  await until('Stop closed it', async () => ((await sessions(d, '?user=alice')).length === 0 ? true : undefined));
  t.equal(await d.metric('aaaproxy_sessions_stopped_total', { cause: 'user-request' }), 1, 'counted by cause');

  await t.test("Accounting-On closes all of that NAS's sessions, and only those", async (t) => {
    for (const [nas, port] of [['192.0.2.20', 1], ['192.0.2.20', 2], ['192.0.2.21', 1]] as const) {
      t.equal((await auth(d, 'alice', 'alice-pw', nasAttrs(nas, port))).code, 'Access-Accept');
    }
    await until('three more sessions', async () => ((await sessions(d, '?user=alice')).length === 3 ? true : undefined));
    t.equal(await d.metric('aaaproxy_sessions_active', { client: 'loopback' }), 4, 'active sessions by NAS (client)');
    const on = await acct(d, 'Acct-Status-Type = Accounting-On, NAS-IP-Address = 192.0.2.20, NAS-Identifier = "sw-192.0.2.20", Acct-Session-Id = "boot-1"');
    t.equal(on.code, 'Accounting-Response');
    const left = await until('Accounting-On applied', async () => {
      const all = await sessions(d, '?user=alice');
      return all.length === 1 ? all : undefined;
    });
    t.equal(left[0]!.nas.ip_address, '192.0.2.21', "the other NAS's session stays");
    t.equal(await d.metric('aaaproxy_sessions_stopped_total', { cause: 'accounting-on' }), 2);
  });
  t.equal(await d.stop(), 0);
});

t.test('local accounting: a missed interim writes our Stop to the accounting log', async (t) => {
  const d = await startDaemon(t, {
    users: LOCAL_USERS,
    extraConfig: ['sessions:', '  enabled: true', '  interim_interval_seconds: 1', '  interim_floor_seconds: 1', '  missed_interims: 2', ''].join('\n'),
  });
  t.match(d.logs.find((l) => l.msg?.startsWith('sessions.interim_floor_seconds is below 60')), { level: 40 }, 'a floor below 60 is warned about');
  t.equal((await auth(d, 'bert', 'bert-pw', nasAttrs('192.0.2.40', 4))).code, 'Access-Accept');
  t.equal((await acct(d, `User-Name = bert, Acct-Status-Type = Start, Acct-Session-Id = "L-1", ${nasAttrs('192.0.2.40', 4)}`)).code, 'Accounting-Response');
  const line = await until('our Stop in the accounting log', async () => {
    const lines = (await readFile(d.accountingPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    return lines.find((l) => l['origin'] === 'aaaproxy');
  });
  t.match(line, {
    status: 'stop',
    origin: 'aaaproxy',
    cause: 'lost-service',
    client: 'loopback',
    attributes: { 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'L-1', 'User-Name': 'bert', 'Acct-Terminate-Cause': 'Lost-Service', 'NAS-Port': 4 },
  });
  t.same(await sessions(d), [], 'and the session is gone');
});

t.test('proxied to FreeRADIUS, accounting through the spool: our Stops reach the accounting server', async (t) => {
  const fr: RunningFreeRadius = await startFreeRadius(t, {
    name: 'upstream',
    users: [
      'bob Cleartext-Password := "bob-pw"',
      '\tClass = "bob-class",',
      '\tAcct-Interim-Interval = 1',
      '',
      'tim Cleartext-Password := "tim-pw"',
      '\tSession-Timeout = 2',
      '',
    ].join('\n'),
  });
  const d = await startDaemon(t, {
    users: 'users: {}\n',
    spool: ['dir: spool', 'group_commit_ms: 2', 'retry_min_seconds: 0.2', 'retry_max_seconds: 1'].join('\n'),
    extraConfig: [
      'upstreams:',
      `  - { name: fr, address: 127.0.0.1, auth_port: ${fr.authPort}, acct_port: ${fr.acctPort}, secret: ${UPSTREAM_SECRET}, timeout_seconds: 0.5, retries: 1 }`,
      'pools:',
      '  - { name: main, servers: [fr] }',
      'routes:',
      '  - { name: all, auth: main, accounting: main }',
      'sessions:',
      '  enabled: true',
      '  state_dir: sessions',
      '  interim_floor_seconds: 1',
      '  missed_interims: 2',
      '  timeout_grace_seconds: 0',
      '',
    ].join('\n'),
  });
  const stopAtUpstream = (asi: string) =>
    until<LoggedRequest>(`a Stop for ${asi} at FreeRADIUS`, async () => (await fr.accountingRecords()).find((r) => r['Acct-Session-Id'] === asi && r['Acct-Status-Type'] === 'Stop'), 10_000);

  await t.test('missed interims: Stop with Acct-Terminate-Cause Lost-Service', async (t) => {
    const accept = await auth(d, 'bob', 'bob-pw', nasAttrs('192.0.2.30', 11));
    t.equal(accept.code, 'Access-Accept', accept.stdout);
    t.equal(accept.replyAttrs['Acct-Interim-Interval'], '1', "the upstream's interval (floor 1 here)");
    const [s] = await until('the session', async () => nonEmpty(await sessions(d, '?user=bob')));
    t.match(s, { backend: 'main', upstream: 'fr', interim_interval: 1 });
    const start = await acct(d, `User-Name = bob, Acct-Status-Type = Start, Acct-Session-Id = "B-1", ${nasAttrs('192.0.2.30', 11)}, Class = "bob-class"`);
    t.equal(start.code, 'Accounting-Response');
    const stop = await stopAtUpstream('B-1');
    t.match(stop, {
      'Acct-Terminate-Cause': 'Lost-Service',
      'User-Name': 'bob',
      'NAS-IP-Address': '192.0.2.30',
      'NAS-Port': '11',
      'Calling-Station-Id': '02-00-00-00-00-11',
      Class: `0x${Buffer.from('bob-class').toString('hex')}`,
      'Proxy-State-Count': '1',
    });
    const records = (await fr.accountingRecords()).filter((r) => r['Acct-Session-Id'] === 'B-1');
    t.same(records.map((r) => r['Acct-Status-Type']), ['Start', 'Stop'], "the NAS's Start, then our Stop, in order");
    t.same(await sessions(d, '?user=bob'), [], 'the session is closed');
    t.equal(await d.metric('aaaproxy_session_stops_total', { cause: 'lost-service', result: 'sent' }), 1);
  });

  await t.test('Session-Timeout: Stop with Acct-Terminate-Cause Session-Timeout', async (t) => {
    const accept = await auth(d, 'tim', 'tim-pw', nasAttrs('192.0.2.31', 12));
    t.equal(accept.code, 'Access-Accept', accept.stdout);
    t.equal(accept.replyAttrs['Session-Timeout'], '2');
    const start = await acct(d, `User-Name = tim, Acct-Status-Type = Start, Acct-Session-Id = "T-1", ${nasAttrs('192.0.2.31', 12)}`);
    t.equal(start.code, 'Accounting-Response');
    t.equal((await sessions(d, '?acct_session_id=T-1')).length, 1, 'live before the timeout');
    const stop = await stopAtUpstream('T-1');
    t.match(stop, { 'Acct-Terminate-Cause': 'Session-Timeout', 'User-Name': 'tim', 'NAS-Port': '12' });
    const time = Number(stop['Acct-Session-Time']);
    t.ok(time >= 2 && time <= 5, `Acct-Session-Time ${time}: about Session-Timeout`);
    t.same(await sessions(d, '?user=tim'), []);
  });
  t.equal(await d.stop(), 0);
});
