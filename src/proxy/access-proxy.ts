/**
 * Forwards an Access-Request to an upstream pool and turns the verified reply into one for
 * the NAS. Failover: on a timeout the next server of the pool is tried, so the NAS's
 * retransmissions are never what drives it (the front drops those while we work).
 */
import { Attr } from '../radius/attribute-types.js';
import { Code } from '../radius/codes.js';
import { AuthenticatorSource } from '../radius/crypto.js';
import { encodeRequest } from '../radius/message.js';
import { findAttribute, type RadiusPacket } from '../radius/packet.js';
import type { AuthOutcome, AuthResult } from '../auth/backend.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { UpstreamError, type UpstreamServer } from '../upstream/server.js';
import { EncryptedAttributes, rewriteAccessRequest, rewriteReply } from './rewrite.js';
import { StickySessions } from './sticky-sessions.js';
import { ProxyStateSource } from './proxy-state.js';

const OUTCOME: Record<number, AuthOutcome> = {
  [Code.AccessAccept]: 'accept',
  [Code.AccessReject]: 'reject',
  [Code.AccessChallenge]: 'challenge',
};

export interface ProxyTarget {
  pool: UpstreamPool;
  /** User-Name to send upstream when the route strips the realm. */
  userName?: Buffer | undefined;
}

/** Per-server overrides of NAS identity attributes (off unless configured). */
export type IdentityOverrides = (server: UpstreamServer) => { nasIdentifier?: Buffer; nasIpAddress?: Buffer } | undefined;

export class AccessProxy {
  private readonly proxyStates = new ProxyStateSource();
  private readonly authenticators = new AuthenticatorSource();
  readonly sticky = new StickySessions(60_000, 100_000);

  constructor(
    private readonly encrypted: EncryptedAttributes,
    private readonly overrides: IdentityOverrides = () => undefined,
  ) {}

  /** Resolves with the NAS-ready result, or undefined when no server of the pool answered. */
  async forward(packet: RadiusPacket, clientSecret: Buffer, target: ProxyTarget): Promise<(AuthResult & { server: string }) | undefined> {
    const state = findAttribute(packet.attributes, Attr.State);
    let server = state ? this.sticky.lookup(state) : undefined;
    if (server && (server.state === 'dead' || server.state === 'admin-down')) server = undefined;
    server ??= target.pool.pick();
    // Made on the first failover only: most requests are answered by the first server.
    let tried: Set<UpstreamServer> | undefined;
    while (server) {
      try {
        return await this.exchange(server, packet, clientSecret, target);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        // A conversation with State cannot move: the next server knows nothing of it.
        if (state && this.sticky.lookup(state) === server) return undefined;
        (tried ??= new Set()).add(server);
        server = target.pool.pick(tried);
      }
    }
    return undefined;
  }

  private async exchange(server: UpstreamServer, packet: RadiusPacket, clientSecret: Buffer, target: ProxyTarget): Promise<AuthResult & { server: string }> {
    const secret = server.opts.secret;
    let ourAuthenticator = packet.authenticator;
    const proxyState = this.proxyStates.next();
    const overrides = this.overrides(server);
    const reply = await server.sendAccess((identifier) => {
      ourAuthenticator = this.authenticators.next();
      const attributes = rewriteAccessRequest(
        packet.attributes,
        { fromSecret: clientSecret, fromAuthenticator: packet.authenticator, toSecret: secret, toAuthenticator: ourAuthenticator },
        { proxyState, userName: target.userName, nasIdentifier: overrides?.nasIdentifier, nasIpAddress: overrides?.nasIpAddress },
      );
      const buf = encodeRequest({ code: Code.AccessRequest, identifier, attributes, authenticator: ourAuthenticator }, secret);
      return { buf, requestAuthenticator: ourAuthenticator };
    });
    const attributes = rewriteReply(
      reply.packet.attributes,
      { fromSecret: secret, fromAuthenticator: ourAuthenticator, toSecret: clientSecret, toAuthenticator: packet.authenticator },
      this.encrypted,
    );
    const outcome = OUTCOME[reply.packet.code]!;
    if (outcome === 'challenge') {
      const state = findAttribute(reply.packet.attributes, Attr.State);
      if (state) this.sticky.remember(state, server);
    }
    return { outcome, attributes, reason: `upstream ${server.name}`, server: server.name };
  }

}
