import t from 'tap';
import { GroupCommit } from '../../../src/accounting/group-commit.js';

t.test('records queued during a commit are committed right after it, one commit at a time', async (t) => {
  const queue: number[] = [];
  const batches: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  let gc: GroupCommit;
  const commit = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    batches.push(queue.splice(0));
    // While this commit "syncs", more records arrive.
    if (batches.length === 1) for (let i = 10; i < 15; i++) {
      queue.push(i);
      gc.schedule();
    }
    await new Promise((r) => setTimeout(r, 20));
    running--;
  };
  gc = new GroupCommit(5, commit, () => queue.length > 0);
  for (let i = 0; i < 10; i++) {
    queue.push(i);
    gc.schedule();
  }
  // Bounded wait for both commits (timers may run late on a loaded machine).
  for (let i = 0; i < 200 && (batches.length < 2 || running > 0); i++) await new Promise((r) => setTimeout(r, 10));
  t.same(batches, [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14]]);
  t.equal(maxRunning, 1);
});

t.test('settle cancels a pending delay', async (t) => {
  let commits = 0;
  const gc = new GroupCommit(10_000, async () => {
    commits++;
  }, () => false);
  gc.schedule();
  await gc.settle();
  t.equal(commits, 0, 'the owner flushes what is left itself on close');
});

t.test('with maxInFlight 2, records queued during a commit get their own commit at once, never more than 2 running', async (t) => {
  const queue: number[] = [];
  const batches: number[][] = [];
  let running = 0;
  let maxRunning = 0;
  const release: (() => void)[] = [];
  const gc = new GroupCommit(0, async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    batches.push(queue.splice(0));
    await new Promise<void>((r) => release.push(r));
    running--;
  }, () => queue.length > 0, 2);
  const turn = () => new Promise((r) => setImmediate(r));
  for (const batch of [[1, 2], [3], [4, 5], [6]]) {
    queue.push(...batch);
    gc.schedule();
    await turn();
    await turn();
  }
  t.same(batches, [[1, 2], [3]], 'the second commit started while the first was writing; the rest wait for a slot');
  t.equal(maxRunning, 2);
  release.shift()!();
  for (let i = 0; i < 5 && batches.length < 3; i++) await turn();
  t.same(batches[2], [4, 5, 6], 'a freed slot takes everything that waited');
  while (release.length > 0) {
    release.shift()!();
    await turn();
  }
  await gc.settle();
  t.equal(running, 0);
  t.equal(maxRunning, 2);
});
