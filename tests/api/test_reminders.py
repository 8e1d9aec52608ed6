"""Reminders (issue 4 §2): the API, offsets that follow the due, cancellation on
completion/deletion, and the scheduler firing each reminder once, on time, with
its reminder.due event in the outbox (read with `tock events`).

Firing tests use real near-future times (now + a few seconds) so the scheduler's
own wake-up is exercised; they poll the observable effect with a deadline. The
downtime test restarts on the same database with TOCK_FAKE_NOW_MS in the future.
The multi-process test runs two `--roles scheduler` processes against one
PostgreSQL database and checks each of 200 reminders fired exactly once.
"""
import datetime
import json
import os
import subprocess
import time

import pytest
import requests
from jsonschema import Draft202012Validator

from conftest import JWT_SECRET, TEST_STORES, TOCK_BIN, Client, Server, assert_error, register

DEADLINE_S = 30
SCHEMA_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "schemas")


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc) \
        .strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_ms(ts):
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def now_ms():
    return int(time.time() * 1000)


def outbox(server, topic=None):
    r = subprocess.run([TOCK_BIN, "events", "--db", server.env["TOCK_DB"]], env=server.env,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return [row for row in rows if topic is None or row["topic"] == topic]


def due_events(server):
    return [row["event"] for row in outbox(server, "reminders")
            if row["event"]["type"] == "reminder.due"]


def validator(name):
    schemas = {}
    for f in os.listdir(SCHEMA_DIR):
        if f.endswith(".schema.json"):
            with open(os.path.join(SCHEMA_DIR, f)) as fh:
                s = json.load(fh)
            schemas[s["$id"]] = s
    schema = schemas["https://tock.example/schemas/" + name + ".schema.json"]
    try:
        from referencing import Registry, Resource
        reg = Registry().with_resources((k, Resource.from_contents(v)) for k, v in schemas.items())
        return Draft202012Validator(schema, registry=reg)
    except ImportError:
        from jsonschema import RefResolver
        return Draft202012Validator(schema, resolver=RefResolver.from_schema(schema, store=schemas))


def wait_for(fn, what, deadline_s=DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def make_task(c, **body):
    body.setdefault("title", "remind me")
    r = c.post("/api/v1/tasks", body)
    assert r.status_code == 201, r.text
    return r.json()


def add(c, task_id, body, status=201):
    r = c.post(f"/api/v1/tasks/{task_id}/reminders", body)
    assert r.status_code == status, r.text
    return r.json()


# ---------------------------------------------------------------- API

def test_offset_and_absolute_reminders(server):
    c = register(server, timezone="Europe/Paris")
    t = make_task(c, due="2031-03-05T10:00")  # 09:00Z (CET)
    r1 = add(c, t["id"], {"offset_minutes": 60})
    assert r1["kind"] == "offset" and r1["offset_minutes"] == 60 and "at" not in r1
    assert r1["fire_at"] == "2031-03-05T08:00:00.000Z"
    assert r1["state"] == "pending" and r1["fired_at"] is None and r1["late"] is False
    assert r1["task_id"] == t["id"]
    r2 = add(c, t["id"], {"at": "2031-03-05T08:00"})  # local -> 07:00Z
    assert r2["kind"] == "at" and r2["at"] == "2031-03-05T07:00:00.000Z" == r2["fire_at"]
    r3 = add(c, t["id"], {"at": "2031-03-05T06:30:00Z"})
    assert r3["fire_at"] == "2031-03-05T06:30:00.000Z"
    items = c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert [i["id"] for i in items] == [r3["id"], r2["id"], r1["id"]]  # by fire time
    got = c.get(f"/api/v1/reminders/{r1['id']}")
    assert got.status_code == 200 and got.json() == r1
    assert c.delete(f"/api/v1/reminders/{r2['id']}").status_code == 204
    assert_error(c.get(f"/api/v1/reminders/{r2['id']}"), 404)
    assert_error(c.delete(f"/api/v1/reminders/{r2['id']}"), 404)
    assert len(c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]) == 2


def test_date_only_due_counts_from_nine_local(server):
    c = register(server, timezone="America/New_York")
    t = make_task(c, due="2031-07-04")  # 09:00 EDT = 13:00Z
    r = add(c, t["id"], {"offset_minutes": 30})
    assert r["fire_at"] == "2031-07-04T12:30:00.000Z"
    r0 = add(c, t["id"], {"offset_minutes": 0})
    assert r0["fire_at"] == "2031-07-04T13:00:00.000Z"


def test_bad_reminders_are_rejected(server):
    c = register(server)
    t = make_task(c, due="2031-03-05T10:00")
    nodue = make_task(c)
    path = f"/api/v1/tasks/{t['id']}/reminders"
    assert_error(c.post(path, {}), 400, "invalid_argument")
    assert_error(c.post(path, {"offset_minutes": 5, "at": "2031-01-01T00:00"}), 400)
    assert_error(c.post(path, {"offset_minutes": -1}), 400, field="offset_minutes")
    assert_error(c.post(path, {"offset_minutes": 525601}), 400, field="offset_minutes")
    assert_error(c.post(path, {"offset_minutes": "60"}), 400, field="offset_minutes")
    assert_error(c.post(path, {"offset_minutes": 1.5}), 400, field="offset_minutes")
    assert_error(c.post(path, {"at": "tomorrow"}), 400, field="at")
    assert_error(c.post(path, {"at": "2031-03-05"}), 400, field="at")
    assert_error(c.post(path, {"at": "2001-03-05T10:00"}), 400, field="at")  # past
    assert_error(c.post(path, {"at": 5}), 400, field="at")
    assert_error(c.post(path, {"offset_minutes": 5, "x": 1}), 400)
    assert_error(c.post(path, [1]), 400)
    assert_error(c.post(f"/api/v1/tasks/{nodue['id']}/reminders", {"offset_minutes": 5}), 400,
                 field="offset_minutes")
    assert_error(c.post("/api/v1/tasks/999999999/reminders", {"offset_minutes": 5}), 404)
    assert_error(c.post(f"{path}", None, data="{", headers={"Content-Type": "application/json"}),
                 400)
    assert c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"] == []
    # The per-task limit.
    for i in range(20):
        add(c, t["id"], {"offset_minutes": i})
    assert_error(c.post(path, {"offset_minutes": 99}), 409)
    assert len(c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]) == 20
    # Snooze input.
    rid = c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"][0]["id"]
    assert_error(c.post(f"/api/v1/reminders/{rid}/snooze", {"minutes": 0}), 400, field="minutes")
    assert_error(c.post(f"/api/v1/reminders/{rid}/snooze", {"minutes": 10081}), 400)
    assert_error(c.post(f"/api/v1/reminders/{rid}/snooze", {}), 400, field="minutes")
    # List parameters.
    assert_error(c.get("/api/v1/reminders", params={"from": "soon"}), 400, field="from")
    assert_error(c.get("/api/v1/reminders", params={"limit": "0"}), 400, field="limit")
    assert_error(c.get("/api/v1/reminders", params={"bogus": "1"}), 400)


