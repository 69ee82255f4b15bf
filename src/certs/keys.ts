/**
 * RSA key pairs for certificates, as node-forge keys (forge signs certificates only with RSA).
 *
 * Keys come from Node's own crypto.generateKeyPair (OpenSSL inside Node, on the libuv thread
 * pool) and are converted to forge keys from PKCS#8 PEM. forge.pki.rsa.generateKeyPair would
 * take the same path by itself, but only while forge.options.usePureJavaScript is false and
 * no custom PRNG is given; otherwise it silently falls back to its pure-JavaScript prime
 * search, which takes seconds for 2048 bits and can take minutes for 4096. Calling Node
 * directly makes the fast path explicit, and the asynchronous form keeps the event loop free
 * if the daemon ever generates keys itself.
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { CertError } from './errors.js';

export const KEY_SIZES = [2048, 3072, 4096] as const;
export type KeySize = (typeof KEY_SIZES)[number];
export const DEFAULT_KEY_SIZE: KeySize = 2048;

export interface RsaKeyPair {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"), as written to the .key file. */
  privateKeyPem: string;
}

const generate = promisify(generateKeyPair);

export function checkKeySize(bits: number): KeySize {
  if (!(KEY_SIZES as readonly number[]).includes(bits)) {
    throw new CertError('AAA_ERR_CERT_BAD_KEY_SIZE', `key size ${bits}: use one of ${KEY_SIZES.join(', ')}`);
  }
  return bits as KeySize;
}

export async function generateRsaKeyPair(bits: KeySize = DEFAULT_KEY_SIZE): Promise<RsaKeyPair> {
  checkKeySize(bits);
  const { privateKey: privateKeyPem } = await generate('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const privateKey = forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey;
  return { privateKey, publicKey: forge.pki.setRsaPublicKey(privateKey.n, privateKey.e), privateKeyPem };
}
