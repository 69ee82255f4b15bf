#!/usr/bin/env bash
# Load test of the daemon on 127.0.0.1 only, with the closed-loop load generator radload.
#
#   npm run bench                                   proxy scenario, 3 reps x 10 s, window 64
#   npm run bench -- --reps 1 --duration 5
#   npm run bench -- --scenario local               local users + accounting log
#   npm run bench -- --scenario acct-rounds --reps 5  accounting tails against radsecproxy
#   npm run bench -- --peers --reps 1 --duration 5 --windows 64
#
# Scenario "proxy" (the default): aaaproxy as a proxy in front of a FreeRADIUS home server.
#   - starts FreeRADIUS from ../shared/bench/home (a copy in bench-results/freeradius-ref/,
#     symlinks restored) on 127.0.0.1:21812/21813, secret homesecret: auth files+pap
#     (user bench, cleartext), accounting answered with `ok`;
#   - writes an aaaproxy config (scripts/bench/proxy-config.mjs) into bench-results/<ts>/:
#     kernel-chosen 127.0.0.1 ports, one client with a random secret, one upstream (the home
#     server), one pool, a default route for auth and accounting, accounting.spool in
#     bench-results/<ts>/spool (each Accounting-Response follows the spool's durable (O_DSYNC) write);
#   - checks one Access-Request (Access-Accept from the home server) and one
#     Accounting-Request through aaaproxy;
#   - per repetition and mode: radload directly against the home server, then the same load
#     through aaaproxy; after each accounting run it waits until the spool is drained
#     (aaaproxy_spool_pending_records 0) so that no backlog loads the next run;
#   - samples CPU time (/proc/PID/stat) of aaaproxy and of the home server, and machine-wide
#     busy time (/proc/stat), from warm-up + 0.5 s to the end - 0.5 s; radload reports its own;
#   - at the end checks aaaproxy_spool_delivered_total = Accounting-Requests answered (every
#     record spooled was acknowledged upstream), stops aaaproxy with SIGTERM (exit 0);
#   - prints the median table and the ratio aaaproxy/direct; bench-results/<ts>/summary.txt.
#
# Scenario "local": PAP against a local user (scrypt hash, cached after the first login) and
# accounting into the durable accounting log; FreeRADIUS answering locally from the same
# home config as the reference (unless --no-reference). One repetition.
#
# Scenario "acct-rounds": accounting only, radsecproxy (../shared/bench/radsecproxy, 127.0.0.1:32813)
# and aaaproxy in turn, --reps rounds, both in front of the minimal accounting server
# scripts/bench/acct-responder (built with cc) on 127.0.0.1:21813 instead of FreeRADIUS: without
# the home server's CPU use and its noise, the two proxies' tails compare more steadily. Each
# aaaproxy run ends with its spool drained. Prints every round, the medians and their ratios.
#
# --peers: runs the shared harness ../shared/bench/run.sh (home server, direct,
# FreeRADIUS-as-proxy, radsecproxy) with aaaproxy as its --extra target on fixed ports
# (--peer-ports, nas secret nassecret, upstream 127.0.0.1:21812/21813 homesecret), from a
# copy of ../shared/bench in bench-results/shared-bench/ (symlinks restored, radload built
# here), output in bench-results/<ts>/peers/. Then checks the targets: aaaproxy auth req/s
# >= radsecproxy's, acct req/s >= FreeRADIUS-as-proxy's, p99 <= radsecproxy's.
# Installs radsecproxy and freeradius (Debian) when missing and running as root.
#
# The loadgen, aaaproxy and FreeRADIUS share the machine's CPUs: the numbers are the cost of
# the whole loopback stack, comparable only within one run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCENARIO=proxy
PEERS=0
DURATION=10
WARMUP=2
WINDOW=64
SOCKETS=8
TIMEOUT_MS=1000
MODES="auth acct"
REPS=
BUILD=1
KEEP=0
REFERENCE=auto
OUT=
PEER_ARGS=()
PEER_PORTS=41812:41813:41814
DRAIN_TIMEOUT=120
SHARED_BENCH=${AAAPROXY_SHARED_BENCH:-$ROOT/../shared/bench}
LOADGEN_SRC=${AAAPROXY_LOADGEN_SRC:-$SHARED_BENCH/loadgen}
REF_CONF=${AAAPROXY_REFERENCE_CONF:-$SHARED_BENCH/home}
HOME_SECRET=homesecret
BENCH_USER=bench
BENCH_PASS=benchpass

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  cat <<EOF
Options:
  --scenario proxy|local|acct-rounds                  (default proxy)
  --duration S     measured seconds per run           (default $DURATION)
  --warmup S       unmeasured warm-up per run         (default $WARMUP)
  --window N       requests kept outstanding          (default $WINDOW)
  --sockets N      loadgen source sockets             (default $SOCKETS)
  --modes "auth acct"                                 (default both)
  --reps N         repetitions, the table shows medians (proxy: default 3; --peers: the
                   harness's default, 3; local: 1 only)
  --no-build       use the existing dist/
  --keep           keep the accounting log / spool (they can be tens of MB)
  --out DIR        results directory                  (default bench-results/<timestamp>)
  local only:
  --no-reference   do not measure FreeRADIUS
  --peers only (each passed on to run.sh; --window N is passed as --windows N):
  --windows "A B"  windows                            (harness default "64 256")
  --targets LIST   built-in targets                   (harness default direct,freeradius,radsecproxy)
  --top            top -H snapshots
  --peer-ports AUTH:ACCT:ADMIN  aaaproxy's fixed ports (default $PEER_PORTS)
  -h, --help
Environment: AAAPROXY_SHARED_BENCH (the harness dir), AAAPROXY_LOADGEN_SRC (radload sources),
AAAPROXY_REFERENCE_CONF (FreeRADIUS home config dir).
EOF
}