def test_reminders_are_private(server):
    a, b = register(server), register(server)
    t = make_task(a, due="2031-03-05T10:00")
    r = add(a, t["id"], {"offset_minutes": 10})
    assert_error(b.get(f"/api/v1/tasks/{t['id']}/reminders"), 404)
    assert_error(b.post(f"/api/v1/tasks/{t['id']}/reminders", {"offset_minutes": 1}), 404)
    assert_error(b.get(f"/api/v1/reminders/{r['id']}"), 404)
    assert_error(b.delete(f"/api/v1/reminders/{r['id']}"), 404)
    assert_error(b.post(f"/api/v1/reminders/{r['id']}/snooze", {"minutes": 5}), 404)
    assert b.get("/api/v1/reminders", params={"from": "2030-01-01"}).json()["items"] == []
    assert_error(Client(server).get("/api/v1/reminders"), 401)
    assert a.get(f"/api/v1/reminders/{r['id']}").status_code == 200


def test_offsets_follow_the_due(server):
    c = register(server)  # UTC
    t = make_task(c, due="2031-03-05T10:00")
    off = add(c, t["id"], {"offset_minutes": 15})
    at = add(c, t["id"], {"at": "2031-03-01T12:00:00Z"})
    r = c.patch(f"/api/v1/tasks/{t['id']}", {"due": "2031-04-01T18:30"})
    assert r.status_code == 200, r.text
    got = {i["id"]: i for i in c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]}
    assert got[off["id"]]["fire_at"] == "2031-04-01T18:15:00.000Z"
    assert got[at["id"]]["fire_at"] == "2031-03-01T12:00:00.000Z"  # absolute: unchanged
    # A date-only due: 09:00 local.
    c.patch(f"/api/v1/tasks/{t['id']}", {"due": "2031-04-02"})
    got = c.get(f"/api/v1/reminders/{off['id']}").json()
    assert got["fire_at"] == "2031-04-02T08:45:00.000Z" and got["state"] == "pending"
    # The task's zone moves it too.
    c.patch(f"/api/v1/tasks/{t['id']}", {"timezone": "Asia/Tokyo"})
    assert c.get(f"/api/v1/reminders/{off['id']}").json()["fire_at"] == "2031-04-01T23:45:00.000Z"
    # No due: the offset reminder waits (no fire time), and comes back with a due.
    c.patch(f"/api/v1/tasks/{t['id']}", {"due": None})
    got = c.get(f"/api/v1/reminders/{off['id']}").json()
    assert got["fire_at"] is None and got["state"] == "pending"
    c.patch(f"/api/v1/tasks/{t['id']}", {"due": "2031-05-01T10:00"})
    assert c.get(f"/api/v1/reminders/{off['id']}").json()["fire_at"] == "2031-05-01T00:45:00.000Z"


