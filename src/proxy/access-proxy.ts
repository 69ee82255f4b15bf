/**
 * Forwards an Access-Request to an upstream pool and turns the verified reply into one for
 * the NAS. Failover: on a timeout the next server of the pool is tried, so the NAS's
 * retransmissions are never what drives it (the front drops those while we work).
 *
 * Challenge rules (src/challenge/) look at a server's Access-Challenge and Access-Reject
 * replies when the server has any; a server without rules, and every Access-Accept, takes
 * the same path as before they existed.
 */
import { errorReject, followUpBase, relayedChallenge, renderPassword, renderPrompt } from '../challenge/actions.js';
import { findRule, type RuleMatch } from '../challenge/evaluate.js';
import type { ChallengeObserver, ChallengeRuleSet } from '../challenge/types.js';
import { Attr } from '../radius/attribute-types.js';
import { materialize } from '../radius/attributes.js';
import { Code } from '../radius/codes.js';
import { AuthenticatorSource, hideUserPassword, MAX_USER_PASSWORD_LENGTH, revealUserPassword } from '../radius/crypto.js';
import { encodeRequest } from '../radius/message.js';
import { findAttribute, type RadiusPacket, type RawAttribute } from '../radius/packet.js';
import type { AuthOutcome, AuthResult } from '../auth/backend.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { UpstreamError, type UpstreamReply, type UpstreamServer } from '../upstream/server.js';
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

/** What the proxy reads per server and request; everything is off unless configured. */
export interface PerServerSettings {
  /** Overrides of the NAS's identity attributes. */
  nasIdentifier?: Buffer;
  nasIpAddress?: Buffer;
  /** Challenge rules for the server's Access-Challenge and Access-Reject replies. */
  challenge?: { rules: ChallengeRuleSet; observer: ChallengeObserver };
}

export type ServerSettings = (server: UpstreamServer) => PerServerSettings | undefined;

type ProxyResult = AuthResult & { server: string };

export class AccessProxy {
  private readonly proxyStates = new ProxyStateSource();
  private readonly authenticators = new AuthenticatorSource();
  readonly sticky = new StickySessions(60_000, 100_000);

  constructor(
    private readonly encrypted: EncryptedAttributes,
    private readonly settings: ServerSettings = () => undefined,
  ) {}

