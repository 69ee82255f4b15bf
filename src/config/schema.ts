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
    // Free text (it labels logs and metrics) without control characters: the spool's record labels are line-separated.
    name: z.string().min(1).regex(/^[^\x00-\x1f\x7f]+$/, 'must not contain control characters'),
    /** For routes by client group. */
    group: z.string().min(1).optional(),
    address: Cidr,
    secret: z.string().min(1, 'must not be empty'),
    /** BlastRADIUS (FreeRADIUS 3.2.5 semantics): require Message-Authenticator in Access-Request. */
    require_message_authenticator: Tristate.default('auto'),
    /** BlastRADIUS: drop Access-Request with Proxy-State but without Message-Authenticator. */
    limit_proxy_state: Tristate.default('auto'),
    /** Where this NAS takes Disconnect/CoA requests (RFC 5176); default dynauth.nas_port. */
    dynauth_port: Port.optional(),
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

/** Built-in challenge presets (their rules: src/challenge/presets.ts; a unit test keeps the lists equal). */
export const CHALLENGE_PRESETS = ['rsa-securid', 'steel-belted', 'defender', 'casque', 'otp'] as const;
const CHALLENGE_TESTS = ['present', 'absent', 'equals', 'contains', 'regex', 'compare'] as const;
const COMPARE = /^\s*(<=|>=|==|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** One test over a reply attribute; a rule's expressions are ANDed. Names are checked against the dictionary by prepare. */
export const ChallengeExpressionSchema = z
  .object({
    /** A dictionary name (default Reply-Message; RFC 2865 §5.18: several are one message). */
    attribute: z.string().min(1).default('Reply-Message'),
    present: z.literal(true).optional(),
    absent: z.literal(true).optional(),
    equals: z.union([z.string(), z.number()]).optional(),
    contains: z.string().min(1).optional(),
    /** JavaScript syntax; ignore_case is the only flag. */
    regex: z.string().min(1).optional(),
    /** A numeric compare: an operator (<, <=, >, >=, ==) and a number, e.g. ">= 3". */
    compare: z.string().optional(),
    ignore_case: z.boolean().optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    const tests = CHALLENGE_TESTS.filter((k) => e[k] !== undefined);
    if (tests.length === 0) ctx.addIssue({ code: 'custom', path: [], message: `needs one test: ${CHALLENGE_TESTS.join(', ')}` });
    if (tests.length > 1) ctx.addIssue({ code: 'custom', path: [tests[1]!], message: `one test per expression (this one also has ${tests[0]}); list several expressions to AND them` });
    if (e.regex !== undefined) {
      try {
        new RegExp(e.regex);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['regex'], message: `not a valid regular expression: ${(err as Error).message}` });
      }
    }
    if (e.compare !== undefined && !COMPARE.test(e.compare)) ctx.addIssue({ code: 'custom', path: ['compare'], message: 'must be an operator (<, <=, >, >=, ==) and a number, e.g. ">= 3"' });
    if (e.ignore_case !== undefined && e.equals === undefined && e.contains === undefined && e.regex === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ignore_case'], message: 'only for equals, contains and regex' });
    }
  })
  .transform((e) => {
    const m = e.compare === undefined ? null : COMPARE.exec(e.compare);
    return { ...e, compare: m ? { op: m[1] as '<' | '<=' | '>' | '>=' | '==', value: Number(m[2]) } : undefined };
  });

