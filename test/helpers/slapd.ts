/**
 * Integration harness: a real OpenLDAP `slapd` (Debian's `slapd`, 2.5) as an LDAP directory
 * on loopback. Its whole configuration is written here, from scratch, into a fresh temp
 * directory at test time: a static slapd.conf (no cn=config), the core/cosine/inetorgperson/nis/
 * dyngroup schemas from /etc/ldap/schema (dyngroup: groupOfURLs with memberURL, for dynamic
 * groups), optionally a small Active Directory-like schema written here (`adSchema`), one mdb
 * database under the suffix with the memberof overlay (groupOfNames `member` -> the `memberOf`
 * of the member, users and groups alike, so nested groups show), optionally the dynlist overlay
 * (`dynlist`: slapd expands groupOfURLs into `member` itself), a cleartext rootpw, and access
 * rules that let users bind with their userPassword and everyone read everything else.
 *
 * What the server does:
 *  - an ldap:// listener on 127.0.0.1 (a free TCP port picked here, kept across stop/start);
 *    with `ldaps`, also an ldaps:// listener whose certificate (SAN IP:127.0.0.1, DNS:localhost)
 *    is signed by the per-process test CA of freeradius.ts (`testCerts().caCert`). The same
 *    certificate also serves StartTLS on the ldap:// port;
 *  - the suffix entry, ou=people and ou=groups, then `opts.ldif`, are loaded with `ldapadd` as
 *    the root DN once, at the first start (the mdb database survives stop/start).
 *
 * The daemon runs as `slapd -f slapd.conf -h URLS -d stats` (foreground, connection/operation
 * log on stderr, kept by logs()); AAAPROXY_TEST_DEBUG=1 echoes it and keeps the temp dir.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardown } from './daemon.js';
import { OPENSSL, testCerts } from './freeradius.js';
import { ServerProcess, ServerStartError } from './server-process.js';

export const SLAPD = process.env['SLAPD'] ?? '/usr/sbin/slapd';
export const LDAPSEARCH = process.env['LDAPSEARCH'] ?? 'ldapsearch';
export const LDAPADD = process.env['LDAPADD'] ?? 'ldapadd';
export const LDAPWHOAMI = process.env['LDAPWHOAMI'] ?? 'ldapwhoami';
export const LDAP_SCHEMA_DIR = process.env['LDAP_SCHEMA_DIR'] ?? '/etc/ldap/schema';
export const LDAP_MODULE_DIR = process.env['LDAP_MODULE_DIR'] ?? '/usr/lib/ldap';

export const DEFAULT_SUFFIX = 'dc=example,dc=test';
export const DEFAULT_ROOT_PASSWORD = 'ldap-root-secret';

const debugEnabled = (): boolean => {
  const v = process.env['AAAPROXY_TEST_DEBUG'];
  return v !== undefined && v !== '' && v !== '0';
};

// ---------------------------------------------------------------------------------------
// Ports

/** A TCP port on 127.0.0.1 that was free a moment ago (listen on 0, read it, close). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------
// LDIF helpers

/** `{SSHA}` userPassword value (salted SHA-1, what `slappasswd` makes by default). */
export function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** An LDIF attribute line; values that LDIF cannot hold as is go base64 (`name:: ...`). */
function attr(name: string, value: string): string {
  const safe = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${name}: ${value}` : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

export interface LdapUser {
  uid: string;
  /** Stored as given: cleartext, or a `{SSHA}...` value from sshaPassword(). Omit for no password. */
  password?: string;
  cn?: string;
  sn?: string;
  mail?: string;
  /** Other attributes (name -> value or values), e.g. `{ telephoneNumber: '+1 555' }`. */
  extra?: Record<string, string | string[]>;
}

/** The DN ldapUser() gives a user: `uid=<uid>,ou=people,<suffix>`. */
export const userDn = (uid: string, suffix = DEFAULT_SUFFIX): string => `uid=${uid},ou=people,${suffix}`;
/** The DN ldapGroup() gives a group: `cn=<cn>,ou=groups,<suffix>`. */
export const groupDn = (cn: string, suffix = DEFAULT_SUFFIX): string => `cn=${cn},ou=groups,${suffix}`;

/**
 * LDIF of a dynamic group (groupOfURLs, dyngroup.schema) under ou=groups: its members are the
 * entries the LDAP URLs (RFC 4516) select, e.g. `ldap:///ou=people,dc=example,dc=test??sub?(departmentNumber=42)`.
 */
export function ldapDynamicGroup(cn: string, urls: string[], suffix = DEFAULT_SUFFIX): string {
  return `${[`dn: ${groupDn(cn, suffix)}`, 'objectClass: groupOfURLs', attr('cn', cn), ...urls.map((u) => attr('memberURL', u))].join('\n')}\n\n`;
}

/**
 * An Active Directory-like schema for tests (adSchema): sAMAccountName and userPrincipalName
 * with AD's own OIDs, and `user` as an auxiliary class that carries them (in AD it is the
 * structural class of accounts; here it goes beside inetOrgPerson). Enough for AD-style user
 * filters; AD's matching rules (LDAP_MATCHING_RULE_IN_CHAIN) are not there: slapd evaluates an
 * unknown extensible match to Undefined, so such a search finds nothing.
 */
const AD_SCHEMA = `attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.5.9 NAME 'user' AUXILIARY
	MAY ( sAMAccountName $ userPrincipalName ) )
`;

/** LDIF of an inetOrgPerson under ou=people. */
export function ldapUser(u: LdapUser, suffix = DEFAULT_SUFFIX): string {
  const lines = [
    `dn: ${userDn(u.uid, suffix)}`,
    'objectClass: inetOrgPerson',
    attr('uid', u.uid),
    attr('cn', u.cn ?? u.uid),
    attr('sn', u.sn ?? u.uid),
  ];
  if (u.mail !== undefined) lines.push(attr('mail', u.mail));
  if (u.password !== undefined) lines.push(attr('userPassword', u.password));
  for (const [k, v] of Object.entries(u.extra ?? {})) for (const one of Array.isArray(v) ? v : [v]) lines.push(attr(k, one));
  return `${lines.join('\n')}\n\n`;
}

/**
 * LDIF of a groupOfNames under ou=groups; `members` are uids (made DNs under ou=people) or
 * full DNs (anything with '='). groupOfNames needs one member at least: an empty group gets
 * `cn=nobody,<suffix>`, which names no entry.
 */
export function ldapGroup(cn: string, members: string[], suffix = DEFAULT_SUFFIX): string {
  const dns = members.map((m) => (m.includes('=') ? m : userDn(m, suffix)));
  if (dns.length === 0) dns.push(`cn=nobody,${suffix}`);
  return `${[`dn: ${groupDn(cn, suffix)}`, 'objectClass: groupOfNames', attr('cn', cn), ...dns.map((d) => attr('member', d))].join('\n')}\n\n`;
}

function baseLdif(suffix: string): string {
  const first = suffix.split(',')[0]!;
  const eq = first.indexOf('=');
  const type = first.slice(0, eq).trim().toLowerCase();
  const value = first.slice(eq + 1).trim();
  let top: string[];
  if (type === 'dc') top = ['objectClass: dcObject', 'objectClass: organization', attr('dc', value), attr('o', value)];
  else if (type === 'o') top = ['objectClass: organization', attr('o', value)];
  else if (type === 'ou') top = ['objectClass: organizationalUnit', attr('ou', value)];
  else throw new Error(`slapd harness: suffix must start with dc=, o= or ou= (got ${suffix})`);
  return [
    [`dn: ${suffix}`, ...top].join('\n'),
    [`dn: ou=people,${suffix}`, 'objectClass: organizationalUnit', 'ou: people'].join('\n'),
    [`dn: ou=groups,${suffix}`, 'objectClass: organizationalUnit', 'ou: groups'].join('\n'),
    '',
  ].join('\n\n');
}

// ---------------------------------------------------------------------------------------
// Client tools (ldap-utils)

export interface LdapToolResult {
  /** Exit status: 0 ok, 49 invalidCredentials, 32 noSuchObject, 255 cannot contact server... */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs an ldap-utils command; never rejects on a non-zero exit. `caCert` sets LDAPTLS_CACERT
 * (and LDAPTLS_REQCERT=demand). LDAPCONF and LDAPRC keep /etc/ldap/ldap.conf and ~/.ldaprc out of
 * it (not LDAPNOINIT: that also ignores the LDAPTLS_* variables).
 */
export function ldapTool(
  command: string,
  args: string[],
  opts: { caCert?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<LdapToolResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, LDAPCONF: '/dev/null', LDAPRC: '/nonexistent/ldaprc', ...opts.env };
  delete env['LDAPNOINIT'];
  if (opts.caCert !== undefined) {
    env['LDAPTLS_CACERT'] = opts.caCert;
    env['LDAPTLS_REQCERT'] = 'demand';
  }
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: opts.timeoutMs ?? 5000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      let code = 0;
      if (e) code = typeof e.code === 'number' ? e.code : e.killed ? -1 : -2;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (e && typeof e.code !== 'number' ? `\n${e.message}` : '') });
    });
  });
}

