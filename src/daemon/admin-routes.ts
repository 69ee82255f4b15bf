/** Admin HTTP routes that act on the daemon (beyond metrics and health). Loopback by default. */
import type { AdminServer } from '../observability/admin-http.js';
import type { LockoutTracker } from '../auth/local/lockout.js';
import { registerSessionRoutes, type SessionRoutesSource } from './session-routes.js';

interface DaemonView extends SessionRoutesSource {
  lockout: LockoutTracker;
  sampleGauges(): void;
  upstreamStates(): { name: string; state: string; outstanding: number }[];
  directoryStates(): unknown[];
  reload(): Promise<{ ok: boolean; errors?: { file: string; line: number; key: string; message: string }[] }>;
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}

export function registerAdminRoutes(admin: AdminServer, daemon: DaemonView): void {
  admin.addRoute('GET', /^\/users\/locked$/, (_req, res) => {
    json(res, 200, daemon.lockout.lockedUsers().map((l) => ({ user: l.user, until: l.until.toISOString() })));
  });
  admin.addRoute('POST', /^\/users\/([^/]+)\/unlock$/, (_req, res, m) => {
    const user = decodeURIComponent(m[1]!);
    const wasLocked = daemon.lockout.unlock(user);
    daemon.sampleGauges();
    json(res, 200, { user, was_locked: wasLocked });
  });
  admin.addRoute('GET', /^\/upstreams$/, (_req, res) => json(res, 200, daemon.upstreamStates()));
  // LDAP directories: each server's alive/dead state and health check, the service account in use.
  admin.addRoute('GET', /^\/directories$/, (_req, res) => json(res, 200, daemon.directoryStates()));
  // The same as SIGHUP, for the CLI after it edits the users file.
  admin.addRoute('POST', /^\/reload$/, async (_req, res) => {
    const result = await daemon.reload();
    json(res, result.ok ? 200 : 422, result);
  });
  registerSessionRoutes(admin, daemon);
}
