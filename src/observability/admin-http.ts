/**
 * The admin HTTP endpoint: Prometheus scrape, liveness and readiness probes, and a small
 * route table the daemon extends (e.g. POST /users/:name/unlock). Request bodies are never
 * read or logged here; a route that needs one reads it itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.js';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse, match: RegExpExecArray) => void | Promise<void>;

export interface AdminRoute {
  method: string;
  /** Must match the whole path (query string excluded); capture groups reach the handler. */
  path: RegExp;
  handler: AdminHandler;
}

export interface AdminServerOptions {
  address: string;
  port: number;
  metrics: Metrics;
  logger: Logger;
  readiness: () => boolean;
  routes?: readonly AdminRoute[];
}

/** start() after close(): the daemon is stopping and must not reopen the port. */
export class AdminClosedError extends Error {
  readonly code = 'AAA_ERR_ADMIN_CLOSED';
  constructor() {
    super('admin server is closed');
  }
}

export class AdminServer {
  private readonly opts: AdminServerOptions;
  private readonly log: Logger;
  private readonly routes: AdminRoute[] = [];
  private readonly server: Server;
  private started?: Promise<{ address: string; port: number }>;
  private closed?: Promise<void>;

  constructor(opts: AdminServerOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'admin-http' });
    this.server = createServer((req, res) => this.dispatch(req, res));
    this.addRoute('GET', /^\/metrics$/, (_req, res) => this.serveMetrics(res));
    this.addRoute('GET', /^\/healthz$/, (_req, res) => text(res, 200, 'ok\n'));
    this.addRoute('GET', /^\/readyz$/, (_req, res) =>
      this.opts.readiness() ? text(res, 200, 'ready\n') : text(res, 503, 'not ready\n'),
    );
    for (const r of opts.routes ?? []) this.addRoute(r.method, r.path, r.handler);
  }

  addRoute(method: string, path: RegExp, handler: AdminHandler): void {
    this.routes.push({ method: method.toUpperCase(), path, handler });
  }

  /**
   * Listens once; later calls return the same address, calls after close() reject.
   * Port 0 yields the port the kernel chose.
   */
  start(): Promise<{ address: string; port: number }> {
    if (this.closed) return Promise.reject(new AdminClosedError());
    this.started ??= new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.address, () => {
        this.server.off('error', onError);
        const { address, port } = this.server.address() as AddressInfo;
        this.log.info({ address, port }, 'admin HTTP listening');
        resolve({ address, port });
      });
    });
    return this.started;
  }

  /** Stops listening and drops keep-alive connections (a scraper would otherwise hold us open). */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.started?.catch(() => undefined); // a listen in flight finishes first
      if (!this.server.listening) return;
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    })();
    return this.closed;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const path = pathOf(req);
    // HEAD is answered as GET; node:http leaves out the body.
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.path.exec(path);
      if (m === null || m.index !== 0 || m[0].length !== path.length) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      this.run(route, req, res, m);
      return;
    }
    if (allowed.length > 0) {
      res.setHeader('Allow', allowed.join(', '));
      text(res, 405, 'method not allowed\n');
    } else {
      text(res, 404, 'not found\n');
    }
  }

  /** A failing handler answers 500 (or cuts the connection mid-response) and is logged without the body. */
  private run(route: AdminRoute, req: IncomingMessage, res: ServerResponse, m: RegExpExecArray): void {
    const fail = (err: unknown): void => {
      this.log.error({ err, method: req.method, path: pathOf(req) }, 'admin route failed');
      if (res.headersSent) res.destroy();
      else text(res, 500, 'internal error\n');
    };
    try {
      const p = route.handler(req, res, m);
      if (p) p.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  private async serveMetrics(res: ServerResponse): Promise<void> {
    const { contentType, body } = await this.opts.metrics.render();
    res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
    res.end(body);
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(body);
}
