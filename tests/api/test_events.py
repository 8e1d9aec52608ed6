"""The event contract (docs/events.md, docs/schemas/*.schema.json).

Two parts:
- Offline: the JSON Schemas are valid draft 2020-12 schemas, accept hand-made
  events of every type and the examples in docs/events.md, and reject events that
  break the contract in one place each.
- Against a real server: drive every kind of mutation through the API (create,
  multi-field PATCH, complete, reopen, PATCH that completes, delete, tag rename,
  merge, colour change and delete, failing requests, no-ops) for two users, and after
  each one read the new outbox rows with `tock events --after N`. Every event must
  validate against its schema; each mutation must write exactly its documented
  events (task-events type(s) + one task.sync with the right change kind), on the
  right topic, keyed by the owner, with `changes` equal to the before/after the API
  showed; a traceparent sent with a request must reach the events of that request;
  failures and no-ops write nothing. At the end: per-task type sequences, ids unique,
  seq/version order, history endpoint == task-events rows of the task, paging with
  --after/--limit, and eventually (polling with a deadline) every row published.
"""
import copy
import datetime
import json
import pathlib
import re
import subprocess
import time

import pytest
from jsonschema import Draft202012Validator

from conftest import TOCK_BIN, register

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "docs" / "schemas"
EVENTS_MD = ROOT / "docs" / "events.md"
BASE = "https://tock.example/schemas/"

TYPES = ["task.created", "task.updated", "task.completed", "task.deleted", "task.sync"]
TASK_EVENT_TYPES = TYPES[:4]
CHANGE_FIELDS = ["title", "description", "status", "priority", "tags", "due", "due_at",
                 "timezone", "recurrence", "completed_at"]
ROW_KEYS = {"seq", "topic", "key", "published", "event"}

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
ZERO_TRACEPARENT = "00-00000000000000000000000000000000-00f067aa0ba902b7-01"


# ---------------------------------------------------------------- schemas

def load_schemas():
    schemas = {}
    for p in sorted(SCHEMA_DIR.glob("*.schema.json")):
        s = json.loads(p.read_text())
        assert s.get("$id") == BASE + p.name, (p.name, s.get("$id"))
        schemas[p.name[: -len(".schema.json")]] = s
    return schemas


SCHEMAS = load_schemas()


def make_validator(name):
    schema = SCHEMAS[name]
    store = {s["$id"]: s for s in SCHEMAS.values()}
    try:  # jsonschema >= 4.18: referencing registry
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            (sid, Resource.from_contents(s)) for sid, s in store.items())
        return Draft202012Validator(schema, registry=registry)
    except ImportError:  # Debian bookworm's 4.10: RefResolver with a store
        from jsonschema import RefResolver
        return Draft202012Validator(schema,
                                    resolver=RefResolver.from_schema(schema, store=store))


VALIDATORS = {name: make_validator(name) for name in SCHEMAS}


def schema_errors(name, instance):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in VALIDATORS[name].iter_errors(instance)]


def assert_valid_event(ev):
    """An event must match event.schema.json and the schema of its own type."""
    errs = schema_errors("event", ev)
    if isinstance(ev, dict) and ev.get("type") in TYPES:
        errs += schema_errors(ev["type"], ev)
    assert not errs, f"{errs}\n{json.dumps(ev, indent=1)}"


# ---------------------------------------------------------------- hand-made examples

def example_task(**over):
    t = {"id": "42", "title": "Pay rent", "description": "", "status": "todo",
         "priority": "high", "tags": ["home", "bills-2"], "due": "2027-07-04T09:30",
         "timezone": "America/New_York", "due_at": "2027-07-04T13:30:00.000Z",
         "overdue": False,
         "recurrence": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=4", "recur_from": "due"},
         "series_id": "42", "occurrence": 1,
         "created_at": "2027-07-01T08:15:02.481Z", "updated_at": "2027-07-01T08:15:02.481Z",
         "completed_at": None, "version": 1}
    t.update(over)
    return t


def example_event(type_, data, id_="01a67470-1951-713a-ac3d-af30123d1c24"):
    return {"specversion": "1.0", "id": id_, "source": "tock/api", "type": type_,
            "time": "2027-07-01T08:15:02.481Z", "subject": data["task"]["id"],
            "datacontenttype": "application/json", "userid": "3",
            "traceparent": TRACEPARENT, "data": data}


DONE = dict(status="done", completed_at="2027-07-04T10:02:45.930Z", version=3)


