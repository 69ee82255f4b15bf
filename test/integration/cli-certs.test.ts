/**
 * `aaaproxy certs` as an admin runs it (node bin/aaaproxy.js in a temp dir), checked with the
 * real openssl binary (verify, x509 -text, pkey) and with real TLS handshakes through
 * node:tls: the issued server certificate is verified by name and address against the CA,
 * and the issued client certificate by a server that requests one.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import forge from 'node-forge';
import { createCa } from '../../src/certs/authority.js';
import { issueCertificate } from '../../src/certs/issue.js';
import { aaaproxyCli, tempDir } from '../helpers/daemon.js';

t.jobs = 2;
// Every CLI call is a fresh node process (about 0.5 s of CPU, plus an RSA key); on a loaded
// 2-core machine the files below can pass tap's default 30 s, each command bounded on its own.
t.setTimeout(180_000);

const DAY = 86_400_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function openssl(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('openssl', args, { timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const mode = (p: string): number => statSync(p).mode & 0o777;

/** The colon-separated hex after an extension heading in `openssl x509 -text`. */
function extensionHex(text: string, heading: string): string | undefined {
  const m = new RegExp(`${heading}:\\s*\\n\\s*(?:keyid:)?([0-9A-F:]+)`).exec(text);
  return m?.[1];
}

async function cli(t: Test, args: string[], expect: number): Promise<Run> {
  const r = await aaaproxyCli(args, { timeoutMs: 30_000 });
  t.equal(r.code, expect, `aaaproxy ${args.join(' ')}: exit ${expect}`, { stdout: r.stdout, stderr: r.stderr });
  return r;
}

/** A CA, a server certificate (localhost, 127.0.0.1, ::1) with its chain, and a client certificate, made with the CLI. */
async function makePki(t: Test): Promise<{ dir: string; ca: string; caKey: string; server: string; client: string }> {
  const dir = await tempDir(t, 'aaaproxy-certs-');
  const ca = join(dir, 'ca');
  await cli(t, ['certs', 'init', '--dir', ca, '--cn', 'Integration Test CA'], 0);
  await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'localhost', '--san', 'DNS:localhost,IP:127.0.0.1', '--san', 'IP:::1', '--out', join(dir, 'out', 'server'), '--chain'], 0);
  await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'nas-17', '--client', '--out', join(dir, 'out', 'client')], 0);
  return { dir, ca: join(ca, 'ca.crt'), caKey: join(ca, 'ca.key'), server: join(dir, 'out', 'server'), client: join(dir, 'out', 'client') };
}

