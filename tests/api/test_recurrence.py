"""Recurring tasks through the API (docs/recurrence.md): a table of rules (every
rule part, DST start and end in America/New_York and Europe/London, month ends,
leap years, COUNT/UNTIL, overdue series, recur_from completion, date-only dues),
each created, completed and checked by the next occurrence the recurring consumer
makes; the friendly form; stopping a series (PATCH recurrence null, DELETE
?scope=series); a double completion and a reopen + complete make one next
occurrence.

The server runs with TOCK_FAKE_NOW_MS: "now" starts at 2027-01-10T15:00:00Z
(10:00 in New York, 15:00 in London, 04:00 on the 11th in Auckland) and runs on
in real time, so "today" is fixed for the overdue and from-completion cases.

"No next occurrence" is observed, not slept on: the recurring consumer handles a
user's events in order, so once a sentinel completed *after* the case has its
successor, the case's event was handled too.
"""
import time
import uuid

import pytest

from conftest import Server, assert_error, register

NOW_MS = 1799593200000  # 2027-01-10T15:00:00Z
DEADLINE_S = 30

NY, LON, UTC = "America/New_York", "Europe/London", "UTC"


@pytest.fixture(scope="module")
def rserver(store):
    s = Server(extra_env={"TOCK_FAKE_NOW_MS": str(NOW_MS)}, store=store)
    yield s
    s.stop()


@pytest.fixture
def ru(rserver):
    return register(rserver)


def create(client, **fields):
    fields.setdefault("title", "task " + uuid.uuid4().hex[:8])
    r = client.post("/api/v1/tasks", fields)
    assert r.status_code == 201, r.text
    return r.json()


def complete(client, tid):
    r = client.post(f"/api/v1/tasks/{tid}/complete")
    assert r.status_code == 200, r.text
    return r.json()


def series(client, sid):
    r = client.get("/api/v1/tasks", params={"series_id": sid, "limit": 200})
    assert r.status_code == 200, r.text
    return sorted(r.json()["items"], key=lambda t: t["occurrence"])


