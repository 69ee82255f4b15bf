// Prints selected counters from the daemon's Prometheus endpoint as KEY=VALUE lines,
// each the sum over all label sets.   node scripts/bench/metrics.mjs http://127.0.0.1:PORT/metrics
const url = process.argv[2];
const wanted = {
  acct_records: 'aaaproxy_accounting_records_total',
  acct_fsyncs: 'aaaproxy_accounting_fsyncs_total',
  acct_commit_sum: 'aaaproxy_accounting_commit_seconds_sum',
  acct_commit_count: 'aaaproxy_accounting_commit_seconds_count',
  requests: 'aaaproxy_requests_total',
  dropped: 'aaaproxy_packets_dropped_total',
  duplicates: 'aaaproxy_duplicates_total',
};
const res = await fetch(url);
if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
const sums = Object.fromEntries(Object.keys(wanted).map((k) => [k, 0]));
for (const line of (await res.text()).split('\n')) {
  if (line.startsWith('#') || line === '') continue;
  const name = line.replace(/[{ ].*$/, '');
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  for (const [k, metric] of Object.entries(wanted)) if (name === metric && Number.isFinite(value)) sums[k] += value;
}
for (const [k, v] of Object.entries(sums)) process.stdout.write(`${k}=${v}\n`);
