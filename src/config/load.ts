/**
 * Reads and validates the config file once into a deeply frozen Config (DESIGN habit 7).
 * Relative paths in the file mean "relative to the file", not to the daemon's cwd.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigSchema, type Config } from './schema.js';
import { parseYamlWithSchema, type ConfigIssue, type IssueLocator } from './yaml-loader.js';

export type LoadResult = { ok: true; config: Config; locate: IssueLocator } | { ok: false; errors: ConfigIssue[] };

export async function loadConfigFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ file: path, line: 0, column: 0, key: '', message: `cannot read config: ${(err as Error).message}` }] };
  }
  return loadConfigText(path, text);
}

/** `path` names the file in messages and anchors its relative paths. */
export function loadConfigText(path: string, text: string): LoadResult {
  const parsed = parseYamlWithSchema(path, text, ConfigSchema);
  if (!parsed.ok) return parsed;
  const c = parsed.value;
  const base = dirname(resolve(path));
  const config: Config = {
    ...c,
    local_users: { ...c.local_users, file: resolve(base, c.local_users.file) },
    accounting: {
      ...c.accounting,
      log: { ...c.accounting.log, path: resolve(base, c.accounting.log.path) },
      ...(c.accounting.spool ? { spool: { ...c.accounting.spool, dir: resolve(base, c.accounting.spool.dir) } } : {}),
    },
    dictionaries: c.dictionaries.map((d) => resolve(base, d)),
    sessions: c.sessions.state_dir ? { ...c.sessions, state_dir: resolve(base, c.sessions.state_dir) } : c.sessions,
    ldap_directories: c.ldap_directories.map((d) => (d.tls.ca_file ? { ...d, tls: { ...d.tls, ca_file: resolve(base, d.tls.ca_file) } } : d)),
    ldap_listeners: c.ldap_listeners.map((l) => ({
      ...l,
      tls: {
        ...l.tls,
        ...(l.tls.cert_file ? { cert_file: resolve(base, l.tls.cert_file) } : {}),
        ...(l.tls.key_file ? { key_file: resolve(base, l.tls.key_file) } : {}),
      },
    })),
  };
  return { ok: true, config: deepFreeze(config), locate: parsed.locate };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
