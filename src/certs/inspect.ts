/**
 * Reading certificates: subject, issuer, serial, names and validity of every certificate in a
 * PEM (or DER) file, and how long until the earliest one expires.
 *
 * This walks the X.509 structure with node-forge's ASN.1 decoder rather than calling
 * forge.pki.certificateFromPem, which refuses any certificate whose key is not RSA ("OID is
 * not RSA"). The certificates an admin configures for LDAPS or RADIUS/TLS may well be ECDSA
 * ones from another CA, and their expiry must still be reported.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import forge from 'node-forge';
import { CertError } from './errors.js';
import { children, extensionsFromAsn1, rdnAttributes, tbsFields } from './asn1-layout.js';
import { formatIpBytes } from './names.js';

export interface CertificateInfo {
  /** e.g. `CN=ldap.example.test, O=Example` in the certificate's order. */
  subject: string;
  issuer: string;
  /** Upper-case hex, as `openssl x509 -serial` prints it. */
  serial: string;
  /** `DNS:name`, `IP:address`, `email:...`, `URI:...`, as in --san. */
  subjectAltNames: string[];
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** extKeyUsage purposes by name (serverAuth, clientAuth, ...) or OID. */
  extKeyUsage: string[];
  /** SHA-256 of the DER, upper-case hex with colons. */
  fingerprint256: string;
}

export interface CertificateExpiry {
  notAfter: Date;
  /** Negative once expired. */
  secondsLeft: number;
  /** Whole days left (floor); negative once expired. */
  daysLeft: number;
  subject: string;
}

const { Type } = forge.asn1;

/** Every certificate in PEM text (other PEM blocks, such as keys, are skipped), or in one DER certificate. */
export function parseCertificates(data: Buffer, source: string): CertificateInfo[] {
  const text = data.toString('latin1');
  let ders: string[];
  if (text.includes('-----BEGIN')) {
    let blocks: forge.pem.ObjectPEM[];
    try {
      blocks = forge.pem.decode(text);
    } catch (err) {
      throw new CertError('AAA_ERR_CERT_PARSE', `${source}: malformed PEM (${(err as Error).message})`);
    }
    ders = blocks.filter((b) => b.type === 'CERTIFICATE' || b.type === 'X509 CERTIFICATE').map((b) => b.body);
  } else {
    ders = [text];
  }
  if (ders.length === 0) throw new CertError('AAA_ERR_CERT_PARSE', `${source}: no certificate in the file`);
  return ders.map((der, i) => {
    try {
      return decodeCertificate(der);
    } catch (err) {
      throw new CertError('AAA_ERR_CERT_PARSE', `${source}: certificate ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`);
    }
  });
}

export async function readCertificateFile(path: string): Promise<CertificateInfo[]> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (err) {
    throw new CertError('AAA_ERR_CERT_READ', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseCertificates(data, path);
}

const DAY_SECONDS = 86_400;

export function expiryOf(cert: CertificateInfo, now: Date = new Date()): CertificateExpiry {
  const secondsLeft = (cert.notAfter.getTime() - now.getTime()) / 1000;
  return { notAfter: cert.notAfter, secondsLeft, daysLeft: Math.floor(secondsLeft / DAY_SECONDS), subject: cert.subject };
}

/** The expiry of the certificate in `path` that expires first (for a chain file, the weakest link). */
export async function certificateExpiry(path: string, now: Date = new Date()): Promise<CertificateExpiry> {
  const certs = await readCertificateFile(path);
  const first = certs.reduce((a, b) => (b.notAfter.getTime() < a.notAfter.getTime() ? b : a));
  return expiryOf(first, now);
}

/** RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
function decodeCertificate(der: string): CertificateInfo {
  const cert = forge.asn1.fromDer(der, true);
  const tbs = tbsFields(children(cert)[0]);
  const extensions = tbs.extensions ? extensionsFromAsn1(tbs.extensions) : [];

  let serialHex = forge.util.bytesToHex(tbs.serial.value as string);
  // A positive INTEGER whose first octet has the top bit set carries a 0x00 sign octet; openssl does not print it.
  if (/^00[89a-f]/i.test(serialHex)) serialHex = serialHex.slice(2);

  const san = extensions.find((e) => e.name === 'subjectAltName') as { altNames?: Array<{ type: number; value: string }> } | undefined;
  const bc = extensions.find((e) => e.name === 'basicConstraints') as { cA?: boolean } | undefined;
  const eku = extensions.find((e) => e.name === 'extKeyUsage');
  return {
    subject: formatName(tbs.subject),
    issuer: formatName(tbs.issuer),
    serial: serialHex.toUpperCase(),
    subjectAltNames: (san?.altNames ?? []).map(formatAltName),
    notBefore: decodeTime(tbs.notBefore),
    notAfter: decodeTime(tbs.notAfter),
    isCa: bc?.cA === true,
    extKeyUsage: eku ? Object.keys(eku).filter((k) => eku[k] === true && k !== 'critical') : [],
    fingerprint256: createHash('sha256')
      .update(Buffer.from(der, 'binary'))
      .digest('hex')
      .toUpperCase()
      .replace(/(..)(?!$)/g, '$1:'),
  };
}

function decodeTime(node: forge.asn1.Asn1): Date {
  const text = node.value as string;
  if (node.type === Type.UTCTIME) return forge.asn1.utcTimeToDate(text);
  if (node.type === Type.GENERALIZEDTIME) return forge.asn1.generalizedTimeToDate(text);
  throw new Error('validity is neither UTCTime nor GeneralizedTime');
}

/** A Name as `CN=x, O=y` (certificate order), values escaped as in RFC 4514 §2.4. */
function formatName(name: forge.asn1.Asn1): string {
  return rdnAttributes(name)
    .map((a) => `${a.shortName ?? a.type}=${escapeDnValue(decodeString(a.value, a.valueTagClass))}`)
    .join(', ');
}

function decodeString(raw: string, tag: number): string {
  try {
    if (tag === Type.UTF8) return forge.util.decodeUtf8(raw);
    if (tag === Type.BMPSTRING) return Buffer.from(raw, 'binary').swap16().toString('utf16le');
  } catch {
    // fall through: show the octets as they are
  }
  return raw;
}

function escapeDnValue(v: string): string {
  return v.replace(/[,+"\\<>;]/g, '\\$&').replace(/^[ #]|[ ]$/g, '\\$&');
}

/** GeneralName (RFC 5280 §4.2.1.6) as text. */
function formatAltName(n: { type: number; value: string }): string {
  switch (n.type) {
    case 1:
      return `email:${n.value}`;
    case 2:
      return `DNS:${n.value}`;
    case 6:
      return `URI:${n.value}`;
    case 7:
      return `IP:${formatIpBytes(Buffer.from(n.value, 'binary'))}`;
    default:
      return `othername:<type ${n.type}>`;
  }
}
