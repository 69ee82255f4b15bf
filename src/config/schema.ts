/**
 * The configuration schema: every key, its type and its default, in one place.
 * Relative paths are resolved against the directory of the config file by load.ts.
 */
import { z } from 'zod';
import { isIP } from 'node:net';
import { ipToBigInt, parseCidr } from './cidr.js';
import { resolveInterface } from './interfaces.js';

const Tristate = z.enum(['yes', 'no', 'auto']);

const IpAddress = z.string().refine((s) => isIP(s) !== 0, { message: 'must be an IPv4 or IPv6 address' });
const Cidr = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'must be an IP address or CIDR prefix (e.g. 192.0.2.0/24, 2001:db8::/32)',
});
const Port = z.number().int().min(0).max(65535);
const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');

const Family = z.enum(['ipv4', 'ipv6']);

/**
 * Exactly one of `address` or `interface`; an interface name is resolved here, so the rest of
 * the daemon only ever sees an address, and a missing interface is a config error with a line.
 */
function bindAddress<T extends { address?: string | undefined; interface?: string | undefined; family: 'ipv4' | 'ipv6' }>(
  v: T,
  ctx: z.RefinementCtx,
  addressKey: string,
  interfaceKey: string,
  required: boolean,
): string | undefined {
  if (v.address !== undefined && v.interface !== undefined) {
    ctx.addIssue({ code: 'custom', path: [interfaceKey], message: `give ${addressKey} or ${interfaceKey}, not both` });
    return undefined;
  }
  if (v.interface !== undefined) {
    const found = resolveInterface(v.interface, v.family);
    if (!found.ok) ctx.addIssue({ code: 'custom', path: [interfaceKey], message: found.message });
    return found.ok ? found.address : undefined;
  }
  if (v.address === undefined && required) ctx.addIssue({ code: 'custom', path: [addressKey], message: `needs ${addressKey} or ${interfaceKey}` });
  return v.address;
}

export const ListenerSchema = z
  .object({
    type: z.enum(['auth', 'acct']),
    /** For routes by listener. */
    name: Name.optional(),
    address: IpAddress.optional(),
    /** Bind to this interface's address instead (`family` picks IPv4 or IPv6). */
    interface: z.string().min(1).optional(),
    family: Family.default('ipv4'),
    /** 0 asks the kernel for a free port (tests); the bound port is logged. */
    port: Port,
    /** SO_RCVBUF; large enough that bursts are not dropped by the kernel. */
    receive_buffer_bytes: z.number().int().min(65536).default(4 * 1024 * 1024),
  })
  .strict()
  .transform((l, ctx) => ({ ...l, address: bindAddress(l, ctx, 'address', 'interface', true) ?? '' }));

export const ClientSchema = z
  .object({
    name: z.string().min(1),
    /** For routes by client group. */
    group: z.string().min(1).optional(),
    address: Cidr,
    secret: z.string().min(1, 'must not be empty'),
    /** BlastRADIUS (FreeRADIUS 3.2.5 semantics): require Message-Authenticator in Access-Request. */
    require_message_authenticator: Tristate.default('auto'),
    /** BlastRADIUS: drop Access-Request with Proxy-State but without Message-Authenticator. */
    limit_proxy_state: Tristate.default('auto'),
  })
  .strict();

export const StatusCheckSchema = z
  .object({
    /** RFC 5997 Status-Server probe interval while a server is zombie or dead. */
    interval_seconds: z.number().positive().max(3600).default(10),
    /** Consecutive probe answers that bring a server back. */
    revive_after: z.number().int().min(1).max(100).default(3),
    /** A zombie (stopped answering) with no answer for this long is dead. */
    zombie_period_seconds: z.number().positive().max(3600).default(20),
  })
  .strict();