/** A challenge rule (README "Challenge rules"); compiled against the dictionary in src/challenge/. */
export const ChallengeRuleSchema = z
  .object({
    name: Name,
    on: z.enum(['access-challenge', 'access-reject']),
    match: z.array(ChallengeExpressionSchema).min(1),
    action: z.enum(['new-pin', 'next-token', 'generic-login', 'error', 'send-access-request']),
    /** The Reply-Message the NAS gets (relay actions and error); <REPLY>, <N>, <name> are placeholders. */
    prompt: z.string().max(1000).optional(),
    /** send-access-request: User-Password of the automatic request (default "<PASSWORD>", the user's own). */
    password: z.string().max(128).optional(),
    /** send-access-request: extra attributes, by dictionary name. */
    attributes: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const relay = r.action === 'new-pin' || r.action === 'next-token' || r.action === 'generic-login';
    if ((relay || r.action === 'error') && r.prompt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prompt'], message: `${r.action} needs a prompt (the Reply-Message the NAS gets; "<REPLY>" is the upstream's own)` });
    }
    if (relay && r.prompt === '') ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'must not be empty: the user needs to know what to answer' });
    if (relay && r.on === 'access-reject') {
      ctx.addIssue({ code: 'custom', path: ['on'], message: `${r.action} relays an Access-Challenge with the upstream's State; an Access-Reject has none (use error or send-access-request)` });
    }
    if (r.action === 'send-access-request' && r.prompt !== undefined) ctx.addIssue({ code: 'custom', path: ['prompt'], message: 'send-access-request answers the upstream itself: there is no prompt' });
    if (r.action !== 'send-access-request') {
      if (r.password !== undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'only send-access-request sends a password' });
      if (r.attributes !== undefined) ctx.addIssue({ code: 'custom', path: ['attributes'], message: 'only send-access-request sends attributes' });
    }
  });

function uniqueNames<T>(key: (item: T) => string, what: string) {
  return (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const first = seen.get(key(item));
      if (first === undefined) seen.set(key(item), i);
      else ctx.addIssue({ code: 'custom', path: [i], message: `${what} ${key(item)} is listed twice (also [${first}])` });
    });
  };
}

const ChallengeRules = z.array(ChallengeRuleSchema).superRefine(uniqueNames((r: { name: string }) => r.name, 'rule'));
const ChallengePresets = z.array(z.enum(CHALLENGE_PRESETS)).superRefine(uniqueNames((p: string) => p, 'preset'));
/** Automatic send-access-request rounds per Access-Request from the NAS. */
const ChallengeMaxRounds = z.number().int().min(0).max(10);

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
    /** Challenge rules, tried in order before the presets' (default: upstream_defaults'). */
    challenge_rules: ChallengeRules.optional(),
    /** Built-in rule lists, after challenge_rules (default: upstream_defaults'). */
    challenge_presets: ChallengePresets.optional(),
    /** Bound on automatic send-access-request rounds (default: upstream_defaults', 3). */
    challenge_max_rounds: ChallengeMaxRounds.optional(),
  })
  .strict()
  .transform((u, ctx) => {
    const family = u.family ?? (isIP(u.address) === 6 ? 'ipv6' : 'ipv4');
    return { ...u, source_address: bindAddress({ ...u, interface: u.source_interface, address: u.source_address, family }, ctx, 'source_address', 'source_interface', false) };
  });

