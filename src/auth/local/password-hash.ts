/**
 * Password hashing for the local users file: scrypt in the PHC string format
 * `$scrypt$ln=14,r=8,p=1$<salt>$<hash>` (base64 without padding), so cost can rise later
 * without breaking stored hashes.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// 2^14 costs about 65 ms on a 2-core VM: slow for guessing, tolerable for a login.
const DEFAULT_LOG_N = 14;
const DEFAULT_R = 8;
const DEFAULT_P = 1;
const KEY_LENGTH = 32;

interface ParsedHash {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export function parsePasswordHash(text: string): ParsedHash | undefined {
  const m = PHC.exec(text);
  if (!m) return undefined;
  const logN = Number(m[1]);
  if (logN < 10 || logN > 22) return undefined;
  return { logN, r: Number(m[2]), p: Number(m[3]), salt: Buffer.from(m[4]!, 'base64'), hash: Buffer.from(m[5]!, 'base64') };
}

function derive(password: Buffer, salt: Buffer, logN: number, r: number, p: number, length: number): Promise<Buffer> {
  const N = 2 ** logN;
  // scrypt needs 128·N·r octets; Node's default limit (32 MiB) is just below ln=15,r=8.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(Buffer.from(password, 'utf8'), salt, logN, DEFAULT_R, DEFAULT_P, KEY_LENGTH);
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${logN},r=${DEFAULT_R},p=${DEFAULT_P}$${b64(salt)}$${b64(key)}`;
}

export async function verifyPassword(password: Buffer, parsed: ParsedHash): Promise<boolean> {
  const key = await derive(password, parsed.salt, parsed.logN, parsed.r, parsed.p, parsed.hash.length);
  return timingSafeEqual(key, parsed.hash);
}