  /** Resolves with the NAS-ready result, or undefined when no server of the pool answered. */
  async forward(packet: RadiusPacket, clientSecret: Buffer, target: ProxyTarget): Promise<ProxyResult | undefined> {
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

  /** Undefined when the server answered the first request but not an automatic one (challenge rules). */
  private async exchange(server: UpstreamServer, packet: RadiusPacket, clientSecret: Buffer, target: ProxyTarget): Promise<ProxyResult | undefined> {
    const secret = server.opts.secret;
    let ourAuthenticator = packet.authenticator;
    const proxyState = this.proxyStates.next();
    const settings = this.settings(server);
    const reply = await server.sendAccess((identifier) => {
      ourAuthenticator = this.authenticators.next();
      const attributes = rewriteAccessRequest(
        packet.attributes,
        { fromSecret: clientSecret, fromAuthenticator: packet.authenticator, toSecret: secret, toAuthenticator: ourAuthenticator },
        { proxyState, userName: target.userName, nasIdentifier: settings?.nasIdentifier, nasIpAddress: settings?.nasIpAddress },
      );
      const buf = encodeRequest({ code: Code.AccessRequest, identifier, attributes, authenticator: ourAuthenticator }, secret);
      return { buf, requestAuthenticator: ourAuthenticator };
    });
    const challenge = settings?.challenge;
    if (challenge !== undefined && reply.packet.code !== Code.AccessAccept) {
      return this.applyRules(challenge.rules, challenge.observer, server, packet, clientSecret, target, settings!, reply, ourAuthenticator);
    }
    return this.relay(server, reply.packet, clientSecret, packet.authenticator, ourAuthenticator);
  }

  /** An upstream reply as it is, rewritten for the NAS's hop; a challenge's State is remembered for the answer. */
  private relay(server: UpstreamServer, reply: RadiusPacket, clientSecret: Buffer, nasAuthenticator: Buffer, ourAuthenticator: Buffer, reason?: string): ProxyResult {
    const attributes = rewriteReply(
      reply.attributes,
      { fromSecret: server.opts.secret, fromAuthenticator: ourAuthenticator, toSecret: clientSecret, toAuthenticator: nasAuthenticator },
      this.encrypted,
    );
    const outcome = OUTCOME[reply.code]!;
    if (outcome === 'challenge') {
      const state = findAttribute(reply.attributes, Attr.State);
      if (state) this.sticky.remember(state, server);
    }
    return { outcome, attributes, reason: reason ?? `upstream ${server.name}`, server: server.name };
  }

  /**
   * The first matching rule decides; no match relays the reply as it is. send-access-request
   * answers the same server at once, at most rules.maxRounds times per request from the NAS;
   * a match after that is handled as if no rule matched. EAP conversations are never touched:
   * their Access-Challenges belong to the EAP method.
   */
  private async applyRules(
    rules: ChallengeRuleSet,
    observer: ChallengeObserver,
    server: UpstreamServer,
    packet: RadiusPacket,
    clientSecret: Buffer,
    target: ProxyTarget,
    settings: PerServerSettings,
    first: UpstreamReply,
    firstAuthenticator: Buffer,
  ): Promise<ProxyResult | undefined> {
    if (findAttribute(packet.attributes, Attr.EapMessage)) return this.relay(server, first.packet, clientSecret, packet.authenticator, firstAuthenticator);
    const user = findAttribute(packet.attributes, Attr.UserName)?.toString('utf8');
    const nasPassword = findAttribute(packet.attributes, Attr.UserPassword);
    let reply = first.packet;
    let ourAuthenticator = firstAuthenticator;
    for (let round = 0; ; round++) {
      const match = reply.code === Code.AccessAccept ? undefined : findRule(rules, reply.code, reply.attributes, nasPassword !== undefined);
      if (!match) {
        if (reply.code !== Code.AccessAccept) observer.challengeUnmatched(server.name, reply.code, round, user);
        return this.relay(server, reply, clientSecret, packet.authenticator, ourAuthenticator);
      }
      const rule = match.rule;
      if (rule.action === 'send-access-request' && round >= rules.maxRounds) {
        observer.challengeRoundsExhausted(server.name, rule.name, rules.maxRounds, user);
        return this.relay(server, reply, clientSecret, packet.authenticator, ourAuthenticator);
      }
      const reason = `upstream ${server.name}, challenge rule ${rule.name}`;
      if (rule.action === 'error') {
        observer.challengeRuleMatched(server.name, rule.name, rule.action, round, user);
        return { outcome: 'reject', attributes: errorReject(renderPrompt(match, reply.attributes)), reason, server: server.name };
      }
      if (rule.action !== 'send-access-request') {
        observer.challengeRuleMatched(server.name, rule.name, rule.action, round, user);
        const relayed = this.relay(server, reply, clientSecret, packet.authenticator, ourAuthenticator, reason);
        relayed.attributes = relayedChallenge(relayed.attributes, renderPrompt(match, reply.attributes));
        return relayed;
      }
      // send-access-request: the user's password as the NAS sent it, for <PASSWORD>.
      const password = nasPassword && revealUserPassword(nasPassword, clientSecret, packet.authenticator);
      const userPassword = renderPassword(match, password);
      if (userPassword.length > MAX_USER_PASSWORD_LENGTH) {
        observer.challengeRoundFailed(server.name, rule.name, 'password_too_long', user);
        return this.relay(server, reply, clientSecret, packet.authenticator, ourAuthenticator);
      }
      observer.challengeRuleMatched(server.name, rule.name, rule.action, round, user);
      try {
        const next = await this.sendFollowUp(server, packet, clientSecret, target, settings, rules, match, reply, userPassword);
        reply = next.reply.packet;
        ourAuthenticator = next.authenticator;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        // The conversation belongs to this server: no failover, and the NAS gets no answer.
        observer.challengeRoundFailed(server.name, rule.name, 'no_answer', user);
        return undefined;
      }
    }
  }

  /**
   * An automatic Access-Request to the same server: the NAS's attributes through the usual
   * per-hop rewrite (new identifier, authenticator and Proxy-State; Message-Authenticator
   * signed by encodeRequest), with the challenge's State, the templated User-Password and the
   * rule's extra attributes.
   */
  private async sendFollowUp(
    server: UpstreamServer,
    packet: RadiusPacket,
    clientSecret: Buffer,
    target: ProxyTarget,
    settings: PerServerSettings,
    rules: ChallengeRuleSet,
    match: RuleMatch,
    reply: RadiusPacket,
    userPassword: Buffer,
  ): Promise<{ reply: UpstreamReply; authenticator: Buffer }> {
    const secret = server.opts.secret;
    const state = findAttribute(reply.attributes, Attr.State);
    const base = followUpBase(packet.attributes, match.rule.replaces);
    const proxyState = this.proxyStates.next();
    let ourAuthenticator = packet.authenticator;
    const sent = await server.sendAccess((identifier) => {
      ourAuthenticator = this.authenticators.next();
      const attributes = rewriteAccessRequest(
        base,
        { fromSecret: clientSecret, fromAuthenticator: packet.authenticator, toSecret: secret, toAuthenticator: ourAuthenticator },
        { proxyState, userName: target.userName, nasIdentifier: settings.nasIdentifier, nasIpAddress: settings.nasIpAddress },
      );
      const added: RawAttribute[] = [{ type: Attr.UserPassword, value: hideUserPassword(userPassword, secret, ourAuthenticator) }];
      if (state) added.push({ type: Attr.State, value: state });
      for (const t of match.rule.extra) added.push(...materialize(t, rules.dict, secret, ourAuthenticator));
      // Before our Proxy-State, which the rewrite put last (RFC 2865 §5.33).
      attributes.splice(attributes.length - 1, 0, ...added);
      const buf = encodeRequest({ code: Code.AccessRequest, identifier, attributes, authenticator: ourAuthenticator }, secret);
      return { buf, requestAuthenticator: ourAuthenticator };
    });
    return { reply: sent, authenticator: ourAuthenticator };
  }
}
