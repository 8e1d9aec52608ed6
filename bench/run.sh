#!/usr/bin/env bash
# tock benchmark (not a test). Called by `make bench` after the release build; see
# bench/README.md. Starts build/tock on a fresh SQLite database and nginx as the
# machine's ceiling, both on loopback, seeds one user with 1,000 tasks, runs wrk against
# each scenario at each connection count, and writes a Markdown table to
# bench/results/latest.md (raw wrk output in bench/results/raw/).
#
# Knobs (environment):
#   BENCH_DURATION      wrk duration per run (default 10s; a bare number is seconds)
#   BENCH_CONNECTIONS   connection counts (default "50 1000")
#   BENCH_THREADS       wrk threads (default 2)
#   BENCH_WARMUP        warm-up run before each scenario, 50 connections (default 1s; 0 = none)
#   BENCH_TASKS         tasks to seed (default 1000)
#   BENCH_SCENARIOS     subset, e.g. "nginx healthz get_one" (default: all, in the order below)
#   BENCH_WRK_TIMEOUT   wrk per-request timeout (default 2s; slower answers count as timeouts)
#   BENCH_PROFILE=1     also profile a short GET-one run (perf, else valgrind callgrind)
#   BENCH_PROFILE_SCENARIO  scenario to profile instead of get_one (e.g. list, create)
#   BENCH_PROFILER      auto (perf if it works, else callgrind), perf or callgrind
#   BENCH_PROFILE_SECONDS  length of that run (default 5)
#   BENCH_KEEP_TMP=1    keep the temp directory (database, logs, nginx prefix)
#   TOCK_BIN            binary to benchmark (default build/tock)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TOCK_BIN=${TOCK_BIN:-$ROOT/build/tock}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-"50 1000"}
THREADS=${BENCH_THREADS:-2}
WARMUP=${BENCH_WARMUP:-1s}
TASKS=${BENCH_TASKS:-1000}
SCENARIOS=${BENCH_SCENARIOS:-"nginx healthz list get_one search patch create"}
WRK_TIMEOUT=${BENCH_WRK_TIMEOUT:-2s}
PROFILE=${BENCH_PROFILE:-0}
PROFILE_SECONDS=${BENCH_PROFILE_SECONDS:-5}
PROFILE_SCENARIO=${BENCH_PROFILE_SCENARIO:-get_one}
PROFILER=${BENCH_PROFILER:-auto}
RESULTS=$HERE/results
RAW=$RESULTS/raw
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
SEED=("$PY" "$HERE/seed.py")

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in wrk /usr/sbin/nginx; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh bench installs wrk and nginx-light)"
done
[ -n "$PY" ] || die "python3 not found (Debian: apt-get install python3); bench/seed.py needs it"
[ -x "$TOCK_BIN" ] || die "$TOCK_BIN not found or not executable (make build)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tock-bench.XXXXXX")
TOCK_PID="" NGINX_PID="" WRK_PID="" PERF_PID="" TOCK_EXIT=""

stop_pid() { # stop_pid PID [seconds]: TERM, wait, then KILL
  local pid=$1 secs=${2:-5} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  log "pid $pid did not stop after ${secs}s; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID" 2
  stop_pid "$PERF_PID" 5
  stop_pid "$TOCK_PID" 10
  stop_pid "$NGINX_PID" 5
  mkdir -p "$RAW"
  for f in tock.stdout tock.stderr nginx/error.log seed.json; do
    [ -f "$TMP/$f" ] && cp "$TMP/$f" "$RAW/$(basename "$f")" || true
  done
  if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run a snapshot of the binary, so that a rebuild during the run cannot change it.
TOCK_SRC=$TOCK_BIN
mkdir -p "$TMP/bin"
cp "$TOCK_BIN" "$TMP/bin/tock"
TOCK_BIN=$TMP/bin/tock
TOCK_SHA=$(sha256sum "$TOCK_BIN" | cut -d' ' -f1)

# ---------------------------------------------------------------- file descriptors
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
ulimit -n "$hard" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
NOFILE=$(ulimit -n)
for c in $CONNS; do
  if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((c + 200)) ]; then
    log "warning: ulimit -n is $NOFILE, too low for $c connections"
  fi
done

