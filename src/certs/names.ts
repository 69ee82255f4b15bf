/**
 * Names in certificates: the subject common name and subjectAltName entries (DNS names and
 * IP addresses), parsed from the command line, checked, and turned into bytes and back.
 * Pure functions, no I/O.
 */
import { isIP } from 'node:net';
import { CertError } from './errors.js';

export type SubjectAltName = { type: 'dns'; value: string } | { type: 'ip'; value: string };

/** RFC 5280 Appendix A: ub-common-name INTEGER ::= 64. */
const MAX_COMMON_NAME = 64;

export function checkCommonName(cn: string): string {
  if (cn.length === 0) throw new CertError('AAA_ERR_CERT_BAD_NAME', 'the common name is empty');
  if (cn.length > MAX_COMMON_NAME) throw new CertError('AAA_ERR_CERT_BAD_NAME', `the common name is longer than ${MAX_COMMON_NAME} characters (RFC 5280 ub-common-name)`);
  if (/[\u0000-\u001f\u007f]/.test(cn)) throw new CertError('AAA_ERR_CERT_BAD_NAME', 'the common name contains control characters');
  return cn;
}

/**
 * A host name as a dNSName (RFC 5280 §4.2.1.6, preferred name syntax of RFC 1034 §3.5 with
 * RFC 1123 §2.1 leading digits): labels of letters, digits and hyphens, 1-63 octets, not
 * starting or ending with a hyphen, 253 octets in all. A leading `*.` wildcard label is allowed
 * (RFC 6125 §6.4.3), but not on its own above a single label (`*.com`).
 */
export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (labels[0] === '*') {
    labels.shift();
    if (labels.length < 2) return false;
  }
  return labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

/**
 * `--san` values: each is a comma-separated list of `DNS:name` and `IP:address` (IPv4 or IPv6,
 * optionally in brackets). Names are lower-cased; duplicates are dropped, order is kept.
 */
export function parseSubjectAltNames(items: readonly string[]): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    for (const raw of item.split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const colon = entry.indexOf(':');
      const kind = colon > 0 ? entry.slice(0, colon).toUpperCase() : '';
      const value = colon > 0 ? entry.slice(colon + 1).trim() : '';
      let san: SubjectAltName;
      if (kind === 'DNS') {
        const name = value.toLowerCase().replace(/\.$/, '');
        if (!isDnsName(name)) throw new CertError('AAA_ERR_CERT_BAD_SAN', `'${entry}': not a valid DNS name (letters, digits, hyphens; dot-separated labels; optional leading *.)`);
        san = { type: 'dns', value: name };
      } else if (kind === 'IP') {
        const addr = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
        // net.isIP accepts a zone id (fe80::1%eth0), which has no place in a certificate.
        if (addr.includes('%')) throw new CertError('AAA_ERR_CERT_BAD_SAN', `'${entry}': a zone id (%...) cannot be in a certificate`);
        if (isIP(addr) === 0) throw new CertError('AAA_ERR_CERT_BAD_SAN', `'${entry}': not an IPv4 or IPv6 address`);
        san = { type: 'ip', value: formatIpBytes(ipToBytes(addr)) };
      } else {
        throw new CertError('AAA_ERR_CERT_BAD_SAN', `'${entry}': expected DNS:name or IP:address`);
      }
      const key = `${san.type}:${san.value}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(san);
      }
    }
  }
  return out;
}

/** The SAN a server certificate gets from its common name when no --san was given, if the name is a host name or an address. */
export function sanFromCommonName(cn: string): SubjectAltName | undefined {
  if (isIP(cn) !== 0 && !cn.includes('%')) return { type: 'ip', value: formatIpBytes(ipToBytes(cn)) };
  const name = cn.toLowerCase();
  return isDnsName(name) ? { type: 'dns', value: name } : undefined;
}

/**
 * The iPAddress octets (RFC 5280 §4.2.1.6: 4 for IPv4, 16 for IPv6). Written here rather than
 * left to node-forge, whose IPv6 parser does not handle embedded IPv4 (`::ffff:192.0.2.1`).
 * The caller has checked the text with net.isIP.
 */
export function ipToBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  if (isIP(ip) !== 6 || ip.includes('%')) throw new CertError('AAA_ERR_CERT_BAD_SAN', `not an IP address: ${ip}`);
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = ip.indexOf('::');
  const head = groups(gap >= 0 ? ip.slice(0, gap) : ip);
  const tail = gap >= 0 ? groups(ip.slice(gap + 2)) : [];
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const buf = Buffer.alloc(16);
  all.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
  return buf;
}

/** Text of iPAddress octets: dotted quad, or compressed IPv6 (RFC 5952, with IPv4-mapped tails in hex). */
export function formatIpBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return `<${bytes.length}-octet address>`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  // The WHATWG URL parser prints IPv6 hosts compressed (longest zero run as ::, lower case).
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export function formatSan(san: SubjectAltName): string {
  return `${san.type === 'dns' ? 'DNS' : 'IP'}:${san.value}`;
}