die() { echo "bench: $*" >&2; exit 1; }
num() { [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$1 needs a number, got '$2'"; }
int() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, got '$2'"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIO=${2:-}; shift 2 ;;
    --peers) PEERS=1; shift ;;
    --duration) num "$1" "${2:-}"; DURATION=$2; PEER_ARGS+=("$1" "$2"); shift 2 ;;
    --warmup) num "$1" "${2:-}"; WARMUP=$2; PEER_ARGS+=("$1" "$2"); shift 2 ;;
    --window) int "$1" "${2:-}"; WINDOW=$2; PEER_ARGS+=(--windows "$2"); shift 2 ;;
    --windows) for w in ${2:-}; do int "$1" "$w"; done; PEER_ARGS+=("$1" "$2"); WINDOW=${2%% *}; shift 2 ;;
    --sockets) int "$1" "${2:-}"; SOCKETS=$2; PEER_ARGS+=("$1" "$2"); shift 2 ;;
    --modes) MODES=${2:-}; PEER_ARGS+=("$1" "$2"); shift 2 ;;
    --reps) int "$1" "${2:-}"; REPS=$2; PEER_ARGS+=("$1" "$2"); shift 2 ;;
    --targets) PEER_ARGS+=("$1" "${2:-}"); shift 2 ;;
    --top) PEER_ARGS+=("$1"); shift ;;
    --peer-ports) PEER_PORTS=${2:-}; shift 2 ;;
    --no-reference) REFERENCE=no; shift ;;
    --no-build) BUILD=0; shift ;;
    --keep) KEEP=1; shift ;;
    --out) OUT=${2:-}; [ -n "$OUT" ] || die "--out needs a directory"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
case "$SCENARIO" in proxy | local | acct-rounds) ;; *) die "--scenario: proxy, local or acct-rounds, not '$SCENARIO'" ;; esac
for m in $MODES; do [ "$m" = auth ] || [ "$m" = acct ] || die "--modes: auth and/or acct, not '$m'"; done
awk -v d="$DURATION" 'BEGIN { exit !(d >= 2) }' || die "--duration must be at least 2 s (CPU is sampled inside the window)"
[[ $PEER_PORTS =~ ^[0-9]+:[0-9]+:[0-9]+$ ]] || die "--peer-ports: AUTH:ACCT:ADMIN, not '$PEER_PORTS'"
if [ "$PEERS" -eq 0 ]; then
  [ "$SCENARIO" = local ] && [ -n "$REPS" ] && [ "$REPS" != 1 ] && die "--reps: the local scenario runs once"
  REPS=${REPS:-3}
fi

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

# ---------------------------------------------------------------- peers we need
install_missing() { # command=package ...
  local missing=() spec
  for spec in "$@"; do
    command -v "${spec%%=*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${spec%%=*}" ] || missing+=("${spec#*=}")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || die "needs these Debian packages: ${missing[*]} (run as root, or apt-get install them)"
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The bench starts its own daemons on loopback; packaged services are not wanted.
  if [ -d /run/systemd/system ]; then
    for spec in "${missing[@]}"; do systemctl disable --now "$spec" >/dev/null 2>&1 || true; done
  fi
}
if [ "$PEERS" -eq 1 ]; then install_missing freeradius=freeradius radsecproxy=radsecproxy
elif [ "$SCENARIO" = proxy ]; then install_missing freeradius=freeradius
elif [ "$SCENARIO" = acct-rounds ]; then install_missing radsecproxy=radsecproxy
fi

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
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $(tr '\n' ' ' <<<"$2")"; } # kv KEY "RESULT ... KEY=v ..." (or KEY=v lines)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; } # utime + stime, all threads
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; } # busy total
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
port_busy() { ss -Huln "sport = :$1" 2>/dev/null | grep -q .; }