rm -rf "$RAW"
mkdir -p "$RAW"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
FSYNC=$("${SEED[@]}" fsync "$TMP" 2>&1 || echo "fsync probe failed")

# ---------------------------------------------------------------- tock
TOCK_PORT=$("${SEED[@]}" freeport)
TOCK=http://127.0.0.1:$TOCK_PORT
JWT_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
log "starting $TOCK_SRC (copy) serve on $TOCK (db $TMP/tock.db)"
(cd "$TMP" && exec env TOCK_DB="sqlite:$TMP/tock.db" TOCK_LISTEN="127.0.0.1:$TOCK_PORT" \
  TOCK_JWT_SECRET="$JWT_SECRET" TOCK_ACCESS_LOG=0 \
  "$TOCK_BIN" serve >"$TMP/tock.stdout" 2>"$TMP/tock.stderr") &
TOCK_PID=$!

tock_alive() { kill -0 "$TOCK_PID" 2>/dev/null; }
tock_died() {
  local st=0
  wait "$TOCK_PID" 2>/dev/null || st=$?
  TOCK_EXIT="exit status $st"
  [ "$st" -gt 128 ] && TOCK_EXIT="$TOCK_EXIT (signal $((st - 128)))"
  if grep -q 'received SIG' "$TMP/tock.stdout" "$TMP/tock.stderr" 2>/dev/null; then
    TOCK_EXIT="$TOCK_EXIT after it logged '$(grep -ho 'received SIG[A-Z]*' "$TMP/tock.stdout" "$TMP/tock.stderr" | head -n 1)' — stopped from outside this script, not a crash"
  fi
  log "tock (pid $TOCK_PID) is gone, $TOCK_EXIT; last lines of its stderr:"
  tail -n 30 "$TMP/tock.stderr" >&2 || true
}

if ! "${SEED[@]}" wait "$TOCK/healthz" 30; then
  tock_alive || tock_died
  die "tock did not answer /healthz within 30 s"
fi

# ---------------------------------------------------------------- seed
log "seeding 1 user with $TASKS tasks"
SEED_JSON=$("${SEED[@]}" seed "$TOCK" "$TMP" "$TASKS") || {
  tock_alive || tock_died
  die "seeding failed"
}
TOKEN=$(cat "$TMP/token")
IDS=$TMP/ids
log "seeded: $SEED_JSON"
seed_field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2]))' "$TMP/seed.json" "$1"; }
SEARCH_WORD=$(seed_field search_word)
FIRST_ID=$(head -n 1 "$IDS")

# ---------------------------------------------------------------- nginx
NGX=$TMP/nginx
mkdir -p "$NGX"
NGINX_PORT=$("${SEED[@]}" freeport)
USER_LINE=""
[ "$(id -u)" -eq 0 ] && USER_LINE="user root;"
NGX_NOFILE=$NOFILE
{ [ "$NGX_NOFILE" = unlimited ] || [ "$NGX_NOFILE" -gt 1048576 ]; } && NGX_NOFILE=1048576
WORKER_CONNECTIONS=$((NGX_NOFILE / 2))
[ "$WORKER_CONNECTIONS" -gt 16384 ] && WORKER_CONNECTIONS=16384
sed -e "s|@USER_LINE@|$USER_LINE|" -e "s|@PREFIX@|$NGX|g" -e "s|@PORT@|$NGINX_PORT|" \
  -e "s|@NOFILE@|$NGX_NOFILE|" -e "s|@WORKER_CONNECTIONS@|$WORKER_CONNECTIONS|" \
  "$HERE/nginx.conf.tmpl" >"$NGX/nginx.conf"
/usr/sbin/nginx -t -q -p "$NGX/" -e "$NGX/error.log" -c "$NGX/nginx.conf" ||
  die "nginx config test failed: $(cat "$NGX/error.log" 2>/dev/null)"
log "starting nginx on 127.0.0.1:$NGINX_PORT (2 workers)"
/usr/sbin/nginx -p "$NGX/" -e "$NGX/error.log" -c "$NGX/nginx.conf" >"$NGX/stdout" 2>&1 &
NGINX_PID=$!
"${SEED[@]}" wait "http://127.0.0.1:$NGINX_PORT/" 10 || die "nginx did not start: $(cat "$NGX/error.log")"