/** For every upstream server that does not name its own: the source of its AAA traffic, its challenge settings. */
export const UpstreamDefaultsSchema = z
  .object({
    source_address: IpAddress.optional(),
    source_interface: z.string().min(1).optional(),
    family: Family.default('ipv4'),
    /** Challenge settings of every server that has none of its own (each key on its own). */
    challenge_rules: ChallengeRules.default([]),
    challenge_presets: ChallengePresets.default([]),
    challenge_max_rounds: ChallengeMaxRounds.default(3),
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

/**
 * An LDAP server URL: ldap:// or ldaps://, then a host name, an IPv4 address or a bracketed IPv6
 * address, and an optional port (default 389, or 636 for ldaps). Returns the parts or a message.
 */
export function parseLdapServerUrl(text: string): { secure: boolean; host: string; port: number } | string {
  const m = /^(ldaps?):\/\/(\[[^\]\s/]+\]|[^:/\s[\]]+)(?::(\d{1,5}))?\/?$/i.exec(text);
  if (!m) return 'must be ldap://host[:port] or ldaps://host[:port] (an IPv6 address in brackets)';
  const secure = m[1]!.toLowerCase() === 'ldaps';
  const bracketed = m[2]!.startsWith('[');
  const host = bracketed ? m[2]!.slice(1, -1) : m[2]!;
  if (bracketed && isIP(host) !== 6) return `${host} is not an IPv6 address`;
  if (!bracketed && isIP(host) === 0 && !/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(host)) {
    return `${host} is not a host name or an IPv4 address`;
  }
  const port = m[3] === undefined ? (secure ? 636 : 389) : Number(m[3]);
  if (port < 1 || port > 65535) return `port ${port} is out of range`;
  return { secure, host, port };
}

const LdapServerUrl = z.string().superRefine((s, ctx) => {
  const p = parseLdapServerUrl(s);
  if (typeof p === 'string') ctx.addIssue({ code: 'custom', message: p });
});

/** How a user's groups are found (README "Groups"). */
export const LdapGroupsSchema = z
  .object({
    /** memberOf: an attribute of the user entry; search: group entries found by `filter` under base_dn; none. */
    mode: z.enum(['memberOf', 'search', 'none']).default('memberOf'),
    /** mode memberOf: the user attribute that lists group DNs. */
    attribute: z.string().min(1).default('memberOf'),
    /** Where groups are searched (mode search, dynamic groups, in-chain); with memberOf, only groups under it count. */
    base_dn: z.string().min(1).optional(),
    /** mode search: a filter template; `{dn}` is the member's DN, `{user}` the login name (both escaped). */
    filter: z.string().min(1).default('(|(member={dn})(uniqueMember={dn}))'),
    /** Levels of groups-in-groups followed above the user's own groups (default 2; 0 for a filter without {dn}). */
    nested_depth: z.number().int().min(0).max(10).optional(),
    /** Nested groups by one search with AD's LDAP_MATCHING_RULE_IN_CHAIN (default: on for active-directory). */
    in_chain: z.boolean().optional(),
    /** Dynamic groups: entries matching `filter` under base_dn whose `url_attribute` holds LDAP URLs (RFC 4516). */
    dynamic: z
      .object({ filter: z.string().min(1).default('(objectClass=groupOfURLs)'), url_attribute: z.string().min(1).default('memberURL') })
      .strict()
      .optional(),
  })
  .strict();

const RoleReplyValue = z.union([z.string(), z.number()]);
const TUNNEL_ATTRIBUTES = /^(Tunnel-Type|Tunnel-Medium-Type|Tunnel-Private-Group-Id)(:\d+)?$/i;

/** A role mapping rule (README "Role mapping"): conditions on groups and attributes, reply attributes. */
export const LdapRoleSchema = z
  .object({
    /** Recorded on the session and in logs when the rule matches. */
    name: Name,
    /** Every condition given must hold; no condition: the rule always matches. */
    match: z
      .object({
        /** Group DNs: the user is in at least one (nested and dynamic groups count). */
        groups: z.array(z.string().min(1)).min(1).optional(),
        /** User attribute -> value(s): for each attribute, the user has one of the values (without case). */
        attributes: z.record(z.string().min(1), z.union([z.string(), z.array(z.string()).min(1)])).optional(),
      })
      .strict()
      .default({}),
    /** Reply attributes by dictionary name (`Name:tag` for a tag); a list gives several values. */
    reply: z.record(z.string(), z.union([RoleReplyValue, z.array(RoleReplyValue).min(1)])).default({}),
    /** A VLAN (RFC 3580 §3.31): Tunnel-Type VLAN, Tunnel-Medium-Type IEEE-802, Tunnel-Private-Group-Id this. */
    vlan: z.union([z.number().int().min(1).max(4094), z.string().min(1).max(253)]).optional(),
    /** false (default): the first matching rule ends the evaluation; true: the rules below are evaluated too. */
    continue: z.boolean().default(false),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.vlan === undefined) return;
    for (const name of Object.keys(r.reply)) {
      if (TUNNEL_ATTRIBUTES.test(name)) ctx.addIssue({ code: 'custom', path: ['reply', name], message: 'the rule has vlan, which sets the Tunnel attributes: use one or the other' });
    }
  });