/** ldapwhoami -x (simple bind as dn/password); code 0 and stdout `dn:<dn>` on success, 49 on a bad password. */
export function ldapWhoami(url: string, dn: string, password: string, opts: { caCert?: string; timeoutMs?: number } = {}): Promise<LdapToolResult> {
  return ldapTool(LDAPWHOAMI, ['-x', '-H', url, '-o', 'nettimeout=2', '-D', dn, '-w', password], opts);
}

/**
 * ldapsearch -x -LLL (anonymous unless `bind` is given): `base`, `filter` (default
 * (objectClass=*)), `scope` (default sub), attributes to return.
 */
export function ldapSearch(
  url: string,
  q: { base: string; filter?: string; scope?: 'base' | 'one' | 'sub'; attrs?: string[]; bind?: { dn: string; password: string } },
  opts: { caCert?: string; timeoutMs?: number } = {},
): Promise<LdapToolResult> {
  const args = ['-x', '-LLL', '-o', 'ldif-wrap=no', '-o', 'nettimeout=2', '-H', url, '-b', q.base, '-s', q.scope ?? 'sub'];
  if (q.bind) args.push('-D', q.bind.dn, '-w', q.bind.password);
  args.push(q.filter ?? '(objectClass=*)', ...(q.attrs ?? []));
  return ldapTool(LDAPSEARCH, args, opts);
}

