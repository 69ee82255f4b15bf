/**
 * The certificate library end to end in memory: a CA, certificates it issues, and reading
 * them back. Node's own X509Certificate (OpenSSL) is the independent reader that checks what
 * node-forge wrote; the CLI tests check the files with the openssl binary.
 */
import t, { type Test } from 'tap';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { CA_CERT_FILE, CA_KEY_FILE, createCa, loadCa } from '../../../src/certs/authority.js';
import { CertError } from '../../../src/certs/errors.js';
import { certificateExpiry, expiryOf, parseCertificates } from '../../../src/certs/inspect.js';
import { issueCertificate } from '../../../src/certs/issue.js';
import { checkKeySize, generateRsaKeyPair } from '../../../src/certs/keys.js';
import { parseSubjectAltNames } from '../../../src/certs/names.js';
import { BACKDATE_MS, randomSerialHex } from '../../../src/certs/template.js';

// About a dozen RSA keys; each takes 0.1-0.5 s of CPU, more on a loaded 2-core machine.
t.setTimeout(120_000);

const DAY = 86_400_000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

async function rejectsWith(t: Test, p: Promise<unknown>, code: string, msg: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof CertError, `${msg}: a CertError`);
  t.equal((err as CertError | undefined)?.code, code, msg);
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The CA as `certs issue` sees it: parsed back from its PEM. */
function signer(ca: { certPem: string; keyPem: string }) {
  return { cert: forge.pki.certificateFromPem(ca.certPem), key: forge.pki.privateKeyFromPem(ca.keyPem) as forge.pki.rsa.PrivateKey };
}

t.test('a CA: self-signed, CA:TRUE, its key matches, validity as asked', async (t) => {
  const now = new Date();
  const ca = await createCa({ commonName: 'Unit Test CA', days: 30, now });
  const x = new X509Certificate(ca.certPem);
  t.equal(x.subject, 'CN=Unit Test CA');
  t.equal(x.issuer, 'CN=Unit Test CA');
  t.ok(x.ca, 'basicConstraints CA:TRUE');
  t.ok(x.verify(x.publicKey), 'self-signed: verifies with its own key');
  t.ok(x.checkIssued(x), 'issued by itself');
  t.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM');
  const pub = createPublicKey(createPrivateKey(ca.keyPem));
  t.ok(pub.equals(x.publicKey), 'the key is the certificate key');
  t.equal(pub.asymmetricKeyDetails?.modulusLength, 2048, '2048-bit by default');
  t.equal(new Date(x.validTo).getTime(), Math.floor((now.getTime() + 30 * DAY) / 1000) * 1000, 'notAfter = now + 30 days');
  t.equal(new Date(x.validFrom).getTime(), Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000, 'notBefore backdated');
  const [info] = parseCertificates(Buffer.from(ca.certPem), 'ca');
  t.equal(info!.isCa, true);
  t.equal(info!.serial, x.serialNumber, 'serial reads the same as OpenSSL reads it');
});

