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

/** What the upstream hop changes besides the delay, as for Access-Requests (see rewrite.ts). */
export interface AccountingRewrite {
  /** The route strips the realm: this replaces the first User-Name (and drops any other). */
  userName?: Buffer | undefined;
  /** The server overrides the NAS identity: the NAS's are dropped, these go last (before Proxy-State). */
  nasIdentifier?: Buffer | undefined;
  nasIpAddress?: Buffer | undefined;
}

const NO_REWRITE: AccountingRewrite = {};

/**
 * Encodes the upstream copy of `nas` (an Accounting-Request that passed checkLayout):
 * - Acct-Delay-Time grows by `waitedSeconds` (RFC 2866 §5.2): the first one is rewritten in
 *   place (as a 4-octet value), later ones are dropped, and one is added when there was none;
 * - `rewrite` applies the route's stripped User-Name and the server's NAS identity;
 * - a NAS that signed its request with Message-Authenticator gets it recomputed: the NAS's is
 *   dropped and ours written first (first is the BlastRADIUS hardening), signed with zeros as
 *   the authenticator (RFC 5176 §3.1). Without one from the NAS none is added, as by other
 *   proxies: RADIUS accounting (RFC 2866) does not use it, the Request Authenticator already
 *   covers every octet, and the HMAC was the largest single cost of forwarding a record;
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
  rewrite: AccountingRewrite = NO_REWRITE,
): Buffer {
  const { userName, nasIdentifier, nasIpAddress } = rewrite;
  const nasLength = nas.readUInt16BE(2);
  let length = HEADER_LENGTH + 2 + proxyState.length;
  if (nasIdentifier) length += 2 + nasIdentifier.length;
  if (nasIpAddress) length += 2 + nasIpAddress.length;
  let delayBase = -1;
  let userSeen = false;
  let signed = false;
  for (let at = HEADER_LENGTH; at < nasLength; at += nas[at + 1]!) {
    const type = nas[at]!;
    switch (replacement(type, rewrite)) {
      case 'drop':
        if (type === Attr.MessageAuthenticator) signed = true;
        continue;
      case 'delay':
        if (delayBase >= 0) continue;
        delayBase = nas[at + 1] === DELAY_ATTRIBUTE_LENGTH ? nas.readUInt32BE(at + 2) : 0;
        length += DELAY_ATTRIBUTE_LENGTH;
        continue;
      case 'user':
        if (!userSeen) length += 2 + userName!.length;
        userSeen = true;
        continue;
      case 'keep':
        length += nas[at + 1]!;
    }
  }
  if (delayBase < 0) length += DELAY_ATTRIBUTE_LENGTH;
  if (signed) length += MAC_ATTRIBUTE_LENGTH;
  if (length > MAX_PACKET_LENGTH) {
    throw new EncodeError('AAA_ERR_PACKET_TOO_LONG', `packet would be ${length} octets, limit is ${MAX_PACKET_LENGTH}`);
  }
  const delay = Math.min(0xffffffff, Math.max(0, delayBase) + waitedSeconds);

  const out = Buffer.allocUnsafe(length);
  out[0] = Code.AccountingRequest;
  out[1] = identifier;
  out.writeUInt16BE(length, 2);
  let w = HEADER_LENGTH;
  if (signed) {
    out[w] = Attr.MessageAuthenticator;
    out[w + 1] = MAC_ATTRIBUTE_LENGTH;
    out.fill(0, w + 2, w + MAC_ATTRIBUTE_LENGTH);
    w += MAC_ATTRIBUTE_LENGTH;
  }
  // Kept attributes are copied in runs (one copy per stretch between changed ones, not per attribute).
  let delayWritten = false;
  let userWritten = false;
  let runStart = HEADER_LENGTH;
  for (let at = HEADER_LENGTH; at < nasLength; at += nas[at + 1]!) {
    const change = replacement(nas[at]!, rewrite);
    if (change === 'keep') continue;
    w += nas.copy(out, w, runStart, at);
    runStart = at + nas[at + 1]!;
    if (change === 'delay' && !delayWritten) {
      w = writeDelay(out, w, delay);
      delayWritten = true;
    } else if (change === 'user' && !userWritten) {
      w = writeAttribute(out, w, Attr.UserName, userName!);
      userWritten = true;
    }
  }
  w += nas.copy(out, w, runStart, nasLength);
  if (!delayWritten) w = writeDelay(out, w, delay);
  if (nasIdentifier) w = writeAttribute(out, w, Attr.NasIdentifier, nasIdentifier);
  if (nasIpAddress) w = writeAttribute(out, w, Attr.NasIpAddress, nasIpAddress);
  writeAttribute(out, w, Attr.ProxyState, proxyState);
  if (signed) signMessageAuthenticator(out, HEADER_LENGTH + 2, ZERO_AUTHENTICATOR, secret);
  signComputedRequestAuthenticator(out, secret);
  return out;
}

type Change = 'keep' | 'drop' | 'delay' | 'user';

function replacement(type: number, rewrite: AccountingRewrite): Change {
  switch (type) {
    case Attr.MessageAuthenticator:
      return 'drop';
    case Attr.AcctDelayTime:
      return 'delay';
    case Attr.UserName:
      return rewrite.userName ? 'user' : 'keep';
    case Attr.NasIdentifier:
      return rewrite.nasIdentifier ? 'drop' : 'keep';
    case Attr.NasIpAddress:
      return rewrite.nasIpAddress ? 'drop' : 'keep';
    default:
      return 'keep';
  }
}

function writeAttribute(out: Buffer, at: number, type: number, value: Buffer): number {
  out[at] = type;
  out[at + 1] = 2 + value.length;
  value.copy(out, at + 2);
  return at + 2 + value.length;
}

function writeDelay(out: Buffer, at: number, seconds: number): number {
  out[at] = Attr.AcctDelayTime;
  out[at + 1] = DELAY_ATTRIBUTE_LENGTH;
  out.writeUInt32BE(seconds, at + 2);
  return at + DELAY_ATTRIBUTE_LENGTH;
}