def test_completion_and_deletion_cancel(server):
    c = register(server)
    t = make_task(c, due="2031-03-05T10:00")
    r = add(c, t["id"], {"offset_minutes": 15})
    a = add(c, t["id"], {"at": "2031-03-01T00:00:00Z"})
    assert c.post(f"/api/v1/tasks/{t['id']}/complete").status_code == 200
    states = {i["id"]: i["state"] for i in c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]}
    assert states == {r["id"]: "cancelled", a["id"]: "cancelled"}
    assert_error(c.post(f"/api/v1/tasks/{t['id']}/reminders", {"offset_minutes": 1}), 400)
    # Reopening brings back what is still ahead.
    assert c.post(f"/api/v1/tasks/{t['id']}/reopen").status_code == 200
    states = {i["id"]: i["state"] for i in c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]}
    assert states == {r["id"]: "pending", a["id"]: "pending"}
    # Completion through PATCH status cancels too.
    assert c.patch(f"/api/v1/tasks/{t['id']}", {"status": "done"}).status_code == 200
    assert c.get(f"/api/v1/reminders/{r['id']}").json()["state"] == "cancelled"
    c.post(f"/api/v1/tasks/{t['id']}/reopen")
    assert c.get(f"/api/v1/reminders/{r['id']}").json()["state"] == "pending"
    before = c.get("/api/v1/reminders", params={"from": "2030-01-01"}).json()["items"]
    assert {i["id"] for i in before} >= {r["id"], a["id"]}
    assert c.delete(f"/api/v1/tasks/{t['id']}").status_code == 204
    assert c.get(f"/api/v1/reminders/{r['id']}").json()["state"] == "cancelled"
    after = c.get("/api/v1/reminders", params={"from": "2030-01-01"}).json()["items"]
    assert not {i["id"] for i in after} & {r["id"], a["id"]}


