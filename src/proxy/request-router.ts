/**
 * The handlers behind the front: each request is routed (realm, client, client group,
 * listener) to the local backend or to an upstream pool.
 */
import { handleAccessRequest } from '../auth/access-handler.js';
import type { AuthBackend } from '../auth/backend.js';
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { findAttribute, type RadiusPacket } from '../radius/packet.js';
import { LOCAL_TARGET, type Router } from '../routing/router.js';
import { DropRequest, type HandlerReply, type RequestOrigin } from '../server/front.js';
import type { UpstreamPool } from '../upstream/pool.js';
import type { AccessProxy } from './access-proxy.js';
import { RewriteError } from './rewrite.js';
import { handleAccountingRequest, statusTypeName } from '../accounting/accounting-handler.js';
import type { AccountingLog } from '../accounting/accounting-log.js';
import { spoolLabel } from '../accounting/forwarder.js';
import { SpoolFullError, type AccountingSpool } from '../accounting/spool.js';
import type { Dictionary } from '../radius/dictionary.js';

const REPLY_CODE = { accept: Code.AccessAccept, reject: Code.AccessReject, challenge: Code.AccessChallenge } as const;

export interface Routing {
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** Backends for `auth: ldap:NAME`. */
  ldap: ReadonlyMap<string, AuthBackend>;
}

const LDAP_PREFIX = 'ldap:';

function routeRequest(packet: RadiusPacket, origin: RequestOrigin) {
  const userName = findAttribute(packet.attributes, Attr.UserName)?.toString('utf8');
  return { userName, client: origin.client.name, clientGroup: origin.client.group, listener: origin.listener };
}

export interface AccountingTargets {
  log: AccountingLog;
  dict: Dictionary;
  /** Present when the config has accounting.spool. */
  spool: AccountingSpool | undefined;
}

/**
 * Local accounting goes to the log; accounting for a pool is made durable in the spool and
 * then acknowledged, and the forwarder delivers it (RFC 2866 §2: answer only once recorded).
 */
export async function routeAccountingRequest(routing: Routing, targets: AccountingTargets, packet: RadiusPacket, origin: RequestOrigin): Promise<HandlerReply> {
  const decision = routing.router.accounting(routeRequest(packet, origin));
  if (decision.target === LOCAL_TARGET || !targets.spool) {
    return handleAccountingRequest(targets.log, targets.dict, packet, origin.client, origin.peer);
  }
  try {
    await targets.spool.append(spoolLabel(decision.target, origin.client.name), origin.datagram);
  } catch (err) {
    throw new DropRequest(err instanceof SpoolFullError ? 'spool_full' : 'spool_unavailable');
  }
  return { code: Code.AccountingResponse, attributes: [], result: 'acct_ok', reason: statusTypeName(packet) };
}

export async function routeAccessRequest(
  routing: Routing,
  local: AuthBackend,
  proxy: AccessProxy,
  packet: RadiusPacket,
  origin: RequestOrigin,
): Promise<HandlerReply> {
  const request = routeRequest(packet, origin);
  const userName = request.userName;
  const decision = routing.router.auth(request);
  if (decision.target === LOCAL_TARGET) return handleAccessRequest(local, packet, origin.client);
  if (decision.target.startsWith(LDAP_PREFIX)) {
    const directory = routing.ldap.get(decision.target.slice(LDAP_PREFIX.length));
    if (!directory) throw new DropRequest('ldap_unavailable');
    return handleAccessRequest(directory, packet, origin.client, decision.strippedUserName);
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
  return reply;
}
