/** `aaaproxy users ...`: manage the local users file and lockouts. */
import { createInterface } from 'node:readline';
import { isMap, type Document } from 'yaml';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { formatIssue } from '../config/yaml-loader.js';
import { hashPassword } from '../auth/local/password-hash.js';
import { compileUsers } from '../auth/local/users-file.js';
import { loadDictionary } from '../radius/builtin-dictionary.js';
import { DEFAULT_CONFIG, parseCommand } from './args.js';
import { editUsersFile } from './users-file-editor.js';
import { readFile } from 'node:fs/promises';

const USAGE = `Usage: aaaproxy users <add|passwd|del|list|unlock> [NAME] [options]

  add NAME       create a user; the password is read from stdin (or prompted on a terminal)
  passwd NAME    set a new password
  del NAME       remove a user
  list           list users, and who is locked out in the running daemon
  unlock NAME    clear a lockout in the running daemon (via the admin endpoint)

Edits are written atomically and then applied by asking the running daemon to reload.

Options:
  -c, --config FILE      config file naming the users file (default ${DEFAULT_CONFIG})
      --cleartext        store the password in cleartext (needed for CHAP; readable by anyone who reads the file)
      --reply ATTR=VALUE reply attribute for add (repeatable), e.g. --reply Session-Timeout=3600
      --disabled         create the user disabled
      --no-reload        do not ask the running daemon to reload
  -h, --help             show this help
`;

export async function runUsers(argv: string[]): Promise<number> {
  const args = parseCommand(argv, USAGE, {
    config: { type: 'string', short: 'c', default: DEFAULT_CONFIG },
    cleartext: { type: 'boolean', default: false },
    reply: { type: 'string', multiple: true },
    disabled: { type: 'boolean', default: false },
    'no-reload': { type: 'boolean', default: false },
  });
  if (!args) return process.exitCode as number;
  const [sub, name] = args.positionals;
  const loaded = await loadConfigFile(args.values['config'] as string);
  if (!loaded.ok) {
    for (const i of loaded.errors) process.stderr.write(`${formatIssue(i)}\n`);
    return 1;
  }
  const config = loaded.config;
  const file = config.local_users.file;
  const needName = (): string => {
    if (!name) throw new UsageError(`users ${sub} needs a user name`);
    return name;
  };
  try {
    switch (sub) {
      case 'list':
        return await listUsers(config);
      case 'unlock': {
        const res = await adminCall(config, 'POST', `/users/${encodeURIComponent(needName())}/unlock`);
        const body = (await res.json()) as { was_locked: boolean };
        process.stdout.write(body.was_locked ? `${name}: unlocked\n` : `${name}: was not locked\n`);
        return 0;
      }
      case 'add':
      case 'passwd': {
        const user = needName();
        const password = await readPassword();
        const stored = args.values['cleartext'] ? { password } : { password_hash: await hashPassword(password) };
        await editChecked(config, (doc) => {
          const exists = doc.hasIn(['users', user]);
          if (sub === 'add' && exists) throw new UsageError(`user ${user} already exists (use passwd)`);
          if (sub === 'passwd' && !exists) throw new UsageError(`no user ${user}`);
          if (sub === 'add') {
            const entry: Record<string, unknown> = { ...stored, enabled: !args.values['disabled'] };
            if (args.values['cleartext']) entry['allow_cleartext'] = true;
            const reply = parseReply((args.values['reply'] as string[] | undefined) ?? []);
            if (Object.keys(reply).length > 0) entry['reply'] = reply;
            if (!isMap(doc.get('users'))) doc.set('users', doc.createNode({}));
            doc.setIn(['users', user], doc.createNode(entry));
          } else {
            doc.deleteIn(['users', user, 'password']);
            doc.deleteIn(['users', user, 'password_hash']);
            for (const [k, v] of Object.entries(stored)) doc.setIn(['users', user, k], v);
            if (args.values['cleartext']) doc.setIn(['users', user, 'allow_cleartext'], true);
          }
        });
        process.stdout.write(`${user}: ${sub === 'add' ? 'added' : 'password changed'} in ${file}\n`);
        return await maybeReload(config, args.values['no-reload'] as boolean);
      }
      case 'del': {
        const user = needName();
        await editChecked(config, (doc) => {
          if (!doc.deleteIn(['users', user])) throw new UsageError(`no user ${user}`);
        });
        process.stdout.write(`${user}: removed from ${file}\n`);
        return await maybeReload(config, args.values['no-reload'] as boolean);
      }
      default:
        throw new UsageError(sub ? `unknown users command '${sub}'` : 'users needs a command');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`aaaproxy users: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

class UsageError extends Error {}

/** Refuses to write a file the daemon would then refuse to load. */
async function editChecked(config: Config, edit: (doc: Document) => void): Promise<void> {
  const dict = loadDictionary(config.dictionaries);
  await editUsersFile(config.local_users.file, (doc) => {
    edit(doc);
    const check = compileUsers(config.local_users.file, doc.toString(), dict);
    if (!check.ok) throw new UsageError(`the change would make the users file invalid:\n${check.errors.map(formatIssue).join('\n')}`);
  });
}

function parseReply(items: string[]): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--reply wants ATTR=VALUE, got '${item}'`);
    const value = item.slice(eq + 1);
    out[item.slice(0, eq)] = /^\d+$/.test(value) ? Number(value) : value;
  }
  return out;
}

