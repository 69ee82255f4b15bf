/**
 * Role mapping: ordered rules from a user's groups and attributes to reply attributes. Pure:
 * rules are compiled once at config load (attribute templates through the dictionary, group
 * DNs normalised), evaluated per login.
 *
 * Evaluation runs top to bottom. A rule matches when every condition it has holds (`groups`:
 * the user is in at least one of them; `attributes`: for each attribute named, the user has at
 * least one of the listed values; no condition: always). The first matching rule applies and
 * ends the evaluation, as in a firewall or a switch's VLAN assignment, unless it has
 * `continue: true`: then its reply is added and the rules below are evaluated too. Every
 * matched rule's name is recorded, in order, and its reply attributes are added in full.
 */
import type { AttributeTemplate } from '../radius/attributes.js';
import { groupKey } from '../ldap/groups.js';

export interface RoleRule {
  name: string;
  /** Group keys (groupKey()): the user must be in one of them. */
  groups?: ReadonlySet<string>;
  /** Lowercased attribute name -> lowercased values: the user must have one of them, for each name. */
  attributes?: ReadonlyMap<string, ReadonlySet<string>>;
  reply: readonly AttributeTemplate[];
  continue: boolean;
}

export interface RoleRuleSpec {
  name: string;
  groups?: readonly string[];
  attributes?: Readonly<Record<string, string | readonly string[]>>;
  reply: readonly AttributeTemplate[];
  continue: boolean;
}

export function compileRoles(specs: readonly RoleRuleSpec[]): RoleRule[] {
  return specs.map((r) => {
    const rule: RoleRule = { name: r.name, reply: r.reply, continue: r.continue };
    if (r.groups !== undefined) rule.groups = new Set(r.groups.map(groupKey));
    if (r.attributes !== undefined) {
      rule.attributes = new Map(
        Object.entries(r.attributes).map(([name, v]) => [name.toLowerCase(), new Set((typeof v === 'string' ? [v] : v).map(normalizeValue))]),
      );
    }
    return rule;
  });
}

/** Attribute values compare without case and without surrounding spaces (caseIgnoreMatch, as most are). */
function normalizeValue(v: string): string {
  return v.trim().toLowerCase();
}

export interface RoleSubject {
  /** The user's group DNs (any spelling). */
  groups: readonly string[];
  attributes: Readonly<Record<string, readonly string[]>>;
}

export interface RoleOutcome {
  roles: string[];
  reply: AttributeTemplate[];
}

export function evaluateRoles(rules: readonly RoleRule[], subject: RoleSubject): RoleOutcome {
  const out: RoleOutcome = { roles: [], reply: [] };
  if (rules.length === 0) return out;
  const groups = new Set(subject.groups.map(groupKey));
  let attrs: Map<string, Set<string>> | undefined;
  const attributes = (): Map<string, Set<string>> => {
    if (attrs) return attrs;
    attrs = new Map();
    for (const [k, vs] of Object.entries(subject.attributes)) {
      const key = k.toLowerCase();
      const set = attrs.get(key) ?? new Set<string>();
      for (const v of vs) set.add(normalizeValue(v));
      attrs.set(key, set);
    }
    return attrs;
  };
  for (const rule of rules) {
    if (rule.groups !== undefined && ![...rule.groups].some((g) => groups.has(g))) continue;
    if (rule.attributes !== undefined) {
      const have = attributes();
      let all = true;
      for (const [name, wanted] of rule.attributes) {
        const values = have.get(name);
        if (values === undefined || ![...wanted].some((w) => values.has(w))) {
          all = false;
          break;
        }
      }
      if (!all) continue;
    }
    out.roles.push(rule.name);
    out.reply.push(...rule.reply);
    if (!rule.continue) break;
  }
  return out;
}