/** Values of `name` (case-insensitive; base64 values decoded) in -LLL ldapsearch output. */
export function ldifValues(ldif: string, name: string): string[] {
  const out: string[] = [];
  const want = name.toLowerCase();
  for (const line of ldif.split('\n')) {
    const m = /^([^:\s]+)(::?) ?(.*)$/.exec(line);
    if (!m || m[1]!.toLowerCase() !== want) continue;
    out.push(m[2] === '::' ? Buffer.from(m[3]!, 'base64').toString('utf8') : m[3]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Server

export interface SlapdOptions {
  /** Default dc=example,dc=test. Must start with dc=, o= or ou= (its entry is made here). */
  suffix?: string;
  /** Password of the root DN `cn=admin,<suffix>` (default DEFAULT_ROOT_PASSWORD); cleartext rootpw. */
  rootPassword?: string;
  /** Entries added (as the root DN) after the base entries, at the first start: see ldapUser(), ldapGroup(). */
  ldif?: string;
  /** Also listen on ldaps:// (certificate for 127.0.0.1/localhost signed by testCerts().caCert). */
  ldaps?: boolean;
  /** Replaces the default access rules (slapd.conf `access to ...` lines). */
  access?: string;
  /** Anonymous read of everything but userPassword (default true); false: only bound users read. */
  anonymousRead?: boolean;
  /** Also the AD-like schema (sAMAccountName, userPrincipalName, auxiliary class `user`). */
  adSchema?: boolean;
  /** Load the dynlist overlay: groupOfURLs entries get their `member` values from memberURL. */
  dynlist?: boolean;
  /** Milliseconds to wait for the server to answer a rootDSE search after spawn (default 10 s). */
  startTimeoutMs?: number;
  /** Label used in error messages (default `slapd`). */
  name?: string;
}

export interface RunningSlapd {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:PORT when `ldaps` was asked for. */
  ldapsUrl?: string;
  port: number;
  ldapsPort?: number;
  /** cn=admin,<suffix> */
  rootDn: string;
  rootPassword: string;
  suffix: string;
  /** The temp dir holding slapd.conf, the database and the certificates. */
  dir: string;
  /** CA certificate (PEM path) that verifies the ldaps certificate (set with `ldaps`). */
  caCert?: string;
  /** True while the process is running (paused included). */
  readonly running: boolean;
  /** SIGTERM (SIGKILL after 3 s) and wait for exit; idempotent. The ports are closed. */
  stop(): Promise<void>;
  /** Start again after stop(), same ports, config and data; resolves once it answers. */
  start(): Promise<void>;
  /** SIGSTOP: connections are still accepted by the kernel but nothing is answered. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Everything slapd logged (stats level, stderr), across restarts. */
  logs(): string;
  /** The generated slapd.conf. */
  config(): string;
  /** ldapadd (as the root DN) of more entries at run time. */
  add(ldif: string): Promise<void>;
}

const qc = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

interface Tls {
  /** The per-process test PKI dir (testCerts().dir), removed by the watchdog too. */
  pkiDir: string;
  caCert: string;
  cert: string;
  key: string;
}

/** A server certificate for 127.0.0.1/localhost signed by the per-process test CA, in `dir`. */
async function ldapsCert(dir: string): Promise<Tls> {
  const ca = await testCerts();
  const p = (f: string) => join(dir, f);
  await writeFile(
    p('ext.cnf'),
    [
      '[server]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      'subjectAltName = IP:127.0.0.1, DNS:localhost',
      '',
    ].join('\n'),
  );
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile(OPENSSL, args, (err, _o, stderr) => (err ? reject(new Error(`openssl ${args[0]}: ${err.message}\n${stderr}`)) : resolve())),
    );
  await run(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost']);
  await run([
    'x509', '-req', '-in', p('server.csr'), '-CA', ca.caCert, '-CAkey', ca.caKey, '-set_serial', String(Date.now()),
    '-days', '2', '-extfile', p('ext.cnf'), '-extensions', 'server', '-out', p('server.pem'),
  ]);
  // A copy of the CA next to the server's own files: the test PKI goes when the process exits.
  await copyFile(ca.caCert, p('ca.pem'));
  return { pkiDir: ca.dir, caCert: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

function renderConfig(dir: string, o: SlapdOptions, suffix: string, rootDn: string, rootPassword: string, tls: Tls | undefined): string {
  const schemas = ['core', 'cosine', 'inetorgperson', 'nis', 'dyngroup'].map((s) => `include ${join(LDAP_SCHEMA_DIR, `${s}.schema`)}`);
  if (o.adSchema) schemas.push(`include ${join(dir, 'ad.schema')}`);
  const access =
    o.access ??
    (o.anonymousRead === false
      ? 'access to attrs=userPassword\n\tby self write\n\tby anonymous auth\n\tby * none\naccess to *\n\tby users read\n\tby anonymous auth\n\tby * none'
      : 'access to attrs=userPassword\n\tby self write\n\tby anonymous auth\n\tby * none\naccess to *\n\tby * read');
  return `# written by test/helpers/slapd.ts
${schemas.join('\n')}

pidfile ${join(dir, 'slapd.pid')}
argsfile ${join(dir, 'slapd.args')}
modulepath ${LDAP_MODULE_DIR}
moduleload back_mdb
moduleload memberof
${o.dynlist ? 'moduleload dynlist\n' : ''}sizelimit 1000
${
  tls
    ? `TLSCACertificateFile ${tls.caCert}
TLSCertificateFile ${tls.cert}
TLSCertificateKeyFile ${tls.key}
`
    : ''
}
database mdb
maxsize 67108864
suffix ${qc(suffix)}
rootdn ${qc(rootDn)}
rootpw ${qc(rootPassword)}
directory ${join(dir, 'db')}
index objectClass eq
index uid,cn,member,memberOf eq
${o.adSchema ? 'index sAMAccountName eq\n' : ''}
${access}

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
${o.dynlist ? '\noverlay dynlist\ndynlist-attrset groupOfURLs memberURL member\n' : ''}`;
}

export async function startSlapd(t: Teardown, opts: SlapdOptions = {}): Promise<RunningSlapd> {
  const debug = debugEnabled();
  const name = opts.name ?? 'slapd';
  const suffix = opts.suffix ?? DEFAULT_SUFFIX;
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = opts.rootPassword ?? DEFAULT_ROOT_PASSWORD;
  const dir = await mkdtemp(join(tmpdir(), 'aaaproxy-slapd-'));
  await mkdir(join(dir, 'db'));
  // Made once the test PKI exists (ldapsCert); the cleanup is registered before, so a failing
  // ldapsCert still removes the dir.
  let server: ServerProcess | undefined;
  let started = false;

  const killOnExit = () => {
    server?.killNow();
    if (!debug) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);
  t.teardown(async () => {
    await stop();
    process.off('exit', killOnExit);
    if (debug) process.stderr.write(`[${name}] slapd dir kept in ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  });

  const tls = opts.ldaps ? await ldapsCert(dir) : undefined;
  // The test PKI goes with the dir if the test process dies (as freeradius.ts's does).
  const proc = (server = new ServerProcess({ name, debug, cleanup: tls ? [dir, tls.pkiDir] : [dir] }));
  let port = 0;
  let ldapsPort = 0;
  const url = () => `ldap://127.0.0.1:${port}`;
  const ldapsUrl = () => `ldaps://127.0.0.1:${ldapsPort}`;
  let configText = '';

  const probe = async (): Promise<boolean> => {
    const r = await ldapSearch(url(), { base: '', scope: 'base', attrs: ['namingContexts'] }, { timeoutMs: 2000 });
    if (r.code !== 0) return false;
    if (!tls) return true;
    const s = await ldapSearch(ldapsUrl(), { base: '', scope: 'base', attrs: ['namingContexts'] }, { caCert: tls.caCert, timeoutMs: 2000 });
    return s.code === 0;
  };

  /** Writes the config and spawns; ready once slapd says so and answers a root DSE search. */
  const spawnOnce = async (): Promise<void> => {
    configText = renderConfig(dir, opts, suffix, rootDn, rootPassword, tls);
    if (opts.adSchema) await writeFile(join(dir, 'ad.schema'), AD_SCHEMA);
    await writeFile(join(dir, 'slapd.conf'), configText);
    const urls = [`${url()}/`, ...(tls ? [`${ldapsUrl()}/`] : [])].join(' ');
    const ready = async (output: string) => /slapd starting/.test(output) && (await probe());
    await proc.start(SLAPD, ['-f', join(dir, 'slapd.conf'), '-h', urls, '-d', 'stats'], ready, opts.startTimeoutMs ?? 10_000, 20);
  };

  const add = async (ldif: string): Promise<void> => {
    if (ldif.trim() === '') return;
    const file = join(dir, `add-${Date.now()}-${Math.random().toString(36).slice(2)}.ldif`);
    await writeFile(file, ldif.endsWith('\n') ? ldif : `${ldif}\n`);
    const r = await ldapTool(LDAPADD, ['-x', '-H', url(), '-D', rootDn, '-w', rootPassword, '-f', file], { timeoutMs: 10_000 });
    await rm(file, { force: true });
    if (r.code !== 0) throw new Error(`${name}: ldapadd failed (${r.code}): ${r.stderr}\n${r.stdout}`);
  };

  const start = async (): Promise<void> => {
    if (proc.running) return;
    for (let attempt = 0; ; attempt++) {
      if (port === 0) port = await freeTcpPort();
      if (tls && ldapsPort === 0) {
        do ldapsPort = await freeTcpPort();
        while (ldapsPort === port);
      }
      try {
        await spawnOnce();
        break;
      } catch (err) {
        // Another process took a port between our probe and slapd's bind: pick again, but only
        // the first time (restarts keep their ports).
        if (err instanceof ServerStartError && err.bindFailed && !started && attempt < 5) {
          port = 0;
          ldapsPort = 0;
          continue;
        }
        throw err;
      }
    }
    if (!started) {
      started = true;
      await add(baseLdif(suffix) + (opts.ldif ? `\n${opts.ldif}` : ''));
    }
  };

  const stop = async (): Promise<void> => {
    await server?.stop();
  };

  await start();

  const s: RunningSlapd = {
    get url() {
      return url();
    },
    get ldapsUrl() {
      return tls ? ldapsUrl() : undefined;
    },
    get port() {
      return port;
    },
    get ldapsPort() {
      return tls ? ldapsPort : undefined;
    },
    rootDn,
    rootPassword,
    suffix,
    dir,
    caCert: tls?.caCert,
    get running() {
      return proc.running;
    },
    stop,
    start,
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    logs: () => proc.log,
    config: () => configText,
    add,
  };
  return s;
}