def wait_occurrence(client, sid, occurrence):
    """Polls the series until that occurrence exists; returns it."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        for t in series(client, sid):
            if t["occurrence"] == occurrence:
                return t
        if time.monotonic() > deadline:
            raise AssertionError(f"occurrence {occurrence} of series {sid} did not appear "
                                 f"within {DEADLINE_S} s: {series(client, sid)}")
        time.sleep(0.05)


def drain(client):
    """Returns once every completion this user made so far has been handled."""
    t = create(client, title="sentinel", due="2027-06-01",
               recurrence={"rrule": "FREQ=DAILY", "recur_from": "due"})
    complete(client, t["id"])
    wait_occurrence(client, t["series_id"], 2)


# name, zone, due, recurrence (rrule string or friendly dict), recur_from,
# expected next due (None: the series ends), expected due_at of the next (or None)
CASES = [
    # every rule part
    ("daily", UTC, "2027-02-01", "FREQ=DAILY", "due", "2027-02-02", None),
    ("interval", UTC, "2027-02-01", "FREQ=DAILY;INTERVAL=3", "due", "2027-02-04", None),
    ("weekly-timed", UTC, "2027-02-03T09:00", "FREQ=WEEKLY", "due", "2027-02-10T09:00",
     "2027-02-10T09:00:00.000Z"),
    ("weekly-interval-byday", UTC, "2027-02-01", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "due",
     "2027-02-04", None),
    ("friendly-weekly-2-mo-th", UTC, "2027-02-04",
     {"frequency": "weekly", "interval": 2, "weekdays": ["mo", "th"]}, "due", "2027-02-15",
     None),
    ("byday-last-friday", UTC, "2027-01-29", "FREQ=MONTHLY;BYDAY=-1FR", "due", "2027-02-26",
     None),
    ("friendly-last-friday", UTC, "2027-02-26", {"frequency": "monthly", "weekdays": ["-1fr"]},
     "due", "2027-03-26", None),
    ("byday-second-monday", NY, "2027-01-11T10:00", "FREQ=MONTHLY;BYDAY=2MO", "due",
     "2027-02-08T10:00", "2027-02-08T15:00:00.000Z"),
    ("bymonthday-last", UTC, "2027-01-31", "FREQ=MONTHLY;BYMONTHDAY=-1", "due", "2027-02-28",
     None),
    ("bymonthday-last-leap", UTC, "2028-01-31", {"frequency": "monthly", "month_day": -1}, "due",
     "2028-02-29", None),
    ("bymonthday-31-skips-feb", UTC, "2027-01-31", "FREQ=MONTHLY;BYMONTHDAY=31", "due",
     "2027-03-31", None),
    ("bymonthday-31-skips-apr", UTC, "2027-03-31", "FREQ=MONTHLY;BYMONTHDAY=31", "due",
     "2027-05-31", None),
    ("bymonthday-30-skips-feb", UTC, "2027-01-30", "FREQ=MONTHLY;BYMONTHDAY=30", "due",
     "2027-03-30", None),
    ("monthly-from-31st", UTC, "2027-01-31", "FREQ=MONTHLY", "due", "2027-03-31", None),
    ("bymonth-yearly", UTC, "2027-06-15", "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=15", "due",
     "2028-06-15", None),
    ("bymonth-weekly", UTC, "2027-03-29", "FREQ=WEEKLY;BYMONTH=3;BYDAY=MO", "due", "2028-03-06",
     None),
    ("bysetpos-last-weekday", UTC, "2027-02-26",
     "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "due", "2027-03-31", None),
    ("friendly-bysetpos-first-weekday", UTC, "2027-02-01",
     {"frequency": "monthly", "weekdays": ["mo", "tu", "we", "th", "fr"], "set_position": 1},
     "due", "2027-03-01", None),
    ("leap-day-yearly", UTC, "2028-02-29", "FREQ=YEARLY", "due", "2032-02-29", None),
    ("leap-day-bymonthday", UTC, "2028-02-29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "due",
     "2032-02-29", None),
    ("last-day-of-feb", UTC, "2027-02-28", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1", "due",
     "2028-02-29", None),
    # COUNT / UNTIL
    ("count-2", UTC, "2027-02-01", "FREQ=DAILY;COUNT=2", "due", "2027-02-02", None),
    ("count-1-ends", UTC, "2027-02-01", "FREQ=DAILY;COUNT=1", "due", None, None),
    ("friendly-count-1-ends", UTC, "2027-02-01", {"frequency": "weekly", "count": 1}, "due",
     None, None),
    ("until-date", UTC, "2027-02-01", "FREQ=DAILY;UNTIL=20270202", "due", "2027-02-02", None),
    ("until-date-ends", UTC, "2027-02-01", "FREQ=DAILY;UNTIL=20270201", "due", None, None),
    ("friendly-until-ends", UTC, "2027-02-01", {"frequency": "daily", "until": "2027-02-01"},
     "due", None, None),
    ("until-utc", NY, "2027-02-01T09:00", "FREQ=DAILY;UNTIL=20270202T140000Z", "due",
     "2027-02-02T09:00", "2027-02-02T14:00:00.000Z"),
    ("until-utc-ends", NY, "2027-02-01T09:00", "FREQ=DAILY;UNTIL=20270202T135959Z", "due", None,
     None),
    ("until-before-next-instance-ends", UTC, "2027-01-31", "FREQ=MONTHLY;UNTIL=20270330",
     "due", None, None),
    # DST: the said time stays the same wall-clock time
    ("ny-dst-start", NY, "2027-03-13T09:00", "FREQ=DAILY", "due", "2027-03-14T09:00",
     "2027-03-14T13:00:00.000Z"),
    ("ny-dst-end", NY, "2027-11-06T09:00", "FREQ=DAILY", "due", "2027-11-07T09:00",
     "2027-11-07T14:00:00.000Z"),
    ("ny-weekly-across-dst", NY, "2027-03-08T09:00", "FREQ=WEEKLY", "due", "2027-03-15T09:00",
     "2027-03-15T13:00:00.000Z"),
    ("ny-gap-moves-forward", NY, "2027-03-13T02:30", "FREQ=DAILY", "due", "2027-03-14T03:30",
     "2027-03-14T07:30:00.000Z"),
    ("ny-ambiguous-first", NY, "2027-11-06T01:30", "FREQ=DAILY", "due", "2027-11-07T01:30",
     "2027-11-07T05:30:00.000Z"),
    ("london-dst-start", LON, "2027-03-27T09:00", "FREQ=DAILY", "due", "2027-03-28T09:00",
     "2027-03-28T08:00:00.000Z"),
    ("london-dst-end", LON, "2027-10-30T09:00", "FREQ=DAILY", "due", "2027-10-31T09:00",
     "2027-10-31T09:00:00.000Z"),
    ("london-gap-moves-forward", LON, "2027-03-27T01:30", "FREQ=DAILY", "due", "2027-03-28T02:30",
     "2027-03-28T01:30:00.000Z"),
    ("london-ambiguous-first", LON, "2027-10-30T01:30", "FREQ=DAILY", "due", "2027-10-31T01:30",
     "2027-10-31T00:30:00.000Z"),
    # overdue: the next due is after now, not one per missed day
    ("overdue-daily-date", UTC, "2026-12-01", "FREQ=DAILY", "due", "2027-01-11", None),
    ("overdue-weekly-date", UTC, "2026-11-02", "FREQ=WEEKLY;BYDAY=MO", "due", "2027-01-11", None),
    ("overdue-daily-timed-passed", NY, "2026-12-01T09:00", "FREQ=DAILY", "due",
     "2027-01-11T09:00", "2027-01-11T14:00:00.000Z"),
    ("overdue-daily-timed-later-today", NY, "2026-12-01T11:00", "FREQ=DAILY", "due",
     "2027-01-10T11:00", "2027-01-10T16:00:00.000Z"),
    ("overdue-month-end", UTC, "2026-06-30", "FREQ=MONTHLY;BYMONTHDAY=-1", "due", "2027-01-31",
     None),
    ("overdue-auckland-date", "Pacific/Auckland", "2026-12-01", "FREQ=DAILY", "due",
     "2027-01-12", None),
    # recur_from completion: from the completion's date (2027-01-10), keeping the time
    ("completion-interval", UTC, "2027-01-01", "FREQ=DAILY;INTERVAL=3", "completion",
     "2027-01-13", None),
    ("completion-weekly-timed", LON, "2027-01-01T08:00", "FREQ=WEEKLY", "completion",
     "2027-01-17T08:00", "2027-01-17T08:00:00.000Z"),
    ("completion-friendly-monday", UTC, "2027-01-04",
     {"frequency": "weekly", "weekdays": ["mo"]}, "completion", "2027-01-11", None),
    ("completion-early-pulls-in", UTC, "2027-06-01", "FREQ=DAILY", "completion", "2027-01-11",
     None),
    ("completion-timed-ny", NY, "2027-01-05T18:00", "FREQ=DAILY", "completion",
     "2027-01-11T18:00", "2027-01-11T23:00:00.000Z"),
    ("completion-count-ends", UTC, "2027-01-01", "FREQ=DAILY;COUNT=1", "completion", None, None),
]


def recurrence_body(rule, recur_from):
    if isinstance(rule, dict):
        return dict(rule, recur_from=recur_from)
    return {"rrule": rule, "recur_from": recur_from}


@pytest.fixture(scope="module")
def table_results(rserver):
    """Creates and completes every case as one user, then waits for all of them."""
    client = register(rserver)
    made = {}
    for name, zone, due, rule, recur_from, _, _ in CASES:
        t = create(client, title=f"case {name}", description=f"rule {rule}", priority="high",
                   tags=["recur", name[:60]], due=due, timezone=zone,
                   recurrence=recurrence_body(rule, recur_from))
        made[name] = t
    for name in made:
        made[name]["done"] = complete(client, made[name]["id"])
    drain(client)
    results = {}
    for name, t in made.items():
        results[name] = (t, series(client, t["series_id"]))
    return results


assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_next_occurrence_table(table_results, case):
    name, zone, due, rule, recur_from, want_due, want_at = case
    first, items = table_results[name]
    assert items[0]["id"] == first["id"]
    assert items[0]["status"] == "done", items[0]  # the completed one stays as history
    if want_due is None:
        assert len(items) == 1, f"series should have ended: {items}"
        return
    assert len(items) == 2, items
    nxt = items[1]
    assert nxt["occurrence"] == 2 and nxt["series_id"] == first["series_id"]
    assert nxt["id"] != first["id"]
    assert nxt["due"] == want_due, nxt
    if want_at:
        assert nxt["due_at"] == want_at, nxt
    assert nxt["status"] == "todo" and nxt["completed_at"] is None
    for k in ("title", "description", "priority", "tags", "timezone", "recurrence"):
        assert nxt[k] == first[k], k
    assert nxt["recurrence"]["recur_from"] == recur_from


def test_friendly_form_is_returned_as_rrule(ru):
    t = create(ru, due="2027-02-01", recurrence={
        "frequency": "weekly", "interval": 2, "weekdays": ["mo", "th"], "count": 5})
    assert t["recurrence"] == {"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=5",
                               "recur_from": "due"}
    t = create(ru, due="2027-02-01", recurrence={
        "frequency": "monthly", "month_day": -1, "until": "2027-06-01",
        "recur_from": "completion"})
    assert t["recurrence"] == {"rrule": "FREQ=MONTHLY;BYMONTHDAY=-1;UNTIL=20270601",
                               "recur_from": "completion"}
    r = ru.patch(f"/api/v1/tasks/{t['id']}", {"recurrence": {"frequency": "yearly"}})
    assert r.status_code == 200, r.text
    assert r.json()["recurrence"] == {"rrule": "FREQ=YEARLY", "recur_from": "due"}


BAD = [
    ({"frequency": "hourly"}, "recurrence.frequency"),
    ({"frequency": "weekly", "weekdays": ["xx"]}, "recurrence.weekdays"),
    ({"frequency": "weekly", "weekdays": ["2mo"]}, "recurrence.weekdays"),
    ({"frequency": "weekly", "weekdays": "mo"}, "recurrence.weekdays"),
    ({"frequency": "daily", "interval": 0}, "recurrence.interval"),
    ({"frequency": "monthly", "month_day": 0}, "recurrence.month_day"),
    ({"frequency": "monthly", "month_day": 32}, "recurrence.month_day"),
    ({"frequency": "yearly", "month": 13}, "recurrence.month"),
    ({"frequency": "monthly", "set_position": 1}, "recurrence.set_position"),
    ({"frequency": "daily", "count": 0}, "recurrence.count"),
    ({"frequency": "daily", "until": "2027-02-30"}, "recurrence.until"),
    ({"frequency": "daily", "count": 3, "until": "2027-06-01"}, "recurrence.until"),
    ({"frequency": "daily", "recur_from": "whenever"}, "recurrence.recur_from"),
    ({"frequency": "daily", "every": 2}, "recurrence.every"),
    ({"rrule": "FREQ=DAILY", "frequency": "daily"}, "recurrence"),
    ({}, "recurrence"),
    ({"rrule": "FREQ=WEEKLY;BYDAY=2MO"}, "recurrence.rrule"),
    ({"rrule": "FREQ=WEEKLY;BYMONTHDAY=1"}, "recurrence.rrule"),
    ({"rrule": "FREQ=MONTHLY;BYSETPOS=1"}, "recurrence.rrule"),
    ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "recurrence.rrule"),
    ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "recurrence.rrule"),
    ({"rrule": "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1"}, "recurrence.rrule"),
    ({"frequency": "monthly", "weekdays": ["mo"], "set_position": 6}, "recurrence.rrule"),
    ({"frequency": "yearly", "month": [4, 6], "month_day": 31}, "recurrence.rrule"),
]


@pytest.mark.parametrize("rec,field", BAD, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD)])
def test_bad_recurrence_is_400_with_field(ru, rec, field):
    r = ru.post("/api/v1/tasks", {"title": "x", "due": "2027-02-01", "recurrence": rec})
    assert_error(r, 400, "invalid_argument", field)


def test_recurring_task_needs_a_due(ru):
    r = ru.post("/api/v1/tasks", {"title": "x", "recurrence": {"frequency": "daily"}})
    assert_error(r, 400, None, "recurrence")


def test_double_complete_and_reopen_make_one_next(ru):
    t = create(ru, due="2027-02-01", recurrence={"frequency": "daily"})
    done = complete(ru, t["id"])
    assert complete(ru, t["id"]) == done  # no change, no second event
    r = ru.post(f"/api/v1/tasks/{t['id']}/reopen")
    assert r.status_code == 200, r.text
    complete(ru, t["id"])  # a second task.completed for the same occurrence
    nxt = wait_occurrence(ru, t["series_id"], 2)
    assert nxt["due"] == "2027-02-02"
    # Reopen and complete once more after the next one exists.
    assert ru.post(f"/api/v1/tasks/{t['id']}/reopen").status_code == 200
    complete(ru, t["id"])
    drain(ru)
    items = series(ru, t["series_id"])
    assert [i["occurrence"] for i in items] == [1, 2], items
    # Completing through PATCH status=done continues the series just the same.
    r = ru.patch(f"/api/v1/tasks/{nxt['id']}", {"status": "done"})
    assert r.status_code == 200, r.text
    third = wait_occurrence(ru, t["series_id"], 3)
    assert third["due"] == "2027-02-03"


def test_chain_keeps_anchor_after_dst_gap(ru):
    """02:30 daily: the gap day's occurrence is 03:30, the day after is 02:30 again."""
    t = create(ru, due="2027-03-13T02:30", timezone=NY, recurrence={"frequency": "daily"})
    complete(ru, t["id"])
    gap = wait_occurrence(ru, t["series_id"], 2)
    assert gap["due"] == "2027-03-14T03:30"
    complete(ru, gap["id"])
    after = wait_occurrence(ru, t["series_id"], 3)
    assert after["due"] == "2027-03-15T02:30"
    assert after["due_at"] == "2027-03-15T06:30:00.000Z"


