/** End-entity certificates (TLS servers and clients) signed by the private CA. */
import forge from 'node-forge';
import { rdnAttributes, tbsFields, tbsOf } from './asn1-layout.js';
import type { GeneratedCertificate } from './authority.js';
import { CertError } from './errors.js';
import { DEFAULT_KEY_SIZE, generateRsaKeyPair, type KeySize } from './keys.js';
import { checkCommonName, ipToBytes, sanFromCommonName, type SubjectAltName } from './names.js';
import { checkDays, keyIdentifierOf, newCertificate, signSha256, toPem, validityFor } from './template.js';

export const DEFAULT_LEAF_DAYS = 365;
export const MAX_LEAF_DAYS = 3650;

export interface IssueOptions {
  commonName: string;
  sans?: readonly SubjectAltName[];
  /** extKeyUsage serverAuth (TLS server: LDAPS, StartTLS, RADIUS/TLS). */
  server: boolean;
  /** extKeyUsage clientAuth (TLS client: a RadSec peer, a client certificate). Both may be set. */
  client: boolean;
  days?: number;
  keySize?: KeySize;
  now?: Date;
}

export interface IssuedCertificate extends GeneratedCertificate {
  /** No --days was given and the default would have outlived the CA: notAfter is the CA's. */
  cappedToCa: boolean;
}

/** The signing half of a CA (what loadCa returns). */
export interface Issuer {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

/**
 * A certificate for `opts.commonName`, signed by the CA. A server certificate with no SAN
 * given gets one from its common name when that is a host name or an address: TLS clients
 * match names against subjectAltName only (RFC 6125 §6.4.4), never against the CN when a SAN exists.
 */
export async function issueCertificate(ca: Issuer, opts: IssueOptions): Promise<IssuedCertificate> {
  const commonName = checkCommonName(opts.commonName);
  const days = checkDays(opts.days ?? DEFAULT_LEAF_DAYS, MAX_LEAF_DAYS);
  if (!opts.server && !opts.client) throw new TypeError('issueCertificate: server, client, or both');
  let sans = [...(opts.sans ?? [])];
  if (sans.length === 0 && opts.server) {
    const fromCn = sanFromCommonName(commonName);
    if (!fromCn) throw new CertError('AAA_ERR_CERT_BAD_SAN', `a server certificate needs --san (the common name '${commonName}' is not a host name or an address)`);
    sans = [fromCn];
  }
  const now = opts.now ?? new Date();
  let validity = validityFor(days, now);
  const caNotAfter = ca.cert.validity.notAfter;
  if (caNotAfter.getTime() <= now.getTime()) throw new CertError('AAA_ERR_CERT_CA_INVALID', `the CA expired on ${caNotAfter.toISOString()}`);
  // A certificate valid after its CA is useless then (RFC 5280 §6.1.3 checks each certificate's
  // validity). Asked-for days are refused; the default is shortened to the CA's end.
  const cappedToCa = validity.notAfter.getTime() > caNotAfter.getTime() && opts.days === undefined;
  if (cappedToCa) validity = { notBefore: validity.notBefore, notAfter: caNotAfter };
  if (validity.notAfter.getTime() > caNotAfter.getTime()) {
    throw new CertError(
      'AAA_ERR_CERT_OUTLIVES_CA',
      `the certificate would be valid until ${validity.notAfter.toISOString()}, after the CA expires (${caNotAfter.toISOString()}); ask for fewer days`,
    );
  }

  const keys = await generateRsaKeyPair(opts.keySize ?? DEFAULT_KEY_SIZE);
  const cert = newCertificate(keys.publicKey, commonName, validity);
  cert.setIssuer(issuerAttributes(ca.cert));
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    // RSA keys: signatures (TLS 1.2 ECDHE, TLS 1.3) and RSA key transport (TLS 1.2 RSA kx).
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: opts.server, clientAuth: opts.client },
    { name: 'subjectKeyIdentifier' },
    // forge's `keyIdentifier: true` would take the identifier of this certificate's own key,
    // not the issuer's: pass the CA's subjectKeyIdentifier explicitly (RFC 5280 §4.2.1.1).
    { name: 'authorityKeyIdentifier', keyIdentifier: keyIdentifierOf(ca.cert) },
  ];
  if (sans.length > 0) {
    extensions.push({
      name: 'subjectAltName',
      // iPAddress octets are given as forge bytes (not forge's `ip:` text, see ipToBytes).
      altNames: sans.map((s) => (s.type === 'dns' ? { type: 2, value: s.value } : { type: 7, value: ipToBytes(s.value).toString('binary') })),
    });
  }
  cert.setExtensions(extensions);
  signSha256(cert, ca.key);
  return { cert, certPem: toPem(cert), keyPem: keys.privateKeyPem, cappedToCa };
}

/**
 * The CA's subject as the new certificate's issuer, read from the CA certificate's own encoded
 * TBSCertificate (forge keeps it after signing or parsing). forge holds parsed attribute values
 * as raw octets but UTF-8-encodes UTF8String values again when writing, so those are decoded
 * first; otherwise a non-ASCII CA name would be double-encoded and no longer match the CA.
 */
function issuerAttributes(caCert: forge.pki.Certificate): forge.pki.CertificateField[] {
  return rdnAttributes(tbsFields(tbsOf(caCert)).subject).map((a) => ({
    type: a.type,
    value: a.valueTagClass === (forge.asn1.Type.UTF8 as number) ? forge.util.decodeUtf8(a.value) : a.value,
    valueTagClass: a.valueTagClass as forge.asn1.Class,
  }));
}