t.test('server and client certificates: chain, names, purposes', async (t) => {
  const ca = await createCa({ commonName: 'Zürich Test CA' });
  const caX = new X509Certificate(ca.certPem);
  const sans = parseSubjectAltNames(['DNS:ldap.example.test,DNS:*.radius.example.test', 'IP:127.0.0.1,IP:::1,IP:2001:db8::10']);
  const server = await issueCertificate(signer(ca), { commonName: 'ldap.example.test', sans, server: true, client: false, days: 90 });
  const x = new X509Certificate(server.certPem);
  t.ok(x.checkIssued(caX), 'issuer matches the CA subject (a non-ASCII CA name is not double-encoded)');
  t.ok(x.verify(caX.publicKey), 'signed by the CA key');
  t.notOk(x.ca, 'not a CA');
  t.same(x.keyUsage, [SERVER_AUTH], 'extKeyUsage serverAuth only');
  t.equal(x.checkHost('ldap.example.test'), 'ldap.example.test');
  t.equal(x.checkHost('a.radius.example.test'), '*.radius.example.test', 'wildcard SAN matches');
  t.equal(x.checkHost('other.example.test'), undefined);
  t.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(x.checkIP('::1'), '::1');
  t.equal(x.checkIP('2001:db8:0:0:0:0:0:10'), '2001:db8:0:0:0:0:0:10');
  t.equal(x.checkIP('127.0.0.2'), undefined);
  t.ok(createPublicKey(createPrivateKey(server.keyPem)).equals(x.publicKey), 'key matches');

  const [info] = parseCertificates(Buffer.from(server.certPem), 'server');
  t.same(info!.subjectAltNames, ['DNS:ldap.example.test', 'DNS:*.radius.example.test', 'IP:127.0.0.1', 'IP:::1', 'IP:2001:db8::10']);
  t.equal(info!.issuer, 'CN=Zürich Test CA');
  t.same(info!.extKeyUsage, ['serverAuth']);

  const client = await issueCertificate(signer(ca), { commonName: 'nas-17', server: false, client: true });
  const cx = new X509Certificate(client.certPem);
  t.same(cx.keyUsage, [CLIENT_AUTH], 'extKeyUsage clientAuth only');
  t.equal(cx.subjectAltName, undefined, 'a client certificate needs no SAN');
  t.ok(cx.verify(caX.publicKey));

  const both = await issueCertificate(signer(ca), { commonName: 'radsec.example.test', server: true, client: true });
  t.same(new X509Certificate(both.certPem).keyUsage.sort(), [SERVER_AUTH, CLIENT_AUTH].sort(), 'both purposes');
  t.equal(new X509Certificate(both.certPem).subjectAltName, 'DNS:radsec.example.test', 'SAN taken from the CN');

  const byIp = await issueCertificate(signer(ca), { commonName: '192.0.2.7', server: true, client: false });
  t.equal(new X509Certificate(byIp.certPem).subjectAltName, 'IP Address:192.0.2.7');
});

t.test('limits: days, CA lifetime, expired CA, a server with no usable name', async (t) => {
  const now = new Date();
  const ca = await createCa({ commonName: 'Short CA', days: 10, now });
  await rejectsWith(t, issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false, days: 11 }), 'AAA_ERR_CERT_OUTLIVES_CA', 'outlives the CA');
  await rejectsWith(t, issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false, days: 0 }), 'AAA_ERR_CERT_BAD_DAYS', '0 days');
  await rejectsWith(t, issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false, days: 3651 }), 'AAA_ERR_CERT_BAD_DAYS', '3651 days');
  await rejectsWith(t, issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false, days: 1.5 }), 'AAA_ERR_CERT_BAD_DAYS', '1.5 days');
  await rejectsWith(t, issueCertificate(signer(ca), { commonName: 'no host name', server: true, client: false, days: 1 }), 'AAA_ERR_CERT_BAD_SAN', 'no SAN');
  await rejectsWith(t, createCa({ days: 36501 }), 'AAA_ERR_CERT_BAD_DAYS', 'CA for 36501 days');
  const later = new Date(now.getTime() + 11 * DAY);
  await rejectsWith(t, issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false, days: 1, now: later }), 'AAA_ERR_CERT_CA_INVALID', 'expired CA');
  const ok = await issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false, days: 9 });
  t.equal(ok.cappedToCa, false, '9 days within a 10-day CA');
  const byDefault = await issueCertificate(signer(ca), { commonName: 'a.test', server: true, client: false });
  t.equal(byDefault.cappedToCa, true, 'no --days: the default 365 is shortened...');
  t.equal(new X509Certificate(byDefault.certPem).validTo, new X509Certificate(ca.certPem).validTo, '...to the CA notAfter');
});

t.test('serials: 16 octets, positive, minimal DER', async (t) => {
  const serials = Array.from({ length: 2000 }, () => randomSerialHex());
  t.same(
    serials.filter((s) => s.length !== 32),
    [],
    'all 32 hex digits',
  );
  t.same(
    serials.filter((s) => parseInt(s.slice(0, 2), 16) < 0x01 || parseInt(s.slice(0, 2), 16) > 0x7f),
    [],
    'first octet 0x01..0x7f: positive, no sign octet needed, no leading zero',
  );
  t.equal(new Set(serials).size, serials.length, 'no repeats');
});

