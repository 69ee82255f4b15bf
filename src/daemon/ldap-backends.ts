/**
 * Builds the LDAP directories (shared by the RADIUS backend and the LDAP front listeners) and an
 * LdapAuthBackend per directory, with its role mapping rules compiled against the dictionary.
 * On reload a directory whose settings did not change is kept, with its health states and the
 * open connections of LDAP front sessions; the others are new.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { LdapAuthBackend } from '../auth/ldap-backend.js';
import { compileRoles, type RoleRuleSpec } from '../auth/roles.js';
import { parseLdapServerUrl, type Config, type LdapDirectoryConfig } from '../config/schema.js';
import type { IssueLocator, ConfigIssue } from '../config/yaml-loader.js';
import { LdapDirectory, type LdapDirectoryObserver, type LdapDirectoryOptions } from '../ldap/directory.js';
import { parseDn } from '../ldap/dn.js';
import { buildFilter } from '../ldap/filter-build.js';
import { fillFilter } from '../ldap/filter-escape.js';
import { resolveAttribute, type AttributeTemplate } from '../radius/attributes.js';
import type { Dictionary } from '../radius/dictionary.js';
import { ValueError } from '../radius/values.js';

export type LdapObserverFor = (directory: string) => LdapDirectoryObserver;

/**
 * The directory's own source address, else upstream_defaults' when every server given by address
 * is of its family (as for upstream servers), else none (the kernel's choice).
 */
function sourceAddress(d: LdapDirectoryConfig, config: Config): string | undefined {
  if (d.source_address !== undefined) return d.source_address;
  const fallback = config.upstream_defaults.source_address;
  if (fallback === undefined) return undefined;
  const family = isIP(fallback);
  const sameFamily = d.urls.every((u) => {
    const p = parseLdapServerUrl(u);
    return typeof p === 'string' || isIP(p.host) === 0 || isIP(p.host) === family;
  });
  return sameFamily ? fallback : undefined;
}

