/**
 * The UDP endpoint contract, run against both implementations: node:dgram and the batched
 * addon (which `npm ci` builds on Linux; its absence there is a failure, not a skip).
 */
import { createSocket, type Socket } from 'node:dgram';
import t from 'tap';
import { loadUdpBatchAddon } from '../../../src/transport/batched-udp.js';
import { chooseUdpIo, createUdpEndpoint, type Peer, type UdpEndpoint, type UdpIo } from '../../../src/transport/udp.js';

interface Received {
  msg: Buffer;
  peer: Peer;
}

function client(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket(type);
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  return new Promise((resolve) =>
    socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', () => {
      // Bursts of replies must not overflow the client's default buffer.
      socket.setRecvBufferSize(4 << 20);
      resolve({ socket, port: socket.address().port, received });
    }),
  );
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const send = (s: Socket, buf: Buffer, port: number, address = '127.0.0.1') =>
  new Promise<void>((resolve, reject) => s.send(buf, port, address, (err) => (err ? reject(err) : resolve())));

t.test('the batched addon is built and chosen by default on Linux', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  t.ok(loadUdpBatchAddon().addon, 'build/Release/udp_batch.node loads (scripts/build-native.sh)');
  t.equal(chooseUdpIo({}).io, 'batched');
  t.equal(chooseUdpIo({ AAAPROXY_UDP_IO: 'dgram' }).io, 'dgram');
  t.equal(chooseUdpIo({ AAAPROXY_UDP_IO: 'batched' }).io, 'batched');
});

