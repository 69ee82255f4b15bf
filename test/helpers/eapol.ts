/**
 * eapol_test (Debian's `eapoltest`, wpa_supplicant 2.10) as an 802.1X NAS + supplicant:
 * it runs one EAP conversation over RADIUS to 127.0.0.1:port and reports what it saw.
 *
 * What eapol_test prints (all parsed here, one line each):
 *   EAP-PEAP: Derived key - hexdump(len=64): 57 5a ...      the MSK the supplicant derived
 *                                                           (EAP-TTLS:, EAP-TLS: likewise)
 *   MS-MPPE-Send-Key (sign) - hexdump(len=32): 0d b6 ...    keys decrypted from the
 *   MS-MPPE-Recv-Key (crypt) - hexdump(len=32): 57 5a ...   Access-Accept (RFC 2548)
 *   PMK from EAPOL - hexdump(len=32): 57 5a ...             first half of the MSK
 *   WARNING: PMK mismatch                                   the Recv-Key is not the PMK
 *   MPPE keys OK: 1  mismatch: 0                            one per authentication (-r)
 *   SUCCESS | FAILURE                                       last line; exit 0 on SUCCESS
 * and every RADIUS message both ways as
 *   RADIUS message: code=2 (Access-Accept) identifier=9 length=218
 *      Attribute 79 (EAP-Message) length=6
 *         Value: 03400004
 * eapol_test compares the PMK with the MS-MPPE-Recv-Key of the Access-Accept itself: "MPPE
 * keys OK" is the proof that the keys the server (or a proxy, re-encrypted with its own
 * secret) sent match what the supplicant derived.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const EAPOL_TEST = process.env['EAPOL_TEST'] ?? '/usr/bin/eapol_test';

export type EapolConfig = 'peap-mschapv2' | 'ttls-pap' | 'ttls-mschapv2' | 'eap-tls' | 'eap-md5';

export interface EapolOptions {
  port: number;
  secret: string;
  config: EapolConfig;
  /** The inner identity (and the outer one unless anonymousIdentity is given). */
  identity: string;
  /** Not used by eap-tls. */
  password?: string;
  /** CA certificate the supplicant checks the server against (all but eap-md5). */
  caCert?: string;
  /** Outer identity for PEAP/TTLS (e.g. `anonymous@example.org`): the User-Name a proxy routes on. */
  anonymousIdentity?: string;
  /** eap-tls client certificate and key. */
  clientCert?: string;
  clientKey?: string;
  /** Calling-Station-Id (-M); a random locally administered MAC by default. */
  mac?: string;
  /** Server address (-a), default 127.0.0.1. */
  address?: string;
  /** eapol_test's own timeout (-t) in seconds, default 10. */
  timeoutSeconds?: number;
  /** Re-authentications after the first (-r), default 0. */
  reauth?: number;
  /** Extra RADIUS attributes (-N), e.g. `30:s:ssid-x` (Called-Station-Id string). */
  extraAttributes?: string[];
}

export interface EapolAttribute {
  type: number;
  name: string;
  length: number;
  /** As eapol_test prints it: 'text' unquoted, or hex, or a decimal for some integers. */
  value: string;
}

export interface EapolRadiusMessage {
  direction: 'sent' | 'received';
  code: number;
  /** e.g. Access-Challenge */
  name: string;
  identifier: number;
  length: number;
  attributes: EapolAttribute[];
}

export interface EapolResult {
  /** Exit code 0 and the closing SUCCESS line. */
  success: boolean;
  exitCode: number | null;
  /** The MSK the supplicant derived (hex, 64 bytes), from "EAP-<METHOD>: Derived key". */
  msk?: string;
  /** "PMK from EAPOL" (hex, 32 bytes): the MSK's first half. */
  pmk?: string;
  /** MS-MPPE-Send-Key / Recv-Key of the last Access-Accept, decrypted (hex, 32 bytes). */
  mppeSendKey?: string;
  mppeRecvKey?: string;
  /** From "MPPE keys OK: N  mismatch: M". */
  mppeOk: number;
  mppeMismatch: number;
  /**
   * Every authentication's keys matched: mppeOk = 1 + reauth and no mismatch. Always false
   * for eap-md5, which derives no keys (run with -n: "MPPE keys OK: 0  mismatch: 0").
   */
  mppeKeysMatch: boolean;
  /** Every RADIUS message in order, both ways. */
  messages: EapolRadiusMessage[];
  /** How many Access-Requests eapol_test sent (retransmissions included). */
  accessRequests: number;
  /** The last message received (Access-Accept or Access-Reject when it got that far). */
  finalReply?: EapolRadiusMessage;
  output: string;
}

const OUTER: Record<EapolConfig, string> = {
  'peap-mschapv2': 'PEAP',
  'ttls-pap': 'TTLS',
  'ttls-mschapv2': 'TTLS',
  'eap-tls': 'TLS',
  'eap-md5': 'MD5',
};

const quote = (s: string): string => JSON.stringify(s);

