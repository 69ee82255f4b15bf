/**
 * The session table over the memory store, on a manual clock: sessions from Access-Accepts,
 * the matching rule, accounting, Accounting-On/Off, missed interims, Session-Timeout,
 * Idle-Timeout, the interim policy, limits, retries of the Stops it makes, and a restart.
 */
import t, { type Test } from 'tap';
import { Attr } from '../../../src/radius/attribute-types.js';
import { Code } from '../../../src/radius/codes.js';
import type { RadiusPacket, RawAttribute } from '../../../src/radius/packet.js';
import { InterimRewriter } from '../../../src/session/interim.js';
import { MemoryStore } from '../../../src/session/memory-store.js';
import { SessionTable, type AccountingResult, type ExpiryCause, type SessionObserver, type SessionTableOptions } from '../../../src/session/table.js';
import { ManualClock } from '../../../src/session/timers.js';
import type { EndCause, SessionRecord } from '../../../src/session/types.js';
import { sessionRecord } from '../../helpers/session-store-contract.js';

const text = (type: number, v: string): RawAttribute => ({ type, value: Buffer.from(v, 'utf8') });
const int = (type: number, n: number): RawAttribute => {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(n);
  return { type, value };
};
const ip = (type: number, a: string): RawAttribute => ({ type, value: Buffer.from(a.split('.').map(Number)) });
const packet = (code: number, attributes: RawAttribute[]): RadiusPacket => ({ code, identifier: 1, authenticator: Buffer.alloc(16), attributes });
const Status = { Start: 1, Stop: 2, Interim: 3, On: 7, Off: 8 } as const;

/** An Access-Request from NAS 192.0.2.10 (port, station and extras as given). */
function request(user: string, over: { port?: number; station?: string; nasIp?: string; extra?: RawAttribute[] } = {}): RawAttribute[] {
  const out = [text(Attr.UserName, user), ip(Attr.NasIpAddress, over.nasIp ?? '192.0.2.10'), text(Attr.NasIdentifier, 'switch-1'), int(Attr.NasPortType, 15)];
  if (over.port !== undefined) out.push(int(Attr.NasPort, over.port));
  if (over.station !== undefined) out.push(text(Attr.CallingStationId, over.station));
  return [...out, ...(over.extra ?? [])];
}

/** An Accounting-Request from NAS 192.0.2.10. */
function accounting(status: number, user: string, over: { asi?: string; port?: number; station?: string; nasIp?: string; extra?: RawAttribute[] } = {}): RawAttribute[] {
  const out = [int(Attr.AcctStatusType, status), ...request(user, over)];
  if (over.asi !== undefined) out.push(text(Attr.AcctSessionId, over.asi));
  return out;
}

interface Sent {
  record: SessionRecord;
  cause: EndCause;
  attributes: RawAttribute[];
}

function attrOf(attributes: RawAttribute[], type: number): Buffer | undefined {
  return attributes.find((a) => a.type === type)?.value;
}
const u32Of = (attributes: RawAttribute[], type: number) => attrOf(attributes, type)?.readUInt32BE(0);

