/**
 * Integration harness: runs the real daemon (`node bin/aaaproxy.js run`) on loopback with
 * kernel-chosen ports, learns the ports from its JSON log lines, and drives it with the
 * real radclient. Everything lives in a fresh temp directory; the child is always killed
 * when the test that started it ends.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Extra } from 'tap';
import { hashPassword } from '../../src/auth/local/password-hash.js';

/** The repository root: this file runs as dist/test/helpers/daemon.js. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const AAAPROXY_BIN = join(REPO_ROOT, 'bin', 'aaaproxy.js');
export const RADCLIENT = process.env['RADCLIENT'] ?? '/usr/bin/radclient';

/** The tap assertions helpers use (structural, so any Test fits). */
export interface Asserts {
  equal(found: unknown, wanted: unknown, msg: string, extra: Extra): boolean;
  match(found: unknown, wanted: unknown, msg: string, extra: Extra): boolean;
}

/** What the harness needs from a tap test: somewhere to hang cleanup. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

export type Tristate = 'yes' | 'no' | 'auto';

export interface DaemonOptions {
  /** Users file (YAML) content. */
  users: string;
  /** Shared secret of the 127.0.0.1/32 client. */
  secret?: string;
  /** BlastRADIUS settings of that client; 'no' by default so tests do not depend on the first packet. */
  requireMessageAuthenticator?: Tristate;
  limitProxyState?: Tristate;
  lockout?: { attempts: number; minutes: number };
  /** Extra top-level YAML appended to the config (e.g. `duplicates: {...}`). */
  extraConfig?: string;
  /** Extra keys of the loopback clients entry, one `key: value` a line (e.g. `dynauth_port: 3799`). */
  clientExtra?: string;
  /** YAML lines (indented 4) for `accounting.spool`, e.g. `dir: spool`; no spool when absent. */
  spool?: string;
  /** admin.token (the session routes then want it as a bearer token). */
  adminToken?: string;
  logLevel?: 'debug' | 'info' | 'warn';
  /** Milliseconds to wait for 'aaaproxy started'. */
  startTimeoutMs?: number;
  /**
   * Run in this existing directory (a previous daemon's `dir`, e.g. to restart on the same
   * spool after a SIGKILL) instead of a fresh temp dir; its files stay, the config and users
   * file are written again, and whoever created it removes it.
   */
  dir?: string;
}

export const DEFAULT_SECRET = 'integration-secret';

/**
 * Spawns node for the daemon or the CLI. tap's @tapjs/processinfo wraps child_process.spawn
 * and forces an --import of its hook into every child's NODE_OPTIONS, whatever env we pass;
 * that hook (a loader thread and process-info files) more than doubles a CLI run
 * (about 0.5 s -> 1.3 s). Coverage is off and these children are the system under test,
 * not tests, so `env -u NODE_OPTIONS` takes the hook out again just before node starts.
 */
export function spawnNode(args: string[], opts: { cwd?: string; stdio: StdioOptions }): ChildProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('_TAPJS_PROCESSINFO_')) env[k] = v;
  return spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, ...args], { ...opts, env });
}

/** A log line as the daemon wrote it (pino JSON). */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** The config text startDaemon writes; exported so CLI tests can write the same kind of file. */
export function configYaml(opts: {
  secret?: string;
  requireMessageAuthenticator?: Tristate;
  limitProxyState?: Tristate;
  lockout?: { attempts: number; minutes: number };
  adminPort?: number;
  listenAddress?: string;
  extraConfig?: string;
  clientExtra?: string | undefined;
  spool?: string;
  adminToken?: string | undefined;
  logLevel?: string;
}): string {
  const lockout = opts.lockout ?? { attempts: 3, minutes: 10 };
  const address = opts.listenAddress ?? '127.0.0.1';
  return [
    '# written by test/helpers/daemon.ts',
    'listeners:',
    `  - { type: auth, address: ${address}, port: 0 }`,
    `  - { type: acct, address: ${address}, port: 0 }`,
    'clients:',
    '  - name: loopback',
    '    address: 127.0.0.1/32',
    `    secret: ${JSON.stringify(opts.secret ?? DEFAULT_SECRET)}`,
    `    require_message_authenticator: ${opts.requireMessageAuthenticator ?? 'no'}`,
    `    limit_proxy_state: ${opts.limitProxyState ?? 'no'}`,
    ...(opts.clientExtra ? opts.clientExtra.split('\n').map((l) => `    ${l}`) : []),
    'local_users:',
    '  file: users.yaml',
    `  lockout: { attempts: ${lockout.attempts}, minutes: ${lockout.minutes} }`,
    'accounting:',
    '  log:',
    '    path: accounting.jsonl',
    '    group_commit_ms: 1',
    ...(opts.spool ? ['  spool:', ...opts.spool.split('\n').map((l) => `    ${l}`)] : []),
    'admin:',
    '  address: 127.0.0.1',
    `  port: ${opts.adminPort ?? 0}`,
    ...(opts.adminToken ? [`  token: ${JSON.stringify(opts.adminToken)}`] : []),
    'log:',
    `  level: ${opts.logLevel ?? 'info'}`,
    '  format: json',
    opts.extraConfig ?? '',
    '',
  ].join('\n');
}