def good_examples():
    return {
        "created": example_event("task.created", {"schema_version": 1, "task": example_task()}),
        "created-minimal": example_event("task.created", {"schema_version": 1, "task": example_task(
            tags=[], due=None, due_at=None, recurrence=None, priority="none",
            timezone="UTC", id="7", series_id="7")}),
        "created-date-only": example_event("task.created", {"schema_version": 1, "task": example_task(
            due="2027-12-31", due_at="2028-01-01T04:59:59.000Z", overdue=True,
            recurrence={"rrule": "INTERVAL=2;FREQ=WEEKLY;BYDAY=MO,TH", "recur_from": "completion"})}),
        "updated": example_event("task.updated", {"schema_version": 1, "task": example_task(
            title="Pay the rent", due=None, due_at=None, recurrence=None, version=2), "changes": {
            "title": {"before": "Pay rent", "after": "Pay the rent"},
            "due": {"before": "2027-07-04T09:30", "after": None},
            "due_at": {"before": "2027-07-04T13:30:00.000Z", "after": None},
            "recurrence": {"before": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=4", "recur_from": "due"},
                           "after": None},
            "tags": {"before": [], "after": ["home", "bills-2"]},
            "priority": {"before": "none", "after": "high"},
            "description": {"before": "x", "after": ""},
            "timezone": {"before": "UTC", "after": "America/New_York"}}}),
        "updated-reopen": example_event("task.updated", {"schema_version": 1, "task": example_task(version=4),
            "changes": {"status": {"before": "done", "after": "todo"},
                        "completed_at": {"before": "2027-07-04T10:02:45.930Z", "after": None}}}),
        "completed": example_event("task.completed", {"schema_version": 1, "task": example_task(**DONE)}),
        "deleted": example_event("task.deleted", {"schema_version": 1, "task": example_task(**DONE)}),
        "sync-created": example_event("task.sync", {"schema_version": 1, "change": "created",
                                                    "task": example_task()}),
        "sync-completed": example_event("task.sync", {"schema_version": 1, "change": "completed",
                                                      "task": example_task(**DONE)}),
        "sync-reopened": example_event("task.sync", {"schema_version": 1, "change": "reopened",
                                                     "task": example_task(status="in_progress")}),
        "sync-deleted": example_event("task.sync", {"schema_version": 1, "change": "deleted",
                                                    "task": example_task()}),
    }


def _set(path, value):
    def f(ev):
        obj = ev
        for k in path[:-1]:
            obj = obj[k]
        if value is _DELETE:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value
    return f


_DELETE = object()
T = ("data", "task")

