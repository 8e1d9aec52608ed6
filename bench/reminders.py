#!/usr/bin/env python3
"""Reminder lateness benchmark (not a test; see bench/README.md, "Reminders").

Starts `tock serve` (all roles, SQLite) on a fresh database, registers one user,
stops it, seeds PENDING reminders straight into the database (one task each): DUE of
them spread evenly over one second T..T+1 s, the rest a day or more later. Then
starts tock again and waits until every due reminder has its reminder.due event in
the outbox, and reports lateness percentiles:

  fire -> event   the event's `time` (when the scheduler wrote it, in the
                  transaction that marked the reminder fired) minus fire_at
  fire -> bus     the outbox row's published_at (the relay handed it to the bus)
                  minus fire_at

Usage: bench/reminders.py [--bin build/tock] [--pending 100000] [--due 10000]
                          [--lead 15] [--db-sync normal|full] [--roles all]

The second run's roles (--roles) say what shares the machine with the scheduler: with
`all`, the in-process bus hands every event to the audit and notifier consumers before
the relay marks it published, so "fire -> bus" includes their work.
"""
import argparse
import datetime
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_ms(ts):
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def start(binary, env, log):
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log,
                         stdin=subprocess.DEVNULL)
    url = f"http://{env['TOCK_LISTEN']}/healthz"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url, timeout=1).status == 200:
                return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("tock did not start")


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "tock"))
    ap.add_argument("--pending", type=int, default=100_000)
    ap.add_argument("--due", type=int, default=10_000)
    ap.add_argument("--lead", type=float, default=15.0, help="seconds from restart to T")
    ap.add_argument("--db-sync", default="full")
    ap.add_argument("--roles", default="all")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tock-bench-rem-")
    db = os.path.join(tmp, "tock.db")
    env = dict(os.environ, TOCK_DB=f"sqlite:{db}", TOCK_LISTEN=f"127.0.0.1:{free_port()}",
               TOCK_JWT_SECRET="bench-secret-0123456789abcdef0123456789", TOCK_ACCESS_LOG="0",
               TOCK_DB_SYNC=a.db_sync, TOCK_LOG_LEVEL="warn", TOCK_ROLES=a.roles)
    log = open(os.path.join(tmp, "stderr.log"), "wb")
    p = start(a.bin, env, log)
    req = urllib.request.Request(f"http://{env['TOCK_LISTEN']}/api/v1/auth/register",
                                 data=json.dumps({"email": "bench@example.com",
                                                  "password": "bench password 1"}).encode(),
                                 headers={"Content-Type": "application/json"})
    uid = int(json.load(urllib.request.urlopen(req))["user"]["id"])
    stop(p)

    t0 = time.time()
    now = int(time.time() * 1000)
    T = now + int(a.lead * 1000)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    rnd = random.Random(1)
    with con:
        cur = con.cursor()
        for i in range(a.pending):
            if i < a.due:
                fire = T + (i * 1000) // a.due
            else:
                fire = T + 86_400_000 + rnd.randrange(30 * 86_400_000)
            cur.execute("INSERT INTO tasks (user_id, title, timezone, due_at, due_local, "
                        "due_has_time, created_at, updated_at) VALUES (?, ?, 'UTC', ?, "
                        "'2031-01-01T00:00', 1, ?, ?)", (uid, f"task {i}", fire, now, now))
            tid = cur.lastrowid
            cur.execute("INSERT INTO reminders (user_id, task_id, kind, at_ms, fire_at, state, "
                        "created_at, updated_at) VALUES (?, ?, 'at', ?, ?, 'pending', ?, ?)",
                        (uid, tid, fire, fire, now, now))
        cur.execute("UPDATE tasks SET series_id = id")
    con.close()
    seed_s = time.time() - t0
    if int(time.time() * 1000) > T - 3000:
        sys.exit(f"seeding took {seed_s:.1f} s; raise --lead")

    p = start(a.bin, env, log)
    con = sqlite3.connect(db, timeout=30)
    deadline = time.time() + a.lead + 120
    rows = []
    while time.time() < deadline:
        rows = con.execute("SELECT event_json, published_at FROM outbox WHERE "
                           "type = 'reminder.due'").fetchall()
        if len(rows) >= a.due and all(r[1] for r in rows):
            break
        time.sleep(0.2)
    stop(p)
    pending = con.execute("SELECT count(*) FROM reminders WHERE state = 'pending'").fetchone()[0]
    con.close()
    ev_late, bus_late, late_marked = [], [], 0
    ids = set()
    for ej, pub in rows:
        e = json.loads(ej)
        fire = parse_ms(e["data"]["fire_at"])
        ev_late.append(parse_ms(e["time"]) - fire)
        bus_late.append((pub or 0) - fire)
        late_marked += e["data"]["late"]
        ids.add(e["data"]["reminder_id"])
    print(f"roles: {a.roles}, TOCK_DB_SYNC={a.db_sync}")
    print(f"pending reminders: {a.pending}, due in one second: {a.due} (seeded in {seed_s:.1f} s)")
    print(f"fired: {len(rows)} events, {len(ids)} distinct reminders; still pending: {pending}; "
          f"marked late: {late_marked}")
    if len(rows) != a.due or len(ids) != a.due:
        sys.exit("FAIL: not every due reminder fired exactly once")
    for name, v in (("fire -> event", ev_late), ("fire -> bus", bus_late)):
        print(f"{name:14s} p50 {pct(v, 0.50):5d} ms   p99 {pct(v, 0.99):5d} ms   "
              f"max {max(v):5d} ms   min {min(v):5d} ms")
    print(f"(data in {tmp})")


if __name__ == "__main__":
    main()
