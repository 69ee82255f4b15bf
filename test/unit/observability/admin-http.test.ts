import t from 'tap';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { AdminServer } from '../../../src/observability/admin-http.js';
import { createLogger } from '../../../src/observability/logger.js';
import { Metrics } from '../../../src/observability/metrics.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request through node:http (the default agent); body is optional. */
function call(port: number, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An admin server on an ephemeral port, closed when the test `t` ends; log lines are kept. */
function setup(t: { teardown(fn: () => unknown): void }) {
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  const state = { ready: false };
  const metrics = new Metrics();
  const server = new AdminServer({
    address: '127.0.0.1',
    port: 0,
    metrics,
    logger: createLogger({ level: 'info', format: 'json', destination: sink }),
    readiness: () => state.ready,
  });
  t.teardown(() => server.close());
  return { server, metrics, state, logged };
}

t.test('built-in endpoints', async (t) => {
  const { server, metrics, state } = setup(t);
  const { address, port } = await server.start();
  t.equal(address, '127.0.0.1');
  t.ok(port > 0, 'ephemeral port reported');
  t.same(await server.start(), { address, port }, 'start is idempotent');

  metrics.requestCompleted('nas1', 'Access-Request', 'accept', 0.001);
  const m = await call(port, 'GET', '/metrics');
  t.equal(m.status, 200);
  t.match(m.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.match(m.body, 'aaaproxy_requests_total{client="nas1",code="Access-Request",result="accept"} 1');

  const h = await call(port, 'GET', '/healthz');
  t.equal(h.status, 200);
  t.equal(h.body, 'ok\n');

  t.equal((await call(port, 'GET', '/readyz')).status, 503);
  state.ready = true;
  t.equal((await call(port, 'GET', '/readyz?verbose=1')).status, 200, 'query string ignored');

  const head = await call(port, 'HEAD', '/healthz');
  t.equal(head.status, 200);
  t.equal(head.body, '');

  t.equal((await call(port, 'GET', '/nope')).status, 404);
  t.equal((await call(port, 'GET', '/metricsx')).status, 404, 'paths match whole');
  const wrong = await call(port, 'POST', '/metrics');
  t.equal(wrong.status, 405);
  t.equal(wrong.headers.allow, 'GET');
});

t.test('pluggable routes receive the match; failures answer 500 without logging the body', async (t) => {
  const { server, logged } = setup(t);
  server.addRoute('POST', /^\/users\/([^/]+)\/unlock$/, (_req, res, match) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`unlocked ${decodeURIComponent(match[1] ?? '')}\n`);
  });
  server.addRoute('POST', /^\/boom$/, async () => {
    throw new Error('handler failed');
  });
  const { port } = await server.start();

  const ok = await call(port, 'POST', '/users/al%20ice/unlock');
  t.equal(ok.status, 200);
  t.equal(ok.body, 'unlocked al ice\n');
  t.equal((await call(port, 'GET', '/users/alice/unlock')).status, 405);

  const boom = await call(port, 'POST', '/boom', 'password=hunter2');
  t.equal(boom.status, 500);
  const log = logged.join('');
  t.match(log, 'admin route failed');
  t.notMatch(log, 'hunter2');
});

t.test('close is idempotent, drops keep-alive connections and refuses start', async (t) => {
  const { server } = setup(t);
  const { port } = await server.start();
  // fetch keeps its connection alive; close() must not wait for the idle timeout.
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
  const started = Date.now();
  const first = server.close();
  t.equal(server.close(), first, 'same promise');
  await first;
  await server.close();
  t.ok(Date.now() - started < 1000, 'closed promptly');
  await t.rejects(call(port, 'GET', '/healthz'), { code: 'ECONNREFUSED' });
  await t.rejects(server.start(), { code: 'AAA_ERR_ADMIN_CLOSED' });
});

t.test('close before start resolves', async (t) => {
  const { server } = setup(t);
  await server.close();
  t.pass();
});
