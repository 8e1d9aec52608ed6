#!/usr/bin/env python3
"""Event pipeline benchmark (not a test): API -> outbox -> relay -> Kafka -> audit.

Starts librdkafka's mock cluster (3 brokers, build/tock-kafka-mock) and `tock
serve` processes with different roles on one database (SQLite by default, or
PostgreSQL with BENCH_PG_URL=postgres://...; TOCK_BUS=kafka), then:

1. Load: a process with only the api role takes wrk creates at
   BENCH_EVENTS_CONNS connections for BENCH_EVENTS_DURATION; every create writes
   2 events (task.created on task-events, task.sync on task-updates), which wait
   in the outbox (no relay runs).
2. Relay throughput: a relay-only process publishes them to Kafka; events/s =
   events / (last published_at - first published_at).
3. Consumer throughput: an audit-only process consumes both topics; events/s =
   events / (last audit row - first audit row).
4. Lag: one process with api,relay,audit; a paced client sends BENCH_LAG_RATE
   events/s (creates at half that rate) for BENCH_LAG_SECONDS; per event, lag =
   audit row commit time - event time (its outbox commit). p50, p99, max.

The mock cluster keeps about 5 MB per partition (librdkafka's mock prunes older
message sets), so the load is spread over BENCH_EVENTS_USERS users (record key =
user) and kept short; a longer load would lose the oldest records in the mock.

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
USERS = int(os.environ.get("BENCH_EVENTS_USERS", "24"))
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


class Tock:
    """One `tock serve` with the given roles on the shared database and cluster."""

    def __init__(self, env, roles, tmp, name):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        e = dict(env, TOCK_LISTEN=f"127.0.0.1:{self.port}", TOCK_ROLES=roles)
        self.p = subprocess.Popen([TOCK, "serve"], env=e, stdin=subprocess.DEVNULL,
                                  stdout=open(os.path.join(tmp, name + ".stdout"), "wb"),
                                  stderr=open(os.path.join(tmp, name + ".stderr"), "wb"))
        wait_for(lambda: _healthy(self.base), f"tock ({roles}) to start", 30)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()


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
    db_path = os.path.join(tmp, "tock.db")
    env = dict(os.environ, TOCK_DB=PG_URL or f"sqlite:{db_path}", TOCK_DATA_DIR=tmp,
               TOCK_BUS=f"kafka:{bootstrap}", TOCK_TOPIC_PREFIX="bench.",
               TOCK_ACCESS_LOG="0", TOCK_LOG_LEVEL="warn",
               TOCK_JWT_SECRET="bench-secret-0123456789abcdef0123456789")
    audit = Audit(db_path)
    procs = []
    try:
        # 1. The API writes with no relay running: the events wait in the outbox.
        api = Tock(env, "api", tmp, "api")
        procs.append(api)
        # Several users: record keys (user ids) spread over the topics' partitions.
        tokens = []
        for u in range(USERS):
            _, reg = http("POST", api.base + "/api/v1/auth/register",
                          {"email": f"bench{u}@example.com", "password": "benchmark password"})
            tokens.append(reg["token"])
        token = tokens[0]
        log(f"load: wrk {CONNS} connections for {DURATION}s (roles api: no relay)")
        out = subprocess.run(["wrk", "-t2", f"-c{CONNS}", f"-d{DURATION}s", "-s",
                              os.path.join(HERE, "create.lua"), api.base, "--", *tokens],
                             capture_output=True, text=True, check=True).stdout
        api_rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        total = audit.outbox()
        log(f"load: {total} events in the outbox (API {api_rps:.0f} creates/s)")

        # 2. A relay alone: outbox -> Kafka (idempotent producer, acks=all, 3 brokers).
        relay = Tock(env, "relay", tmp, "relay")
        procs.append(relay)
        wait_for(lambda: int(audit.q("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                             [0][0]) == 0, "the relay to publish everything", 600)
        p0, p1 = map(int, audit.q("SELECT min(published_at), max(published_at) FROM outbox")[0])
        relay_s = total / max((p1 - p0) / 1000.0, 0.001)
        log(f"relay: {total} events in {p1 - p0} ms = {relay_s:.0f} events/s")

        # 3. An audit consumer alone: Kafka -> one row per event.
        aud = Tock(env, "audit", tmp, "audit")
        procs.append(aud)
        wait_for(lambda: audit.count() >= total, "the audit consumer to catch up", 600)
        a0, a1 = map(int, audit.q("SELECT min(created_at), max(created_at) FROM audit_log")[0])
        cons_s = total / max((a1 - a0) / 1000.0, 0.001)
        log(f"audit: {total} events in {a1 - a0} ms = {cons_s:.0f} events/s")

        # 4. Lag at a paced rate, api + relay + audit in one process.
        for p in procs:
            p.stop()
        procs = []
        allp = Tock(env, "api,relay,audit", tmp, "all")
        procs.append(allp)
        port = allp.port
        # Warm: one event through the whole path (the consumer group has joined).
        mark0 = audit.count()
        http("POST", allp.base + "/api/v1/tasks", {"title": "warm-up"}, token)
        wait_for(lambda: audit.count() >= mark0 + 2, "the warm-up event", 120)
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
        total2 = audit.outbox()
        wait_for(lambda: audit.count() >= total2, "the audit consumer to catch up", 600)
        lags = [int(r[0]) for r in audit.q(
            f"SELECT created_at - time FROM audit_log WHERE id > {mark}")]
        achieved = len(lags) / LAG_SECONDS
        p50, p99, mx = pct(lags, 50), pct(lags, 99), max(lags)
        log(f"lag: {len(lags)} events ({achieved:.0f}/s), p50 {p50} ms, p99 {p99} ms, "
            f"max {mx} ms, errors {len(errors)}")
        store = "PostgreSQL" if PG_URL else "SQLite"
        md = (f"| store | events | relay -> Kafka | Kafka -> audit | API creates/s | "
              f"lag at | lag p50 | lag p99 | lag max |\n"
              f"|---|---|---|---|---|---|---|---|---|\n"
              f"| {store} | {total} | {relay_s:.0f}/s | {cons_s:.0f}/s | {api_rps:.0f} | "
              f"{achieved:.0f}/s | {p50} ms | {p99} ms | {mx} ms |\n")
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        with open(os.path.join(HERE, "results", "events.md"), "w") as f:
            f.write(md)
        print(md)
    finally:
        for p in procs:
            p.stop()
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