const AD_USER_FILTER = '(&(objectClass=user)(sAMAccountName={user}))';

export const LdapDirectorySchema = z
  .object({
    name: Name,
    /** generic (OpenLDAP, 389 DS, ...) or active-directory, which changes defaults (README "Active Directory"). */
    type: z.enum(['generic', 'active-directory']).default('generic'),
    /** The primary, then up to two backups: ldap://host[:port] or ldaps://host[:port]. */
    urls: z.array(LdapServerUrl).min(1).max(3, 'a primary and at most two backups'),
    /** Service account that searches for users. */
    bind_dn: z.string().min(1),
    bind_password: z.string().min(1),
    /** Used when the bind_dn account's bind is refused (both or neither). */
    backup_bind_dn: z.string().min(1).optional(),
    backup_bind_password: z.string().min(1).optional(),
    base_dn: z.string().min(1),
    /** `{user}` is replaced by the escaped name (RFC 4515 §3). Default (uid={user}), or for AD (&(objectClass=user)(sAMAccountName={user})). */
    user_filter: z
      .string()
      // `<username>` is the spelling some admin guides use for the placeholder.
      .transform((f) => f.replaceAll('<username>', '{user}'))
      .refine((f) => f.includes('{user}'), { message: 'must contain {user} (or <username>)' })
      .optional(),
    /** Search `DOMAIN\user` and `user@domain` as `user` (default: on for active-directory). */
    strip_domain: z.boolean().optional(),
    groups: LdapGroupsSchema.prefault({}),
    tls: z
      .object({
        /** PEM CA bundle (path, relative to the config file) for ldaps:// and StartTLS. */
        ca_file: z.string().min(1).optional(),
        start_tls: z.boolean().default(false),
        reject_unauthorized: z.boolean().default(true),
      })
      .strict()
      .default({ start_tls: false, reject_unauthorized: true }),
    /** TCP (and TLS) connection to one server. */
    connect_timeout_seconds: z.number().positive().max(60).default(15),
    /** One operation (search, bind): the search timeout. */
    operation_timeout_seconds: z.number().positive().max(60).default(5),
    /** A server that failed, and the primary service account after a refusal, are tried again after this long. */
    retry_seconds: z.number().positive().max(3600).default(30),
    /** Source address of connections to the servers (default: upstream_defaults', else the kernel's choice). */
    source_address: IpAddress.optional(),
    /** Or the interface whose address connections leave from (`family` picks IPv4 or IPv6). */
    source_interface: z.string().min(1).optional(),
    family: Family.optional(),
    /** A test login on every server at start and every interval_minutes: state in logs, metrics, GET /directories. */
    health_check: z
      .object({
        username: z.string().min(1),
        password: z.string().min(1),
        interval_minutes: z.number().min(5).max(1440).default(60),
      })
      .strict()
      .optional(),
    /** No server answering after failover: drop (no reply; the NAS retries or fails over) or reject. */
    on_unreachable: z.enum(['drop', 'reject']).default('drop'),
    /** Role mapping rules, in order (README "Role mapping"). */
    roles: z.array(LdapRoleSchema).default([]).superRefine(uniqueNames((r: { name: string }) => r.name, 'role')),
  })
  .strict()
  .superRefine((d, ctx) => {
    if ((d.backup_bind_dn === undefined) !== (d.backup_bind_password === undefined)) {
      const missing = d.backup_bind_dn === undefined ? 'backup_bind_dn' : 'backup_bind_password';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'backup_bind_dn and backup_bind_password go together' });
    }
    const g = d.groups;
    if (g.mode === 'search' && g.base_dn === undefined) ctx.addIssue({ code: 'custom', path: ['groups', 'base_dn'], message: 'mode search needs base_dn (where groups are searched)' });
    if (g.dynamic !== undefined && g.base_dn === undefined) ctx.addIssue({ code: 'custom', path: ['groups', 'base_dn'], message: 'dynamic groups need base_dn (where groups are searched)' });
    if (g.mode === 'search') {
      const unknown = [...g.filter.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]).filter((n) => n !== 'dn' && n !== 'user');
      if (unknown.length > 0) ctx.addIssue({ code: 'custom', path: ['groups', 'filter'], message: `unknown placeholder {${unknown[0]}} (use {dn} or {user})` });
      else if (!g.filter.includes('{dn}') && !g.filter.includes('{user}')) ctx.addIssue({ code: 'custom', path: ['groups', 'filter'], message: 'must contain {dn} or {user}' });
      if (!g.filter.includes('{dn}') && (g.nested_depth ?? 0) > 0) {
        ctx.addIssue({ code: 'custom', path: ['groups', 'nested_depth'], message: 'nested groups need a filter with {dn} (a group is a member by its DN)' });
      }
    }
    const userUnknown = [...(d.user_filter ?? '').matchAll(/\{([a-z]+)\}/g)].map((m) => m[1]).filter((n) => n !== 'user');
    if (userUnknown.length > 0) ctx.addIssue({ code: 'custom', path: ['user_filter'], message: `unknown placeholder {${userUnknown[0]}} (use {user})` });
  })
  .transform((d, ctx) => {
    const ad = d.type === 'active-directory';
    const g = d.groups;
    const family = d.family ?? (d.source_address !== undefined && isIP(d.source_address) === 6 ? 'ipv6' : 'ipv4');
    const source = bindAddress({ ...d, interface: d.source_interface, address: d.source_address, family }, ctx, 'source_address', 'source_interface', false);
    if (source !== undefined) {
      d.urls.forEach((u, i) => {
        const p = parseLdapServerUrl(u);
        if (typeof p !== 'string' && isIP(p.host) !== 0 && isIP(p.host) !== isIP(source)) {
          ctx.addIssue({ code: 'custom', path: ['urls', i], message: `${p.host} is not of the source address's family (${source})` });
        }
      });
    }
    return {
      ...d,
      user_filter: d.user_filter ?? (ad ? AD_USER_FILTER : '(uid={user})'),
      strip_domain: d.strip_domain ?? ad,
      groups: {
        ...g,
        nested_depth: g.nested_depth ?? (g.mode === 'search' && !g.filter.includes('{dn}') ? 0 : 2),
        in_chain: g.in_chain ?? ad,
      },
      source_address: source,
    };
  });