t.test('keys: the sizes allowed, PEM and forge forms of one key', async (t) => {
  t.equal(checkKeySize(3072), 3072);
  t.throws(() => checkKeySize(1024), { code: 'AAA_ERR_CERT_BAD_KEY_SIZE' });
  t.throws(() => checkKeySize(8192), { code: 'AAA_ERR_CERT_BAD_KEY_SIZE' });
  const pair = await generateRsaKeyPair(3072);
  t.equal(pair.publicKey.n.bitLength(), 3072, 'the forge key');
  t.equal(createPrivateKey(pair.privateKeyPem).asymmetricKeyDetails?.modulusLength, 3072, 'the PEM written to the .key file');
  t.equal(pair.publicKey.e.toString(16), '10001', 'e = 65537');
});

t.test('loadCa: missing files, not a CA, a key that does not match', async (t) => {
  const dir = tempDir(t);
  await rejectsWith(t, loadCa(dir), 'AAA_ERR_CERT_CA_MISSING', 'empty directory');
  const ca = await createCa({ commonName: 'Load CA' });
  const other = await createCa({ commonName: 'Other CA' });
  writeFileSync(join(dir, CA_CERT_FILE), ca.certPem);
  await rejectsWith(t, loadCa(dir), 'AAA_ERR_CERT_CA_MISSING', 'no key');
  writeFileSync(join(dir, CA_KEY_FILE), other.keyPem, { mode: 0o600 });
  await rejectsWith(t, loadCa(dir), 'AAA_ERR_CERT_CA_INVALID', 'key of another CA');
  writeFileSync(join(dir, CA_KEY_FILE), ca.keyPem);
  const loaded = await loadCa(dir);
  t.equal(loaded.cert.subject.getField('CN').value, 'Load CA');
  const leaf = await issueCertificate(loaded, { commonName: 'leaf.test', server: true, client: false });
  writeFileSync(join(dir, CA_CERT_FILE), leaf.certPem);
  writeFileSync(join(dir, CA_KEY_FILE), leaf.keyPem);
  await rejectsWith(t, loadCa(dir), 'AAA_ERR_CERT_CA_INVALID', 'a leaf certificate as CA');
  writeFileSync(join(dir, CA_CERT_FILE), 'not pem');
  await rejectsWith(t, loadCa(dir), 'AAA_ERR_CERT_CA_INVALID', 'garbage');
});

t.test('reading: bundles, DER, non-certificates, earliest expiry', async (t) => {
  const now = new Date();
  const ca = await createCa({ commonName: 'Read CA', days: 100, now });
  const leaf = await issueCertificate(signer(ca), { commonName: 'r.test', server: true, client: false, days: 3, now });
  const bundle = Buffer.from(leaf.certPem + leaf.keyPem + ca.certPem);
  const certs = parseCertificates(bundle, 'bundle');
  t.same(
    certs.map((c) => c.subject),
    ['CN=r.test', 'CN=Read CA'],
    'certificates in order, the key block skipped',
  );
  const der = new X509Certificate(leaf.certPem).raw;
  t.equal(parseCertificates(der, 'der')[0]!.subject, 'CN=r.test', 'DER');
  t.equal(parseCertificates(der, 'der')[0]!.fingerprint256, new X509Certificate(leaf.certPem).fingerprint256);
  t.throws(() => parseCertificates(Buffer.from(leaf.keyPem), 'key'), { code: 'AAA_ERR_CERT_PARSE' });
  t.throws(() => parseCertificates(Buffer.from('hello'), 'text'), { code: 'AAA_ERR_CERT_PARSE' });
  t.throws(() => parseCertificates(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'short'), { code: 'AAA_ERR_CERT_PARSE' });

  const e = expiryOf(certs[0]!, now);
  t.equal(e.daysLeft, 2, '3 days less a second: 2 whole days');
  t.ok(e.secondsLeft > 3 * 86_400 - 2 && e.secondsLeft <= 3 * 86_400);
  t.equal(expiryOf(certs[0]!, new Date(now.getTime() + 3.5 * DAY)).daysLeft, -1, 'negative once expired');

  const dir = tempDir(t);
  const path = join(dir, 'chain.crt');
  writeFileSync(path, ca.certPem + leaf.certPem);
  const earliest = await certificateExpiry(path, now);
  t.equal(earliest.subject, 'CN=r.test', 'the certificate that expires first counts');
  t.equal(earliest.daysLeft, 2);
  await t.rejects(certificateExpiry(join(dir, 'missing.crt')), { code: 'AAA_ERR_CERT_READ' });
});
