/**
 * Interface names (eth1, a VLAN such as eth0.20, a bridge or virtual port) resolved to the
 * address traffic is bound to. Read at config load, so a reload sees the host as it is then.
 */
import { networkInterfaces } from 'node:os';

export type AddressFamily = 'ipv4' | 'ipv6';

export type InterfaceLookup = { ok: true; address: string } | { ok: false; message: string };

/** The interface's first address of the family, preferring global over link-local (fe80::/10 needs a scope). */
export function resolveInterface(name: string, family: AddressFamily, table = networkInterfaces()): InterfaceLookup {
  const entries = table[name];
  if (!entries) {
    const known = Object.keys(table).sort().join(', ');
    return { ok: false, message: `no network interface named ${name} (this host has: ${known})` };
  }
  const wanted = family === 'ipv4' ? 'IPv4' : 'IPv6';
  const candidates = entries.filter((e) => e.family === wanted);
  const global = candidates.find((e) => !e.address.toLowerCase().startsWith('fe80:'));
  const chosen = global ?? candidates[0];
  if (!chosen) return { ok: false, message: `interface ${name} has no ${family} address` };
  return { ok: true, address: chosen.address };
}
