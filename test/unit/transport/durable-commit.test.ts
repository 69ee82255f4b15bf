/**
 * The native durable commit (native/durable_commit.c): the write lands, then the replies
 * leave, in commit order, and never after a failed write. Real files and loopback sockets.
 */
import { createSocket, type Socket } from 'node:dgram';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BatchedUdpEndpoint, loadUdpBatchAddon } from '../../../src/transport/batched-udp.js';
import { DurableCommitter, type CommitReply } from '../../../src/transport/durable-commit.js';

const loaded = loadUdpBatchAddon();
const addon = loaded.addon;

function receiver(): Promise<{ socket: Socket; port: number; got: string[] }> {
  const socket = createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (m) => got.push(m.toString()));
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve({ socket, port: socket.address().port, got })));
}

async function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'aaaproxy-commit-'));
  const file = join(dir, 'seg');
  writeFileSync(file, Buffer.alloc(0));
  const fd = openSync(file, constants.O_RDWR | constants.O_DSYNC);
  const endpoint = new BatchedUdpEndpoint(addon!, { address: '127.0.0.1', port: 0, receiveBufferBytes: 1 << 20 }, () => {}, () => {});
  await endpoint.start();
  const nas = await receiver();
  t.teardown(async () => {
    nas.socket.close();
    await endpoint.close();
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
  const reply = (text: string): CommitReply => endpoint.commitReply(Buffer.from(text), { address: '127.0.0.1', port: nas.port })!;
  return { file, fd, endpoint, nas, reply, committer: new DurableCommitter(addon!) };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('durable commit', { skip: !addon && `addon not built: ${'reason' in loaded ? loaded.reason : ''}` }, async (t) => {
  t.test('the data is in the file at its position before the replies leave', async (t) => {
    const { file, fd, nas, reply, committer } = await setup(t);
    const seen: string[] = [];
    // The receiver reads the file the moment each reply arrives.
    nas.socket.on('message', () => seen.push(readFileSync(file).toString()));
    t.equal(await committer.write(fd, Buffer.from('first'), 0, [reply('a1'), reply('a2')]), undefined);
    t.equal(await committer.write(fd, Buffer.from('second'), 5, [reply('b1')]), undefined);
    await settle(100);
    t.equal(readFileSync(file).toString(), 'firstsecond');
    t.same(nas.got, ['a1', 'a2', 'b1']);
    t.ok(seen.slice(0, 2).every((s) => s.startsWith('first')), 'the first commit was in the file when its replies came');
    t.equal(seen[2], 'firstsecond');
  });

  t.test('the threads that write commits return to the pool as SCHED_BATCH; the event loop keeps its policy', async (t) => {
    const { fd, committer } = await setup(t);
    for (let i = 0; i < 8; i++) t.equal(await committer.write(fd, Buffer.from('x'), i, []), undefined);
    // /proc/PID/task/TID/stat: the policy is field 41 (counted after the parenthesised name).
    const policy = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'latin1').split(') ')[1]!.split(' ')[41 - 3]);
    const SCHED_BATCH = 3;
    const tasks = readdirSync('/proc/self/task');
    t.ok(tasks.some((tid) => policy(tid) === SCHED_BATCH), 'a thread-pool thread switched to SCHED_BATCH');
    t.equal(policy(String(process.pid)), 0, 'the main thread is SCHED_OTHER');
  });

  t.test('replies leave in commit order, also with many commits in flight', async (t) => {
    const { fd, nas, reply, committer } = await setup(t);
    const writes = [];
    for (let i = 0; i < 40; i++) writes.push(committer.write(fd, Buffer.alloc(512, i), i * 512, [reply(`r${i}`)]));
    t.same(await Promise.all(writes), new Array(40).fill(undefined), 'every write succeeded');
    await settle(100);
    t.same(nas.got, Array.from({ length: 40 }, (_, i) => `r${i}`));
  });

  t.test('a failed write sends nothing, nor does any commit behind it until resume()', async (t) => {
    const { fd, nas, reply, committer } = await setup(t);
    const readOnly = openSync(join(tmpdir(), `aaaproxy-ro-${process.pid}`), constants.O_RDONLY | constants.O_CREAT, 0o600);
    t.teardown(() => closeSync(readOnly));
    // Submitted together: the second waits for the first, which fails.
    const [failed, behind] = await Promise.all([
      committer.write(readOnly, Buffer.from('x'), 0, [reply('refused')]),
      committer.write(fd, Buffer.from('y'), 0, [reply('behind')]),
    ]);
    t.equal(failed?.code, 'EBADF', 'the write error, with its code');
    t.equal(behind, undefined, 'the later write itself worked');
    t.equal(await committer.write(fd, Buffer.from('z'), 1, [reply('held')]), undefined);
    await settle(100);
    t.same(nas.got, [], 'neither the failed commit nor any later one answered before resume()');
    committer.resume();
    t.equal(await committer.write(fd, Buffer.from('w'), 2, [reply('resumed')]), undefined);
    await settle(100);
    t.same(nas.got, ['resumed']);
  });

  t.test('a reply it cannot send fails its commit in order, unwritten', async (t) => {
    const { file, fd, nas, reply, endpoint, committer } = await setup(t);
    const wrongFamily = endpoint.commitReply(Buffer.from('v6'), { address: '::1', port: nas.port })!;
    const error = await committer.write(fd, Buffer.from('data'), 0, [reply('ok'), wrongFamily]);
    t.equal(error?.code, 'EINVAL');
    t.equal(readFileSync(file).length, 0, 'nothing written');
    committer.resume();
    t.equal(await committer.write(fd, Buffer.from('next'), 0, [reply('next')]), undefined);
    await settle(100);
    t.same(nas.got, ['next'], 'the valid reply of the failed commit did not leave either');
  });

  t.test('a reply for a closed socket is skipped; the write and the other replies go on', async (t) => {
    const { file, fd, nas, reply, committer } = await setup(t);
    const other = new BatchedUdpEndpoint(addon!, { address: '127.0.0.1', port: 0, receiveBufferBytes: 1 << 20 }, () => {}, () => {});
    await other.start();
    const gone = other.commitReply(Buffer.from('gone'), { address: '127.0.0.1', port: nas.port })!;
    await other.close();
    // Let the loop finish closing it: the socket is released while the reply still names it.
    await settle(20);
    t.equal(other.commitReply(Buffer.from('x'), { address: '127.0.0.1', port: nas.port }), undefined, 'a closed endpoint makes no replies');
    t.equal(await committer.write(fd, Buffer.from('data'), 0, [gone, reply('kept')]), undefined);
    await settle(100);
    t.equal(readFileSync(file).toString(), 'data');
    t.same(nas.got, ['kept']);
  });

  t.test('a socket closed while its commit is in flight stays usable until the commit ends', async (t) => {
    const { fd, nas, committer } = await setup(t);
    const ep = new BatchedUdpEndpoint(addon!, { address: '127.0.0.1', port: 0, receiveBufferBytes: 1 << 20 }, () => {}, () => {});
    await ep.start();
    const writes = [];
    for (let i = 0; i < 20; i++) writes.push(committer.write(fd, Buffer.alloc(4096, i), i * 4096, [ep.commitReply(Buffer.from(`c${i}`), { address: '127.0.0.1', port: nas.port })!]));
    await ep.close();
    t.same(await Promise.all(writes), new Array(20).fill(undefined), 'every write succeeded');
    await settle(100);
    t.same(nas.got, Array.from({ length: 20 }, (_, i) => `c${i}`), 'the replies queued before the close still left, in order');
  });
});
