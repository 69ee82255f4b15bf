// The LDAP health checker's schedule and states, with an injected clock and a scripted target.
import t from 'tap';
import type { ServerCheckResult } from '../../../src/ldap/directory.js';
import { LdapHealthChecker, type Clock, type HealthState } from '../../../src/ldap/health-check.js';

class FakeClock implements Clock {
  time = 1_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves time forward, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].fn();
      await settle();
    }
    this.time = end;
  }
}
const settle = () => new Promise((r) => setImmediate(r));

const INTERVAL = 60 * 60_000;

function setup(results: Record<string, ServerCheckResult[]>) {
  const clock = new FakeClock();
  const calls: string[] = [];
  const target = {
    states: Object.keys(results).map((url) => ({ url })),
    checkServer: async (url: string, user: string, password: string) => {
      calls.push(`${url} ${user}/${password} @${clock.now()}`);
      clock.time += 5; // each check takes 5 ms
      return results[url]!.shift() ?? 'ok';
    },
  };
  const checked: string[] = [];
  const changes: [string, HealthState, HealthState, ServerCheckResult][] = [];
  const checker = new LdapHealthChecker(
    target,
    { username: 'probe', password: 'probe-pw', intervalMs: INTERVAL },
    { checked: (url, result) => checked.push(`${url} ${result}`), stateChanged: (url, from, to, result) => changes.push([url, from, to, result]) },
    clock,
  );
  return { clock, calls, checked, changes, checker };
}

t.test('the first check runs at start, every server in order; the next one an interval after', async (t) => {
  const { clock, calls, checked, changes, checker } = setup({ 'ldap://a': ['ok', 'unreachable', 'ok'], 'ldap://b': ['wrong_password', 'wrong_password', 'ok'] });
  t.same(checker.status(), [
    { url: 'ldap://a', state: 'unknown' },
    { url: 'ldap://b', state: 'unknown' },
  ]);
  checker.start();
  checker.start();
  await settle();
  t.same(calls, ['ldap://a probe/probe-pw @1000000', 'ldap://b probe/probe-pw @1000005'], 'at once, once, in failover order');
  t.same(checked, ['ldap://a ok', 'ldap://b wrong_password']);
  t.same(changes, [
    ['ldap://a', 'unknown', 'passing', 'ok'],
    ['ldap://b', 'unknown', 'failing', 'wrong_password'],
  ]);
  t.match(checker.status(), [
    { url: 'ldap://a', state: 'passing', result: 'ok', checkedAt: 1000005 },
    { url: 'ldap://b', state: 'failing', result: 'wrong_password', checkedAt: 1000010 },
  ]);

  await clock.advance(INTERVAL - 100);
  t.equal(calls.length, 2, 'nothing before the interval');
  await clock.advance(200);
  t.equal(calls.length, 4, 'second round');
  t.same(changes.slice(2), [['ldap://a', 'passing', 'failing', 'unreachable']], 'a state change only when the state changes');
  await clock.advance(INTERVAL);
  t.same(changes.slice(3), [
    ['ldap://a', 'failing', 'passing', 'ok'],
    ['ldap://b', 'failing', 'passing', 'ok'],
  ]);
  t.equal(checked.length, 6, 'every check reported');
  await checker.close();
  t.equal(clock.pending, 0, 'close() clears the timer');
  await clock.advance(10 * INTERVAL);
  t.equal(calls.length, 6, 'no check after close');
  await checker.close();
});

t.test('rounds never overlap; run() during a round waits for it', async (t) => {
  const { calls, checker } = setup({ 'ldap://a': [] });
  checker.start();
  const again = checker.run();
  await again;
  t.equal(calls.length, 1);
  await checker.close();
});

t.test('a directory closing under a check ends the round quietly', async (t) => {
  const { changes, checked, checker } = setup({ 'ldap://a': ['closed'], 'ldap://b': [] });
  checker.start();
  await settle();
  t.same(changes, []);
  t.same(checked, []);
  await checker.close();
});

t.test('close() before start(): start() does nothing', async (t) => {
  const { calls, clock, checker } = setup({ 'ldap://a': [] });
  await checker.close();
  checker.start();
  await settle();
  t.equal(calls.length, 0);
  t.equal(clock.pending, 0);
});