# measure NAME PID MODE PORT SECRET [HOME_PID]: runs radload, samples CPU; sets global R_* values.
measure() {
  local name=$1 pid=$2 mode=$3 port=$4 secret=$5 hpid=${6:-} out="$OUT/runs/$1-$3${TAG:-}.txt" lg c0 c1 h0=0 h1=0 s0 s1 t0 t1 rc=0
  log "$name $mode${TAG:-}: ${DURATION}s (+${WARMUP}s warm-up), window $WINDOW -> 127.0.0.1:$port"
  radload -t "$mode" -s "$secret" -w "$WINDOW" -S "$SOCKETS" -d "$DURATION" -W "$WARMUP" "127.0.0.1:$port" >"$out" 2>&1 &
  lg=$!
  sleep "$(calc %.3f "$WARMUP + 0.5")"
  c0=$(cpu_ticks "$pid"); [ -z "$hpid" ] || h0=$(cpu_ticks "$hpid"); s0=$(sys_ticks); t0=$(now)
  sleep "$(calc %.3f "$DURATION - 1")"
  c1=$(cpu_ticks "$pid"); [ -z "$hpid" ] || h1=$(cpu_ticks "$hpid"); s1=$(sys_ticks); t1=$(now)
  wait "$lg" || rc=$?
  local result; result=$(grep '^RESULT' "$out" || true)
  [ -n "$result" ] || { cat "$out" >&2; die "$name $mode: radload printed no RESULT"; }
  [ "$rc" -eq 0 ] || log "warning: radload exited $rc ($name $mode), see $out"
  R_RPS=$(kv rps "$result"); R_OK=$(kv ok "$result"); R_RESP=$(kv responses "$result")
  R_P50=$(calc %.2f "$(kv p50_us "$result") / 1000"); R_P99=$(calc %.2f "$(kv p99_us "$result") / 1000")
  R_TO=$(kv timeouts "$result"); R_BAD=$(kv bad "$result"); R_REJ=$(kv reject "$result")
  R_LG_CPU=$(calc %.0f "$(kv loadgen_cpu_pct "$result")")
  R_CPU_S=$(calc %.2f "($c1 - $c0) / $CLK_TCK")
  R_CPU_PCT=$(calc %.0f "100 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0)")
  R_US_REQ=$(calc %.1f "($R_RPS > 0 ? 1e6 * ($c1 - $c0) / $CLK_TCK / ($t1 - $t0) / $R_RPS : 0)")
  R_HOME_US_REQ=$(calc %.1f "($R_RPS > 0 ? 1e6 * ($h1 - $h0) / $CLK_TCK / ($t1 - $t0) / $R_RPS : 0)")
  R_SYS=$(awk -v a="$s0" -v b="$s1" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.0f", (y[2] > x[2]) ? 100 * n * (y[1] - x[1]) / (y[2] - x[2]) : 0 }')
}

# The daemon on a generated config: sets DAEMON_PID, AUTH_PORT, ACCT_PORT, ADMIN_PORT, METRICS.
start_daemon() { # CONFIG LOGFILE
  DLOG=$2
  node bin/aaaproxy.js run -c "$1" </dev/null >"$DLOG" 2>&1 &
  DAEMON_PID=$!
  started() { grep -q '"msg":"aaaproxy started"' "$DLOG" || { kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$DLOG" >&2; die "the daemon exited"; }; false; }; }
  wait_for 20 started || { cat "$DLOG" >&2; die "the daemon did not start within 20 s"; }
  AUTH_PORT=$(port_of listening "$DLOG" '"type":"auth"')
  ACCT_PORT=$(port_of listening "$DLOG" '"type":"acct"')
  ADMIN_PORT=$(port_of "admin HTTP listening" "$DLOG")
  [ -n "$AUTH_PORT" ] && [ -n "$ACCT_PORT" ] && [ -n "$ADMIN_PORT" ] || die "cannot find the bound ports in $DLOG"
  METRICS=http://127.0.0.1:$ADMIN_PORT/metrics
  log "aaaproxy pid $DAEMON_PID: auth 127.0.0.1:$AUTH_PORT, acct 127.0.0.1:$ACCT_PORT, admin :$ADMIN_PORT"
}

stop_daemon() { # SIGTERM drains and flushes; sets DAEMON_RC
  kill -TERM "$DAEMON_PID"
  stopped() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }
  wait_for 15 stopped || die "the daemon did not exit within 15 s of SIGTERM"
  DAEMON_RC=0; wait "$DAEMON_PID" || DAEMON_RC=$?
  DAEMON_PID=
}

# Some copies of ../shared/bench have their symlinks flattened into one-line files holding the
# link target (sites-enabled/*, mods-enabled/*, users): FreeRADIUS then starts with no
# listeners. restore_links DIR turns such files back into links, in a writable copy.
restore_links() {
  find "$1" -type f -size -256c | while read -r f; do
    [ "$(wc -l <"$f")" -eq 0 ] || continue
    target=$(cat "$f")
    case "$target" in ''|*[[:space:]]*) continue ;; esac
    if [ -e "$(dirname "$f")/$target" ]; then ln -sfn "$target" "$f"; fi
  done
}

# The FreeRADIUS home server (bench/home: auth files+pap, acct `ok`), from a copy: sets REF_PID.
REF_COPY=$ROOT/bench-results/freeradius-ref
start_home() { # STATE_DIR
  rm -rf "$REF_COPY" && mkdir -p "$REF_COPY" && cp -R "$REF_CONF" "$REF_COPY/home" && chmod -R u+w "$REF_COPY"
  restore_links "$REF_COPY/home"
  mkdir -p "$1"
  BENCH_DIR=$REF_COPY BENCH_RUN=$1 freeradius -f -d "$REF_COPY/home" </dev/null >"$1/stdout.log" 2>&1 &
  REF_PID=$!
  home_up() {
    radload -q -t auth -s "$HOME_SECRET" -n 1 -W 0 -T 250 127.0.0.1:21812 >/dev/null 2>&1 &&
      radload -q -t acct -s "$HOME_SECRET" -n 1 -W 0 -T 250 127.0.0.1:21813 >/dev/null 2>&1
  }
  wait_for 15 home_up
}
stop_home() {
  kill -TERM "$REF_PID" 2>/dev/null || true
  wait "$REF_PID" 2>/dev/null || true
  REF_PID=
}

revision() { # the commit measured, and whether src/ had uncommitted changes
  local r; r=$(git rev-parse --short HEAD 2>/dev/null) || { echo "no git"; return; }
  git diff --quiet HEAD -- src 2>/dev/null && echo "commit $r" || echo "commit $r + uncommitted src/ changes"
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The disk's durable-write latency where the spool and the accounting log live, on the quiet
# machine before and after the measurements: every acknowledged Accounting-Request waits for
# such a write, and on a shared VM its speed drifts (README, Benchmark).
disk_latency() { node bin/aaaproxy.js check-disk --dir "$OUT" --writes 1000 2>&1 || echo "disk latency not measured"; }
disk_lines() { echo "disk before the runs: $DISK_BEFORE"; echo "disk ${1:-after the runs: } $DISK_AFTER"; }
# The running daemon's spool has nothing left to deliver.
spool_drained() { [ "$(kv spool_pending "$(node scripts/bench/metrics.mjs "$METRICS")")" = 0 ]; }

# ================================================================ scenario: proxy
scenario_proxy() {
  DISK_BEFORE=$(disk_latency)
  [ -f "$REF_CONF/radiusd.conf" ] || die "no FreeRADIUS home config in $REF_CONF (set AAAPROXY_REFERENCE_CONF)"
  for p in 21812 21813; do port_busy "$p" && die "127.0.0.1:$p is already in use (the home server's port)"; done
  start_home "$OUT/home" || die "the FreeRADIUS home server did not answer (see $OUT/home/)"
  HOME_VERSION=$(freeradius -v 2>/dev/null | sed -n "1s/,.*//p" | sed 's/^radiusd: //')
  log "home server pid $REF_PID ($HOME_VERSION) on 127.0.0.1:21812/21813"

  SECRET=$(node -p 'require("node:crypto").randomBytes(18).toString("base64url")')
  node scripts/bench/proxy-config.mjs "$OUT" "$SECRET" 0 0 0 "$HOME_SECRET" 21812 21813
  start_daemon "$OUT/aaaproxy.yaml" "$OUT/daemon.log"

  local first one
  first=$(radload -q -t auth -s "$SECRET" -n 1 -W 0 "127.0.0.1:$AUTH_PORT") || die "first proxied Access-Request failed: $first"
  [ "$(kv ok "$first")" = 1 ] || die "the bench user was not accepted through aaaproxy: $first"
  one=$(radload -q -t acct -s "$SECRET" -n 1 -W 0 "127.0.0.1:$ACCT_PORT") || die "first proxied Accounting-Request failed: $one"
  [ "$(kv ok "$one")" = 1 ] || die "no Accounting-Response through aaaproxy: $one"
  log "first proxied auth $(calc %.2f "$(kv max_us "$first") / 1000") ms, acct $(calc %.2f "$(kv max_us "$one") / 1000") ms"

  declare -gA V=()
  add() { V[$1]="${V[$1]:-} $2"; }
  printf 'rep\ttarget\tmode\trps\tp50_ms\tp99_ms\ttimeouts\tbad\tproxy_cpu_pct\tproxy_us_req\thome_us_req\tloadgen_cpu_pct\tmachine_busy_pct\tspooled_per_s\tdelivered_per_s\tbacklog\tdrain_s\n' >"$OUT/raw.tsv"
  local rep mode port m0 m1 d_sp d_dl backlog drain_s t0
  for rep in $(seq "$REPS"); do
    for mode in $MODES; do
      TAG=-r$rep
      port=21812; [ "$mode" = acct ] && port=21813
      measure direct "$REF_PID" "$mode" "$port" "$HOME_SECRET"
      record direct "$mode" "$rep" - - - - -
      port=$AUTH_PORT; [ "$mode" = acct ] && port=$ACCT_PORT
      m0=$(node scripts/bench/metrics.mjs "$METRICS")
      measure aaaproxy "$DAEMON_PID" "$mode" "$port" "$SECRET" "$REF_PID"
      m1=$(node scripts/bench/metrics.mjs "$METRICS")
      [ "$mode" = auth ] && [ "$R_REJ" != 0 ] && log "warning: $R_REJ Access-Rejects during the auth run"
      # The loop thread's time on a core and waiting for one (Linux schedstat): how busy the host was.
      log "$mode: aaaproxy's event loop ran $(calc %.2f "$(kv loop_cpu "$m1") - $(kv loop_cpu "$m0")") s and waited $(calc %.2f "$(kv loop_wait "$m1") - $(kv loop_wait "$m0")") s for a core during the run"
      if [ "$mode" = acct ]; then
        # Rates over the whole radload run (warm-up included): spooled (= ACKed) and forwarded.
        d_sp=$(calc %.0f "($(kv acct_ok "$m1") - $(kv acct_ok "$m0")) / ($DURATION + $WARMUP)")
        d_dl=$(calc %.0f "($(kv spool_delivered "$m1") - $(kv spool_delivered "$m0")) / ($DURATION + $WARMUP)")
        backlog=$(kv spool_pending "$m1")
        t0=$(now)
        drain_s=0
        if [ "$backlog" != 0 ]; then
          wait_for "$DRAIN_TIMEOUT" spool_drained || die "the spool did not drain within ${DRAIN_TIMEOUT}s (see $METRICS)"
          drain_s=$(calc %.1f "$(now) - $t0")
        fi
        log "acct: spooled $d_sp/s, delivered $d_dl/s during the run; backlog $backlog at its end, drained in ${drain_s}s"
        record aaaproxy "$mode" "$rep" "$d_sp" "$d_dl" "$backlog" "$drain_s"
      else
        record aaaproxy "$mode" "$rep" - - - -
      fi
    done
  done
  TAG=
  FINAL_METRICS=$(node scripts/bench/metrics.mjs "$METRICS")
  DAEMON_CPU_TOTAL=$(calc %.1f "$(cpu_ticks "$DAEMON_PID") / $CLK_TCK")
  stop_daemon
  stop_home
  DISK_AFTER=$(disk_latency)
  PROBLEMS=$(grep -c '"level":[45]0' "$DLOG" || true)
  SPOOLED=$(calc %.0f "$(kv acct_ok "$FINAL_METRICS")")
  DELIVERED=$(calc %.0f "$(kv spool_delivered "$FINAL_METRICS")")
  [ "$KEEP" -eq 1 ] || rm -rf "$OUT"/spool "$OUT"/accounting.jsonl*

  local mx
  {
    echo "aaaproxy bench, proxy scenario  $(date -Is)  $(uname -srm)  node $(node -v)  $(nproc) CPUs  $(revision)"
    echo "radload window $WINDOW x $SOCKETS sockets, ${DURATION}s per run (+${WARMUP}s warm-up), median of $REPS rep(s); home: $HOME_VERSION (files+pap, acct ok)"
    echo "loopback only; loadgen, aaaproxy and FreeRADIUS share the CPUs. CPU sampled over the window minus 0.5 s at each end."
    echo
    printf '%-9s %-4s %8s %7s %7s %8s %4s %10s %9s %9s %8s %8s\n' target mode "req/s" "p50 ms" "p99 ms" timeouts bad "proxy %cpu" "proxy us" "home us" "loadgen%" "machine%"
    for mode in $MODES; do
      for t in direct aaaproxy; do
        printf '%-9s %-4s %8.0f %7.2f %7.2f %8s %4s %10s %9s %9s %8s %8s\n' "$t" "$mode" "$(med "$t,$mode,rps")" "$(med "$t,$mode,p50")" "$(med "$t,$mode,p99")" \
          "$(med "$t,$mode,to")" "$(med "$t,$mode,bad")" "$(med "$t,$mode,pcpu")" "$(med "$t,$mode,pus")" "$(med "$t,$mode,hus")" "$(med "$t,$mode,lg")" "$(med "$t,$mode,sys")/$(( $(nproc) * 100 ))"
      done
    done
    echo "(proxy %cpu: aaaproxy's CPU in % of one core; proxy us / home us: CPU microseconds per request of aaaproxy / of the home server)"
    echo
    for mode in $MODES; do
      echo "ratio aaaproxy/direct $mode: req/s $(calc %.2f "$(med "aaaproxy,$mode,rps") / $(med "direct,$mode,rps")"); p50 $(med "aaaproxy,$mode,p50") vs $(med "direct,$mode,p50") ms, p99 $(med "aaaproxy,$mode,p99") vs $(med "direct,$mode,p99") ms"
    done
    if [[ " $MODES " == *" acct "* ]]; then
      mx=$(tr ' ' '\n' <<<"${V[aaaproxy,acct,backlog]}" | sort -n | tail -1)
      echo "acct through aaaproxy: every ACK follows the spool's durable write; forwarded upstream $(med "aaaproxy,acct,dl")/s while $(med "aaaproxy,acct,sp")/s were spooled (medians over the whole run);"
      echo "      backlog at the end of a run up to $mx records, drained in $(med "aaaproxy,acct,drain") s (median)"
      echo "      spool: records spooled (Accounting-Responses sent) $SPOOLED, aaaproxy_spool_delivered_total $DELIVERED: $([ "$SPOOLED" = "$DELIVERED" ] && echo ok || echo MISMATCH); pending at the end $(kv spool_pending "$FINAL_METRICS")"
      disk_lines
    fi
    echo "upstream: timeouts $(kv upstream_timeouts "$FINAL_METRICS"), retransmits $(kv upstream_retransmits "$FINAL_METRICS"), replies dropped $(kv upstream_replies_dropped "$FINAL_METRICS"); packets dropped $(kv dropped "$FINAL_METRICS"), duplicates $(kv duplicates "$FINAL_METRICS")"
    echo "daemon: total CPU ${DAEMON_CPU_TOTAL} s; SIGTERM exit status $DAEMON_RC; warn/error log lines: $PROBLEMS"
    echo "results: $OUT (raw.tsv, runs/, daemon.log, home/)"
  } | tee "$OUT/summary.txt"
  [ "$DAEMON_RC" -eq 0 ] && [ "$SPOOLED" = "$DELIVERED" ] || exit 1
}
# record TARGET MODE REP SPOOLED/s DELIVERED/s BACKLOG DRAIN_S: keeps the R_* of the last measure.
record() {
  local t=$1 m=$2 pcpu=- pus=-
  [ "$t" = direct ] || { pcpu=$R_CPU_PCT; pus=$R_US_REQ; }
  local hus=$R_HOME_US_REQ; [ "$t" = direct ] && hus=$R_US_REQ
  add "$t,$m,rps" "$R_RPS"; add "$t,$m,p50" "$R_P50"; add "$t,$m,p99" "$R_P99"; add "$t,$m,to" "$R_TO"; add "$t,$m,bad" "$R_BAD"
  add "$t,$m,hus" "$hus"; add "$t,$m,lg" "$R_LG_CPU"; add "$t,$m,sys" "$R_SYS"
  [ "$pcpu" = - ] || { add "$t,$m,pcpu" "$pcpu"; add "$t,$m,pus" "$pus"; }
  [ "$4" = - ] || { add "$t,$m,sp" "$4"; add "$t,$m,dl" "$5"; add "$t,$m,backlog" "$6"; add "$t,$m,drain" "$7"; }
  printf '%s\t%s\t%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$3" "$t" "$m" "$R_RPS" "$R_P50" "$R_P99" "$R_TO" "$R_BAD" "$pcpu" "$pus" "$hus" "$R_LG_CPU" "$R_SYS" "$4" "$5" "$6" "$7" >>"$OUT/raw.tsv"
  log "$t $m r$3: $(calc %.0f "$R_RPS") req/s p50 $R_P50 p99 $R_P99 ms, timeouts $R_TO, bad $R_BAD; cpu us/req proxy $pus home $hus; loadgen ${R_LG_CPU}% machine ${R_SYS}%"
}
med() { median <<<"${V[$1]:-}"; }

# ================================================================ scenario: local
scenario_local() {
  DISK_BEFORE=$(disk_latency)
  ROWS=()
  row() { ROWS+=("$(printf '%-10s %-4s %9s %8s %8s %8s %5s %9s %10s %10s' "$@")"); }
  declare -gA RPS P50 P99

  SECRET=$(node -p 'require("node:crypto").randomBytes(18).toString("base64url")')
  node scripts/bench/setup.mjs "$OUT" "$SECRET" "$BENCH_USER" "$BENCH_PASS"
  start_daemon "$OUT/aaaproxy.yaml" "$OUT/daemon.log"

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
      d() { echo "$(kv "$1" "$m1") - $(kv "$1" "$m0")"; }
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
  stop_daemon
  DISK_AFTER=$(disk_latency)
  COMMITTED=$(kv acct_records "$FINAL_METRICS")
  LOG_LINES=$(cat "$OUT"/accounting.jsonl* 2>/dev/null | wc -l)
  PROBLEMS=$(grep -c '"level":[45]0' "$DLOG" || true)

  # ---------------------------------------------------------------- reference: FreeRADIUS
  REF_NOTE=
  if [ "$REFERENCE" = auto ]; then
    if ! command -v freeradius >/dev/null; then REF_NOTE="skipped: freeradius is not installed"
    elif [ ! -f "$REF_CONF/radiusd.conf" ]; then REF_NOTE="skipped: no FreeRADIUS config in $REF_CONF"
    elif port_busy 21812 || port_busy 21813; then REF_NOTE="skipped: 127.0.0.1:21812/21813 already in use"
    else
      if start_home "$OUT/freeradius"; then
        for mode in $MODES; do
          port=21812; [ "$mode" = acct ] && port=21813
          measure freeradius "$REF_PID" "$mode" "$port" "$HOME_SECRET"
          RPS[freeradius,$mode]=$R_RPS; P50[freeradius,$mode]=$R_P50; P99[freeradius,$mode]=$R_P99
          row freeradius "$mode" "$(calc %.0f "$R_RPS")" "$R_P50" "$R_P99" "$R_TO" "$R_BAD" "$R_CPU_S" "$R_CPU_PCT" "$R_US_REQ"
        done
        REF_NOTE="$(freeradius -v 2>/dev/null | sed -n "1s/,.*//p"), local: auth files+pap (cleartext), acct 'ok' (nothing written)"
      else
        REF_NOTE="skipped: FreeRADIUS did not answer (see $OUT/freeradius/)"
      fi
      stop_home
    fi
  elif [ "$REFERENCE" = no ]; then
    REF_NOTE="skipped: --no-reference"
  fi

  [ "$KEEP" -eq 1 ] || rm -f "$OUT"/accounting.jsonl*

  {
    echo "aaaproxy bench, local scenario  $(date -Is)  node $(node -v)  $(nproc) CPUs  $(revision)  window $WINDOW x $SOCKETS sockets  ${DURATION}s per mode (+${WARMUP}s warm-up)"
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
    disk_lines "after the aaaproxy runs:"
    echo "daemon: total CPU ${DAEMON_CPU_TOTAL} s; SIGTERM exit status $DAEMON_RC; warn/error log lines: $PROBLEMS"
    echo "results: $OUT"
  } | tee "$OUT/summary.txt"

  [ "$DAEMON_RC" -eq 0 ] || exit 1
}

# ================================================================ scenario: acct-rounds
scenario_acct_rounds() {
  local rep pid res rsp_conf=$SHARED_BENCH/radsecproxy/radsecproxy.conf
  command -v cc >/dev/null 2>&1 || die "the accounting responder needs a C compiler (cc)"
  [ -f "$rsp_conf" ] || die "no radsecproxy config at $rsp_conf (set AAAPROXY_SHARED_BENCH)"
  for p in 21813 32812 32813; do port_busy "$p" && die "127.0.0.1:$p is already in use"; done
  cc -O2 -o "$OUT/acct-responder" scripts/bench/acct-responder/acct-responder.c scripts/bench/acct-responder/md5.c || die "cannot build the accounting responder"
  DISK_BEFORE=$(disk_latency)
  "$OUT/acct-responder" 21813 "$HOME_SECRET" 2>"$OUT/responder.log" &
  REF_PID=$!
  wait_for 5 port_busy 21813 || die "the accounting responder did not start (see $OUT/responder.log)"
  node scripts/bench/proxy-config.mjs "$OUT" nassecret 0 0 0 "$HOME_SECRET" 21812 21813
  declare -gA V=()
  add() { V[$1]="${V[$1]:-} $2"; }
  ROWS=()
  round_row() { ROWS+=("$(printf '%5s %-12s %8.0f %7.2f %7.2f %9s' "$rep" "$1" "$R_RPS" "$R_P50" "$R_P99" "$R_US_REQ")"); }
  for rep in $(seq "$REPS"); do
    TAG=-r$rep
    radsecproxy -f -c "$rsp_conf" -i "$OUT/radsecproxy.pid" >>"$OUT/radsecproxy.log" 2>&1 &
    pid=$!
    wait_for 10 port_busy 32813 || die "radsecproxy did not start (see $OUT/radsecproxy.log)"
    measure radsecproxy "$pid" acct 32813 nassecret "$REF_PID"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    wait_for 10 eval '! port_busy 32813' || die "radsecproxy did not stop"
    round_row radsecproxy
    add rsp,rps "$R_RPS"; add rsp,p50 "$R_P50"; add rsp,p99 "$R_P99"

    start_daemon "$OUT/aaaproxy.yaml" "$OUT/daemon$TAG.log"
    measure aaaproxy "$DAEMON_PID" acct "$ACCT_PORT" nassecret "$REF_PID"
    wait_for "$DRAIN_TIMEOUT" spool_drained || die "the spool did not drain within ${DRAIN_TIMEOUT}s (see $METRICS)"
    stop_daemon
    [ "$DAEMON_RC" -eq 0 ] || die "aaaproxy exited $DAEMON_RC on SIGTERM (see $OUT/daemon$TAG.log)"
    round_row aaaproxy
    add aaa,rps "$R_RPS"; add aaa,p50 "$R_P50"; add aaa,p99 "$R_P99"
  done
  TAG=
  kill "$REF_PID"; wait "$REF_PID" 2>/dev/null || true
  DISK_AFTER=$(disk_latency)
  [ "$KEEP" -eq 1 ] || rm -rf "$OUT"/spool "$OUT"/accounting.jsonl*
  {
    echo "aaaproxy bench, acct-rounds  $(date -Is)  $(uname -srm)  node $(node -v)  $(nproc) CPUs  $(revision)"
    echo "radload acct, window $WINDOW x $SOCKETS sockets, ${DURATION}s per run (+${WARMUP}s warm-up), $REPS round(s); upstream: scripts/bench/acct-responder on 127.0.0.1:21813"
    echo "each aaaproxy run: every ACK follows the spool's durable write, and the spool is drained before the next run"
    echo
    printf '%5s %-12s %8s %7s %7s %9s\n' round target "req/s" "p50 ms" "p99 ms" "cpu us/req"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "medians: radsecproxy $(calc %.0f "$(med rsp,rps)") req/s, p50 $(med rsp,p50), p99 $(med rsp,p99) ms; aaaproxy $(calc %.0f "$(med aaa,rps)") req/s, p50 $(med aaa,p50), p99 $(med aaa,p99) ms"
    echo "aaaproxy/radsecproxy: req/s $(calc %.2f "$(med aaa,rps) / $(med rsp,rps)"), p99 $(calc %.2f "$(med aaa,p99) / $(med rsp,p99)")"
    echo "responder: $(tail -1 "$OUT/responder.log")"
    disk_lines
    echo "results: $OUT"
  } | tee "$OUT/summary.txt"
}

# ================================================================ --peers: the shared harness
run_peers() {
  local pa pc padm sb cfg status=0
  IFS=: read -r pa pc padm <<<"$PEER_PORTS"
  [ -x "$SHARED_BENCH/run.sh" ] || [ -f "$SHARED_BENCH/run.sh" ] || die "no harness at $SHARED_BENCH/run.sh (set AAAPROXY_SHARED_BENCH)"
  for p in "$pa" "$pc" "$padm" 21812 21813; do port_busy "$p" && die "127.0.0.1:$p is already in use (see --peer-ports)"; done
  # A writable copy: the harness builds its loadgen in place, and its FreeRADIUS dirs may have
  # flattened symlinks (restore_links).
  sb=$ROOT/bench-results/shared-bench
  rm -rf "$sb" && cp -R "$SHARED_BENCH" "$sb" && chmod -R u+w "$sb" && rm -rf "$sb/results"
  restore_links "$sb"
  cp -p "$LOADGEN" "$sb/loadgen/radload" && touch "$sb/loadgen/radload"
  cfg=$OUT/peers-aaaproxy
  node scripts/bench/proxy-config.mjs "$cfg" nassecret "$pa" "$pc" "$padm" "$HOME_SECRET" 21812 21813
  DISK_BEFORE=$(disk_latency)
  log "harness: $sb/run.sh ${PEER_ARGS[*]} --extra aaaproxy:$pa:$pc:... (output in $OUT/peers)"
  (cd "$sb" && bash ./run.sh "${PEER_ARGS[@]}" --out "$OUT/peers" \
    --extra "aaaproxy:$pa:$pc:node $ROOT/bin/aaaproxy.js run -c $cfg/aaaproxy.yaml") || status=$?
  [ "$status" -eq 0 ] || die "run.sh exited $status (see $OUT/peers/run.log)"
  DISK_AFTER=$(disk_latency)
  {
    echo
    node scripts/bench/peers-verdict.mjs "$OUT/peers/raw.tsv"
    disk_lines
    echo "aaaproxy: warn/error log lines $(grep -c '"level":[45]0' "$OUT/peers/logs/aaaproxy.log" || true) (logs/aaaproxy.log, all starts);" \
      "spool after the last stop: $(node scripts/bench/spool-state.mjs "$cfg/spool" | tr '\n' ' ')"
    echo "results: $OUT/peers (summary.txt, raw.tsv, runs/, logs/); aaaproxy config: $cfg/aaaproxy.yaml"
  } | tee -a "$OUT/peers/summary.txt"
  [ "$KEEP" -eq 1 ] || rm -rf "$cfg/spool" "$cfg"/accounting.jsonl*
}

if [ "$PEERS" -eq 1 ]; then run_peers
elif [ "$SCENARIO" = proxy ]; then scenario_proxy
elif [ "$SCENARIO" = acct-rounds ]; then scenario_acct_rounds
else scenario_local
fi
