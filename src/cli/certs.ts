/** `aaaproxy certs init|issue|show`: a private CA, the certificates it issues, and their expiry. */
import { join } from 'node:path';
import { CA_CERT_FILE, CA_KEY_FILE, createCa, DEFAULT_CA_DAYS, loadCa, MAX_CA_DAYS } from '../certs/authority.js';
import { CertError, USAGE_CODES } from '../certs/errors.js';
import { CERT_MODE, KEY_MODE, writeOutputFiles, type OutputFile } from '../certs/files.js';
import { expiryOf, parseCertificates, readCertificateFile, type CertificateInfo } from '../certs/inspect.js';
import { DEFAULT_LEAF_DAYS, issueCertificate, MAX_LEAF_DAYS } from '../certs/issue.js';
import { checkKeySize, DEFAULT_KEY_SIZE, KEY_SIZES } from '../certs/keys.js';
import { checkCommonName, parseSubjectAltNames } from '../certs/names.js';
import { checkDays } from '../certs/template.js';
import { certificateState, EXPIRY_WARNING_DAYS } from '../observability/cert-metrics.js';
import { parseCommand } from './args.js';

const USAGE = `Usage: aaaproxy certs <init|issue|show> [options]

  init    create a private CA (ca.crt, ca.key) in a directory
  issue   issue a TLS server or client certificate signed by that CA
  show    print subject, names and validity of certificates, and warn about expiry

Run 'aaaproxy certs <command> --help' for its options.
`;

const INIT_USAGE = `Usage: aaaproxy certs init --dir DIR [options]

Creates DIR/${CA_CERT_FILE} (mode 0644) and DIR/${CA_KEY_FILE} (mode 0600): a self-signed CA
(basicConstraints CA:TRUE pathlen:0, keyUsage keyCertSign cRLSign) for 'certs issue'.

Options:
      --dir DIR         directory for ${CA_CERT_FILE} and ${CA_KEY_FILE} (created with mode 0700 if missing)
      --cn NAME         the CA's common name (default "aaaproxy CA <hostname>")
      --days N          validity in days, 1-${MAX_CA_DAYS} (default ${DEFAULT_CA_DAYS})
      --key-size BITS   RSA key size: ${KEY_SIZES.join(', ')} (default ${DEFAULT_KEY_SIZE})
      --force           replace existing files (certificates of the old CA stop verifying)
  -h, --help            show this help

Exit status: 0 created, 1 files exist or cannot be written, 2 usage error.
`;

const ISSUE_USAGE = `Usage: aaaproxy certs issue --ca-dir DIR --cn NAME --out PREFIX [options]

Writes PREFIX.crt (mode 0644) and PREFIX.key (mode 0600): a certificate signed by the CA in
DIR, with a random 128-bit serial and the CA's key identifier.

Options:
      --ca-dir DIR      the CA directory made by 'certs init'
      --cn NAME         the certificate's common name
      --san LIST        subject alternative names, comma-separated, repeatable:
                        DNS:name (*.name allowed), IP:address (IPv4 or IPv6).
                        Without --san a server certificate gets one from --cn
                        when that is a host name or an address.
      --server          for a TLS server: extKeyUsage serverAuth (the default)
      --client          for a TLS client: extKeyUsage clientAuth (with --server, both)
      --days N          validity in days, 1-${MAX_LEAF_DAYS}, not past the CA's expiry
                        (default ${DEFAULT_LEAF_DAYS}, or until the CA expires if that is sooner)
      --key-size BITS   RSA key size: ${KEY_SIZES.join(', ')} (default ${DEFAULT_KEY_SIZE})
      --out PREFIX      output path without extension, e.g. /etc/aaaproxy/tls/ldap
      --chain           also write PREFIX.chain.crt: the certificate, then the CA certificate
      --force           replace existing files
  -h, --help            show this help

Exit status: 0 issued, 1 CA missing or unusable or files exist, 2 usage error (bad --san,
--cn, --days, --key-size).
`;

const SHOW_USAGE = `Usage: aaaproxy certs show [--warn-days N] FILE...

Prints every certificate in each file (PEM, several per file, or DER): subject, issuer,
serial, subject alternative names, extended key usage, validity and days left. Warnings go
to stderr.

Options:
      --warn-days N     warn when a certificate expires within N days (default ${EXPIRY_WARNING_DAYS})
  -h, --help            show this help

Exit status: 0 every certificate is valid for more than N days; 1 a certificate is expired,
not yet valid, or expires within N days; 2 usage error, or a file that cannot be read or
holds no certificate.
`;

