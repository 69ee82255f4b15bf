/**
 * Where traffic leaves from: per-upstream source_address, the upstream_defaults source,
 * source_interface through a veth pair into a network namespace (root only), listeners bound
 * by interface name, and a missing interface refused at reload and by check-config.
 *
 * Traffic only ever goes to 127.0.0.0/8 or to 198.18.0.2 inside the test's own namespace
 * (RFC 2544 benchmarking range, never routed).
 */
import { readFile, writeFile } from 'node:fs/promises';
import t from 'tap';
import { aaaproxyCli, configYaml, radclient, startDaemon, writeConfigFiles } from '../helpers/daemon.js';
import { freeUdpPort, startFreeRadius, UPSTREAM_SECRET, type RunningFreeRadius } from '../helpers/freeradius.js';
import { createVethNamespace, netnsUnavailable, type VethNamespace } from '../helpers/netns.js';

// Every step below is bounded on its own (radclient 2 s x 2, FreeRADIUS start 10 s); this is the backstop.
t.setTimeout(60_000);

const UPSTREAM_USERS = 'alice Cleartext-Password := "alice-pw"\n\tReply-Message = "hi"\n';

// Two upstream servers on 127.0.0.1 that accept any loopback source.
const loopbackClients = [{ address: '127.0.0.0/8', secret: UPSTREAM_SECRET }];
const [upA, upB] = await Promise.all([
  startFreeRadius(t, { users: UPSTREAM_USERS, name: 'upstream-a', clients: loopbackClients }),
  startFreeRadius(t, { users: UPSTREAM_USERS, name: 'upstream-b', clients: loopbackClients }),
]);

// A third inside a network namespace behind a veth pair, when this host allows one.
let skipNetns: string | undefined = await netnsUnavailable();
let veth: VethNamespace | undefined;
let upNs: RunningFreeRadius | undefined;
if (!skipNetns) {
  try {
    veth = await createVethNamespace(t);
  } catch (err) {
    skipNetns = `cannot create a network namespace with a veth pair: ${(err as Error).message.split('\n')[0]}`;
  }
}
if (veth) {
  upNs = await startFreeRadius(t, {
    users: UPSTREAM_USERS,
    name: 'upstream-ns',
    clients: [{ address: `198.18.0.0/${veth.prefixLength}`, secret: UPSTREAM_SECRET }],
    listenAddress: veth.peerAddress,
    commandPrefix: veth.exec,
  });
}

const fast = 'timeout_seconds: 1, retries: 1, status_check: { interval_seconds: 1, revive_after: 1, zombie_period_seconds: 2 }';
const upstreamConfig = [
  'upstream_defaults:',
  '  source_address: 127.0.0.3',
  'upstreams:',
  `  - { name: a, address: 127.0.0.1, auth_port: ${upA.authPort}, acct_port: ${upA.acctPort}, secret: ${UPSTREAM_SECRET}, ${fast}, source_address: 127.0.0.2 }`,
  `  - { name: b, address: 127.0.0.1, auth_port: ${upB.authPort}, acct_port: ${upB.acctPort}, secret: ${UPSTREAM_SECRET}, ${fast} }`,
  ...(veth && upNs
    ? [`  - { name: ns, address: ${veth.peerAddress}, auth_port: ${upNs.authPort}, acct_port: ${upNs.acctPort}, secret: ${UPSTREAM_SECRET}, ${fast}, source_interface: ${veth.hostIf} }`]
    : []),
  'pools:',
  '  - { name: pool-a, servers: [a] }',
  '  - { name: pool-b, servers: [b] }',
  ...(veth ? ['  - { name: pool-ns, servers: [ns] }'] : []),
  'routes:',
  '  - { realm: a.test, strip_realm: true, auth: pool-a }',
  '  - { realm: b.test, strip_realm: true, auth: pool-b }',
  ...(veth ? ['  - { realm: ns.test, strip_realm: true, auth: pool-ns }'] : []),
].join('\n');

const d = await startDaemon(t, { users: 'users:\n  local:\n    password: local-pw\n    allow_cleartext: true\n', extraConfig: upstreamConfig });
let authPort = d.authPort;

const login = (user: string, password = 'alice-pw') =>
  radclient({ port: authPort, secret: d.secret, type: 'auth', attrs: `User-Name = "${user}", User-Password = "${password}", Message-Authenticator = 0x00` });
const lastSeen = async (fr: RunningFreeRadius) => (await fr.authRecords()).filter((r) => r['User-Name'] === 'alice').at(-1);

