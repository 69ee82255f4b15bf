/**
 * Builds the LDAP directories (shared by the RADIUS backend and the LDAP front listeners) and an
 * LdapAuthBackend per directory. On reload a directory whose settings did not change is kept,
 * with its health states and the open connections of LDAP front sessions; the others are new.
 */
import { readFileSync } from 'node:fs';
import { LdapAuthBackend } from '../auth/ldap-backend.js';
import type { Config, LdapDirectoryConfig } from '../config/schema.js';
import type { IssueLocator, ConfigIssue } from '../config/yaml-loader.js';
import { LdapDirectory, type LdapDirectoryObserver } from '../ldap/directory.js';
import { resolveAttribute } from '../radius/attributes.js';
import type { Dictionary } from '../radius/dictionary.js';
import { ValueError } from '../radius/values.js';

export type LdapObserverFor = (directory: string) => LdapDirectoryObserver;

function directoryOptions(d: LdapDirectoryConfig) {
  return {
    urls: d.urls,
    bindDn: d.bind_dn,
    bindPassword: d.bind_password,
    baseDn: d.base_dn,
    userFilter: d.user_filter,
    groups:
      d.groups.mode === 'search'
        ? { mode: 'search' as const, baseDn: d.groups.base_dn, filter: d.groups.filter }
        : d.groups.mode === 'memberOf'
          ? { mode: 'memberOf' as const, attribute: d.groups.attribute }
          : { mode: 'none' as const },
    tls: {
      ...(d.tls.ca_file ? { ca: readFileSync(d.tls.ca_file) } : {}),
      startTls: d.tls.start_tls,
      rejectUnauthorized: d.tls.reject_unauthorized,
    },
    connectTimeoutMs: d.connect_timeout_seconds * 1000,
    operationTimeoutMs: d.operation_timeout_seconds * 1000,
    retrySeconds: d.retry_seconds,
  };
}

export interface DirectoryEntry {
  /** The directory's settings (CA file contents included): equal keys mean the same directory. */
  key: string;
  directory: LdapDirectory;
}

export interface DirectorySet {
  directories: Map<string, DirectoryEntry>;
  /** Made by this build (to close if the reload that asked for them fails). */
  created: LdapDirectory[];
  /** In `previous` and not kept (to close once the new set is in use). */
  retired: LdapDirectory[];
}

export function buildLdapDirectories(config: Config, observerFor: LdapObserverFor, previous?: ReadonlyMap<string, DirectoryEntry>): DirectorySet {
  const directories = new Map<string, DirectoryEntry>();
  const created: LdapDirectory[] = [];
  for (const d of config.ldap_directories) {
    const opts = directoryOptions(d);
    const key = JSON.stringify({ ...opts, tls: { ...opts.tls, ca: opts.tls.ca?.toString('base64') } });
    const prev = previous?.get(d.name);
    if (prev !== undefined && prev.key === key) {
      directories.set(d.name, prev);
      continue;
    }
    const directory = new LdapDirectory(opts, observerFor(d.name));
    created.push(directory);
    directories.set(d.name, { key, directory });
  }
  const kept = new Set([...directories.values()].map((e) => e.directory));
  const retired = [...(previous?.values() ?? [])].map((e) => e.directory).filter((dir) => !kept.has(dir));
  return { directories, created, retired };
}

/** An LdapAuthBackend per directory (cheap: they hold no connection of their own). */
export function buildLdapBackends(config: Config, dict: Dictionary, directories: ReadonlyMap<string, DirectoryEntry>): Map<string, LdapAuthBackend> {
  const out = new Map<string, LdapAuthBackend>();
  for (const d of config.ldap_directories) {
    const replies = d.group_replies.map((g) => ({
      group: g.group,
      reply: Object.entries(g.reply).map(([name, value]) => resolveAttribute(dict, name, value)),
    }));
    out.set(d.name, new LdapAuthBackend(directories.get(d.name)!.directory, replies, dict));
  }
  return out;
}

/** Checks what the schema cannot: reply attributes against the dictionary, CA files readable. */
export function checkLdapDirectories(config: Config, dict: Dictionary, locate: IssueLocator): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.ldap_directories.forEach((d, i) => {
    d.group_replies.forEach((g, j) => {
      for (const [name, value] of Object.entries(g.reply)) {
        try {
          resolveAttribute(dict, name, value);
        } catch (err) {
          if (!(err instanceof ValueError)) throw err;
          issues.push(locate(['ldap_directories', i, 'group_replies', j, 'reply', name], err.message));
        }
      }
    });
    if (d.tls.ca_file) {
      try {
        readFileSync(d.tls.ca_file);
      } catch (err) {
        issues.push(locate(['ldap_directories', i, 'tls', 'ca_file'], `cannot read CA file: ${(err as Error).message}`));
      }
    }
  });
  return issues;
}
