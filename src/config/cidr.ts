/** IP prefixes for client matching. Pure; imports nothing internal. */
import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** Network address as a 128-bit or 32-bit big integer, host bits cleared. */
  network: bigint;
  prefixLength: number;
}

export function ipToBigInt(address: string): { family: 4 | 6; value: bigint } | undefined {
  const family = isIP(address);
  if (family === 4) {
    const parts = address.split('.');
    let v = 0n;
    for (const p of parts) v = (v << 8n) | BigInt(Number(p));
    return { family: 4, value: v };
  }
  if (family === 6) {
    let text = address;
    const zone = text.indexOf('%');
    if (zone >= 0) text = text.slice(0, zone);
    // An embedded IPv4 tail (::ffff:192.0.2.1) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const n = ipToBigInt(v4[1]!)!.value;
      text = text.slice(0, v4.index) + ((n >> 16n) & 0xffffn).toString(16) + ':' + (n & 0xffffn).toString(16);
    }
    const [head, tail] = text.split('::') as [string, string | undefined];
    const headParts = head ? head.split(':') : [];
    const tailParts = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const fill = tail === undefined ? 0 : 8 - headParts.length - tailParts.length;
    const groups = [...headParts, ...new Array<string>(fill).fill('0'), ...tailParts];
    let v = 0n;
    for (const g of groups) v = (v << 16n) | BigInt(parseInt(g, 16));
    return { family: 6, value: v };
  }
  return undefined;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = slash >= 0 ? text.slice(0, slash) : text;
  const ip = ipToBigInt(address);
  if (!ip) return undefined;
  const bits = ip.family === 4 ? 32 : 128;
  let prefixLength = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefixLength = Number(p);
    if (prefixLength > bits) return undefined;
  }
  const hostBits = BigInt(bits - prefixLength);
  const network = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, network, prefixLength };
}

export function cidrContains(cidr: Cidr, family: 4 | 6, value: bigint): boolean {
  if (cidr.family !== family) return false;
  const bits = family === 4 ? 32 : 128;
  const hostBits = BigInt(bits - cidr.prefixLength);
  return (value >> hostBits) << hostBits === cidr.network;
}

export function isLoopbackAddress(address: string): boolean {
  const ip = ipToBigInt(address);
  if (!ip) return false;
  if (ip.family === 6) {
    if (ip.value === 1n) return true;
    // IPv4-mapped loopback ::ffff:127.0.0.0/104
    return ip.value >> 24n === 0xffff7fn;
  }
  return ip.value >> 24n === 127n;
}
