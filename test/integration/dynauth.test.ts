/**
 * Dynamic authorization end to end: the real daemon with its session table, radclient as the
 * policy server sending Disconnect-Request and CoA-Request to aaaproxy's dynauth listener, and
 * as the NAS a raw UDP responder written with the project's codec (it checks the request's
 * authenticators with the NAS's secret and answers by User-Name: alice ACK, bert NAK with
 * Error-Cause 504, carol never). Then the same with FreeRADIUS as the NAS's dynamic-authorization
 * server (`listen { type = coa }`), ACKing alice and NAKing bert by policy. Last, a session
 * the table ends itself (missed interims) is disconnected at its NAS.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { Attr } from '../../src/radius/attribute-types.js';
import { Code } from '../../src/radius/codes.js';
import { encodeRequest, encodeResponse, verifyRequest } from '../../src/radius/message.js';
import { decodePacket, findAttribute, type RadiusPacket } from '../../src/radius/packet.js';
import { aaaproxyCli, DEFAULT_SECRET, radclient, startDaemon, type RunningDaemon, type Teardown } from '../helpers/daemon.js';
import { startFreeRadius } from '../helpers/freeradius.js';
import { UdpPeer } from '../helpers/udp.js';

t.setTimeout(60_000);

const DYNAUTH_SECRET = 'dynauth-secret';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Nas {
  port: number;
  received: RadiusPacket[];
  authOk: boolean[];
}

async function startNas(t: Teardown): Promise<Nas> {
  const socket: Socket = createSocket('udp4');
  const nas: Nas = { port: 0, received: [], authOk: [] };
  socket.on('message', (msg, rinfo) => {
    const d = decodePacket(msg);
    if (!d.ok) return;
    const p = d.packet;
    nas.received.push(p);
    const v = verifyRequest(msg, p.code, Buffer.from(DEFAULT_SECRET), true);
    nas.authOk.push(v.check === 'ok');
    if (v.check !== 'ok') return;
    const user = findAttribute(p.attributes, Attr.UserName)?.toString();
    const ack = p.code === Code.DisconnectRequest ? Code.DisconnectAck : Code.CoAAck;
    let reply: Buffer;
    if (user === 'alice') reply = encodeResponse({ code: ack, identifier: p.identifier, attributes: [] }, p.authenticator, Buffer.from(DEFAULT_SECRET), false);
    else if (user === 'bert') {
      const cause = Buffer.alloc(4);
      cause.writeUInt32BE(504);
      reply = encodeResponse({ code: ack + 1, identifier: p.identifier, attributes: [{ type: Attr.ErrorCause, value: cause }] }, p.authenticator, Buffer.from(DEFAULT_SECRET), false);
    } else return;
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  nas.port = socket.address().port;
  t.teardown(() => socket.close());
  return nas;
}

const USERS = ['users:', ...['alice', 'bert', 'carol'].flatMap((u) => [`  ${u}:`, `    password: ${u}-pw`, '    allow_cleartext: true']), ''].join('\n');

async function login(d: RunningDaemon, user: string, n: number): Promise<void> {
  const nas = `NAS-IP-Address = 192.0.2.50, NAS-Port = ${n}, Calling-Station-Id = "02-00-00-00-00-0${n}"`;
  const a = await radclient({ port: d.authPort, secret: d.secret, type: 'auth', attrs: `User-Name = "${user}", User-Password = "${user}-pw", ${nas}` });
  if (a.code !== 'Access-Accept') throw new Error(`login ${user}: ${a.code}`);
  const s = await radclient({ port: d.acctPort, secret: d.secret, type: 'acct', attrs: `User-Name = "${user}", Acct-Status-Type = Start, Acct-Session-Id = "S-${user}", ${nas}` });
  if (s.code !== 'Accounting-Response') throw new Error(`start ${user}: ${s.code}`);
}

async function sessionsOf(d: RunningDaemon, user: string): Promise<unknown[]> {
  // The table applies accounting after the reply: wait for the queue.
  const res = await d.admin('GET', `/sessions?user=${user}`);
  return (JSON.parse(res.body) as { sessions: unknown[] }).sessions;
}

/**
 * The daemon with sessions on, a dynauth listener on a free port for the `policy` requester,
 * and its client's Disconnect/CoA requests sent to `nasPort`; `sessions` adds session settings.
 */
