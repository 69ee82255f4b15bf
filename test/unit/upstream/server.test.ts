/**
 * UpstreamServer against a real UDP responder on 127.0.0.1 (port 0). Short timeouts; every
 * wait is bounded.
 */
import t from 'tap';
import type { RemoteInfo, Socket } from 'node:dgram';
import { Attr } from '../../../src/radius/attribute-types.js';
import { Code } from '../../../src/radius/codes.js';
import { findMessageAuthenticatorOffset, signResponseAuthenticator } from '../../../src/radius/crypto.js';
import { encodeRequest, encodeResponse } from '../../../src/radius/message.js';
import { bindLoopbackUdp } from '../../helpers/udp.js';
import { sleep, until } from '../../helpers/wait.js';
import {
  UpstreamError,
  UpstreamServer,
  type PacketBuilder,
  type ReplyDropReason,
  type UpstreamObserver,
  type UpstreamPurpose,
  type UpstreamServerOptions,
  type UpstreamState,
} from '../../../src/upstream/server.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Asserts {
  ok(value: unknown, ...message: [string]): unknown;
  equal(found: unknown, wanted: unknown, ...message: [string]): unknown;
  fail(...message: [string]): unknown;
}

const SECRET = Buffer.from('upstream-secret');

type Answer = (req: Buffer, from: RemoteInfo) => Buffer[] | undefined;
const silent: Answer = () => undefined;

/** A loopback RADIUS server whose behaviour each test sets through `answer`. */
class Responder {
  readonly received: { buf: Buffer; from: RemoteInfo }[] = [];
  answer: Answer = silent;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (msg, from) => {
      this.received.push({ buf: msg, from });
      for (const out of this.answer(msg, from) ?? []) this.sendTo(out, from);
    });
  }

  static async open(t: Teardown): Promise<Responder> {
    const socket = await bindLoopbackUdp();
    try {
      // Bursts of hundreds of small datagrams overflow the default SO_RCVBUF (about 208 KiB).
      socket.setRecvBufferSize(1024 * 1024);
    } catch {
      // Capped by net.core.rmem_max; the tests send in batches small enough for the default.
    }
    const r = new Responder(socket);
    t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    return r;
  }

  get port(): number {
    return this.socket.address().port;
  }

  sendTo(buf: Buffer, to: RemoteInfo): void {
    this.socket.send(buf, to.port, to.address);
  }
}

/** A properly signed reply: Access-Accept (Message-Authenticator first) or Accounting-Response. */
function reply(req: Buffer, opts: { secret?: Buffer; withMac?: boolean; code?: number } = {}): Buffer {
  const code = opts.code ?? (req[0] === Code.AccountingRequest ? Code.AccountingResponse : Code.AccessAccept);
  return encodeResponse({ code, identifier: req[1]!, attributes: [] }, req.subarray(4, 20), opts.secret ?? SECRET, opts.withMac);
}

const acceptAll: Answer = (req) => [reply(req)];

class Recorder implements UpstreamObserver {
  readonly states: [UpstreamState, UpstreamState, string][] = [];
  readonly drops: ReplyDropReason[] = [];
  retransmits = 0;
  timeouts = 0;
  replies = 0;
  stateChanged(_server: string, from: UpstreamState, to: UpstreamState, reason: string): void {
    this.states.push([from, to, reason]);
  }
  replyDropped(_server: string, reason: ReplyDropReason): void {
    this.drops.push(reason);
  }
  retransmitted(_server: string, _purpose: UpstreamPurpose): void {
    this.retransmits++;
  }
  timedOut(_server: string, _purpose: UpstreamPurpose): void {
    this.timeouts++;
  }
  replied(_server: string, _purpose: UpstreamPurpose, _seconds: number): void {
    this.replies++;
  }
}

