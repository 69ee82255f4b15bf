import t from 'tap';
import { Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../../src/observability/hot-metrics.js';

/** The sample line for `series` (name plus labels), or undefined. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('children are found again by their label values, one series each', async (t) => {
  const registry = new Registry();
  const c = new HotCounter(registry, 'x_total', 'help', ['server', 'purpose']);
  c.labels('a', 'auth').inc();
  c.labels('a', 'auth').inc(2);
  c.labels('a', 'acct').inc();
  c.labels('b', 'auth').inc();
  // Values that a joined key would confuse stay apart.
  c.labels('a\u0000b', 'c').inc();
  c.labels('a', 'b\u0000c').inc(5);
  t.equal(c.labels('a', 'auth'), c.labels('a', 'auth'), 'the same child object');
  const body = await registry.metrics();
  t.equal(sample(body, 'x_total{server="a",purpose="auth"}'), 3);
  t.equal(sample(body, 'x_total{server="a",purpose="acct"}'), 1);
  t.equal(sample(body, 'x_total{server="b",purpose="auth"}'), 1);
  t.equal(body.split('\n').filter((l) => l.startsWith('x_total{')).length, 5, 'one line per label set');
});

t.test('a metric without labels and missing label values', async (t) => {
  const registry = new Registry();
  const plain = new HotCounter(registry, 'plain_total', 'help', []);
  plain.labels().inc();
  plain.labels().inc();
  const one = new HotCounter(registry, 'one_total', 'help', ['reason']);
  one.labels().inc();
  const body = await registry.metrics();
  t.equal(sample(body, 'plain_total'), 2);
  t.equal(sample(body, 'one_total{reason=""}'), 1);
});

t.test('histogram children and reset', async (t) => {
  const registry = new Registry();
  const h = new HotHistogram(registry, 'h_seconds', 'help', ['code'], [0.001, 0.01]);
  h.labels('x').observe(0.0005);
  h.labels('x').observe(0.005);
  h.labels('x').observe(1);
  let body = await registry.metrics();
  t.equal(sample(body, 'h_seconds_bucket{le="0.001",code="x"}'), 1);
  t.equal(sample(body, 'h_seconds_bucket{le="0.01",code="x"}'), 2);
  t.equal(sample(body, 'h_seconds_bucket{le="+Inf",code="x"}'), 3);
  t.equal(sample(body, 'h_seconds_count{code="x"}'), 3);
  registry.resetMetrics();
  body = await registry.metrics();
  t.equal(sample(body, 'h_seconds_count{code="x"}'), undefined, 'gone after reset');
  h.labels('x').observe(0.0005);
  body = await registry.metrics();
  t.equal(sample(body, 'h_seconds_count{code="x"}'), 1, 'a new child after reset');
});

t.test('a hot metric takes at most three labels', async (t) => {
  t.throws(() => new HotCounter(new Registry(), 'four_total', 'help', ['a', 'b', 'c', 'd']), /four_total: a hot metric has at most 3 labels/);
  const three = new HotCounter(new Registry(), 'three_total', 'help', ['a', 'b', 'c']);
  three.labels('x', 'y', 'z').inc();
  t.equal(three.labels('x', 'y', 'z').value, 1);
  t.equal(three.labels('x', 'y', 'w').value, 0, 'the last label tells children apart');
});