async function startDynauthDaemon(
  t: Teardown,
  nasPort: number,
  nas: { timeoutSeconds: number; retries: number },
  sessions: string[] = [],
): Promise<{ d: RunningDaemon; port: number }> {
  const d = await startDaemon(t, {
    users: USERS,
    clientExtra: `dynauth_port: ${nasPort}`,
    extraConfig: [
      'sessions:',
      '  enabled: true',
      ...sessions.map((l) => `  ${l}`),
      'dynauth:',
      '  listeners: [{ address: 127.0.0.1, port: 0 }]',
      `  clients: [{ name: policy, address: 127.0.0.1/32, secret: ${DYNAUTH_SECRET} }]`,
      `  timeout_seconds: ${nas.timeoutSeconds}`,
      `  retries: ${nas.retries}`,
      '',
    ].join('\n'),
  });
  const port = d.logs.find((l) => l.msg === 'listening' && l.type === 'dynauth')!.port as number;
  return { d, port };
}

t.test('Disconnect and CoA through aaaproxy to the NAS that holds the session', async (t) => {
  const nas = await startNas(t);
  const { d, port } = await startDynauthDaemon(t, nas.port, { timeoutSeconds: 0.3, retries: 2 });
  for (const [i, u] of ['alice', 'bert', 'carol'].entries()) await login(d, u, i + 1);
  await sleep(200);
  t.equal((await sessionsOf(d, 'alice')).length, 1, 'alice has a session');

  const dynauth = (type: 'disconnect' | 'coa', attrs: string, secret = DYNAUTH_SECRET) => radclient({ port, secret, type, attrs, timeout: 3, retries: 1 });

  t.test('ACK: relayed, the session closed, a Stop with Admin-Reset recorded', async (t) => {
    const r = await dynauth('disconnect', 'User-Name = "alice", Acct-Session-Id = "S-alice"');
    t.equal(r.code, 'Disconnect-ACK');
    const got = nas.received.at(-1)!;
    t.equal(got.code, Code.DisconnectRequest, 'the NAS got a Disconnect-Request');
    t.equal(nas.authOk.at(-1), true, 'signed with the NAS secret, with Message-Authenticator');
    await sleep(300);
    t.same(await sessionsOf(d, 'alice'), [], 'the session is gone');
    const lines = (await readFile(d.accountingPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    t.match(
      lines.find((l) => l['origin'] === 'aaaproxy'),
      { status: 'stop', cause: 'admin-reset', attributes: { 'Acct-Session-Id': 'S-alice', 'Acct-Terminate-Cause': 'Admin-Reset' } },
      'our Stop with Acct-Terminate-Cause Admin-Reset',
    );
    t.equal(await d.metric('aaaproxy_dynauth_requests_total', { type: 'disconnect', result: 'ack' }), 1);
  });

  t.test('NAK from the NAS relayed with its Error-Cause; the session stays', async (t) => {
    const r = await dynauth('coa', 'User-Name = "bert", Filter-Id = "guest"');
    t.equal(r.code, 'CoA-NAK');
    t.equal(r.replyAttrs['Error-Cause'], 'Session-Context-Not-Removable');
    t.equal(nas.received.at(-1)!.code, Code.CoARequest);
    t.equal(findAttribute(nas.received.at(-1)!.attributes, 11)?.toString(), 'guest', 'the CoA attributes reach the NAS');
    t.equal((await sessionsOf(d, 'bert')).length, 1);
    t.equal(await d.metric('aaaproxy_dynauth_requests_total', { type: 'coa', result: 'nak' }), 1);
  });

  t.test('no session: NAK 503', async (t) => {
    const before = nas.received.length;
    const r = await dynauth('disconnect', 'User-Name = "nobody"');
    t.equal(r.code, 'Disconnect-NAK');
    t.equal(r.replyAttrs['Error-Cause'], 'Session-Context-Not-Found');
    t.equal(nas.received.length, before, 'no NAS asked');
  });

  t.test('no session identification: NAK 402', async (t) => {
    const r = await dynauth('disconnect', 'NAS-IP-Address = 192.0.2.50');
    t.equal(r.code, 'Disconnect-NAK');
    t.equal(r.replyAttrs['Error-Cause'], 'Missing-Attribute');
  });

  t.test('NAS silent: retransmitted, then NAK 506; the session stays', async (t) => {
    const before = nas.received.length;
    const r = await dynauth('disconnect', 'User-Name = "carol"');
    t.equal(r.code, 'Disconnect-NAK');
    t.equal(r.replyAttrs['Error-Cause'], 'Resources-Unavailable');
    t.equal(nas.received.length - before, 3, 'sent once and retransmitted twice');
    t.equal((await sessionsOf(d, 'carol')).length, 1);
  });

  t.test('bad authenticator (wrong secret): dropped, no answer', async (t) => {
    const r = await radclient({ port, secret: 'wrong-secret', type: 'disconnect', attrs: 'User-Name = "bert"', timeout: 1, retries: 1 });
    t.equal(r.code, 'timeout');
    t.ok((await d.metric('aaaproxy_dynauth_dropped_total', { reason: 'bad_request_authenticator' })) >= 1, 'dropped and counted');
    t.equal((await sessionsOf(d, 'bert')).length, 1);
  });

  t.test('admin HTTP: DELETE /sessions/ID sends the Disconnect-Request', async (t) => {
    const [bert] = (await sessionsOf(d, 'bert')) as { id: string }[];
    const nak = await d.admin('DELETE', `/sessions/${bert!.id}`);
    t.same([nak.status, JSON.parse(nak.body)], [409, { id: bert!.id, result: 'nak', error_cause: 504 }], 'the NAS NAKed: 409 with its Error-Cause');
    t.equal((await sessionsOf(d, 'bert')).length, 1, 'the session stays');
    await login(d, 'alice', 4);
    await sleep(200);
    const [alice] = (await sessionsOf(d, 'alice')) as { id: string }[];
    const ack = await d.admin('DELETE', `/sessions/${alice!.id}`);
    t.same([ack.status, JSON.parse(ack.body)], [200, { id: alice!.id, result: 'ack' }]);
    t.equal(nas.received.at(-1)!.code, Code.DisconnectRequest);
    t.equal(findAttribute(nas.received.at(-1)!.attributes, Attr.AcctSessionId)?.toString(), 'S-alice', 'naming the session');
    await sleep(200);
    t.same(await sessionsOf(d, 'alice'), [], 'closed on the ACK');
    const [carol] = (await sessionsOf(d, 'carol')) as { id: string }[];
    const silent = await d.admin('POST', `/sessions/${carol!.id}/disconnect`);
    t.equal(silent.status, 504, 'a silent NAS: 504');
    t.equal((await d.admin('DELETE', '/sessions/nope')).status, 404);
  });

  t.test('aaaproxy sessions disconnect: by ID and by user, exit status from the NAS answers', async (t) => {
    const cli = await d.cliConfig();
    const [bert] = (await sessionsOf(d, 'bert')) as { id: string }[];
    const nak = await aaaproxyCli(['sessions', 'disconnect', bert!.id, '-c', cli]);
    t.equal(nak.code, 1, 'a NAK: exit 1');
    t.match(nak.stdout, `${bert!.id}: refused by the NAS (Error-Cause 504)`);
    await login(d, 'alice', 5);
    await sleep(200);
    const byUser = await aaaproxyCli(['sessions', 'disconnect', '--user', 'alice', '-c', cli]);
    t.equal(byUser.code, 0, byUser.stderr);
    t.match(byUser.stdout, /acknowledged by the NAS; the session is closed/);
    t.match(byUser.stdout, /^1 of 1 acknowledged$/m);
    await sleep(200);
    t.same(await sessionsOf(d, 'alice'), [], 'closed on the ACK');
    const usage = await aaaproxyCli(['sessions', 'disconnect', '-c', cli]);
    t.equal(usage.code, 2, 'neither an ID nor --user: a usage error');
  });

  t.test('Proxy-State comes back; a retransmission is answered from the cache; a stale Event-Timestamp is dropped', async (t) => {
    const peer = await UdpPeer.open(t);
    const ps = Buffer.from('hop-1');
    const req = encodeRequest(
      { code: Code.DisconnectRequest, identifier: 7, attributes: [{ type: Attr.UserName, value: Buffer.from('nobody') }, { type: Attr.ProxyState, value: ps }] },
      Buffer.from(DYNAUTH_SECRET),
      false,
    );
    await peer.send(req, port);
    const first = await peer.receive(2000);
    t.ok(first, 'answered');
    const p = decodePacket(first!);
    t.ok(p.ok && p.packet.code === Code.DisconnectNak);
    t.same(p.ok && findAttribute(p.packet.attributes, Attr.ProxyState), ps, 'Proxy-State copied back');
    await peer.send(req, port);
    t.same(await peer.receive(2000), first, 'the retransmission gets the same bytes');
    const stamp = Buffer.alloc(4);
    stamp.writeUInt32BE(Math.floor(Date.now() / 1000) - 301);
    const stale = encodeRequest(
      { code: Code.DisconnectRequest, identifier: 8, attributes: [{ type: Attr.UserName, value: Buffer.from('nobody') }, { type: Attr.EventTimestamp, value: stamp }] },
      Buffer.from(DYNAUTH_SECRET),
      false,
    );
    await peer.send(stale, port);
    t.equal(await peer.receive(700), undefined, 'stale Event-Timestamp: no answer');
    t.equal(await d.metric('aaaproxy_dynauth_dropped_total', { reason: 'event_timestamp_out_of_window' }), 1);
  });
});

t.test('FreeRADIUS as the NAS (listen type coa): ACK and NAK by its policy', async (t) => {
  const fr = await startFreeRadius(t, {
    users: '',
    clients: [{ address: '127.0.0.1', secret: DEFAULT_SECRET }],
    coa: ['\t\tif (&User-Name == "bert") {', '\t\t\tupdate reply {', '\t\t\t\t&Error-Cause := Session-Context-Not-Removable', '\t\t\t}', '\t\t\treject', '\t\t}'].join('\n'),
  });
  const { d, port } = await startDynauthDaemon(t, fr.coaPort, { timeoutSeconds: 1, retries: 1 });
  await login(d, 'alice', 1);
  await login(d, 'bert', 2);
  await sleep(200);

  const ack = await radclient({ port, secret: DYNAUTH_SECRET, type: 'disconnect', attrs: 'User-Name = "alice", Proxy-State = 0x6f7574', timeout: 4, retries: 1 });
  t.equal(ack.code, 'Disconnect-ACK', ack.stdout);
  t.equal(ack.replyAttrs['Proxy-State'], '0x6f7574', "the requester's Proxy-State comes back");
  const seen = await fr.coaRecords();
  t.match(seen.at(-1), { 'Packet-Type': 'Disconnect-Request', 'User-Name': 'alice', 'Proxy-State': '' }, 'FreeRADIUS got it, without the requester Proxy-State');
  await sleep(300);
  t.same(await sessionsOf(d, 'alice'), [], 'the session is closed');

  const nak = await radclient({ port, secret: DYNAUTH_SECRET, type: 'coa', attrs: 'User-Name = "bert", Filter-Id = "guest"', timeout: 4, retries: 1 });
  t.equal(nak.code, 'CoA-NAK', nak.stdout);
  t.equal(nak.replyAttrs['Error-Cause'], 'Session-Context-Not-Removable', "FreeRADIUS's Error-Cause relayed");
  t.match((await fr.coaRecords()).at(-1), { 'Packet-Type': 'CoA-Request', 'User-Name': 'bert', 'Filter-Id': 'guest' });
  t.equal((await sessionsOf(d, 'bert')).length, 1, 'the session stays');
});

t.test('a session the table ends itself gets a Disconnect-Request at its NAS', async (t) => {
  const nas = await startNas(t);
  const { d } = await startDynauthDaemon(t, nas.port, { timeoutSeconds: 0.5, retries: 1 }, [
    'interim_interval_seconds: 1',
    'interim_floor_seconds: 1',
    'missed_interims: 2',
  ]);
  await login(d, 'alice', 1);
  const deadline = Date.now() + 8000;
  while (nas.received.length === 0 && Date.now() < deadline) await sleep(100);
  const got = nas.received[0];
  t.ok(got, 'the NAS got a request');
  t.equal(got?.code, Code.DisconnectRequest);
  t.equal(nas.authOk[0], true, 'signed with the NAS secret');
  t.equal(got && findAttribute(got.attributes, Attr.UserName)?.toString(), 'alice');
  t.equal(got && findAttribute(got.attributes, Attr.AcctSessionId)?.toString(), 'S-alice');
  t.ok(got && findAttribute(got.attributes, Attr.EventTimestamp), 'with Event-Timestamp');
  await d.waitForMetric('aaaproxy_dynauth_nas_requests_total', { type: 'disconnect', result: 'ack' }, (v) => v === 1);
  t.pass('the ACK is counted');
});