function makeServer(t: Teardown, port: number, over: Partial<UpstreamServerOptions> = {}) {
  const observer = new Recorder();
  const server = new UpstreamServer(
    {
      name: 'up1',
      address: '127.0.0.1',
      authPort: port,
      acctPort: port,
      secret: SECRET,
      timeoutMs: 1000,
      retries: 0,
      requireMessageAuthenticator: undefined,
      sourceAddress: '127.0.0.1',
      probeIntervalMs: 50,
      reviveAfter: 2,
      zombiePeriodMs: 10_000,
      maxSockets: 4,
      ...over,
    },
    observer,
  );
  t.teardown(() => server.close());
  return { server, observer };
}

const accessRequest: PacketBuilder = (identifier) => {
  const buf = encodeRequest({ code: Code.AccessRequest, identifier, attributes: [{ type: Attr.UserName, value: Buffer.from('alice') }] }, SECRET);
  return { buf, requestAuthenticator: Buffer.from(buf.subarray(4, 20)) };
};

const accountingRequest: PacketBuilder = (identifier) => {
  const attributes = [{ type: Attr.AcctStatusType, value: Buffer.from([0, 0, 0, 1]) }];
  const buf = encodeRequest({ code: Code.AccountingRequest, identifier, attributes }, SECRET, false);
  return { buf, requestAuthenticator: Buffer.from(buf.subarray(4, 20)) };
};

/** Asserts that p rejects with an UpstreamError of this code. */
async function rejectsWith(t: Asserts, p: Promise<unknown>, code: UpstreamError['code'], what: string = code): Promise<void> {
  try {
    await p;
    t.fail(`${what}: resolved`);
  } catch (err) {
    t.ok(err instanceof UpstreamError, `${what}: UpstreamError`);
    t.equal((err as UpstreamError).code, code, what);
  }
}

t.test('a verified reply resolves the request', async (t) => {
  const r = await Responder.open(t);
  r.answer = acceptAll;
  const { server, observer } = makeServer(t, r.port);
  const got = await server.sendAccess(accessRequest);
  t.equal(got.packet.code, Code.AccessAccept);
  t.equal(got.packet.identifier, r.received[0]!.buf[1]);
  t.equal(observer.replies, 1);
  t.same(observer.drops, []);
  t.equal(server.outstanding, 0);
  t.equal(server.state, 'alive');
  t.equal(r.received[0]!.from.address, '127.0.0.1', 'sent from the source address');
});

t.test('accounting goes to the accounting port and takes Accounting-Response', async (t) => {
  const auth = await Responder.open(t);
  const acct = await Responder.open(t);
  acct.answer = acceptAll;
  const { server } = makeServer(t, auth.port, { acctPort: acct.port });
  const got = await server.sendAccounting(accountingRequest);
  t.equal(got.packet.code, Code.AccountingResponse);
  t.equal(auth.received.length, 0);
  t.equal(acct.received.length, 1);
});

t.test('a reply with a wrong Response Authenticator is dropped; the good one that follows resolves', async (t) => {
  const r = await Responder.open(t);
  r.answer = (req) => {
    const forged = reply(req);
    forged[10] = forged[10]! ^ 0xff;
    return [forged, reply(req, { secret: Buffer.from('wrong-secret') }), reply(req)];
  };
  const { server, observer } = makeServer(t, r.port);
  const got = await server.sendAccess(accessRequest);
  t.equal(got.packet.code, Code.AccessAccept);
  t.same(observer.drops, ['bad_response_authenticator', 'bad_response_authenticator']);
  t.equal(observer.replies, 1);
});

t.test('replies that answer nothing of ours are dropped with their reason', async (t) => {
  const r = await Responder.open(t);
  r.answer = (req) => {
    const otherId = Buffer.from(req);
    otherId[1] = (req[1]! + 1) & 0xff;
    return [Buffer.from([2, 0, 0]), reply(req, { code: Code.AccountingResponse }), reply(otherId), reply(req)];
  };
  const { server, observer } = makeServer(t, r.port);
  await server.sendAccess(accessRequest);
  t.same(observer.drops, ['malformed_reply', 'unexpected_code', 'unexpected_reply']);
});

