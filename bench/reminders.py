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
                          [--store sqlite|postgres] [--schedulers K]

--store postgres runs a throwaway PostgreSQL cluster (the test fixture's, from
Debian's binaries) and seeds it with generate_series; --schedulers K starts K extra
`--roles api,scheduler` processes next to the main one (give the main one roles
without the scheduler, e.g. --roles api,relay) to measure several replicas claiming
together.

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
    ap.add_argument("--store", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--schedulers", type=int, default=0)
    ap.add_argument("--users", type=int, default=1,
                    help="spread the reminders over this many users (extra ones seeded in SQL)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tock-bench-rem-")
    pg = dbname = None
    if a.store == "postgres":
        sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
        from conftest import Postgres  # the tests' throwaway cluster
        pg = Postgres()
        dbname = pg.create_db()
        dburl = pg.url(dbname)
    else:
        db = os.path.join(tmp, "tock.db")
        dburl = f"sqlite:{db}"
    env = dict(os.environ, TOCK_DB=dburl, TOCK_LISTEN=f"127.0.0.1:{free_port()}",
               TOCK_JWT_SECRET="bench-secret-0123456789abcdef0123456789", TOCK_ACCESS_LOG="0",
               TOCK_DB_SYNC=a.db_sync, TOCK_LOG_LEVEL="warn", TOCK_ROLES=a.roles,
               TOCK_DATA_DIR=tmp)
    log = open(os.path.join(tmp, "stderr.log"), "wb")

    def psql(sql):
        r = pg._run(["psql", "-X", "-At", "-h", pg.dir, "-U", "postgres", "-d", dbname,
                     "-v", "ON_ERROR_STOP=1", "-c", sql], timeout=600)
        return r.stdout

    try:
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
        extra = [(f"bench{i}@example.com", now) for i in range(1, a.users)]
        if pg:
            if extra:
                psql("INSERT INTO users (email, password_hash, created_at) SELECT 'bench' || g || "
                     f"'@example.com', 'x', {now} FROM generate_series(1, {a.users - 1}) g")
            first = int(psql("SELECT min(id) FROM users").strip())
            psql(f"""INSERT INTO tasks (user_id, title, timezone, due_at, due_local, due_has_time,
                     created_at, updated_at)
                     SELECT {first} + (g % {a.users}), 'task ' || g, 'UTC',
                       CASE WHEN g <= {a.due} THEN {T} + ((g - 1) * 1000) / {a.due}
                            ELSE {T} + 86400000 + (hashint4(g)::bigint & 2147483647) % 2592000000 END,
                       '2031-01-01T00:00', 1, {now}, {now}
                     FROM generate_series(1, {a.pending}) g;
                   UPDATE tasks SET series_id = id;
                   INSERT INTO reminders (user_id, task_id, kind, at_ms, fire_at, state,
                     created_at, updated_at)
                     SELECT user_id, id, 'at', due_at, due_at, 'pending', {now}, {now} FROM tasks;
                   ANALYZE;""")
        else:
            con = sqlite3.connect(db)
            con.execute("PRAGMA journal_mode=WAL")
            rnd = random.Random(1)
            with con:
                cur = con.cursor()
                cur.executemany("INSERT INTO users (email, password_hash, created_at) VALUES "
                                "(?, 'x', ?)", extra)
                users = [r[0] for r in cur.execute("SELECT id FROM users ORDER BY id")]
                for i in range(a.pending):
                    if i < a.due:
                        fire = T + (i * 1000) // a.due
                    else:
                        fire = T + 86_400_000 + rnd.randrange(30 * 86_400_000)
                    cur.execute("INSERT INTO tasks (user_id, title, timezone, due_at, due_local, "
                                "due_has_time, created_at, updated_at) VALUES (?, ?, 'UTC', ?, "
                                "'2031-01-01T00:00', 1, ?, ?)", (users[i % len(users)], f"task {i}", fire, now,
                                                            now))
                    cur.execute("INSERT INTO reminders (user_id, task_id, kind, at_ms, fire_at, "
                                "state, created_at, updated_at) VALUES (?, ?, 'at', ?, ?, "
                                "'pending', ?, ?)", (users[i % len(users)], cur.lastrowid, fire, fire, now,
                                                now))
                cur.execute("UPDATE tasks SET series_id = id")
            con.close()
        seed_s = time.time() - t0
        if int(time.time() * 1000) > T - 3000 * (1 + a.schedulers):
            sys.exit(f"seeding took {seed_s:.1f} s; raise --lead")

        procs = [start(a.bin, env, log)]
        for _ in range(a.schedulers):
            e = dict(env, TOCK_ROLES="api,scheduler", TOCK_LISTEN=f"127.0.0.1:{free_port()}")
            procs.append(start(a.bin, e, log))
        deadline = time.time() + a.lead + 120
        rows = []
        con = None if pg else sqlite3.connect(db, timeout=30)
        while time.time() < deadline:
            if pg:
                out = psql("SELECT coalesce(published_at, 0) || ' ' || event_json FROM outbox "
                           "WHERE type = 'reminder.due'")
                rows = [(l.split(" ", 1)[1], int(l.split(" ", 1)[0]))
                        for l in out.splitlines() if l]
            else:
                rows = con.execute("SELECT event_json, published_at FROM outbox WHERE "
                                   "type = 'reminder.due'").fetchall()
            if len(rows) >= a.due and all(r[1] for r in rows):
                break
            time.sleep(0.2)
        for p in procs:
            stop(p)
        if pg:
            pending = int(psql("SELECT count(*) FROM reminders WHERE state = 'pending'").strip())
        else:
            pending = con.execute("SELECT count(*) FROM reminders WHERE state = "
                                  "'pending'").fetchone()[0]
            con.close()
    finally:
        if pg:
            pg.stop()
    ev_late, bus_late, late_marked = [], [], 0
    ids = set()
    for ej, pub in rows:
        e = json.loads(ej)
        fire = parse_ms(e["data"]["fire_at"])
        ev_late.append(parse_ms(e["time"]) - fire)
        bus_late.append((pub or 0) - fire)
        late_marked += e["data"]["late"]
        ids.add(e["data"]["reminder_id"])
    print(f"store: {a.store}, roles: {a.roles} + {a.schedulers} x api,scheduler, "
          f"TOCK_DB_SYNC={a.db_sync}")
    print(f"users: {a.users}")
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
