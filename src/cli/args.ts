/** Shared option parsing for CLI commands: node:util parseArgs with a uniform --help. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const DEFAULT_CONFIG = process.env['AAAPROXY_CONFIG'] ?? '/etc/aaaproxy/aaaproxy.yaml';

type Options = NonNullable<ParseArgsConfig['options']>;

export type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

/** Parses argv; prints usage and returns undefined for --help or a usage error (exit code set). */
export function parseCommand(argv: string[], usage: string, options: Options): Parsed | undefined {
  try {
    const parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (parsed.values['help']) {
      process.stdout.write(usage);
      process.exitCode = 0;
      return undefined;
    }
    return parsed as Parsed;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return undefined;
  }
}
