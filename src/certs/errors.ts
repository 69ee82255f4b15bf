/** Error catalogue of the certificate tools (DESIGN habit 3): callers branch on `code`, never on text. */
export type CertErrorCode =
  /** A --san item is not DNS:name or IP:address, or the name/address is not valid. */
  | 'AAA_ERR_CERT_BAD_SAN'
  /** The common name is empty, too long (RFC 5280 ub-common-name: 64) or has control characters. */
  | 'AAA_ERR_CERT_BAD_NAME'
  /** --days is not a whole number within the allowed range. */
  | 'AAA_ERR_CERT_BAD_DAYS'
  /** --key-size is not 2048, 3072 or 4096. */
  | 'AAA_ERR_CERT_BAD_KEY_SIZE'
  /** An output file exists and --force was not given. */
  | 'AAA_ERR_CERT_EXISTS'
  /** ca.crt or ca.key is missing from the CA directory. */
  | 'AAA_ERR_CERT_CA_MISSING'
  /** The CA files do not make a usable CA (not a CA, key does not match, expired, not RSA). */
  | 'AAA_ERR_CERT_CA_INVALID'
  /** The certificate asked for would still be valid after the CA expires. */
  | 'AAA_ERR_CERT_OUTLIVES_CA'
  /** A certificate file cannot be read. */
  | 'AAA_ERR_CERT_READ'
  /** A file holds no PEM certificate, or one that is not DER X.509. */
  | 'AAA_ERR_CERT_PARSE';

/** Codes that mean the command line itself was wrong (exit status 2 in the CLI). */
export const USAGE_CODES: ReadonlySet<CertErrorCode> = new Set([
  'AAA_ERR_CERT_BAD_SAN',
  'AAA_ERR_CERT_BAD_NAME',
  'AAA_ERR_CERT_BAD_DAYS',
  'AAA_ERR_CERT_BAD_KEY_SIZE',
]);

export class CertError extends Error {
  constructor(
    readonly code: CertErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertError';
  }
}
