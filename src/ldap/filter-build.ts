/**
 * Turns an RFC 4515 filter string into an ldapjs filter object with the escapes decoded.
 *
 * ldapjs 3 (@ldapjs/filter 2.1.1) parses `(uid=a\2ab)` into the value `a\2ab` verbatim: the
 * `\hh` escapes of RFC 4515 §3 are sent to the server as a backslash and two characters, so a
 * correctly escaped value never matches (the server sees `\5c2a`). Here the parsed tree is
 * rebuilt with every assertion value decoded to its octets.
 */
import ldap from 'ldapjs';

interface AnyFilter {
  type: string;
  attribute?: string;
  value?: unknown;
  clauses?: AnyFilter[];
  filter?: AnyFilter;
  initial?: string;
  any?: string[];
  final?: string;
  matchingRule?: string;
  matchType?: string;
  dnAttributes?: boolean;
}
type FilterCtor = new (o: Record<string, unknown>) => AnyFilter;
const F = ldap as unknown as Record<string, FilterCtor | undefined>;
const parseFilter = (s: string): AnyFilter => (ldap as unknown as { parseFilter(s: string): AnyFilter }).parseFilter(s);

/** RFC 4515 §3: `\` followed by two hex digits is one octet; everything else is UTF-8. */
export function unescapeFilterValue(s: string): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i < s.length) {
    const j = s.indexOf('\\', i);
    if (j < 0) {
      parts.push(Buffer.from(s.slice(i), 'utf8'));
      break;
    }
    if (j > i) parts.push(Buffer.from(s.slice(i, j), 'utf8'));
    const hex = s.slice(j + 1, j + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error('filter: a backslash not followed by two hex digits');
    parts.push(Buffer.from([parseInt(hex, 16)]));
    i = j + 3;
  }
  return Buffer.concat(parts);
}

const text = (s: string | undefined): string | undefined => (s === undefined ? undefined : unescapeFilterValue(s).toString('utf8'));

function rebuild(f: AnyFilter): AnyFilter {
  switch (f.type) {
    case 'AndFilter':
    case 'OrFilter':
      return new F[f.type]!({ filters: (f.clauses ?? []).map(rebuild) });
    case 'NotFilter':
      return new F.NotFilter!({ filter: rebuild(f.filter!) });
    case 'EqualityFilter':
      // Octets as they are (a value may be binary, e.g. objectGUID).
      return new F.EqualityFilter!({ attribute: f.attribute, value: unescapeFilterValue(String(f.value ?? '')) });
    case 'ApproximateFilter':
    case 'GreaterThanEqualsFilter':
    case 'LessThanEqualsFilter':
      // These constructors take strings only: decoded as UTF-8.
      return new F[f.type]!({ attribute: f.attribute, value: text(String(f.value ?? '')) });
    case 'SubstringFilter':
      return new F.SubstringFilter!({ attribute: f.attribute, initial: text(f.initial), any: (f.any ?? []).map((a) => text(a)!), final: text(f.final) });
    case 'PresenceFilter':
      return f;
    case 'ExtensibleFilter':
      // RFC 4515 §3 extensible match, e.g. AD's (member:1.2.840.113556.1.4.1941:=<dn>); the value is decoded as UTF-8.
      return new F.ExtensibleFilter!({ attribute: f.attribute || undefined, rule: f.matchingRule, dnAttributes: f.dnAttributes === true, value: text(String(f.value ?? '')) });
    default:
      throw new Error(`filter: unsupported filter type ${f.type}`);
  }
}

/** Parses an escaped filter string (e.g. from fillFilter) into a filter ldapjs sends right. */
export function buildFilter(filter: string): ldap.Filter {
  return rebuild(parseFilter(filter)) as unknown as ldap.Filter;
}
