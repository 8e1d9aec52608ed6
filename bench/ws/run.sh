#!/usr/bin/env bash
# WebSocket benchmark (not a test): 10,000 WebSockets on one `tock serve`, the time
# for one change to reach all of them, write-to-other-client latency, and tock's RSS
# with them open. See bench/README.md ("WebSockets").
#
# Knobs: BENCH_WS_CONNS (10000), BENCH_WS_ROUNDS (20 fan-out rounds),
#        BENCH_WS_SAMPLES (1000 latency samples), TOCK_BIN (default build/tock).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$(dirname "$HERE")")
TOCK_BIN=${TOCK_BIN:-$ROOT/build/tock}
CONNS=${BENCH_WS_CONNS:-10000}
ROUNDS=${BENCH_WS_ROUNDS:-20}
SAMPLES=${BENCH_WS_SAMPLES:-1000}
PY=/usr/bin/python3

log() { printf '[bench-ws %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ -x "$TOCK_BIN" ] || die "$TOCK_BIN not found (make build)"

# Both tock and the client hold CONNS sockets each.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((CONNS + 1000)) ] || die "ulimit -n $(ulimit -n) is too low for $CONNS connections"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tock-bench-ws.XXXXXX")
TOCK_PID="" CLIENT_PID=""
cleanup() {
  [ -n "$CLIENT_PID" ] && kill "$CLIENT_PID" 2>/dev/null || true
  if [ -n "$TOCK_PID" ]; then
    kill -TERM "$TOCK_PID" 2>/dev/null || true
    wait "$TOCK_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

cc -O2 -Wall -Wextra -o "$TMP/ws_bench" "$HERE/ws_bench.c"

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
TOCK_DB=sqlite:$TMP/tock.db TOCK_LISTEN=127.0.0.1:$PORT \
TOCK_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
TOCK_ACCESS_LOG=0 TOCK_WS_MAX_CONNS=$((CONNS + 100)) TOCK_WS_MAX_PER_USER=$((CONNS + 100)) \
TOCK_WS_PING_SECONDS=3600 \
  "$TOCK_BIN" serve >"$TMP/tock.out" 2>"$TMP/tock.err" &
TOCK_PID=$!
for _ in $(seq 300); do
  curl -fs "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$TOCK_PID" 2>/dev/null || die "tock exited: $(tail -5 "$TMP/tock.err")"
  sleep 0.1
done

token() {
  curl -fs -X POST "$URL/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1@example.com\",\"password\":\"correct horse battery\"}" |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
TOK_FAN=$(token fanout)
TOK_LAT=$(token latency)

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$TOCK_PID/status"; }
RSS0=$(rss_kb)

mkfifo "$TMP/go"
WS_BENCH_PAUSE=1 "$TMP/ws_bench" "$PORT" "$TOK_FAN" "$TOK_LAT" "$CONNS" "$ROUNDS" "$SAMPLES" \
  <"$TMP/go" >"$TMP/result.json" 2>"$TMP/client.err" &
CLIENT_PID=$!
exec 3>"$TMP/go"
for _ in $(seq 1200); do
  grep -q ready "$TMP/client.err" 2>/dev/null && break
  kill -0 "$CLIENT_PID" 2>/dev/null || die "client failed: $(cat "$TMP/client.err")"
  sleep 0.1
done
grep -q ready "$TMP/client.err" || die "connections not open after 120 s"
RSS1=$(rss_kb)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$TOCK_PID/stat"; }
CPU0=$(cpu_ticks)
echo go >&3
wait "$CLIENT_PID" || die "client failed: $(cat "$TMP/client.err")"
CLIENT_PID=""
curl -fs "$URL/metrics" | grep '^tock_ws_' >"$TMP/metrics.txt" || true
CPU1=$(cpu_ticks)
echo "cpu_ticks $((CPU1 - CPU0)) $(getconf CLK_TCK)" >>"$TMP/metrics.txt"
exec 3>&-

"$PY" - "$TMP/result.json" "$RSS0" "$RSS1" "$CONNS" "$TMP/metrics.txt" <<'PYEOF'
import json, re, sys
r = json.load(open(sys.argv[1]))
m = {}
for line in open(sys.argv[5]):
    if line.startswith("cpu_ticks "):
        _, ticks, hz = line.split()
        cpu_s = int(ticks) / int(hz)
        continue
    k, _, v = line.rpartition(" ")
    m[k] = float(v)
# tock's CPU time (user + system) over the measured phases, per change.
r["tock_cpu_ms_per_change"] = round(1000 * cpu_s / (r["fanout_rounds"] + r["latency_samples"]), 2)
ev = m.get('tock_ws_events_total{type="task.sync"}', 0)
# Server-side time in the fan-out loop, averaged over every change (fan-out rounds
# to all sockets and latency samples to one).
r["server_fanout_ms_avg_all_events"] = round(1000 * m.get('tock_ws_fanout_seconds_total{type="task.sync"}', 0) / max(ev, 1), 3)
rss0, rss1, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r["rss_idle_mib"] = round(rss0 / 1024, 1)
r["rss_with_conns_mib"] = round(rss1 / 1024, 1)
r["rss_per_conn_kib"] = round((rss1 - rss0) / (n + 1), 1)
print(json.dumps(r, indent=1))
print()
print("| figure | value |")
print("|---|---|")
print(f"| WebSockets open | {r['connections']:,} (in {r['open_seconds']} s) |")
print(f"| one change to all {n:,} sockets (p50 / max of {r['fanout_rounds']}) | {r['fanout_all_ms_p50']} ms / {r['fanout_all_ms_max']} ms |")
print(f"| ... to the median socket (p50) | {r['fanout_median_socket_ms_p50']} ms |")
print(f"| write-to-other-client p50 / p99 / max ({r['latency_samples']} samples) | {r['latency_ms_p50']} / {r['latency_ms_p99']} / {r['latency_ms_max']} ms |")
print(f"| tock RSS idle / with the sockets | {r['rss_idle_mib']} MiB / {r['rss_with_conns_mib']} MiB ({r['rss_per_conn_kib']} KiB per socket) |")
PYEOF