for (const io of ['dgram', 'batched'] as UdpIo[]) {
  t.test(`${io} endpoint`, { skip: io === 'batched' && !loadUdpBatchAddon().addon && 'addon not built' }, async (t) => {
    const open = async (opts: { address?: string; port?: number; connect?: Peer }, onDatagram: (r: Received, ep: UdpEndpoint) => void) => {
      const errors: Error[] = [];
      const ep: UdpEndpoint = createUdpEndpoint(
        { address: opts.address ?? '127.0.0.1', port: opts.port ?? 0, receiveBufferBytes: 1 << 20, ...(opts.connect ? { connect: opts.connect } : {}) },
        (msg, peer) => onDatagram({ msg, peer }, ep),
        (err) => errors.push(err),
        io,
      );
      const bound = await ep.start();
      t.teardown(() => ep.close());
      return { ep, bound, errors };
    };

    t.test('receives with the source address and port, replies reach the sender', async (t) => {
      const got: Received[] = [];
      const { bound } = await open({}, (r, ep) => {
        got.push(r);
        ep.send(Buffer.concat([Buffer.from('re:'), r.msg]), r.peer);
      });
      t.ok(bound.port > 0);
      t.equal(bound.address, '127.0.0.1');
      const c = await client();
      t.teardown(() => c.socket.close());
      await send(c.socket, Buffer.from('hello'), bound.port);
      await until(() => c.received.length === 1, 'the reply');
      t.equal(got[0]!.msg.toString(), 'hello');
      t.match(got[0]!.peer, { address: '127.0.0.1', port: c.port });
      t.equal(c.received[0]!.toString(), 're:hello');
    });

    t.test('a burst: every datagram arrives intact, replies sent from promise jobs too', async (t) => {
      const got = new Set<string>();
      const { bound } = await open({}, (r, ep) => {
        got.add(r.msg.toString());
        // Replies made after an await (as the proxy does) must leave as well.
        void Promise.resolve().then(() => ep.send(r.msg, r.peer));
      });
      const c = await client();
      t.teardown(() => c.socket.close());
      const n = 300;
      for (let i = 0; i < n; i++) c.socket.send(Buffer.from(`datagram-${i}-${'x'.repeat(i % 50)}`), bound.port, '127.0.0.1');
      await until(() => c.received.length === n, `${n} replies`);
      t.equal(got.size, n);
      t.same(new Set(c.received.map((b) => b.toString())), got, 'each reply carries its own datagram');
    });

    t.test('a datagram longer than 4096 octets still shows as longer (the decoder drops it as too long)', async (t) => {
      const got: Received[] = [];
      const { bound } = await open({}, (r) => got.push(r));
      const c = await client();
      t.teardown(() => c.socket.close());
      await send(c.socket, Buffer.alloc(5000, 1), bound.port);
      await until(() => got.length === 1, 'the datagram');
      t.ok(got[0]!.msg.length > 4096, `length ${got[0]!.msg.length}`);
    });

    t.test('a connected endpoint sends to its peer, and hears only its peer', async (t) => {
      const peer = await client();
      t.teardown(() => peer.socket.close());
      const got: Received[] = [];
      const { ep, bound } = await open({ connect: { address: '127.0.0.1', port: peer.port } }, (r) => got.push(r));
      ep.sendToPeer(Buffer.from('to the peer'));
      await until(() => peer.received.length === 1, 'the datagram at the peer');
      t.equal(peer.received[0]!.toString(), 'to the peer');
      const stranger = await client();
      t.teardown(() => stranger.socket.close());
      await send(stranger.socket, Buffer.from('stranger'), bound.port);
      await send(peer.socket, Buffer.from('answer'), bound.port);
      await until(() => got.length >= 1, 'the answer');
      await new Promise((r) => setTimeout(r, 50));
      t.same(got.map((g) => g.msg.toString()), ['answer']);
    });

    t.test('an ICMP error on a connected endpoint does not stop it from reading', async (t) => {
      // A port nobody listens on: the send draws "port unreachable"; then a server appears there.
      const probe = await client();
      const port = probe.port;
      await new Promise<void>((r) => probe.socket.close(() => r()));
      const got: Received[] = [];
      const { ep, bound } = await open({ connect: { address: '127.0.0.1', port } }, (r) => got.push(r));
      ep.sendToPeer(Buffer.from('nobody there'));
      await new Promise((r) => setTimeout(r, 50));
      ep.sendToPeer(Buffer.from('nobody there either'));
      await new Promise((r) => setTimeout(r, 50));
      const server = createSocket('udp4');
      t.teardown(() => server.close());
      await new Promise<void>((r) => server.bind(port, '127.0.0.1', () => r()));
      await send(server, Buffer.from('back'), bound.port);
      await until(() => got.length === 1, 'the datagram after the ICMP error');
      t.equal(got[0]!.msg.toString(), 'back');
    });

    t.test('IPv6 loopback', async (t) => {
      const got: Received[] = [];
      const { bound } = await open({ address: '::1' }, (r, ep) => {
        got.push(r);
        ep.send(r.msg, r.peer);
      });
      const c = await client('udp6');
      t.teardown(() => c.socket.close());
      await send(c.socket, Buffer.from('six'), bound.port, '::1');
      await until(() => c.received.length === 1, 'the reply over IPv6');
      t.match(got[0]!.peer, { address: '::1', port: c.port });
    });

    t.test('binding a port in use fails with EADDRINUSE', async (t) => {
      const { bound } = await open({}, () => undefined);
      const other = createUdpEndpoint({ address: '127.0.0.1', port: bound.port, receiveBufferBytes: 1 << 16 }, () => undefined, () => undefined, io);
      await t.rejects(other.start(), { code: 'EADDRINUSE' });
      await other.close();
    });

    t.test('after close nothing more is received, and close is idempotent', async (t) => {
      const got: Received[] = [];
      const { ep, bound } = await open({}, (r) => got.push(r));
      const c = await client();
      t.teardown(() => c.socket.close());
      await send(c.socket, Buffer.from('one'), bound.port);
      await until(() => got.length === 1, 'the first datagram');
      await ep.close();
      await ep.close();
      c.socket.send(Buffer.from('two'), bound.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 50));
      t.equal(got.length, 1);
    });
  });
}