/** A fresh temp directory, removed when the test ends (or, failing that, when the process exits). */
export async function tempDir(t: Teardown, prefix = 'aaaproxy-it-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const removeOnExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  t.teardown(async () => {
    process.off('exit', removeOnExit);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A config and a users.yaml beside it in a fresh temp dir (for CLI tests); returns the config path. */
export async function writeConfigFiles(t: Teardown, config: string, users: string): Promise<string> {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'users.yaml'), users);
  const path = join(dir, 'aaaproxy.yaml');
  await writeFile(path, config);
  return path;
}

/** scrypt hash in the users-file format; ln=10 keeps the suite fast (the format allows 10..22). */
export function hash(password: string, logN = 10): Promise<string> {
  return hashPassword(password, logN);
}

export interface RunningDaemon {
  authPort: number;
  acctPort: number;
  adminPort: number;
  dir: string;
  configPath: string;
  usersPath: string;
  accountingPath: string;
  secret: string;
  /** Every JSON log line so far, in order. */
  logs: LogLine[];
  /** Everything written to stderr so far. */
  stderr(): string;
  child: ChildProcess;
  /** Resolves with the first line from index `from` on that matches; rejects after timeoutMs. */
  waitForLog(predicate: (l: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** SIGHUP, then the 'config reloaded' or first 'reload refused' line logged after it. */
  reload(timeoutMs?: number): Promise<LogLine>;
  /** SIGTERM; resolves with the exit code (null when killed by a signal). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Sends a signal (default SIGKILL) and resolves once the process is gone (no-op when it already is). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** An admin HTTP call (with admin.token as the bearer token when the daemon has one, unless headers say otherwise). */
  admin(method: string, path: string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  /** The value of one sample in /metrics, 0 when absent. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Polls /metrics until the sample satisfies `ok`; resolves with its value. */
  waitForMetric(name: string, labels: Record<string, string> | undefined, ok: (v: number) => boolean, timeoutMs?: number): Promise<number>;
  /** A copy of the config with the admin port actually bound, for CLI commands that call the daemon. */
  cliConfig(): Promise<string>;
}

/** Parses one sample out of Prometheus text exposition. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(l[1]!, l[2]!);
    if (want.every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return 0;
}

export async function startDaemon(t: Teardown, opts: DaemonOptions): Promise<RunningDaemon> {
  const dir = opts.dir ?? (await tempDir(t));
  const secret = opts.secret ?? DEFAULT_SECRET;
  const configPath = join(dir, 'aaaproxy.yaml');
  const usersPath = join(dir, 'users.yaml');
  const accountingPath = join(dir, 'accounting.jsonl');
  const configOpts = {
    secret,
    requireMessageAuthenticator: opts.requireMessageAuthenticator,
    limitProxyState: opts.limitProxyState,
    lockout: opts.lockout,
    extraConfig: opts.extraConfig,
    clientExtra: opts.clientExtra,
    spool: opts.spool,
    adminToken: opts.adminToken,
    logLevel: opts.logLevel,
  };
  await writeFile(configPath, configYaml(configOpts));
  await writeFile(usersPath, opts.users);

  const child = spawnNode([AAAPROXY_BIN, 'run', '-c', configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let exitCode: number | null | undefined;
  // 'close', not 'exit': by then stdout has been read to its end, so logs are complete.
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  // Killed when the test ends; and should the test process die first (a tap timeout),
  // on its way out, so no daemon outlives the suite.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  t.teardown(async () => {
    process.off('exit', killOnExit);
    if (exitCode === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (stderr += s));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      logs.push({ msg: line, raw: true });
    }
    for (const w of [...waiters]) w();
  });
  void exited.then(() => {
    for (const w of [...waiters]) w();
  });

  const waitForLog = (predicate: (l: LogLine) => boolean, timeoutMs = 5000, from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      let scanned = from;
      const check = (): boolean => {
        for (; scanned < logs.length; scanned++) {
          if (predicate(logs[scanned]!)) {
            done();
            resolve(logs[scanned]!);
            return true;
          }
        }
        if (exitCode !== undefined) {
          done();
          reject(new Error(`daemon exited (${exitCode}) before the awaited log line; stderr: ${stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching log line within ${timeoutMs} ms; last lines: ${logs.slice(-5).map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter = () => void check();
      if (!check()) waiters.add(waiter);
    });

  await waitForLog((l) => l.msg === 'aaaproxy started', opts.startTimeoutMs ?? 10_000);
  const listening = logs.filter((l) => l.msg === 'listening');
  const portOf = (type: string) => {
    const l = listening.find((x) => x.type === type);
    if (!l) throw new Error(`no ${type} listener logged`);
    return l.port as number;
  };
  const adminLine = logs.find((l) => l.msg === 'admin HTTP listening');
  if (!adminLine) throw new Error('admin HTTP port not logged');
  const adminPort = adminLine.port as number;

  const admin = async (method: string, path: string, headers?: Record<string, string>) => {
    const auth: Record<string, string> = opts.adminToken ? { authorization: `Bearer ${opts.adminToken}` } : {};
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method, headers: headers ?? auth, signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: await res.text() };
  };
  const metric = async (name: string, labels?: Record<string, string>) => metricValue((await admin('GET', '/metrics')).body, name, labels);

  let cliConfigPath: string | undefined;
  const d: RunningDaemon = {
    authPort: portOf('auth'),
    acctPort: portOf('acct'),
    adminPort,
    dir,
    configPath,
    usersPath,
    accountingPath,
    secret,
    logs,
    stderr: () => stderr,
    child,
    waitForLog,
    async reload(timeoutMs = 5000) {
      const from = logs.length;
      child.kill('SIGHUP');
      return waitForLog((l) => l.msg === 'config reloaded' || (typeof l.msg === 'string' && l.msg.startsWith('reload refused')), timeoutMs, from);
    },
    async stop(timeoutMs = 5000) {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`daemon did not exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async kill(signal = 'SIGKILL') {
      if (exitCode !== undefined) return;
      child.kill(signal);
      await exited;
    },
    admin,
    metric,
    async waitForMetric(name, labels, ok, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await metric(name, labels);
        if (ok(v)) return v;
        if (Date.now() > deadline) throw new Error(`${name}${JSON.stringify(labels ?? {})} is ${v} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async cliConfig() {
      if (!cliConfigPath) {
        cliConfigPath = join(dir, 'cli.yaml');
        await writeFile(cliConfigPath, configYaml({ ...configOpts, adminPort }));
      }
      return cliConfigPath;
    },
  };
  return d;
}

export type ReplyCode =
  | 'Access-Accept'
  | 'Access-Reject'
  | 'Access-Challenge'
  | 'Accounting-Response'
  | 'Disconnect-ACK'
  | 'Disconnect-NAK'
  | 'CoA-ACK'
  | 'CoA-NAK'
  | 'timeout';

export interface RadclientResult {
  code: ReplyCode;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Attributes of the reply as radclient printed them (quotes removed); a repeated name keeps the last. */
  replyAttrs: Record<string, string>;
  /** All reply attributes in order, repeats included. */
  replyList: [string, string][];
}

/**
 * Runs `radclient -x -r RETRIES -t TIMEOUT HOST:PORT TYPE SECRET` with attrs on stdin (HOST
 * 127.0.0.1 unless given). The type is radclient's: auth, acct or status.
 */
export function radclient(args: {
  port: number;
  host?: string | undefined;
  secret: string;
  type: 'auth' | 'acct' | 'status' | 'disconnect' | 'coa';
  attrs: string;
  retries?: number;
  timeout?: number;
}): Promise<RadclientResult> {
  return new Promise((resolve, reject) => {
    const argv = ['-x', '-r', String(args.retries ?? 1), '-t', String(args.timeout ?? 2), `${args.host ?? '127.0.0.1'}:${args.port}`, args.type, args.secret];
    const child = spawn(RADCLIENT, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (exitCode) => {
      const parsed = parseRadclientOutput(stdout);
      resolve({ ...parsed, exitCode, stdout, stderr });
    });
    child.stdin.end(args.attrs.endsWith('\n') ? args.attrs : `${args.attrs}\n`);
  });
}

export function parseRadclientOutput(stdout: string): { code: ReplyCode; replyAttrs: Record<string, string>; replyList: [string, string][] } {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Received '));
  if (at < 0) return { code: 'timeout', replyAttrs: {}, replyList: [] };
  const code = /^Received (\S+) Id/.exec(lines[at]!)![1] as ReplyCode;
  const replyList: [string, string][] = [];
  for (const line of lines.slice(at + 1)) {
    const m = /^\t(\S+) = (.*)$/.exec(line);
    if (!m) break;
    const raw = m[2]!;
    replyList.push([m[1]!, raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw]);
  }
  return { code, replyAttrs: Object.fromEntries(replyList), replyList };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/aaaproxy.js ...args` with optional stdin; bounded by timeoutMs. */
export function aaaproxyCli(args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnNode([AAAPROXY_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(opts.stdin ?? '');
  });
}