async function readPassword(): Promise<string> {
  const tty = process.stdin.isTTY;
  if (tty) process.stderr.write('Password: ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  if (tty) process.stdin.setRawMode?.(false);
  const line = await new Promise<string | undefined>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(undefined));
  });
  rl.close();
  if (line === undefined || line === '') throw new UsageError('no password given on stdin');
  if (Buffer.byteLength(line) > 128) throw new UsageError('passwords are limited to 128 octets (RFC 2865 §5.2)');
  return line;
}

async function listUsers(config: Config): Promise<number> {
  const dict = loadDictionary(config.dictionaries);
  const file = config.local_users.file;
  const result = compileUsers(file, await readFile(file, 'utf8'), dict);
  if (!result.ok) {
    for (const i of result.errors) process.stderr.write(`${formatIssue(i)}\n`);
    return 1;
  }
  let locked = new Map<string, string>();
  let lockNote = '';
  try {
    const res = await adminCall(config, 'GET', '/users/locked');
    locked = new Map(((await res.json()) as { user: string; until: string }[]).map((l) => [l.user, l.until]));
  } catch {
    lockNote = '(lockout state unknown: the daemon is not reachable on its admin endpoint)\n';
  }
  process.stdout.write('NAME\tENABLED\tPASSWORD\tREPLY\tLOCKED\n');
  for (const u of result.users.values()) {
    const storage = u.cleartext ? 'cleartext' : 'scrypt';
    process.stdout.write(`${u.name}\t${u.enabled ? 'yes' : 'no'}${u.demo ? ' (demo)' : ''}\t${storage}\t${u.reply.length}\t${locked.get(u.name) ?? '-'}\n`);
  }
  process.stdout.write(lockNote);
  return 0;
}

async function adminCall(config: Config, method: string, path: string): Promise<Response> {
  if (!config.admin.enabled) throw new UsageError('the admin endpoint is disabled in the config');
  const host = config.admin.address.includes(':') ? `[${config.admin.address}]` : config.admin.address;
  const res = await fetch(`http://${host}:${config.admin.port}${path}`, { method, signal: AbortSignal.timeout(5000) });
  if (!res.ok && res.status !== 422) throw new UsageError(`admin endpoint answered ${res.status} for ${method} ${path}`);
  return res;
}

async function maybeReload(config: Config, skip: boolean): Promise<number> {
  if (skip) return 0;
  try {
    const res = await adminCall(config, 'POST', '/reload');
    if (res.ok) {
      process.stdout.write('the running daemon reloaded\n');
      return 0;
    }
    process.stderr.write(`the running daemon refused the reload: ${JSON.stringify(await res.json())}\n`);
    return 1;
  } catch {
    process.stdout.write('no running daemon answered on the admin endpoint; the change applies at its next start or reload\n');
    return 0;
  }
}
