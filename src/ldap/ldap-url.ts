/**
 * LDAP URLs (RFC 4516) as dynamic groups hold them in a query attribute (memberURL of
 * groupOfURLs), e.g. `ldap:///ou=people,dc=example,dc=test??sub?(departmentNumber=42)`:
 * parsing, and whether a DN lies in the URL's base and scope. Pure, no I/O.
 *
 * The host part, when present, is ignored: a dynamic group is evaluated against the directory
 * that holds it. The attribute list is parsed and kept but has no meaning for membership.
 */
import { isWithin, parseDn, type NormalizedDn } from './dn.js';

export type LdapUrlScope = 'base' | 'one' | 'sub';

export interface LdapUrl {
  /** The base DN, percent-decoded (RFC 4516 §2: default ""). */
  dn: string;
  attributes: string[];
  /** RFC 4516 §2: default "base". */
  scope: LdapUrlScope;
  /** An RFC 4515 filter string, percent-decoded (RFC 4516 §2: default "(objectClass=*)"). */
  filter: string;
  extensions: { critical: boolean; type: string; value?: string }[];
}

export type LdapUrlParse = { ok: true; url: LdapUrl } | { ok: false; reason: string };

/** RFC 3986 §2.1 percent-decoding to octets, then UTF-8 (RFC 4516 §2: the octets are UTF-8). */
function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  const octets: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      octets.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    for (const b of Buffer.from(ch, 'utf8')) octets.push(b);
    i += ch.length;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(octets));
  } catch {
    return undefined;
  }
}

/**
 * RFC 4516 §2:
 *   ldapurl = scheme COLON SLASH SLASH [host [COLON port]]
 *             [SLASH dn [QUESTION [attributes] [QUESTION [scope] [QUESTION [filter] [QUESTION extensions]]]]]
 */
export function parseLdapUrl(text: string): LdapUrlParse {
  const m = /^(ldaps?):\/\/([^/?]*)(.*)$/i.exec(text.trim());
  if (!m) return { ok: false, reason: 'not an ldap:// URL' };
  let rest = m[3]!;
  if (rest !== '' && !rest.startsWith('/')) return { ok: false, reason: 'no "/" before the DN' };
  rest = rest.slice(1);
  const parts = rest === '' ? [] : rest.split('?');
  if (parts.length > 5) return { ok: false, reason: 'too many "?" parts' };
  const [dnPart = '', attrsPart = '', scopePart = '', filterPart = '', extPart = ''] = parts;

  const dn = percentDecode(dnPart);
  if (dn === undefined) return { ok: false, reason: 'bad percent-encoding in the DN' };
  if (parseDn(dn) === undefined) return { ok: false, reason: 'the DN is not valid (RFC 4514)' };

  const attrs = percentDecode(attrsPart);
  if (attrs === undefined) return { ok: false, reason: 'bad percent-encoding in the attributes' };
  const attributes = attrs === '' ? [] : attrs.split(',');

  const scopeText = (percentDecode(scopePart) ?? '#').toLowerCase();
  let scope: LdapUrlScope;
  if (scopeText === '' || scopeText === 'base') scope = 'base';
  else if (scopeText === 'one' || scopeText === 'sub') scope = scopeText;
  else return { ok: false, reason: `unknown scope ${scopeText}` };

  const filterText = percentDecode(filterPart);
  if (filterText === undefined) return { ok: false, reason: 'bad percent-encoding in the filter' };
  const filter = filterText === '' ? '(objectClass=*)' : filterText;

  const extensions: LdapUrl['extensions'] = [];
  if (extPart !== '') {
    // RFC 4516 §2: a comma inside an extension value is written %2C, so splitting before decoding is right.
    for (const raw of extPart.split(',')) {
      const critical = raw.startsWith('!');
      const body = critical ? raw.slice(1) : raw;
      const eq = body.indexOf('=');
      const type = percentDecode(eq < 0 ? body : body.slice(0, eq));
      const value = eq < 0 ? undefined : percentDecode(body.slice(eq + 1));
      if (!type || (eq >= 0 && value === undefined)) return { ok: false, reason: 'bad extension' };
      extensions.push(value === undefined ? { critical, type } : { critical, type, value });
    }
  }
  return { ok: true, url: { dn, attributes, scope, filter, extensions } };
}

/** True when `dn` lies in the search area of base `base` with `scope` (RFC 4511 §4.5.1.2). */
export function inScope(dn: NormalizedDn, base: NormalizedDn, scope: LdapUrlScope): boolean {
  switch (scope) {
    case 'base':
      return dn.length === base.length && isWithin(dn, base);
    case 'one':
      return dn.length === base.length + 1 && isWithin(dn, base);
    case 'sub':
      return isWithin(dn, base);
  }
}