# ---------------------------------------------------------------- wrk runs
ROWS=$TMP/rows.tsv # scenario conns rps p50 p99 non2xx errors requests bytes_per_resp
: >"$ROWS"
NOTES=$TMP/notes.txt
: >"$NOTES"
TOCK_DEAD=0

# wrk_args SCENARIO -> sets ARGS (wrk options, URL and script args) for that scenario
wrk_args() {
  local auth="Authorization: Bearer $TOKEN"
  case $1 in
    nginx) ARGS=("http://127.0.0.1:$NGINX_PORT/") ;;
    healthz) ARGS=("$TOCK/healthz") ;;
    list) ARGS=(-H "$auth" "$TOCK/api/v1/tasks") ;;
    get_one) ARGS=(-s "$HERE/get_one.lua" "$TOCK" -- "$IDS" "$TOKEN") ;;
    search) ARGS=(-H "$auth" "$TOCK/api/v1/tasks?q=$SEARCH_WORD") ;;
    patch) ARGS=(-s "$HERE/patch.lua" "$TOCK" -- "$IDS" "$TOKEN") ;;
    create) ARGS=(-s "$HERE/create.lua" "$TOCK" -- "$TOKEN") ;;
    *) die "unknown scenario $1" ;;
  esac
}

# probe SCENARIO: one request like the scenario's, to show what a non-2xx answer is
probe() {
  case $1 in
    healthz) "${SEED[@]}" probe "$TOCK" "$TOKEN" GET /healthz ;;
    list) "${SEED[@]}" probe "$TOCK" "$TOKEN" GET /api/v1/tasks ;;
    get_one) "${SEED[@]}" probe "$TOCK" "$TOKEN" GET "/api/v1/tasks/$FIRST_ID" ;;
    search) "${SEED[@]}" probe "$TOCK" "$TOKEN" GET "/api/v1/tasks?q=$SEARCH_WORD" ;;
    patch) "${SEED[@]}" probe "$TOCK" "$TOKEN" PATCH "/api/v1/tasks/$FIRST_ID" '{"priority":"low","description":"probe"}' ;;
    create) "${SEED[@]}" probe "$TOCK" "$TOKEN" POST /api/v1/tasks '{"title":"probe","tags":["bench"]}' ;;
    *) echo "(no probe for $1)" ;;
  esac
}

# run_wrk OUTFILE THREADS CONNS DURATION ARGS...: runs wrk in the background so that
# signals reach the trap at once; returns wrk's exit status.
run_wrk() {
  local out=$1 t=$2 c=$3 d=$4 st=0
  shift 4
  wrk -t"$t" -c"$c" -d"$d" --timeout "$WRK_TIMEOUT" --latency "$@" >"$out" 2>&1 &
  WRK_PID=$!
  wait "$WRK_PID" || st=$?
  WRK_PID=""
  return "$st"
}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# tock_ticks: user+system CPU time of tock so far, in clock ticks (0 if unknown)
tock_ticks() {
  awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$TOCK_PID/stat" 2>/dev/null || echo 0
}
now_ms() { date +%s%3N; }

# parse_wrk FILE -> "rps p50 p99 non2xx errors requests bytes_per_resp" (ms, bytes)
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v + 0 }
    function bytes(v) {
      if (v ~ /KB$/) return v * 1024; if (v ~ /MB$/) return v * 1048576
      if (v ~ /GB$/) return v * 1073741824; return v + 0 }
    /^ +50% / { p50 = ms($2) }
    /^ +99% / { p99 = ms($2) }
    / requests in / { reqs = $1; rd = $5; sub(/ read$/, "", rd); read = bytes(rd) }
    /Socket errors:/ { c = $4; r = $6; w = $8; t = $10; gsub(/,/, "", c); gsub(/,/, "", r); gsub(/,/, "", w)
                       errs = "c" c "/r" r "/w" w "/t" t }
    /Non-2xx or 3xx responses:/ { non2xx = $5 }
    /^Requests\/sec:/ { rps = $2 }
    END {
      if (rps == "") { print "FAILED - - - - - -"; exit }
      if (reqs + 0 == 0) { printf "%.0f - - %d %s 0 0\n", rps, non2xx + 0, (errs == "" ? "0" : errs); exit }
      printf "%.0f %.2f %.2f %d %s %d %.0f\n", rps, p50, p99, non2xx + 0, (errs == "" ? "0" : errs),
             reqs, (reqs > 0 ? read / reqs : 0) }' "$1"
}

