/** The interface every authentication backend (local users, RADIUS upstream, LDAP) implements. */
import type { RadiusPacket, RawAttribute } from '../radius/packet.js';

export interface AuthRequest {
  packet: RadiusPacket;
  /** The client's shared secret: needed to reveal User-Password and to encrypt reply attributes. */
  secret: Buffer;
  clientName: string;
  /** The name to authenticate when the route stripped the realm; else User-Name. */
  userName?: string;
}

export type AuthOutcome = 'accept' | 'reject' | 'challenge';

export interface AuthResult {
  outcome: AuthOutcome;
  attributes: RawAttribute[];
  /** Why, for logs and metrics only; never sent to the NAS. */
  reason: string;
  userName?: string;
  /** Role mapping rules that matched, in order (LDAP backend); for the session table and logs. */
  roles?: readonly string[];
}

export interface AuthBackend {
  authenticate(req: AuthRequest): Promise<AuthResult>;
  close(): Promise<void>;
}
