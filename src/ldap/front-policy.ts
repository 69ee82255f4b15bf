/**
 * The LDAP front server's decisions that need no I/O: what kind of simple bind a request is,
 * the limits a search runs with, whether a DN is inside the listener's view, and whether a
 * Modify is the password change the listener may proxy. Pure.
 */
import type { LdapRequest, ModifyChange } from './front-codec.js';
import { dnKey, isWithin, parseDn, type NormalizedDn } from './dn.js';

/**
 * RFC 4513 §5.1: the kinds of simple bind.
 *  - anonymous (§5.1.1): empty name, empty password;
 *  - unauthenticated (§5.1.2): a name with an empty password. It never authenticates anyone;
 *  - no_name: an empty name with a password (no RFC 4513 mechanism: refused as bad credentials);
 *  - name_password (§5.1.3).
 */
export type SimpleBindKind = 'anonymous' | 'unauthenticated' | 'no_name' | 'name_password';

export function classifySimpleBind(name: string, password: Buffer): SimpleBindKind {
  if (name.length === 0) return password.length === 0 ? 'anonymous' : 'no_name';
  return password.length === 0 ? 'unauthenticated' : 'name_password';
}

/**
 * The limit a search runs with: the smaller of the client's and the listener's. RFC 4511
 * §4.5.1.4/§4.5.1.5: 0 from the client means "no limit requested", so the listener's applies.
 */
export function effectiveLimit(requested: number, listener: number): number {
  return requested > 0 ? Math.min(requested, listener) : listener;
}

export interface AllowedBase {
  /** As configured (shown in the root DSE's namingContexts). */
  text: string;
  dn: NormalizedDn;
}

export type SubtreeCheck = { ok: true; dn: NormalizedDn } | { ok: false; reason: 'invalid_dn' | 'outside' };

/** Whether `dnText` is one of the allowed bases or below one (for a search base, a compare entry). */
export function checkSubtree(dnText: string, allowed: readonly AllowedBase[]): SubtreeCheck {
  const dn = parseDn(dnText);
  if (dn === undefined) return { ok: false, reason: 'invalid_dn' };
  return allowed.some((b) => isWithin(dn, b.dn)) ? { ok: true, dn } : { ok: false, reason: 'outside' };
}

/** RFC 4512 §5.1: the root DSE is read with a base-scope search of the empty DN. */
export function isRootDseSearch(req: Extract<LdapRequest, { op: 'search' }>): boolean {
  return req.base.trim() === '' && req.scope === 0;
}

/** The root DSE filter clients send: (objectClass=*), i.e. present [7] "objectClass" (any case). */
export function isObjectClassPresent(filter: Buffer): boolean {
  return filter.length === 13 && filter[0] === 0x87 && filter[1] === 11 && filter.subarray(2).toString('latin1').toLowerCase() === 'objectclass';
}

export type PasswordChange = { ok: true; value: Buffer } | { ok: false; message: string };

/**
 * The one Modify the front server proxies (when enabled): a bound user replacing the
 * userPassword of their own entry with one value. The directory's ACLs still decide.
 */
export function checkPasswordChange(object: string, changes: readonly ModifyChange[], bound: NormalizedDn | undefined): PasswordChange {
  if (bound === undefined) return { ok: false, message: 'a password change needs a bound user' };
  const target = parseDn(object);
  if (target === undefined || dnKey(target) !== dnKey(bound)) return { ok: false, message: 'only the bound user\'s own entry can be modified' };
  const [change, ...more] = changes;
  if (change === undefined || more.length > 0 || change.operation !== 'replace' || change.type.toLowerCase() !== 'userpassword') {
    return { ok: false, message: 'only a replace of userPassword is allowed' };
  }
  const [value, ...others] = change.values;
  if (value === undefined || others.length > 0 || value.length === 0) return { ok: false, message: 'userPassword needs exactly one non-empty value' };
  return { ok: true, value };
}
