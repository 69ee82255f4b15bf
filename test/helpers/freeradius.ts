/**
 * Integration harness: a real FreeRADIUS 3.2 (Debian's `freeradius`) as the UPSTREAM server
 * on loopback. Its whole configuration is written here, from scratch, into a fresh temp
 * directory at test time (a minimal radiusd.conf, our own modules and two virtual servers);
 * nothing of FreeRADIUS's shipped raddb is used except the installed dictionaries
 * (/usr/share/freeradius) and module libraries (/usr/lib/freeradius).
 *
 * What the server does:
 *  - auth and acct listeners on 127.0.0.1 or `listenAddress` (free ports picked here, kept
 *    across stop/start), optionally in a network namespace (`commandPrefix`);
 *  - Status-Server answered on both (`status_server = yes`, RFC 5997), unless disabled;
 *  - one client, 127.0.0.1, with the given secret (more can be listed);
 *  - `files` authorize from the users file text the test gives, then pap, chap, mschap and
 *    eap (md5, gtc, tls, ttls, peap, mschapv2) with a test CA and server certificate made by
 *    `openssl` once per test process; the inner tunnel's reply (e.g. Tunnel-* VLAN
 *    attributes) is copied to the outer Access-Accept;
 *  - every Accounting-Request, every outer Access-Request and every Status-Server written as
 *    one line (`linelog`) to files in the temp dir, so tests can count what arrived.
 *
 * The daemon runs as `freeradius -f -l stdout` (no -X: single-threaded debug is slow under
 * load); AAAPROXY_TEST_DEBUG=1 adds `-xx` and keeps the temp dir for inspection.
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { radclient, type RadclientResult, type Teardown } from './daemon.js';
import { ServerProcess, ServerStartError } from './server-process.js';

export const FREERADIUS = process.env['FREERADIUS'] ?? '/usr/sbin/freeradius';
export const OPENSSL = process.env['OPENSSL'] ?? '/usr/bin/openssl';
export const UPSTREAM_SECRET = 'upstream-secret';

const debugEnabled = (): boolean => {
  const v = process.env['AAAPROXY_TEST_DEBUG'];
  return v !== undefined && v !== '' && v !== '0';
};

// ---------------------------------------------------------------------------------------
// Certificates: one CA, a server certificate and a client certificate (for EAP-TLS),
// generated once per test process with the openssl CLI and removed when it exits.

export interface TestCerts {
  dir: string;
  /** CA certificate (PEM): the supplicant's ca_cert, FreeRADIUS's ca_file. */
  caCert: string;
  caKey: string;
  /** Server certificate (CN and DNS SAN `radius.aaaproxy.test`) and its key. */
  serverCert: string;
  serverKey: string;
  /** Client certificate (CN `eap-tls-client`) and its key, for EAP-TLS. */
  clientCert: string;
  clientKey: string;
  /** The server certificate's CN / SAN. */
  serverName: string;
}

let certsPromise: Promise<TestCerts> | undefined;

/** The per-process test PKI (created on first use). EC P-256 keys: generation is instant. */
export function testCerts(): Promise<TestCerts> {
  certsPromise ??= makeCerts().catch((err: unknown) => {
    certsPromise = undefined;
    throw err;
  });
  return certsPromise;
}

const run = promisify(execFile);

