/**
 * One real server process (FreeRADIUS, slapd) under a test: spawned, its output kept (and
 * echoed with AAAPROXY_TEST_DEBUG), ready when the caller's probe says so, stopped with
 * SIGTERM then SIGKILL, paused with SIGSTOP. A watchdog shell holds a pipe from the test
 * process: a test killed by a signal (a tap timeout) runs no 'exit' handler, so when the pipe
 * reads EOF the watchdog kills the server and removes its files; it goes when the server exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const MAX_LOG_CHARS = 4 * 1024 * 1024;

export interface ServerProcessOptions {
  /** Names the server in errors and debug output. */
  name: string;
  /** Echo the output to stderr, and leave the files behind. */
  debug: boolean;
  /** Paths the watchdog removes if the test process dies (not in debug). */
  cleanup: string[];
}

/** Spawn failed before the server was ready; `bindFailed` when its log says a port was taken. */
export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly bindFailed: boolean,
  ) {
    super(message);
  }
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private alive = false;
  private paused = false;
  private output = '';

  constructor(private readonly opts: ServerProcessOptions) {}

  get running(): boolean {
    return this.alive;
  }

  /** Everything the server printed (the last few MiB). */
  get log(): string {
    return this.output;
  }

  /**
   * Spawns `command` and polls `ready(newOutput)` every `pollMs` until it is true; rejects
   * with ServerStartError when the process exits first or `timeoutMs` passes (then it is killed).
   */
  async start(command: string, args: string[], ready: (output: string) => boolean | Promise<boolean>, timeoutMs: number, pollMs: number): Promise<void> {
    const { name, debug } = this.opts;
    const c = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = c;
    this.alive = true;
    this.paused = false;
    const script = `read _; kill -KILL "$1" 2>/dev/null${debug ? '' : '; shift; rm -rf "$@"'}`;
    const watchdog =
      c.pid === undefined
        ? undefined
        : spawn('/bin/sh', ['-c', script, `${name}-watchdog`, String(c.pid), ...this.opts.cleanup], { stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog?.once('error', () => undefined);
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      c.once('close', (code, signal) => {
        this.alive = false;
        exitInfo = `exit code ${code}, signal ${signal}`;
        watchdog?.kill('SIGKILL');
        resolve();
      });
    });
    c.once('error', (err) => this.append(`spawn error: ${err.message}\n`));
    for (const [stream, tag] of [[c.stdout!, ''], [c.stderr!, '!']] as const) {
      stream.setEncoding('utf8').on('data', (s: string) => {
        this.append(s);
        if (debug) process.stderr.write(`[${name}${tag}] ${s}`);
      });
    }

    const deadline = Date.now() + timeoutMs;
    const from = this.output.length;
    for (;;) {
      if (!this.alive) {
        await this.exited;
        const since = this.output.slice(from);
        throw new ServerStartError(`${name} exited before it was ready (${exitInfo}); log:\n${since}`, /Address already in use/i.test(since));
      }
      if (await ready(this.output.slice(from))) return;
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        await this.exited;
        throw new ServerStartError(`${name} not ready within ${timeoutMs} ms; log:\n${this.output.slice(from)}`, false);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** SIGTERM (SIGCONT first if paused), SIGKILL after 3 s; resolves once it has exited. Idempotent. */
  async stop(): Promise<void> {
    if (!this.alive || !this.child) return;
    const c = this.child;
    if (this.paused) c.kill('SIGCONT');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  /** For a process 'exit' handler: nothing asynchronous runs there. */
  killNow(): void {
    if (this.alive) this.child?.kill('SIGKILL');
  }

  pause(): void {
    if (this.alive && !this.paused) {
      this.child?.kill('SIGSTOP');
      this.paused = true;
    }
  }

  resume(): void {
    if (this.alive && this.paused) {
      this.child?.kill('SIGCONT');
      this.paused = false;
    }
  }

  private append(s: string): void {
    this.output += s;
    if (this.output.length > MAX_LOG_CHARS) this.output = this.output.slice(this.output.length - MAX_LOG_CHARS / 2);
  }
}
