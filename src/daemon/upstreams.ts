/**
 * Builds the upstream servers, pools and router from the config. On reload, a server whose
 * settings did not change is kept as it is (sockets, identifiers in flight, health state).
 */
import { isIPv6 } from 'node:net';
import type { Config, UpstreamServerConfig } from '../config/schema.js';
import { Router } from '../routing/router.js';
import { UpstreamPool } from '../upstream/pool.js';
import { UpstreamServer, type UpstreamObserver } from '../upstream/server.js';

export interface UpstreamSet {
  servers: Map<string, { key: string; server: UpstreamServer; config: UpstreamServerConfig }>;
  pools: Map<string, UpstreamPool>;
  router: Router;
}

/** The server's own source, else the global default when it is of the same family, else any. */
function sourceAddress(u: UpstreamServerConfig, config: Config): string {
  const v6 = isIPv6(u.address);
  if (u.source_address) return u.source_address;
  const fallback = config.upstream_defaults.source_address;
  if (fallback && isIPv6(fallback) === v6) return fallback;
  return v6 ? '::' : '0.0.0.0';
}

function serverOptions(u: UpstreamServerConfig, source: string) {
  return {
    name: u.name,
    address: u.address,
    authPort: u.auth_port,
    acctPort: u.acct_port,
    secret: Buffer.from(u.secret, 'utf8'),
    timeoutMs: u.timeout_seconds * 1000,
    retries: u.retries,
    requireMessageAuthenticator: u.require_message_authenticator === 'auto' ? undefined : u.require_message_authenticator === 'yes',
    sourceAddress: source,
    probeIntervalMs: u.status_check.interval_seconds * 1000,
    reviveAfter: u.status_check.revive_after,
    zombiePeriodMs: u.status_check.zombie_period_seconds * 1000,
    maxSockets: u.max_sockets,
  };
}

/** Returns the new set and the servers of the previous one that it no longer uses. */
export function buildUpstreams(config: Config, observer: UpstreamObserver, previous?: UpstreamSet): { set: UpstreamSet; retired: UpstreamServer[] } {
  const servers: UpstreamSet['servers'] = new Map();
  for (const u of config.upstreams) {
    const source = sourceAddress(u, config);
    const key = JSON.stringify([u, source]);
    const old = previous?.servers.get(u.name);
    servers.set(u.name, old && old.key === key ? old : { key, config: u, server: new UpstreamServer(serverOptions(u, source), observer) });
  }
  const pools = new Map<string, UpstreamPool>();
  for (const p of config.pools) {
    pools.set(p.name, new UpstreamPool(p.name, p.servers.map((name) => servers.get(name)!.server), p.mode));
  }
  const router = new Router(
    config.routes.map((r, i) => ({
      name: r.name ?? `routes[${i}]`,
      realm: r.realm,
      client: r.client,
      clientGroup: r.client_group,
      listener: r.listener,
      stripRealm: r.strip_realm,
      auth: r.auth,
      accounting: r.accounting,
    })),
  );
  const kept = new Set([...servers.values()].map((s) => s.server));
  const retired = previous ? [...previous.servers.values()].map((s) => s.server).filter((s) => !kept.has(s)) : [];
  return { set: { servers, pools, router }, retired };
}

/** Per-server NAS identity overrides, encoded once. */
export function identityOverrides(set: UpstreamSet) {
  const byServer = new Map<UpstreamServer, { nasIdentifier?: Buffer; nasIpAddress?: Buffer }>();
  for (const { server, config } of set.servers.values()) {
    const o: { nasIdentifier?: Buffer; nasIpAddress?: Buffer } = {};
    if (config.nas_identifier) o.nasIdentifier = Buffer.from(config.nas_identifier, 'utf8');
    if (config.nas_ip_address) o.nasIpAddress = Buffer.from(config.nas_ip_address.split('.').map(Number));
    if (o.nasIdentifier || o.nasIpAddress) byServer.set(server, o);
  }
  return (server: UpstreamServer) => byServer.get(server);
}
