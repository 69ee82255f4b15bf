/**
 * Validation of a config and everything it names (users file, dictionaries, demo guard),
 * with no side effects: used at start, on reload and by `check-config`.
 */
import type { LocalUser } from '../auth/local/users-file.js';
import { loadUsersFile } from '../auth/local/users-file.js';
import { isLoopbackAddress } from '../config/cidr.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { formatIssue, type ConfigIssue, type IssueLocator } from '../config/yaml-loader.js';
import { loadDictionary } from '../radius/builtin-dictionary.js';
import { DictionaryError, type Dictionary } from '../radius/dictionary.js';
import { checkLdapDirectories } from './ldap-backends.js';
import { checkLdapListeners } from './ldap-services.js';
import { checkChallengeRules } from './upstreams.js';

export class StartupError extends Error {
  constructor(
    readonly code: 'AAA_ERR_CONFIG_INVALID' | 'AAA_ERR_BIND_FAILED',
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map(describeIssue).join('\n'));
  }
}

/** file:line:column: key: message, or file: key: message when the issue has no position. */
export function describeIssue(i: ConfigIssue): string {
  if (i.line > 0) return formatIssue(i);
  return i.key ? `${i.file}: ${i.key}: ${i.message}` : `${i.file}: ${i.message}`;
}

/** Everything a reload may replace, validated as a whole before anything is swapped. */
export interface Prepared {
  config: Config;
  users: Map<string, LocalUser>;
}

/** Validates a config file and everything it names (users file, dictionaries) without side effects. */
export async function prepare(configPath: string, dict?: Dictionary): Promise<{ ok: true; prepared: Prepared; dict: Dictionary } | { ok: false; errors: ConfigIssue[] }> {
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) return loaded;
  const config = loaded.config;
  let dictionary = dict;
  if (!dictionary) {
    try {
      dictionary = loadDictionary(config.dictionaries);
    } catch (err) {
      if (err instanceof DictionaryError) return { ok: false, errors: [{ file: err.file, line: err.line, column: 1, key: 'dictionaries', message: err.reason }] };
      return { ok: false, errors: [loaded.locate(['dictionaries'], (err as Error).message)] };
    }
  }
  const users = await loadUsersFile(config.local_users.file, dictionary);
  if (!users.ok) return users;
  const errors = [...demoExposure(config, users.users, loaded.locate), ...checkLdapDirectories(config, dictionary, loaded.locate), ...checkLdapListeners(config, loaded.locate), ...checkChallengeRules(config, dictionary, loaded.locate)];
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, prepared: { config, users: users.users }, dict: dictionary };
}

/** Demo accounts may only be served on loopback listeners. */
function demoExposure(config: Config, users: Map<string, LocalUser>, locate: IssueLocator): ConfigIssue[] {
  const demo = [...users.values()].filter((u) => u.demo && u.enabled).map((u) => u.name);
  if (demo.length === 0) return [];
  const issues: ConfigIssue[] = [];
  config.listeners.forEach((l, i) => {
    if (isLoopbackAddress(l.address)) return;
    issues.push(
      locate(
        ['listeners', i, 'address'],
        `listener ${l.address} is not loopback while demo user(s) ${demo.join(', ')} are enabled in ${config.local_users.file}; remove or disable them first`,
      ),
    );
  });
  return issues;
}