# (name, base example, mutation) — each breaks exactly one rule.
BAD = [
    ("extra top-level member", "created", _set(("partitionkey",), "3")),
    ("user_id instead of userid", "created", lambda e: e.update(user_id=e.pop("userid"))),
    ("missing traceparent", "created", _set(("traceparent",), _DELETE)),
    ("missing time", "sync-created", _set(("time",), _DELETE)),
    ("missing subject", "created", _set(("subject",), _DELETE)),
    ("specversion 1.0.2", "created", _set(("specversion",), "1.0.2")),
    ("uuid v4 id", "created", _set(("id",), "3b241101-e2bb-4255-8caf-4136c566a962")),
    ("uppercase id", "created", _set(("id",), "01A67470-1951-713A-AC3D-AF30123D1C24")),
    ("id without dashes", "created", _set(("id",), "01a674701951713aac3daf30123d1c24")),
    ("uuid7 wrong variant", "created", _set(("id",), "01a67470-1951-713a-cc3d-af30123d1c24")),
    ("source not tock/", "created", _set(("source",), "api")),
    ("source with uppercase", "created", _set(("source",), "tock/API")),
    ("unknown type", "created", _set(("type",), "task.archived")),
    ("time without ms", "created", _set(("time",), "2027-07-01T08:15:02Z")),
    ("time with offset", "created", _set(("time",), "2027-07-01T10:15:02.481+02:00")),
    ("time with microseconds", "created", _set(("time",), "2027-07-01T08:15:02.481000Z")),
    ("numeric subject", "created", _set(("subject",), 42)),
    ("numeric userid", "created", _set(("userid",), 3)),
    ("other datacontenttype", "created", _set(("datacontenttype",), "application/cloudevents+json")),
    ("traceparent zero trace id", "created", _set(("traceparent",), ZERO_TRACEPARENT)),
    ("traceparent zero parent id", "created",
     _set(("traceparent",), f"00-{TRACE_ID}-0000000000000000-01")),
    ("traceparent uppercase", "created", _set(("traceparent",), TRACEPARENT.upper())),
    ("traceparent version 01", "created", _set(("traceparent",), "01" + TRACEPARENT[2:])),
    ("data as string", "created", lambda e: e.update(data=json.dumps(e["data"]))),
    ("schema_version 2", "created", _set(("data", "schema_version"), 2)),
    ("schema_version string", "created", _set(("data", "schema_version"), "1")),
    ("missing schema_version", "sync-created", _set(("data", "schema_version"), _DELETE)),
    ("extra member in data", "created", _set(("data", "user"), {})),
    ("changes on created", "created", _set(("data", "changes"), {"title": {"before": "a", "after": "b"}})),
    ("change kind on created", "created", _set(("data", "change"), "created")),
    ("updated without changes", "updated", _set(("data", "changes"), _DELETE)),
    ("updated with empty changes", "updated", _set(("data", "changes"), {})),
    ("changes on derived field", "updated-reopen",
     _set(("data", "changes", "version"), {"before": 3, "after": 4})),
    ("changes entry without before", "updated-reopen",
     _set(("data", "changes", "status"), {"after": "todo"})),
    ("changes entry extra member", "updated-reopen",
     _set(("data", "changes", "status"), {"before": "done", "after": "todo", "field": "status"})),
    ("changes status bad enum", "updated-reopen",
     _set(("data", "changes", "status"), {"before": "done", "after": "open"})),
    ("changes title null", "updated", _set(("data", "changes", "title"), {"before": "a", "after": None})),
    ("changes tags as string", "updated",
     _set(("data", "changes", "tags"), {"before": "home", "after": "bills"})),
    ("changes due_at without ms", "updated",
     _set(("data", "changes", "due_at"), {"before": "2027-07-04T13:30:00Z", "after": None})),
    ("sync without change", "sync-created", _set(("data", "change"), _DELETE)),
    ("sync unknown change", "sync-created", _set(("data", "change"), "archived")),
    ("sync completed but open task", "sync-created", _set(("data", "change"), "completed")),
    ("sync without task", "sync-created", _set(("data", "task"), _DELETE)),
    ("completed with open task", "completed", lambda e: e["data"]["task"].update(
        status="todo", completed_at=None)),
    ("task missing version", "created", _set(T + ("version",), _DELETE)),
    ("task extra member", "created", _set(T + ("user_id",), "3")),
    ("task numeric id", "created", _set(T + ("id",), 42)),
    ("task version 0", "created", _set(T + ("version",), 0)),
    ("task version string", "created", _set(T + ("version",), "1")),
    ("task occurrence 0", "created", _set(T + ("occurrence",), 0)),
    ("task empty title", "created", _set(T + ("title",), "")),
    ("task null description", "created", _set(T + ("description",), None)),
    ("task bad status", "created", _set(T + ("status",), "open")),
    ("task bad priority", "created", _set(T + ("priority",), "critical")),
    ("task uppercase tag", "created", _set(T + ("tags",), ["Home"])),
    ("task tag with space", "created", _set(T + ("tags",), ["two words"])),
    ("task duplicate tags", "created", _set(T + ("tags",), ["home", "home"])),
    ("task tags null", "created", _set(T + ("tags",), None)),
    ("task due with seconds", "created", _set(T + ("due",), "2027-07-04T09:30:00")),
    ("task due as instant", "created", _set(T + ("due",), "2027-07-04T13:30:00.000Z")),
    ("task due month 13", "created", _set(T + ("due",), "2027-13-04")),
    ("task due_at null while due set", "created", _set(T + ("due_at",), None)),
    ("task due_at set while due null", "created-minimal",
     _set(T + ("due_at",), "2027-07-04T13:30:00.000Z")),
    ("task due_at epoch ms", "created", _set(T + ("due_at",), 1814707800000)),
    ("task overdue string", "created", _set(T + ("overdue",), "false")),
    ("task recurrence string", "created", _set(T + ("recurrence",), "FREQ=DAILY")),
    ("task recurrence bad recur_from", "created",
     _set(T + ("recurrence",), {"rrule": "FREQ=DAILY", "recur_from": "start"})),
    ("task recurrence without FREQ", "created",
     _set(T + ("recurrence",), {"rrule": "INTERVAL=2", "recur_from": "due"})),
    ("task recurrence RRULE: prefix", "created",
     _set(T + ("recurrence",), {"rrule": "RRULE:FREQ=DAILY", "recur_from": "due"})),
    ("task recurring without due", "created", lambda e: e["data"]["task"].update(
        due=None, due_at=None)),
    ("task done without completed_at", "completed", _set(T + ("completed_at",), None)),
    ("task open with completed_at", "created",
     _set(T + ("completed_at",), "2027-07-04T10:02:45.930Z")),
    ("task done and overdue", "completed", _set(T + ("overdue",), True)),
    ("task created_at null", "created", _set(T + ("created_at",), None)),
    ("task timezone empty", "created", _set(T + ("timezone",), "")),
]


