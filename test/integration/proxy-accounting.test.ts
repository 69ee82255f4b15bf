/**
 * Accounting forwarded to upstream pools through the durable spool, end to end: a NAS driven
 * here with node:dgram (packets built with the project's codec, answers verified), the real
 * daemon, and real FreeRADIUS servers that log every Accounting-Request they get.
 *
 *  1. Start/Interim/Stop through a failover pool of two: all at the primary, our one
 *     Proxy-State, the NAS's attributes intact, in order per session.
 *  2. Failover to the backup; with both down the NAS is still answered (spooled), and when
 *     the backup returns the records arrive with Acct-Delay-Time grown by the wait.
 *  3. A burst over many sessions with the upstream stopped half-way and the daemon SIGKILLed
 *     mid-burst, restarted on the same spool: every acknowledged record arrives (at least
 *     once, duplicates counted), and per session the first arrivals keep the NAS's order.
 *  4. A tiny spool fills up: no answer (spool_full) until the upstream drains it, then the
 *     NAS's retransmission and new records are accepted again.
 */
import type { Socket } from 'node:dgram';
import t from 'tap';
import { Attr } from '../../src/radius/attribute-types.js';
import { Code } from '../../src/radius/codes.js';
import { encodeRequest, verifyResponse } from '../../src/radius/message.js';
import type { RawAttribute } from '../../src/radius/packet.js';
import { startDaemon, type DaemonOptions, type Teardown } from '../helpers/daemon.js';
import { startFreeRadius, UPSTREAM_SECRET, type LoggedRequest, type RunningFreeRadius } from '../helpers/freeradius.js';
import { attr } from '../helpers/udp.js';
import { bindLoopbackUdp } from '../helpers/udp.js';

// ---------------------------------------------------------------------------------------
// Accounting-Requests

const A = {
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionTime: 46,
  AcctTerminateCause: 49,
} as const;
const STATUS = { Start: 1, Stop: 2, 'Interim-Update': 3 } as const;
type Status = keyof typeof STATUS;

const u32 = (type: number, n: number): RawAttribute => {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(n >>> 0);
  return { type, value };
};
const ipv4 = (type: number, address: string): RawAttribute => ({ type, value: Buffer.from(address.split('.').map(Number)) });

/** One accounting record of a session; `key` is what the upstream's log identifies it by. */
interface AcctRecord {
  session: string;
  /** Position in its session, in the order the NAS sends (Acct-Session-Time is 10 x this). */
  order: number;
  status: Status;
  key: string;
  /** Acct-Delay-Time the NAS itself put in (0 when absent). */
  delay: number;
  attributes: RawAttribute[];
}

function acctRecord(session: string, sessionNo: number, order: number, status: Status, delay?: number): AcctRecord {
  const sessionTime = order * 10;
  const attributes = [
    attr(Attr.UserName, `user-${session}`),
    u32(Attr.AcctStatusType, STATUS[status]),
    attr(Attr.AcctSessionId, session),
    ipv4(Attr.NasIpAddress, '192.0.2.10'),
    u32(Attr.NasPort, sessionNo),
    attr(Attr.NasIdentifier, 'test-nas'),
    attr(Attr.CallingStationId, `02-00-00-00-${String(sessionNo % 100).padStart(2, '0')}-01`),
    ipv4(Attr.FramedIpAddress, `10.1.${(sessionNo >> 8) & 255}.${sessionNo & 255}`),
    u32(A.AcctSessionTime, sessionTime),
    u32(A.AcctInputOctets, order * 1000),
    u32(A.AcctOutputOctets, order * 2000),
    attr(Attr.Class, `class-${session}`),
    ...(status === 'Stop' ? [u32(A.AcctTerminateCause, 1)] : []),
    ...(delay !== undefined ? [u32(Attr.AcctDelayTime, delay)] : []),
  ];
  return { session, order, status, key: `${session}/${sessionTime}`, delay: delay ?? 0, attributes };
}