/**
 * An LDAP front listener (LDAP proxying to a directory). Port 0 asks the kernel for a free port;
 * the default is 389, or 636 for ldaps.
 */
export const LdapListenerSchema = z
  .object({
    name: Name,
    address: IpAddress.optional(),
    /** Bind to this interface's address instead (`family` picks IPv4 or IPv6). */
    interface: z.string().min(1).optional(),
    family: Family.default('ipv4'),
    port: Port.optional(),
    /** The ldap_directories entry that clients are proxied to. */
    directory: z.string().min(1),
    tls: z
      .object({
        /** none: cleartext; ldaps: TLS from the first byte; starttls: StartTLS offered and required before a bind. */
        mode: z.enum(['none', 'ldaps', 'starttls']).default('none'),
        /** PEM certificate (chain) and private key, relative to the config file. */
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
      })
      .strict()
      .default({ mode: 'none' }),
    /** Subtrees clients may search and compare in (RFC 4514 DNs); anything else is noSuchObject. */
    base_dns: z.array(z.string().min(1)).min(1),
    /** Most entries a search returns (the smaller of this and the client's own limit). */
    size_limit: z.number().int().min(1).max(1_000_000).default(1000),
    /** Longest a search may run, in seconds (the smaller of this and the client's own limit). */
    time_limit_seconds: z.number().int().min(1).max(3600).default(60),
    /** Anonymous binds and operations without a bind; off by default. */
    allow_anonymous: z.boolean().default(false),
    /** Pass on a bound user's Modify that replaces the userPassword of their own entry. */
    allow_password_change: z.boolean().default(false),
    /** A message longer than this ends the connection (Notice of Disconnection). */
    max_message_bytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(262144),
    /** Deepest and/or/not nesting of a search filter; deeper ends the connection. */
    max_filter_depth: z.number().int().min(1).max(256).default(32),
    max_connections: z.number().int().min(1).max(1_000_000).default(1024),
    max_connections_per_client: z.number().int().min(1).max(100_000).default(64),
    /** A connection with no request for this long is closed. */
    idle_timeout_seconds: z.number().positive().max(86400).default(300),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (l.tls.mode === 'none') return;
    if (l.tls.cert_file === undefined) ctx.addIssue({ code: 'custom', path: ['tls', 'cert_file'], message: `tls mode ${l.tls.mode} needs cert_file` });
    if (l.tls.key_file === undefined) ctx.addIssue({ code: 'custom', path: ['tls', 'key_file'], message: `tls mode ${l.tls.mode} needs key_file` });
  })
  .transform((l, ctx) => ({
    ...l,
    address: bindAddress(l, ctx, 'address', 'interface', true) ?? '',
    port: l.port ?? (l.tls.mode === 'ldaps' ? 636 : 389),
  }));

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
    /** Group commit: how long the first record of an idle period waits for others to share its fsync. */
    group_commit_ms: z.number().min(0).max(1000).default(0),
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
    /** As for the log. 0: a commit starts at once; records arriving meanwhile share the next. */
    group_commit_ms: z.number().min(0).max(1000).default(0),
    /**
     * Records in flight to upstream at once (each session stays in order). Delivery is at most
     * window / round-trip time: 256 at 10 ms is 25.6k records/s; 64 fell behind 22k/s on loopback.
     */
    window: z.number().int().min(1).max(4096).default(256),
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
    /** When set, the session routes want `Authorization: Bearer <token>` (never logged). */
    token: z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 24)').optional(),
  })
  .strict();

