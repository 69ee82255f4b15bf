#!/usr/bin/env bash
# Local load test of the daemon: PAP authentication against a local user, and accounting
# into the durable accounting log, on 127.0.0.1 only.
#
#   npm run bench                          10 s per mode, window 64
#   npm run bench -- --duration 5 --window 256 --no-reference
#
# What it does:
#   - builds dist/ (tsc) and the closed-loop load generator radload from
#     ../shared/bench/loadgen (copied to bench-results/radload-build/, built there);
#   - writes a config + users file (user bench/benchpass, scrypt hash, random secret) into
#     bench-results/<timestamp>/ and starts `node bin/aaaproxy.js run` on kernel-chosen
#     127.0.0.1 ports;
#   - checks one Access-Request (the only scrypt: later ones hit the verified-credential
#     cache) and one Accounting-Request, then runs radload for each mode;
#   - samples the daemon's CPU time (/proc/PID/stat) from warm-up + 0.5 s to the end - 0.5 s,
#     and its Prometheus counters (accounting records, fsyncs) before and after;
#   - as the reference measured in the same run (DESIGN habit 10), runs the same load
#     against FreeRADIUS answering locally from ../shared/bench/home (auth: files + pap,
#     cleartext; acct: `ok` with no write), when freeradius is installed and its ports
#     21812/21813 are free;
#   - stops the daemon with SIGTERM, checks that it exits 0 and that the accounting log holds
#     every committed record. Prints a table; keeps it in bench-results/<ts>/summary.txt.
#
# The loadgen, the daemon and the reference share the machine's CPUs: the numbers are the
# cost of the whole loopback stack, comparable only within one run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=10
WARMUP=2
WINDOW=64
SOCKETS=8
TIMEOUT_MS=1000
MODES="auth acct"
BUILD=1
KEEP=0
REFERENCE=auto
OUT=
LOADGEN_SRC=${AAAPROXY_LOADGEN_SRC:-$ROOT/../shared/bench/loadgen}
REF_CONF=${AAAPROXY_REFERENCE_CONF:-$ROOT/../shared/bench/home}
BENCH_USER=bench
BENCH_PASS=benchpass

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --duration S     measured seconds per mode          (default $DURATION)
  --warmup S       unmeasured warm-up per mode        (default $WARMUP)
  --window N       requests kept outstanding          (default $WINDOW)
  --sockets N      loadgen source sockets             (default $SOCKETS)
  --modes "auth acct"                                 (default both)
  --no-reference   do not measure FreeRADIUS
  --no-build       use the existing dist/
  --keep           keep the accounting log (it can be tens of MB)
  --out DIR        results directory                  (default bench-results/<timestamp>)
  -h, --help
Environment: AAAPROXY_LOADGEN_SRC (radload sources), AAAPROXY_REFERENCE_CONF (FreeRADIUS dir).
EOF
}

die() { echo "bench: $*" >&2; exit 1; }
num() { [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$1 needs a number, got '$2'"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) num "$1" "${2:-}"; DURATION=$2; shift 2 ;;
    --warmup) num "$1" "${2:-}"; WARMUP=$2; shift 2 ;;
    --window) num "$1" "${2:-}"; WINDOW=$2; shift 2 ;;
    --sockets) num "$1" "${2:-}"; SOCKETS=$2; shift 2 ;;
    --modes) MODES=${2:-}; shift 2 ;;
    --no-reference) REFERENCE=no; shift ;;
    --no-build) BUILD=0; shift ;;
    --keep) KEEP=1; shift ;;
    --out) OUT=${2:-}; [ -n "$OUT" ] || die "--out needs a directory"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
for m in $MODES; do [ "$m" = auth ] || [ "$m" = acct ] || die "--modes: auth and/or acct, not '$m'"; done
awk -v d="$DURATION" 'BEGIN { exit !(d >= 2) }' || die "--duration must be at least 2 s (CPU is sampled inside the window)"

