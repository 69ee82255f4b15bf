/**
 * Chooses where a request goes: the first route whose conditions all match (realm, client,
 * client group, listener), else the local backend. Authentication and accounting have
 * separate targets. Realms: `user@realm` and `DOMAIN\user`.
 */
export interface RouteSpec {
  name: string;
  /** Exact realm (case-insensitive), `*` for any realm, or undefined for any user. */
  realm?: string | undefined;
  client?: string | undefined;
  clientGroup?: string | undefined;
  listener?: string | undefined;
  stripRealm: boolean;
  auth: string;
  accounting: string;
}

export interface RouteRequest {
  userName: string | undefined;
  client: string;
  clientGroup: string | undefined;
  listener: string | undefined;
}

export interface RouteDecision {
  route: string;
  /** 'local' or a pool name. */
  target: string;
  /** The User-Name to send on, when the realm is stripped. */
  strippedUserName?: string;
}

export function splitRealm(userName: string): { user: string; realm: string } | undefined {
  const at = userName.lastIndexOf('@');
  if (at >= 0) return { user: userName.slice(0, at), realm: userName.slice(at + 1) };
  const backslash = userName.indexOf('\\');
  if (backslash >= 0) return { user: userName.slice(backslash + 1), realm: userName.slice(0, backslash) };
  return undefined;
}

export const LOCAL_TARGET = 'local';

export class Router {
  private readonly routes: readonly (RouteSpec & { realmLower?: string })[];

  constructor(routes: readonly RouteSpec[]) {
    this.routes = routes.map((r) => (r.realm === undefined ? r : { ...r, realmLower: r.realm.toLowerCase() }));
  }

  auth(req: RouteRequest): RouteDecision {
    return this.decide(req, 'auth');
  }

  accounting(req: RouteRequest): RouteDecision {
    return this.decide(req, 'accounting');
  }

  private decide(req: RouteRequest, purpose: 'auth' | 'accounting'): RouteDecision {
    let split: ReturnType<typeof splitRealm> | null = null;
    for (const r of this.routes) {
      if (r.client !== undefined && r.client !== req.client) continue;
      if (r.clientGroup !== undefined && r.clientGroup !== req.clientGroup) continue;
      if (r.listener !== undefined && r.listener !== req.listener) continue;
      if (r.realmLower !== undefined) {
        if (split === null) split = req.userName === undefined ? undefined : splitRealm(req.userName);
        if (!split || (r.realmLower !== '*' && split.realm.toLowerCase() !== r.realmLower)) continue;
      }
      const decision: RouteDecision = { route: r.name, target: purpose === 'auth' ? r.auth : r.accounting };
      if (r.stripRealm && req.userName !== undefined) {
        split ??= splitRealm(req.userName);
        // RFC 2865 §5.1: User-Name is one or more octets, so `@realm` keeps its name unstripped.
        if (split && split.user !== '') decision.strippedUserName = split.user;
      }
      return decision;
    }
    return { route: 'default', target: LOCAL_TARGET };
  }
}
