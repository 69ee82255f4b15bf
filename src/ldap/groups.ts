/**
 * Which groups a user is in: static groups (the user's memberOf, or a search of group entries
 * by a member attribute), dynamic groups (a query attribute such as memberURL, evaluated
 * here), and the groups those groups are in, to a configured depth (or, in Active Directory,
 * by one search with LDAP_MATCHING_RULE_IN_CHAIN). Runs over a GroupSearcher on the service
 * connection; builds every filter through fillFilter (RFC 4515 escaping) and buildFilter.
 */
import type ldap from 'ldapjs';
import { dnKey, isWithin, parseDn } from './dn.js';
import { buildFilter } from './filter-build.js';
import { fillFilter } from './filter-escape.js';
import { inScope, parseLdapUrl } from './ldap-url.js';

export interface LdapEntry {
  dn: string;
  attributes: Record<string, string[]>;
}

export interface GroupSearch {
  scope: 'base' | 'one' | 'sub';
  filter: ldap.Filter;
  attributes: string[];
  /** With a size limit, sizeLimitExceeded returns the entries that came. */
  sizeLimit?: number;
  /** An error result from the server (not a transport failure) counts as no entries. */
  lenient?: boolean;
}

/** Searches on the service connection; noSuchObject is an empty result, other failures throw. */
export interface GroupSearcher {
  search(base: string, q: GroupSearch): Promise<LdapEntry[]>;
}

export interface GroupSettings {
  /** memberOf: an attribute of the user entry; search: group entries found by `filter`; none. */
  lookup: 'memberOf' | 'search' | 'none';
  /** The user attribute that lists group DNs (lookup memberOf). */
  memberOfAttribute: string;
  /** Where groups are searched (lookup search, dynamic groups, in-chain); with memberOf, only groups under it count. */
  baseDn?: string;
  /** Filter template for lookup search: `{dn}` the member's DN, `{user}` the login name. */
  filter?: string;
  /** Levels of groups-in-groups followed above the user's own groups (0: none). */
  nestedDepth: number;
  /** Active Directory: nested groups by one search with LDAP_MATCHING_RULE_IN_CHAIN instead of walking. */
  inChain: boolean;
  /** Where the in-chain search runs when baseDn is not set (the directory's user base). */
  inChainBaseDn: string;
  /** Dynamic groups: entries matching `filter` under baseDn whose `urlAttribute` holds LDAP URLs. */
  dynamic?: { filter: string; urlAttribute: string };
}

/** LDAP_MATCHING_RULE_IN_CHAIN (Active Directory): matches through any depth of group nesting. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';

/** Bounds on the work one login may cause. */
export const MAX_GROUPS = 1000;
export const MAX_DYNAMIC_GROUPS = 200;

/** A key two spellings of one DN share (RFC 4514 comparison); unparsable DNs compare lowercased. */
export function groupKey(dn: string): string {
  const parsed = parseDn(dn);
  return parsed === undefined ? `?${dn.toLowerCase()}` : dnKey(parsed);
}

function valuesOf(attrs: Record<string, string[]>, name: string): string[] {
  const want = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of Object.entries(attrs)) if (k.toLowerCase() === want) out.push(...v);
  return out;
}

/** Insertion-ordered set of group DNs, deduplicated by groupKey, bounded by MAX_GROUPS. */
class GroupSet {
  private readonly byKey = new Map<string, string>();
  /** Adds the DNs not seen yet; returns those. */
  add(dns: readonly string[]): string[] {
    const fresh: string[] = [];
    for (const dn of dns) {
      if (this.byKey.size >= MAX_GROUPS) break;
      const k = groupKey(dn);
      if (this.byKey.has(k)) continue;
      this.byKey.set(k, dn);
      fresh.push(dn);
    }
    return fresh;
  }
  get list(): string[] {
    return [...this.byKey.values()];
  }
}

