/**
 * The access proxy's challenge-rule paths that the FreeRADIUS integration test cannot reach
 * easily: EAP left alone, CHAP skipping <PASSWORD> rules, an automatic request that gets no
 * answer (no failover), a templated password that is too long, and a server without rules.
 * The upstream is a loopback UDP responder; every wait is bounded.
 */
import t from 'tap';
import type { RemoteInfo, Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { compileRuleSet } from '../../../src/challenge/compile.js';
import type { ChallengeAction, ChallengeObserver, RoundFailure, RuleSpec } from '../../../src/challenge/types.js';
import { AccessProxy, type PerServerSettings } from '../../../src/proxy/access-proxy.js';
import { EncryptedAttributes } from '../../../src/proxy/rewrite.js';
import { Attr } from '../../../src/radius/attribute-types.js';
import { loadDictionary } from '../../../src/radius/builtin-dictionary.js';
import { Code } from '../../../src/radius/codes.js';
import { hideUserPassword, revealUserPassword } from '../../../src/radius/crypto.js';
import { encodeRequest, encodeResponse } from '../../../src/radius/message.js';
import { decodePacket, findAttribute, type RadiusPacket, type RawAttribute } from '../../../src/radius/packet.js';
import { UpstreamPool } from '../../../src/upstream/pool.js';
import { UpstreamServer, type UpstreamObserver } from '../../../src/upstream/server.js';
import { bindLoopbackUdp } from '../../helpers/udp.js';

const dict = loadDictionary([]);
const UPSTREAM_SECRET = Buffer.from('upstream-secret');
const NAS_SECRET = Buffer.from('nas-secret');

/** Answers every Access-Request with what `answer` returns for it (nothing: silence). */
async function responder(t: { teardown(fn: () => unknown): void }, answer: (req: RadiusPacket, n: number) => { code: number; attributes: RawAttribute[] } | undefined) {
  const socket: Socket = await bindLoopbackUdp();
  const received: RadiusPacket[] = [];
  socket.on('message', (msg: Buffer, from: RemoteInfo) => {
    const d = decodePacket(msg);
    if (!d.ok) return;
    received.push(d.packet);
    const a = answer(d.packet, received.length);
    if (a) socket.send(encodeResponse({ code: a.code, identifier: d.packet.identifier, attributes: a.attributes }, d.packet.authenticator, UPSTREAM_SECRET), from.port, from.address);
  });
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, received };
}

const quiet: UpstreamObserver = { stateChanged() {}, replyDropped() {}, retransmitted() {}, timedOut() {}, replied() {} };

function upstream(t: { teardown(fn: () => unknown): void }, name: string, port: number): UpstreamServer {
  const server = new UpstreamServer(
    {
      name,
      address: '127.0.0.1',
      authPort: port,
      acctPort: port,
      secret: UPSTREAM_SECRET,
      timeoutMs: 200,
      retries: 0,
      requireMessageAuthenticator: undefined,
      sourceAddress: '127.0.0.1',
      probeIntervalMs: 60_000,
      reviveAfter: 1,
      zombiePeriodMs: 60_000,
      maxSockets: 1,
    },
    quiet,
  );
  t.teardown(() => server.close());
  return server;
}

class Events implements ChallengeObserver {
  readonly log: string[] = [];
  challengeRuleMatched(server: string, rule: string, action: ChallengeAction, round: number): void {
    this.log.push(`matched ${server} ${rule} ${action} ${round}`);
  }
  challengeUnmatched(server: string, code: number, round: number): void {
    this.log.push(`unmatched ${server} ${code} ${round}`);
  }
  challengeRoundsExhausted(server: string, rule: string, maxRounds: number): void {
    this.log.push(`exhausted ${server} ${rule} ${maxRounds}`);
  }
  challengeRoundFailed(server: string, rule: string, reason: RoundFailure): void {
    this.log.push(`failed ${server} ${rule} ${reason}`);
  }
}

const AUTO: RuleSpec = {
  name: 'auto',
  on: 'access-challenge',
  match: [{ attribute: 'State', present: true }],
  action: 'send-access-request',
};

function proxyWith(rulesFor: Map<UpstreamServer, RuleSpec[]>, events: Events): AccessProxy {
  const settings = new Map<UpstreamServer, PerServerSettings>();
  for (const [server, specs] of rulesFor) settings.set(server, { challenge: { rules: compileRuleSet(specs, dict, 3), observer: events } });
  return new AccessProxy(new EncryptedAttributes(dict), (s) => settings.get(s));
}

/** A NAS's Access-Request, as the front hands it over (decoded). */
function nasRequest(attributes: RawAttribute[], authenticator = randomBytes(16)): RadiusPacket {
  const d = decodePacket(encodeRequest({ code: Code.AccessRequest, identifier: 7, attributes, authenticator }, NAS_SECRET));
  if (!d.ok) throw new Error(d.reason);
  return d.packet;
}

const text = (type: number, v: string): RawAttribute => ({ type, value: Buffer.from(v, 'utf8') });
const challenge = (state: string) => ({ code: Code.AccessChallenge, attributes: [text(Attr.ReplyMessage, 'approve'), text(Attr.State, state)] });

function pap(user: string, password: string): RadiusPacket {
  const authenticator = randomBytes(16);
  return nasRequest([text(Attr.UserName, user), { type: Attr.UserPassword, value: hideUserPassword(Buffer.from(password), NAS_SECRET, authenticator) }], authenticator);
}