export async function runCerts(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'init':
        return await init(rest);
      case 'issue':
        return await issue(rest);
      case 'show':
        return await show(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return sub === undefined ? 2 : 0;
      default:
        process.stderr.write(`aaaproxy certs: unknown command '${sub}'\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (!(err instanceof CertError)) throw err;
    process.stderr.write(`aaaproxy certs ${sub}: ${err.message} [${err.code}]\n`);
    return USAGE_CODES.has(err.code) ? 2 : 1;
  }
}

class UsageError extends Error {}

/** Runs a subcommand body, turning UsageError into exit status 2 with the usage text. */
async function withUsage(usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${usage}`);
    return 2;
  }
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
  return v;
}

function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
}

function wholeNumber(value: unknown, option: string, code: 'AAA_ERR_CERT_BAD_DAYS' | 'AAA_ERR_CERT_BAD_KEY_SIZE'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) throw new CertError(code, `--${option} wants a whole number, got '${String(value)}'`);
  return Number(value);
}

async function init(argv: string[]): Promise<number> {
  const args = parseCommand(argv, INIT_USAGE, {
    dir: { type: 'string' },
    cn: { type: 'string' },
    days: { type: 'string' },
    'key-size': { type: 'string' },
    force: { type: 'boolean', default: false },
  });
  if (!args) return process.exitCode as number;
  return withUsage(INIT_USAGE, async () => {
    noPositionals(args.positionals);
    const dir = required(args.values, 'dir');
    const keySize = wholeNumber(args.values['key-size'], 'key-size', 'AAA_ERR_CERT_BAD_KEY_SIZE');
    const ca = await createCa({
      commonName: args.values['cn'] as string | undefined,
      days: wholeNumber(args.values['days'], 'days', 'AAA_ERR_CERT_BAD_DAYS'),
      keySize: keySize === undefined ? undefined : checkKeySize(keySize),
    });
    const certPath = join(dir, CA_CERT_FILE);
    const keyPath = join(dir, CA_KEY_FILE);
    await writeOutputFiles(
      [
        { path: certPath, data: ca.certPem, mode: CERT_MODE },
        { path: keyPath, data: ca.keyPem, mode: KEY_MODE },
      ],
      { force: args.values['force'] as boolean, dirMode: 0o700 },
    );
    process.stdout.write(
      `CA created\n` +
        `  ${certPath}  certificate (mode 0644): what peers trust (ca_file, -CAfile)\n` +
        `  ${keyPath}  private key (mode 0600): keep it secret; it signs every certificate\n` +
        describe(parseCertificates(Buffer.from(ca.certPem), certPath)[0]!, new Date()),
    );
    return 0;
  });
}