def test_task_create_and_patch_take_reminders(server):
    c = register(server)
    t = make_task(c, due="2031-03-05T10:00",
                  reminders=[{"offset_minutes": 10}, {"at": "2031-03-04T09:00"}])
    items = c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert [(i["kind"], i["fire_at"]) for i in items] == [
        ("at", "2031-03-04T09:00:00.000Z"), ("offset", "2031-03-05T09:50:00.000Z")]
    # A PATCH of only "reminders" replaces them without a new task version.
    r = c.patch(f"/api/v1/tasks/{t['id']}", {"reminders": [{"offset_minutes": 120}]})
    assert r.status_code == 200 and r.json()["version"] == t["version"]
    items = c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert [i["offset_minutes"] for i in items] == [120]
    # With other fields, computed from the new due.
    r = c.patch(f"/api/v1/tasks/{t['id']}", {"due": "2031-06-01T12:00",
                                             "reminders": [{"offset_minutes": 60}]})
    assert r.status_code == 200
    items = c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert [i["fire_at"] for i in items] == ["2031-06-01T11:00:00.000Z"]
    # Round trip: what GET returned can be sent back.
    r = c.patch(f"/api/v1/tasks/{t['id']}", {"reminders": items})
    assert r.status_code == 200, r.text
    assert [i["fire_at"] for i in c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]] == \
        ["2031-06-01T11:00:00.000Z"]
    # null clears; bad input leaves everything as it was.
    assert_error(c.patch(f"/api/v1/tasks/{t['id']}", {"title": "x", "reminders": [{"offset_minutes": -5}]}),
                 400, field="reminders[0].offset_minutes")
    assert c.get(f"/api/v1/tasks/{t['id']}").json()["title"] == "remind me"
    assert_error(c.post("/api/v1/tasks", {"title": "y", "reminders": [{"offset_minutes": 5}]}), 400,
                 field="reminders[0].offset_minutes")
    assert_error(c.post("/api/v1/tasks", {"title": "y", "reminders": [{}] * 21}), 400, field="reminders")
    assert_error(c.post("/api/v1/tasks", {"title": "y", "reminders": {"offset_minutes": 5}}), 400,
                 field="reminders")
    assert c.patch(f"/api/v1/tasks/{t['id']}", {"reminders": None}).status_code == 200
    assert c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"] == []


def test_upcoming_list(server):
    c = register(server)
    t1 = make_task(c, due="2031-03-05T10:00", reminders=[{"offset_minutes": 0}])
    t2 = make_task(c, due="2031-03-07T10:00", reminders=[{"offset_minutes": 0}])
    t3 = make_task(c, due="2031-03-09T10:00", reminders=[{"offset_minutes": 0}])
    items = c.get("/api/v1/reminders", params={"from": "2031-03-06", "to": "2031-03-10T00:00:00Z"}).json()["items"]
    assert [i["task_id"] for i in items] == [t2["id"], t3["id"]]
    items = c.get("/api/v1/reminders", params={"limit": "1"}).json()["items"]
    assert [i["task_id"] for i in items] == [t1["id"]]


# ---------------------------------------------------------------- firing

def test_fires_once_on_time_and_snoozes(server):
    c = register(server)
    t = make_task(c, title="call the bank", due="2031-03-05T10:00")
    fire_at = now_ms() + 2000
    r = add(c, t["id"], {"at": iso(fire_at)})

    def fired():
        g = c.get(f"/api/v1/reminders/{r['id']}").json()
        return g if g["state"] == "fired" else None
    g = wait_for(fired, "the reminder to fire")
    assert g["late"] is False
    assert parse_ms(g["fired_at"]) >= fire_at
    evs = wait_for(lambda: [e for e in due_events(server) if e["data"]["reminder_id"] == r["id"]],
                   "reminder.due in the outbox")
    assert len(evs) == 1
    ev = evs[0]
    errs = list(validator("reminder.due").iter_errors(ev))
    assert not errs, errs
    d = ev["data"]
    assert ev["subject"] == t["id"] and ev["userid"] == c.user["id"]
    assert ev["source"] == "tock/scheduler"
    assert d["title"] == "call the bank" and d["due"] == "2031-03-05T10:00"
    assert d["kind"] == "at" and d["fire_at"] == iso(fire_at) and d["late"] is False
    assert d["fired_at"] == g["fired_at"]
    # Snooze: pending again, minutes from now.
    t0 = now_ms()
    s = c.post(f"/api/v1/reminders/{r['id']}/snooze", {"minutes": 10})
    assert s.status_code == 200, s.text
    s = s.json()
    assert s["state"] == "pending" and s["snoozes"] == 1 and s["fired_at"] is None
    assert t0 + 600_000 <= parse_ms(s["fire_at"]) <= now_ms() + 600_000
    # Still exactly one event for it (the scheduler did not fire it again).
    assert len([e for e in due_events(server) if e["data"]["reminder_id"] == r["id"]]) == 1


