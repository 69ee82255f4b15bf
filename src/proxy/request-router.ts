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

const REPLY_CODE = { accept: Code.AccessAccept, reject: Code.AccessReject, challenge: Code.AccessChallenge } as const;

export interface Routing {
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
}

export async function routeAccessRequest(
  routing: Routing,
  local: AuthBackend,
  proxy: AccessProxy,
  packet: RadiusPacket,
  origin: RequestOrigin,
): Promise<HandlerReply> {
  const nameValue = findAttribute(packet.attributes, Attr.UserName);
  const userName = nameValue?.toString('utf8');
  const decision = routing.router.auth({
    userName,
    client: origin.client.name,
    clientGroup: origin.client.group,
    listener: origin.listener,
  });
  if (decision.target === LOCAL_TARGET) return handleAccessRequest(local, packet, origin.client);
  const pool = routing.pools.get(decision.target)!;
  let result;
  try {
    result = await proxy.forward(packet, origin.client.secret, {
      pool,
      ...(decision.strippedUserName !== undefined ? { userName: Buffer.from(decision.strippedUserName, 'utf8') } : {}),
    });
  } catch (err) {
    if (err instanceof RewriteError) throw new DropRequest('bad_user_password');
    throw err;
  }
  if (!result) throw new DropRequest('no_upstream_answer');
  const reply: HandlerReply = { code: REPLY_CODE[result.outcome], attributes: result.attributes, result: result.outcome, reason: result.reason };
  if (userName !== undefined) reply.user = userName;
  return reply;
}