def test_schemas_are_valid_draft_2020_12():
    expected = {"cloudevent", "event", "task"} | set(TYPES)
    expected |= {"reminder.due", "notification.created"}  # reminders/notifications
    assert set(SCHEMAS) == expected
    for name, schema in SCHEMAS.items():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", sorted(good_examples()))
def test_hand_made_events_are_accepted(name):
    ev = good_examples()[name]
    assert_valid_event(ev)
    # ...and rejected by the schema of every other type.
    for other in TYPES:
        if other != ev["type"]:
            assert schema_errors(other, ev), (name, other)


@pytest.mark.parametrize("name,base,mutate", BAD, ids=[b[0] for b in BAD])
def test_broken_events_are_rejected(name, base, mutate):
    ev = copy.deepcopy(good_examples()[base])
    mutate(ev)
    errs = schema_errors("event", ev)
    if isinstance(ev.get("type"), str) and ev["type"] in TYPES:
        errs += schema_errors(ev["type"], ev)
    assert errs, f"{name}: accepted {json.dumps(ev)}"


def test_examples_in_events_md_are_valid():
    text = EVENTS_MD.read_text()
    seen = set()
    for block in re.findall(r"```json\n(.*?)```", text, re.S):
        obj = json.loads(block)
        if isinstance(obj, dict) and "specversion" in obj:
            assert_valid_event(obj)
            assert obj["subject"] == obj["data"]["task"]["id"]
            assert_uuid7_time(obj)
            seen.add(obj["type"])
    assert seen == set(TYPES), seen


# ---------------------------------------------------------------- helpers (live)

