import t from 'tap';
import { Registry } from 'prom-client';
import { parseSchedStat, readOwnSchedStat, registerCpuWaitMetrics } from '../../../src/observability/cpu-wait-metrics.js';

t.test('parses the run and wait fields of a schedstat line', async (t) => {
  t.same(parseSchedStat('4160123456 3336000000 19067\n'), { runNs: 4160123456, waitNs: 3336000000 });
  t.equal(parseSchedStat(''), undefined);
  t.equal(parseSchedStat('4160 3336'), undefined, 'two fields are not a schedstat line');
  t.equal(parseSchedStat('a b c'), undefined);
});

t.test('the counters follow the thread: run time grows with work done on it', { skip: readOwnSchedStat() ? false : 'no /proc/thread-self/schedstat here' }, async (t) => {
  const registry = new Registry();
  t.equal(registerCpuWaitMetrics(registry), true);
  const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value;
  const run0 = await value('aaaproxy_event_loop_cpu_seconds_total');
  const wait0 = await value('aaaproxy_event_loop_cpu_wait_seconds_total');
  t.ok(run0 > 0, 'counts from the thread start');
  t.ok(wait0 >= 0);
  // 30 ms of CPU on this thread, however loaded the machine (bounded in wall time).
  const start = readOwnSchedStat()!.runNs;
  const giveUp = performance.now() + 10_000;
  while (readOwnSchedStat()!.runNs - start < 30e6 && performance.now() < giveUp);
  const run1 = await value('aaaproxy_event_loop_cpu_seconds_total');
  t.ok(run1 - run0 >= 0.03, `ran ${(run1 - run0).toFixed(3)} s more`);
  t.ok((await value('aaaproxy_event_loop_cpu_wait_seconds_total')) >= wait0, 'the wait never goes back');
  t.match(await registry.metrics(), /aaaproxy_event_loop_cpu_wait_seconds_total \d/);
});
