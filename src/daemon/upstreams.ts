/**
 * Builds the upstream servers, pools and router from the config. On reload, a server whose
 * settings did not change is kept as it is (sockets, identifiers in flight, health state).
 */
import { isIPv6 } from 'node:net';
import { compileRules, compileRuleSet } from '../challenge/compile.js';
import { withPresets } from '../challenge/presets.js';
import type { ChallengeObserver, RuleSpec } from '../challenge/types.js';
import type { Config, UpstreamServerConfig } from '../config/schema.js';
import type { ConfigIssue, IssueLocator } from '../config/yaml-loader.js';
import type { PerServerSettings } from '../proxy/access-proxy.js';
import type { Dictionary } from '../radius/dictionary.js';
import { Router } from '../routing/router.js';
import { UpstreamPool } from '../upstream/pool.js';
import { UpstreamServer, type UpstreamObserver } from '../upstream/server.js';

/** A server's challenge rules as configured: its own (else upstream_defaults'), then its presets'. */
export interface ChallengeSpecs {
  rules: RuleSpec[];
  maxRounds: number;
}

export interface UpstreamSet {
  servers: Map<string, { key: string; server: UpstreamServer; config: UpstreamServerConfig; challenge: ChallengeSpecs }>;
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
    // Challenge rules live in the access proxy, not in the server: changing them keeps the server.
    const { challenge_rules, challenge_presets, challenge_max_rounds, ...transport } = u;
    const key = JSON.stringify([transport, source]);
    const old = previous?.servers.get(u.name);
    const server = old && old.key === key ? old.server : new UpstreamServer(serverOptions(u, source), observer);
    const defaults = config.upstream_defaults;
    const challenge = {
      rules: withPresets(challenge_rules ?? defaults.challenge_rules, challenge_presets ?? defaults.challenge_presets),
      maxRounds: challenge_max_rounds ?? defaults.challenge_max_rounds,
    };
    servers.set(u.name, { key, config: u, server, challenge });
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

/**
 * What the access proxy looks up per server and request: NAS identity overrides (encoded once)
 * and challenge rules (compiled once, reported to `challengeObserver`). Servers with neither
 * have no entry, so their requests pay one Map miss.
 */
export function serverSettings(set: UpstreamSet, dict: Dictionary, challengeObserver: ChallengeObserver) {
  const byServer = new Map<UpstreamServer, PerServerSettings>();
  for (const { server, config, challenge } of set.servers.values()) {
    const o: PerServerSettings = {};
    if (config.nas_identifier) o.nasIdentifier = Buffer.from(config.nas_identifier, 'utf8');
    if (config.nas_ip_address) o.nasIpAddress = Buffer.from(config.nas_ip_address.split('.').map(Number));
    if (challenge.rules.length > 0) o.challenge = { rules: compileRuleSet(challenge.rules, dict, challenge.maxRounds), observer: challengeObserver };
    if (o.nasIdentifier || o.nasIpAddress || o.challenge) byServer.set(server, o);
  }
  return (server: UpstreamServer) => byServer.get(server);
}

/**
 * Checks what the schema cannot: challenge rules against the dictionary (attribute names,
 * values, numeric compares) and their templates against their regexes; each problem named by
 * file, line and key. Presets are known good (unit-tested against the built-in dictionary).
 */
export function checkChallengeRules(config: Config, dict: Dictionary, locate: IssueLocator): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const check = (rules: readonly RuleSpec[], at: (string | number)[]) => {
    const r = compileRules(rules, dict);
    if (!r.ok) for (const i of r.issues) issues.push(locate([...at, ...i.path], i.message));
  };
  check(config.upstream_defaults.challenge_rules, ['upstream_defaults', 'challenge_rules']);
  config.upstreams.forEach((u, i) => {
    if (u.challenge_rules) check(u.challenge_rules, ['upstreams', i, 'challenge_rules']);
  });
  return issues;
}