def parse_ms(ts):
    return int(datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def assert_uuid7_time(ev, slack_ms=60_000):
    """The first 48 bits of a UUIDv7 are Unix ms: they must be near the event time."""
    uuid_ms = int(ev["id"].replace("-", "")[:12], 16)
    assert abs(uuid_ms - parse_ms(ev["time"])) <= slack_ms, (ev["id"], ev["time"])


def trace_id(ev):
    return ev["traceparent"].split("-")[1]


def read_outbox(server, after=None, limit=None):
    """Runs `tock events` against the server's database; returns the parsed rows."""
    cmd = [TOCK_BIN, "events", "--db", server.env["TOCK_DB"]]
    if after is not None:
        cmd += ["--after", str(after)]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    r = subprocess.run(cmd, env=server.env, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, f"{cmd} -> {r.returncode}: {err}"
    assert "Sanitizer" not in err and "runtime error:" not in err, err
    rows = []
    for line in r.stdout.decode("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        assert isinstance(row, dict) and set(row) == ROW_KEYS, line
        assert isinstance(row["seq"], int) and not isinstance(row["seq"], bool) and row["seq"] > 0, row
        assert row["topic"] in ("task-events", "task-updates"), row
        assert isinstance(row["key"], str) and row["key"], row
        assert isinstance(row["published"], bool), row
        assert isinstance(row["event"], dict), row
        rows.append(row)
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(set(seqs)), f"seq not strictly increasing: {seqs}"
    # The relay publishes in outbox id order, so the published rows are a prefix.
    flags = [r["published"] for r in rows]
    assert flags == sorted(flags, reverse=True), \
        f"a row was published before an earlier one: {list(zip(seqs, flags))}"
    if after is not None:
        assert all(s > after for s in seqs), (after, seqs)
    if limit is not None:
        assert len(rows) <= limit, (limit, len(rows))
    return rows


def changed_fields(before, after):
    return {f: {"before": before[f], "after": after[f]}
            for f in CHANGE_FIELDS if before[f] != after[f]}


def strip_time_dependent(task):
    """`overdue` is computed at read time; everything else must match exactly."""
    t = dict(task)
    t.pop("overdue", None)
    return t


class Outbox:
    """Follows the outbox: each call to new() returns the rows written since the last."""

    def __init__(self, server):
        self.server = server
        self.last = 0
        self.rows = []
        self.started_ms = int(time.time() * 1000)

    def new(self):
        rows = read_outbox(self.server, after=self.last)
        now_ms = int(time.time() * 1000)
        for row in rows:
            ev = row["event"]
            assert_valid_event(ev)
            expected_topic = "task-updates" if ev["type"] == "task.sync" else "task-events"
            assert row["topic"] == expected_topic, row
            assert row["key"] == ev["userid"], row
            assert ev["subject"] == ev["data"]["task"]["id"], ev
            assert self.started_ms - 2000 <= parse_ms(ev["time"]) <= now_ms + 2000, ev["time"]
            assert_uuid7_time(ev)
        if rows:
            self.last = rows[-1]["seq"]
        self.rows += rows
        return rows

    def nothing_new(self, what):
        rows = self.new()
        assert rows == [], f"{what} wrote events: {json.dumps(rows, indent=1)}"


def expect(rows, client, task_id, task_events, sync_change):
    """The rows of one mutation of one task: exactly `task_events` on task-events
    (in that order) and exactly one task.sync with `sync_change`,
    all owned by the client's user, all in one trace. Returns {type: event}."""
    uid = str(client.user["id"])
    assert rows, f"no events for task {task_id}, expected {task_events} + sync {sync_change}"
    for r in rows:
        assert r["key"] == uid and r["event"]["userid"] == uid, (uid, r)
        assert r["event"]["subject"] == str(task_id), (task_id, r)
    te = [r["event"]["type"] for r in rows if r["topic"] == "task-events"]
    sync = [r["event"] for r in rows if r["topic"] == "task-updates"]
    assert te == task_events, (te, task_events)
    assert len(sync) == 1, f"expected exactly one task.sync, got {len(sync)}"
    assert sync[0]["data"]["change"] == sync_change, sync[0]["data"]["change"]
    assert len({trace_id(r["event"]) for r in rows}) == 1, \
        [r["event"]["traceparent"] for r in rows]
    return {r["event"]["type"]: r["event"] for r in rows}


def by_task(rows):
    out = {}
    for r in rows:
        out.setdefault(r["event"]["subject"], []).append(r)
    return out


def tag_id(client, name):
    r = client.get("/api/v1/tags", params={"prefix": name})
    assert r.status_code == 200, r.text
    ids = [t["id"] for t in r.json()["items"] if t["name"] == name]
    assert len(ids) == 1, r.json()
    return ids[0]


def get_task(client, tid):
    r = client.get(f"/api/v1/tasks/{tid}")
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- the live scenario

def test_mutations_write_the_documented_events(fresh_server):
    srv = fresh_server
    a = register(srv)
    b = register(srv)
    ob = Outbox(srv)
    ob.nothing_new("registering users")
    traces_without_header = []

    # 1. create, with a traceparent header
    r = a.post("/api/v1/tasks", {
        "title": "Pay rent", "description": "first of the month", "priority": "high",
        "tags": ["Home", "bills"], "due": "2027-07-04T09:30", "timezone": "America/New_York",
        "recurrence": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=4", "recur_from": "due"}},
        headers={"traceparent": TRACEPARENT})
    assert r.status_code == 201, r.text
    t1 = r.json()
    rows = ob.new()
    evs = expect(rows, a, t1["id"], ["task.created"], "created")
    assert evs["task.created"]["data"]["task"] == t1
    assert evs["task.sync"]["data"]["task"] == t1
    for row in rows:
        assert trace_id(row["event"]) == TRACE_ID, row["event"]["traceparent"]

    # 2. the other user creates a task; an all-zero traceparent must be ignored
    r = b.post("/api/v1/tasks", {"title": "Walk the dog", "tags": ["pets"]},
               headers={"traceparent": ZERO_TRACEPARENT})
    assert r.status_code == 201, r.text
    u1 = r.json()
    rows = ob.new()
    evs = expect(rows, b, u1["id"], ["task.created"], "created")
    assert evs["task.created"]["data"]["task"] == u1
    traces_without_header.append(trace_id(rows[0]["event"]))

    # 3. PATCH many fields at once: changes == exactly what changed
    r = a.patch(f"/api/v1/tasks/{t1['id']}", {
        "title": "Pay the rent", "description": None, "priority": "urgent",
        "tags": ["home", "finance"], "due": "2027-08-04", "timezone": "Europe/Berlin",
        "recurrence": None})
    assert r.status_code == 200, r.text
    t1b = r.json()
    rows = ob.new()
    evs = expect(rows, a, t1["id"], ["task.updated"], "updated")
    upd = evs["task.updated"]["data"]
    assert upd["task"] == t1b and evs["task.sync"]["data"]["task"] == t1b
    expected = changed_fields(t1, t1b)
    assert {"title", "description", "priority", "tags", "due", "due_at", "timezone",
            "recurrence"} <= set(expected), expected  # the PATCH really changed these
    assert upd["changes"] == expected
    assert t1b["version"] == t1["version"] + 1
    traces_without_header.append(trace_id(rows[0]["event"]))

    # 4. failing requests write nothing (even with a traceparent)
    r = a.patch(f"/api/v1/tasks/{t1['id']}", {"priority": "bogus", "title": "x"},
                headers={"traceparent": TRACEPARENT})
    assert r.status_code == 400, r.text
    r = a.post("/api/v1/tasks", {"title": ""})
    assert r.status_code == 400, r.text
    r = a.post("/api/v1/tasks", {"title": "bad tag", "tags": ["no spaces allowed"]})
    assert r.status_code == 400, r.text
    r = a.patch(f"/api/v1/tasks/{t1['id']}", {"title": "stale"}, headers={"If-Match": "1"})
    assert r.status_code == 412, r.text
    r = b.patch(f"/api/v1/tasks/{t1['id']}", {"title": "not yours"})
    assert r.status_code == 404, r.text
    r = b.delete(f"/api/v1/tasks/{t1['id']}")
    assert r.status_code == 404, r.text
    r = b.post(f"/api/v1/tasks/{t1['id']}/complete")
    assert r.status_code == 404, r.text
    ob.nothing_new("failed requests")
    assert get_task(a, t1["id"]) == t1b

    # 5. a PATCH that changes nothing: no event unless the version moved
    r = a.patch(f"/api/v1/tasks/{t1['id']}", {"title": t1b["title"]})
    assert r.status_code == 200, r.text
    rows = ob.new()
    if r.json()["version"] == t1b["version"]:
        assert rows == [], f"no-op PATCH wrote events: {rows}"
    else:  # version moved, so there must be a valid (non-empty) task.updated
        expect(rows, a, t1["id"], ["task.updated"], "updated")
    t1b = r.json()

    # 6. complete
    r = a.post(f"/api/v1/tasks/{t1['id']}/complete")
    assert r.status_code == 200, r.text
    t1c = r.json()
    assert t1c["status"] == "done"
    rows = ob.new()
    evs = expect(rows, a, t1["id"], ["task.completed"], "completed")
    assert evs["task.completed"]["data"]["task"] == t1c
    assert evs["task.sync"]["data"]["task"] == t1c

    # 7. completing a done task changes nothing
    r = a.post(f"/api/v1/tasks/{t1['id']}/complete")
    assert r.status_code == 200, r.text
    ob.nothing_new("completing a done task")

    # 8. reopen: task.updated with status done->todo and completed_at X->null
    r = a.post(f"/api/v1/tasks/{t1['id']}/reopen")
    assert r.status_code == 200, r.text
    t1d = r.json()
    rows = ob.new()
    evs = expect(rows, a, t1["id"], ["task.updated"], "reopened")
    upd = evs["task.updated"]["data"]
    assert upd["changes"] == changed_fields(t1c, t1d)
    assert upd["changes"]["status"] == {"before": "done", "after": "todo"}
    assert upd["changes"]["completed_at"] == {"before": t1c["completed_at"], "after": None}
    assert upd["task"] == t1d and evs["task.sync"]["data"]["task"] == t1d

    # 9. reopening an open task changes nothing
    r = a.post(f"/api/v1/tasks/{t1['id']}/reopen")
    assert r.status_code == 200, r.text
    ob.nothing_new("reopening an open task")

    # 10. the other user: a status change (interleaved with a's mutations)
    r = b.patch(f"/api/v1/tasks/{u1['id']}", {"status": "in_progress"})
    assert r.status_code == 200, r.text
    u1b = r.json()
    rows = ob.new()
    evs = expect(rows, b, u1["id"], ["task.updated"], "updated")
    assert evs["task.updated"]["data"]["changes"] == {
        "status": {"before": "todo", "after": "in_progress"}}
    assert evs["task.updated"]["data"]["task"] == u1b
    traces_without_header.append(trace_id(rows[0]["event"]))

    # 11. a PATCH that completes and changes another field: updated + completed
    r = a.post("/api/v1/tasks", {"title": "Write report", "tags": ["work"]})
    assert r.status_code == 201, r.text
    t2 = r.json()
    expect(ob.new(), a, t2["id"], ["task.created"], "created")
    r = a.patch(f"/api/v1/tasks/{t2['id']}", {"status": "done", "title": "Write the report"})
    assert r.status_code == 200, r.text
    t2b = r.json()
    assert t2b["status"] == "done" and t2b["completed_at"] is not None
    rows = ob.new()
    evs = expect(rows, a, t2["id"], ["task.updated", "task.completed"], "completed")
    changes = evs["task.updated"]["data"]["changes"]
    assert changes == changed_fields(t2, t2b)
    assert set(changes) == {"title", "status", "completed_at"}, changes
    assert changes["title"] == {"before": "Write report", "after": "Write the report"}
    for t in ("task.updated", "task.completed", "task.sync"):
        assert evs[t]["data"]["task"] == t2b, t

    # 11b. a PATCH from done to another status is a reopen
    r = a.patch(f"/api/v1/tasks/{t2['id']}", {"status": "in_progress"})
    assert r.status_code == 200, r.text
    t2c = r.json()
    rows = ob.new()
    evs = expect(rows, a, t2["id"], ["task.updated"], "reopened")
    assert evs["task.updated"]["data"]["changes"] == {
        "status": {"before": "done", "after": "in_progress"},
        "completed_at": {"before": t2b["completed_at"], "after": None}}
    assert evs["task.sync"]["data"]["task"] == t2c

    # 12. tags: rename, merge, colour change, delete
    tasks = {}
    for title, tags in [("Buy milk", ["errand", "home"]), ("Post letter", ["errand"]),
                        ("Call mom", ["family"])]:
        r = a.post("/api/v1/tasks", {"title": title, "tags": tags})
        assert r.status_code == 201, r.text
        tasks[title] = r.json()
        expect(ob.new(), a, r.json()["id"], ["task.created"], "created")
    t3, t4, t5 = tasks["Buy milk"], tasks["Post letter"], tasks["Call mom"]

    def check_tag_mutation(touched, what):
        """Each task in `touched` (old snapshots) gets task.updated with changes.tags only
        + sync(updated); no other task gets anything. Returns the new snapshots."""
        rows = ob.new()
        groups = by_task(rows)
        assert set(groups) == {t["id"] for t in touched}, (what, sorted(groups))
        new = {}
        for old in touched:
            now = get_task(a, old["id"])
            evs = expect(groups[old["id"]], a, old["id"], ["task.updated"], "updated")
            upd = evs["task.updated"]["data"]
            assert set(upd["changes"]) == {"tags"}, (what, upd["changes"])
            assert upd["changes"] == changed_fields(old, now), (what, upd["changes"])
            assert strip_time_dependent(upd["task"]) == strip_time_dependent(now), what
            new[old["id"]] = now
        return new

    r = a.patch(f"/api/v1/tags/{tag_id(a, 'errand')}", {"name": "chores"})
    assert r.status_code == 200, r.text
    new = check_tag_mutation([t3, t4], "tag rename")
    t3, t4 = new[t3["id"]], new[t4["id"]]
    assert "chores" in t3["tags"] and "errand" not in t3["tags"], t3

    t1d = get_task(a, t1["id"])
    assert "home" in t1d["tags"]
    r = a.patch(f"/api/v1/tags/{tag_id(a, 'chores')}", {"name": "home"})  # merge
    assert r.status_code == 200, r.text
    new = check_tag_mutation([t3, t4], "tag merge")  # t1 already had "home": unchanged
    t3, t4 = new[t3["id"]], new[t4["id"]]
    assert t3["tags"] == ["home"] and t4["tags"] == ["home"], (t3, t4)

    r = a.patch(f"/api/v1/tags/{tag_id(a, 'home')}", {"color": "#ff8800"})
    assert r.status_code == 200, r.text
    ob.nothing_new("a tag colour change")

    r = a.delete(f"/api/v1/tags/{tag_id(a, 'home')}")
    assert r.status_code == 204, r.text
    new = check_tag_mutation([t1d, t3, t4], "tag delete")
    t1d = new[t1["id"]]
    assert "home" not in t1d["tags"]

    # 13. history: the task-events events of the task, oldest first, as written
    written = [r["event"] for r in ob.rows
               if r["topic"] == "task-events" and r["event"]["subject"] == t1["id"]]
    r = a.get(f"/api/v1/tasks/{t1['id']}/history")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items"}, body.keys()
    assert body["items"] == written
    for ev in body["items"]:
        assert_valid_event(ev)
    r = b.get(f"/api/v1/tasks/{t1['id']}/history")
    assert r.status_code == 404, r.text

    # 14. delete
    r = a.delete(f"/api/v1/tasks/{t2['id']}")
    assert r.status_code == 204, r.text
    rows = ob.new()
    evs = expect(rows, a, t2["id"], ["task.deleted"], "deleted")
    for t in ("task.deleted", "task.sync"):
        snap = evs[t]["data"]["task"]
        assert snap["id"] == t2c["id"] and snap["title"] == t2c["title"], snap
        assert snap["version"] >= t2c["version"], snap
    r = b.delete(f"/api/v1/tasks/{u1['id']}")
    assert r.status_code == 204, r.text
    expect(ob.new(), b, u1["id"], ["task.deleted"], "deleted")
    r = a.delete(f"/api/v1/tasks/{t2['id']}")
    assert r.status_code == 404, r.text
    r = a.get(f"/api/v1/tasks/{t2['id']}/history")
    assert r.status_code == 404, r.text
    ob.nothing_new("deleting a deleted task")

    # ---- whole-outbox properties
    rows = ob.rows
    ids = [r["event"]["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate event ids"

    seq_types = {tid: [r["event"]["type"] for r in rs if r["topic"] == "task-events"]
                 for tid, rs in by_task(rows).items()}
    seq_sync = {tid: [r["event"]["data"]["change"] for r in rs if r["topic"] == "task-updates"]
                for tid, rs in by_task(rows).items()}
    C, U, D, K = "task.created", "task.updated", "task.deleted", "task.completed"
    assert seq_types[t1["id"]] == [C, U, K, U, U], seq_types[t1["id"]]
    assert seq_sync[t1["id"]] == ["created", "updated", "completed", "reopened", "updated"]
    assert seq_types[t2["id"]] == [C, U, K, U, D], seq_types[t2["id"]]
    assert seq_sync[t2["id"]] == ["created", "completed", "reopened", "deleted"]
    assert seq_types[t3["id"]] == [C, U, U, U] and seq_types[t4["id"]] == [C, U, U, U]
    assert seq_sync[t3["id"]] == ["created", "updated", "updated", "updated"]
    assert seq_types[t5["id"]] == [C] and seq_sync[t5["id"]] == ["created"]
    assert seq_types[u1["id"]] == [C, U, D], seq_types[u1["id"]]
    assert seq_sync[u1["id"]] == ["created", "updated", "deleted"]

    # per user: keys partition the rows; per task, versions never go down in seq order
    assert {r["key"] for r in rows} == {str(a.user["id"]), str(b.user["id"])}
    for tid, rs in by_task(rows).items():
        versions = [r["event"]["data"]["task"]["version"] for r in rs
                    if r["topic"] == "task-updates"]
        assert versions == sorted(versions), (tid, versions)
        assert len(set(versions[:-1])) == len(versions[:-1]), (tid, versions)  # sync per change

    # requests without (a valid) traceparent each start their own trace
    assert TRACE_ID not in traces_without_header
    assert len(set(traces_without_header)) == len(traces_without_header), traces_without_header

    # paging with --after/--limit gives the same rows
    full = read_outbox(srv)
    assert [(r["seq"], r["event"]) for r in full] == [(r["seq"], r["event"]) for r in rows]
    paged, after = [], 0
    while True:
        page = read_outbox(srv, after=after, limit=4)
        if not page:
            break
        paged += page
        after = page[-1]["seq"]
    assert [(r["seq"], r["event"]) for r in paged] == [(r["seq"], r["event"]) for r in rows]
    assert read_outbox(srv, limit=1)[0]["seq"] == rows[0]["seq"]
    assert read_outbox(srv, after=rows[-1]["seq"]) == []

    # the relay publishes everything, eventually
    deadline = time.monotonic() + 30
    while True:
        pending = [r["seq"] for r in read_outbox(srv) if not r["published"]]
        if not pending:
            break
        assert time.monotonic() < deadline, f"rows still unpublished after 30 s: {pending}"
        time.sleep(0.2)
    assert srv.alive()


def test_concurrent_updates_keep_commit_order(fresh_server):
    """Several clients of two users update the same tasks at once: in outbox order
    each task's versions go up by one per event and each `changes.title.before` is the
    previous event's `after` (the outbox order is the commit order, per user)."""
    import threading

    srv = fresh_server
    users = [register(srv), register(srv)]
    tids = {}
    for u in users:
        r = u.post("/api/v1/tasks", {"title": "v0"})
        assert r.status_code == 201, r.text
        tids[u.user["id"]] = r.json()["id"]
    failures = []

    def worker(u, n):
        from conftest import Client
        c = Client(srv, u.token, u.user)  # own session per thread
        for i in range(8):
            r = c.patch(f"/api/v1/tasks/{tids[u.user['id']]}", {"title": f"w{n}-{i}"})
            if r.status_code != 200:
                failures.append(r.text)

    threads = [threading.Thread(target=worker, args=(u, n)) for u in users for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]

    rows = read_outbox(srv)
    ids = [r["event"]["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate event ids"
    for u in users:
        uid = str(u.user["id"])
        mine = [r for r in rows if r["key"] == uid]
        assert all(r["event"]["userid"] == uid for r in mine)
        for r in mine:
            assert_valid_event(r["event"])
        upd = [r["event"]["data"] for r in mine if r["event"]["type"] == "task.updated"]
        sync = [r["event"]["data"] for r in mine if r["event"]["type"] == "task.sync"]
        assert len(upd) == 24 and len(sync) == 25, (len(upd), len(sync))
        assert [d["task"]["version"] for d in upd] == list(range(2, 26))
        assert [d["task"]["version"] for d in sync] == list(range(1, 26))
        prev = "v0"
        for d in upd:
            assert d["changes"]["title"]["before"] == prev, (prev, d["changes"])
            assert d["changes"]["title"]["after"] == d["task"]["title"]
            prev = d["task"]["title"]
        assert get_task(u, tids[u.user["id"]])["title"] == prev