for scenario in $SCENARIOS; do
  if [ "$scenario" != nginx ] && [ "$TOCK_DEAD" = 1 ]; then
    for c in $CONNS; do printf '%s\t%s\tserver down\t-\t-\t-\t-\t-\t-\t-\n' "$scenario" "$c" >>"$ROWS"; done
    continue
  fi
  wrk_args "$scenario"
  if [ "$WARMUP" != 0 ]; then
    run_wrk "$RAW/${scenario}_warmup.txt" "$THREADS" 50 "$WARMUP" "${ARGS[@]}" || true
  fi
  for c in $CONNS; do
    if [ "$scenario" != nginx ] && [ "$TOCK_DEAD" = 1 ]; then
      printf '%s\t%s\tserver down\t-\t-\t-\t-\t-\t-\t-\n' "$scenario" "$c" >>"$ROWS"
      continue
    fi
    out=$RAW/${scenario}_c$c.txt
    log "wrk $scenario: $c connections, $DURATION"
    t0=$(now_ms)
    k0=$(tock_ticks)
    if ! run_wrk "$out" "$THREADS" "$c" "$DURATION" "${ARGS[@]}"; then
      log "wrk exited non-zero for $scenario at $c connections:"
      tail -n 5 "$out" >&2 || true
    fi
    k1=$(tock_ticks)
    t1=$(now_ms)
    cpu=-
    if [ "$scenario" != nginx ] && [ "$k1" -gt 0 ] && [ "$t1" -gt "$t0" ]; then
      cpu=$(awk -v k=$((k1 - k0)) -v hz="$CLK_TCK" -v ms=$((t1 - t0)) 'BEGIN {printf "%.0f", 100 * k / hz / (ms / 1000)}')
    fi
    read -r rps p50 p99 non2xx errs reqs bpr < <(parse_wrk "$out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$c" "$rps" "$p50" "$p99" \
      "$non2xx" "$errs" "$reqs" "$bpr" "$cpu" >>"$ROWS"
    log "  -> $rps req/s, p50 ${p50} ms, p99 ${p99} ms, non-2xx $non2xx, socket errors $errs, tock CPU ${cpu} (% of a core)"
    if [ "$scenario" != nginx ]; then
      if ! tock_alive; then
        tock_died
        echo "- tock died during $scenario at $c connections, $TOCK_EXIT (see raw/tock.stderr)" >>"$NOTES"
        TOCK_DEAD=1
        continue
      fi
      if [ "$non2xx" != 0 ] && [ "$non2xx" != - ]; then
        echo "- $scenario at $c connections: $non2xx non-2xx answers; $(probe "$scenario" 2>&1)" >>"$NOTES"
      fi
    fi
  done
done

# ---------------------------------------------------------------- profile
PROFILE_OUT=""
if [ "$PROFILE" = 1 ] && [ "$TOCK_DEAD" = 0 ]; then
  PROFILE_OUT=$RAW/profile.txt
  wrk_args "$PROFILE_SCENARIO"
  if [ "$PROFILER" != callgrind ] && command -v perf >/dev/null && perf stat -e instructions true >/dev/null 2>&1 &&
    perf record -e cpu-clock -o "$TMP/perf-check.data" -- true >/dev/null 2>&1; then
    log "profiling $PROFILE_SCENARIO with perf for ${PROFILE_SECONDS}s (pid $TOCK_PID)"
    # cpu-clock (a software event) works in VMs without hardware counters, too.
    perf record -e cpu-clock -F 999 -g -p "$TOCK_PID" -o "$TMP/perf.data" -- sleep "$((PROFILE_SECONDS + 1))" \
      >"$TMP/perf.log" 2>&1 &
    PERF_PID=$!
    sleep 0.5
    run_wrk "$RAW/profile_wrk.txt" "$THREADS" 50 "${PROFILE_SECONDS}s" "${ARGS[@]}" || true
    wait "$PERF_PID" || true
    PERF_PID=""
    {
      echo "perf record -e cpu-clock -F 999 -g -p <tock> during ${PROFILE_SECONDS}s of $PROFILE_SCENARIO at 50 connections"
      echo "(while wrk ran: $(awk '/^Requests\/sec/ {print $2}' "$RAW/profile_wrk.txt") req/s; cpu-clock samples on-CPU time only: waiting, sleeping and fsync do not show)"
      echo
      echo "## by shared object (self time)"
      perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort dso 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed -e 's/[ -]*$//' | head -n 15
      echo
      echo "## top functions (self time)"
      perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort symbol,dso 2>/dev/null |
        grep -v '^#' | grep -v '^$' | sed -e 's/[ -]*$//' | head -n 40
    } >"$PROFILE_OUT" 2>&1 || true
  elif [ "$PROFILER" != perf ] && command -v valgrind >/dev/null; then
    log "perf unavailable; profiling $PROFILE_SCENARIO under valgrind --tool=callgrind (slow)"
    stop_pid "$TOCK_PID" 10
    (cd "$TMP" && exec env TOCK_DB="sqlite:$TMP/tock.db" TOCK_LISTEN="127.0.0.1:$TOCK_PORT" \
      TOCK_JWT_SECRET="$JWT_SECRET" TOCK_ACCESS_LOG=0 \
      valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out" \
      "$TOCK_BIN" serve >"$TMP/tock-callgrind.stdout" 2>"$TMP/tock-callgrind.stderr") &
    TOCK_PID=$!
    if "${SEED[@]}" wait "$TOCK/healthz" 120; then
      run_wrk "$RAW/profile_wrk.txt" 1 10 "${PROFILE_SECONDS}s" "${ARGS[@]}" || true
      stop_pid "$TOCK_PID" 60
      TOCK_PID=""
      {
        echo "valgrind --tool=callgrind, ${PROFILE_SECONDS}s of $PROFILE_SCENARIO at 10 connections"
        callgrind_annotate "$TMP/callgrind.out" 2>/dev/null | head -n 60
      } >"$PROFILE_OUT" 2>&1 || true
    else
      echo "tock under callgrind did not become healthy" >"$PROFILE_OUT"
    fi
  else
    echo "no profiler: neither perf nor valgrind works here (Debian: linux-perf, valgrind)" >"$PROFILE_OUT"
  fi
  log "profile written to $PROFILE_OUT"
fi

# ---------------------------------------------------------------- server state
TOCK_STATE="not running"
if [ -n "$TOCK_PID" ] && tock_alive; then
  rss=$(awk '/^VmRSS/ {print $2 " " $3}' "/proc/$TOCK_PID/status" 2>/dev/null || echo "?")
  hwm=$(awk '/^VmHWM/ {print $2 " " $3}' "/proc/$TOCK_PID/status" 2>/dev/null || echo "?")
  nthreads=$(awk '/^Threads/ {print $2}' "/proc/$TOCK_PID/status" 2>/dev/null || echo "?")
  if "${SEED[@]}" wait "$TOCK/healthz" 5 2>/dev/null; then health=healthy; else health="NOT answering /healthz"; fi
  TOCK_STATE="alive, $health, RSS $rss (peak $hwm), $nthreads threads"
  "$PY" -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "$TOCK/metrics" >"$RAW/metrics.txt" 2>&1 || true
fi
stderr_lines=$(wc -l <"$TMP/tock.stderr" 2>/dev/null || echo 0)
stdout_lines=$(wc -l <"$TMP/tock.stdout" 2>/dev/null || echo 0)

# ---------------------------------------------------------------- report
commit=unknown
if [ -f "$ROOT/.git/HEAD" ]; then # read without running git
  head_ref=$(cat "$ROOT/.git/HEAD")
  case $head_ref in
    ref:*) f="$ROOT/.git/${head_ref#ref: }"; [ -f "$f" ] && commit=$(cut -c1-12 "$f") ;;
    *) commit=${head_ref:0:12} ;;
  esac