t.test('send-access-request: the automatic request carries State and the password; an accept ends it', async (t) => {
  const up = await responder(t, (_req, n) => (n === 1 ? challenge('st-1') : { code: Code.AccessAccept, attributes: [] }));
  const server = upstream(t, 'up', up.port);
  const events = new Events();
  const proxy = proxyWith(new Map([[server, [{ ...AUTO, password: 'x<PASSWORD>' }]]]), events);
  const r = await proxy.forward(pap('bob', 'pw'), NAS_SECRET, { pool: new UpstreamPool('p', [server], 'failover') });
  t.equal(r?.outcome, 'accept');
  t.equal(up.received.length, 2);
  const second = up.received[1]!;
  t.equal(findAttribute(second.attributes, Attr.State)?.toString(), 'st-1');
  t.equal(revealUserPassword(findAttribute(second.attributes, Attr.UserPassword)!, UPSTREAM_SECRET, second.authenticator)?.toString(), 'xpw');
  t.not(second.authenticator.equals(up.received[0]!.authenticator), true, 'a new Request Authenticator');
  t.equal(second.attributes.at(-1)?.type, Attr.ProxyState, 'our Proxy-State stays last');
  t.same(events.log, ['matched up auto send-access-request 0']);
});

t.test('EAP conversations are never touched by rules', async (t) => {
  const up = await responder(t, () => challenge('eap-state'));
  const server = upstream(t, 'up', up.port);
  const events = new Events();
  const proxy = proxyWith(new Map([[server, [AUTO]]]), events);
  const eap = nasRequest([text(Attr.UserName, 'bob'), { type: Attr.EapMessage, value: Buffer.from([2, 1, 0, 8, 1, 98, 111, 98]) }]);
  const r = await proxy.forward(eap, NAS_SECRET, { pool: new UpstreamPool('p', [server], 'failover') });
  t.equal(r?.outcome, 'challenge');
  t.equal(up.received.length, 1, 'no automatic request');
  t.same(events.log, [], 'no decision: rules were not consulted');
  t.equal(proxy.sticky.lookup(Buffer.from('eap-state')), server, 'the State is remembered as usual');
});

t.test('a <PASSWORD> rule is skipped for CHAP; the challenge is relayed', async (t) => {
  const up = await responder(t, () => challenge('chap-state'));
  const server = upstream(t, 'up', up.port);
  const events = new Events();
  const proxy = proxyWith(new Map([[server, [AUTO]]]), events);
  const chap = nasRequest([text(Attr.UserName, 'bob'), { type: Attr.ChapPassword, value: randomBytes(17) }]);
  const r = await proxy.forward(chap, NAS_SECRET, { pool: new UpstreamPool('p', [server], 'failover') });
  t.equal(r?.outcome, 'challenge');
  t.equal(up.received.length, 1);
  t.same(events.log, [`unmatched up ${Code.AccessChallenge} 0`]);
});

t.test('an automatic request without an answer: no reply for the NAS, and no failover', async (t) => {
  const up = await responder(t, (_req, n) => (n === 1 ? challenge('s') : undefined));
  const other = await responder(t, () => ({ code: Code.AccessAccept, attributes: [] }));
  const server = upstream(t, 'up', up.port);
  const backup = upstream(t, 'backup', other.port);
  const events = new Events();
  const proxy = proxyWith(new Map([[server, [AUTO]]]), events);
  const r = await proxy.forward(pap('bob', 'pw'), NAS_SECRET, { pool: new UpstreamPool('p', [server, backup], 'failover') });
  t.equal(r, undefined);
  t.equal(other.received.length, 0, 'the conversation stays with its server');
  t.same(events.log, ['matched up auto send-access-request 0', 'failed up auto no_answer']);
});

t.test('a templated password over 128 octets: relayed as if no rule matched', async (t) => {
  const up = await responder(t, () => challenge('s'));
  const server = upstream(t, 'up', up.port);
  const events = new Events();
  const proxy = proxyWith(new Map([[server, [{ ...AUTO, password: '<PASSWORD><PASSWORD>' }]]]), events);
  const r = await proxy.forward(pap('bob', 'p'.repeat(100)), NAS_SECRET, { pool: new UpstreamPool('p', [server], 'failover') });
  t.equal(r?.outcome, 'challenge');
  t.equal(up.received.length, 1);
  t.same(events.log, ['failed up auto password_too_long']);
});

t.test('max_rounds 0: send-access-request never runs', async (t) => {
  const up = await responder(t, () => challenge('s'));
  const server = upstream(t, 'up', up.port);
  const events = new Events();
  const proxy = new AccessProxy(new EncryptedAttributes(dict), () => ({ challenge: { rules: compileRuleSet([AUTO], dict, 0), observer: events } }));
  const r = await proxy.forward(pap('bob', 'pw'), NAS_SECRET, { pool: new UpstreamPool('p', [server], 'failover') });
  t.equal(r?.outcome, 'challenge');
  t.same(findAttribute(r!.attributes, Attr.ReplyMessage)?.toString(), 'approve', 'the upstream\'s own message');
  t.same(events.log, ['exhausted up auto 0']);
});

t.test('a server without rules: replies pass as they are, nothing is reported', async (t) => {
  const up = await responder(t, () => ({ code: Code.AccessReject, attributes: [text(Attr.ReplyMessage, 'no')] }));
  const server = upstream(t, 'plain', up.port);
  const events = new Events();
  const proxy = proxyWith(new Map(), events);
  const r = await proxy.forward(pap('bob', 'pw'), NAS_SECRET, { pool: new UpstreamPool('p', [server], 'failover') });
  t.equal(r?.outcome, 'reject');
  t.equal(r?.reason, 'upstream plain');
  t.same(events.log, []);
});
