/**
 * `aaaproxy check-disk`: how fast the disks under the accounting spool and the accounting log
 * make a write durable (src/accounting/disk-check.ts). Each Accounting-Request's answer waits
 * for one such write, so this is where to look when accounting latency is higher than auth's.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import { formatIssue } from '../config/yaml-loader.js';
import { checkDurableWrites, formatDiskCheck } from '../accounting/disk-check.js';
import { DEFAULT_CONFIG, parseCommand } from './args.js';

const USAGE = `Usage: aaaproxy check-disk [-c FILE | --dir DIR] [--writes N]

Times durable writes (8 KiB, O_DSYNC, as the accounting spool commits) in the
directories of the config's accounting spool and accounting log, or in DIR.
It writes a scratch file of 8 MiB there and removes it; it takes about
N x (latency + 1 ms). Exit status 0 when measured, 1 when a directory cannot
be written.

Options:
  -c, --config FILE   config file (default ${DEFAULT_CONFIG})
      --dir DIR       measure this directory instead
      --writes N      writes per directory (default 1000)
  -h, --help          show this help
`;

export async function runCheckDisk(argv: string[]): Promise<number> {
  const args = parseCommand(argv, USAGE, {
    config: { type: 'string', short: 'c', default: DEFAULT_CONFIG },
    dir: { type: 'string' },
    writes: { type: 'string', default: '1000' },
  });
  if (!args) return process.exitCode as number;
  const writes = Number(args.values['writes']);
  if (!Number.isInteger(writes) || writes < 1 || writes > 1_000_000) {
    process.stderr.write(`aaaproxy check-disk: --writes must be a whole number from 1 to 1000000, not '${String(args.values['writes'])}'\n`);
    return 2;
  }
  const dirs = args.values['dir'] !== undefined ? [args.values['dir'] as string] : await configuredDirs(args.values['config'] as string);
  if (!dirs) return 1;
  let status = 0;
  for (const dir of dirs) {
    try {
      process.stdout.write(`${formatDiskCheck(dir, checkDurableWrites(dir, writes))}\n`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      process.stderr.write(`aaaproxy check-disk: cannot write in ${dir}: ${e.code ?? e.message}\n`);
      status = 1;
    }
  }
  return status;
}

/** The spool's directory (or, before the daemon made it, the one it will be made in) and the accounting log's. */
async function configuredDirs(file: string): Promise<string[] | undefined> {
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    for (const issue of loaded.errors) process.stderr.write(`${formatIssue(issue)}\n`);
    return undefined;
  }
  const { spool, log } = loaded.config.accounting;
  const dirs: string[] = [];
  if (spool) dirs.push(existsSync(spool.dir) ? spool.dir : dirname(spool.dir));
  const logDir = dirname(log.path);
  if (!dirs.includes(logDir)) dirs.push(logDir);
  return dirs;
}
