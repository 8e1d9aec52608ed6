#!/usr/bin/env python3
"""Event pipeline benchmark (not a test): API -> outbox -> relay -> Kafka -> audit.

Starts librdkafka's mock cluster (3 brokers, build/tock-kafka-mock) and one
`tock serve` (roles all: api, relay, audit; TOCK_BUS=kafka; SQLite by default,
or PostgreSQL with BENCH_PG_URL=postgres://...), registers a user, then:

1. Throughput: wrk creates tasks at BENCH_EVENTS_CONNS connections for
   BENCH_EVENTS_DURATION; every create writes 2 events (task.created on
   task-events, task.sync on task-updates), and the audit role consumes both
   topics. Reported: API creates/s, and events/s end to end = audit rows /
   (last audit row's commit - first event's time).
2. Lag: a paced client sends BENCH_LAG_RATE events/s (creates at half that rate)
   for BENCH_LAG_SECONDS; per event, lag = audit row commit time - event time
   (the outbox commit). Reported: p50, p99, max.

Writes a Markdown summary to bench/results/events.md. Knobs: BENCH_EVENTS_DURATION
(10), BENCH_EVENTS_CONNS (50), BENCH_LAG_RATE (1000), BENCH_LAG_SECONDS (10),
TOCK_BIN (build/tock), BENCH_PG_URL.
"""
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOCK = os.environ.get("TOCK_BIN", os.path.join(ROOT, "build", "tock"))
MOCK = os.path.join(os.path.dirname(TOCK), "tock-kafka-mock")
DURATION = int(os.environ.get("BENCH_EVENTS_DURATION", "10"))
CONNS = int(os.environ.get("BENCH_EVENTS_CONNS", "50"))
LAG_RATE = int(os.environ.get("BENCH_LAG_RATE", "1000"))
LAG_SECONDS = int(os.environ.get("BENCH_LAG_SECONDS", "10"))
PG_URL = os.environ.get("BENCH_PG_URL")
TOPICS = ["task-events", "task-updates", "reminders", "dlq"]


def log(msg):
    print(f"[bench-events {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read() or b"null")


class Audit:
    """Reads the audit log and the outbox straight from the database."""

    def __init__(self, db_path):
        self.db_path = db_path

    def q(self, sql):
        if PG_URL:
            out = subprocess.run(["psql", "-X", "-A", "-t", "-F", "\t", PG_URL, "-c", sql],
                                 capture_output=True, text=True, check=True).stdout
            return [line.split("\t") for line in out.splitlines() if line]
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return [list(map(str, r)) for r in con.execute(sql).fetchall()]
        finally:
            con.close()

    def count(self):
        return int(self.q("SELECT count(*) FROM audit_log")[0][0])

    def outbox(self):
        return int(self.q("SELECT count(*) FROM outbox")[0][0])


def wait_for(pred, what, timeout=300):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    for b in (TOCK, MOCK):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"{b} not built (make build)")
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found (scripts/deps.sh bench)")
    tmp = tempfile.mkdtemp(prefix="tock-bench-events-")
    mock = subprocess.Popen([MOCK, "--brokers", "3"] + [f"bench.{t}" for t in TOPICS],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=open(os.path.join(tmp, "mock.stderr"), "wb"))
    bootstrap = mock.stdout.readline().decode().strip()
    assert mock.stdout.readline().decode().strip() == "ready"
    port = free_port()
    db_path = os.path.join(tmp, "tock.db")
    env = dict(os.environ, TOCK_LISTEN=f"127.0.0.1:{port}",
               TOCK_DB=PG_URL or f"sqlite:{db_path}", TOCK_DATA_DIR=tmp,
               TOCK_BUS=f"kafka:{bootstrap}", TOCK_TOPIC_PREFIX="bench.",
               TOCK_ACCESS_LOG="0", TOCK_LOG_LEVEL="warn",
               TOCK_JWT_SECRET="bench-secret-0123456789abcdef0123456789")
    tock = subprocess.Popen([TOCK, "serve"], env=env, stdin=subprocess.DEVNULL,
                            stdout=open(os.path.join(tmp, "tock.stdout"), "wb"),
                            stderr=open(os.path.join(tmp, "tock.stderr"), "wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), "tock to start", 30)
        _, reg = http("POST", base + "/api/v1/auth/register",
                      {"email": "bench@example.com", "password": "benchmark password"})
        token = reg["token"]
        audit = Audit(db_path)

        # 1. Throughput.
        log(f"throughput: wrk {CONNS} connections for {DURATION}s")
        t0 = time.time()
        out = subprocess.run(["wrk", "-t2", f"-c{CONNS}", f"-d{DURATION}s", "-s",
                              os.path.join(HERE, "create.lua"), base, "--", token],
                             capture_output=True, text=True, check=True).stdout
        api_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        total = audit.outbox()
        wait_for(lambda: audit.count() >= total, "the audit consumer to catch up", 600)
        first_ev, last_row = map(int, audit.q(
            "SELECT min(time), max(created_at) FROM audit_log")[0])
        ev_s = total / ((last_row - first_ev) / 1000.0)
        log(f"throughput: {total} events, {ev_s:.0f} events/s end to end "
            f"(API {api_rps:.0f} creates/s)")

        # 2. Lag at a paced rate.
        creates = LAG_RATE // 2
        log(f"lag: {LAG_RATE} events/s ({creates} creates/s) for {LAG_SECONDS}s")
        mark = int(audit.q("SELECT coalesce(max(id), 0) FROM audit_log")[0][0])
        n_threads = 8
        per_thread = creates / n_threads
        start = time.monotonic() + 0.2
        errors = []

        def pace(k):
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
            i = 0
            while True:
                t = start + (i + k / n_threads) / per_thread
                if t > start + LAG_SECONDS:
                    break
                d = t - time.monotonic()
                if d > 0:
                    time.sleep(d)
                c.request("POST", "/api/v1/tasks", json.dumps({"title": f"lag {k}-{i}"}), h)
                r = c.getresponse()
                r.read()
                if r.status != 201:
                    errors.append(r.status)
                i += 1
        th = [threading.Thread(target=pace, args=(k,)) for k in range(n_threads)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        total = audit.outbox()
        wait_for(lambda: audit.count() >= total, "the audit consumer to catch up", 600)
        lags = [int(r[0]) for r in audit.q(
            f"SELECT created_at - time FROM audit_log WHERE id > {mark}")]
        achieved = len(lags) / LAG_SECONDS
        p50, p99, mx = pct(lags, 50), pct(lags, 99), max(lags)
        log(f"lag: {len(lags)} events ({achieved:.0f}/s), p50 {p50} ms, p99 {p99} ms, "
            f"max {mx} ms, errors {len(errors)}")
        store = "PostgreSQL" if PG_URL else "SQLite"
        md = (f"| store | events/s end to end | API creates/s | lag rate | lag p50 | lag p99 "
              f"| lag max |\n|---|---|---|---|---|---|---|\n"
              f"| {store} | {ev_s:.0f} | {api_rps:.0f} | {achieved:.0f}/s | {p50} ms | "
              f"{p99} ms | {mx} ms |\n")
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        with open(os.path.join(HERE, "results", "events.md"), "w") as f:
            f.write(md)
        print(md)
    finally:
        tock.terminate()
        try:
            tock.wait(30)
        except subprocess.TimeoutExpired:
            tock.kill()
        mock.stdin.close()
        mock.wait(30)
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


def _healthy(base):
    try:
        return http("GET", base + "/healthz")[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    main()