async function makeCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'aaaproxy-certs-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const p = (f: string) => join(dir, f);
  const serverName = 'radius.aaaproxy.test';
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await writeFile(
    p('ext.cnf'),
    [
      '[server]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      `subjectAltName = DNS:${serverName}`,
      '[client]',
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  await run(OPENSSL, [
    'req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '3', '-subj', '/CN=aaaproxy test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const leaf = async (name: string, cn: string, section: string, serial: string) => {
    await run(OPENSSL, ['req', '-new', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', `/CN=${cn}`]);
    await run(OPENSSL, [
      'x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-set_serial', serial,
      '-days', '2', '-extfile', p('ext.cnf'), '-extensions', section, '-out', p(`${name}.pem`),
    ]);
  };
  await Promise.all([leaf('server', serverName, 'server', '2'), leaf('client', 'eap-tls-client', 'client', '3')]);
  return {
    dir,
    caCert: p('ca.pem'),
    caKey: p('ca.key'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    serverName,
  };
}

// ---------------------------------------------------------------------------------------
// Ports

/** A UDP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  for (;;) {
    const a = await freeUdpPort();
    const b = await freeUdpPort();
    if (a !== b) return [a, b];
  }
}

// ---------------------------------------------------------------------------------------
// Configuration

export interface FreeRadiusClient {
  /** An address or CIDR prefix (FreeRADIUS `ipaddr`). */
  address: string;
  secret: string;
  /** FreeRADIUS 3.2.1's only BlastRADIUS-era knob: drop Access-Requests without Message-Authenticator. */
  requireMessageAuthenticator?: boolean;
}

export interface FreeRadiusOptions {
  /**
   * The `files` users file (FreeRADIUS syntax), e.g.
   * `alice Cleartext-Password := "x"\n\tReply-Message = "hi", Tunnel-Type = VLAN`.
   * It is used by the outer server (PAP, CHAP, MS-CHAP) and by the inner tunnel (PEAP, TTLS),
   * whose reply items go into the outer Access-Accept. Outer EAP-MD5/GTC get the password
   * from it but not its reply items (they would otherwise ride on every Access-Challenge).
   */
  users: string;
  /** Secret of the 127.0.0.1 client (default UPSTREAM_SECRET). Ignored when `clients` is given. */
  secret?: string;
  /** `require_message_authenticator` of that client (default false). */
  requireMessageAuthenticator?: boolean;
  /** Replaces the single 127.0.0.1 client. */
  clients?: FreeRadiusClient[];
  /**
   * Put Message-Authenticator in every Access-Accept/Reject and in answers to Status-Server
   * (what FreeRADIUS >= 3.2.5 does). Default false: 3.2.1 signs only EAP replies.
   */
  replyMessageAuthenticator?: boolean;
  /** Answer Status-Server (security.status_server); default true. */
  statusServer?: boolean;
  /** security.reject_delay in seconds (default 0: tests want rejects at once). */
  rejectDelay?: number;
  /** Fixed ports instead of free ones picked here. */
  authPort?: number;
  acctPort?: number;
  /**
   * unlang put first in the outer `authorize` (after the request is logged), e.g.
   * `if (&User-Name == "mute") { update control { &Response-Packet-Type := Do-Not-Respond }\n handled }`.
   */
  authorize?: string;
  /** unlang put first in the outer `post-auth`. */
  postAuth?: string;
  /** unlang put in `Post-Auth-Type REJECT` after the reply is emptied, e.g. a Reply-Message for the reject. */
  postAuthReject?: string;
  /** unlang put first in `accounting` (after the request is logged). */
  accounting?: string;
  /** EAP types: default_eap_type of the eap module (default md5; supplicants NAK to theirs). */
  defaultEapType?: string;
  /** Milliseconds to wait for the server to answer Status-Server after spawn (default 10 s). */
  startTimeoutMs?: number;
  /** Label used in error messages (default `freeradius`). */
  name?: string;
  /**
   * Address of the auth and acct listeners (default 127.0.0.1); the start-up probes go there
   * too, so the clients must include the address they come from.
   */
  listenAddress?: string;
  /** Put before the server's command line, e.g. `['ip', 'netns', 'exec', NS]` (must exec, not fork). */
  commandPrefix?: string[];
  /**
   * Acts as a NAS's dynamic-authorization server (RFC 5176): a `listen { type = coa }` on a free
   * port (coaPort) whose `recv-coa` (Disconnect-Request and CoA-Request alike) runs this unlang
   * after logging the request (coaRecords); the section's result decides ACK (ok, updated) or
   * NAK (reject, with `update reply { &Error-Cause := ... }` for the cause). Empty: ACK all.
   */
  coa?: string;
}

/** A line of one of the linelog files, split into its `Name=value` fields. */
export type LoggedRequest = Record<string, string>;

export interface RunningFreeRadius {
  authPort: number;
  acctPort: number;
  /** The raddb (temp dir) the server runs from. */
  dir: string;
  /** Secret of the first client. */
  secret: string;
  certs: TestCerts;
  /** True while the process is running (paused included). */
  readonly running: boolean;
  /** SIGTERM (SIGKILL after 3 s) and wait for exit; idempotent. The ports are closed. */
  stop(): Promise<void>;
  /** Start again after stop(), on the same ports and config; resolves once Status-Server is answered. */
  start(): Promise<void>;
  /** SIGSTOP: the ports stay bound but nothing is answered (a hung server, no ICMP). */
  pause(): void;
  /** SIGCONT after pause(); the queued requests are then processed. */
  resume(): void;
  /** One line per Accounting-Request received (tab-separated `Name=value` fields). */
  accountingLines(): Promise<string[]>;
  accountingRecords(): Promise<LoggedRequest[]>;
  /** With `coa`: the port of the coa listener (0 otherwise). */
  coaPort: number;
  /** With `coa`: one line per Disconnect-Request/CoA-Request received. */
  coaRecords(): Promise<LoggedRequest[]>;
  /** One line per Access-Request received by the outer server (each EAP round counts). */
  authLines(): Promise<string[]>;
  authRecords(): Promise<LoggedRequest[]>;
  /** One line per Status-Server answered (auth and acct ports), the harness's own start-up probes left out. */
  statusLines(): Promise<string[]>;
  statusRecords(): Promise<LoggedRequest[]>;
  /** Polls accountingLines() until there are at least n; resolves with them. */
  waitForAccounting(n: number, timeoutMs?: number): Promise<string[]>;
  /** Everything the server logged (stdout and stderr), across restarts. */
  logs(): string;
  /** The generated radiusd.conf (for failure messages). */
  config(): Promise<string>;
}

const q = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Fields written per request; `Name=value`, tab-separated (FreeRADIUS xlat). */
const AUTH_FIELDS = [
  'Packet-Src-IP-Address', 'Packet-Src-Port', 'User-Name', 'NAS-IP-Address', 'NAS-Identifier', 'Calling-Station-Id',
  'Called-Station-Id', 'State',
];
const ACCT_FIELDS = [
  'Acct-Status-Type', 'Acct-Session-Id', 'Acct-Delay-Time', 'User-Name', 'NAS-IP-Address', 'NAS-Identifier', 'NAS-Port',
  'Calling-Station-Id', 'Framed-IP-Address', 'Acct-Session-Time', 'Acct-Input-Octets', 'Acct-Output-Octets',
  'Acct-Terminate-Cause', 'Class', 'Packet-Src-IP-Address', 'Packet-Src-Port',
  // The Request Authenticator (0x + 32 hex digits): a replayed record must carry a new one.
  'Packet-Authentication-Vector',
];
/** Counts (the `[#]` xlat): how many of each attribute the request carried. */
const COUNTED = ['Proxy-State', 'Message-Authenticator', 'EAP-Message'];

function linelogFormat(fields: string[], extra: string[] = []): string {
  const parts = [
    ...fields.map((f) => `${f}=%{${f}}`),
    ...COUNTED.map((f) => `${f}-Count=%{${f}[#]}`),
    'Proxy-State=%{Proxy-State[*]}',
    ...extra,
  ];
  // A literal tab: the 3.2 config parser keeps "\t" as two characters, and so does linelog.
  return parts.join('\t');
}

function renderConfig(dir: string, certs: TestCerts, o: FreeRadiusOptions, authPort: number, acctPort: number, coaPort = 0): Record<string, string> {
  const clients = o.clients ?? [{ address: '127.0.0.1', secret: o.secret ?? UPSTREAM_SECRET, requireMessageAuthenticator: o.requireMessageAuthenticator ?? false }];
  const clientsConf = clients
    .map(
      (c, i) => `client c${i} {
	ipaddr = ${c.address}
	secret = ${q(c.secret)}
	require_message_authenticator = ${c.requireMessageAuthenticator ? 'yes' : 'no'}
	nas_type = other
}`,
    )
    .join('\n');

  // FreeRADIUS 3.2.1 (before the BlastRADIUS releases) signs only replies to EAP; with a
  // Message-Authenticator in the reply list it computes and sends one (RFC 3579 §3.2).
  const signReplies = o.replyMessageAuthenticator
    ? '\t\tupdate reply {\n\t\t\t&Message-Authenticator := 0x00\n\t\t}'
    : '';
  const radiusd = `# written by test/helpers/freeradius.ts
prefix = /usr
exec_prefix = /usr
sysconfdir = ${dir}
localstatedir = ${dir}
sbindir = /usr/sbin
logdir = ${dir}/log
raddbdir = ${dir}
radacctdir = ${dir}/log
name = freeradius
confdir = ${dir}
modconfdir = ${dir}
certdir = ${certs.dir}
cadir = ${certs.dir}
run_dir = ${dir}/run
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/run/freeradius.pid
correct_escapes = true
max_request_time = 5
cleanup_delay = 2
max_requests = 65536
hostname_lookups = no

log {
	destination = stdout
	colourise = no
	stripped_names = no
	auth = no
	auth_badpass = no
	auth_goodpass = no
}

security {
	allow_core_dumps = no
	max_attributes = 200
	reject_delay = ${o.rejectDelay ?? 0}
	status_server = ${o.statusServer === false ? 'no' : 'yes'}
}

proxy_requests = no

${clientsConf}

thread pool {
	start_servers = 4
	max_servers = 32
	min_spare_servers = 2
	max_spare_servers = 8
	max_requests_per_server = 0
	auto_limit_acct = no
}

modules {
	always ok {
		rcode = ok
	}
	always reject {
		rcode = reject
	}
	always handled {
		rcode = handled
	}
	pap {
		normalise = yes
	}
	chap {
	}
	mschap {
	}
	files {
		filename = ${dir}/users
		acctusersfile = ${dir}/empty
		preproxy_usersfile = ${dir}/empty
	}
	linelog log_auth {
		filename = ${dir}/auth.log
		permissions = 0600
		format = "${linelogFormat(AUTH_FIELDS)}"
	}
	linelog log_acct {
		filename = ${dir}/accounting.log
		permissions = 0600
		format = "${linelogFormat(ACCT_FIELDS, ['Event-Timestamp=%{integer:Event-Timestamp}'])}"
	}
	linelog log_coa {
		filename = ${dir}/coa.log
		permissions = 0600
		format = "Packet-Type=%{Packet-Type}\tMessage-Authenticator=%{hex:Message-Authenticator}\t${linelogFormat(['User-Name', 'Acct-Session-Id', 'Filter-Id', 'Packet-Src-IP-Address'])}"
	}
	linelog log_status {
		filename = ${dir}/status.log
		permissions = 0600
		format = "Packet-Type=%{Packet-Type}\tPacket-Dst-Port=%{Packet-Dst-Port}\t${linelogFormat(['Packet-Src-IP-Address', 'Packet-Src-Port', 'NAS-Identifier'])}"
	}
	eap {
		default_eap_type = ${o.defaultEapType ?? 'md5'}
		timer_expire = 60
		ignore_unknown_eap_types = no
		cisco_accounting_username_bug = no
		max_sessions = \${max_requests}
		md5 {
		}
		gtc {
			auth_type = PAP
		}
		tls-config tls-common {
			private_key_file = ${certs.serverKey}
			certificate_file = ${certs.serverCert}
			ca_file = ${certs.caCert}
			cipher_list = "DEFAULT"
			cipher_server_preference = no
			tls_min_version = "1.2"
			tls_max_version = "1.2"
			ecdh_curve = ""
			cache {
				enable = no
			}
			verify {
			}
			ocsp {
				enable = no
			}
		}
		tls {
			tls = tls-common
		}
		ttls {
			tls = tls-common
			default_eap_type = md5
			copy_request_to_tunnel = no
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}
		peap {
			tls = tls-common
			default_eap_type = mschapv2
			copy_request_to_tunnel = no
			use_tunneled_reply = no
			virtual_server = "inner-tunnel"
		}
		mschapv2 {
		}
	}
}

instantiate {
}

${o.coa === undefined ? '' : `listen {
	type = coa
	ipaddr = ${o.listenAddress ?? '127.0.0.1'}
	port = ${coaPort}
	virtual_server = coa
}

server coa {
	recv-coa {
		log_coa
${o.coa}
		ok
	}
	send-coa {
		ok
	}
}
`}
server default {
	listen {
		type = auth
		ipaddr = ${o.listenAddress ?? '127.0.0.1'}
		port = ${authPort}
	}
	listen {
		type = acct
		ipaddr = ${o.listenAddress ?? '127.0.0.1'}
		port = ${acctPort}
	}

	authorize {
		log_auth
${o.authorize ?? ''}
		chap
		mschap
		eap {
			ok = return
		}
		if (&EAP-Message) {
			# The outer identity's entry gives EAP-MD5/GTC their password; its reply items
			# would land in every Access-Challenge, so they go. PEAP and TTLS accepts carry
			# the inner tunnel's reply instead (post-auth below).
			files
			update {
				&reply: !* ANY
			}
		}
		else {
			files
		}
		pap

		Autz-Type Status-Server {
			log_status
${signReplies}
			ok
		}
	}

	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type CHAP {
			chap
		}
		Auth-Type MS-CHAP {
			mschap
		}
		mschap
		eap
	}

	preacct {
	}

	accounting {
		log_acct
${o.accounting ?? ''}
		ok

		Acct-Type Status-Server {
			log_status
			ok
		}
	}

	session {
	}

	post-auth {
${o.postAuth ?? ''}
		# The inner tunnel's reply, saved in session-state, goes into the outer Access-Accept.
		update {
			&reply: += &session-state:
		}
${signReplies}
		Post-Auth-Type REJECT {
			# A reject carries none of the user's reply items (what attr_filter.access_reject
			# is for in the shipped config). EAP requests never got them (authorize) and their
			# reply already holds the EAP-Failure and its Message-Authenticator: keep those.
			# The server copied Proxy-State into the reply before this point: put it back.
			if (!&EAP-Message) {
				update {
					&reply: !* ANY
				}
				update reply {
					&Proxy-State += &request:Proxy-State[*]
				}
			}
${o.postAuthReject ?? ''}
${signReplies}
			eap
		}
	}
}

server inner-tunnel {
	authorize {
		chap
		mschap
		eap {
			ok = return
		}
		files
		pap
	}

	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type CHAP {
			chap
		}
		Auth-Type MS-CHAP {
			mschap
		}
		mschap
		eap
	}

	session {
	}

	post-auth {
		# What a real deployment does instead of use_tunneled_reply: keep the inner reply
		# (e.g. VLAN attributes), minus what belongs to the inner conversation.
		update reply {
			&User-Name !* ANY
			&Message-Authenticator !* ANY
			&EAP-Message !* ANY
			&Proxy-State !* ANY
			&MS-MPPE-Encryption-Types !* ANY
			&MS-MPPE-Encryption-Policy !* ANY
			&MS-MPPE-Send-Key !* ANY
			&MS-MPPE-Recv-Key !* ANY
			&MS-CHAP2-Success !* ANY
		}
		update {
			&outer.session-state: += &reply:
		}
		Post-Auth-Type REJECT {
		}
	}
}
`;
  return {
    'radiusd.conf': radiusd,
    users: o.users.endsWith('\n') ? o.users : `${o.users}\n`,
    empty: '',
  };
}

// ---------------------------------------------------------------------------------------
// Process

function parseLine(line: string): LoggedRequest {
  const out: LoggedRequest = {};
  for (const field of line.split('\t')) {
    const eq = field.indexOf('=');
    if (eq > 0) out[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return out;
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export async function startFreeRadius(t: Teardown, opts: FreeRadiusOptions): Promise<RunningFreeRadius> {
  const debug = debugEnabled();
  const name = opts.name ?? 'freeradius';
  const certs = await testCerts();
  const dir = await mkdtemp(join(tmpdir(), 'aaaproxy-fr-'));
  const secret = opts.clients?.[0]?.secret ?? opts.secret ?? UPSTREAM_SECRET;
  const server = new ServerProcess({ name, debug, cleanup: [dir, certs.dir] });
  let started = false;

  const killOnExit = () => {
    server.killNow();
    if (!debug) rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  let authPort = opts.authPort ?? 0;
  let acctPort = opts.acctPort ?? 0;
  let coaPort = 0;
  const pickPorts = opts.authPort === undefined || opts.acctPort === undefined;

  const writeConfig = async () => {
    if (opts.coa !== undefined && coaPort === 0) coaPort = await freeUdpPort();
    for (const [file, text] of Object.entries(renderConfig(dir, certs, opts, authPort, acctPort, coaPort))) await writeFile(join(dir, file), text);
  };

  /** Ready = logged so, and answers Status-Server on the auth port and the acct port. */
  const ready = async (output: string): Promise<boolean> => {
    if (!/Ready to process requests/.test(output)) return false;
    if (opts.statusServer === false) return true;
    const host = opts.listenAddress;
    const probes = await Promise.all([statusServer(authPort, secret, STARTUP_PROBE, host), statusServer(acctPort, secret, STARTUP_PROBE, host)]);
    return probes.every((p) => p.code !== 'timeout');
  };

  const start = async (): Promise<void> => {
    if (server.running) return;
    const args = ['-f', '-l', 'stdout', '-d', dir, '-n', 'radiusd', ...(debug ? ['-xx'] : [])];
    const [command, ...commandArgs] = [...(opts.commandPrefix ?? []), FREERADIUS, ...args];
    for (let attempt = 0; ; attempt++) {
      if (authPort === 0 || acctPort === 0) [authPort, acctPort] = await twoFreePorts();
      await writeConfig();
      try {
        await server.start(command!, commandArgs, ready, opts.startTimeoutMs ?? 10_000, 25);
        return;
      } catch (err) {
        // Another process took a port between our probe and FreeRADIUS's bind: pick again,
        // but only the first time (restarts keep their ports, so failback tests stay honest).
        if (err instanceof ServerStartError && err.bindFailed && pickPorts && !started && attempt < 5) {
          authPort = 0;
          acctPort = 0;
          continue;
        }
        throw err;
      }
    }
  };

  const stop = () => server.stop();

  t.teardown(async () => {
    await stop();
    process.off('exit', killOnExit);
    if (debug) process.stderr.write(`[${name}] raddb kept in ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  });
  await start();
  started = true;

  const fr: RunningFreeRadius = {
    get authPort() {
      return authPort;
    },
    get acctPort() {
      return acctPort;
    },
    dir,
    secret,
    certs,
    get running() {
      return server.running;
    },
    stop,
    start,
    pause: () => server.pause(),
    resume: () => server.resume(),
    accountingLines: () => readLines(join(dir, 'accounting.log')),
    accountingRecords: async () => (await readLines(join(dir, 'accounting.log'))).map(parseLine),
    get coaPort() {
      return coaPort;
    },
    coaRecords: async () => (await readLines(join(dir, 'coa.log'))).map(parseLine),
    authLines: () => readLines(join(dir, 'auth.log')),
    authRecords: async () => (await readLines(join(dir, 'auth.log'))).map(parseLine),
    statusLines: async () => (await readLines(join(dir, 'status.log'))).filter((l) => !l.includes(`NAS-Identifier=${STARTUP_PROBE}\t`)),
    statusRecords: async () => (await fr.statusLines()).map(parseLine),
    async waitForAccounting(n, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lines = await readLines(join(dir, 'accounting.log'));
        if (lines.length >= n) return lines;
        if (Date.now() > deadline) throw new Error(`${name}: ${lines.length} accounting lines after ${timeoutMs} ms, wanted ${n}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    logs: () => server.log,
    config: () => readFile(join(dir, 'radiusd.conf'), 'utf8'),
  };
  return fr;
}

/** NAS-Identifier of the probes startFreeRadius sends to learn that the server is up. */
const STARTUP_PROBE = 'aaaproxy-harness-startup';

/**
 * Status-Server (RFC 5997) by radclient to host:port (default 127.0.0.1); one try, 1 s. The
 * NAS-Identifier tells these probes apart from a proxy's in status.log.
 */
export function statusServer(port: number, secret: string, nasIdentifier = 'aaaproxy-harness', host?: string): Promise<RadclientResult> {
  // radclient 3.2 does not add the Message-Authenticator RFC 5997 requires: ask for it.
  return radclient({ port, host, secret, type: 'status', attrs: `Message-Authenticator = 0x00, NAS-Identifier = ${JSON.stringify(nasIdentifier)}`, retries: 1, timeout: 1 });
}
