/**
 * The process logger: pino JSON lines for machines, pino-pretty for a human at a terminal,
 * and secrets/passwords censored before anything is serialised.
 */
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Stream or file descriptor; stdout when absent. */
  destination?: NodeJS.WritableStream | number;
}

/** Key names censored at every depth REDACT_PATHS reaches (below). */
const SENSITIVE_KEYS = [
  'secret',
  'password',
  'passwordHash',
  'password_hash',
  'token',
  'key',
  'User-Password',
  'CHAP-Password',
  'Tunnel-Password',
] as const;

/** `.name`, or `["name"]` when the name is not a plain identifier (RADIUS attribute names have dashes). */
function step(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `["${name}"]`;
}

/**
 * pino redact paths. A wildcard matches exactly one level, so each key is listed at the top
 * level, one level down (`*.secret`: `{client: {secret}}`, `{attrs: {'User-Password'}}`),
 * and deeper under `client` and `config`, which nest secrets in records and lists
 * (`client.tls.key`, `config.clients[3].secret`).
 */
export const REDACT_PATHS: readonly string[] = Object.freeze(
  SENSITIVE_KEYS.flatMap((name) => {
    const s = step(name);
    return [s.startsWith('.') ? name : s, `*${s}`, `client.*${s}`, `config.*${s}`, `config.*.*${s}`];
  }),
);

export const REDACT_CENSOR = '[redacted]';

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && isTerminal(opts.destination));
  return pino(
    {
      level: opts.level,
      base: { service: 'aaaproxy', pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: REDACT_CENSOR },
    },
    pretty ? prettyDestination(opts.destination) : jsonDestination(opts.destination),
  );
}

function isTerminal(dest: LoggerOptions['destination']): boolean {
  if (dest === undefined) return process.stdout.isTTY === true;
  if (typeof dest === 'number') return isatty(dest);
  return (dest as { isTTY?: boolean }).isTTY === true;
}

function jsonDestination(dest: LoggerOptions['destination']): DestinationStream {
  // Asynchronous sonic-boom for fds: pino flushes it on exit, and writes never block the event loop.
  if (dest === undefined || typeof dest === 'number') return pino.destination({ dest: dest ?? 1, sync: false });
  return dest;
}

/**
 * pino-pretty run in-line rather than as a worker transport: each line is formatted and
 * written synchronously, so nothing is lost on exit and tests see output at once.
 */
function prettyDestination(dest: LoggerOptions['destination']): DestinationStream {
  const format = prettyFactory({
    colorize: isTerminal(dest),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  const out: DestinationStream =
    dest === undefined || typeof dest === 'number' ? pino.destination({ dest: dest ?? 1, sync: true }) : dest;
  return { write: (line: string) => void out.write(format(line)) };
}
