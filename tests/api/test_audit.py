"""The audit service (GET /api/v1/audit), black-box against a real server with
the default roles (api, relay, audit on the in-process bus), on both stores.

After mutations, the caller's audit log has exactly one entry per event of that
user in the outbox (read with `tock events`), waiting with a deadline for the
relay; entries are newest first; the type/task_id/from/to filters and keyset
paging work; another user's entries are never visible; bad parameters are 400
naming the field; the log cannot be changed through the API.
"""
import datetime
import json
import subprocess
import time

import pytest

from conftest import TOCK_BIN, assert_error, register

DEADLINE_S = 30


def user_events(server, user):
    """The user's outbox rows (all topics), via `tock events`."""
    r = subprocess.run([TOCK_BIN, "events", "--db", server.env["TOCK_DB"]], env=server.env,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return [row for row in rows if row["key"] == user.user["id"]]


def audit_all(c, **params):
    """Every page of the caller's audit log (with params); asserts paging is sane."""
    items, cursor, pages = [], None, 0
    while True:
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        r = c.get("/api/v1/audit", params=p)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "next_cursor"}, body
        items += body["items"]
        cursor = body["next_cursor"]
        pages += 1
        assert pages < 1000
        if not cursor:
            return items


def settled(server, c):
    """Waits (polling, with a deadline) until every outbox event of c's user is
    published and has its audit entry; returns (events, audit items)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        events = user_events(server, c)
        items = audit_all(c, limit=200)
        if events and all(e["published"] for e in events) and len(items) >= len(events):
            return events, items
        assert time.monotonic() < deadline, (len(events), len(items))
        time.sleep(0.05)


def mutate(c):
    ids = []
    for i in range(3):
        r = c.post("/api/v1/tasks", {"title": f"audit {i}"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert c.patch(f"/api/v1/tasks/{ids[0]}", {"priority": "high"}).status_code == 200
    assert c.post(f"/api/v1/tasks/{ids[1]}/complete").status_code == 200
    assert c.delete(f"/api/v1/tasks/{ids[2]}").status_code == 204
    return ids


@pytest.fixture
def busy(server):
    c = register(server)
    c.task_ids = mutate(c)
    c.events, c.items = settled(server, c)
    return c


def test_one_entry_per_event_newest_first(busy):
    events = {e["event"]["id"]: e["event"] for e in busy.events}
    items = busy.items
    assert len(items) == len(events) == len({i["event_id"] for i in items})
    assert {i["event_id"] for i in items} == set(events)
    for it in items:
        assert set(it) == {"id", "event_id", "type", "task_id", "time", "event"}, it
        ev = events[it["event_id"]]
        assert it["event"] == ev
        assert it["type"] == ev["type"]
        assert it["task_id"] == ev["subject"]
        assert isinstance(it["id"], str)
        assert it["time"][:19] == ev["time"][:19]
    keys = [(i["time"], int(i["id"])) for i in items]
    assert keys == sorted(keys, reverse=True)
    types = sorted(i["type"] for i in items)
    assert types.count("task.created") == 3 and types.count("task.sync") == 6
    assert types.count("task.updated") == 1 and types.count("task.completed") == 1
    assert types.count("task.deleted") == 1


def test_filters(busy):
    created = audit_all(busy, type="task.created")
    assert len(created) == 3 and all(i["type"] == "task.created" for i in created)
    t0 = busy.task_ids[0]
    mine = audit_all(busy, task_id=t0)
    want = [e for e in busy.events if e["event"]["subject"] == t0]
    assert len(mine) == len(want) == 4  # created, updated + two syncs
    assert all(i["task_id"] == t0 for i in mine)
    both = audit_all(busy, task_id=t0, type="task.updated")
    assert [i["type"] for i in both] == ["task.updated"]
    # from/to: RFC 3339 instants and local dates (the user's zone is UTC by default).
    today = datetime.datetime.now(datetime.timezone.utc).date()
    assert len(audit_all(busy, **{"from": today.isoformat()})) == len(busy.items)
    assert len(audit_all(busy, to=today.isoformat())) == len(busy.items)
    assert audit_all(busy, to=(today - datetime.timedelta(days=2)).isoformat()) == []
    assert audit_all(busy, **{"from": "2099-01-01T00:00:00Z"}) == []
    newest = busy.items[0]["time"]
    assert [i["event_id"] for i in audit_all(busy, **{"from": newest})] == \
        [i["event_id"] for i in busy.items if i["time"] == newest]


def test_paging(busy):
    seen, cursor = [], None
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = busy.get("/api/v1/audit", params=params).json()
        assert len(body["items"]) <= 2
        seen += [i["event_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [i["event_id"] for i in busy.items]
    # Default page size is 50; limit=1 gives the newest entry and a cursor.
    body = busy.get("/api/v1/audit", params={"limit": 1}).json()
    assert [i["event_id"] for i in body["items"]] == [busy.items[0]["event_id"]]
    assert body["next_cursor"]


def test_isolation(server, busy):
    other = register(server)
    r = other.post("/api/v1/tasks", {"title": "theirs"})
    assert r.status_code == 201
    events, items = settled(server, other)
    assert len(items) == len(events) == 2
    mine = {i["event_id"] for i in busy.items}
    assert not mine & {i["event_id"] for i in items}
    assert audit_all(other, task_id=busy.task_ids[0]) == []
    # Nor the other way round, and not through a cursor built from someone else's page.
    assert {i["event_id"] for i in audit_all(busy)} == mine
    cur = busy.get("/api/v1/audit", params={"limit": 1}).json()["next_cursor"]
    for it in other.get("/api/v1/audit", params={"cursor": cur}).json()["items"]:
        assert it["event_id"] not in mine


@pytest.mark.parametrize("params,field", [
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"type": "task.exploded"}, "type"),
    ({"task_id": "abc"}, "task_id"),
    ({"task_id": "0"}, "task_id"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01"}, "to"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"typo": "1"}, "typo"),
])
def test_bad_parameters(user, params, field):
    assert_error(user.get("/api/v1/audit", params=params), 400, field=field)


def test_repeated_parameter_and_auth(user, anon):
    r = user.get("/api/v1/audit?type=task.created&type=task.deleted")
    assert_error(r, 400, field="type")
    assert anon.get("/api/v1/audit").status_code == 401


def test_append_only(busy):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = busy.request(method, "/api/v1/audit")
        assert r.status_code in (404, 405), (method, r.status_code)
    assert len(audit_all(busy)) == len(busy.items)
