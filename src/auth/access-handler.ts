/** Turns a backend's decision into the reply the front sends (RFC 2865 §4.2–4.4). */
import { Code } from '../radius/codes.js';
import type { RadiusPacket } from '../radius/packet.js';
import type { HandlerReply } from '../server/front.js';
import type { RadiusClient } from '../server/clients.js';
import type { AuthBackend, AuthOutcome } from './backend.js';

const REPLY_CODE: Record<AuthOutcome, number> = {
  accept: Code.AccessAccept,
  reject: Code.AccessReject,
  challenge: Code.AccessChallenge,
};

export async function handleAccessRequest(backend: AuthBackend, packet: RadiusPacket, client: RadiusClient, userName?: string): Promise<HandlerReply> {
  const result = await backend.authenticate({ packet, secret: client.secret, clientName: client.name, ...(userName !== undefined ? { userName } : {}) });
  const reply: HandlerReply = {
    code: REPLY_CODE[result.outcome],
    attributes: result.attributes,
    result: result.outcome,
    reason: result.reason,
  };
  if (result.userName !== undefined) reply.user = result.userName;
  if (result.roles !== undefined && result.roles.length > 0) reply.roles = result.roles;
  return reply;
}