/** The groups of `user` (its entry from the user search, with the memberOf attribute when used). */
export async function resolveGroups(s: GroupSearcher, user: LdapEntry, userName: string, g: GroupSettings): Promise<string[]> {
  const set = new GroupSet();
  let direct: string[] = [];
  if (g.lookup === 'memberOf') {
    direct = valuesOf(user.attributes, g.memberOfAttribute);
  } else if (g.lookup === 'search' && g.baseDn !== undefined && g.filter !== undefined) {
    const filter = buildFilter(fillFilter(g.filter, { dn: user.dn, user: userName }));
    direct = (await s.search(g.baseDn, { scope: 'sub', filter, attributes: ['1.1'] })).map((e) => e.dn);
  }
  let frontier = set.add(direct);
  if (g.dynamic !== undefined && g.baseDn !== undefined) frontier = [...frontier, ...set.add(await dynamicGroups(s, user.dn, g.baseDn, g.dynamic))];

  if (g.inChain) {
    // One search: the DC follows the chain to any depth (nestedDepth does not apply).
    const filter = buildFilter(fillFilter(`(member:${IN_CHAIN_RULE}:={dn})`, { dn: user.dn }));
    set.add((await s.search(g.baseDn ?? g.inChainBaseDn, { scope: 'sub', filter, attributes: ['1.1'] })).map((e) => e.dn));
  } else {
    for (let depth = 0; depth < g.nestedDepth && frontier.length > 0; depth++) {
      frontier = set.add(await parentGroups(s, frontier, g));
    }
  }
  const all = set.list;
  if (g.lookup !== 'memberOf' || g.baseDn === undefined) return all;
  // memberOf lists every group of the directory; a groups base DN narrows it.
  const base = parseDn(g.baseDn);
  if (base === undefined) return all;
  return all.filter((dn) => {
    const d = parseDn(dn);
    return d !== undefined && isWithin(d, base);
  });
}

/** The groups that list any of `groups` as a member: one level up. */
async function parentGroups(s: GroupSearcher, groups: readonly string[], g: GroupSettings): Promise<string[]> {
  if (g.lookup === 'search' && g.baseDn !== undefined && g.filter !== undefined) {
    // One search per level: (|filter(g1)filter(g2)...). A template with {user} has no meaning for a group.
    if (g.filter.includes('{user}')) return [];
    const clauses = groups.map((dn) => fillFilter(g.filter!, { dn })).join('');
    const filter = buildFilter(groups.length === 1 ? clauses : `(|${clauses})`);
    return (await s.search(g.baseDn, { scope: 'sub', filter, attributes: ['1.1'] })).map((e) => e.dn);
  }
  if (g.lookup === 'memberOf' || g.lookup === 'none') {
    // A group's own memberOf (AD, and OpenLDAP's memberof overlay, keep it on groups too).
    const out: string[] = [];
    for (const dn of groups) {
      const found = await s.search(dn, { scope: 'base', filter: buildFilter('(objectClass=*)'), attributes: [g.memberOfAttribute], lenient: true });
      for (const e of found) out.push(...valuesOf(e.attributes, g.memberOfAttribute));
    }
    return out;
  }
  return [];
}

/**
 * Dynamic groups: each group's URLs (RFC 4516) are evaluated for the user: the user's DN must lie
 * in the URL's base and scope, and the user's entry must match the URL's filter (a base search
 * on the user's DN with that filter, so the directory applies its own matching rules). A URL
 * that does not parse, or has a critical extension (RFC 4516 §2), makes no one a member.
 */
async function dynamicGroups(s: GroupSearcher, userDn: string, baseDn: string, d: { filter: string; urlAttribute: string }): Promise<string[]> {
  const user = parseDn(userDn);
  if (user === undefined) return [];
  const groups = await s.search(baseDn, { scope: 'sub', filter: buildFilter(d.filter), attributes: [d.urlAttribute], sizeLimit: MAX_DYNAMIC_GROUPS, lenient: true });
  const out: string[] = [];
  for (const group of groups) {
    for (const text of valuesOf(group.attributes, d.urlAttribute)) {
      const p = parseLdapUrl(text);
      if (!p.ok || p.url.extensions.some((e) => e.critical)) continue;
      const base = parseDn(p.url.dn);
      if (base === undefined || !inScope(user, base, p.url.scope)) continue;
      let filter: ldap.Filter;
      try {
        filter = buildFilter(p.url.filter);
      } catch {
        continue;
      }
      // lenient: a filter the server refuses (an unknown attribute, a bad matching rule) matches no one.
      if ((await s.search(userDn, { scope: 'base', filter, attributes: ['1.1'], lenient: true })).length > 0) {
        out.push(group.dn);
        break;
      }
    }
  }
  return out;
}
