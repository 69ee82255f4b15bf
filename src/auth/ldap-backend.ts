/**
 * An LDAP directory as a RADIUS authentication backend: PAP only (the password must reach the
 * directory as a bind, RFC 4513 §5.1), with reply attributes chosen by group membership.
 */
import { Attr } from '../radius/attribute-types.js';
import { materialize, type AttributeTemplate } from '../radius/attributes.js';
import { revealUserPassword } from '../radius/crypto.js';
import type { Dictionary } from '../radius/dictionary.js';
import { findAttribute, type RawAttribute } from '../radius/packet.js';
import type { LdapDirectory } from '../ldap/directory.js';
import { DropRequest } from '../server/front.js';
import type { AuthBackend, AuthRequest, AuthResult } from './backend.js';

export interface GroupReply {
  /** Group DN, compared case-insensitively. */
  group: string;
  reply: AttributeTemplate[];
}

/** DNs compare without case and without spaces after commas (RFC 4514 §2.4 allows both). */
export function normalizeDn(dn: string): string {
  return dn.toLowerCase().replace(/,\s+/g, ',').trim();
}

export class LdapAuthBackend implements AuthBackend {
  private readonly groupReplies: GroupReply[];

  constructor(
    private readonly directory: LdapDirectory,
    groupReplies: readonly GroupReply[],
    private readonly dict: Dictionary,
  ) {
    this.groupReplies = groupReplies.map((g) => ({ group: normalizeDn(g.group), reply: g.reply }));
  }

  async authenticate(req: AuthRequest): Promise<AuthResult> {
    const { attributes, authenticator } = req.packet;
    const userName = req.userName ?? findAttribute(attributes, Attr.UserName)?.toString('utf8');
    if (userName === undefined) return reject('no_user_name');
    const hidden = findAttribute(attributes, Attr.UserPassword);
    // CHAP, MS-CHAP and EAP need the cleartext on our side; a directory only verifies a bind.
    if (!hidden) return reject('ldap_needs_pap', userName);
    const password = revealUserPassword(hidden, req.secret, authenticator);
    if (!password) return reject('malformed_user_password', userName);
    const result = await this.directory.authenticate(userName, password.toString('utf8'));
    if (!result.ok) {
      // No directory answered: no reply, so the NAS retries or fails over (as for RADIUS upstreams).
      if (result.reason === 'directory_unavailable') throw new DropRequest('ldap_unavailable');
      return reject(result.reason, userName);
    }
    const groups = new Set(result.groups.map(normalizeDn));
    const reply: RawAttribute[] = [];
    for (const g of this.groupReplies) {
      if (!groups.has(g.group)) continue;
      for (const t of g.reply) reply.push(...materialize(t, this.dict, req.secret, authenticator));
    }
    return { outcome: 'accept', attributes: reply, reason: 'ldap', userName };
  }

  close(): Promise<void> {
    return this.directory.close();
  }
}

function reject(reason: string, userName?: string): AuthResult {
  return userName === undefined ? { outcome: 'reject', attributes: [], reason } : { outcome: 'reject', attributes: [], reason, userName };
}