export const UpstreamServerSchema = z
  .object({
    name: Name,
    address: IpAddress,
    auth_port: Port.default(1812),
    acct_port: Port.default(1813),
    secret: z.string().min(1, 'must not be empty'),
    /** Seconds to wait for a reply before retransmitting. */
    timeout_seconds: z.number().positive().max(60).default(3),
    /** Retransmissions after the first try; failover follows after timeout x (retries + 1). */
    retries: z.number().int().min(0).max(10).default(2),
    /**
     * BlastRADIUS: drop Access-* replies without Message-Authenticator. auto: required once the
     * server's first verified Access-* reply carried one (servers before FreeRADIUS 3.2.5 omit it).
     */
    require_message_authenticator: Tristate.default('auto'),
    /** Source address for traffic to this server (default: upstream_defaults, else the kernel's choice). */
    source_address: IpAddress.optional(),
    /** Or the interface whose address traffic leaves from (`family` picks IPv4 or IPv6). */
    source_interface: z.string().min(1).optional(),
    family: Family.optional(),
    status_check: StatusCheckSchema.default({ interval_seconds: 10, revive_after: 3, zombie_period_seconds: 20 }),
    /** Off by default: a proxy passes the NAS's own identity. */
    nas_identifier: z.string().min(1).optional(),
    /** NAS-IP-Address is IPv4 only (RFC 2865 §5.4). */
    nas_ip_address: z.string().refine((s) => isIP(s) === 4, { message: 'must be an IPv4 address' }).optional(),
    /** Sockets of 256 identifiers each, opened as needed. */
    max_sockets: z.number().int().min(1).max(256).default(32),
  })
  .strict()
  .transform((u, ctx) => {
    const family = u.family ?? (isIP(u.address) === 6 ? 'ipv6' : 'ipv4');
    return { ...u, source_address: bindAddress({ ...u, interface: u.source_interface, address: u.source_address, family }, ctx, 'source_address', 'source_interface', false) };
  });

/** The source of AAA traffic to every upstream server that does not name its own. */
export const UpstreamDefaultsSchema = z
  .object({
    source_address: IpAddress.optional(),
    source_interface: z.string().min(1).optional(),
    family: Family.default('ipv4'),
  })
  .strict()
  .transform((d, ctx) => ({ ...d, source_address: bindAddress({ ...d, interface: d.source_interface, address: d.source_address }, ctx, 'source_address', 'source_interface', false) }));

export const PoolSchema = z
  .object({
    name: Name,
    servers: z.array(z.string()).min(1),
    mode: z.enum(['failover', 'load-balance']).default('failover'),
  })
  .strict();

export const RouteSchema = z
  .object({
    name: Name.optional(),
    /** `user@realm` or `REALM\user`, case-insensitive; `*` matches any realm. */
    realm: z.string().min(1).optional(),
    client: z.string().optional(),
    client_group: z.string().optional(),
    listener: z.string().optional(),
    strip_realm: z.boolean().default(false),
    /** A pool name, `local` for the local users backend, or `ldap:NAME` for an LDAP directory. */
    auth: z.string().default('local'),
    /** A pool name, or `local` for the local accounting log. */
    accounting: z.string().default('local'),
  })
  .strict();

export const LdapDirectorySchema = z
  .object({
    name: Name,
    /** In failover order: ldap://host[:port] or ldaps://host[:port]. */
    urls: z.array(z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'must be ldap://host[:port] or ldaps://host[:port]')).min(1),
    /** Service account that searches for users. */
    bind_dn: z.string().min(1),
    bind_password: z.string().min(1),
    base_dn: z.string().min(1),
    /** `{user}` is replaced by the escaped User-Name (RFC 4515 §3). */
    user_filter: z.string().includes('{user}', { message: 'must contain {user}' }).default('(uid={user})'),
    groups: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('memberOf'), attribute: z.string().min(1).default('memberOf') }).strict(),
        z.object({ mode: z.literal('search'), base_dn: z.string().min(1), filter: z.string().min(1).default('(member={dn})') }).strict(),
        z.object({ mode: z.literal('none') }).strict(),
      ])
      .default({ mode: 'memberOf', attribute: 'memberOf' }),
    tls: z
      .object({
        /** PEM CA bundle (path, relative to the config file) for ldaps:// and StartTLS. */
        ca_file: z.string().min(1).optional(),
        start_tls: z.boolean().default(false),
        reject_unauthorized: z.boolean().default(true),
      })
      .strict()
      .default({ start_tls: false, reject_unauthorized: true }),
    connect_timeout_seconds: z.number().positive().max(60).default(3),
    operation_timeout_seconds: z.number().positive().max(60).default(5),
    /** A server that failed is tried again after this long. */
    retry_seconds: z.number().positive().max(3600).default(30),
    /** Reply attributes by group DN (case-insensitive); every matching entry applies, in order. */
    group_replies: z
      .array(z.object({ group: z.string().min(1), reply: z.record(z.string(), z.union([z.string(), z.number()])) }).strict())
      .default([]),
  })
  .strict();

export const LockoutSchema = z
  .object({
    attempts: z.number().int().min(1).default(3),
    minutes: z.number().positive().default(10),
  })
  .strict();

export const LocalUsersSchema = z
  .object({
    file: z.string().min(1),
    lockout: LockoutSchema.default({ attempts: 3, minutes: 10 }),
  })
  .strict();