async function setup(t: Test, over: Partial<SessionTableOptions> = {}, store?: MemoryStore, clock = new ManualClock()) {
  store ??= new MemoryStore({ clock });
  const stops: Sent[] = [];
  const ended: [string, EndCause, string][] = [];
  const results: AccountingResult[] = [];
  const expired: [string, ExpiryCause][] = [];
  const refused: string[] = [];
  const failures: { cause: EndCause; final: boolean }[] = [];
  const errors: unknown[] = [];
  let failSends = 0;
  const observer: SessionObserver = {
    started: () => undefined,
    ended: (r, cause, by) => ended.push([r.id, cause, by]),
    refused: (_reason, client) => refused.push(client),
    accounting: (r) => results.push(r),
    stopSent: () => undefined,
    stopFailed: (_r, cause, _err, final) => failures.push({ cause, final }),
    failed: (_op, err) => errors.push(err),
  };
  const sink = {
    send: async (record: SessionRecord, cause: EndCause, attributes: RawAttribute[]) => {
      if (failSends > 0) {
        failSends--;
        throw new Error('spool full');
      }
      stops.push({ record, cause, attributes });
    },
  };
  const options: SessionTableOptions = {
    nodeId: 'node-a',
    maxSessions: 1000,
    interim: { overrideSeconds: undefined, floorSeconds: 60 },
    missedInterims: 2,
    timeoutGraceSeconds: 5,
    adoptAll: true,
    ...over,
  };
  const table = new SessionTable(store, options, sink, observer, clock);
  await table.start();
  table.onExpired((r, cause) => expired.push([r.id, cause]));
  t.teardown(async () => {
    await table.close();
    await store.close();
  });
  const settle = async () => {
    await table.idle();
    await new Promise((r) => setImmediate(r));
    await table.idle();
  };
  return {
    table,
    store,
    clock,
    stops,
    ended,
    results,
    expired,
    refused,
    failures,
    errors,
    failNextSends: (n: number) => (failSends = n),
    accept: async (req: RawAttribute[], reply: RawAttribute[] = [], client = 'nas-1') => {
      const out = table.accepted(packet(Code.AccessRequest, req), reply, client, '127.0.0.1', 'local', undefined, undefined);
      await settle();
      return out;
    },
    acct: async (attrs: RawAttribute[], client = 'nas-1') => {
      table.accounting(packet(Code.AccountingRequest, attrs), client, '127.0.0.1', 'acct-listener');
      await settle();
    },
    advance: async (ms: number) => {
      // In whole seconds, so each tick sees its own time.
      for (let left = ms; left > 0; left -= 1000) {
        clock.advance(Math.min(1000, left));
        await settle();
      }
    },
    all: () => table.find({}),
  };
}

t.test('an Access-Accept creates a session with what the NAS and the server said', async (t) => {
  const s = await setup(t);
  const req = request('alice@corp.example', { port: 7, station: '02-00-5E-10-00-01', extra: [text(Attr.CalledStationId, 'AP-1:corp')] });
  const reply = [ip(Attr.FramedIpAddress, '10.0.0.7'), text(Attr.Class, 'c1'), text(Attr.Class, 'c2'), text(Attr.State, 'st'), int(Attr.SessionTimeout, 3600), int(Attr.IdleTimeout, 600), int(Attr.AcctInterimInterval, 300)];
  const started = s.clock.now();
  const out = s.table.accepted(packet(Code.AccessRequest, req), reply, 'nas-1', '127.0.0.1', 'corporate', 'radius-a', ['staff', 'vlan-20']);
  t.equal(out, reply, 'a reply within the policy goes out as it is (the same list)');
  await s.table.idle();
  const [r] = await s.all();
  t.match(r, {
    owner: 'node-a',
    origin: 'access',
    user: 'alice@corp.example',
    realm: 'corp.example',
    client: 'nas-1',
    nasKey: 'nas-1/192.0.2.10',
    nasAddress: '127.0.0.1',
    nasIpAddress: '192.0.2.10',
    nasIdentifier: 'switch-1',
    nasPort: 7,
    nasPortType: 15,
    callingStationId: '02-00-5E-10-00-01',
    calledStationId: 'AP-1:corp',
    framedIpAddress: '10.0.0.7',
    class: [Buffer.from('c1').toString('hex'), Buffer.from('c2').toString('hex')],
    state: Buffer.from('st').toString('hex'),
    backend: 'corporate',
    upstream: 'radius-a',
    roles: ['staff', 'vlan-20'],
    sessionTimeout: 3600,
    idleTimeout: 600,
    interimInterval: 300,
    startedAt: started,
    timeoutAt: started + 3_600_000,
    acctSessionId: undefined,
  });
  t.ok(r!.expiresAt! > r!.timeoutAt!, 'the store keeps it a while past the table\'s own deadline');
  t.same([...s.table.activeByClient()], [['nas-1', 1]], 'counted per client');
  t.equal((await s.table.find({ callingStationId: '02:00:5e:10:00:01' })).length, 1, 'found by MAC in another spelling');
});