t.test('loopback aliases: each upstream sees its configured source address', async (t) => {
  const a = await login('alice@a.test');
  t.equal(a.code, 'Access-Accept', 'alice@a.test accepted by upstream a', { stdout: a.stdout });
  t.equal((await lastSeen(upA))?.['Packet-Src-IP-Address'], '127.0.0.2', 'upstream a: its own source_address');
  const b = await login('alice@b.test');
  t.equal(b.code, 'Access-Accept', 'alice@b.test accepted by upstream b', { stdout: b.stdout });
  t.equal((await lastSeen(upB))?.['Packet-Src-IP-Address'], '127.0.0.3', 'upstream b: upstream_defaults.source_address');
  t.equal(await lastSeen(upA).then((r) => r?.['Packet-Src-IP-Address']), '127.0.0.2', 'nothing for b went to a');
  t.equal((await upA.authRecords()).filter((r) => r['User-Name'] === 'alice').length, 1, 'a saw one request');
  t.equal((await upB.authRecords()).filter((r) => r['User-Name'] === 'alice').length, 1, 'b saw one request');
});

t.test('veth into a network namespace: source_interface picks the host end', { skip: skipNetns ?? false }, async (t) => {
  const r = await login('alice@ns.test');
  t.equal(r.code, 'Access-Accept', 'the Access-Accept from inside the namespace reached radclient', { stdout: r.stdout });
  t.equal(r.replyAttrs['Reply-Message'], 'hi', 'with the upstream reply');
  const seen = await lastSeen(upNs!);
  t.equal(seen?.['Packet-Src-IP-Address'], veth!.hostAddress, `the upstream saw ${veth!.hostAddress}, the address of ${veth!.hostIf}`);
});

t.test('a listener bound by interface name (lo), applied by reload', async (t) => {
  const config = await readFile(d.configPath, 'utf8');
  const port = await freeUdpPort();
  const before = 'type: auth, address: 127.0.0.1, port: 0 }';
  t.ok(config.includes(before), 'found the auth listener');
  await writeFile(d.configPath, config.replace(before, `type: auth, interface: lo, port: ${port} }`));
  const from = d.logs.length;
  const line = await d.reload();
  t.equal(line.msg, 'config reloaded', 'reloaded', { line });
  const listening = d.logs.slice(from).find((l) => l.msg === 'listening' && l.type === 'auth');
  t.match(listening, { address: '127.0.0.1', port }, 'lo resolved to 127.0.0.1');
  authPort = port;
  t.equal((await login('local', 'local-pw')).code, 'Access-Accept', 'a local user through the lo listener');
  const r = await login('alice@a.test');
  t.equal(r.code, 'Access-Accept', 'and a proxied one');
  t.equal((await lastSeen(upA))?.['Packet-Src-IP-Address'], '127.0.0.2', 'still from 127.0.0.2');
});

t.test('reload with a missing source_interface is refused; the old config keeps serving', async (t) => {
  const good = await readFile(d.configPath, 'utf8');
  const lines = good.split('\n');
  const at = lines.findIndex((l) => l.startsWith('  - { name: b,'));
  t.ok(at > 0, 'found upstream b');
  lines[at] = lines[at]!.replace(/ \}$/, ', source_interface: nonexistent0 }');
  await writeFile(d.configPath, lines.join('\n'));
  const line = await d.reload();
  t.match(line.msg, /^reload refused: /, 'refused', { line });
  t.equal(line.file, d.configPath, 'names the file');
  t.equal(line.line, at + 1, `names line ${at + 1}`);
  t.equal(line.path, 'upstreams[1].source_interface', 'names the key');
  t.match(line.msg, `${d.configPath}:${at + 1}:`, 'the message reads file:line:');
  t.match(line.msg, 'source_interface', 'the message names source_interface');
  t.match(line.msg, /no network interface named nonexistent0 \(this host has: [^)]*\blo\b/, 'and the interfaces there are');

  const before = (await upB.authRecords()).length;
  const r = await login('alice@b.test');
  t.equal(r.code, 'Access-Accept', 'still proxied');
  t.equal((await upB.authRecords()).length, before + 1, 'by upstream b');
  t.equal((await lastSeen(upB))?.['Packet-Src-IP-Address'], '127.0.0.3', 'from the old source');
  await writeFile(d.configPath, good);
});

t.test('check-config: a listener on a missing interface exits 1 naming file:line and the known interfaces', async (t) => {
  const users = 'users: {}\n';
  const good = configYaml({});
  const lines = good.split('\n');
  const at = lines.findIndex((l) => l.includes('type: auth'));
  lines[at] = '  - { type: auth, interface: nonexistent0, port: 0 }';
  const badPath = await writeConfigFiles(t, lines.join('\n'), users);
  const loPath = await writeConfigFiles(t, good.replace('type: auth, address: 127.0.0.1,', 'type: auth, interface: lo,'), users);
  const [bad, lo] = await Promise.all([aaaproxyCli(['check-config', '-c', badPath]), aaaproxyCli(['check-config', '-c', loPath])]);
  t.equal(bad.code, 1, 'exit 1', { stderr: bad.stderr });
  t.match(bad.stderr, `${badPath}:${at + 1}:`, `names ${badPath}:${at + 1}`);
  t.match(bad.stderr, 'listeners[0].interface', 'names the key');
  t.match(bad.stderr, /no network interface named nonexistent0 \(this host has: [^)]*\blo\b/, 'lists the known interfaces');
  t.equal(lo.code, 0, 'interface: lo is valid', { stderr: lo.stderr });
});
