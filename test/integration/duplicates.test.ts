/**
 * Duplicate detection (RFC 5080 §2.2.2) through the real daemon, with raw datagrams: a
 * retransmission (same source, Identifier and Request Authenticator) gets the very same
 * reply bytes; a new authenticator under the same Identifier is a new request.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Code } from '../../src/radius/codes.js';
import { verifyResponse } from '../../src/radius/message.js';
import { hash, startDaemon } from '../helpers/daemon.js';
import { papRequest, UdpPeer } from '../helpers/udp.js';

const d = await startDaemon(t, {
  users: `users:
  frank:
    password_hash: ${await hash('frank-pass')}
    reply: { Reply-Message: hi frank }
  slow:
    # the production cost (ln=14): long enough that a back-to-back retransmission finds the first copy in progress
    password_hash: ${await hash('slow-pass', 14)}
`,
});
const secret = Buffer.from(d.secret);
const REPLY_WAIT_MS = 2000;

t.test('the same datagram twice: two identical replies, one counted as resent', async (t) => {
  const peer = await UdpPeer.open(t);
  const authenticator = randomBytes(16);
  const req = papRequest({ identifier: 42, user: 'frank', password: 'frank-pass', secret: d.secret, authenticator });
  await peer.send(req, d.authPort);
  const first = await peer.receive(REPLY_WAIT_MS);
  t.ok(first, 'first reply');
  t.equal(first![0], Code.AccessAccept, 'Access-Accept');
  t.equal(first![1], 42, 'same Identifier');
  t.equal(verifyResponse(first!, authenticator, secret, true), 'ok', 'reply verifies against the request');

  await peer.send(req, d.authPort);
  const second = await peer.receive(REPLY_WAIT_MS);
  t.ok(second, 'second reply');
  t.ok(second!.equals(first!), 'byte-for-byte the same reply');
  t.equal(await d.metric('aaaproxy_duplicates_total', { result: 'resent' }), 1, 'aaaproxy_duplicates_total{result="resent"} 1');
  t.equal(await d.metric('aaaproxy_requests_total', { client: 'loopback', code: 'Access-Request', result: 'accept' }), 1, 'handled once');

  // Same Identifier, new Request Authenticator: a new request, with its own reply.
  const authenticator2 = randomBytes(16);
  const req2 = papRequest({ identifier: 42, user: 'frank', password: 'wrong', secret: d.secret, authenticator: authenticator2 });
  await peer.send(req2, d.authPort);
  const third = await peer.receive(REPLY_WAIT_MS);
  t.ok(third, 'reply to the new request');
  t.equal(third![0], Code.AccessReject, 'processed afresh (wrong password this time)');
  t.equal(verifyResponse(third!, authenticator2, secret, true), 'ok', 'signed for the new authenticator');
  t.equal(await d.metric('aaaproxy_duplicates_total', { result: 'resent' }), 1, 'not counted as a duplicate');
  t.equal(peer.pending, 0, 'no stray datagrams');
});

t.test('the same Identifier from another source port is another request', async (t) => {
  const a = await UdpPeer.open(t);
  const b = await UdpPeer.open(t);
  const authenticator = randomBytes(16);
  const req = papRequest({ identifier: 7, user: 'frank', password: 'frank-pass', secret: d.secret, authenticator });
  await a.send(req, d.authPort);
  const ra = await a.receive(REPLY_WAIT_MS);
  await b.send(req, d.authPort);
  const rb = await b.receive(REPLY_WAIT_MS);
  t.ok(ra && rb, 'both answered');
  t.equal(await d.metric('aaaproxy_duplicates_total', { result: 'resent' }), 1, 'neither is a duplicate');
});

t.test('a retransmission while the first copy is in progress gets no second answer', async (t) => {
  const peer = await UdpPeer.open(t);
  const req = papRequest({ identifier: 99, user: 'slow', password: 'slow-pass', secret: d.secret });
  await peer.send(req, d.authPort);
  await peer.send(req, d.authPort);
  const reply = await peer.receive(REPLY_WAIT_MS);
  t.ok(reply, 'answered');
  t.equal(reply![0], Code.AccessAccept);
  t.equal(await d.metric('aaaproxy_duplicates_total', { result: 'in_progress' }), 1, 'second copy seen in progress');
  t.equal(await peer.receive(100), undefined, 'only one answer');
  // Once answered, a further retransmission gets the cached reply.
  await peer.send(req, d.authPort);
  const again = await peer.receive(REPLY_WAIT_MS);
  t.ok(again?.equals(reply!), 'cached reply resent');
  t.equal(await d.metric('aaaproxy_duplicates_total', { result: 'resent' }), 2);
});