t.test('interim policy: override, floor, the reply list never changed in place', async (t) => {
  const override = new InterimRewriter({ overrideSeconds: 120, floorSeconds: 60 });
  const none: RawAttribute[] = [text(Attr.ReplyMessage, 'hi')];
  const added = override.apply(none);
  t.same(added.attributes.map((a) => a.type), [Attr.ReplyMessage, Attr.AcctInterimInterval], 'added when the upstream sent none');
  t.equal(added.interval, 120);
  t.equal(none.length, 1, 'the original list untouched');
  const upstream = [int(Attr.AcctInterimInterval, 30), text(Attr.ReplyMessage, 'hi')];
  const replaced = override.apply(upstream);
  t.equal(u32Of(replaced.attributes, Attr.AcctInterimInterval), 120, "the upstream's value replaced");
  t.equal(upstream[0]!.value.readUInt32BE(0), 30, 'in a new list');
  t.equal(new InterimRewriter({ overrideSeconds: 10, floorSeconds: 60 }).apply([]).interval, 60, 'an override below the floor is raised');

  const floor = new InterimRewriter({ overrideSeconds: undefined, floorSeconds: 60 });
  const low = floor.apply([int(Attr.AcctInterimInterval, 10)]);
  t.equal(u32Of(low.attributes, Attr.AcctInterimInterval), 60, 'raised to the floor');
  const fine = [int(Attr.AcctInterimInterval, 600)];
  t.equal(floor.apply(fine).attributes, fine, 'above the floor: the same list');
  t.same(floor.apply([]), { attributes: [], interval: undefined }, 'none sent, none added');
  const twice = floor.apply([int(Attr.AcctInterimInterval, 600), int(Attr.AcctInterimInterval, 900)]);
  t.same(twice.attributes.filter((a) => a.type === Attr.AcctInterimInterval).length, 1, 'repeated: one left');

  const s = await setup(t, { interim: { overrideSeconds: 120, floorSeconds: 60 } });
  const out = await s.accept(request('bob', { port: 1 }), [int(Attr.AcctInterimInterval, 3600)]);
  t.equal(u32Of(out, Attr.AcctInterimInterval), 120, 'the NAS gets the override');
  t.equal((await s.all())[0]?.interimInterval, 120, 'and the session expects it');
});

t.test('accounting keeps a session current: Start binds, Interim refreshes, Stop closes', async (t) => {
  const s = await setup(t);
  await s.accept(request('carol', { port: 3 }), [int(Attr.AcctInterimInterval, 300), text(Attr.Class, 'k')]);
  await s.acct(accounting(Status.Start, 'carol', { asi: 'S-1', port: 3, extra: [ip(Attr.FramedIpAddress, '10.0.0.3'), text(Attr.AcctMultiSessionId, 'M-1')] }));
  let [r] = await s.all();
  t.match(r, { acctSessionId: 'S-1', acctMultiSessionId: 'M-1', framedIpAddress: '10.0.0.3', acctListener: 'acct-listener', updates: 1, acctStartedAt: s.clock.now() }, 'Start bound it');
  t.same(s.results, ['nas_port'], 'matched by NAS + NAS-Port + User-Name');

  await s.advance(60_000);
  const counters = [int(Attr.AcctSessionTime, 60), int(Attr.AcctInputOctets, 100), int(Attr.AcctInputGigawords, 2), int(Attr.AcctOutputOctets, 5000), int(Attr.AcctInputPackets, 10), int(Attr.AcctOutputPackets, 20)];
  await s.acct(accounting(Status.Interim, 'carol', { asi: 'S-1', port: 3, extra: counters }));
  [r] = await s.all();
  t.match(r, { inputOctets: 2 * 2 ** 32 + 100, outputOctets: 5000, inputPackets: 10, outputPackets: 20, sessionTime: 60, updates: 2, lastUpdateAt: s.clock.now(), lastActivityAt: s.clock.now() }, 'Interim-Update: counters with Gigawords');
  t.same(s.results.at(-1), 'session_id', 'matched by NAS + Acct-Session-Id');

  await s.acct(accounting(Status.Stop, 'carol', { asi: 'S-1', port: 3, extra: [int(Attr.AcctTerminateCause, 1), int(Attr.AcctInputOctets, 900)] }));
  t.same(await s.all(), [], 'Stop closed it');
  t.same(s.ended, [[r!.id, 'user-request', 'nas']], 'cause from Acct-Terminate-Cause');
  t.same(s.stops, [], 'no Stop of our own: the NAS sent one');
  t.same([...s.table.activeByClient()], [], 'no longer counted');
});