/** Start, `interims` Interim-Updates, Stop. */
function sessionRecords(session: string, sessionNo: number, interims: number): AcctRecord[] {
  const out = [acctRecord(session, sessionNo, 0, 'Start')];
  for (let i = 1; i <= interims; i++) out.push(acctRecord(session, sessionNo, i, 'Interim-Update'));
  out.push(acctRecord(session, sessionNo, interims + 1, 'Stop'));
  return out;
}

const keyOf = (r: LoggedRequest): string => `${r['Acct-Session-Id']}/${r['Acct-Session-Time']}`;
const hex = (s: string): string => `0x${Buffer.from(s, 'utf8').toString('hex')}`;

// ---------------------------------------------------------------------------------------
// The NAS

interface SendOptions {
  /** Wait per transmission. */
  timeoutMs?: number;
  /** Transmissions in all (the retransmissions are the same bytes, as RFC 5080 §2.2.1 wants). */
  tries?: number;
}

/**
 * A NAS on one UDP socket: up to 256 requests outstanding, one per identifier. A request
 * counts as acknowledged only when an Accounting-Response with its identifier verifies
 * against its Request Authenticator and the secret.
 */
class Nas {
  readonly stats = { requests: 0, transmissions: 0, acked: 0, unanswered: 0, badReplies: 0 };
  private readonly waiting = new Map<number, (reply: Buffer) => void>();
  /** Free identifiers, least recently freed first. */
  private readonly free = Array.from({ length: 256 }, (_, i) => i);
  private readonly secret: Buffer;

  private constructor(
    private readonly socket: Socket,
    /** Where requests go; a restarted daemon has a new port. */
    public port: number,
    secret: string,
  ) {
    this.secret = Buffer.from(secret, 'utf8');
    socket.on('message', (msg) => {
      if (msg.length >= 20) this.waiting.get(msg[1]!)?.(msg);
    });
  }

  static async open(t: Teardown, port: number, secret: string): Promise<Nas> {
    const socket = await bindLoopbackUdp();
    socket.on('error', () => undefined);
    t.teardown(() => socket.close());
    return new Nas(socket, port, secret);
  }