t.test('a bad Message-Authenticator is dropped even when none is required (RFC 3579 §3.2)', async (t) => {
  const r = await Responder.open(t);
  r.answer = (req) => {
    const bad = reply(req);
    const mac = findMessageAuthenticatorOffset(bad);
    bad[mac] = bad[mac]! ^ 1;
    req.copy(bad, 4, 4, 20);
    signResponseAuthenticator(bad, SECRET); // a valid Response Authenticator over the bad MAC
    return [bad, reply(req)];
  };
  const { server, observer } = makeServer(t, r.port, { requireMessageAuthenticator: false });
  await server.sendAccess(accessRequest);
  t.same(observer.drops, ['bad_message_authenticator']);
});

t.test('retransmissions are byte-identical, then AAA_ERR_UPSTREAM_TIMEOUT (RFC 5080 §2.2.1)', async (t) => {
  const r = await Responder.open(t);
  const { server, observer } = makeServer(t, r.port, { timeoutMs: 100, retries: 2 });
  const started = Date.now();
  await rejectsWith(t, server.sendAccess(accessRequest), 'AAA_ERR_UPSTREAM_TIMEOUT');
  const elapsed = Date.now() - started;
  t.equal(r.received.length, 3, 'first try + 2 retries');
  for (const { buf } of r.received) t.same(buf, r.received[0]!.buf, 'same identifier, authenticator and attributes');
  t.equal(new Set(r.received.map((x) => x.from.port)).size, 1, 'from the same socket');
  t.equal(observer.retransmits, 2);
  t.equal(observer.timeouts, 1);
  t.equal(server.state, 'zombie', 'no reply at all');
  t.ok(elapsed >= 290 && elapsed < 1000, `about 3 x timeout (${elapsed} ms)`);
});

t.test('alive -> zombie -> dead -> alive (RFC 5997 Status-Server)', async (t) => {
  const r = await Responder.open(t);
  const { server, observer } = makeServer(t, r.port, { timeoutMs: 50, retries: 0, zombiePeriodMs: 150, probeIntervalMs: 50, reviveAfter: 2 });
  await rejectsWith(t, server.sendAccess(accessRequest), 'AAA_ERR_UPSTREAM_TIMEOUT');
  t.equal(server.state, 'zombie', 'a timeout with no reply at all');
  t.ok(await until(() => server.state === 'dead', 1000), 'dead after the zombie period');
  const probes = r.received.filter((x) => x.buf[0] === Code.StatusServer);
  t.ok(probes.length >= 1, 'probed while zombie/dead');
  t.ok(probes.every((p) => findMessageAuthenticatorOffset(p.buf) === 22), 'Status-Server carries Message-Authenticator first (RFC 5997 §3)');
  t.notOk(r.received.some((x) => x.buf[0] === Code.AccessRequest && x !== r.received[0]), 'no request retransmitted with retries 0');

  let answered = 0;
  r.answer = (req) => {
    if (req[0] !== Code.StatusServer) return undefined;
    answered++;
    return [reply(req)];
  };
  t.ok(await until(() => server.state === 'alive', 1000), 'alive again');
  t.ok(answered >= 2, 'the responder answered probes');
  t.same(
    observer.states.map(([from, to]) => `${from}->${to}`),
    ['alive->zombie', 'zombie->dead', 'dead->alive'],
  );
  t.equal(observer.states[2]![2], '2 Status-Server answers', 'after revive_after consecutive answers');
  t.equal(observer.replies, 0, 'probe answers are not request replies');
});