def test_count_counts_occurrences(ru):
    t = create(ru, due="2027-02-01", recurrence={"rrule": "FREQ=DAILY;COUNT=3"})
    complete(ru, t["id"])
    second = wait_occurrence(ru, t["series_id"], 2)
    complete(ru, second["id"])
    third = wait_occurrence(ru, t["series_id"], 3)
    assert third["due"] == "2027-02-03"
    complete(ru, third["id"])
    drain(ru)
    items = series(ru, t["series_id"])
    assert [i["occurrence"] for i in items] == [1, 2, 3]
    assert all(i["status"] == "done" for i in items)


def test_patch_recurrence_null_stops_the_series(ru):
    t = create(ru, due="2027-02-01", recurrence={"frequency": "daily"})
    complete(ru, t["id"])
    nxt = wait_occurrence(ru, t["series_id"], 2)
    r = ru.patch(f"/api/v1/tasks/{nxt['id']}", {"recurrence": None})
    assert r.status_code == 200, r.text
    stopped = r.json()
    assert stopped["recurrence"] is None and stopped["status"] == "todo"
    assert stopped["series_id"] == t["series_id"] and stopped["occurrence"] == 2
    complete(ru, nxt["id"])
    drain(ru)
    items = series(ru, t["series_id"])
    assert [i["occurrence"] for i in items] == [1, 2], items