fi
cpu_model=$(lscpu 2>/dev/null | awk -F: '/Model name/ {sub(/^ +/, "", $2); print $2; exit}')
mem_total=$(free -h 2>/dev/null | awk '/^Mem:/ {print $2}')

MD=$TMP/latest.md
{
  echo "# tock benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) CPUs ($cpu_model), $mem_total RAM, Linux $(uname -r); wrk, tock and nginx share these CPUs"
  echo "- load average before the run: $LOAD_BEFORE; after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
  echo "- tock: $TOCK_SRC (HEAD $commit, binary sha256 ${TOCK_SHA:0:12}), SQLite at a fresh temp path, TOCK_DB_SYNC=${TOCK_DB_SYNC:-full (default: durable commits)}, access log off"
  echo "- disk under the database: $FSYNC"
  echo "- wrk: -t$THREADS, keep-alive, duration $DURATION per run, warm-up $WARMUP, timeout $WRK_TIMEOUT; ulimit -n $NOFILE"
  echo "- data: 1 user, $TASKS seeded tasks; list = first page (limit 50, $(seed_field list_body_bytes) B body);" \
    "GET one rotates over the seeded ids ($(seed_field get_one_body_bytes) B body);" \
    "search q=$SEARCH_WORD matches $(seed_field search_matches_first_200) tasks (first page $(seed_field search_first_page_bytes) B);" \
    "PATCH rotates over the seeded ids (priority + description, no If-Match); create adds new tasks (runs last)"
  echo "- seeding: $(seed_field seed_creates_per_s) creates/s from 8 python threads"
  echo
  echo "| scenario | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors (connect/read/write/timeout) | requests | avg bytes/resp | tock CPU |"
  echo "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"
  while IFS=$'\t' read -r s c rps p50 p99 non2xx errs reqs bpr cpu; do
    [ "$cpu" = - ] || cpu="$cpu%"
    echo "| $s | $c | $rps | $p50 | $p99 | $non2xx | $errs | $reqs | $bpr | $cpu |"
  done <"$ROWS"
  echo
  echo "avg bytes/resp counts headers and body as wrk read them. tock CPU: user + system time of"
  echo "the tock process during the run, in % of one core ($(nproc) cores in all, shared with wrk)."
  echo
  echo "## targets (issue 2, section 9)"
  echo
  rps_of() { awk -F'\t' -v s="$1" -v c="$2" '$1 == s && $2 == c {print $3}' "$ROWS"; }
  for t in "get_one 30000 GET one" "list 10000 list" "create 5000 create"; do
    read -r s min label <<<"$t"
    line="- $label >= $min req/s:"
    for c in $CONNS; do
      v=$(rps_of "$s" "$c")
      [ -n "$v" ] || continue
      if [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -ge "$min" ]; then ok=met; else ok="not met"; fi
      line="$line $v at $c conns ($ok);"
    done
    [[ "$line" == *: ]] && line="$line not run"
    echo "${line%;}"
  done
  awk -F'\t' '$2 == 50 && $1 != "nginx" {
      ok = ($5 ~ /^[0-9.]+$/ && $5 + 0 < 5) ? "met" : "not met"
      out = out sprintf(" %s %s ms (%s);", $1, $5, ok) }
    END { if (out != "") { sub(/;$/, "", out); print "- p99 < 5 ms at 50 connections:" out } }' "$ROWS"
  for c in $CONNS; do
    ng=$(rps_of nginx "$c")
    hz=$(rps_of healthz "$c")
    if [[ "$ng" =~ ^[0-9]+$ ]] && [[ "$hz" =~ ^[0-9]+$ ]] && [ "$ng" -gt 0 ]; then
      pct=$(awk -v a="$hz" -v b="$ng" 'BEGIN {printf "%.1f", 100 * a / b}')
      ok=$(awk -v p="$pct" 'BEGIN {print (p >= 70 ? "met" : "not met")}')
      echo "- /healthz >= 70% of nginx at $c connections: $pct% ($ok)"
    fi
  done
  echo
  echo "## server"
  echo
  echo "- tock after the runs: $TOCK_STATE"
  echo "- tock stderr: $stderr_lines lines, stdout: $stdout_lines lines (raw/tock.stderr, raw/tock.stdout)"
  if [ -s "$NOTES" ]; then cat "$NOTES"; else echo "- no non-2xx answers, no crash"; fi
  if [ -n "$PROFILE_OUT" ] && [ -f "$PROFILE_OUT" ]; then
    echo
    echo "## profile (BENCH_PROFILE=1)"
    echo
    echo '```'
    cat "$PROFILE_OUT"
    echo '```'
  fi
} >"$MD"
cp "$MD" "$RESULTS/latest.md"
echo
cat "$MD"
echo
log "written to $RESULTS/latest.md (raw output in $RAW/)"
[ "$TOCK_DEAD" = 0 ] || exit 1
