#!/usr/bin/env bash
# Chat over HTTP (not a test): POST /api/v1/chat with the builtin engine, measured with
# wrk against a release `tock serve` on a fresh SQLite database seeded by bench/seed.py
# (one user, BENCH_TASKS tasks). See bench/README.md ("Chat turns per second").
#   BENCH_DURATION (10s)  BENCH_CONNECTIONS ("1 50")  BENCH_TASKS (1000)  TOCK_BIN (build/tock)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
TOCK_BIN=${TOCK_BIN:-$ROOT/build/tock}
DURATION=${BENCH_DURATION:-10s}
CONNS=${BENCH_CONNECTIONS:-"1 50"}
TASKS=${BENCH_TASKS:-1000}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/tock-bench-chat-XXXXXX)
PORT=$("$PY" "$HERE/seed.py" freeport)
TOCK=http://127.0.0.1:$PORT
TOCK_DB="sqlite:$TMP/tock.db" TOCK_LISTEN="127.0.0.1:$PORT" TOCK_ACCESS_LOG=0 \
  TOCK_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
  "$TOCK_BIN" serve >"$TMP/stdout" 2>"$TMP/stderr" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
"$PY" "$HERE/seed.py" wait "$TOCK/healthz" 30
"$PY" "$HERE/seed.py" seed "$TOCK" "$TMP" "$TASKS" >/dev/null
TOKEN=$(cat "$TMP/token")
for c in $CONNS; do
  t=$(( c < 2 ? 1 : 2 ))
  echo "== $c connection(s), $t thread(s), $DURATION"
  wrk -t"$t" -c"$c" -d"$DURATION" --latency -s "$HERE/chat.lua" "$TOCK" -- "$TOKEN" |
    grep -E "Requests/sec|Latency|50%|99%|Non-2xx|Socket errors"
done
