/**
 * An LDAP directory as a RADIUS authentication backend: PAP only (the password must reach the
 * directory as a bind, RFC 4513 §5.1), with reply attributes from role mapping rules over the
 * user's groups and attributes (roles.ts).
 *
 * Answers: a wrong password, an unknown user, an empty password, a refused bind (a locked
 * account) are Access-Reject. A directory no server of which answered (after failover) is no
 * answer at all, so the NAS retries or fails over to another proxy (`on_unreachable: drop`, the
 * default), or an Access-Reject (`on_unreachable: reject`); both are labelled ldap_unavailable.
 */
import { Attr } from '../radius/attribute-types.js';
import { materialize } from '../radius/attributes.js';
import { revealUserPassword } from '../radius/crypto.js';
import type { Dictionary } from '../radius/dictionary.js';
import { findAttribute, type RawAttribute } from '../radius/packet.js';
import type { LdapDirectory } from '../ldap/directory.js';
import { DropRequest } from '../server/front.js';
import type { AuthBackend, AuthRequest, AuthResult } from './backend.js';
import { evaluateRoles, type RoleRule } from './roles.js';

export interface LdapBackendSettings {
  /** `DOMAIN\user` and `user@domain` are searched as `user`. */
  stripDomain: boolean;
  onUnreachable: 'drop' | 'reject';
  roles: readonly RoleRule[];
}

/**
 * The account name without a Windows domain: `DOMAIN\user` -> `user` (after the first
 * backslash), `user@domain` -> `user` (before the last @). Anything else is returned as it is.
 */
export function stripWindowsDomain(name: string): string {
  const slash = name.indexOf('\\');
  if (slash >= 0) return name.slice(slash + 1);
  const at = name.lastIndexOf('@');
  if (at >= 0) return name.slice(0, at);
  return name;
}

export class LdapAuthBackend implements AuthBackend {
  constructor(
    private readonly directory: LdapDirectory,
    private readonly settings: LdapBackendSettings,
    private readonly dict: Dictionary,
  ) {}

  async authenticate(req: AuthRequest): Promise<AuthResult> {
    const { attributes, authenticator } = req.packet;
    const userName = req.userName ?? findAttribute(attributes, Attr.UserName)?.toString('utf8');
    if (userName === undefined) return reject('no_user_name');
    const hidden = findAttribute(attributes, Attr.UserPassword);
    // CHAP, MS-CHAP and EAP need the cleartext on our side; a directory only verifies a bind.
    if (!hidden) return reject('ldap_needs_pap', userName);
    const password = revealUserPassword(hidden, req.secret, authenticator);
    if (!password) return reject('malformed_user_password', userName);
    const account = this.settings.stripDomain ? stripWindowsDomain(userName) : userName;
    const result = await this.directory.authenticate(account, password.toString('utf8'));
    if (!result.ok) {
      if (result.reason === 'directory_unavailable') {
        // No directory answered: by default no reply, so the NAS retries or fails over (as for RADIUS upstreams).
        if (this.settings.onUnreachable === 'drop') throw new DropRequest('ldap_unavailable');
        return reject('ldap_unavailable', userName);
      }
      return reject(result.reason, userName);
    }
    const { roles, reply: templates } = evaluateRoles(this.settings.roles, { groups: result.groups, attributes: result.attributes });
    const reply: RawAttribute[] = [];
    for (const t of templates) reply.push(...materialize(t, this.dict, req.secret, authenticator));
    return { outcome: 'accept', attributes: reply, reason: 'ldap', userName, roles };
  }

  close(): Promise<void> {
    return this.directory.close();
  }
}

function reject(reason: string, userName?: string): AuthResult {
  return userName === undefined ? { outcome: 'reject', attributes: [], reason } : { outcome: 'reject', attributes: [], reason, userName };
}
