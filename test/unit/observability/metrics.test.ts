import t from 'tap';
import { register as globalRegistry } from 'prom-client';
import { Metrics } from '../../../src/observability/metrics.js';

const NAMES = [
  'aaaproxy_requests_total',
  'aaaproxy_request_duration_seconds',
  'aaaproxy_packets_dropped_total',
  'aaaproxy_duplicates_total',
  'aaaproxy_lockouts_total',
  'aaaproxy_locked_users',
  'aaaproxy_accounting_records_total',
  'aaaproxy_accounting_fsyncs_total',
  'aaaproxy_accounting_commit_seconds',
  'aaaproxy_config_reloads_total',
  'aaaproxy_config_last_reload_success_timestamp_seconds',
  'aaaproxy_duplicate_cache_entries',
];

/** The sample line for `series` (name plus labels), or undefined. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('render lists every metric and the prefixed process metrics', async (t) => {
  const { contentType, body } = await new Metrics().render();
  t.match(contentType, /^text\/plain/);
  for (const n of NAMES) t.match(body, `# TYPE ${n} `, n);
  t.match(body, 'aaaproxy_process_cpu_user_seconds_total');
  t.match(body, 'aaaproxy_nodejs_heap_size_used_bytes');
});

t.test('closed label sets start at zero', async (t) => {
  const m = new Metrics();
  m.initDropReasons(['bad_authenticator', 'too_short']);
  const { body } = await m.render();
  t.equal(sample(body, 'aaaproxy_packets_dropped_total{reason="bad_authenticator"}'), 0);
  t.equal(sample(body, 'aaaproxy_packets_dropped_total{reason="too_short"}'), 0);
  t.equal(sample(body, 'aaaproxy_duplicates_total{result="resent"}'), 0);
  t.equal(sample(body, 'aaaproxy_duplicates_total{result="in_progress"}'), 0);
  t.equal(sample(body, 'aaaproxy_config_reloads_total{result="ok"}'), 0);
  t.equal(sample(body, 'aaaproxy_config_reloads_total{result="failed"}'), 0);
});

t.test('hot-path methods move the series', async (t) => {
  const m = new Metrics();
  m.initDropReasons(['too_short']);
  m.requestCompleted('nas1', 'Access-Request', 'accept', 0.0003);
  m.requestCompleted('nas1', 'Access-Request', 'accept', 0.002);
  m.requestCompleted('nas1', 'Access-Request', 'reject', 0.002);
  m.requestCompleted('nas2', 'Accounting-Request', 'acct_ok', 0.02);
  m.packetDropped('too_short');
  m.packetDropped('too_short');
  m.packetDropped('not_initialised');
  m.duplicate('resent');
  m.duplicate('in_progress');
  m.duplicate('in_progress');
  m.lockout();
  m.setLockedUsers(3);
  m.accountingRecord('Start');
  m.accountingRecord('Start');
  m.accountingRecord('Stop');
  m.accountingFsynced();
  m.accountingCommitted(0.004);
  m.configReloaded('failed');
  m.configReloaded('ok', new Date(1_700_000_000_000));
  m.setDuplicateCacheEntries(42);

  const { body } = await m.render();
  const s = (series: string) => sample(body, series);
  t.equal(s('aaaproxy_requests_total{client="nas1",code="Access-Request",result="accept"}'), 2);
  t.equal(s('aaaproxy_requests_total{client="nas1",code="Access-Request",result="reject"}'), 1);
  t.equal(s('aaaproxy_requests_total{client="nas2",code="Accounting-Request",result="acct_ok"}'), 1);
  t.equal(s('aaaproxy_request_duration_seconds_count{code="Access-Request"}'), 3);
  t.equal(s('aaaproxy_request_duration_seconds_bucket{le="0.0005",code="Access-Request"}'), 1);
  t.equal(s('aaaproxy_request_duration_seconds_bucket{le="1",code="Accounting-Request"}'), 1);
  t.equal(s('aaaproxy_packets_dropped_total{reason="too_short"}'), 2);
  t.equal(s('aaaproxy_packets_dropped_total{reason="not_initialised"}'), 1);
  t.equal(s('aaaproxy_duplicates_total{result="resent"}'), 1);
  t.equal(s('aaaproxy_duplicates_total{result="in_progress"}'), 2);
  t.equal(s('aaaproxy_lockouts_total'), 1);
  t.equal(s('aaaproxy_locked_users'), 3);
  t.equal(s('aaaproxy_accounting_records_total{status_type="Start"}'), 2);
  t.equal(s('aaaproxy_accounting_records_total{status_type="Stop"}'), 1);
  t.equal(s('aaaproxy_accounting_fsyncs_total'), 1);
  t.equal(s('aaaproxy_accounting_commit_seconds_count'), 1);
  t.equal(s('aaaproxy_config_reloads_total{result="ok"}'), 1);
  t.equal(s('aaaproxy_config_reloads_total{result="failed"}'), 1);
  t.equal(s('aaaproxy_config_last_reload_success_timestamp_seconds'), 1_700_000_000);
  t.equal(s('aaaproxy_duplicate_cache_entries'), 42);
});

t.test('instances are independent and leave the global registry empty', async (t) => {
  const a = new Metrics();
  const b = new Metrics();
  a.lockout();
  t.equal(sample((await a.render()).body, 'aaaproxy_lockouts_total'), 1);
  t.equal(sample((await b.render()).body, 'aaaproxy_lockouts_total'), 0);
  t.equal(globalRegistry.getMetricsAsArray().length, 0);
});
