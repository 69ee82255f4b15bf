/**
 * The private CA: created once by `certs init` (ca.crt and ca.key in one directory), loaded
 * by `certs issue` to sign server and client certificates.
 */
import { readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { CertError } from './errors.js';
import { DEFAULT_KEY_SIZE, generateRsaKeyPair, type KeySize } from './keys.js';
import { checkCommonName } from './names.js';
import { checkDays, newCertificate, signSha256, toPem, validityFor } from './template.js';

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const DEFAULT_CA_DAYS = 3650;
export const MAX_CA_DAYS = 36500;

export interface CaOptions {
  commonName?: string;
  days?: number;
  keySize?: KeySize;
  now?: Date;
}

/** A certificate just made, with its PEM and its private key's PEM (PKCS#8). */
export interface GeneratedCertificate {
  cert: forge.pki.Certificate;
  certPem: string;
  keyPem: string;
}

export function defaultCaName(): string {
  return checkCommonName(`aaaproxy CA ${hostname()}`.slice(0, 64));
}

/**
 * A self-signed CA: basicConstraints CA:TRUE with pathLen 0 (it signs end-entity certificates
 * only), keyUsage keyCertSign and cRLSign, both critical (RFC 5280 §4.2.1.9, §4.2.1.3), and a
 * subjectKeyIdentifier that the certificates it issues name as their authorityKeyIdentifier.
 */
export async function createCa(opts: CaOptions = {}): Promise<GeneratedCertificate> {
  const commonName = checkCommonName(opts.commonName ?? defaultCaName());
  const days = checkDays(opts.days ?? DEFAULT_CA_DAYS, MAX_CA_DAYS);
  const keys = await generateRsaKeyPair(opts.keySize ?? DEFAULT_KEY_SIZE);
  const cert = newCertificate(keys.publicKey, commonName, validityFor(days, opts.now ?? new Date()));
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signSha256(cert, keys.privateKey);
  return { cert, certPem: toPem(cert), keyPem: keys.privateKeyPem };
}

export interface LoadedCa {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
  certPem: string;
  certPath: string;
  keyPath: string;
  /** Permission bits of the key file, so the CLI can warn when group or others may read it. */
  keyMode: number;
}

/** Reads DIR/ca.crt and DIR/ca.key and checks that they make a CA whose key matches. */
export async function loadCa(dir: string): Promise<LoadedCa> {
  const certPath = join(dir, CA_CERT_FILE);
  const keyPath = join(dir, CA_KEY_FILE);
  const read = async (path: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') throw new CertError('AAA_ERR_CERT_CA_MISSING', `${path} does not exist (create a CA with 'aaaproxy certs init --dir ${dir}')`);
      throw new CertError('AAA_ERR_CERT_CA_MISSING', `cannot read ${path}: ${e.message}`);
    }
  };
  const [certPem, keyPem] = await Promise.all([read(certPath), read(keyPath)]);
  let cert: forge.pki.Certificate;
  let key: forge.pki.rsa.PrivateKey;
  try {
    cert = forge.pki.certificateFromPem(certPem);
  } catch (err) {
    throw new CertError('AAA_ERR_CERT_CA_INVALID', `${certPath}: not an RSA certificate in PEM (${(err as Error).message})`);
  }
  try {
    key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  } catch (err) {
    throw new CertError('AAA_ERR_CERT_CA_INVALID', `${keyPath}: not an unencrypted RSA private key in PEM (${(err as Error).message})`);
  }
  const bc = cert.getExtension('basicConstraints') as { cA?: boolean } | null;
  if (!bc?.cA) throw new CertError('AAA_ERR_CERT_CA_INVALID', `${certPath} is not a CA certificate (basicConstraints CA:TRUE missing)`);
  const pub = cert.publicKey as forge.pki.rsa.PublicKey;
  if (pub.n.compareTo(key.n) !== 0 || pub.e.compareTo(key.e) !== 0) {
    throw new CertError('AAA_ERR_CERT_CA_INVALID', `${keyPath} is not the key of ${certPath}`);
  }
  const keyMode = (await stat(keyPath)).mode & 0o777;
  return { cert, key, certPem, certPath, keyPath, keyMode };
}
