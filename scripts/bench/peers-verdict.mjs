// Reads the shared harness's raw.tsv (bench.sh --peers) and checks aaaproxy against the
// targets, per window, on the medians over the repetitions:
//   auth req/s  >= radsecproxy's
//   acct req/s  >= FreeRADIUS-as-proxy's (aaaproxy's ACK follows the spool's durable write)
//   p99 (auth and acct) <= radsecproxy's
//   node scripts/bench/peers-verdict.mjs RAW_TSV [NAME=aaaproxy]
import { readFileSync } from 'node:fs';

const [file, name = 'aaaproxy'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: peers-verdict.mjs RAW_TSV [NAME]\n');
  process.exit(2);
}
const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
const cols = header.split('\t');
const rows = lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const med = (target, mode, window, col) =>
  median(rows.filter((r) => r.target === target && r.mode === mode && r.window === window).map((r) => Number(r[col])));

const windows = [...new Set(rows.map((r) => r.window))];
const fmt = (x, d = 0) => (x === undefined ? '-' : x.toFixed(d));
const out = [`targets for ${name} (medians of ${new Set(rows.map((r) => r.rep)).size} rep(s)):`];
let allMet = true;
for (const w of windows) {
  const check = (label, mine, theirs, peer, higherIsBetter, unit, d) => {
    if (mine === undefined || theirs === undefined) {
      out.push(`  w${w} ${label}: ${name} ${fmt(mine, d)} vs ${peer} ${fmt(theirs, d)} ${unit}: not measured`);
      return;
    }
    const ratio = mine / theirs;
    const met = higherIsBetter ? mine >= theirs : mine <= theirs;
    if (!met) allMet = false;
    const by = higherIsBetter ? `${((1 - ratio) * 100).toFixed(0)} % below` : `${((ratio - 1) * 100).toFixed(0)} % above`;
    out.push(`  w${w} ${label}: ${name} ${fmt(mine, d)} vs ${peer} ${fmt(theirs, d)} ${unit} = ${ratio.toFixed(2)}x: ${met ? 'met' : `MISSED (${by})`}`);
  };
  check('auth req/s', med(name, 'auth', w, 'rps'), med('radsecproxy', 'auth', w, 'rps'), 'radsecproxy', true, 'req/s', 0);
  check('acct req/s', med(name, 'acct', w, 'rps'), med('freeradius', 'acct', w, 'rps'), 'FreeRADIUS-proxy', true, 'req/s', 0);
  for (const mode of ['auth', 'acct']) {
    const mine = med(name, mode, w, 'p99_us');
    const theirs = med('radsecproxy', mode, w, 'p99_us');
    check(`${mode} p99`, mine === undefined ? undefined : mine / 1000, theirs === undefined ? undefined : theirs / 1000, 'radsecproxy', false, 'ms', 2);
  }
  for (const mode of ['auth', 'acct']) {
    const mine = med(name, mode, w, 'rps');
    const direct = med('direct', mode, w, 'rps');
    if (mine !== undefined && direct !== undefined) out.push(`  w${w} ${mode}: ${name}/direct req/s ${(mine / direct).toFixed(2)}`);
  }
}
out.push(allMet ? 'all measured targets met' : 'some targets MISSED');
process.stdout.write(out.join('\n') + '\n');