t.test('init and issue: files, modes, and what openssl sees', async (t) => {
  const pki = await makePki(t);
  t.equal(mode(pki.caKey), 0o600, 'ca.key 0600');
  t.equal(mode(pki.ca), 0o644, 'ca.crt 0644');
  t.equal(mode(join(pki.dir, 'ca')), 0o700, 'the CA directory is created 0700');
  t.equal(mode(`${pki.server}.key`), 0o600, 'server.key 0600');
  t.equal(mode(`${pki.client}.key`), 0o600, 'client.key 0600');
  t.equal(mode(`${pki.server}.crt`), 0o644);

  // The chain verifies, for the purpose each certificate was issued for and not the other.
  const strict = ['verify', '-x509_strict', '-CAfile', pki.ca];
  t.match((await openssl([...strict, '-purpose', 'sslserver', `${pki.server}.crt`])).stdout, `${pki.server}.crt: OK`);
  t.match((await openssl([...strict, '-purpose', 'sslclient', `${pki.client}.crt`])).stdout, `${pki.client}.crt: OK`);
  const wrongPurpose = await openssl([...strict, '-purpose', 'sslclient', `${pki.server}.crt`]);
  t.not(wrongPurpose.code, 0, 'the server certificate is not a client certificate');
  t.match(wrongPurpose.stdout + wrongPurpose.stderr, 'unsuitable certificate purpose');
  const chain = readFileSync(`${pki.server}.chain.crt`, 'utf8');
  t.equal(chain, readFileSync(`${pki.server}.crt`, 'utf8') + readFileSync(pki.ca, 'utf8'), 'chain = certificate, then CA');

  const caText = (await openssl(['x509', '-in', pki.ca, '-noout', '-text'])).stdout;
  t.match(caText, /Issuer: CN ?= ?Integration Test CA/);
  t.match(caText, /Subject: CN ?= ?Integration Test CA/);
  t.match(caText, /X509v3 Basic Constraints: critical\s*\n\s*CA:TRUE, pathlen:0/);
  t.match(caText, /X509v3 Key Usage: critical\s*\n\s*Certificate Sign, CRL Sign/);
  t.match(caText, 'Public-Key: (2048 bit)');
  const caSki = extensionHex(caText, 'X509v3 Subject Key Identifier');
  t.ok(caSki, 'the CA has a subject key identifier');

  const serverText = (await openssl(['x509', '-in', `${pki.server}.crt`, '-noout', '-text'])).stdout;
  t.match(serverText, /X509v3 Subject Alternative Name:\s*\n\s*DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1\n/);
  t.match(serverText, /X509v3 Extended Key Usage:\s*\n\s*TLS Web Server Authentication\n/);
  t.match(serverText, /X509v3 Key Usage: critical\s*\n\s*Digital Signature, Key Encipherment/);
  t.match(serverText, /X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/);
  t.match(serverText, 'Signature Algorithm: sha256WithRSAEncryption');
  t.equal(extensionHex(serverText, 'X509v3 Authority Key Identifier'), caSki, "authorityKeyIdentifier = the CA's subjectKeyIdentifier");
  t.not(extensionHex(serverText, 'X509v3 Subject Key Identifier'), caSki, 'its own key identifier differs');

  const clientText = (await openssl(['x509', '-in', `${pki.client}.crt`, '-noout', '-text'])).stdout;
  t.match(clientText, /X509v3 Extended Key Usage:\s*\n\s*TLS Web Client Authentication\n/);
  t.notMatch(clientText, 'Subject Alternative Name');

  // Serials: 16 random octets, positive.
  const serial = /^serial=([0-9A-F]+)$/m.exec((await openssl(['x509', '-in', `${pki.server}.crt`, '-noout', '-serial'])).stdout)?.[1];
  t.match(serial, /^[0-7][0-9A-F]{31}$/, '128-bit positive serial');
  const caSerial = /^serial=([0-9A-F]+)$/m.exec((await openssl(['x509', '-in', pki.ca, '-noout', '-serial'])).stdout)?.[1];
  t.not(serial, caSerial);

  // The key files hold the keys of the certificates.
  for (const prefix of [pki.server, pki.client]) {
    const certPub = (await openssl(['x509', '-in', `${prefix}.crt`, '-noout', '-pubkey'])).stdout;
    const keyPub = await openssl(['pkey', '-in', `${prefix}.key`, '-pubout']);
    t.equal(keyPub.code, 0);
    t.equal(keyPub.stdout, certPub, `${prefix}.key matches ${prefix}.crt`);
    t.match((await openssl(['rsa', '-in', `${prefix}.key`, '-check', '-noout'])).stdout, 'RSA key ok');
  }

  // show agrees with openssl on serial and notAfter.
  const show = await cli(t, ['certs', 'show', `${pki.server}.crt`], 0);
  t.match(show.stdout, `serial:        ${serial}`);
  t.match(show.stdout, 'SANs:          DNS:localhost, IP:127.0.0.1, IP:::1');
  t.match(show.stdout, 'ext key usage: serverAuth');
  const endDate = /^notAfter=(.*)$/m.exec((await openssl(['x509', '-in', `${pki.server}.crt`, '-noout', '-enddate'])).stdout)?.[1];
  const notAfter = new Date(endDate!).toISOString().replace('.000Z', 'Z');
  t.match(show.stdout, `not after:     ${notAfter} (364 days left)`);
  t.equal(show.stderr, '', 'no warning for a certificate valid for a year');
});