cd "$ROOT"
OUT=${OUT:-$ROOT/bench-results/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/runs"
OUT=$(cd "$OUT" && pwd)
CLK_TCK=$(getconf CLK_TCK)
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- processes we started
DAEMON_PID=
REF_PID=
cleanup() {
  # Only the processes started here, by PID.
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then kill -TERM "$DAEMON_PID" 2>/dev/null || true; fi
  if [ -n "$REF_PID" ] && kill -0 "$REF_PID" 2>/dev/null; then kill -TERM "$REF_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
if [ "$BUILD" -eq 1 ]; then
  log "building dist/ (tsc)"
  # tsc still emits on type errors (noEmitOnError is off); a bench need not block on them.
  npx tsc -p . >"$OUT/tsc.log" 2>&1 || log "warning: tsc reported errors (dist/ was emitted anyway), see $OUT/tsc.log"
fi
[ -f dist/src/cli/main.js ] || die "dist/ is not built (run npx tsc -p .)"

LG_DIR=$ROOT/bench-results/radload-build
[ -f "$LOADGEN_SRC/radload.c" ] || die "radload sources not found in $LOADGEN_SRC (set AAAPROXY_LOADGEN_SRC)"
mkdir -p "$LG_DIR"
cp -p "$LOADGEN_SRC/radload.c" "$LOADGEN_SRC/Makefile" "$LG_DIR/"
chmod u+w "$LG_DIR/radload.c" "$LG_DIR/Makefile"
make -s -C "$LG_DIR" radload >&2 || die "cannot build radload"
LOADGEN=$LG_DIR/radload
"$LOADGEN" --selftest >/dev/null || die "radload --selftest failed"

# ---------------------------------------------------------------- helpers
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; } # kv KEY "RESULT ... KEY=v ..."
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; } # utime + stime
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; } # the parentheses keep > a comparison
port_of() { # port_of TYPE LOGFILE: bound port from the daemon's "listening" JSON lines
  grep -F "\"msg\":\"$1\"" "$2" | grep -F "${3:-}" | sed -n "1s/.*\"port\":\([0-9]*\).*/\1/p"
}
wait_for() { # wait_for SECONDS CMD...: polls every 0.1 s
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
radload() { "$LOADGEN" -u "$BENCH_USER" -p "$BENCH_PASS" -T "$TIMEOUT_MS" "$@"; }

# measure NAME PID MODE PORT SECRET: runs radload, samples CPU; sets global R_* values.
measure() {
  local name=$1 pid=$2 mode=$3 port=$4 secret=$5 out="$OUT/runs/$1-$3.txt" lg c0 c1 t0 t1 rc=0
  log "$name $mode: ${DURATION}s (+${WARMUP}s warm-up), window $WINDOW -> 127.0.0.1:$port"
  radload -t "$mode" -s "$secret" -w "$WINDOW" -S "$SOCKETS" -d "$DURATION" -W "$WARMUP" "127.0.0.1:$port" >"$out" 2>&1 &
  lg=$!
  sleep "$(calc %.3f "$WARMUP + 0.5")"
  c0=$(cpu_ticks "$pid"); t0=$(now)
  sleep "$(calc %.3f "$DURATION - 1")"
  c1=$(cpu_ticks "$pid"); t1=$(now)
  wait "$lg" || rc=$?
  local result; result=$(grep '^RESULT' "$out" || true)
  [ -n "$result" ] || { cat "$out" >&2; die "$name $mode: radload printed no RESULT"; }
  [ "$rc" -eq 0 ] || log "warning: radload exited $rc ($name $mode), see $out"
  R_RPS=$(kv rps "$result"); R_OK=$(kv ok "$result"); R_RESP=$(kv responses "$result")
  R_P50=$(calc %.2f "$(kv p50_us "$result") / 1000"); R_P99=$(calc %.2f "$(kv p99_us "$result") / 1000")
  R_TO=$(kv timeouts "$result"); R_BAD=$(kv bad "$result"); R_REJ=$(kv reject "$result")
  R_CPU_S=$(calc %.2f "($c1 - $c0) / $CLK_TCK")
  R_CPU_PCT=$(calc %.0f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)")
  R_US_REQ=$(calc %.1f "($R_RPS > 0 ? 1e6 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0) / $R_RPS : 0)")
}

ROWS=()
row() { ROWS+=("$(printf '%-10s %-4s %9s %8s %8s %8s %5s %9s %10s %10s' "$@")"); }
declare -A RPS P50 P99

# ---------------------------------------------------------------- the daemon
SECRET=$(node -p 'require("node:crypto").randomBytes(18).toString("base64url")')
node scripts/bench/setup.mjs "$OUT" "$SECRET" "$BENCH_USER" "$BENCH_PASS"
DLOG=$OUT/daemon.log
node bin/aaaproxy.js run -c "$OUT/aaaproxy.yaml" </dev/null >"$DLOG" 2>&1 &
DAEMON_PID=$!
started() { grep -q '"msg":"aaaproxy started"' "$DLOG" || { kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$DLOG" >&2; die "the daemon exited"; }; false; }; }
wait_for 20 started || { cat "$DLOG" >&2; die "the daemon did not start within 20 s"; }
AUTH_PORT=$(port_of listening "$DLOG" '"type":"auth"')
ACCT_PORT=$(port_of listening "$DLOG" '"type":"acct"')
ADMIN_PORT=$(port_of "admin HTTP listening" "$DLOG")
[ -n "$AUTH_PORT" ] && [ -n "$ACCT_PORT" ] && [ -n "$ADMIN_PORT" ] || die "cannot find the bound ports in $DLOG"
METRICS=http://127.0.0.1:$ADMIN_PORT/metrics
log "aaaproxy pid $DAEMON_PID: auth 127.0.0.1:$AUTH_PORT, acct 127.0.0.1:$ACCT_PORT, admin :$ADMIN_PORT"

# Correctness first: one cold auth (the scrypt) and one accounting record.
first=$(radload -q -t auth -s "$SECRET" -n 1 -W 0 "127.0.0.1:$AUTH_PORT") || die "first Access-Request failed: $first"
[ "$(kv ok "$first")" = 1 ] || die "the bench user was not accepted: $first"
FIRST_AUTH_MS=$(calc %.1f "$(kv max_us "$first") / 1000")
second=$(radload -q -t auth -s "$SECRET" -n 1 -W 0 "127.0.0.1:$AUTH_PORT")
SECOND_AUTH_MS=$(calc %.2f "$(kv max_us "$second") / 1000")
one=$(radload -q -t acct -s "$SECRET" -n 1 -W 0 "127.0.0.1:$ACCT_PORT") || die "first Accounting-Request failed: $one"
[ "$(kv ok "$one")" = 1 ] || die "no Accounting-Response: $one"
log "first auth (scrypt) ${FIRST_AUTH_MS} ms, second (cached) ${SECOND_AUTH_MS} ms"

# A reload empties the verified-credential cache: WINDOW concurrent first logins for one user.
kill -HUP "$DAEMON_PID"
reloaded() { [ "$(grep -c '"msg":"config reloaded"' "$DLOG")" -ge 1 ]; }
wait_for 10 reloaded || die "SIGHUP: no 'config reloaded' in $DLOG"
burst=$(radload -q -t auth -s "$SECRET" -w "$WINDOW" -S "$SOCKETS" -n "$WINDOW" -W 0 -T 10000 "127.0.0.1:$AUTH_PORT") || true
BURST_OK=$(kv ok "$burst"); BURST_MAX_MS=$(calc %.0f "0$(kv max_us "$burst") / 1000")
BURST_P50_MS=$(calc %.0f "0$(kv p50_us "$burst") / 1000")
log "after reload, $WINDOW concurrent cold auths: $BURST_OK accepted, p50 ${BURST_P50_MS} ms, max ${BURST_MAX_MS} ms"

for mode in $MODES; do
  port=$AUTH_PORT; [ "$mode" = acct ] && port=$ACCT_PORT
  m0=$(node scripts/bench/metrics.mjs "$METRICS")
  measure aaaproxy "$DAEMON_PID" "$mode" "$port" "$SECRET"
  m1=$(node scripts/bench/metrics.mjs "$METRICS")
  RPS[aaaproxy,$mode]=$R_RPS; P50[aaaproxy,$mode]=$R_P50; P99[aaaproxy,$mode]=$R_P99
  row aaaproxy "$mode" "$(calc %.0f "$R_RPS")" "$R_P50" "$R_P99" "$R_TO" "$R_BAD" "$R_CPU_S" "$R_CPU_PCT" "$R_US_REQ"
  [ "$mode" = auth ] && [ "$R_REJ" != 0 ] && log "warning: $R_REJ Access-Rejects during the auth run"
  if [ "$mode" = acct ]; then
    d() { echo "$(kv "$1" " $(tr '\n' ' ' <<<"$m1")") - $(kv "$1" " $(tr '\n' ' ' <<<"$m0")")"; }
    ACCT_RECORDS=$(calc %.0f "$(d acct_records)")
    ACCT_FSYNCS=$(calc %.0f "$(d acct_fsyncs)")
    ACCT_PER_FSYNC=$(calc %.1f "($(d acct_records)) / (($(d acct_fsyncs)) > 0 ? ($(d acct_fsyncs)) : 1)")
    ACCT_COMMIT_MS=$(calc %.2f "1000 * ($(d acct_commit_sum)) / (($(d acct_commit_count)) > 0 ? ($(d acct_commit_count)) : 1)")
    ACCT_RESPONSES=$R_RESP
    ACCT_DURABLE_RPS=$R_RPS
  fi
done
FINAL_METRICS=$(node scripts/bench/metrics.mjs "$METRICS")
DAEMON_CPU_TOTAL=$(calc %.1f "$(cpu_ticks "$DAEMON_PID") / $CLK_TCK")

# SIGTERM drains and flushes; then the file must hold every committed record.
kill -TERM "$DAEMON_PID"
stopped() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }
wait_for 15 stopped || die "the daemon did not exit within 15 s of SIGTERM"
DAEMON_RC=0; wait "$DAEMON_PID" || DAEMON_RC=$?
DAEMON_PID=
COMMITTED=$(kv acct_records " $(tr '\n' ' ' <<<"$FINAL_METRICS")")
LOG_LINES=$(cat "$OUT"/accounting.jsonl* 2>/dev/null | wc -l)
PROBLEMS=$(grep -c '"level":[45]0' "$DLOG" || true)

# ---------------------------------------------------------------- reference: FreeRADIUS
REF_NOTE=
if [ "$REFERENCE" = auto ]; then
  if ! command -v freeradius >/dev/null; then REF_NOTE="skipped: freeradius is not installed"
  elif [ ! -f "$REF_CONF/radiusd.conf" ]; then REF_NOTE="skipped: no FreeRADIUS config in $REF_CONF"
  elif ss -Huln | grep -Eq '127\.0\.0\.1:2181[23]\b'; then REF_NOTE="skipped: 127.0.0.1:21812/21813 already in use"
  else
    # A copy, because some copies of that directory have their symlinks flattened into
    # one-line files holding the link target (sites-enabled/*, mods-enabled/*, users):
    # FreeRADIUS then starts with no listeners. Restore them as links here.
    REF_COPY=$ROOT/bench-results/freeradius-ref
    rm -rf "$REF_COPY" && mkdir -p "$REF_COPY" && cp -R "$REF_CONF" "$REF_COPY/home" && chmod -R u+w "$REF_COPY"
    find "$REF_COPY/home" -type f -size -256c | while read -r f; do
      [ "$(wc -l <"$f")" -eq 0 ] || continue
      target=$(cat "$f")
      case "$target" in ''|*[[:space:]]*) continue ;; esac
      [ -e "$(dirname "$f")/$target" ] && ln -sfn "$target" "$f"
    done
    mkdir -p "$OUT/freeradius"
    BENCH_DIR=$REF_COPY BENCH_RUN=$OUT/freeradius freeradius -f -d "$REF_COPY/home" </dev/null >"$OUT/freeradius/stdout.log" 2>&1 &
    REF_PID=$!
    ref_up() { radload -q -t auth -s homesecret -n 1 -W 0 127.0.0.1:21812 >/dev/null 2>&1; }
    if wait_for 15 ref_up; then
      for mode in $MODES; do
        port=21812; [ "$mode" = acct ] && port=21813
        measure freeradius "$REF_PID" "$mode" "$port" homesecret
        RPS[freeradius,$mode]=$R_RPS; P50[freeradius,$mode]=$R_P50; P99[freeradius,$mode]=$R_P99
        row freeradius "$mode" "$(calc %.0f "$R_RPS")" "$R_P50" "$R_P99" "$R_TO" "$R_BAD" "$R_CPU_S" "$R_CPU_PCT" "$R_US_REQ"
      done
      REF_NOTE="$(freeradius -v 2>/dev/null | sed -n "1s/,.*//p"), local: auth files+pap (cleartext), acct 'ok' (nothing written)"
    else
      REF_NOTE="skipped: FreeRADIUS did not answer (see $OUT/freeradius/)"
    fi
    kill -TERM "$REF_PID" 2>/dev/null || true
    wait "$REF_PID" 2>/dev/null || true
    REF_PID=
  fi
elif [ "$REFERENCE" = no ]; then
  REF_NOTE="skipped: --no-reference"
fi

[ "$KEEP" -eq 1 ] || rm -f "$OUT"/accounting.jsonl*

# ---------------------------------------------------------------- report
{
  echo "aaaproxy bench $(date -Is)  node $(node -v)  $(nproc) CPUs  window $WINDOW x $SOCKETS sockets  ${DURATION}s per mode (+${WARMUP}s warm-up)"
  echo "loopback only; loadgen, daemon and reference share the CPUs. server CPU sampled over the window minus 0.5 s at each end."
  echo
  printf '%-10s %-4s %9s %8s %8s %8s %5s %9s %10s %10s\n' target mode "req/s" "p50 ms" "p99 ms" timeouts bad "cpu s" "cpu %core" "cpu us/req"
  printf '%s\n' "${ROWS[@]}"
  echo
  for mode in $MODES; do
    if [ -n "${RPS[freeradius,$mode]:-}" ]; then
      echo "ratio aaaproxy/freeradius $mode: req/s $(calc %.2f "${RPS[aaaproxy,$mode]} / ${RPS[freeradius,$mode]}"), p50 $(calc %.2f "${P50[aaaproxy,$mode]} / (${P50[freeradius,$mode]} > 0 ? ${P50[freeradius,$mode]} : 1)"), p99 $(calc %.2f "${P99[aaaproxy,$mode]} / (${P99[freeradius,$mode]} > 0 ? ${P99[freeradius,$mode]} : 1)")"
    fi
  done
  echo "reference: ${REF_NOTE:-none}"
  echo
  echo "auth: first Access-Request (scrypt) ${FIRST_AUTH_MS} ms, second (cached) ${SECOND_AUTH_MS} ms;"
  echo "      after SIGHUP (cache emptied) $WINDOW concurrent first logins: ${BURST_OK:-0}/$WINDOW accepted, p50 ${BURST_P50_MS} ms, max ${BURST_MAX_MS} ms"
  if [ -n "${ACCT_RECORDS:-}" ]; then
    echo "acct: ${ACCT_DURABLE_RPS%.*} records/s durable (each ACK follows fdatasync); during the run $ACCT_RECORDS records in $ACCT_FSYNCS fsyncs = $ACCT_PER_FSYNC records/fsync, mean commit $ACCT_COMMIT_MS ms"
  fi
  echo "      log file lines $LOG_LINES, records committed (metric) $COMMITTED: $([ "$LOG_LINES" = "${COMMITTED%.*}" ] && echo ok || echo MISMATCH)"
  echo "daemon: total CPU ${DAEMON_CPU_TOTAL} s; SIGTERM exit status $DAEMON_RC; warn/error log lines: $PROBLEMS"
  echo "results: $OUT"
} | tee "$OUT/summary.txt"

[ "$DAEMON_RC" -eq 0 ] || exit 1