  /** Resolves with when the verified answer came, or undefined when every try went unanswered. */
  async send(attributes: RawAttribute[], opts: SendOptions = {}): Promise<number | undefined> {
    const timeoutMs = opts.timeoutMs ?? 1000;
    const tries = opts.tries ?? 3;
    while (this.free.length === 0) await sleep(5);
    const id = this.free.shift()!;
    // A NAS's Accounting-Request usually has no Message-Authenticator.
    const buf = encodeRequest({ code: Code.AccountingRequest, identifier: id, attributes }, this.secret, false);
    const requestAuthenticator = Buffer.from(buf.subarray(4, 20));
    this.stats.requests++;
    try {
      return await new Promise<number | undefined>((resolve) => {
        let sent = 0;
        let timer: NodeJS.Timeout | undefined;
        const transmit = () => {
          if (sent++ >= tries) {
            this.waiting.delete(id);
            this.stats.unanswered++;
            resolve(undefined);
            return;
          }
          this.stats.transmissions++;
          this.socket.send(buf, this.port, '127.0.0.1', () => undefined);
          timer = setTimeout(transmit, timeoutMs);
        };
        this.waiting.set(id, (reply) => {
          if (reply[0] !== Code.AccountingResponse || verifyResponse(reply, requestAuthenticator, this.secret, false) !== 'ok') {
            // A late answer to an earlier request under this identifier, or garbage.
            this.stats.badReplies++;
            return;
          }
          clearTimeout(timer);
          this.waiting.delete(id);
          this.stats.acked++;
          resolve(Date.now());
        });
        transmit();
      });
    } finally {
      this.free.push(id);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/** Fast failure detection, so that the whole file stays within tens of seconds. */
function upstreamYaml(name: string, fr: RunningFreeRadius): string {
  return (
    `  - { name: ${name}, address: 127.0.0.1, auth_port: ${fr.authPort}, acct_port: ${fr.acctPort}, secret: ${UPSTREAM_SECRET},\n` +
    `      timeout_seconds: 0.3, retries: 1, status_check: { interval_seconds: 0.3, revive_after: 1, zombie_period_seconds: 1 } }`
  );
}

function proxyConfig(servers: [string, RunningFreeRadius][]): string {
  return [
    'upstreams:',
    ...servers.map(([name, fr]) => upstreamYaml(name, fr)),
    'pools:',
    `  - { name: acct, servers: [${servers.map(([n]) => n).join(', ')}], mode: failover }`,
    'routes:',
    '  - { name: all, accounting: acct }',
    '',
  ].join('\n');
}

function spoolYaml(extra: string[] = []): string {
  return ['dir: spool', 'group_commit_ms: 2', 'retry_min_seconds: 0.2', 'retry_max_seconds: 1', ...extra].join('\n');
}

const PENDING = 'aaaproxy_spool_pending_records';

/** Records per session in the order they first arrived upstream, and how many arrived again. */
function firstArrivals(records: LoggedRequest[]): { bySession: Map<string, string[]>; count: Map<string, number> } {
  const bySession = new Map<string, string[]>();
  const count = new Map<string, number>();
  for (const r of records) {
    const key = keyOf(r);
    const n = count.get(key) ?? 0;
    count.set(key, n + 1);
    if (n > 0) continue;
    const s = r['Acct-Session-Id']!;
    let list = bySession.get(s);
    if (!list) bySession.set(s, (list = []));
    list.push(key);
  }
  return { bySession, count };
}

/** Per session, are the first arrivals in the NAS's order? Returns the sessions that are not. */
function outOfOrder(records: LoggedRequest[], sent: Map<string, AcctRecord>): string[] {
  const bad: string[] = [];
  for (const [session, keys] of firstArrivals(records).bySession) {
    const orders = keys.map((k) => sent.get(k)?.order ?? -1);
    if (orders.some((o, i) => o < 0 || (i > 0 && o <= orders[i - 1]!))) bad.push(`${session}: ${orders.join(',')}`);
  }
  return bad;
}

// ---------------------------------------------------------------------------------------

// Five FreeRADIUS servers and four daemon starts: more than tap's default 30 s on a busy machine.
t.setTimeout(120_000);

t.test('a failover pool of two', async (t) => {
  const [primary, backup] = await Promise.all([
    startFreeRadius(t, { users: '', name: 'primary' }),
    startFreeRadius(t, { users: '', name: 'backup' }),
  ]);
  const d = await startDaemon(t, {
    users: 'users: {}\n',
    spool: spoolYaml(),
    extraConfig: proxyConfig([
      ['primary', primary],
      ['backup', backup],
    ]),
  });
  const nas = await Nas.open(t, d.acctPort, d.secret);

  /** Sends each session's records one after the other (sessions side by side); returns when each was answered. */
  const sendSessions = async (sessions: AcctRecord[][]) => {
    const acked = new Map<string, { sentAt: number; ackAt: number | undefined }>();
    await Promise.all(
      sessions.map(async (records) => {
        for (const r of records) {
          const sentAt = Date.now();
          acked.set(r.key, { sentAt, ackAt: await nas.send(r.attributes, { timeoutMs: 1000, tries: 2 }) });
        }
      }),
    );
    return acked;
  };

  await t.test('Start, Interim-Update, Stop: answered, delivered to the primary with our Proxy-State', async (t) => {
    const sessions = [1, 2, 3].map((i) => {
      const s = sessionRecords(`basic-${i}`, i, 1);
      // The NAS's own Acct-Delay-Time (a record it had to retry) is kept and added to.
      s[1] = acctRecord(`basic-${i}`, i, 1, 'Interim-Update', 3);
      return s;
    });
    const all = sessions.flat();
    const acked = await sendSessions(sessions);
    t.equal([...acked.values()].filter((a) => a.ackAt !== undefined).length, all.length, 'every request got a verified Accounting-Response');

    await primary.waitForAccounting(all.length, 5000);
    await d.waitForMetric(PENDING, undefined, (v) => v === 0, 5000);
    const got = await primary.accountingRecords();
    const byKey = new Map(got.map((r) => [keyOf(r), r]));
    t.equal(got.length, all.length, 'each record once at the primary');
    t.equal((await backup.accountingRecords()).length, 0, 'nothing at the backup');
    for (const rec of all) {
      const r = byKey.get(rec.key);
      if (!t.ok(r, `${rec.key} arrived`)) continue;
      t.has(
        r,
        {
          'Acct-Status-Type': rec.status,
          'Acct-Session-Id': rec.session,
          'User-Name': `user-${rec.session}`,
          'NAS-IP-Address': '192.0.2.10',
          'NAS-Identifier': 'test-nas',
          'NAS-Port': String(rec.session.at(-1)),
          'Framed-IP-Address': `10.1.0.${rec.session.at(-1)}`,
          'Calling-Station-Id': `02-00-00-00-0${rec.session.at(-1)}-01`,
          'Acct-Session-Time': String(rec.order * 10),
          'Acct-Input-Octets': String(rec.order * 1000),
          'Acct-Output-Octets': String(rec.order * 2000),
          Class: hex(`class-${rec.session}`),
          'Acct-Terminate-Cause': rec.status === 'Stop' ? 'User-Request' : '',
          'Proxy-State-Count': '1',
          'Packet-Src-IP-Address': '127.0.0.1',
        },
        `${rec.key}: the NAS's attributes and one Proxy-State (ours)`,
      );
      const delay = Number(r!['Acct-Delay-Time']);
      t.ok(delay >= rec.delay && delay <= rec.delay + 1, `${rec.key}: Acct-Delay-Time ${delay} is the NAS's ${rec.delay} plus at most a second`);
    }
    t.same(outOfOrder(got, new Map(all.map((r) => [r.key, r]))), [], 'in the NAS order per session');
    t.equal(await d.metric('aaaproxy_spool_delivered_total', { pool: 'acct', server: 'primary' }), all.length, 'delivered_total{server=primary}');
  });

  await t.test('primary down: the backup gets them; both down: spooled, delivered with the wait in Acct-Delay-Time', async (t) => {
    await primary.stop();
    const failover = [sessionRecords('failover-1', 11, 1), sessionRecords('failover-2', 12, 1)];
    const acked = await sendSessions(failover);
    t.ok([...acked.values()].every((a) => a.ackAt !== undefined), 'answered while the primary is down');
    await backup.waitForAccounting(6, 8000);
    const atBackup = new Set((await backup.accountingRecords()).map(keyOf));
    t.ok(failover.flat().every((r) => atBackup.has(r.key)), 'every record at the backup');
    const atPrimary = new Set((await primary.accountingRecords()).map(keyOf));
    t.notOk(failover.flat().some((r) => atPrimary.has(r.key)), 'none at the stopped primary');
    await d.waitForMetric(PENDING, undefined, (v) => v === 0, 5000);

    await backup.stop();
    const before = (await backup.accountingRecords()).length;
    const spooled = [sessionRecords('spooled-1', 21, 2), sessionRecords('spooled-2', 22, 2)];
    spooled[0]![2] = acctRecord('spooled-1', 21, 2, 'Interim-Update', 2);
    const spooledAcks = await sendSessions(spooled);
    t.ok([...spooledAcks.values()].every((a) => a.ackAt !== undefined), 'answered with every server down: the records are in the spool');
    const pending = await d.waitForMetric(PENDING, undefined, (v) => v > 0, 2000);
    t.ok(pending > 0 && pending <= 8, `spool_pending_records ${pending} while no server answers`);

    const lastAck = Math.max(...[...spooledAcks.values()].map((a) => a.ackAt!));
    await sleep(Math.max(0, lastAck + 2200 - Date.now()));
    t.ok((await d.metric('aaaproxy_spool_deferred_total', { pool: 'acct', reason: 'no_server_answered' })) > 0, 'deliveries were put off');
    // Dead servers get only probes, so every delivery attempt is built after the backup is back.
    await d.waitForMetric('aaaproxy_upstream_state', { server: 'backup', state: 'dead' }, (v) => v === 1, 5000);
    const backupStartAt = Date.now();
    await backup.start();
    const lines = await backup.waitForAccounting(before + 8, 8000);
    await d.waitForMetric(PENDING, undefined, (v) => v === 0, 5000);
    const doneAt = Date.now();
    const got = (await backup.accountingRecords()).slice(before);
    t.equal(lines.length - before, 8, 'all 8 arrived once at the backup');
    const byKey = new Map(got.map((r) => [keyOf(r), r]));
    for (const rec of spooled.flat()) {
      const r = byKey.get(rec.key);
      if (!t.ok(r, `${rec.key} arrived`)) continue;
      const { sentAt, ackAt } = spooledAcks.get(rec.key)!;
      const delay = Number(r!['Acct-Delay-Time']);
      // It waited at least from its answer to the backup's start, at most from its sending until now.
      const min = rec.delay + Math.floor((backupStartAt - ackAt!) / 1000);
      const max = rec.delay + Math.ceil((doneAt - sentAt) / 1000);
      t.ok(delay >= min && delay <= max, `${rec.key}: Acct-Delay-Time ${delay} in [${min}, ${max}]`);
      t.equal(r!['Proxy-State-Count'], '1', `${rec.key}: one Proxy-State`);
    }
    t.same(outOfOrder(got, new Map(spooled.flat().map((r) => [r.key, r]))), [], 'in the NAS order per session');
  });
});

t.test('burst: upstream stopped half-way, daemon SIGKILLed mid-burst and restarted on the same spool', async (t) => {
  const SESSIONS = 50;
  const PER_SESSION = 40; // Start, 38 Interim-Updates, Stop
  const WINDOW = 32; // requests the NAS keeps outstanding
  const RATE = 450; // requests per second the NAS starts at most
  const N = SESSIONS * PER_SESSION;

  const upstream = await startFreeRadius(t, { users: '', name: 'burst-upstream' });
  const opts: DaemonOptions = {
    users: 'users: {}\n',
    spool: spoolYaml(['window: 64']),
    extraConfig: proxyConfig([['up', upstream]]),
  };
  const d1 = await startDaemon(t, opts);
  const nas = await Nas.open(t, d1.acctPort, d1.secret);

  const sessions = Array.from({ length: SESSIONS }, (_, i) => sessionRecords(`burst-${String(i).padStart(3, '0')}`, i, PER_SESSION - 2));
  const sent = new Map(sessions.flat().map((r) => [r.key, r]));
  const results: { rec: AcctRecord; sentAt: number; ackAt: number | undefined }[] = [];

  // The NAS: each session's records one after the other, sessions side by side, WINDOW at once, paced.
  const startedAt = Date.now();
  let slotAt = startedAt;
  const ready = sessions.map((_, i) => i);
  const next = sessions.map(() => 0);
  const worker = async () => {
    for (let s = ready.shift(); s !== undefined; s = ready.shift()) {
      const rec = sessions[s]![next[s]!++]!;
      const now = Date.now();
      const at = Math.max(slotAt, now);
      slotAt = at + 1000 / RATE;
      if (at > now) await sleep(at - now);
      const sentAt = Date.now();
      results.push({ rec, sentAt, ackAt: await nas.send(rec.attributes, { timeoutMs: 400, tries: 2 }) });
      if (next[s]! < sessions[s]!.length) ready.push(s);
    }
  };
  const burst = Promise.all(Array.from({ length: WINDOW }, worker));

  const timeline: string[] = [];
  const mark = (what: string) => timeline.push(`${((Date.now() - startedAt) / 1000).toFixed(2)} s: ${what} (acked ${nas.stats.acked}, sent ${nas.stats.requests})`);

  await until('600 records answered', () => nas.stats.acked >= 600, 15_000);
  await upstream.stop();
  const stoppedAt = Date.now();
  mark('upstream stopped');
  await until('1200 records answered', () => nas.stats.acked >= 1200, 15_000);
  const pendingAtKill = await d1.metric(PENDING);
  await d1.kill('SIGKILL');
  mark(`daemon SIGKILLed with ${pendingAtKill} pending`);
  t.ok(pendingAtKill > 0, `records were waiting in the spool when the daemon was killed (${pendingAtKill})`);

  const d2 = await startDaemon(t, { ...opts, dir: d1.dir });
  nas.port = d2.acctPort;
  mark(`daemon restarted, acct port ${d1.acctPort} -> ${d2.acctPort}`);
  const pendingAfterRestart = await d2.metric(PENDING);
  t.ok(pendingAfterRestart >= pendingAtKill, `the restarted daemon resumed with ${pendingAfterRestart} records pending`);
  await until('300 more answered by the new daemon', () => nas.stats.acked >= 1500 || results.length === N, 15_000);
  // Dead servers get only probes: every delivery attempt from here on is built after the upstream is back.
  await d2.waitForMetric('aaaproxy_upstream_state', { server: 'up', state: 'dead' }, (v) => v === 1, 5000);
  const upstreamStartAt = Date.now();
  const linesBefore = (await upstream.accountingLines()).length;
  await upstream.start();
  mark('upstream started');

  // Killed again while it delivers the backlog: what was delivered after the last persisted cursor goes again.
  await until('300 delivered after the restart', async () => (await upstream.accountingLines()).length >= linesBefore + 300, 10_000);
  const pendingAtKill2 = await d2.metric(PENDING);
  await d2.kill('SIGKILL');
  mark(`daemon SIGKILLed again while delivering, ${pendingAtKill2} pending`);
  const d3 = await startDaemon(t, { ...opts, dir: d1.dir });
  nas.port = d3.acctPort;
  const pendingAfterRestart2 = await d3.metric(PENDING);
  mark(`daemon restarted with ${pendingAfterRestart2} pending, acct port ${d3.acctPort}`);

  await burst;
  mark('burst sent');
  await d3.waitForMetric(PENDING, undefined, (v) => v === 0, 20_000);
  mark('spool empty');

  const records = await upstream.accountingRecords();
  const { count } = firstArrivals(records);
  const acked = results.filter((r) => r.ackAt !== undefined);
  const unanswered = results.filter((r) => r.ackAt === undefined);
  const missing = acked.filter((r) => !count.has(r.rec.key)).map((r) => r.rec.key);
  const duplicated = [...count.values()].filter((n) => n > 1);
  const extra = [...count.keys()].filter((k) => !sent.has(k));
  const unansweredArrived = unanswered.filter((r) => count.has(r.rec.key)).length;

  t.equal(results.length, N, `the NAS sent all ${N} records`);
  t.ok(acked.length >= N / 2, `${acked.length} acknowledged, ${unanswered.length} unanswered (sent while the daemon was down)`);
  t.same(missing, [], 'every acknowledged record arrived upstream');
  t.same(extra, [], 'nothing arrived that the NAS did not send');
  t.same(outOfOrder(records, sent), [], 'per session, the first arrivals are in the order the NAS sent them');
  t.equal(nas.stats.badReplies, 0, 'no answer failed verification');
  const vectors = new Set(records.map((r) => r['Packet-Authentication-Vector']));
  t.ok(records.every((r) => /^0x[0-9a-f]{32}$/.test(r['Packet-Authentication-Vector'] ?? '')), 'the upstream logged each Request Authenticator');
  t.equal(vectors.size, records.length, 'every copy, replays included, has its own Request Authenticator');
  t.equal(await d3.metric('aaaproxy_spool_corrupt_regions_total'), 0, 'a SIGKILL damages nothing but the tail');

  // RFC 2866 §5.2 across restarts: a record answered after the upstream stopped waited at
  // least until it came back, and every copy of it says so; none claims more than the test took.
  const ackedAt = new Map(acked.map((r) => [r.rec.key, r.ackAt!]));
  const maxDelay = Math.ceil((Date.now() - startedAt) / 1000);
  const badDelay: string[] = [];
  let spooledCopies = 0;
  for (const r of records) {
    const delay = Number(r['Acct-Delay-Time']);
    const at = ackedAt.get(keyOf(r));
    const min = at !== undefined && at > stoppedAt ? Math.floor((upstreamStartAt - at) / 1000) : 0;
    if (min > 0) spooledCopies++;
    if (!(delay >= min && delay <= maxDelay)) badDelay.push(`${keyOf(r)}: ${delay} not in [${min}, ${maxDelay}]`);
  }
  t.same(badDelay, [], `Acct-Delay-Time covers the time in the spool (${spooledCopies} copies waited at least a second)`);
  t.ok(spooledCopies > 0, 'some records waited long enough for a non-zero lower bound');

  t.comment(timeline.join('\n'));
  t.comment(
    `NAS: ${results.length} records, ${nas.stats.transmissions} transmissions, ${acked.length} acknowledged, ${unanswered.length} unanswered ` +
      `(${unansweredArrived} of those arrived anyway)`,
  );
  t.comment(
    `upstream: ${records.length} Accounting-Requests, ${count.size} distinct records, ${duplicated.length} records arrived more than once ` +
      `(${records.length - count.size} extra copies, at most ${Math.max(0, ...duplicated)} of one)`,
  );
  const torn = [d2, d3].map((d) => d.logs.filter((l) => l.msg === 'accounting spool: torn write at the end cut off').length);
  t.comment(`restarts: ${pendingAfterRestart} then ${pendingAfterRestart2} pending on start; torn tails cut off: ${torn.join(', ')}`);
});

t.test('spool full: no answer until the upstream drains it, then accepted again', async (t) => {
  const upstream = await startFreeRadius(t, { users: '', name: 'full-upstream' });
  const d = await startDaemon(t, {
    users: 'users: {}\n',
    spool: spoolYaml(['max_bytes: 16384', 'segment_bytes: 4096']),
    extraConfig: proxyConfig([['up', upstream]]),
  });
  const nas = await Nas.open(t, d.acctPort, d.secret);
  await upstream.stop();

  const sessions = Array.from({ length: 4 }, (_, i) => sessionRecords(`full-${i}`, 40 + i, 80));
  const sent = new Map(sessions.flat().map((r) => [r.key, r]));
  const accepted: AcctRecord[] = [];
  let refused: AcctRecord | undefined;
  // Round-robin over the sessions, one request at a time, until one gets no answer.
  fill: for (let i = 0; i < 82; i++) {
    for (const s of sessions) {
      const rec = s[i]!;
      if ((await nas.send(rec.attributes, { timeoutMs: 500, tries: 2 })) === undefined) {
        refused = rec;
        break fill;
      }
      accepted.push(rec);
    }
  }
  if (!refused) return t.fail('the spool never filled up');
  t.ok(accepted.length > 20, `${accepted.length} records accepted before the spool was full`);
  const drops = await d.metric('aaaproxy_packets_dropped_total', { reason: 'spool_full' });
  t.ok(drops >= 2, `the request and its retransmission dropped as spool_full (${drops})`);
  t.ok((await d.metric('aaaproxy_spool_bytes')) <= 16384, 'the spool stays within max_bytes');
  t.equal(await d.metric(PENDING), accepted.length, 'every accepted record is pending');

  // The NAS keeps retransmitting the refused record (same bytes); meanwhile the upstream returns.
  const retransmitted = nas.send(refused.attributes, { timeoutMs: 300, tries: 40 });
  await d.waitForMetric('aaaproxy_packets_dropped_total', { reason: 'spool_full' }, (v) => v >= drops + 2, 3000);
  t.pass('retransmissions are refused while the spool is full');
  await upstream.start();
  t.ok((await retransmitted) !== undefined, 'a retransmission is answered once the spool has room');
  await d.waitForMetric(PENDING, undefined, (v) => v === 0, 10_000);

  // New records (each session's next) are accepted again.
  const refusedRec = refused;
  const more = sessions.map((s) => {
    const session = s[0]!.session;
    return s[accepted.filter((r) => r.session === session).length + (refusedRec.session === session ? 1 : 0)]!;
  });
  for (const rec of more) t.ok((await nas.send(rec.attributes, { timeoutMs: 500, tries: 3 })) !== undefined, `${rec.key} accepted`);
  await d.waitForMetric(PENDING, undefined, (v) => v === 0, 10_000);

  const records = await upstream.accountingRecords();
  const { count } = firstArrivals(records);
  const want = [...accepted, refused, ...more];
  t.same(
    want.filter((r) => !count.has(r.key)).map((r) => r.key),
    [],
    `all ${want.length} acknowledged records arrived`,
  );
  t.same(outOfOrder(records, sent), [], 'in the NAS order per session');
  t.comment(`${accepted.length} accepted before full; ${records.length} arrivals for ${count.size} records`);
});

t.test('a realm-stripping route and a NAS identity override apply to accounting as to Access-Requests', async (t) => {
  const upstream = await startFreeRadius(t, { users: '', name: 'rewrite-upstream' });
  const d = await startDaemon(t, {
    users: 'users: {}\n',
    spool: spoolYaml(),
    extraConfig: [
      'upstreams:',
      upstreamYaml('up', upstream).replace(' secret:', ' nas_identifier: proxy-1, nas_ip_address: 198.51.100.1, secret:'),
      'pools:',
      '  - { name: acct, servers: [up], mode: failover }',
      'routes:',
      '  - { name: corp, realm: example.com, strip_realm: true, accounting: acct }',
      '  - { name: rest, accounting: acct }',
      '',
    ].join('\n'),
  });
  const nas = await Nas.open(t, d.acctPort, d.secret);
  const corp = acctRecord('strip-1', 61, 0, 'Start');
  corp.attributes[0] = attr(Attr.UserName, 'bob@example.com');
  const other = acctRecord('strip-2', 62, 0, 'Start');
  other.attributes[0] = attr(Attr.UserName, 'eve@elsewhere.example');
  for (const rec of [corp, other]) t.ok((await nas.send(rec.attributes)) !== undefined, `${rec.key} answered`);
  await upstream.waitForAccounting(2, 5000);
  const byKey = new Map((await upstream.accountingRecords()).map((r) => [keyOf(r), r]));
  t.has(byKey.get(corp.key), { 'User-Name': 'bob', 'NAS-Identifier': 'proxy-1', 'NAS-IP-Address': '198.51.100.1' }, 'stripped, with our NAS identity');
  t.has(byKey.get(other.key), { 'User-Name': 'eve@elsewhere.example', 'NAS-Identifier': 'proxy-1' }, 'a route without strip_realm keeps the name');
});

t.test('a record whose upstream copy would pass 4096 octets is acknowledged, then skipped and logged, not retried forever', async (t) => {
  const upstream = await startFreeRadius(t, { users: '', name: 'long-upstream' });
  const d = await startDaemon(t, { users: 'users: {}\n', spool: spoolYaml(), extraConfig: proxyConfig([['up', upstream]]) });
  const nas = await Nas.open(t, d.acctPort, d.secret);
  // Padded with Class to 4090 octets from the NAS (without Message-Authenticator, so none is
  // added upstream); ours adds Acct-Delay-Time (6) and Proxy-State (10): 4106.
  const long = acctRecord('long-1', 71, 0, 'Start');
  const octets = (attrs: typeof long.attributes) => 20 + attrs.reduce((n, a) => n + 2 + a.value.length, 0);
  const classes = Array.from({ length: 15 }, (_, i) => ({ type: Attr.Class, value: Buffer.alloc(253, i) }));
  long.attributes = [...long.attributes.filter((a) => a.type !== Attr.Class), ...classes];
  long.attributes.push({ type: Attr.Class, value: Buffer.alloc(4090 - octets(long.attributes) - 2, 0x2e) });
  const size = octets(long.attributes);
  t.ok(size > 4096 - 16 && size <= 4096, `the NAS's packet (${size} octets) fits, the upstream copy would not`);
  t.ok((await nas.send(long.attributes)) !== undefined, 'the NAS is answered: the record is durable');
  const normal = acctRecord('long-2', 72, 0, 'Start');
  t.ok((await nas.send(normal.attributes)) !== undefined);
  await upstream.waitForAccounting(1, 5000);
  await d.waitForMetric(PENDING, undefined, (v) => v === 0, 5000);
  await d.waitForLog((l) => l.msg === 'accounting spool: record would pass 4096 octets upstream; skipped');
  t.same((await upstream.accountingRecords()).map(keyOf), [normal.key], 'the other record arrived; the long one was skipped');
});