export const AccountingLogSchema = z
  .object({
    path: z.string().min(1),
    /** Group commit: records arriving within this window share one fsync. */
    group_commit_ms: z.number().min(0).max(1000).default(2),
    rotate: z
      .object({
        max_bytes: z.number().int().min(1024).default(100 * 1024 * 1024),
        keep: z.number().int().min(1).default(10),
      })
      .strict()
      .default({ max_bytes: 100 * 1024 * 1024, keep: 10 }),
  })
  .strict();

export const SpoolSchema = z
  .object({
    /** Directory of the spool's segment files and cursor (one daemon per directory). */
    dir: z.string().min(1),
    /** Beyond this the NAS gets no Accounting-Response (it keeps the record and retransmits). */
    max_bytes: z.number().int().min(8192).default(1024 * 1024 * 1024),
    segment_bytes: z.number().int().min(4096).default(16 * 1024 * 1024),
    group_commit_ms: z.number().min(0).max(1000).default(2),
    /** Records in flight to upstream at once (each session stays in order). */
    window: z.number().int().min(1).max(4096).default(64),
    /** Backoff after every server of a pool failed: doubles from min to max. */
    retry_min_seconds: z.number().positive().default(1),
    retry_max_seconds: z.number().positive().default(30),
  })
  .strict()
  .superRefine((sp, ctx) => {
    if (sp.max_bytes < 2 * sp.segment_bytes) ctx.addIssue({ code: 'custom', path: ['max_bytes'], message: 'must be at least twice segment_bytes' });
    if (sp.retry_max_seconds < sp.retry_min_seconds) ctx.addIssue({ code: 'custom', path: ['retry_max_seconds'], message: 'must be at least retry_min_seconds' });
  });

export const DuplicatesSchema = z
  .object({
    /** RFC 5080 §2.2.2: how long a reply is kept for retransmissions. */
    window_seconds: z.number().min(0).max(300).default(5),
    max_entries: z.number().int().min(1).default(262144),
  })
  .strict();

export const AdminSchema = z
  .object({
    enabled: z.boolean().default(true),
    address: IpAddress.default('127.0.0.1'),
    port: Port.default(9812),
  })
  .strict();

export const LogSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    /** auto: human-readable on a terminal, JSON lines otherwise. */
    format: z.enum(['auto', 'json', 'pretty']).default('auto'),
  })
  .strict();

const ConfigBase = z
  .object({
    listeners: z.array(ListenerSchema).min(1),
    clients: z.array(ClientSchema).min(1),
    local_users: LocalUsersSchema,
    accounting: z
      .object({
        log: AccountingLogSchema,
        /** Needed when a route sends accounting to a pool: records are durable here before the NAS's ACK. */
        spool: SpoolSchema.optional(),
      })
      .strict(),
    duplicates: DuplicatesSchema.default({ window_seconds: 5, max_entries: 262144 }),
    /** Extra dictionary files or directories in FreeRADIUS format, loaded after the built-in ones. */
    dictionaries: z.array(z.string()).default([]),
    upstream_defaults: UpstreamDefaultsSchema.prefault({}),
    upstreams: z.array(UpstreamServerSchema).default([]),
    pools: z.array(PoolSchema).default([]),
    /** LDAP directories, usable as `auth: ldap:NAME` in routes (PAP). */
    ldap_directories: z.array(LdapDirectorySchema).default([]),
    /** First match wins; no match means local. */
    routes: z.array(RouteSchema).default([]),
    admin: AdminSchema.default({ enabled: true, address: '127.0.0.1', port: 9812 }),
    log: LogSchema.default({ level: 'info', format: 'auto' }),
  })
  .strict();

export const ConfigSchema = ConfigBase.superRefine(checkWholeConfig);

/** Canonical text of an address, so that `::1` and `0:0:0:0:0:0:0:1` compare equal. */
function addressKey(address: string): string {
  const ip = ipToBigInt(address);
  return ip ? `${ip.family}/${ip.value}` : address;
}

/**
 * Checks that need more than one key. zod runs them once every field has the right type, but a
 * field may still have failed its own refinement (a bad CIDR), so nothing here trusts one.
 * Each issue carries the path of the later offender so the loader can name its line.
 */