t.test('a zombie that answers a request is alive again', async (t) => {
  const r = await Responder.open(t);
  const { server, observer } = makeServer(t, r.port, { timeoutMs: 50, retries: 0, reviveAfter: 100, probeIntervalMs: 1000 });
  await rejectsWith(t, server.sendAccess(accessRequest), 'AAA_ERR_UPSTREAM_TIMEOUT');
  t.equal(server.state, 'zombie');
  r.answer = acceptAll;
  await server.sendAccess(accessRequest);
  t.equal(server.state, 'alive');
  t.same(observer.states.map(([, to, reason]) => [to, reason]), [['zombie', 'request timed out'], ['alive', 'answered a request']]);
});

t.test('a timeout while replies still arrive does not make the server a zombie', async (t) => {
  const r = await Responder.open(t);
  // Ignore the first request, answer everything else.
  r.answer = (req) => (req.equals(r.received[0]!.buf) ? undefined : [reply(req)]);
  const { server } = makeServer(t, r.port, { timeoutMs: 100, retries: 0 });
  const lost = server.sendAccess(accessRequest);
  await sleep(20);
  await server.sendAccess(accessRequest);
  await rejectsWith(t, lost, 'AAA_ERR_UPSTREAM_TIMEOUT');
  t.equal(server.state, 'alive');
});

t.test('require_message_authenticator: yes drops an unsigned Access-Accept (BlastRADIUS)', async (t) => {
  const r = await Responder.open(t);
  r.answer = (req) => [reply(req, { withMac: false })];
  const { server, observer } = makeServer(t, r.port, { requireMessageAuthenticator: true, timeoutMs: 50, retries: 0 });
  await rejectsWith(t, server.sendAccess(accessRequest), 'AAA_ERR_UPSTREAM_TIMEOUT');
  t.same(observer.drops, ['missing_message_authenticator']);
  r.answer = acceptAll;
  const got = await server.sendAccess(accessRequest);
  t.equal(got.packet.code, Code.AccessAccept, 'a signed one is taken');
});

t.test('require_message_authenticator: no takes an unsigned Access-Accept', async (t) => {
  const r = await Responder.open(t);
  r.answer = (req) => [reply(req, { withMac: false })];
  const { server, observer } = makeServer(t, r.port, { requireMessageAuthenticator: false });
  t.equal((await server.sendAccess(accessRequest)).packet.code, Code.AccessAccept);
  t.same(observer.drops, []);
});

t.test('require_message_authenticator: auto learns "required" from a signed first reply', async (t) => {
  const r = await Responder.open(t);
  r.answer = acceptAll;
  const { server, observer } = makeServer(t, r.port, { timeoutMs: 50, retries: 0 });
  await server.sendAccess(accessRequest);
  r.answer = (req) => [reply(req, { withMac: false })];
  await rejectsWith(t, server.sendAccess(accessRequest), 'AAA_ERR_UPSTREAM_TIMEOUT');
  t.same(observer.drops, ['missing_message_authenticator']);
});

t.test('require_message_authenticator: auto learns "not required" from an unsigned first reply', async (t) => {
  const r = await Responder.open(t);
  r.answer = (req) => [reply(req, { withMac: false })];
  const { server, observer } = makeServer(t, r.port, { timeoutMs: 50, retries: 0 });
  await server.sendAccess(accessRequest);
  await server.sendAccess(accessRequest);
  t.same(observer.drops, []);
  t.equal(observer.replies, 2);
});

t.test('more than 256 concurrent requests open a second socket', async (t) => {
  const r = await Responder.open(t);
  const N = 300;
  const held: { buf: Buffer; from: RemoteInfo }[] = [];
  r.answer = (req, from) => {
    held.push({ buf: req, from });
    // Answer only once all are in flight, so they really were concurrent.
    if (held.length === N) for (const h of held) r.sendTo(reply(h.buf), h.from);
    return undefined;
  };
  const { server } = makeServer(t, r.port, { timeoutMs: 1500, retries: 0 });
  // Two batches, so that no burst is larger than a default receive buffer holds.
  const first = Array.from({ length: N / 2 }, () => server.sendAccess(accessRequest));
  t.ok(await until(() => held.length === N / 2, 1000), 'first batch in flight');
  const second = Array.from({ length: N / 2 }, () => server.sendAccess(accessRequest));
  const results = await Promise.allSettled([...first, ...second]);
  const failed = results.filter((x) => x.status === 'rejected');
  t.equal(failed.length, 0, failed.map((f) => String((f as PromiseRejectedResult).reason)).slice(0, 1).join(''));
  t.equal(held.length, N);
  const ports = new Set(held.map((h) => h.from.port));
  t.equal(ports.size, 2, 'two source ports');
  const pairs = new Set(held.map((h) => `${h.from.port}/${h.buf[1]}`));
  t.equal(pairs.size, N, 'every (socket, identifier) pair distinct');
  t.equal(server.outstanding, 0);
});

