"""Task CRUD, optimistic concurrency, complete/reopen, soft delete, time zones,
recurrence and history (docs/api.md "Tasks")."""
import re
import uuid

import pytest

from conftest import assert_error, register

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TASK_KEYS = {"id", "title", "description", "status", "priority", "tags", "due", "timezone",
             "due_at", "overdue", "recurrence", "series_id", "occurrence", "created_at",
             "updated_at", "completed_at", "version"}
WEEKLY = {"rrule": "FREQ=WEEKLY;BYDAY=MO", "recur_from": "due"}


@pytest.fixture(scope="module")
def u(server):
    """A user in Asia/Tokyo, shared by the tests that do not need isolation."""
    return register(server, timezone="Asia/Tokyo")


def create(client, **fields):
    fields.setdefault("title", "task " + uuid.uuid4().hex[:8])
    r = client.post("/api/v1/tasks", fields)
    assert r.status_code == 201, r.text
    return r.json()


def get(client, tid):
    r = client.get(f"/api/v1/tasks/{tid}")
    assert r.status_code == 200, r.text
    return r.json()


def patch(client, tid, body, **kw):
    r = client.patch(f"/api/v1/tasks/{tid}", body, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def history(client, tid):
    r = client.get(f"/api/v1/tasks/{tid}/history")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def list_ids(client, **params):
    r = client.get("/api/v1/tasks", params=dict(params, limit=200))
    assert r.status_code == 200, r.text
    return [t["id"] for t in r.json()["items"]]


# ---------------------------------------------------------------- create / read

def test_create_all_fields_round_trip(u):
    body = {"title": "Pay rent", "description": "the usual transfer", "status": "in_progress",
            "priority": "high", "tags": ["Home", "money", "HOME", "home"],
            "due": "2027-07-04T09:30", "timezone": "America/New_York",
            "recurrence": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "recur_from": "due"}}
    r = u.post("/api/v1/tasks", body)
    assert r.status_code == 201, r.text
    t = r.json()
    assert set(t) == TASK_KEYS, set(t) ^ TASK_KEYS
    assert isinstance(t["id"], str) and t["id"]
    assert t["title"] == "Pay rent"
    assert t["description"] == "the usual transfer"
    assert t["status"] == "in_progress"
    assert t["priority"] == "high"
    assert sorted(t["tags"]) == ["home", "money"]
    assert t["due"] == "2027-07-04T09:30"
    assert t["timezone"] == "America/New_York"
    assert t["due_at"] == "2027-07-04T13:30:00.000Z"
    assert t["overdue"] is False
    assert t["recurrence"] == {"rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "recur_from": "due"}
    assert t["series_id"] == t["id"]
    assert t["occurrence"] == 1
    assert TS_RE.match(t["created_at"]) and TS_RE.match(t["updated_at"])
    assert t["completed_at"] is None
    assert t["version"] == 1
    # Location and ETag.
    assert r.headers["Location"].endswith(f"/api/v1/tasks/{t['id']}"), r.headers
    assert r.headers["ETag"] == '"1"', r.headers
    # GET returns the same object.
    assert get(u, t["id"]) == t


def test_create_defaults(u):
    t = create(u, title="Just a title")
    assert set(t) == TASK_KEYS
    assert t["description"] == ""
    assert t["status"] == "todo"
    assert t["priority"] == "none"
    assert t["tags"] == []
    assert t["due"] is None and t["due_at"] is None
    assert t["overdue"] is False
    assert t["recurrence"] is None
    assert t["completed_at"] is None
    assert t["timezone"] == "Asia/Tokyo"  # the user's zone
    assert t["version"] == 1
    assert t["occurrence"] == 1


def test_task_json_has_exactly_documented_keys_everywhere(u):
    t = create(u, tags=["k"], due="2027-01-01")
    assert set(t) == TASK_KEYS
    assert set(get(u, t["id"])) == TASK_KEYS
    assert set(patch(u, t["id"], {"title": "renamed"})) == TASK_KEYS
    r = u.post(f"/api/v1/tasks/{t['id']}/complete")
    assert r.status_code == 200 and set(r.json()) == TASK_KEYS
    r = u.post(f"/api/v1/tasks/{t['id']}/reopen")
    assert r.status_code == 200 and set(r.json()) == TASK_KEYS
    r = u.get("/api/v1/tasks", params={"limit": 200})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["items"] and all(set(i) == TASK_KEYS for i in body["items"])


def test_tags_lower_cased_and_deduplicated(u):
    t = create(u, tags=["Work", "WORK", "work", "Side-Project_2", "side-project_2"])
    assert sorted(t["tags"]) == ["side-project_2", "work"]
    assert sorted(get(u, t["id"])["tags"]) == ["side-project_2", "work"]


def test_get_unknown_task_is_404(u):
    assert_error(u.get("/api/v1/tasks/999999999"), 404, "not_found")
    assert_error(u.get("/api/v1/tasks/not-an-id"), 404, "not_found")


# ---------------------------------------------------------------- PATCH

def test_patch_is_partial(u):
    t = create(u, title="orig", description="desc", priority="low", tags=["a", "b"],
               due="2027-05-05T10:00", timezone="UTC")
    p = patch(u, t["id"], {"title": "new title"})
    assert p["title"] == "new title"
    for k in ("description", "priority", "tags", "due", "timezone", "due_at", "status",
              "recurrence", "created_at", "series_id", "occurrence"):
        assert p[k] == t[k], k
    assert p["version"] == 2
    assert p["updated_at"] >= t["updated_at"]
    assert get(u, t["id"]) == p
    p = patch(u, t["id"], {"priority": "urgent", "status": "in_progress"})
    assert p["priority"] == "urgent" and p["status"] == "in_progress"
    assert p["title"] == "new title" and p["description"] == "desc"
    assert p["version"] == 3


def test_patch_null_clears_description_due_and_recurrence(u):
    t = create(u, description="something", due="2027-03-01T08:00", timezone="UTC",
               recurrence=WEEKLY, tags=["x"], priority="medium")
    p = patch(u, t["id"], {"description": None, "due": None, "recurrence": None})
    assert p["description"] == ""
    assert p["due"] is None and p["due_at"] is None
    assert p["recurrence"] is None
    assert p["overdue"] is False
    assert p["tags"] == ["x"] and p["priority"] == "medium"
    assert get(u, t["id"]) == p


def test_patch_null_clears_description_alone(u):
    t = create(u, description="text")
    assert patch(u, t["id"], {"description": None})["description"] == ""


def test_patch_tags_replace_the_list(u):
    t = create(u, tags=["a", "c"])
    p = patch(u, t["id"], {"tags": ["B"]})
    assert p["tags"] == ["b"]
    p = patch(u, t["id"], {"tags": []})
    assert p["tags"] == []
    assert get(u, t["id"])["tags"] == []


def test_recurring_task_needs_a_due_date(u):
    r = u.post("/api/v1/tasks", {"title": "no due", "recurrence": WEEKLY})
    assert_error(r, 400, "invalid_argument")
    t = create(u, due="2027-03-01", recurrence=WEEKLY)
    # Clearing the due while the recurrence stays is refused and changes nothing.
    r = u.patch(f"/api/v1/tasks/{t['id']}", {"due": None})
    assert_error(r, 400, "invalid_argument")
    assert get(u, t["id"]) == t


def test_recurrence_weekly_is_accepted(u):
    t = create(u, title="standup", due="2027-07-05T09:00", timezone="Europe/Berlin",
               recurrence={"rrule": "FREQ=WEEKLY;BYDAY=MO", "recur_from": "due"})
    assert t["recurrence"] == {"rrule": "FREQ=WEEKLY;BYDAY=MO", "recur_from": "due"}
    t2 = create(u, due="2027-07-05", recurrence={"rrule": "FREQ=DAILY;INTERVAL=2",
                                                 "recur_from": "completion"})
    assert t2["recurrence"]["recur_from"] == "completion"
    # Adding a recurrence with PATCH.
    t3 = create(u, due="2027-07-05")
    p = patch(u, t3["id"], {"recurrence": WEEKLY})
    assert p["recurrence"] == WEEKLY and p["version"] == 2


@pytest.mark.parametrize("rec", [
    {"rrule": "FREQ=SOMETIMES", "recur_from": "due"},
    {"rrule": "FREQ=WEEKLY;BYDAY=XX", "recur_from": "due"},
    {"rrule": "FREQ=WEEKLY", "recur_from": "whenever"},
])
def test_bad_recurrence_is_400(u, rec):
    r = u.post("/api/v1/tasks", {"title": "bad rec", "due": "2027-07-05", "recurrence": rec})
    assert_error(r, 400, "invalid_argument")


# ---------------------------------------------------------------- versions / If-Match

def test_version_increments_on_every_change(u):
    t = create(u)
    assert t["version"] == 1
    v = patch(u, t["id"], {"title": "v2"})["version"]
    assert v == 2
    r = u.post(f"/api/v1/tasks/{t['id']}/complete")
    assert r.status_code == 200 and r.json()["version"] == 3
    r = u.post(f"/api/v1/tasks/{t['id']}/reopen")
    assert r.status_code == 200 and r.json()["version"] == 4
    assert patch(u, t["id"], {"tags": ["z"]})["version"] == 5
    assert patch(u, t["id"], {"due": "2027-01-01"})["version"] == 6
    assert get(u, t["id"])["version"] == 6


def test_if_match_stale_is_412_and_changes_nothing(u):
    t = create(u, title="guarded")
    cur = patch(u, t["id"], {"title": "guarded v2"})
    assert cur["version"] == 2
    n_events = len(history(u, t["id"]))
    tid = t["id"]
    r = u.patch(f"/api/v1/tasks/{tid}", {"title": "lost update"}, headers={"If-Match": "1"})
    assert_error(r, 412, "precondition_failed")
    r = u.patch(f"/api/v1/tasks/{tid}", {"title": "lost update"}, headers={"If-Match": '"1"'})
    assert_error(r, 412, "precondition_failed")
    assert_error(u.post(f"/api/v1/tasks/{tid}/complete", headers={"If-Match": "1"}), 412,
                 "precondition_failed")
    assert_error(u.delete(f"/api/v1/tasks/{tid}", headers={"If-Match": "1"}), 412,
                 "precondition_failed")
    # A version from the future is not current either.
    r = u.patch(f"/api/v1/tasks/{tid}", {"title": "lost update"}, headers={"If-Match": "99"})
    assert_error(r, 412, "precondition_failed")
    assert get(u, tid) == cur
    assert len(history(u, tid)) == n_events


def test_if_match_stale_on_reopen_is_412(u):
    t = create(u)
    done = u.post(f"/api/v1/tasks/{t['id']}/complete").json()
    assert done["version"] == 2
    r = u.post(f"/api/v1/tasks/{t['id']}/reopen", headers={"If-Match": "1"})
    assert_error(r, 412, "precondition_failed")
    assert get(u, t["id"]) == done


def test_if_match_current_succeeds_plain_and_quoted(u):
    t = create(u, title="v1")
    p = patch(u, t["id"], {"title": "v2"}, headers={"If-Match": "1"})
    assert p["version"] == 2 and p["title"] == "v2"
    p = patch(u, t["id"], {"title": "v3"}, headers={"If-Match": '"2"'})
    assert p["version"] == 3 and p["title"] == "v3"
    r = u.post(f"/api/v1/tasks/{t['id']}/complete", headers={"If-Match": '"3"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 4
    r = u.post(f"/api/v1/tasks/{t['id']}/reopen", headers={"If-Match": "4"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 5
    r = u.delete(f"/api/v1/tasks/{t['id']}", headers={"If-Match": '"5"'})
    assert r.status_code == 204, r.text
    assert_error(u.get(f"/api/v1/tasks/{t['id']}"), 404, "not_found")


@pytest.mark.parametrize("value", ["abc", "1.5", '"', "W/\"x\""])
def test_if_match_malformed_is_400(u, value):
    t = create(u)
    r = u.patch(f"/api/v1/tasks/{t['id']}", {"title": "x"}, headers={"If-Match": value})
    assert_error(r, 400, "invalid_argument", "If-Match")
    assert get(u, t["id"]) == t


# ---------------------------------------------------------------- complete / reopen

def test_complete_and_reopen(u):
    t = create(u, title="finish me")
    r = u.post(f"/api/v1/tasks/{t['id']}/complete")
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "done"
    assert TS_RE.match(done["completed_at"] or ""), done
    assert done["version"] == 2
    assert get(u, t["id"]) == done
    # Completing again changes nothing.
    r = u.post(f"/api/v1/tasks/{t['id']}/complete")
    assert r.status_code == 200, r.text
    assert r.json() == done
    # Reopen clears completed_at.
    r = u.post(f"/api/v1/tasks/{t['id']}/reopen")
    assert r.status_code == 200, r.text
    opened = r.json()
    assert opened["status"] == "todo"
    assert opened["completed_at"] is None
    assert opened["version"] == 3
    # Reopening an open task changes nothing.
    r = u.post(f"/api/v1/tasks/{t['id']}/reopen")
    assert r.status_code == 200 and r.json() == opened
    assert get(u, t["id"]) == opened


def test_patch_status_done_sets_completed_at(u):
    t = create(u)
    p = patch(u, t["id"], {"status": "done"})
    assert p["status"] == "done" and p["completed_at"] is not None
    p = patch(u, t["id"], {"status": "todo"})
    assert p["status"] == "todo" and p["completed_at"] is None


# ---------------------------------------------------------------- delete

def test_delete_is_soft_and_gone_from_every_read(u):
    word = "zz" + uuid.uuid4().hex[:10]
    t = create(u, title=f"doomed {word}", tags=["doomtag"])
    keep = create(u, title=f"survivor {word}")
    assert t["id"] in list_ids(u, q=word)
    r = u.delete(f"/api/v1/tasks/{t['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    tid = t["id"]
    assert_error(u.get(f"/api/v1/tasks/{tid}"), 404, "not_found")
    assert_error(u.patch(f"/api/v1/tasks/{tid}", {"title": "zombie"}), 404, "not_found")
    assert_error(u.delete(f"/api/v1/tasks/{tid}"), 404, "not_found")
    assert_error(u.post(f"/api/v1/tasks/{tid}/complete"), 404, "not_found")
    assert_error(u.post(f"/api/v1/tasks/{tid}/reopen"), 404, "not_found")
    assert_error(u.get(f"/api/v1/tasks/{tid}/history"), 404, "not_found")
    assert tid not in list_ids(u)
    assert list_ids(u, q=word) == [keep["id"]]
    assert tid not in list_ids(u, tag="doomtag")
    tags = {x["name"]: x for x in u.get("/api/v1/tags").json()["items"]}
    assert tags.get("doomtag", {"task_count": 0})["task_count"] == 0


# ---------------------------------------------------------------- time zones

def test_due_local_time_in_new_york(u):
    t = create(u, due="2027-07-04T09:30", timezone="America/New_York")
    assert t["due"] == "2027-07-04T09:30"
    assert t["timezone"] == "America/New_York"
    assert t["due_at"] == "2027-07-04T13:30:00.000Z"


def test_due_date_only_counts_as_end_of_local_day(u):
    t = create(u, due="2027-07-04", timezone="America/New_York")
    assert t["due"] == "2027-07-04"
    assert t["due_at"] == "2027-07-05T03:59:59.000Z"
    w = create(u, due="2027-01-15", timezone="America/New_York")  # EST, UTC-5
    assert w["due_at"] == "2027-01-16T04:59:59.000Z"


def test_due_rfc3339_instant_is_stored_as_local_wall_time(u):
    t = create(u, due="2027-07-04T13:30:00Z", timezone="America/New_York")
    assert t["due"] == "2027-07-04T09:30"
    assert t["due_at"] == "2027-07-04T13:30:00.000Z"
    t = create(u, due="2027-07-04T15:30:00+02:00", timezone="America/New_York")
    assert t["due"] == "2027-07-04T09:30"
    assert t["due_at"] == "2027-07-04T13:30:00.000Z"


def test_due_in_dst_gap_moves_due_at_forward(u):
    # 2027-03-14 02:30 does not exist in New York (clocks jump 02:00 -> 03:00 EDT).
    t = create(u, due="2027-03-14T02:30", timezone="America/New_York")
    assert t["due_at"] == "2027-03-14T07:30:00.000Z"


def test_due_in_dst_gap_local_due_moves_forward(u):
    # "A local time that falls in a DST gap moves forward by the gap": the local due
    # shown must be the wall time that exists (03:30 EDT), consistent with due_at.
    t = create(u, due="2027-03-14T02:30", timezone="America/New_York")
    assert t["due"] == "2027-03-14T03:30"


def test_user_timezone_is_the_default_for_a_task(u):
    t = create(u, due="2027-07-04T09:30")
    assert t["timezone"] == "Asia/Tokyo"
    assert t["due_at"] == "2027-07-04T00:30:00.000Z"


def test_changing_user_timezone_affects_only_new_tasks(user):
    t1 = create(user, due="2027-07-04T09:30")
    assert t1["timezone"] == "UTC" and t1["due_at"] == "2027-07-04T09:30:00.000Z"
    r = user.patch("/api/v1/me", {"timezone": "Europe/Berlin"})
    assert r.status_code == 200, r.text
    t2 = create(user, due="2027-07-04T09:30")
    assert t2["timezone"] == "Europe/Berlin"
    assert t2["due_at"] == "2027-07-04T07:30:00.000Z"
    assert get(user, t1["id"]) == t1


def test_patch_timezone_keeps_local_due_and_moves_due_at(u):
    t = create(u, due="2027-07-04T09:30", timezone="America/New_York")
    p = patch(u, t["id"], {"timezone": "Europe/Berlin"})
    assert p["timezone"] == "Europe/Berlin"
    assert p["due"] == "2027-07-04T09:30"
    assert p["due_at"] == "2027-07-04T07:30:00.000Z"
    d = create(u, due="2027-07-04", timezone="America/New_York")
    p = patch(u, d["id"], {"timezone": "Asia/Tokyo"})
    assert p["due"] == "2027-07-04"
    assert p["due_at"] == "2027-07-04T14:59:59.000Z"


def test_patch_due_uses_task_timezone(u):
    t = create(u, due="2027-07-04T09:30", timezone="America/New_York")
    p = patch(u, t["id"], {"due": "2027-12-24T18:00"})
    assert p["due"] == "2027-12-24T18:00"
    assert p["timezone"] == "America/New_York"
    assert p["due_at"] == "2027-12-24T23:00:00.000Z"


@pytest.mark.parametrize("due", ["2027-07-04T13:30:15Z", "2027-02-30", "2027-02-03T24:00",
                                 "2027-07-04T9:30", "07/04/2027", "2027-07-04T09:30:00",
                                 "tomorrow", ""])
def test_bad_due_is_400(u, due):
    r = u.post("/api/v1/tasks", {"title": "bad due", "due": due})
    assert_error(r, 400, "invalid_argument", "due")
    t = create(u, due="2027-07-04")
    r = u.patch(f"/api/v1/tasks/{t['id']}", {"due": due})
    assert_error(r, 400, "invalid_argument", "due")
    assert get(u, t["id"]) == t


@pytest.mark.parametrize("tz", ["Mars/Base", "", "../../etc/passwd"])
def test_bad_task_timezone_is_400(u, tz):
    r = u.post("/api/v1/tasks", {"title": "tz", "due": "2027-07-04", "timezone": tz})
    assert_error(r, 400, "invalid_argument", "timezone")


def test_overdue(u):
    past = create(u, due="2020-01-01T10:00", timezone="UTC")
    assert past["overdue"] is True
    assert get(u, past["id"])["overdue"] is True
    past_day = create(u, due="2020-01-01")
    assert past_day["overdue"] is True
    future = create(u, due="2099-01-01T10:00")
    assert future["overdue"] is False
    r = u.post(f"/api/v1/tasks/{past['id']}/complete")
    assert r.status_code == 200 and r.json()["overdue"] is False
    assert get(u, past["id"])["overdue"] is False
    r = u.post(f"/api/v1/tasks/{past['id']}/reopen")
    assert r.json()["overdue"] is True
    # Moving the due into the future clears it.
    assert patch(u, past_day["id"], {"due": "2099-12-31"})["overdue"] is False


# ---------------------------------------------------------------- history

def check_event(ev, task_id, user_id):
    assert ev["specversion"] == "1.0"
    assert isinstance(ev["id"], str) and ev["id"]
    assert uuid.UUID(ev["id"]).version == 7, ev["id"]
    assert isinstance(ev["type"], str) and ev["type"].startswith("task.")
    assert isinstance(ev["source"], str) and ev["source"].startswith("tock/"), ev["source"]
    assert CE_TIME_RE.match(ev["time"]), ev["time"]
    assert ev["subject"] == task_id
    assert str(ev["userid"]) == user_id
    assert ev["datacontenttype"] == "application/json"
    assert isinstance(ev.get("data"), dict), ev
    assert ev["data"]["task"]["id"] == task_id  # the snapshot after the change


def test_history_is_cloudevents_oldest_first(u):
    t = create(u, title="with history")
    patch(u, t["id"], {"title": "with history 2", "priority": "high"})
    assert u.post(f"/api/v1/tasks/{t['id']}/complete").status_code == 200
    # A no-op complete adds no event.
    assert u.post(f"/api/v1/tasks/{t['id']}/complete").status_code == 200
    items = history(u, t["id"])
    assert [e["type"] for e in items] == ["task.created", "task.updated", "task.completed"]
    for e in items:
        check_event(e, t["id"], u.user["id"])
    assert len({e["id"] for e in items}) == len(items)
    times = [e["time"] for e in items]
    assert times == sorted(times)
    assert [e["data"]["task"]["version"] for e in items] == [1, 2, 3]
    assert items[0]["data"]["task"]["title"] == "with history"
    assert items[1]["data"]["task"]["title"] == "with history 2"
    assert items[2]["data"]["task"]["status"] == "done"
    # More changes append at the end.
    assert u.post(f"/api/v1/tasks/{t['id']}/reopen").status_code == 200
    patch(u, t["id"], {"tags": ["h"]})
    items2 = history(u, t["id"])
    assert [e["id"] for e in items2[:3]] == [e["id"] for e in items]
    assert len(items2) == 5
    assert items2[-1]["type"] == "task.updated"
    for e in items2:
        check_event(e, t["id"], u.user["id"])


def test_history_of_other_tasks_is_separate(u):
    a = create(u)
    b = create(u)
    patch(u, b["id"], {"title": "b2"})
    assert [e["type"] for e in history(u, a["id"])] == ["task.created"]
    assert all(e["subject"] == b["id"] for e in history(u, b["id"]))
