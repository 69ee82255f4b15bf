/**
 * What every certificate made here shares: a random serial, a validity window, a UTF8String
 * common name, a subject key identifier and a SHA-256 signature.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { CertError } from './errors.js';

/** notBefore is set this far in the past, so a peer whose clock is a little behind accepts a new certificate. */
export const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** `days` must be a whole number in 1..max. */
export function checkDays(days: number, max: number): number {
  if (!Number.isInteger(days) || days < 1 || days > max) {
    throw new CertError('AAA_ERR_CERT_BAD_DAYS', `days must be a whole number from 1 to ${max}, got ${days}`);
  }
  return days;
}

/** notAfter is exactly `days` x 24 h after `now`. */
export function validityFor(days: number, now: Date): Validity {
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

/**
 * 16 random octets as a positive, minimally encoded INTEGER (RFC 5280 §4.1.2.2: positive, at
 * most 20 octets; CA/B Forum: at least 64 random bits). forge writes the hex as the INTEGER's
 * content octets as they are, so the first octet is kept in 0x01..0x7f: no sign bit, and no
 * leading zero octet that DER would forbid.
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

/** A certificate with serial, validity, subject CN and public key set; the caller adds issuer and extensions. */
export function newCertificate(publicKey: forge.pki.rsa.PublicKey, commonName: string, validity: Validity): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = validity.notAfter;
  // UTF8String (RFC 5280 §4.1.2.4: new certificates use it); forge's default is PrintableString,
  // which cannot hold '_', '@' or non-ASCII letters. (@types/node-forge types valueTagClass as an asn1.Class.)
  cert.setSubject([{ shortName: 'CN', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as number as forge.asn1.Class }]);
  return cert;
}

export function signSha256(cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): void {
  cert.sign(key, forge.md.sha256.create());
}

/** The key identifier a certificate carries in subjectKeyIdentifier, as forge bytes; else the one forge derives (SHA-1 of the key). */
export function keyIdentifierOf(cert: forge.pki.Certificate): string {
  const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  return ski?.subjectKeyIdentifier ? forge.util.hexToBytes(ski.subjectKeyIdentifier) : cert.generateSubjectKeyIdentifier().getBytes();
}

/** PEM with LF line ends (forge writes CRLF), as openssl and Node write it. */
export function toPem(cert: forge.pki.Certificate): string {
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}