t.test('the matching rule', async (t) => {
  t.test('Calling-Station-Id when there is no NAS-Port', async (t) => {
    const s = await setup(t);
    await s.accept(request('dave', { station: '02-00-00-00-00-0d' }));
    await s.acct(accounting(Status.Start, 'dave', { asi: 'D-1', station: '02:00:00:00:00:0D' }));
    t.same(s.results, ['calling_station']);
    t.equal((await s.all()).length, 1, 'one session');
  });

  t.test('another port is another session; the newest unbound session on a port wins', async (t) => {
    const s = await setup(t);
    await s.accept(request('erin', { port: 1, station: 'aa' }));
    s.clock.advance(1000);
    await s.accept(request('erin', { port: 2, station: 'bb' }));
    await s.acct(accounting(Status.Start, 'erin', { asi: 'E-9', port: 9 }));
    t.same(s.results, ['created'], 'port 9 matched nothing: a session from accounting');
    await s.acct(accounting(Status.Start, 'erin', { asi: 'E-2', port: 2 }));
    const bound = await s.table.find({ acctSessionId: 'E-2' });
    t.equal(bound[0]?.nasPort, 2, 'port 2 bound to its own session');
    t.match(await s.table.find({ acctSessionId: 'E-9' }), [{ origin: 'accounting', nasPort: 9, updates: 1 }]);
  });

  t.test('a bound session is not taken by another Acct-Session-Id', async (t) => {
    const s = await setup(t);
    await s.accept(request('fay', { port: 4 }));
    await s.acct(accounting(Status.Start, 'fay', { asi: 'F-1', port: 4 }));
    await s.acct(accounting(Status.Start, 'fay', { asi: 'F-2', port: 4 }));
    t.same(s.results, ['nas_port', 'created']);
    t.equal((await s.all()).length, 2);
  });

  t.test('another NAS (NAS-IP-Address) never matches', async (t) => {
    const s = await setup(t);
    await s.accept(request('gus', { port: 5 }));
    await s.acct(accounting(Status.Start, 'gus', { asi: 'G-1', port: 5, nasIp: '192.0.2.99' }));
    t.same(s.results, ['created']);
    t.equal((await s.table.find({ nasKey: 'nas-1/192.0.2.10', unbound: true })).length, 1, 'the first session still unbound');
  });

  t.test('a Stop for no session is only counted; Acct-Session-Id matches whatever the user name', async (t) => {
    const s = await setup(t);
    await s.acct(accounting(Status.Stop, 'nobody', { asi: 'N-1', port: 1 }));
    t.same(s.results, ['unmatched']);
    t.same(await s.all(), [], 'nothing created');
    await s.accept(request('hal', { port: 6 }));
    await s.acct(accounting(Status.Start, 'hal', { asi: 'H-1', port: 6 }));
    await s.acct(accounting(Status.Interim, 'HAL-renamed', { asi: 'H-1', port: 6 }));
    t.same(s.results.slice(1), ['nas_port', 'session_id']);
  });

  t.test('Access-Request with Acct-Session-Id: re-authentication of the bound session', async (t) => {
    const s = await setup(t);
    await s.accept(request('ivy', { port: 8 }), [int(Attr.SessionTimeout, 3600)]);
    await s.acct(accounting(Status.Start, 'ivy', { asi: 'I-1', port: 8 }));
    s.clock.advance(1000);
    await s.accept(request('ivy', { port: 8, extra: [text(Attr.AcctSessionId, 'I-1')] }), [int(Attr.SessionTimeout, 7200)]);
    const all = await s.all();
    t.equal(all.length, 1, 'still one session');
    t.match(all[0], { acctSessionId: 'I-1', sessionTimeout: 7200, timeoutAt: s.clock.now() + 7_200_000, updates: 1 });
  });

  t.test('a new Access-Accept on the same port supersedes an unbound session', async (t) => {
    const s = await setup(t);
    await s.accept(request('jo', { port: 9 }));
    const [first] = await s.all();
    await s.accept(request('jo', { port: 9 }));
    const all = await s.all();
    t.equal(all.length, 1);
    t.not(all[0]!.id, first!.id, 'the newer one stays');
    t.same(s.ended, [[first!.id, 'superseded', 'table']]);
    t.same(s.stops, [], 'no Stop: accounting never knew it');
  });
});