/** The wpa_supplicant network block for one of the configurations. */
export function networkBlock(o: EapolOptions): string {
  const lines = ['ssid="aaaproxy-test"', 'key_mgmt=WPA-EAP', `eap=${OUTER[o.config]}`, `identity=${quote(o.identity)}`];
  if (o.anonymousIdentity !== undefined) lines.push(`anonymous_identity=${quote(o.anonymousIdentity)}`);
  if (o.config !== 'eap-tls') {
    if (o.password === undefined) throw new Error(`eapolTest ${o.config}: password required`);
    lines.push(`password=${quote(o.password)}`);
  }
  if (o.config !== 'eap-md5') {
    if (o.caCert === undefined) throw new Error(`eapolTest ${o.config}: caCert required`);
    lines.push(`ca_cert=${quote(o.caCert)}`);
  }
  switch (o.config) {
    case 'peap-mschapv2':
      lines.push('phase1="peapver=0"', 'phase2="auth=MSCHAPV2"');
      break;
    case 'ttls-pap':
      lines.push('phase2="auth=PAP"');
      break;
    case 'ttls-mschapv2':
      lines.push('phase2="auth=MSCHAPV2"');
      break;
    case 'eap-tls':
      if (o.clientCert === undefined || o.clientKey === undefined) throw new Error('eapolTest eap-tls: clientCert and clientKey required');
      lines.push(`client_cert=${quote(o.clientCert)}`, `private_key=${quote(o.clientKey)}`);
      break;
    case 'eap-md5':
      break;
  }
  return `network={\n${lines.map((l) => `\t${l}`).join('\n')}\n}\n`;
}

const hex = (dump: string): string => dump.trim().split(/\s+/).join('');

/** Parses eapol_test's output (exported for unit use). */
export function parseEapolOutput(output: string, exitCode: number | null, config: EapolConfig, reauth = 0): EapolResult {
  const lines = output.split('\n');
  const last = (re: RegExp): RegExpExecArray | undefined => {
    let found: RegExpExecArray | undefined;
    for (const l of lines) found = re.exec(l) ?? found;
    return found;
  };
  const dump = (label: string): string | undefined => {
    const m = last(new RegExp(`^${label} - hexdump\\(len=\\d+\\): ([0-9a-f ]+)$`));
    return m ? hex(m[1]!) : undefined;
  };
  const messages: EapolRadiusMessage[] = [];
  let direction: 'sent' | 'received' = 'sent';
  let current: EapolRadiusMessage | undefined;
  let accessRequests = 0;
  for (const l of lines) {
    if (l === 'Sending RADIUS message to authentication server') {
      direction = 'sent';
      accessRequests++;
      continue;
    }
    if (l === 'Received RADIUS message') {
      direction = 'received';
      continue;
    }
    const msg = /^RADIUS message: code=(\d+) \(([^)]*)\) identifier=(\d+) length=(\d+)$/.exec(l);
    if (msg) {
      current = { direction, code: Number(msg[1]), name: msg[2]!, identifier: Number(msg[3]), length: Number(msg[4]), attributes: [] };
      messages.push(current);
      continue;
    }
    const attr = /^ {3}Attribute (\d+) \(([^)]*)\) length=(\d+)$/.exec(l);
    if (attr && current) {
      current.attributes.push({ type: Number(attr[1]), name: attr[2]!, length: Number(attr[3]), value: '' });
      continue;
    }
    const value = /^ {6}Value: (.*)$/.exec(l);
    if (value && current && current.attributes.length > 0) {
      const v = value[1]!;
      current.attributes[current.attributes.length - 1]!.value = v.startsWith("'") && v.endsWith("'") ? v.slice(1, -1) : v;
      continue;
    }
    if (!l.startsWith(' ')) current = undefined;
  }
  const keys = last(/^MPPE keys OK: (\d+) +mismatch: (\d+)$/);
  const mppeOk = keys ? Number(keys[1]) : 0;
  const mppeMismatch = keys ? Number(keys[2]) : 0;
  const received = messages.filter((m) => m.direction === 'received');
  const closing = lines.filter((l) => l !== '').at(-1);
  return {
    success: exitCode === 0 && closing === 'SUCCESS',
    exitCode,
    msk: dump(`EAP-${OUTER[config]}: Derived key`),
    pmk: dump('PMK from EAPOL'),
    mppeSendKey: dump('MS-MPPE-Send-Key \\(sign\\)'),
    mppeRecvKey: dump('MS-MPPE-Recv-Key \\(crypt\\)'),
    mppeOk,
    mppeMismatch,
    mppeKeysMatch: mppeOk === reauth + 1 && mppeMismatch === 0,
    messages,
    accessRequests,
    finalReply: received.at(-1),
    output,
  };
}

function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfc) | 0x02; // locally administered, unicast
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Runs eapol_test once; never rejects on an authentication failure (see `success`). */
export async function eapolTest(o: EapolOptions): Promise<EapolResult> {
  const dir = await mkdtemp(join(tmpdir(), 'aaaproxy-eapol-'));
  try {
    const conf = join(dir, 'eapol.conf');
    await writeFile(conf, networkBlock(o), { mode: 0o600 });
    const timeout = o.timeoutSeconds ?? 10;
    const reauth = o.reauth ?? 0;
    const args = [
      '-c', conf, '-a', o.address ?? '127.0.0.1', '-p', String(o.port), '-s', o.secret,
      '-t', String(timeout), '-r', String(reauth), '-M', o.mac ?? randomMac(),
    ];
    if (o.config === 'eap-md5') args.push('-n'); // EAP-MD5 derives no keys: expect none
    for (const a of o.extraAttributes ?? []) args.push('-N', a);
    const { output, code } = await new Promise<{ output: string; code: number | null }>((resolve, reject) => {
      const child = spawn(EAPOL_TEST, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: string[] = [];
      child.stdout.setEncoding('utf8').on('data', (s: string) => chunks.push(s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => chunks.push(s));
      // eapol_test enforces -t itself; this only guards against a wedged process.
      const guard = setTimeout(() => child.kill('SIGKILL'), (timeout + 5) * 1000);
      child.once('error', (err) => {
        clearTimeout(guard);
        reject(err);
      });
      child.once('close', (c) => {
        clearTimeout(guard);
        resolve({ output: chunks.join(''), code: c });
      });
    });
    return parseEapolOutput(output, code, o.config, reauth);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