def test_delete_scope_series(ru):
    t = create(ru, due="2027-02-01", recurrence={"frequency": "daily"})
    complete(ru, t["id"])
    nxt = wait_occurrence(ru, t["series_id"], 2)
    assert_error(ru.delete(f"/api/v1/tasks/{nxt['id']}", params={"scope": "everything"}), 400,
                 "invalid_argument", "scope")
    r = ru.delete(f"/api/v1/tasks/{nxt['id']}", params={"scope": "series"})
    assert r.status_code == 204, r.text
    assert ru.get(f"/api/v1/tasks/{nxt['id']}").status_code == 404
    items = series(ru, t["series_id"])
    assert [i["id"] for i in items] == [t["id"]]  # history stays
    assert items[0]["status"] == "done"
    # Reopening and completing the history occurrence does not revive the series.
    assert ru.post(f"/api/v1/tasks/{t['id']}/reopen").status_code == 200
    complete(ru, t["id"])
    drain(ru)
    assert [i["id"] for i in series(ru, t["series_id"])] == [t["id"]]


def test_delete_scope_series_from_history_deletes_open_occurrence(ru):
    t = create(ru, due="2027-02-01", recurrence={"frequency": "daily"})
    complete(ru, t["id"])
    nxt = wait_occurrence(ru, t["series_id"], 2)
    r = ru.delete(f"/api/v1/tasks/{t['id']}", params={"scope": "series"})
    assert r.status_code == 204, r.text
    assert ru.get(f"/api/v1/tasks/{nxt['id']}").status_code == 404
    assert series(ru, t["series_id"]) == []