t.test('TLS: server certificate by name and address, client certificate with requestCert', async (t) => {
  const pki = await makePki(t);
  const ca = readFileSync(pki.ca);
  const server = { cert: readFileSync(`${pki.server}.crt`), key: readFileSync(`${pki.server}.key`) };
  const client = { cert: readFileSync(`${pki.client}.crt`), key: readFileSync(`${pki.client}.key`) };
  // A certificate from another CA (made by the library), for a client the server must not trust.
  const otherCa = await createCa({ commonName: 'Other CA' });
  const stranger = await issueCertificate(
    { cert: otherCa.cert, key: forge.pki.privateKeyFromPem(otherCa.keyPem) as forge.pki.rsa.PrivateKey },
    { commonName: 'stranger', server: false, client: true },
  );

  // The server asks for a client certificate and reports OpenSSL's verdict on it (checked
  // against the CA, with the TLS client purpose) instead of only hanging up.
  const seen: Array<{ cn: string | undefined; authorized: boolean; error: string | undefined }> = [];
  const tlsServer = createServer({ ...server, ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' }, (s: TLSSocket) => {
    const peer = s.getPeerCertificate();
    seen.push({ cn: peer.subject?.CN === undefined ? undefined : String(peer.subject.CN), authorized: s.authorized, error: s.authorizationError ? String(s.authorizationError) : undefined });
    s.end(s.authorized ? 'hello\n' : 'refused\n');
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '::', resolve));
  t.teardown(() => new Promise<void>((resolve) => tlsServer.close(() => resolve())));
  const port = (tlsServer.address() as { port: number }).port;

  /** Connects, verifying the server against our CA; resolves with what the server sent, or rejects with the client-side error. */
  const talk = (host: string, opts: { servername?: string; cert?: Buffer | string; key?: Buffer | string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect({ host, port, ca, ...opts }, () => {
        t.ok(s.authorized, `${host}: the client verified the server certificate`);
        let data = '';
        s.setEncoding('utf8').on('data', (d: string) => (data += d));
        s.on('end', () => resolve(data));
      });
      s.on('error', reject);
      s.setTimeout(5_000, () => s.destroy(new Error('timeout')));
    });

  t.equal(await talk('127.0.0.1', client), 'hello\n', 'IPv4 address in the SAN, client certificate accepted');
  t.equal(await talk('::1', client), 'hello\n', 'IPv6 address in the SAN');
  t.equal(await talk('localhost', { ...client, servername: 'localhost' }), 'hello\n', 'DNS name in the SAN');
  t.equal(await talk('127.0.0.1', { ...client, maxVersion: 'TLSv1.2' }), 'hello\n', 'TLS 1.2 as well');
  t.same(
    seen.splice(0),
    Array(4).fill({ cn: 'nas-17', authorized: true, error: undefined }),
    'the server verified the client certificate each time',
  );

  await t.rejects(talk('127.0.0.1', { ...client, servername: 'other.example.test' }), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'a name not in the certificate is refused by the client');

  t.equal(await talk('127.0.0.1', { ...server }), 'refused\n', 'a serverAuth-only certificate as client certificate');
  t.equal(await talk('127.0.0.1', { cert: stranger.certPem, key: stranger.keyPem }), 'refused\n', 'a client certificate of another CA');
  t.equal(await talk('127.0.0.1', {}), 'refused\n', 'no client certificate');
  t.match(seen, [
    { cn: 'localhost', authorized: false, error: 'INVALID_PURPOSE' },
    { cn: 'stranger', authorized: false, error: /^UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/ },
    { cn: undefined, authorized: false },
  ]);
});