t.test("Accounting-On closes all of that NAS's sessions, and only those", async (t) => {
  const s = await setup(t);
  await s.accept(request('k1', { port: 1 }));
  await s.accept(request('k2', { port: 2 }));
  await s.acct(accounting(Status.Start, 'k2', { asi: 'K-2', port: 2 }));
  await s.accept(request('k3', { port: 3, nasIp: '192.0.2.11' }));
  await s.acct([int(Attr.AcctStatusType, Status.On), ip(Attr.NasIpAddress, '192.0.2.10'), text(Attr.AcctSessionId, 'boot')]);
  t.same((await s.all()).map((r) => r.user), ['k3'], 'the other NAS keeps its session');
  t.same(s.ended.map(([, cause, by]) => [cause, by]), [['accounting-on', 'nas'], ['accounting-on', 'nas']]);
  t.same(s.stops, [], 'no Stops: the accounting server gets the Accounting-On itself');
  await s.acct([int(Attr.AcctStatusType, Status.Off), ip(Attr.NasIpAddress, '192.0.2.11')]);
  t.same(await s.all(), [], 'Accounting-Off too');
  t.equal(s.ended.at(-1)?.[1], 'accounting-off');
});

t.test('missed interims: closed with Lost-Service and a Stop built from the record', async (t) => {
  const s = await setup(t, { missedInterims: 2 });
  await s.accept(request('lee', { port: 1, station: '02-00-00-00-00-01' }), [int(Attr.AcctInterimInterval, 60), text(Attr.Class, 'billing-7'), ip(Attr.FramedIpAddress, '10.1.1.1')]);
  await s.accept(request('never-accounted', { port: 2 }), [int(Attr.AcctInterimInterval, 60)]);
  await s.acct(accounting(Status.Start, 'lee', { asi: 'L-1', port: 1 }));
  await s.advance(50_000);
  await s.acct(accounting(Status.Interim, 'lee', { asi: 'L-1', port: 1, extra: [int(Attr.AcctSessionTime, 50), int(Attr.AcctInputOctets, 1000), int(Attr.AcctOutputOctets, 2000)] }));
  await s.advance(100_000);
  t.equal((await s.table.find({ acctSessionId: 'L-1' })).length, 1, 'within 2 intervals of the last update: alive');
  t.equal((await s.table.find({ user: 'never-accounted' })).length, 0, 'no accounting at all for 2 intervals: closed');
  await s.advance(25_000);
  t.same(await s.all(), [], 'past 2 intervals: closed');
  t.same(s.ended.map(([, cause, by]) => [cause, by]), [['lost-service', 'table'], ['lost-service', 'table']]);
  t.equal(s.stops.length, 1, 'one Stop: the unaccounted session had no Acct-Session-Id to stop');
  const stop = s.stops[0]!;
  t.equal(stop.cause, 'lost-service');
  const a = stop.attributes;
  t.equal(u32Of(a, Attr.AcctStatusType), 2, 'Acct-Status-Type Stop');
  t.equal(u32Of(a, Attr.AcctTerminateCause), 3, 'Acct-Terminate-Cause Lost-Service (RFC 2866 §5.10)');
  t.equal(attrOf(a, Attr.AcctSessionId)?.toString(), 'L-1');
  t.equal(attrOf(a, Attr.UserName)?.toString(), 'lee');
  t.same(attrOf(a, Attr.NasIpAddress), Buffer.from([192, 0, 2, 10]));
  t.equal(u32Of(a, Attr.NasPort), 1);
  t.equal(attrOf(a, Attr.CallingStationId)?.toString(), '02-00-00-00-00-01');
  t.equal(attrOf(a, Attr.Class)?.toString(), 'billing-7', 'the Class of the Access-Accept (RFC 2865 §5.25)');
  t.same(attrOf(a, Attr.FramedIpAddress), Buffer.from([10, 1, 1, 1]));
  t.equal(u32Of(a, Attr.AcctSessionTime), 50, 'the last reported Acct-Session-Time');
  t.equal(u32Of(a, Attr.AcctInputOctets), 1000);
  t.equal(u32Of(a, Attr.AcctOutputOctets), 2000);
  const stamp = u32Of(a, Attr.EventTimestamp)!;
  t.ok(stamp <= s.clock.now() / 1000 && stamp >= s.clock.now() / 1000 - 6, 'Event-Timestamp: when it was closed');
  t.same(s.expired.map(([, c]) => c), ['lost-service', 'lost-service'], 'the expiry hook heard of both');
});