def test_many_due_together_fire_once_each(server):
    c = register(server)
    fire_at = now_ms() + 3000
    ids = []
    for i in range(30):
        t = make_task(c, title=f"t{i}", due="2031-03-05T10:00", reminders=[{"at": iso(fire_at)}])
        ids += [x["id"] for x in c.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]]

    def all_fired():
        evs = [e for e in due_events(server) if e["userid"] == c.user["id"]]
        return evs if len(evs) >= len(ids) else None
    evs = wait_for(all_fired, "all reminders to fire")
    got = sorted(e["data"]["reminder_id"] for e in evs)
    assert got == sorted(ids)  # each exactly once
    for e in evs:
        assert parse_ms(e["data"]["fired_at"]) >= fire_at


def test_overdue_reminders_fire_late_after_downtime(store):
    """A server without the scheduler role takes reminders; a later one (whose clock
    is two hours ahead, TOCK_FAKE_NOW_MS) fires the overdue ones at once, marked late."""
    a = Server(store=store, extra_env={"TOCK_ROLES": "api,relay"})
    keep_db, a._drop_db = a._drop_db, (lambda: None)
    try:
        c = register(a)
        t = make_task(c, due="2031-03-05T10:00")
        r = add(c, t["id"], {"at": iso(now_ms() + 3_600_000)})
        future = add(c, t["id"], {"at": iso(now_ms() + 30 * 3_600_000)})
        a.stop()
        b = Server(store=store, extra_env={"TOCK_DB": a.env["TOCK_DB"],
                                           "TOCK_DATA_DIR": a.dir,
                                           "TOCK_FAKE_NOW_MS": str(now_ms() + 7_200_000)})
        try:
            cb = Client(b, c.token)
            g = wait_for(lambda: (lambda x: x if x["state"] == "fired" else None)(
                cb.get(f"/api/v1/reminders/{r['id']}").json()), "the overdue reminder")
            assert g["late"] is True
            assert parse_ms(g["fired_at"]) >= parse_ms(g["fire_at"]) + 3_000_000
            assert cb.get(f"/api/v1/reminders/{future['id']}").json()["state"] == "pending"
            ev = wait_for(lambda: [e for e in due_events(b) if e["data"]["reminder_id"] == r["id"]],
                          "its event")
            assert len(ev) == 1 and ev[0]["data"]["late"] is True
        finally:
            b.stop()
    finally:
        keep_db()


@pytest.mark.skipif("postgres" not in TEST_STORES, reason="needs the PostgreSQL fixture")
def test_two_schedulers_fire_each_reminder_once_postgres():
    main = Server(store="postgres", extra_env={"TOCK_ROLES": "api,relay"})
    scheds = []
    try:
        env = {"TOCK_DB": main.env["TOCK_DB"], "TOCK_DATA_DIR": main.dir,
               "TOCK_ROLES": "api,scheduler", "TOCK_SCHEDULER_BATCH": "7"}
        scheds = [Server(store="postgres", extra_env=env) for _ in range(2)]
        c = register(main)
        fire_at = now_ms() + 8000
        ids = []
        for i in range(200):
            t = make_task(c, title=f"t{i}", due="2031-03-05T10:00",
                          reminders=[{"at": iso(fire_at + (i % 4) * 250)}])
            ids.append(t["id"])
        assert now_ms() < fire_at, "creating the reminders took too long for this test"

        def all_fired():
            evs = [e for e in due_events(main) if e["userid"] == c.user["id"]]
            return evs if len(evs) >= 200 else None
        evs = wait_for(all_fired, "200 reminder.due events", 60)
        rids = [e["data"]["reminder_id"] for e in evs]
        assert len(rids) == len(set(rids)) == 200, "a reminder fired twice"
        assert sorted(e["subject"] for e in evs) == sorted(ids)
        for e in evs:
            assert parse_ms(e["data"]["fired_at"]) >= parse_ms(e["data"]["fire_at"])
        listed = c.get("/api/v1/reminders", params={"from": "2000-01-01"}).json()["items"]
        assert listed == []  # nothing pending any more
        # The schedulers' own counters: together they claimed each reminder once.
        claimed = 0
        for s in scheds:
            text = requests.get(s.url + "/metrics", timeout=30).text
            claimed += sum(int(float(l.split()[-1])) for l in text.splitlines()
                           if l.startswith("tock_reminders_fired_total{"))
        assert claimed == 200
    finally:
        for s in scheds:
            s.stop()
        main.stop()
