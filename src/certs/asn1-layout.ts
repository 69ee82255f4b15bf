/**
 * The X.509 structure as node-forge's ASN.1 decoder sees it, and the forge functions used
 * on it that exist at run time but are missing from @types/node-forge.
 */
import forge from 'node-forge';

export interface RdnAttribute {
  type: string;
  /** Raw content octets (a UTF8String is still UTF-8 encoded). */
  value: string;
  valueTagClass: number;
  name?: string;
  shortName?: string;
}

interface ForgePkiInternals {
  RDNAttributesAsArray(rdn: forge.asn1.Asn1): RdnAttribute[];
  certificateExtensionsFromAsn1(exts: forge.asn1.Asn1): Array<Record<string, unknown> & { id: string; name?: string }>;
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}
const internals = forge.pki as unknown as ForgePkiInternals;
export const rdnAttributes = (name: forge.asn1.Asn1): RdnAttribute[] => internals.RDNAttributesAsArray(name);
export const extensionsFromAsn1 = (exts: forge.asn1.Asn1): ReturnType<ForgePkiInternals['certificateExtensionsFromAsn1']> => internals.certificateExtensionsFromAsn1(exts);

/** The encoded TBSCertificate: kept by forge after parsing or signing, else built. */
export const tbsOf = (cert: forge.pki.Certificate): forge.asn1.Asn1 => cert.tbsCertificate ?? internals.getTBSCertificate(cert);

export interface TbsFields {
  serial: forge.asn1.Asn1;
  issuer: forge.asn1.Asn1;
  notBefore: forge.asn1.Asn1;
  notAfter: forge.asn1.Asn1;
  subject: forge.asn1.Asn1;
  /** The [3] EXPLICIT Extensions node, if any. */
  extensions: forge.asn1.Asn1 | undefined;
}

/**
 * RFC 5280 §4.1: TBSCertificate ::= SEQUENCE { version [0] EXPLICIT (optional, absent for v1),
 * serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, issuerUniqueID [1],
 * subjectUniqueID [2], extensions [3] }. Throws on anything else.
 */
export function tbsFields(tbs: forge.asn1.Asn1 | undefined): TbsFields {
  const { Class, Type } = forge.asn1;
  const f = children(tbs);
  let i = f[0]?.tagClass === Class.CONTEXT_SPECIFIC && f[0].type === 0 ? 1 : 0;
  const serial = f[i++];
  i++; // signature AlgorithmIdentifier
  const issuer = f[i++];
  const validity = children(f[i++]);
  const subject = f[i++];
  if (!serial || serial.type !== Type.INTEGER || !issuer || !subject || validity.length !== 2) throw new Error('unexpected TBSCertificate layout');
  return {
    serial,
    issuer,
    notBefore: validity[0]!,
    notAfter: validity[1]!,
    subject,
    extensions: f.find((n) => n.tagClass === Class.CONTEXT_SPECIFIC && n.type === 3),
  };
}

export function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  if (!node || !Array.isArray(node.value)) throw new Error('expected a constructed ASN.1 value');
  return node.value;
}
