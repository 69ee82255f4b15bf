/**
 * The Accounting-Request a spooled record becomes on the upstream hop, written straight from
 * the NAS's wire bytes: the forwarder sends every record, so it copies attribute runs instead
 * of decoding each attribute into a view and encoding the list again.
 */
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { signComputedRequestAuthenticator, signMessageAuthenticator, ZERO_AUTHENTICATOR } from '../radius/crypto.js';
import { EncodeError, HEADER_LENGTH, MAX_PACKET_LENGTH } from '../radius/packet.js';

const MAC_ATTRIBUTE_LENGTH = 18;
const DELAY_ATTRIBUTE_LENGTH = 6;

/**
 * Encodes the upstream copy of `nas` (an Accounting-Request that passed checkLayout):
 * - Acct-Delay-Time grows by `waitedSeconds` (RFC 2866 §5.2): the first one is rewritten in
 *   place (as a 4-octet value), later ones are dropped, and one is added when there was none;
 * - the NAS's Message-Authenticator is dropped and ours is written first (RFC 3579 §3.2;
 *   first is the BlastRADIUS hardening), signed with zeros as the authenticator (RFC 5176 §3.1);
 * - our Proxy-State goes last (RFC 2865 §5.33);
 * - the Request Authenticator is computed with `secret` (RFC 2866 §3).
 * Throws EncodeError when the result would pass the 4096-octet limit (RFC 2865 §3).
 */
export function encodeUpstreamAccountingRequest(
  nas: Buffer,
  identifier: number,
  waitedSeconds: number,
  proxyState: Buffer,
  secret: Buffer,
): Buffer {
  const nasLength = nas.readUInt16BE(2);
  let length = HEADER_LENGTH + MAC_ATTRIBUTE_LENGTH + 2 + proxyState.length;
  let delayBase = -1;
  for (let at = HEADER_LENGTH; at < nasLength; at += nas[at + 1]!) {
    const type = nas[at]!;
    if (type === Attr.MessageAuthenticator) continue;
    if (type === Attr.AcctDelayTime) {
      if (delayBase >= 0) continue;
      delayBase = nas[at + 1] === DELAY_ATTRIBUTE_LENGTH ? nas.readUInt32BE(at + 2) : 0;
      length += DELAY_ATTRIBUTE_LENGTH;
      continue;
    }
    length += nas[at + 1]!;
  }
  if (delayBase < 0) length += DELAY_ATTRIBUTE_LENGTH;
  if (length > MAX_PACKET_LENGTH) {
    throw new EncodeError('AAA_ERR_PACKET_TOO_LONG', `packet would be ${length} octets, limit is ${MAX_PACKET_LENGTH}`);
  }
  const delay = Math.min(0xffffffff, Math.max(0, delayBase) + waitedSeconds);

  const out = Buffer.allocUnsafe(length);
  out[0] = Code.AccountingRequest;
  out[1] = identifier;
  out.writeUInt16BE(length, 2);
  let w = HEADER_LENGTH;
  out[w] = Attr.MessageAuthenticator;
  out[w + 1] = MAC_ATTRIBUTE_LENGTH;
  out.fill(0, w + 2, w + MAC_ATTRIBUTE_LENGTH);
  w += MAC_ATTRIBUTE_LENGTH;
  // Kept attributes are copied in runs (one copy per stretch between dropped ones, not per attribute).
  let delayWritten = false;
  let runStart = HEADER_LENGTH;
  for (let at = HEADER_LENGTH; at < nasLength; at += nas[at + 1]!) {
    const type = nas[at]!;
    if (type !== Attr.MessageAuthenticator && type !== Attr.AcctDelayTime) continue;
    w += nas.copy(out, w, runStart, at);
    runStart = at + nas[at + 1]!;
    if (type === Attr.AcctDelayTime && !delayWritten) {
      w = writeDelay(out, w, delay);
      delayWritten = true;
    }
  }
  w += nas.copy(out, w, runStart, nasLength);
  if (!delayWritten) w = writeDelay(out, w, delay);
  out[w] = Attr.ProxyState;
  out[w + 1] = 2 + proxyState.length;
  proxyState.copy(out, w + 2);
  signMessageAuthenticator(out, HEADER_LENGTH + 2, ZERO_AUTHENTICATOR, secret);
  signComputedRequestAuthenticator(out, secret);
  return out;
}

function writeDelay(out: Buffer, at: number, seconds: number): number {
  out[at] = Attr.AcctDelayTime;
  out[at + 1] = DELAY_ATTRIBUTE_LENGTH;
  out.writeUInt32BE(seconds, at + 2);
  return at + DELAY_ATTRIBUTE_LENGTH;
}