t.test('Session-Timeout: closed after the grace with a Stop, cause Session-Timeout', async (t) => {
  const s = await setup(t, { timeoutGraceSeconds: 5 });
  await s.accept(request('mo', { port: 1 }), [int(Attr.SessionTimeout, 30)]);
  await s.accept(request('reauth', { port: 2 }), [int(Attr.SessionTimeout, 30), int(Attr.TerminationAction, 1)]);
  await s.acct(accounting(Status.Start, 'mo', { asi: 'M-1', port: 1 }));
  await s.advance(33_000);
  t.equal((await s.all()).length, 2, 'within the grace: the NAS may still send its own Stop');
  await s.advance(4_000);
  t.same((await s.all()).map((r) => r.user), ['reauth'], 'Termination-Action RADIUS-Request: a re-authentication period, not an end');
  t.equal(s.stops.length, 1);
  t.equal(u32Of(s.stops[0]!.attributes, Attr.AcctTerminateCause), 5, 'Acct-Terminate-Cause Session-Timeout');
  const time = u32Of(s.stops[0]!.attributes, Attr.AcctSessionTime)!;
  t.ok(time >= 35 && time <= 37, `Acct-Session-Time ${time} from the start until now`);
  t.same(s.expired.map(([, c]) => c), ['session-timeout']);
});

t.test('Idle-Timeout: interims whose counters did not move for that long', async (t) => {
  const s = await setup(t);
  await s.accept(request('ned', { port: 1 }), [int(Attr.IdleTimeout, 120), int(Attr.AcctInterimInterval, 60)]);
  await s.acct(accounting(Status.Start, 'ned', { asi: 'N-1', port: 1 }));
  const interim = (octets: number) => accounting(Status.Interim, 'ned', { asi: 'N-1', port: 1, extra: [int(Attr.AcctInputOctets, octets), int(Attr.AcctOutputOctets, octets)] });
  await s.advance(60_000);
  await s.acct(interim(100));
  await s.advance(60_000);
  await s.acct(interim(100));
  t.equal((await s.all()).length, 1, '60 s without traffic: still below Idle-Timeout');
  await s.advance(60_000);
  await s.acct(interim(100));
  t.same(await s.all(), [], '120 s without traffic: closed');
  t.same(s.ended.map(([, c]) => c), ['idle-timeout']);
  t.equal(u32Of(s.stops[0]!.attributes, Attr.AcctTerminateCause), 4, 'Acct-Terminate-Cause Idle-Timeout');
});