t.test('a burst before the first socket is open spreads over as many sockets as it needs', async (t) => {
  const r = await Responder.open(t);
  const { server } = makeServer(t, r.port, { timeoutMs: 5000, maxSockets: 4 });
  // All 300 wait for the same first socket: the 257th and later must open the second.
  const all = Array.from({ length: 300 }, () => server.sendAccess(accessRequest));
  for (const p of all) p.catch(() => {});
  t.ok(await until(() => server.outstanding === 300, 1000), 'all 300 in flight');
  await server.close();
  const results = await Promise.allSettled(all);
  const codes = results.map((x) => (x.status === 'rejected' && x.reason instanceof UpstreamError ? x.reason.code : 'other'));
  t.equal(codes.filter((c) => c === 'AAA_ERR_UPSTREAM_CLOSED').length, 300, 'none refused for want of an identifier');
});

t.test('max_sockets bounds the identifiers: the 257th of one socket is refused', async (t) => {
  const r = await Responder.open(t);
  const { server } = makeServer(t, r.port, { timeoutMs: 5000, maxSockets: 1 });
  const all = Array.from({ length: 257 }, () => server.sendAccess(accessRequest));
  for (const p of all) p.catch(() => {});
  t.ok(await until(() => server.outstanding === 256 && r.received.length === 256, 1500));
  await server.close();
  const results = await Promise.allSettled(all);
  const codes = results.map((x) => (x.status === 'rejected' && x.reason instanceof UpstreamError ? x.reason.code : 'other'));
  t.equal(codes.filter((c) => c === 'AAA_ERR_UPSTREAM_NO_IDENTIFIER').length, 1);
  t.equal(codes.filter((c) => c === 'AAA_ERR_UPSTREAM_CLOSED').length, 256);
});

t.test('close() rejects in-flight requests with AAA_ERR_UPSTREAM_CLOSED and is idempotent', async (t) => {
  const r = await Responder.open(t);
  const { server } = makeServer(t, r.port, { timeoutMs: 5000 });
  const inFlight = [server.sendAccess(accessRequest), server.sendAccess(accessRequest), server.sendAccounting(accountingRequest)];
  for (const p of inFlight) p.catch(() => {});
  t.ok(await until(() => server.outstanding === 3, 1000));
  const first = server.close();
  const second = server.close();
  for (const p of inFlight) await rejectsWith(t, p, 'AAA_ERR_UPSTREAM_CLOSED');
  await first;
  await second;
  await server.close();
  t.equal(server.outstanding, 0);
  await rejectsWith(t, server.sendAccess(accessRequest), 'AAA_ERR_UPSTREAM_CLOSED', 'nothing is sent after close');
  t.equal(r.received.length, 3);
});

t.test('close() while the first socket is still opening leaves nothing behind', async (t) => {
  const r = await Responder.open(t);
  const { server } = makeServer(t, r.port, { timeoutMs: 5000 });
  const p = server.sendAccess(accessRequest);
  p.catch(() => {});
  await server.close();
  await rejectsWith(t, p, 'AAA_ERR_UPSTREAM_CLOSED');
  await sleep(20);
  t.equal(r.received.length, 0, 'nothing sent');
});
