/**
 * Distinguished names for comparison (RFC 4514 string form): parse, normalise, "is this DN
 * inside that subtree". Pure, no I/O.
 *
 * Comparison follows caseIgnoreMatch, which the naming attributes in practice use (dc, ou, cn,
 * uid, o, c, l): attribute types and values compare without case, runs of spaces count as one
 * and leading/trailing spaces are insignificant (RFC 4518 §2.6.1, approximated), escapes are
 * decoded first (`cn=a\2cb` equals `cn=a\,b`), and the AVAs of a multi-valued RDN compare as a
 * set. Spaces around `,` `+` `=` are tolerated as many directories write them (`ou=x, dc=y`).
 */

/** One RDN: its normalised `type=value` assertions, sorted. */
export type NormalizedRdn = string[];
/** RDNs in string order: the entry's own RDN first, the root-most last. */
export type NormalizedDn = NormalizedRdn[];

const SPECIAL = new Set(['"', '+', ',', ';', '<', '>', '\\', ' ', '#', '=']);

/** Parses and normalises a DN string; undefined when it is not a valid DN (invalidDNSyntax). */
export function parseDn(text: string): NormalizedDn | undefined {
  const rdns: NormalizedDn = [];
  if (text.trim() === '') return rdns;
  let i = 0;
  let rdn: string[] = [];
  for (;;) {
    // attributeType: descr (letter, then letters/digits/hyphens) or numericoid.
    while (text[i] === ' ') i++;
    const typeStart = i;
    while (i < text.length && /[A-Za-z0-9.-]/.test(text[i]!)) i++;
    const type = text.slice(typeStart, i).toLowerCase();
    if (!/^([a-z][a-z0-9-]*|\d+(\.\d+)+)$/.test(type)) return undefined;
    while (text[i] === ' ') i++;
    if (text[i] !== '=') return undefined;
    i++;
    while (text[i] === ' ') i++;
    let value: string;
    if (text[i] === '#') {
      // hexstring: the BER encoding of the value; compared as given.
      const start = i++;
      while (i < text.length && /[0-9A-Fa-f]/.test(text[i]!)) i++;
      const hex = text.slice(start + 1, i);
      if (hex.length === 0 || hex.length % 2 !== 0) return undefined;
      value = `#${hex.toLowerCase()}`;
      while (text[i] === ' ') i++;
    } else {
      const octets: number[] = [];
      /** Length of `octets` up to the last escaped or non-space character (trailing spaces trimmed). */
      let significant = 0;
      while (i < text.length && text[i] !== ',' && text[i] !== '+' && text[i] !== ';') {
        const c = text[i]!;
        if (c === '\\') {
          const next = text[i + 1];
          if (next === undefined) return undefined;
          if (/[0-9A-Fa-f]/.test(next) && /[0-9A-Fa-f]/.test(text[i + 2] ?? '')) {
            octets.push(parseInt(text.slice(i + 1, i + 3), 16));
            i += 3;
          } else if (SPECIAL.has(next)) {
            octets.push(next.charCodeAt(0));
            i += 2;
          } else {
            return undefined;
          }
          significant = octets.length;
          continue;
        }
        // RFC 4514 §3: these must be escaped inside a value.
        if (c === '"' || c === '<' || c === '>') return undefined;
        const ch = String.fromCodePoint(text.codePointAt(i)!);
        for (const b of Buffer.from(ch, 'utf8')) octets.push(b);
        if (ch !== ' ') significant = octets.length;
        i += ch.length;
      }
      const decoded = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.from(octets.slice(0, significant)));
      value = decoded.replace(/ +/g, ' ').trim().toLowerCase();
    }
    rdn.push(`${type}=${value}`);
    if (i >= text.length) {
      rdns.push(rdn.sort());
      return rdns;
    }
    const sep = text[i]!;
    i++;
    if (sep === '+') continue;
    // ',' (or ';', RFC 2253's old separator)
    rdns.push(rdn.sort());
    rdn = [];
    if (text.slice(i).trim() === '') return undefined;
  }
}

/** A string that two equal DNs share (for maps and equality). */
export function dnKey(dn: NormalizedDn): string {
  return dn.map((r) => r.join('+')).join(',');
}

/** True when `dn` is `base` or below it. */
export function isWithin(dn: NormalizedDn, base: NormalizedDn): boolean {
  if (base.length > dn.length) return false;
  const offset = dn.length - base.length;
  for (let k = 0; k < base.length; k++) {
    const a = dn[offset + k]!;
    const b = base[k]!;
    if (a.length !== b.length || a.some((x, j) => x !== b[j])) return false;
  }
  return true;
}