t.test('max_sessions: beyond it, new sessions are not tracked', async (t) => {
  const s = await setup(t, { maxSessions: 2 });
  await s.accept(request('o1', { port: 1 }));
  await s.accept(request('o2', { port: 2 }));
  await s.accept(request('o3', { port: 3 }));
  await s.acct(accounting(Status.Start, 'o4', { asi: 'O-4', port: 4 }));
  t.same((await s.all()).map((r) => r.user).sort(), ['o1', 'o2']);
  t.same(s.refused, ['nas-1', 'nas-1']);
  t.equal(s.results.at(-1), 'refused');
});

t.test('a Stop that cannot be recorded is tried again with backoff', async (t) => {
  const s = await setup(t);
  await s.accept(request('pat', { port: 1 }), [int(Attr.AcctInterimInterval, 60)]);
  await s.acct(accounting(Status.Start, 'pat', { asi: 'P-1', port: 1 }));
  s.failNextSends(2);
  await s.advance(120_000);
  t.same(s.failures, [{ cause: 'lost-service', final: false }], 'first try failed');
  await s.advance(1_000);
  t.equal(s.failures.length, 2, 'tried again after 1 s');
  t.equal(s.stops.length, 0);
  await s.advance(2_000);
  t.equal(s.stops.length, 1, 'recorded on the third try');
});

t.test('terminate (dynamic authorization): Admin-Reset Stop', async (t) => {
  const s = await setup(t);
  await s.accept(request('quin', { port: 1 }));
  await s.acct(accounting(Status.Start, 'quin', { asi: 'Q-1', port: 1 }));
  const [r] = await s.all();
  const last = await s.table.terminate(r!.id, 'admin-reset');
  t.equal(last?.id, r!.id);
  await s.advance(0);
  await new Promise((res) => setImmediate(res));
  t.equal(u32Of(s.stops[0]!.attributes, Attr.AcctTerminateCause), 6, 'Acct-Terminate-Cause Admin-Reset');
  t.equal(await s.table.terminate('no-such', 'admin-reset'), undefined);
});

t.test('after a restart, restored sessions get a full interim window; an expired lifetime still stops', async (t) => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const longAgo = clock.now() - 3_600_000;
  store.restore([
    sessionRecord(longAgo, { id: 'old-1', owner: 'old-node', acctSessionId: 'R-1', interimInterval: 60 }),
    sessionRecord(longAgo, { id: 'old-2', acctSessionId: 'R-2', interimInterval: undefined, timeoutAt: clock.now() - 10_000, expiresAt: clock.now() + 55_000 }),
  ]);
  const s = await setup(t, { missedInterims: 2 }, store, clock);
  t.equal((await s.table.get('old-1'))?.owner, 'node-a', 'adopted from the old node id');
  await s.advance(3_000);
  t.same(s.ended.map(([id, cause, by]) => [id, cause, by]), [['old-2', 'session-timeout', 'table']], 'the one past its Session-Timeout ends at once');
  t.ok(await s.table.get('old-1'), 'the other is not lost the moment we start');
  await s.advance(120_000);
  t.equal(await s.table.get('old-1'), undefined, 'but after 2 intervals without accounting');
  t.same(s.stops.map((x) => x.cause), ['session-timeout', 'lost-service']);
});

t.test("the store's lifetime running out ends an owned session with a Session-Timeout Stop", async (t) => {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const s = await setup(t, {}, store, clock);
  await store.create(sessionRecord(clock.now(), { id: 'short', owner: 'node-a', acctSessionId: 'X-1', interimInterval: undefined, expiresAt: clock.now() + 2000 }));
  await s.advance(4_000);
  t.same(s.ended, [['short', 'session-timeout', 'store']]);
  t.equal(u32Of(s.stops[0]!.attributes, Attr.AcctTerminateCause), 5);
});
