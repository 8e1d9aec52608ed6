"""The quick-add language (docs/assistant.md): POST /api/v1/parse, quick add through
POST /api/v1/tasks {"text": ...}, `tock parse`, and the shared scoring script run
against a live server (../shared/nl/dev.jsonl must score 100%)."""
import datetime as dt
import json
import os
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest

from conftest import ROOT, TOCK_BIN, assert_error, register

NOW = "2026-03-04T10:00"  # a Wednesday
NY = "America/New_York"
SHARED_NL = os.path.join(os.path.dirname(ROOT), "shared", "nl")
PARSE_KEYS = {"title", "due", "priority", "tags", "rrule", "recur_from", "reminders", "spans"}


@pytest.fixture(scope="module")
def ny_user(server):
    return register(server, timezone=NY)


def parse(client, text, **extra):
    body = {"text": text, "now": NOW, "timezone": NY}
    body.update(extra)
    r = client.post("/api/v1/parse", body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert set(data) == PARSE_KEYS, data
    return data


def test_parse_full_line(ny_user):
    text = "Quarterly review every 3 months on the 1st at 10am #work p2 remind me 1 day before"
    got = parse(ny_user, text)
    assert got["title"] == "Quarterly review"
    assert got["due"] == "2026-04-01T10:00"
    assert got["priority"] == "high"
    assert got["tags"] == ["work"]
    parts = dict(p.split("=") for p in got["rrule"].split(";"))
    assert parts == {"FREQ": "MONTHLY", "INTERVAL": "3", "BYMONTHDAY": "1"}
    assert got["recur_from"] == "due"
    assert got["reminders"] == [{"offset_minutes": 1440}]
    # spans: ordered, inside the text, and each covers the words that made its field
    kinds = {}
    last = 0
    for s in got["spans"]:
        assert last <= s["start"] < s["end"] <= len(text), got["spans"]
        last = s["end"]
        kinds.setdefault(s["kind"], []).append(text[s["start"]:s["end"]])
    assert kinds["recurrence"] == ["every 3 months on the 1st"]
    assert kinds["time"] == ["at 10am"]
    assert kinds["tag"] == ["#work"]
    assert kinds["priority"] == ["p2"]
    assert kinds["reminder"] == ["remind me 1 day before"]


def test_parse_spans_count_characters_not_bytes(ny_user):
    text = "Café ☕ meeting tomorrow at 9am"
    got = parse(ny_user, text)
    assert got["title"] == "Café ☕ meeting"
    assert got["due"] == "2026-03-05T09:00"
    spans = {s["kind"]: text[s["start"]:s["end"]] for s in got["spans"]}
    assert spans == {"date": "tomorrow", "time": "at 9am"}


def test_parse_defaults_to_user_zone_and_server_clock(server):
    user = register(server, timezone="Asia/Tokyo")
    r = user.post("/api/v1/parse", {"text": "Call home in 2 hours"})
    assert r.status_code == 200, r.text
    got = r.json()
    expect = (dt.datetime.now(ZoneInfo("Asia/Tokyo")) + dt.timedelta(hours=2))
    due = dt.datetime.fromisoformat(got["due"]).replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    # the server clock and this process's clock agree within a few minutes
    assert abs((due - expect).total_seconds()) < 300, got
    assert got["title"] == "Call home"


def test_parse_now_as_instant(ny_user):
    # 15:00Z is 10:00 in New York on 2026-03-04
    got = parse(ny_user, "Stretch at 9am", now="2026-03-04T15:00:00Z")
    assert got["due"] == "2026-03-05T09:00"
    got = parse(ny_user, "Stretch at 11am", now="2026-03-04T15:00:00Z")
    assert got["due"] == "2026-03-04T11:00"


def test_parse_dst_day(ny_user):
    # 2026-03-08 02:00 EST -> 03:00 EDT: two hours after 01:30 is 04:30 on the wall clock
    got = parse(ny_user, "Check backups in 2 hours", now="2026-03-08T01:30")
    assert got["due"] == "2026-03-08T04:30"


def test_parse_bad_input(ny_user):
    cases = [
        ({"now": NOW}, "text"),
        ({"text": 5}, "text"),
        ({"text": "x" * 1001}, "text"),
        ({"text": "a", "timezone": "Mars/Olympus"}, "timezone"),
        ({"text": "a", "timezone": 7}, "timezone"),
        ({"text": "a", "now": "yesterday"}, "now"),
        ({"text": "a", "now": "2026-02-30T10:00"}, "now"),
        ({"text": "a", "now": "1700-01-01T10:00"}, "now"),
        ({"text": "a", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        r = ny_user.post("/api/v1/parse", body)
        assert_error(r, 400, field=field)
    r = ny_user.post("/api/v1/parse", data="[1,2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    # exactly the limit is fine
    assert ny_user.post("/api/v1/parse", {"text": "y" * 1000}).status_code == 200


def test_parse_requires_auth(anon):
    assert_error(anon.post("/api/v1/parse", {"text": "Buy milk tomorrow"}), 401)


def test_quick_add_creates_the_parsed_task(ny_user):
    r = ny_user.post("/api/v1/tasks", {"text": "Standup every weekday at 9am #work p1 "
                                               "remind me 10 min before"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["title"] == "Standup"
    assert t["priority"] == "urgent"
    assert t["tags"] == ["work"]
    assert t["timezone"] == NY
    assert t["recurrence"]["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    assert t["recurrence"]["recur_from"] == "due"
    assert t["due"].endswith("T09:00")
    assert dt.date.fromisoformat(t["due"][:10]).weekday() < 5
    assert t["parsed"]["reminders"] == [{"offset_minutes": 10}]
    assert t["parsed"]["title"] == "Standup"
    # the stored task is the same (the "parsed" member is only in the create answer)
    g = ny_user.get(f"/api/v1/tasks/{t['id']}").json()
    assert "parsed" not in g
    assert (g["title"], g["due"], g["priority"], g["tags"]) == \
        (t["title"], t["due"], t["priority"], t["tags"])
    # "remind me 10 min before" became a real reminder of the task.
    rem = ny_user.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert [(x["kind"], x["offset_minutes"]) for x in rem] == [("offset", 10)], rem


def test_quick_add_completion_recurrence(ny_user):
    r = ny_user.post("/api/v1/tasks", {"text": "Replace filter every! 2 months"})
    assert r.status_code == 201, r.text
    rec = r.json()["recurrence"]
    assert rec == {"rrule": "FREQ=MONTHLY;INTERVAL=2", "recur_from": "completion"}


def test_quick_add_explicit_fields_win(ny_user):
    r = ny_user.post("/api/v1/tasks", {"text": "Pay rent tomorrow #home p3",
                                       "priority": "low", "tags": ["money"],
                                       "description": "via bank"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["title"] == "Pay rent"
    assert t["priority"] == "low"
    assert t["tags"] == ["money"]
    assert t["description"] == "via bank"
    assert t["due"] is not None and "T" not in t["due"]
    r = ny_user.post("/api/v1/tasks", {"text": "ignored words tomorrow", "title": "Explicit",
                                       "due": None})
    assert r.status_code == 201, r.text
    assert (r.json()["title"], r.json()["due"]) == ("Explicit", None)


def test_quick_add_parses_in_the_given_zone(ny_user):
    r = ny_user.post("/api/v1/tasks", {"text": "Call Tokyo office tomorrow at 9am",
                                       "timezone": "Asia/Tokyo"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["timezone"] == "Asia/Tokyo"
    tomorrow = dt.datetime.now(ZoneInfo("Asia/Tokyo")).date() + dt.timedelta(days=1)
    assert t["due"] == tomorrow.isoformat() + "T09:00"


def test_quick_add_bad_input(ny_user):
    before = len(ny_user.get("/api/v1/tasks").json()["items"])
    assert_error(ny_user.post("/api/v1/tasks", {"text": 42}), 400, field="text")
    assert_error(ny_user.post("/api/v1/tasks", {"text": "z" * 1001}), 400, field="text")
    assert_error(ny_user.post("/api/v1/tasks", {"text": "tomorrow at 5pm p1"}), 400, field="text")
    assert_error(ny_user.post("/api/v1/tasks", {"text": "Buy milk", "bogus": 1}), 400,
                 field="bogus")
    assert len(ny_user.get("/api/v1/tasks").json()["items"]) == before
    # the normal create path is unchanged
    r = ny_user.post("/api/v1/tasks", {"title": "plain tomorrow p1"})
    assert r.status_code == 201 and r.json()["title"] == "plain tomorrow p1"
    assert "parsed" not in r.json()


def run_cli(*args):
    return subprocess.run([TOCK_BIN, "parse", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "ASAN_OPTIONS": "detect_leaks=1"})


def test_cli_prints_the_same_json(ny_user):
    text = "Call mom tomorrow at 5pm remind me 1 hour before #family"
    r = run_cli("--now", NOW, "--tz", NY, text)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == parse(ny_user, text)


def test_cli_bad_arguments():
    assert run_cli("--now", "soon", "--tz", NY, "x").returncode != 0
    assert run_cli("--tz", "Nowhere/Zone", "x").returncode != 0
    assert run_cli().returncode == 2
    # after "--" the text may start with dashes (separators at the ends of a title go)
    r = run_cli("--now", NOW, "--tz", NY, "--", "--dry-run the docs tomorrow")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert (got["title"], got["due"]) == ("dry-run the docs", "2026-03-05")


@pytest.mark.skipif(not os.path.isdir(SHARED_NL), reason=f"{SHARED_NL} is absent")
def test_shared_dev_set_scores_100_percent(ny_user):
    r = subprocess.run([sys.executable, os.path.join(SHARED_NL, "score.py"), ny_user.url,
                        ny_user.token, os.path.join(SHARED_NL, "dev.jsonl")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    last = r.stdout.strip().splitlines()[-1]
    passed, failed = int(last.split()[0]), int(last.split()[2])
    assert failed == 0 and passed >= 50, r.stdout


def test_quick_add_absolute_reminder_and_explicit_reminders_win(ny_user):
    r = ny_user.post("/api/v1/tasks", {"text": "Dentist friday at 3pm remind me at 9am"})
    assert r.status_code == 201, r.text
    t = r.json()
    rem = ny_user.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert len(rem) == 1 and rem[0]["kind"] == "at", rem
    r = ny_user.post("/api/v1/tasks", {"text": "Dentist friday at 3pm remind me 1 hour before",
                                       "reminders": [{"offset_minutes": 15}]})
    assert r.status_code == 201, r.text
    rem = ny_user.get(f"/api/v1/tasks/{r.json()['id']}/reminders").json()["items"]
    assert [x["offset_minutes"] for x in rem] == [15], rem
