/**
 * The local users backend: PAP (RFC 2865 §5.2) and CHAP (RFC 2865 §5.3, RFC 1994) against
 * the users file, with account lockout and per-user reply attributes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Attr } from '../../radius/attribute-types.js';
import { materialize } from '../../radius/attributes.js';
import { revealUserPassword, verifyChapPassword } from '../../radius/crypto.js';
import type { Dictionary } from '../../radius/dictionary.js';
import { findAttribute, type RawAttribute } from '../../radius/packet.js';
import type { AuthBackend, AuthRequest, AuthResult } from '../backend.js';
import { LockoutTracker } from './lockout.js';
import { hashPassword, parsePasswordHash, verifyPassword } from './password-hash.js';
import type { LocalUser } from './users-file.js';

export interface LocalAuthObserver {
  lockedOut(user: string): void;
}

type Verdict = { ok: true } | { ok: false; reason: string; countsAsFailure: boolean };

export class LocalUsersBackend implements AuthBackend {
  /**
   * scrypt is deliberately slow; a password that verified once is remembered as an
   * HMAC under a per-process random key, so repeated logins cost one HMAC. The cache
   * lives in memory only and is emptied whenever the users file is reloaded.
   */
  private readonly verifiedKey = randomBytes(32);
  private verified = new Map<string, Buffer>();
  /** scrypt runs in progress, keyed by the same HMAC: concurrent first logins share one. */
  private readonly verifying = new Map<string, Promise<boolean>>();
  private dummyHash: Promise<ReturnType<typeof parsePasswordHash>> | undefined;

  constructor(
    private users: ReadonlyMap<string, LocalUser>,
    private readonly dict: Dictionary,
    readonly lockout: LockoutTracker,
    private readonly observer: LocalAuthObserver,
  ) {}

  /** Reload: remembered verifications survive only for users whose stored hash is unchanged. */
  swapUsers(users: ReadonlyMap<string, LocalUser>): void {
    const kept = new Map<string, Buffer>();
    for (const [name, mac] of this.verified) {
      const before = this.users.get(name);
      const after = users.get(name);
      if (before && after && after.passwordHashText !== undefined && after.passwordHashText === before.passwordHashText) kept.set(name, mac);
    }
    this.users = users;
    this.verified = kept;
  }

  async authenticate(req: AuthRequest): Promise<AuthResult> {
    const { attributes, authenticator } = req.packet;
    const nameValue = findAttribute(attributes, Attr.UserName);
    if (!nameValue) return reject('no_user_name');
    const userName = nameValue.toString('utf8');
    if (findAttribute(attributes, Attr.EapMessage)) return reject('eap_not_supported_by_local_backend', userName);

    const user = this.users.get(userName);
    if (this.lockout.isLocked(userName)) return reject('locked_out', userName);

    const verdict = await this.verify(user, attributes, authenticator, req.secret);
    if (!verdict.ok) {
      if (verdict.countsAsFailure && user && this.lockout.recordFailure(userName)) this.observer.lockedOut(userName);
      return reject(verdict.reason, userName);
    }
    this.lockout.recordSuccess(userName);
    const reply: RawAttribute[] = [];
    for (const t of user!.reply) reply.push(...materialize(t, this.dict, req.secret, authenticator));
    return { outcome: 'accept', attributes: reply, reason: 'ok', userName };
  }

  private async verify(user: LocalUser | undefined, attributes: RawAttribute[], authenticator: Buffer, secret: Buffer): Promise<Verdict> {
    const hidden = findAttribute(attributes, Attr.UserPassword);
    const chap = findAttribute(attributes, Attr.ChapPassword);
    if (hidden) {
      const password = revealUserPassword(hidden, secret, authenticator);
      if (!password) return { ok: false, reason: 'malformed_user_password', countsAsFailure: false };
      if (!user) {
        // Spend the same work as for a real user, so timing does not reveal who exists.
        await this.burnDummyHash(password);
        return { ok: false, reason: 'unknown_user', countsAsFailure: false };
      }
      if (!user.enabled) return { ok: false, reason: 'user_disabled', countsAsFailure: false };
      return (await this.checkPap(user, password)) ? { ok: true } : { ok: false, reason: 'wrong_password', countsAsFailure: true };
    }
    if (chap) {
      if (!user) return { ok: false, reason: 'unknown_user', countsAsFailure: false };
      if (!user.enabled) return { ok: false, reason: 'user_disabled', countsAsFailure: false };
      // CHAP needs the cleartext secret on our side (RFC 1994 §4.1).
      if (!user.cleartext) return { ok: false, reason: 'chap_needs_cleartext_password', countsAsFailure: false };
      const challenge = findAttribute(attributes, Attr.ChapChallenge) ?? authenticator;
      return verifyChapPassword(chap, user.cleartext, challenge)
        ? { ok: true }
        : { ok: false, reason: 'wrong_password', countsAsFailure: true };
    }
    return { ok: false, reason: 'unsupported_auth_method', countsAsFailure: false };
  }

  private async checkPap(user: LocalUser, password: Buffer): Promise<boolean> {
    if (user.cleartext) {
      return user.cleartext.length === password.length && timingSafeEqual(user.cleartext, password);
    }
    const mac = createHmac('sha256', this.verifiedKey).update(user.name).update('\0').update(password).digest();
    const known = this.verified.get(user.name);
    if (known && timingSafeEqual(known, mac)) return true;
    const hash = user.passwordHash;
    if (!hash) return false;
    const key = `${user.name}\0${mac.toString('base64')}`;
    let pending = this.verifying.get(key);
    if (!pending) {
      pending = verifyPassword(password, hash).finally(() => this.verifying.delete(key));
      this.verifying.set(key, pending);
    }
    if (!(await pending)) return false;
    // Only remember it if the users file was not swapped meanwhile.
    if (this.users.get(user.name) === user) this.verified.set(user.name, mac);
    return true;
  }

  private async burnDummyHash(password: Buffer): Promise<void> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('hex')).then(parsePasswordHash);
    const dummy = await this.dummyHash;
    if (dummy) await verifyPassword(password, dummy);
  }

  async close(): Promise<void> {}
}

function reject(reason: string, userName?: string): AuthResult {
  return userName === undefined ? { outcome: 'reject', attributes: [], reason } : { outcome: 'reject', attributes: [], reason, userName };
}