t.test('show: expiry warnings and exit status', async (t) => {
  const dir = await tempDir(t, 'aaaproxy-certs-');
  const ca = join(dir, 'ca');
  await cli(t, ['certs', 'init', '--dir', ca, '--cn', 'Expiry CA'], 0);
  await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'soon.example.test', '--days', '3', '--out', join(dir, 'soon')], 0);
  const soon = join(dir, 'soon.crt');

  const ok = await cli(t, ['certs', 'show', join(ca, 'ca.crt')], 0);
  t.match(ok.stdout, /not after: +\S+ \(3649 days left\)/, 'the CA: 10 years');

  const warn = await cli(t, ['certs', 'show', soon], 1);
  t.match(warn.stdout, /not after: +\S+ \(2 days left\)/);
  t.match(warn.stderr, `warning: ${soon}: CN=soon.example.test: expires within 30 days: in 2 days`);
  await cli(t, ['certs', 'show', '--warn-days', '2', soon], 0);

  // An expired certificate (made by the library with a clock 10 days back; the CLI cannot back-date).
  const old = await createCa({ commonName: 'Expired CA', days: 1, now: new Date(Date.now() - 10 * DAY) });
  writeFileSync(join(dir, 'expired.crt'), old.certPem);
  const expired = await cli(t, ['certs', 'show', join(dir, 'expired.crt')], 1);
  t.match(expired.stdout, '(expired)');
  t.match(expired.stderr, /CN=Expired CA: expired on \d{4}-/);

  // Several files: the worst status wins, every readable file is still shown.
  const mixed = await cli(t, ['certs', 'show', join(ca, 'ca.crt'), join(dir, 'missing.crt'), soon, join(ca, 'ca.key')], 2);
  t.match(mixed.stdout, 'CN=Expiry CA');
  t.match(mixed.stdout, 'CN=soon.example.test');
  t.match(mixed.stderr, `cannot read ${join(dir, 'missing.crt')}: ENOENT [AAA_ERR_CERT_READ]`);
  t.match(mixed.stderr, 'no certificate in the file [AAA_ERR_CERT_PARSE]');
  t.notMatch(mixed.stdout + mixed.stderr, 'PRIVATE KEY', 'the key file is not echoed');

  // A certificate that is not RSA and not ours: ECDSA from openssl.
  const ec = join(dir, 'ec.crt');
  const made = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ec.key'), '-out', ec, '-subj', '/CN=ec.example.test/O=Example, Inc.', '-addext', 'subjectAltName=DNS:ec.example.test,IP:2001:db8::1', '-days', '90']);
  t.equal(made.code, 0, 'openssl made an ECDSA certificate', { stderr: made.stderr });
  const ecShow = await cli(t, ['certs', 'show', ec], 0);
  t.match(ecShow.stdout, 'subject:       CN=ec.example.test, O=Example\\, Inc.');
  t.match(ecShow.stdout, 'SANs:          DNS:ec.example.test, IP:2001:db8::1');
  const ecSerial = /^serial=([0-9A-F]+)$/m.exec((await openssl(['x509', '-in', ec, '-noout', '-serial'])).stdout)?.[1];
  t.match(ecShow.stdout, `serial:        ${ecSerial}`);
});

