/**
 * The RADIUS clients (NAS) table: lookup by source address, exact hosts first, then the
 * longest matching prefix. Holds each client's BlastRADIUS state, which "auto" learns
 * from the first Access-Request.
 */
import { cidrContains, ipToBigInt, parseCidr, type Cidr } from '../config/cidr.js';
import type { ClientConfig, Tristate } from '../config/schema.js';

export class RadiusClient {
  readonly name: string;
  readonly group: string | undefined;
  readonly secret: Buffer;
  readonly cidr: Cidr;
  /** Learned state of "auto" settings; undefined until the first Access-Request decides. */
  private requireMac: boolean | undefined;
  private limitProxyState: boolean | undefined;

  constructor(cfg: ClientConfig) {
    this.name = cfg.name;
    this.group = cfg.group;
    this.secret = Buffer.from(cfg.secret, 'utf8');
    this.cidr = parseCidr(cfg.address)!;
    this.requireMac = tristate(cfg.require_message_authenticator);
    this.limitProxyState = tristate(cfg.limit_proxy_state);
  }

  /**
   * BlastRADIUS policy for an Access-Request (FreeRADIUS 3.2.5 semantics):
   * - require_message_authenticator auto: a client whose first Access-Request carries
   *   Message-Authenticator must send it from then on;
   * - limit_proxy_state auto: a client whose first Access-Request has no Proxy-State is a
   *   NAS, so later Proxy-State without Message-Authenticator is refused.
   * Returns the reason to drop, or undefined to accept.
   */
  checkAccessRequestPolicy(hasMac: boolean, hasProxyState: boolean): 'missing_message_authenticator' | 'proxy_state_without_message_authenticator' | undefined {
    if (this.requireMac === undefined) this.requireMac = hasMac;
    if (this.limitProxyState === undefined) this.limitProxyState = !hasProxyState;
    if (hasMac) return undefined;
    if (this.requireMac) return 'missing_message_authenticator';
    if (this.limitProxyState && hasProxyState) return 'proxy_state_without_message_authenticator';
    return undefined;
  }
}

function tristate(t: Tristate): boolean | undefined {
  return t === 'auto' ? undefined : t === 'yes';
}

export class ClientTable {
  private readonly hosts = new Map<string, RadiusClient>();
  private readonly prefixes: RadiusClient[] = [];

  constructor(configs: readonly ClientConfig[]) {
    for (const cfg of configs) {
      const client = new RadiusClient(cfg);
      const full = client.cidr.prefixLength === (client.cidr.family === 4 ? 32 : 128);
      if (full) this.hosts.set(canonicalHost(cfg.address.split('/')[0]!), client);
      else this.prefixes.push(client);
    }
    this.prefixes.sort((a, b) => b.cidr.prefixLength - a.cidr.prefixLength);
  }

  lookup(address: string): RadiusClient | undefined {
    const exact = this.hosts.get(address);
    if (exact) return exact;
    if (this.prefixes.length === 0 && !address.includes(':')) return undefined;
    const ip = ipToBigInt(address);
    if (!ip) return undefined;
    // Node reports the text form the kernel gave; IPv6 hosts are matched numerically too.
    if (ip.family === 6) {
      const byValue = this.hosts.get(canonicalHost(address));
      if (byValue) return byValue;
    }
    for (const c of this.prefixes) if (cidrContains(c.cidr, ip.family, ip.value)) return c;
    return undefined;
  }

  get size(): number {
    return this.hosts.size + this.prefixes.length;
  }
}

function canonicalHost(address: string): string {
  if (!address.includes(':')) return address;
  const ip = ipToBigInt(address);
  return ip ? `v6:${ip.value.toString(16)}` : address;
}
