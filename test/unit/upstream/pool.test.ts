/**
 * UpstreamPool.pick over real UpstreamServer objects. States that need traffic (zombie, dead)
 * come from a real loopback UDP server that stays silent; outstanding requests from one that
 * holds its answers until told.
 */
import t from 'tap';
import type { RemoteInfo, Socket } from 'node:dgram';
import { Attr } from '../../../src/radius/attribute-types.js';
import { Code } from '../../../src/radius/codes.js';
import { encodeRequest, encodeResponse } from '../../../src/radius/message.js';
import { UpstreamPool, type PoolMode } from '../../../src/upstream/pool.js';
import { UpstreamServer, type PacketBuilder, type UpstreamObserver, type UpstreamServerOptions } from '../../../src/upstream/server.js';
import { bindLoopbackUdp } from '../../helpers/udp.js';
import { until } from '../../helpers/wait.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const SECRET = Buffer.from('pool-secret');

/** Loopback RADIUS server: silent, or holding requests until release(). */
class Responder {
  private readonly held: { buf: Buffer; from: RemoteInfo }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (buf, from) => this.held.push({ buf, from }));
  }

  static async open(t: Teardown): Promise<Responder> {
    const socket = await bindLoopbackUdp();
    t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
    return new Responder(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  get count(): number {
    return this.held.length;
  }

  /** Answers every held request with a signed Access-Accept. */
  release(): void {
    for (const { buf, from } of this.held.splice(0)) {
      const out = encodeResponse({ code: Code.AccessAccept, identifier: buf[1]!, attributes: [] }, buf.subarray(4, 20), SECRET);
      this.socket.send(out, from.port, from.address);
    }
  }
}

const quiet: UpstreamObserver = {
  stateChanged() {},
  replyDropped() {},
  retransmitted() {},
  timedOut() {},
  replied() {},
};

function server(t: Teardown, name: string, port: number, over: Partial<UpstreamServerOptions> = {}): UpstreamServer {
  const s = new UpstreamServer(
    {
      name,
      address: '127.0.0.1',
      authPort: port,
      acctPort: port,
      secret: SECRET,
      timeoutMs: 5000,
      retries: 0,
      requireMessageAuthenticator: undefined,
      sourceAddress: '127.0.0.1',
      probeIntervalMs: 10_000,
      reviveAfter: 3,
      zombiePeriodMs: 10_000,
      maxSockets: 2,
      ...over,
    },
    quiet,
  );
  t.teardown(() => s.close());
  return s;
}

const accessRequest: PacketBuilder = (identifier) => {
  const buf = encodeRequest({ code: Code.AccessRequest, identifier, attributes: [{ type: Attr.UserName, value: Buffer.from('bob') }] }, SECRET);
  return { buf, requestAuthenticator: Buffer.from(buf.subarray(4, 20)) };
};

/** One request that times out with no reply at all: the server becomes a zombie. */
async function makeZombie(t: Teardown, name: string, silentPort: number): Promise<UpstreamServer> {
  const s = server(t, name, silentPort, { timeoutMs: 30, probeIntervalMs: 10_000 });
  await s.sendAccess(accessRequest).catch(() => {});
  if (s.state !== 'zombie') throw new Error(`${name} is ${s.state}, expected zombie`);
  return s;
}

/** A zombie with a short zombie period, waited on until dead. */
async function makeDead(t: Teardown, name: string, silentPort: number): Promise<UpstreamServer> {
  const s = server(t, name, silentPort, { timeoutMs: 30, zombiePeriodMs: 60, probeIntervalMs: 10_000 });
  await s.sendAccess(accessRequest).catch(() => {});
  if (!(await until(() => s.state === 'dead', 1000))) throw new Error(`${name} is ${s.state}, expected dead`);
  return s;
}

const names = (pool: UpstreamPool, tried: UpstreamServer[] = []) => pool.pick(new Set(tried))?.name;

t.test('failover: configured order, skipping the servers already tried', async (t) => {
  const r = await Responder.open(t);
  const [a, b, c] = ['a', 'b', 'c'].map((n) => server(t, n, r.port)) as [UpstreamServer, UpstreamServer, UpstreamServer];
  const pool = new UpstreamPool('p', [a, b, c], 'failover');
  t.equal(pool.pick()?.name, 'a');
  t.equal(names(pool), 'a');
  t.equal(names(pool, [a]), 'b');
  t.equal(names(pool, [a, b]), 'c');
  t.equal(names(pool, [b]), 'a');
  t.equal(names(pool, [a, b, c]), undefined, 'every server tried');
});

t.test('admin-down is never picked; back in service it is first again', async (t) => {
  const r = await Responder.open(t);
  const [a, b] = ['a', 'b'].map((n) => server(t, n, r.port)) as [UpstreamServer, UpstreamServer];
  const pool = new UpstreamPool('p', [a, b], 'failover');
  a.setAdminDown(true);
  t.equal(a.state, 'admin-down');
  t.equal(names(pool), 'b');
  t.equal(names(pool, [b]), undefined, 'not even when nothing else is left');
  b.setAdminDown(true);
  t.equal(names(pool), undefined);
  a.setAdminDown(false);
  t.equal(a.state, 'alive');
  t.equal(names(pool), 'a');
  b.setAdminDown(false);
  t.equal(names(pool, [a]), 'b');
});

t.test('a zombie is used only when no untried server is alive', async (t) => {
  const silent = await Responder.open(t);
  const z = await makeZombie(t, 'z', silent.port);
  const b = server(t, 'b', silent.port);
  const c = server(t, 'c', silent.port);
  const pool = new UpstreamPool('p', [z, b, c], 'failover');
  t.equal(names(pool), 'b', 'alive b before zombie z, although z comes first');
  t.equal(names(pool, [b]), 'c');
  t.equal(names(pool, [b, c]), 'z', 'the zombie as a last resort');
  t.equal(names(pool, [b, c, z]), undefined);
  b.setAdminDown(true);
  c.setAdminDown(true);
  t.equal(names(pool), 'z');
});

t.test('dead and admin-down servers are never picked', async (t) => {
  const silent = await Responder.open(t);
  const [d, z] = await Promise.all([makeDead(t, 'd', silent.port), makeZombie(t, 'z', silent.port)]);
  const down = server(t, 'down', silent.port);
  down.setAdminDown(true);
  t.equal(d.state, 'dead');
  t.equal(names(new UpstreamPool('p', [d, down], 'failover')), undefined);
  t.equal(names(new UpstreamPool('p', [d, down], 'load-balance')), undefined);
  t.equal(names(new UpstreamPool('p', [d, down, z], 'failover')), 'z', 'a zombie rather than a dead server');
  t.equal(names(new UpstreamPool('p', [d, down, z], 'load-balance')), 'z');
});

t.test('load-balance: fewest outstanding requests, first in order on a tie', async (t) => {
  const r = await Responder.open(t);
  const [l1, l2, l3] = ['l1', 'l2', 'l3'].map((n) => server(t, n, r.port)) as [UpstreamServer, UpstreamServer, UpstreamServer];
  const pool = new UpstreamPool('lb', [l1, l2, l3], 'load-balance' satisfies PoolMode);
  t.equal(names(pool), 'l1', 'all idle: the first');
  const pending: Promise<unknown>[] = [];
  const send = (s: UpstreamServer, n: number) => {
    for (let i = 0; i < n; i++) pending.push(s.sendAccess(accessRequest));
  };
  send(l1, 2);
  send(l2, 1);
  send(l3, 1);
  t.ok(await until(() => r.count === 4, 1000));
  t.same([l1.outstanding, l2.outstanding, l3.outstanding], [2, 1, 1]);
  t.equal(names(pool), 'l2', 'l2 and l3 tie at 1: the first of them');
  t.equal(names(pool, [l2]), 'l3');
  t.equal(names(pool, [l2, l3]), 'l1');
  send(l2, 2);
  t.ok(await until(() => l2.outstanding === 3 && r.count === 6, 1000));
  t.equal(names(pool), 'l3');
  r.release();
  await Promise.all(pending);
  t.same([l1.outstanding, l2.outstanding, l3.outstanding], [0, 0, 0]);
  t.equal(names(pool), 'l1');
});

t.test('load-balance prefers an alive server over an idle zombie', async (t) => {
  const r = await Responder.open(t);
  const z = await makeZombie(t, 'z', r.port);
  const busy = server(t, 'busy', r.port);
  const pool = new UpstreamPool('lb', [z, busy], 'load-balance');
  const pending = [busy.sendAccess(accessRequest), busy.sendAccess(accessRequest)];
  t.ok(await until(() => busy.outstanding === 2 && r.count >= 2, 1000));
  t.equal(z.outstanding, 0);
  t.equal(names(pool), 'busy');
  t.equal(names(pool, [busy]), 'z');
  r.release();
  await Promise.all(pending);
});
