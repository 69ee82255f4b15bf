/**
 * Integration harness: a network namespace joined to the root namespace by a veth pair, for
 * tests that need traffic to leave through a named interface (root only).
 *
 *   root namespace                       namespace aaapx-<pid>-<n>
 *   aaapx-<pid>-<n>h  198.18.0.1/30  <->  aaapx-<pid>-<n>n  198.18.0.2/30  (+ lo up)
 *
 * 198.18.0.0/15 is the RFC 2544 benchmarking range: never routed, so nothing leaves the host.
 * Everything is named `aaapx-<pid in base 36>-<n>` (interface names have at most 15
 * characters): the namespace, the host end (suffix h) and the peer end (suffix n). Removed
 * when the test ends, when the process exits, by a watchdog should the process be killed
 * by a signal, and at the next setup should all of those have failed (a namespace or link of
 * the prefix whose process is gone).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import type { Teardown } from './daemon.js';

export const IP = process.env['IP'] ?? '/usr/sbin/ip';
export const NETNS_PREFIX = 'aaapx-';

export interface VethNamespace {
  /** The namespace's name (for `ip netns exec`). */
  ns: string;
  /** The veth end in the root namespace, and its address. */
  hostIf: string;
  hostAddress: string;
  /** The veth end inside the namespace, and its address. */
  peerIf: string;
  peerAddress: string;
  /** Prefix length of both addresses. */
  prefixLength: number;
  /** `ip netns exec NS`: put before a command to run it inside the namespace. */
  exec: string[];
  /** Removes the namespace and the veth pair (killing anything still running inside); idempotent. */
  remove(): Promise<void>;
}

const run = promisify(execFile);
let counter = 0;

/** Runs `ip ARGS`; a failure reads `ip ARGS: <what ip said>` on one line. */
async function ip(...args: string[]): Promise<string> {
  try {
    return (await run(IP, args, { timeout: 5000 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr ?? '').trim().replace(/\s*\n\s*/g, '; ') || e.message}`);
  }
}

/** The pid encoded in one of our names, or undefined for a name that is not ours. */
function ownerPid(name: string): number | undefined {
  const m = /^aaapx-([0-9a-z]+)-[0-9]+[hn]?$/.exec(name);
  return m ? parseInt(m[1]!, 36) : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Shell commands that remove one namespace (and what runs in it) and its host-side link; errors ignored. */
function removalScript(ns: string, hostIf: string): string {
  return [
    `for p in $(${IP} netns pids ${ns} 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done`,
    `${IP} link del ${hostIf} 2>/dev/null`,
    `${IP} netns del ${ns} 2>/dev/null`,
    'true',
  ].join('; ');
}

/** Removes namespaces and links of our prefix left by a process that no longer exists. */
export async function removeStale(): Promise<string[]> {
  const removed: string[] = [];
  const namespaces = (await ip('netns', 'list'))
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(NETNS_PREFIX));
  const links = [...(await ip('-o', 'link', 'show')).matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]!).filter((n) => n.startsWith(NETNS_PREFIX));
  for (const name of [...namespaces, ...links]) {
    const pid = ownerPid(name);
    if (pid === undefined || pid === process.pid || processAlive(pid)) continue;
    const isNs = namespaces.includes(name);
    await run('/bin/sh', ['-c', isNs ? removalScript(name, `${name}h`) : removalScript(name.slice(0, -1), name)], { timeout: 5000 });
    removed.push(name);
  }
  return removed;
}

/**
 * Why a namespace cannot be made here, or undefined when it can (root and a working `ip
 * netns`); meant for `t.test(name, { skip: reason }, ...)`.
 */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (creates a network namespace and a veth pair)';
  try {
    await ip('netns', 'list');
  } catch (err) {
    return `\`ip netns\` is not usable: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/**
 * Creates the namespace and the veth pair, both ends up with their addresses and `lo` up
 * inside. Throws (having removed whatever it made) when the kernel refuses.
 */
export async function createVethNamespace(t: Teardown): Promise<VethNamespace> {
  await removeStale();
  const ns = `${NETNS_PREFIX}${process.pid.toString(36)}-${counter++}`;
  const hostIf = `${ns}h`;
  const peerIf = `${ns}n`;
  if (hostIf.length > 15) throw new Error(`interface name ${hostIf} is longer than 15 characters`);
  const hostAddress = '198.18.0.1';
  const peerAddress = '198.18.0.2';
  const prefixLength = 30;
  const script = removalScript(ns, hostIf);

  // Should this process die by a signal, no exit handler runs: the watchdog reads EOF on the
  // pipe from us and removes everything. Killed once the namespace is removed normally.
  const watchdog = spawn('/bin/sh', ['-c', `read _; ${script}`], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.once('error', () => undefined);
  const removeOnExit = () => {
    try {
      execFileSync('/bin/sh', ['-c', script], { stdio: 'ignore', timeout: 5000 });
    } catch {
      // best effort on the way out
    }
  };
  process.once('exit', removeOnExit);

  let removed: Promise<void> | undefined;
  const remove = (): Promise<void> => {
    removed ??= (async () => {
      process.off('exit', removeOnExit);
      await run('/bin/sh', ['-c', script], { timeout: 10_000 }).catch(() => undefined);
      watchdog.kill('SIGKILL');
    })();
    return removed;
  };
  t.teardown(remove);

  try {
    await ip('netns', 'add', ns);
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    await ip('link', 'set', peerIf, 'netns', ns);
    await ip('addr', 'add', `${hostAddress}/${prefixLength}`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ip('-n', ns, 'addr', 'add', `${peerAddress}/${prefixLength}`, 'dev', peerIf);
    await ip('-n', ns, 'link', 'set', peerIf, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    await remove();
    throw err;
  }
  // Node lists an interface (os.networkInterfaces) only once it is up and running, i.e. once
  // the peer end is up too; wait for the carrier so the daemon finds it at load.
  const deadline = Date.now() + 3000;
  while (!/LOWER_UP/.test(await ip('link', 'show', hostIf))) {
    if (Date.now() > deadline) {
      await remove();
      throw new Error(`${hostIf} has no carrier after 3 s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { ns, hostIf, hostAddress, peerIf, peerAddress, prefixLength, exec: [IP, 'netns', 'exec', ns], remove };
}
