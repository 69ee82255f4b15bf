/**
 * Local accounting (RFC 2866): each verified Accounting-Request becomes one JSON line in the
 * accounting log, durable before the Accounting-Response is sent (RFC 2866 §2: the server
 * answers only once it has recorded the packet).
 */
import { Attr } from '../radius/attribute-types.js';
import { describeAttributes } from '../radius/attributes.js';
import { Code } from '../radius/codes.js';
import type { Dictionary } from '../radius/dictionary.js';
import { attributeOf, type RadiusPacket } from '../radius/packet.js';
import type { HandlerReply } from '../server/front.js';
import type { RadiusClient } from '../server/clients.js';
import type { Peer } from '../transport/udp.js';
import type { AccountingLog } from './accounting-log.js';

/** Acct-Status-Type values (RFC 2866 §5.1, RFC 2867 §4.1) used as the record's status label. */
const STATUS_NAMES = new Map<number, string>([
  [1, 'start'],
  [2, 'stop'],
  [3, 'interim-update'],
  [7, 'accounting-on'],
  [8, 'accounting-off'],
  [9, 'tunnel-start'],
  [10, 'tunnel-stop'],
  [11, 'tunnel-reject'],
  [12, 'tunnel-link-start'],
  [13, 'tunnel-link-stop'],
  [14, 'tunnel-link-reject'],
  [15, 'failed'],
]);

export function statusTypeName(packet: RadiusPacket): string {
  const v = attributeOf(packet, Attr.AcctStatusType);
  if (!v || v.length !== 4) return 'missing';
  return STATUS_NAMES.get(v.readUInt32BE(0)) ?? 'other';
}

export async function handleAccountingRequest(
  log: AccountingLog,
  dict: Dictionary,
  packet: RadiusPacket,
  client: RadiusClient,
  peer: Peer,
): Promise<HandlerReply> {
  const status = statusTypeName(packet);
  await log.append({
    time: new Date().toISOString(),
    client: client.name,
    nas: peer.address,
    status,
    attributes: describeAttributes(dict, packet.attributes),
  });
  return { code: Code.AccountingResponse, attributes: [], result: 'acct_ok', reason: status };
}