function directoryOptions(d: LdapDirectoryConfig, config: Config): LdapDirectoryOptions {
  const g = d.groups;
  const source = sourceAddress(d, config);
  return {
    urls: d.urls,
    bindDn: d.bind_dn,
    bindPassword: d.bind_password,
    ...(d.backup_bind_dn !== undefined && d.backup_bind_password !== undefined ? { backupBind: { dn: d.backup_bind_dn, password: d.backup_bind_password } } : {}),
    baseDn: d.base_dn,
    userFilter: d.user_filter,
    groups: {
      lookup: g.mode,
      memberOfAttribute: g.attribute,
      ...(g.base_dn !== undefined ? { baseDn: g.base_dn } : {}),
      ...(g.mode === 'search' ? { filter: g.filter } : {}),
      nestedDepth: g.nested_depth,
      inChain: g.in_chain,
      inChainBaseDn: d.base_dn,
      ...(g.dynamic !== undefined ? { dynamic: { filter: g.dynamic.filter, urlAttribute: g.dynamic.url_attribute } } : {}),
    },
    tls: {
      ...(d.tls.ca_file ? { ca: readFileSync(d.tls.ca_file) } : {}),
      startTls: d.tls.start_tls,
      rejectUnauthorized: d.tls.reject_unauthorized,
    },
    connectTimeoutMs: d.connect_timeout_seconds * 1000,
    operationTimeoutMs: d.operation_timeout_seconds * 1000,
    retrySeconds: d.retry_seconds,
    ...(source !== undefined ? { sourceAddress: source } : {}),
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
    const opts = directoryOptions(d, config);
    const key = JSON.stringify({ ...opts, tls: { ...opts.tls, ca: opts.tls?.ca?.toString('base64') } });
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

/** RFC 3580 §3.31: a VLAN is Tunnel-Type VLAN (13), Tunnel-Medium-Type IEEE-802 (6), Tunnel-Private-Group-Id. */
const VLAN_ATTRIBUTES = (vlan: string | number): [string, string][] => [
  ['Tunnel-Type', 'VLAN'],
  ['Tunnel-Medium-Type', 'IEEE-802'],
  ['Tunnel-Private-Group-Id', String(vlan)],
];

type RoleConfig = LdapDirectoryConfig['roles'][number];

/** A role's reply as [config key, name, value] triples: `reply` entries (lists spread), then the VLAN. */
function roleReplyEntries(r: RoleConfig): { key: (string | number)[]; name: string; value: string | number }[] {
  const out: { key: (string | number)[]; name: string; value: string | number }[] = [];
  for (const [name, v] of Object.entries(r.reply)) {
    if (Array.isArray(v)) v.forEach((one, k) => out.push({ key: ['reply', name, k], name, value: one }));
    else out.push({ key: ['reply', name], name, value: v });
  }
  if (r.vlan !== undefined) for (const [name, value] of VLAN_ATTRIBUTES(r.vlan)) out.push({ key: ['vlan'], name, value });
  return out;
}

function roleSpecs(d: LdapDirectoryConfig, dict: Dictionary): RoleRuleSpec[] {
  return d.roles.map((r) => {
    const reply: AttributeTemplate[] = roleReplyEntries(r).map((e) => resolveAttribute(dict, e.name, e.value));
    const spec: RoleRuleSpec = { name: r.name, reply, continue: r.continue };
    if (r.match.groups !== undefined) spec.groups = r.match.groups;
    if (r.match.attributes !== undefined) spec.attributes = r.match.attributes;
    return spec;
  });
}

/** An LdapAuthBackend per directory (cheap: they hold no connection of their own). */
export function buildLdapBackends(config: Config, dict: Dictionary, directories: ReadonlyMap<string, DirectoryEntry>): Map<string, LdapAuthBackend> {
  const out = new Map<string, LdapAuthBackend>();
  for (const d of config.ldap_directories) {
    const settings = { stripDomain: d.strip_domain, onUnreachable: d.on_unreachable, roles: compileRoles(roleSpecs(d, dict)) };
    out.set(d.name, new LdapAuthBackend(directories.get(d.name)!.directory, settings, dict));
  }
  return out;
}

/**
 * Checks what the schema cannot: role reply attributes against the dictionary, DNs (RFC 4514)
 * and filter templates (RFC 4515) that parse, CA files readable.
 */
export function checkLdapDirectories(config: Config, dict: Dictionary, locate: IssueLocator): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  config.ldap_directories.forEach((d, i) => {
    const at = (...path: (string | number)[]) => ['ldap_directories', i, ...path];
    const dn = (text: string | undefined, path: (string | number)[]) => {
      if (text !== undefined && parseDn(text) === undefined) issues.push(locate(at(...path), `not a valid DN (RFC 4514): ${text}`));
    };
    const filter = (template: string, path: (string | number)[]) => {
      try {
        buildFilter(fillFilter(template, { user: 'user', dn: 'cn=x' }));
      } catch (err) {
        issues.push(locate(at(...path), `not a valid search filter (RFC 4515): ${(err as Error).message}`));
      }
    };
    // bind_dn is not checked: Active Directory also takes user@domain and DOMAIN\user there.
    dn(d.base_dn, ['base_dn']);
    dn(d.groups.base_dn, ['groups', 'base_dn']);
    filter(d.user_filter, ['user_filter']);
    if (d.groups.mode === 'search') filter(d.groups.filter, ['groups', 'filter']);
    if (d.groups.dynamic) filter(d.groups.dynamic.filter, ['groups', 'dynamic', 'filter']);
    d.roles.forEach((r, j) => {
      r.match.groups?.forEach((g, k) => dn(g, ['roles', j, 'match', 'groups', k]));
      for (const e of roleReplyEntries(r)) {
        try {
          resolveAttribute(dict, e.name, e.value);
        } catch (err) {
          if (!(err instanceof ValueError)) throw err;
          issues.push(locate(at('roles', j, ...e.key), err.message));
        }
      }
    });
    if (d.tls.ca_file) {
      try {
        readFileSync(d.tls.ca_file);
      } catch (err) {
        issues.push(locate(at('tls', 'ca_file'), `cannot read CA file: ${(err as Error).message}`));
      }
    }
  });
  return issues;
}
