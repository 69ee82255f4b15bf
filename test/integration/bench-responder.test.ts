/**
 * The benchmark's minimal accounting server (scripts/bench/acct-responder): built with the
 * system's C compiler, it answers an Accounting-Request whose Request Authenticator checks
 * with a correctly signed Accounting-Response (RFC 2866 §3), and ignores one signed with
 * another secret. Checked with our own codec over loopback.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Attr } from '../../src/radius/attribute-types.js';
import { Code } from '../../src/radius/codes.js';
import { verifyResponseAuthenticator } from '../../src/radius/crypto.js';
import { encodeRequest } from '../../src/radius/message.js';

const SOURCE = fileURLToPath(new URL('../../../scripts/bench/acct-responder/', import.meta.url));

function compilerMissing(): string | false {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'no C compiler (cc) on this machine';
  }
}

/** Sends `packet` from a fresh socket; resolves with the reply, or undefined after `ms`. */
function exchange(port: number, packet: Buffer, ms: number): Promise<Buffer | undefined> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(undefined), ms);
    const finish = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    socket.on('message', (m) => finish(m));
    socket.send(packet, port, '127.0.0.1');
  });
}

t.test('acct-responder', { skip: compilerMissing() }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-responder-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'acct-responder');
  execFileSync('cc', ['-O2', '-o', bin, join(SOURCE, 'acct-responder.c'), join(SOURCE, 'md5.c')]);

  // A port the kernel picks, then frees for the responder (loopback, this process only).
  const probe = createSocket('udp4');
  const port = await new Promise<number>((resolve) => probe.bind(0, '127.0.0.1', () => resolve(probe.address().port)));
  probe.close();
  const child = spawn(bin, [String(port), 'bench-secret'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 200));

  const attributes = [
    { type: Attr.AcctStatusType, value: Buffer.from([0, 0, 0, 1]) },
    { type: Attr.AcctSessionId, value: Buffer.from('s-1') },
    { type: Attr.UserName, value: Buffer.from('nina') },
  ];
  const request = encodeRequest({ code: Code.AccountingRequest, identifier: 42, attributes }, Buffer.from('bench-secret'), false);
  const reply = await exchange(port, request, 2000);
  t.ok(reply, 'answered');
  t.equal(reply![0], Code.AccountingResponse);
  t.equal(reply![1], 42, 'same identifier');
  t.equal(reply!.readUInt16BE(2), 20, 'no attributes');
  t.ok(verifyResponseAuthenticator(reply!, request.subarray(4, 20), Buffer.from('bench-secret')), 'Response Authenticator checks with the shared secret');

  const forged = encodeRequest({ code: Code.AccountingRequest, identifier: 43, attributes }, Buffer.from('another-secret'), false);
  t.equal(await exchange(port, forged, 300), undefined, 'a request signed with another secret gets no answer');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 on SIGTERM');
  t.match(stderr, 'acct-responder: answered 1, ignored 1');
});
