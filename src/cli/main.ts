/** `aaaproxy <command>`: the command-line entry point. Each command has its own --help. */
import { readFileSync } from 'node:fs';

const USAGE = `Usage: aaaproxy <command> [options]

Commands:
  run            run the daemon in the foreground
  check-config   validate a config file and everything it names
  check-disk     time durable writes where the accounting spool and log live
  users          manage the local users file (add, passwd, del, list, unlock)
  certs          private CA and TLS certificates (init, issue, show)
  sessions       the running daemon's session table (list, show)
  version        print the version

Run 'aaaproxy <command> --help' for a command's options.
`;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    // Commands are loaded when used, so `version` and `--help` do not pay for the daemon's modules.
    case 'run':
      return (await import('./run.js')).runDaemon(rest);
    case 'check-config':
      return (await import('./check-config.js')).runCheckConfig(rest);
    case 'check-disk':
      return (await import('./check-disk.js')).runCheckDisk(rest);
    case 'users':
      return (await import('./users.js')).runUsers(rest);
    case 'certs':
      return (await import('./certs.js')).runCerts(rest);
    case 'sessions':
      return (await import('./sessions.js')).runSessions(rest);
    case 'version':
    case '--version':
      process.stdout.write(`aaaproxy ${packageVersion()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`aaaproxy: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // run keeps the process alive through its sockets; other commands end here.
    if (code !== -1) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`aaaproxy: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