/** The session table (README "Sessions"). */
export const SessionsSchema = z
  .object({
    /** Off by default: it costs CPU on every Access-Accept (README "Sessions", "Benchmark"). */
    enabled: z.boolean().default(false),
    /** Snapshot and journal of the live sessions; without it they are kept in memory only. */
    state_dir: z.string().min(1).optional(),
    /** This node's name, the owner of its sessions (default: the host name). */
    node_id: Name.optional(),
    /** Beyond this, new sessions are not tracked (the Access-Accept still goes out). */
    max_sessions: z.number().int().min(1).max(100_000_000).default(1_000_000),
    /** Sent to every NAS as Acct-Interim-Interval instead of the upstream's value (or when there is none). */
    interim_interval_seconds: z.number().int().min(1).max(604800).optional(),
    /** Any Acct-Interim-Interval sent to a NAS is raised to this (RFC 2869 §5.16: not below 60). */
    interim_floor_seconds: z.number().int().min(1).max(604800).default(60),
    /** A session with no accounting for this many interim intervals is closed (Stop, Lost-Service). */
    missed_interims: z.number().min(1).max(100).default(3),
    /** Seconds past Session-Timeout before the table closes a session the NAS has not stopped. */
    timeout_grace_seconds: z.number().min(0).max(3600).default(10),
    /** Journal writes are batched over this many ms (what a crash can lose). */
    flush_ms: z.number().int().min(10).max(60_000).default(1000),
    /** The journal is compacted into a snapshot once it is this big and bigger than the snapshot. */
    compact_min_bytes: z.number().int().min(65536).default(16 * 1024 * 1024),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.interim_interval_seconds !== undefined && s.interim_interval_seconds < s.interim_floor_seconds) {
      ctx.addIssue({ code: 'custom', path: ['interim_interval_seconds'], message: `must be at least interim_floor_seconds (${s.interim_floor_seconds})` });
    }
  });