function checkWholeConfig(c: z.output<typeof ConfigBase>, ctx: z.RefinementCtx): void {
  const listeners = new Map<string, number>();
  c.listeners.forEach((l, i) => {
    if (l.port === 0) return; // each port-0 listener gets its own kernel-chosen port
    const key = `${l.type} ${addressKey(l.address)} ${l.port}`;
    const first = listeners.get(key);
    if (first === undefined) listeners.set(key, i);
    else ctx.addIssue({ code: 'custom', path: ['listeners', i, 'port'], message: `duplicate listener: same type, address and port as listeners[${first}]` });
  });

  const names = new Map<string, number>();
  const prefixes = new Map<string, number>();
  c.clients.forEach((cl, i) => {
    const sameName = names.get(cl.name);
    if (sameName === undefined) names.set(cl.name, i);
    else ctx.addIssue({ code: 'custom', path: ['clients', i, 'name'], message: `duplicate client name, also used by clients[${sameName}]` });
    // Compare the parsed prefix: 10.0.0.1/24 and 10.0.0.0/24 match the same NASes.
    const cidr = parseCidr(cl.address);
    if (!cidr) return;
    const prefix = `${cidr.family}/${cidr.network}/${cidr.prefixLength}`;
    const samePrefix = prefixes.get(prefix);
    if (samePrefix === undefined) prefixes.set(prefix, i);
    else ctx.addIssue({ code: 'custom', path: ['clients', i, 'address'], message: `same prefix as clients[${samePrefix}], so only one of them could ever match` });
  });

  checkUpstreams(c, ctx);

  const admin = c.admin;
  if (admin.enabled && admin.port !== 0) {
    const clash = c.listeners.findIndex((l) => l.port === admin.port && addressKey(l.address) === addressKey(admin.address));
    if (clash >= 0) ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `same address and port as listeners[${clash}]` });
  }
}

function checkUpstreams(c: z.output<typeof ConfigBase>, ctx: z.RefinementCtx): void {
  const servers = new Set<string>();
  c.upstreams.forEach((u, i) => {
    if (servers.has(u.name)) ctx.addIssue({ code: 'custom', path: ['upstreams', i, 'name'], message: `duplicate upstream name ${u.name}` });
    servers.add(u.name);
  });
  const pools = new Set<string>();
  c.pools.forEach((p, i) => {
    if (p.name === 'local') ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: '"local" names the local backend' });
    if (pools.has(p.name)) ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: `duplicate pool name ${p.name}` });
    pools.add(p.name);
    p.servers.forEach((s, j) => {
      if (!servers.has(s)) ctx.addIssue({ code: 'custom', path: ['pools', i, 'servers', j], message: `no upstream named ${s}` });
    });
  });
  if (!c.accounting.spool) {
    c.routes.forEach((r, i) => {
      if (r.accounting !== 'local') ctx.addIssue({ code: 'custom', path: ['routes', i, 'accounting'], message: 'forwarding accounting to a pool needs accounting.spool' });
    });
  }
  const clientNames = new Set(c.clients.map((cl) => cl.name));
  const groups = new Set(c.clients.flatMap((cl) => (cl.group ? [cl.group] : [])));
  const listenerNames = new Set(c.listeners.flatMap((l) => (l.name ? [l.name] : [])));
  const directories = new Set<string>();
  c.ldap_directories.forEach((d, i) => {
    if (directories.has(d.name)) ctx.addIssue({ code: 'custom', path: ['ldap_directories', i, 'name'], message: `duplicate directory name ${d.name}` });
    directories.add(d.name);
  });
  c.routes.forEach((r, i) => {
    if (r.auth.startsWith('ldap:')) {
      if (!directories.has(r.auth.slice(5))) ctx.addIssue({ code: 'custom', path: ['routes', i, 'auth'], message: `no ldap_directories entry named ${r.auth.slice(5)}` });
    } else if (r.auth !== 'local' && !pools.has(r.auth)) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'auth'], message: `no pool named ${r.auth} (or use local, or ldap:NAME)` });
    }
    if (r.accounting !== 'local' && !pools.has(r.accounting)) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'accounting'], message: `no pool named ${r.accounting} (or use local)` });
    }
    if (r.client !== undefined && !clientNames.has(r.client)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'client'], message: `no client named ${r.client}` });
    if (r.client_group !== undefined && !groups.has(r.client_group)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'client_group'], message: `no client has group ${r.client_group}` });
    if (r.listener !== undefined && !listenerNames.has(r.listener)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'listener'], message: `no listener named ${r.listener}` });
  });
}

export type Config = z.infer<typeof ConfigSchema>;
export type UpstreamServerConfig = z.infer<typeof UpstreamServerSchema>;
export type RouteConfig = z.infer<typeof RouteSchema>;
export type LdapDirectoryConfig = z.infer<typeof LdapDirectorySchema>;
export type ListenerConfig = z.infer<typeof ListenerSchema>;
export type ClientConfig = z.infer<typeof ClientSchema>;
export type Tristate = z.infer<typeof Tristate>;
