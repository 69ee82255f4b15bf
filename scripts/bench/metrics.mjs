// Prints selected counters from the daemon's Prometheus endpoint as KEY=VALUE lines,
// each the sum over the label sets that match.   node scripts/bench/metrics.mjs http://127.0.0.1:PORT/metrics
const url = process.argv[2];
// key: [metric name, labels that must be present (name="value")]
const wanted = {
  acct_records: ['aaaproxy_accounting_records_total'],
  acct_fsyncs: ['aaaproxy_accounting_fsyncs_total'],
  acct_commit_sum: ['aaaproxy_accounting_commit_seconds_sum'],
  acct_commit_count: ['aaaproxy_accounting_commit_seconds_count'],
  requests: ['aaaproxy_requests_total'],
  acct_ok: ['aaaproxy_requests_total', ['code="Accounting-Request"', 'result="acct_ok"']],
  auth_accept: ['aaaproxy_requests_total', ['code="Access-Request"', 'result="accept"']],
  dropped: ['aaaproxy_packets_dropped_total'],
  duplicates: ['aaaproxy_duplicates_total'],
  spool_pending: ['aaaproxy_spool_pending_records'],
  spool_delivered: ['aaaproxy_spool_delivered_total'],
  spool_deferred: ['aaaproxy_spool_deferred_total'],
  spool_commits: ['aaaproxy_spool_commits_total'],
  upstream_timeouts: ['aaaproxy_upstream_timeouts_total'],
  upstream_retransmits: ['aaaproxy_upstream_retransmits_total'],
  upstream_replies_dropped: ['aaaproxy_upstream_replies_dropped_total'],
  loop_cpu: ['aaaproxy_event_loop_cpu_seconds_total'],
  loop_wait: ['aaaproxy_event_loop_cpu_wait_seconds_total'],
};
const res = await fetch(url);
if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
const sums = Object.fromEntries(Object.keys(wanted).map((k) => [k, 0]));
for (const line of (await res.text()).split('\n')) {
  if (line.startsWith('#') || line === '') continue;
  const name = line.replace(/[{ ].*$/, '');
  const labels = line.startsWith(`${name}{`) ? line.slice(name.length, line.lastIndexOf('}') + 1) : '';
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  for (const [k, [metric, need = []]] of Object.entries(wanted)) {
    if (name === metric && Number.isFinite(value) && need.every((l) => labels.includes(l))) sums[k] += value;
  }
}
for (const [k, v] of Object.entries(sums)) process.stdout.write(`${k}=${v}\n`);
