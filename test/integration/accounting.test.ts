/**
 * Accounting (RFC 2866) through the real daemon and radclient: Start, Interim-Update and
 * Stop are answered and land as JSON lines in the accounting log; a request signed with the
 * wrong secret is dropped; SIGTERM exits 0 with every acknowledged record on disk.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { radclient, startDaemon } from '../helpers/daemon.js';

const d = await startDaemon(t, { users: 'users: {}\n' });

interface Record_ {
  time: string;
  client: string;
  nas: string;
  status: string;
  attributes: Record<string, unknown>;
}
const records = async (): Promise<Record_[]> =>
  (await readFile(d.accountingPath, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record_);

const acct = (attrs: string, secret = d.secret, timeout?: number) =>
  radclient({ port: d.acctPort, secret, type: 'acct', attrs, ...(timeout ? { timeout, retries: 1 } : {}) });

const SESSION = 'User-Name = gina, Acct-Session-Id = "sess-0001", NAS-IP-Address = 192.0.2.10, NAS-Port = 7, Framed-IP-Address = 10.1.2.3';

t.test('Start, Interim-Update, Stop: answered and logged in order', async (t) => {
  const start = await acct(`Acct-Status-Type = Start, ${SESSION}`);
  t.equal(start.code, 'Accounting-Response', 'Start acknowledged', { stdout: start.stdout });
  t.same(start.replyList, [], 'Accounting-Response without attributes');
  const interim = await acct(`Acct-Status-Type = Interim-Update, ${SESSION}, Acct-Session-Time = 60, Acct-Input-Octets = 1000, Acct-Output-Octets = 2000`);
  t.equal(interim.code, 'Accounting-Response', 'Interim-Update acknowledged', { stdout: interim.stdout });
  const stop = await acct(`Acct-Status-Type = Stop, ${SESSION}, Acct-Session-Time = 120, Acct-Terminate-Cause = User-Request`);
  t.equal(stop.code, 'Accounting-Response', 'Stop acknowledged', { stdout: stop.stdout });

  // Acknowledged means durable: the lines are there as soon as the answer is.
  const r = await records();
  t.equal(r.length, 3, 'three records');
  t.same(r.map((x) => x.status), ['start', 'interim-update', 'stop']);
  for (const x of r) {
    t.equal(x.client, 'loopback');
    t.equal(x.nas, '127.0.0.1');
    t.ok(!Number.isNaN(Date.parse(x.time)), 'ISO timestamp');
    t.match(x.attributes, { 'User-Name': 'gina', 'Acct-Session-Id': 'sess-0001', 'NAS-IP-Address': '192.0.2.10', 'NAS-Port': 7, 'Framed-IP-Address': '10.1.2.3' });
  }
  t.equal(r[0]!.attributes['Acct-Status-Type'], 'Start');
  t.match(r[1]!.attributes, { 'Acct-Status-Type': 'Interim-Update', 'Acct-Session-Time': 60, 'Acct-Input-Octets': 1000, 'Acct-Output-Octets': 2000 });
  t.match(r[2]!.attributes, { 'Acct-Status-Type': 'Stop', 'Acct-Session-Time': 120, 'Acct-Terminate-Cause': 'User-Request' });

  for (const status of ['start', 'interim-update', 'stop']) {
    t.equal(await d.metric('aaaproxy_accounting_records_total', { status_type: status }), 1, `accounting_records_total{status_type="${status}"} 1`);
  }
});

t.test('wrong secret: no answer, dropped as bad_request_authenticator', async (t) => {
  const before = await records();
  const r = await acct(`Acct-Status-Type = Start, ${SESSION}`, 'not-the-secret', 1);
  t.equal(r.code, 'timeout', 'no Accounting-Response', { stdout: r.stdout });
  t.equal(await d.metric('aaaproxy_packets_dropped_total', { reason: 'bad_request_authenticator' }), 1);
  t.equal((await records()).length, before.length, 'nothing logged');
});

t.test('SIGTERM: exit 0 with every acknowledged record in the log', async (t) => {
  const before = (await records()).length;
  const burst = await Promise.all(
    Array.from({ length: 6 }, (_, i) => acct(`Acct-Status-Type = Start, User-Name = burst${i}, Acct-Session-Id = "burst-${i}"`)),
  );
  t.same(burst.map((b) => b.code), Array(6).fill('Accounting-Response'), 'all six acknowledged');
  const code = await d.stop();
  t.equal(code, 0, 'exit code 0');
  t.ok(d.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'), 'logged the signal');
  t.ok(d.logs.some((l) => l.msg === 'aaaproxy stopped'), 'logged the stop');
  const after = await records();
  t.equal(after.length, before + 6, 'six more records');
  t.same(
    after.slice(before).map((x) => x.attributes['Acct-Session-Id']).sort(),
    Array.from({ length: 6 }, (_, i) => `burst-${i}`),
  );
  t.equal(d.stderr(), '', 'nothing on stderr');
});
