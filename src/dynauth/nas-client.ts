/**
 * Sends one Disconnect/CoA request to a NAS and waits for its ACK or NAK: a connected socket of
 * its own per request (dynamic authorization is rare; no identifier space to share), the same
 * datagram retransmitted after each timeout (RFC 5080 §2.2.1: a retransmission is the same
 * packet), replies checked with the NAS's secret (RFC 5176 §2.3: Response Authenticator).
 */
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { Code } from '../radius/codes.js';
import { encodeRequest, verifyResponse } from '../radius/message.js';
import { HEADER_LENGTH, decodePacket, type RawAttribute } from '../radius/packet.js';
import { createUdpEndpoint, type Peer, type UdpIo } from '../transport/udp.js';
import { relayable, type NasOutcome } from './identify.js';

export interface NasTarget {
  /** The clients entry, for logs. */
  client: string;
  address: string;
  port: number;
  secret: Buffer;
}

export interface NasClientOptions {
  timeoutMs: number;
  /** Retransmissions after the first send. */
  retries: number;
  io?: UdpIo;
}

export interface NasClientObserver {
  /** A datagram from the NAS that was not a valid answer (dropped). */
  badReply(target: NasTarget, reason: string): void;
  retransmitted(target: NasTarget, attempt: number): void;
}

export function sendToNas(
  target: NasTarget,
  code: number,
  attributes: RawAttribute[],
  opts: NasClientOptions,
  observer: NasClientObserver,
): Promise<NasOutcome> {
  const ack = code === Code.DisconnectRequest ? Code.DisconnectAck : Code.CoAAck;
  const nak = code === Code.DisconnectRequest ? Code.DisconnectNak : Code.CoANak;
  const identifier = randomInt(256);
  // RFC 5176 §3.1: Message-Authenticator protects the request; the NAS may require it.
  const request = encodeRequest({ code, identifier, attributes }, target.secret, true);
  const requestAuthenticator = Buffer.from(request.subarray(4, HEADER_LENGTH));
  const peer: Peer = { address: target.address, port: target.port };
  return new Promise<NasOutcome>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let attempt = 0;
    const finish = (outcome: NasOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void endpoint.close();
      resolve(outcome);
    };
    const endpoint = createUdpEndpoint(
      { address: isIPv6(target.address) ? '::' : '0.0.0.0', port: 0, receiveBufferBytes: 65536, connect: peer },
      (msg) => {
        const decoded = decodePacket(msg);
        if (!decoded.ok) return observer.badReply(target, decoded.reason);
        const p = decoded.packet;
        if (p.identifier !== identifier) return observer.badReply(target, 'identifier_mismatch');
        if (p.code !== ack && p.code !== nak) return observer.badReply(target, 'unexpected_code');
        const check = verifyResponse(msg, requestAuthenticator, target.secret, false);
        if (check !== 'ok') return observer.badReply(target, check);
        finish({ kind: p.code === ack ? 'ack' : 'nak', attributes: relayable(p.attributes).map((a) => ({ type: a.type, value: Buffer.from(a.value) })) });
      },
      () => undefined,
      opts.io,
    );
    const send = () => {
      if (settled) return;
      if (attempt > 0) observer.retransmitted(target, attempt);
      endpoint.sendToPeer(request);
      timer = setTimeout(() => {
        if (attempt++ >= opts.retries) finish({ kind: 'timeout' });
        else send();
      }, opts.timeoutMs);
    };
    endpoint.start().then(send, (err: unknown) => {
      settled = true;
      void endpoint.close();
      reject(err as Error);
    });
  });
}
