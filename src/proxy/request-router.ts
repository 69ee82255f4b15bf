/**
 * The handlers behind the front: each request is routed (realm, client, client group,
 * listener) to the local backend or to an upstream pool.
 */
import { handleAccessRequest } from '../auth/access-handler.js';
import type { AuthBackend } from '../auth/backend.js';
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { attributeOf, type RadiusPacket, type RawAttribute } from '../radius/packet.js';
import { LOCAL_TARGET, type Router } from '../routing/router.js';
import { DropRequest, durableAccountingReply, type HandlerReply, type RequestOrigin } from '../server/front.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { AccessProxy } from './access-proxy.js';
import { RewriteError } from './rewrite.js';
import { handleAccountingRequest, statusTypeName } from '../accounting/accounting-handler.js';
import type { AccountingLog } from '../accounting/accounting-log.js';
import { spoolLabel } from '../accounting/forwarder.js';
import { SpoolFullError, type AccountingSpool } from '../accounting/spool.js';
import type { Dictionary } from '../radius/dictionary.js';
import { describeAttributes } from '../radius/attributes.js';
import { encodeRequest } from '../radius/message.js';

const REPLY_CODE = { accept: Code.AccessAccept, reject: Code.AccessReject, challenge: Code.AccessChallenge } as const;

export interface Routing {
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** Backends for `auth: ldap:NAME`. */
  ldap: ReadonlyMap<string, AuthBackend>;
}

const LDAP_PREFIX = 'ldap:';

function routeRequest(packet: RadiusPacket, origin: RequestOrigin) {
  const userName = attributeOf(packet, Attr.UserName)?.toString('utf8');
  return { userName, client: origin.client.name, clientGroup: origin.client.group, listener: origin.listener };
}

export interface AccountingTargets {
  log: AccountingLog;
  dict: Dictionary;
  /** Present when the config has accounting.spool. */
  spool: AccountingSpool | undefined;
  /** The session table (src/session/table.ts), when sessions are on. */
  sessions?: SessionHooks | undefined;
}

/**
 * What requests tell the session table. Both calls are synchronous and only read the packet;
 * the table does its work after the reply has gone.
 */
export interface SessionHooks {
  /** An Access-Accept for the NAS: returns its attributes with the interim policy applied. */
  accepted(
    request: RadiusPacket,
    reply: RawAttribute[],
    client: string,
    nasAddress: string,
    backend: string,
    upstream: string | undefined,
    roles: readonly string[] | undefined,
  ): RawAttribute[];
  accounting(request: RadiusPacket, client: string, nasAddress: string, listener: string | undefined): void;
}

/**
 * Local accounting goes to the log; accounting for a pool is made durable in the spool and
 * then acknowledged, and the forwarder delivers it (RFC 2866 §2: answer only once recorded).
 */
export async function routeAccountingRequest(routing: Routing, targets: AccountingTargets, packet: RadiusPacket, origin: RequestOrigin): Promise<HandlerReply> {
  // Seen on the way in; the Accounting-Response never waits for the session table.
  targets.sessions?.accounting(packet, origin.client.name, origin.peer.address, origin.listener);
  const decision = routing.router.accounting(routeRequest(packet, origin));
  if (decision.target === LOCAL_TARGET || !targets.spool) {
    return handleAccountingRequest(targets.log, targets.dict, packet, origin.client, origin.peer);
  }
  // The spool sends the NAS its answer itself once the record is durable, when it can.
  const durableReply = targets.spool.repliesOnCommit ? durableAccountingReply(packet, origin) : undefined;
  try {
    await targets.spool.append(spoolLabel(decision.target, origin.client.name, decision.strippedUserName), origin.datagram, durableReply);
  } catch (err) {
    throw new DropRequest(err instanceof SpoolFullError ? 'spool_full' : 'spool_unavailable');
  }
  return { code: Code.AccountingResponse, attributes: [], result: 'acct_ok', reason: statusTypeName(packet), sent: durableReply?.buf };
}