def test_delete_scope_occurrence_is_the_default(ru):
    t = create(ru, due="2027-02-01", recurrence={"frequency": "daily"})
    r = ru.delete(f"/api/v1/tasks/{t['id']}", params={"scope": "occurrence"})
    assert r.status_code == 204, r.text
    assert ru.get(f"/api/v1/tasks/{t['id']}").status_code == 404


def test_other_users_completion_is_not_continued_for_me(rserver, ru):
    """The next occurrence belongs to the owner of the completed one."""
    other = register(rserver)
    t = create(ru, due="2027-02-01", recurrence={"frequency": "daily"})
    complete(ru, t["id"])
    nxt = wait_occurrence(ru, t["series_id"], 2)
    assert other.get(f"/api/v1/tasks/{nxt['id']}").status_code == 404
    r = other.get("/api/v1/tasks", params={"series_id": t["series_id"]})
    assert r.status_code == 200 and r.json()["items"] == []


def test_next_occurrence_gets_the_series_reminder_offsets(ru):
    """Offset reminders carry over to the next occurrence (one per distinct offset),
    re-anchored at its due; the completed occurrence's pending ones are cancelled."""
    t = create(ru, title="water the plants", due="2027-01-12T18:00", timezone=UTC,
               recurrence={"rrule": "FREQ=DAILY", "recur_from": "due"},
               reminders=[{"offset_minutes": 30}, {"offset_minutes": 120}])
    before = ru.get(f"/api/v1/tasks/{t['id']}/reminders")
    assert before.status_code == 200, before.text
    complete(ru, t["id"])
    nxt = wait_occurrence(ru, t["series_id"], 2)
    assert nxt["due"].startswith("2027-01-13T18:00"), nxt
    r = ru.get(f"/api/v1/tasks/{nxt['id']}/reminders")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert sorted(x["offset_minutes"] for x in items) == [30, 120], items
    assert sorted(x["fire_at"] for x in items) == ["2027-01-13T16:00:00.000Z",
                                                   "2027-01-13T17:30:00.000Z"], items
    old = ru.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert all(x["state"] != "pending" for x in old), old