t.test('refusals: existing files, bad input, a missing or outlived CA', async (t) => {
  const dir = await tempDir(t, 'aaaproxy-certs-');
  const ca = join(dir, 'ca');
  await cli(t, ['certs', 'init', '--dir', ca, '--cn', 'Refusal CA', '--days', '30', '--key-size', '3072'], 0);
  t.match((await openssl(['x509', '-in', join(ca, 'ca.crt'), '-noout', '-text'])).stdout, 'Public-Key: (3072 bit)', '--key-size 3072');
  const keyBefore = readFileSync(join(ca, 'ca.key'), 'utf8');

  const again = await cli(t, ['certs', 'init', '--dir', ca], 1);
  t.match(again.stderr, 'already exist');
  t.match(again.stderr, '[AAA_ERR_CERT_EXISTS]');
  t.equal(readFileSync(join(ca, 'ca.key'), 'utf8'), keyBefore, 'the CA key is untouched');

  const out = join(dir, 'srv');
  await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'srv.example.test', '--out', out], 0);
  const srvKey = readFileSync(`${out}.key`, 'utf8');
  const twice = await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'srv.example.test', '--out', out], 1);
  t.match(twice.stderr, '[AAA_ERR_CERT_EXISTS]');
  t.equal(readFileSync(`${out}.key`, 'utf8'), srvKey, 'the existing key is untouched');
  await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'srv.example.test', '--out', out, '--force'], 0);
  t.not(readFileSync(`${out}.key`, 'utf8'), srvKey, '--force: a new key');
  t.equal(mode(`${out}.key`), 0o600, 'still 0600');

  const badSan = await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'x.test', '--san', 'DNS:ok.test,IP:300.1.2.3', '--out', join(dir, 'x')], 2);
  t.match(badSan.stderr, "'IP:300.1.2.3': not an IPv4 or IPv6 address [AAA_ERR_CERT_BAD_SAN]");
  const badKind = await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'x.test', '--san', 'email:a@b.test', '--out', join(dir, 'x')], 2);
  t.match(badKind.stderr, 'expected DNS:name or IP:address');
  const days = await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'x.test', '--days', '0', '--out', join(dir, 'x')], 2);
  t.match(days.stderr, 'days must be a whole number from 1 to 3650, got 0 [AAA_ERR_CERT_BAD_DAYS]');
  const outlives = await cli(t, ['certs', 'issue', '--ca-dir', ca, '--cn', 'x.test', '--days', '31', '--out', join(dir, 'x')], 1);
  t.match(outlives.stderr, 'after the CA expires');
  t.match(outlives.stderr, '[AAA_ERR_CERT_OUTLIVES_CA]');
  const missing = await cli(t, ['certs', 'issue', '--ca-dir', join(dir, 'nope'), '--cn', 'x.test', '--out', join(dir, 'x')], 1);
  t.match(missing.stderr, `${join(dir, 'nope', 'ca.crt')} does not exist`);
  t.match(missing.stderr, '[AAA_ERR_CERT_CA_MISSING]');
  const keySize = await cli(t, ['certs', 'init', '--dir', join(dir, 'ca2'), '--key-size', '1024'], 2);
  t.match(keySize.stderr, '[AAA_ERR_CERT_BAD_KEY_SIZE]');
  t.throws(() => statSync(join(dir, 'x.key')), 'nothing was written by the refused commands');

  // --force on init replaces the CA: certificates of the old one no longer verify.
  await cli(t, ['certs', 'init', '--dir', ca, '--cn', 'Refusal CA', '--force'], 0);
  t.not(readFileSync(join(ca, 'ca.key'), 'utf8'), keyBefore);
  t.equal(mode(join(ca, 'ca.key')), 0o600);
  t.not((await openssl(['verify', '-CAfile', join(ca, 'ca.crt'), `${out}.crt`])).code, 0, 'the old certificate does not verify against the new CA');
});

t.test('help', async (t) => {
  const top = await cli(t, ['--help'], 0);
  t.match(top.stdout, /^ {2}certs {10}private CA and TLS certificates \(init, issue, show\)$/m);
  const certs = await cli(t, ['certs', '--help'], 0);
  t.match(certs.stdout, 'Usage: aaaproxy certs <init|issue|show>');
  const issue = await cli(t, ['certs', 'issue', '--help'], 0);
  t.match(issue.stdout, '--san LIST');
  const show = await cli(t, ['certs', 'show', '--help'], 0);
  t.match(show.stdout, 'Exit status: 0');
  await cli(t, ['certs', 'show'], 2);
});