/** Dynamic authorization, RFC 5176 (README "Dynamic authorization (Disconnect/CoA)"). */
export const DynauthSchema = z
  .object({
    /** UDP listeners for Disconnect-Request and CoA-Request (RFC 5176 §3: port 3799). */
    listeners: z
      .array(
        z
          .object({
            address: IpAddress,
            port: Port.default(3799),
            receive_buffer_bytes: z.number().int().min(65536).default(1024 * 1024),
          })
          .strict(),
      )
      .min(1),
    /** Who may send them (usually the upstream RADIUS servers), each with its secret. */
    clients: z
      .array(
        z
          .object({
            name: z.string().min(1),
            address: Cidr,
            secret: z.string().min(1, 'must not be empty'),
          })
          .strict(),
      )
      .min(1),
    /** The NAS's dynauth port, unless its clients entry says dynauth_port. */
    nas_port: Port.default(3799),
    /** Seconds to wait for the NAS's ACK/NAK before retransmitting. */
    timeout_seconds: z.number().positive().max(60).default(3),
    /** Retransmissions to a silent NAS before the requester gets a NAK (506). */
    retries: z.number().int().min(0).max(10).default(2),
    /** RFC 5176 §3.5: a request whose Event-Timestamp is further off than this is discarded. */
    event_timestamp_window_seconds: z.number().int().min(1).max(86400).default(300),
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
    /** LDAP front listeners: LDAP clients proxied to an ldap_directories entry. */
    ldap_listeners: z.array(LdapListenerSchema).default([]),
    admin: AdminSchema.default({ enabled: true, address: '127.0.0.1', port: 9812 }),
    sessions: SessionsSchema.prefault({}),
    dynauth: DynauthSchema.optional(),
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
  checkLdapListeners(c, ctx);
  // Dynamic authorization finds the NAS through the session table.
  if (c.dynauth && !c.sessions.enabled) ctx.addIssue({ code: 'custom', path: ['dynauth'], message: 'needs sessions.enabled: true (the session table says which NAS holds a session)' });

  const admin = c.admin;
  if (admin.enabled && admin.port !== 0) {
    const clash = c.listeners.findIndex((l) => l.port === admin.port && addressKey(l.address) === addressKey(admin.address));
    if (clash >= 0) ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `same address and port as listeners[${clash}]` });
    // Both TCP: the admin endpoint and an LDAP listener cannot share an address and port.
    const ldapClash = c.ldap_listeners.findIndex((l) => l.port === admin.port && addressKey(l.address) === addressKey(admin.address));
    if (ldapClash >= 0) ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `same address and port as ldap_listeners[${ldapClash}]` });
  }
}

function checkLdapListeners(c: z.output<typeof ConfigBase>, ctx: z.RefinementCtx): void {
  const directories = new Set(c.ldap_directories.map((d) => d.name));
  const names = new Map<string, number>();
  const sockets = new Map<string, number>();
  c.ldap_listeners.forEach((l, i) => {
    const sameName = names.get(l.name);
    if (sameName === undefined) names.set(l.name, i);
    else ctx.addIssue({ code: 'custom', path: ['ldap_listeners', i, 'name'], message: `duplicate LDAP listener name, also used by ldap_listeners[${sameName}]` });
    if (!directories.has(l.directory)) ctx.addIssue({ code: 'custom', path: ['ldap_listeners', i, 'directory'], message: `no ldap_directories entry named ${l.directory}` });
    if (l.port === 0) return;
    const key = `${addressKey(l.address)} ${l.port}`;
    const first = sockets.get(key);
    if (first === undefined) sockets.set(key, i);
    else ctx.addIssue({ code: 'custom', path: ['ldap_listeners', i, 'port'], message: `same address and port as ldap_listeners[${first}]` });
  });
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
export type ChallengeRuleConfig = z.infer<typeof ChallengeRuleSchema>;
export type RouteConfig = z.infer<typeof RouteSchema>;
export type LdapDirectoryConfig = z.infer<typeof LdapDirectorySchema>;
export type LdapListenerConfig = z.infer<typeof LdapListenerSchema>;
export type ListenerConfig = z.infer<typeof ListenerSchema>;
export type ClientConfig = z.infer<typeof ClientSchema>;
export type SessionsConfig = z.infer<typeof SessionsSchema>;
export type DynauthConfig = z.infer<typeof DynauthSchema>;
export type Tristate = z.infer<typeof Tristate>;
