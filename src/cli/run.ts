/** `aaaproxy run`: the daemon in the foreground. SIGHUP reloads, SIGTERM/SIGINT drain and exit. */
import { Daemon, StartupError } from '../daemon/daemon.js';
import { DEFAULT_CONFIG, parseCommand } from './args.js';

const USAGE = `Usage: aaaproxy run [-c FILE]

Runs the daemon in the foreground, logging to stdout.
  SIGHUP    reload the config and users file (an invalid file is refused; the old config keeps serving)
  SIGTERM   stop taking requests, finish those in flight, flush accounting, exit 0

Options:
  -c, --config FILE   config file (default ${DEFAULT_CONFIG})
  -h, --help          show this help
`;

/** Returns -1 while the daemon runs (the process lives on its sockets), or an exit code. */
export async function runDaemon(argv: string[]): Promise<number> {
  const args = parseCommand(argv, USAGE, { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG } });
  if (!args) return process.exitCode as number;
  let daemon: Daemon;
  try {
    daemon = await Daemon.start(args.values['config'] as string);
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`aaaproxy: cannot start (${err.code}):\n${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const stop = (signal: string) => {
    daemon.logger.info({ signal }, 'shutting down');
    daemon.close().then(
      () => process.exit(0),
      (err: unknown) => {
        daemon.logger.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    daemon.logger.info('SIGHUP: reloading');
    void daemon.reload();
  });
  return -1;
}
