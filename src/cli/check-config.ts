/** `aaaproxy check-config`: exit 0 when the config and its users file are valid, 1 with reasons otherwise. */
import { prepare } from '../daemon/prepare.js';
import { formatIssue } from '../config/yaml-loader.js';
import { DEFAULT_CONFIG, parseCommand } from './args.js';

const USAGE = `Usage: aaaproxy check-config [-c FILE]

Validates the config file, the users file and the dictionaries it names,
without binding any socket. Exit status 0 when valid, 1 when not.

Options:
  -c, --config FILE   config file (default ${DEFAULT_CONFIG})
  -h, --help          show this help
`;

export async function runCheckConfig(argv: string[]): Promise<number> {
  const args = parseCommand(argv, USAGE, { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG } });
  if (!args) return process.exitCode as number;
  const file = args.values['config'] as string;
  const result = await prepare(file);
  if (!result.ok) {
    for (const issue of result.errors) process.stderr.write(`${formatIssue(issue)}\n`);
    process.stderr.write(`${file}: invalid (${result.errors.length} problem${result.errors.length === 1 ? '' : 's'})\n`);
    return 1;
  }
  const c = result.prepared.config;
  process.stdout.write(
    `${file}: ok (${c.listeners.length} listeners, ${c.clients.length} clients, ${result.prepared.users.size} local users, ${result.dict.attributeCount} dictionary attributes)\n`,
  );
  return 0;
}