export async function routeAccessRequest(
  routing: Routing,
  local: AuthBackend,
  proxy: AccessProxy,
  packet: RadiusPacket,
  origin: RequestOrigin,
  sessions?: SessionHooks,
): Promise<HandlerReply> {
  const request = routeRequest(packet, origin);
  const userName = request.userName;
  const decision = routing.router.auth(request);
  if (decision.target === LOCAL_TARGET) {
    if (!sessions) return handleAccessRequest(local, packet, origin.client);
    return session(sessions, packet, origin, await handleAccessRequest(local, packet, origin.client), LOCAL_TARGET, undefined);
  }
  if (decision.target.startsWith(LDAP_PREFIX)) {
    const directory = routing.ldap.get(decision.target.slice(LDAP_PREFIX.length));
    if (!directory) throw new DropRequest('ldap_unavailable');
    if (!sessions) return handleAccessRequest(directory, packet, origin.client, decision.strippedUserName);
    return session(sessions, packet, origin, await handleAccessRequest(directory, packet, origin.client, decision.strippedUserName), decision.target, undefined);
  }
  const pool = routing.pools.get(decision.target)!;
  let result;
  try {
    const userName = decision.strippedUserName === undefined ? undefined : Buffer.from(decision.strippedUserName, 'utf8');
    result = await proxy.forward(packet, origin.client.secret, { pool, userName });
  } catch (err) {
    if (err instanceof RewriteError) throw new DropRequest('bad_user_password');
    throw err;
  }
  if (!result) throw new DropRequest('no_upstream_answer');
  const reply: HandlerReply = { code: REPLY_CODE[result.outcome], attributes: result.attributes, result: result.outcome, reason: result.reason };
  if (userName !== undefined) reply.user = userName;
  return sessions ? session(sessions, packet, origin, reply, decision.target, result.server) : reply;
}

/** An Access-Accept starts a session (and gets the interim policy); other replies pass as they are. */
function session(sessions: SessionHooks, packet: RadiusPacket, origin: RequestOrigin, reply: HandlerReply, backend: string, upstream: string | undefined): HandlerReply {
  if (reply.code === Code.AccessAccept) {
    reply.attributes = sessions.accepted(packet, reply.attributes, origin.client.name, origin.peer.address, backend, upstream, reply.roles);
  }
  return reply;
}

/** Where a record the session table made comes from: the session's NAS, as routing sees it. */
export interface GeneratedOrigin {
  client: string;
  clientGroup: string | undefined;
  /** The client's secret (signs the spooled packet as the NAS's own would be). */
  secret: Buffer;
  nasAddress: string;
  listener: string | undefined;
  userName: string;
}

/**
 * A Stop the session table made, recorded exactly as the NAS's own accounting would be: routed
 * by the session's user, client and listener, then into the accounting log (local) or the spool
 * (a pool), both durable, so it reaches the accounting server with the same guarantees.
 */
export async function recordGeneratedAccounting(
  routing: Routing,
  targets: AccountingTargets,
  from: GeneratedOrigin,
  attributes: RawAttribute[],
  note: Record<string, string>,
): Promise<void> {
  const decision = routing.router.accounting({ userName: from.userName, client: from.client, clientGroup: from.clientGroup, listener: from.listener });
  if (decision.target === LOCAL_TARGET || !targets.spool) {
    await targets.log.append({
      time: new Date().toISOString(),
      client: from.client,
      nas: from.nasAddress,
      status: 'stop',
      origin: 'aaaproxy',
      ...note,
      attributes: describeAttributes(targets.dict, attributes),
    });
    return;
  }
  // The spool keeps NAS packets as received; the forwarder re-signs each for its upstream.
  const datagram = encodeRequest({ code: Code.AccountingRequest, identifier: 0, attributes }, from.secret, false);
  await targets.spool.append(spoolLabel(decision.target, from.client, decision.strippedUserName), datagram);
}
