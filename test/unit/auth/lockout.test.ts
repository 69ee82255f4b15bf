import t from 'tap';
import { LockoutTracker } from '../../../src/auth/local/lockout.js';

t.test('locks after N consecutive failures for M minutes', async (t) => {
  let now = 0;
  const lock = new LockoutTracker({ attempts: 3, minutes: 10 }, () => now);
  t.equal(lock.recordFailure('u'), false);
  t.equal(lock.recordFailure('u'), false);
  t.equal(lock.isLocked('u'), false);
  t.equal(lock.recordFailure('u'), true, 'the third failure locks');
  t.equal(lock.isLocked('u'), true);
  t.same(lock.lockedUsers().map((l) => l.user), ['u']);
  now += 10 * 60_000 - 1;
  t.equal(lock.isLocked('u'), true);
  now += 2;
  t.equal(lock.isLocked('u'), false, 'unlocked when the time runs out');
  t.equal(lock.recordFailure('u'), false, 'and the count starts again');
});

t.test('a success resets the count; unlock clears a lock', async (t) => {
  const lock = new LockoutTracker({ attempts: 2, minutes: 1 });
  lock.recordFailure('u');
  lock.recordSuccess('u');
  t.equal(lock.recordFailure('u'), false);
  t.equal(lock.recordFailure('u'), true);
  t.equal(lock.unlock('u'), true);
  t.equal(lock.isLocked('u'), false);
  t.equal(lock.unlock('u'), false);
});