async function issue(argv: string[]): Promise<number> {
  const args = parseCommand(argv, ISSUE_USAGE, {
    'ca-dir': { type: 'string' },
    cn: { type: 'string' },
    san: { type: 'string', multiple: true },
    server: { type: 'boolean', default: false },
    client: { type: 'boolean', default: false },
    days: { type: 'string' },
    'key-size': { type: 'string' },
    out: { type: 'string' },
    chain: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  if (!args) return process.exitCode as number;
  return withUsage(ISSUE_USAGE, async () => {
    noPositionals(args.positionals);
    const caDir = required(args.values, 'ca-dir');
    const commonName = required(args.values, 'cn');
    const prefix = required(args.values, 'out');
    if (/[/\\]$|\.(crt|key|pem)$/i.test(prefix)) {
      throw new UsageError(`--out is a path prefix without extension: --out /etc/aaaproxy/tls/ldap writes ldap.crt and ldap.key (got '${prefix}')`);
    }
    // Check everything given on the command line before touching the CA or generating a key.
    checkCommonName(commonName);
    const sans = parseSubjectAltNames((args.values['san'] as string[] | undefined) ?? []);
    const days = wholeNumber(args.values['days'], 'days', 'AAA_ERR_CERT_BAD_DAYS');
    if (days !== undefined) checkDays(days, MAX_LEAF_DAYS);
    const keySize = wholeNumber(args.values['key-size'], 'key-size', 'AAA_ERR_CERT_BAD_KEY_SIZE');
    if (keySize !== undefined) checkKeySize(keySize);
    const client = args.values['client'] as boolean;
    const server = (args.values['server'] as boolean) || !client;

    const ca = await loadCa(caDir);
    if ((ca.keyMode & 0o077) !== 0) {
      process.stderr.write(`warning: ${ca.keyPath} has mode 0${ca.keyMode.toString(8)}: others on this host may read the CA key (chmod 600 it)\n`);
    }
    const issued = await issueCertificate(ca, {
      commonName,
      sans,
      server,
      client,
      days,
      keySize: keySize === undefined ? undefined : checkKeySize(keySize),
    });
    const files: OutputFile[] = [
      { path: `${prefix}.crt`, data: issued.certPem, mode: CERT_MODE },
      { path: `${prefix}.key`, data: issued.keyPem, mode: KEY_MODE },
    ];
    if (args.values['chain']) files.push({ path: `${prefix}.chain.crt`, data: issued.certPem + ca.certPem.trimEnd() + '\n', mode: CERT_MODE });
    await writeOutputFiles(files, { force: args.values['force'] as boolean });
    if (issued.cappedToCa) {
      process.stderr.write(`note: valid only until the CA expires (${iso(ca.cert.validity.notAfter)}), less than the default ${DEFAULT_LEAF_DAYS} days\n`);
    }
    process.stdout.write(
      `certificate issued by ${ca.certPath}\n` +
        files.map((f) => `  ${f.path}  ${f.mode === KEY_MODE ? 'private key (mode 0600)' : f.path.endsWith('.chain.crt') ? 'certificate and CA chain' : 'certificate'}\n`).join('') +
        describe(parseCertificates(Buffer.from(issued.certPem), `${prefix}.crt`)[0]!, new Date()),
    );
    return 0;
  });
}

async function show(argv: string[]): Promise<number> {
  const args = parseCommand(argv, SHOW_USAGE, { 'warn-days': { type: 'string' } });
  if (!args) return process.exitCode as number;
  return withUsage(SHOW_USAGE, async () => {
    if (args.positionals.length === 0) throw new UsageError('certs show needs at least one FILE');
    const warnRaw = args.values['warn-days'];
    if (warnRaw !== undefined && !/^\d{1,5}$/.test(warnRaw as string)) throw new UsageError(`--warn-days wants a whole number of days, got '${String(warnRaw)}'`);
    const warnDays = warnRaw === undefined ? EXPIRY_WARNING_DAYS : Number(warnRaw);
    const now = new Date();
    let status = 0;
    for (const file of args.positionals) {
      let certs: CertificateInfo[];
      try {
        certs = await readCertificateFile(file);
      } catch (err) {
        if (!(err instanceof CertError)) throw err;
        process.stderr.write(`error: ${err.message} [${err.code}]\n`);
        status = 2;
        continue;
      }
      certs.forEach((cert, i) => {
        process.stdout.write(`${file}${certs.length > 1 ? ` [${i + 1}/${certs.length}]` : ''}\n${describe(cert, now)}`);
        const warning = expiryWarning(cert, now, warnDays);
        if (warning) {
          process.stderr.write(`warning: ${file}${certs.length > 1 ? ` [${i + 1}/${certs.length}]` : ''}: ${cert.subject}: ${warning}\n`);
          status = Math.max(status, 1);
        }
      });
    }
    return status;
  });
}

function expiryWarning(cert: CertificateInfo, now: Date, warnDays: number): string | undefined {
  const expiry = expiryOf(cert, now);
  const state = certificateState(expiry, warnDays);
  if (state === 'expired') return `expired on ${iso(cert.notAfter)}`;
  if (cert.notBefore.getTime() > now.getTime()) return `not valid before ${iso(cert.notBefore)}`;
  if (state === 'expiring') return `expires within ${warnDays} days: in ${expiry.daysLeft} days, on ${iso(cert.notAfter)}`;
  return undefined;
}

function describe(cert: CertificateInfo, now: Date): string {
  const { daysLeft, secondsLeft } = expiryOf(cert, now);
  const left = secondsLeft <= 0 ? 'expired' : `${daysLeft} day${daysLeft === 1 ? '' : 's'} left`;
  const lines = [
    ['subject', cert.subject],
    ['issuer', cert.issuer],
    ['serial', cert.serial],
    ['SANs', cert.subjectAltNames.join(', ') || '(none)'],
    ['CA', cert.isCa ? 'yes' : 'no'],
    ['ext key usage', cert.extKeyUsage.join(', ') || '(any)'],
    ['not before', iso(cert.notBefore)],
    ['not after', `${iso(cert.notAfter)} (${left})`],
    ['sha256', cert.fingerprint256],
  ];
  return lines.map(([k, v]) => `  ${`${k}:`.padEnd(15)}${v}\n`).join('');
}

function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
