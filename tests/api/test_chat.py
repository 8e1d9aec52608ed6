"""Chat (issue 5 §3): POST /api/v1/chat and /api/v1/conversations on both stores.

The builtin engine is driven with conversation scripts against a server whose
clock starts at a fixed instant (TOCK_FAKE_NOW_MS: Wednesday 2030-03-06 10:00 in
Europe/Paris), so "this week" and "friday at 3pm" have known answers. Every
effect is checked through the REST API, not only in the reply text.

The openai engine runs against tests/tools/llm_standin.py — a stand-in, not a
model: it answers from a script per test and checks each request against the
Chat Completions wire format of SPECS.md; the tests assert what it received.
"""
import datetime
import json
import os
import re
import subprocess
import sys

import pytest
import requests

from conftest import ROOT, Server, assert_error, free_port, register

NOW = datetime.datetime(2030, 3, 6, 9, 0, tzinfo=datetime.timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)
STANDIN = os.path.join(ROOT, "tests", "tools", "llm_standin.py")
REGISTRY = {"add_task", "get_task", "list_tasks", "update_task", "complete_task",
            "reopen_task", "delete_task", "list_tags", "stop_recurrence", "set_reminder",
            "cancel_reminder", "list_reminders"}


@pytest.fixture(scope="module")
def chat_server(store):
    s = Server(store=store, extra_env={"TOCK_FAKE_NOW_MS": str(NOW_MS)})
    yield s
    s.stop()


@pytest.fixture
def me(chat_server):
    return register(chat_server, timezone="Europe/Paris")


def say(c, message, cid=None, status=200):
    body = {"message": message}
    if cid is not None:
        body["conversation_id"] = cid
    r = c.post("/api/v1/chat", body)
    assert r.status_code == status, r.text
    return r.json()


def task(c, title, **kw):
    body = {"title": title}
    body.update(kw)
    r = c.post("/api/v1/tasks", body)
    assert r.status_code == 201, r.text
    return r.json()


def get(c, tid):
    r = c.get(f"/api/v1/tasks/{tid}")
    return r.json() if r.status_code == 200 else None


def tools_of(j):
    return [a["tool"] for a in j["actions"]]


# ---- the builtin engine ----

def test_add_via_the_parser(me):
    j = say(me, "add Pay rent every month on the 1st at 9am #home p1 remind me 1 day before")
    assert j["engine"] == "builtin"
    assert tools_of(j) == ["add_task", "set_reminder"]
    t = j["actions"][0]["result"]
    assert j["actions"][0]["arguments"]["title"] == "Pay rent"
    saved = get(me, t["id"])
    assert saved["title"] == "Pay rent"
    assert saved["due"] == "2030-04-01T09:00"
    assert saved["tags"] == ["home"]
    assert saved["priority"] == "urgent"
    assert saved["recurrence"]["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=1"
    rem = me.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert [r["offset_minutes"] for r in rem] == [1440]
    assert '"Pay rent"' in j["reply"] and "Mon 1 Apr 09:00" in j["reply"]
    # The same event as REST.
    hist = me.get(f"/api/v1/tasks/{t['id']}/history").json()["items"]
    assert [e["type"] for e in hist] == ["task.created"]


def test_whats_due_this_week(me):
    thu = task(me, "Water plants", due="2030-03-07")
    sun = task(me, "Call grandma", due="2030-03-10T18:00")
    task(me, "Next week thing", due="2030-03-11")
    task(me, "Someday")
    done = task(me, "Already done", due="2030-03-07")
    me.post(f"/api/v1/tasks/{done['id']}/complete")
    j = say(me, "What's due this week?")
    assert tools_of(j) == ["list_tasks"]
    args = j["actions"][0]["arguments"]
    assert args["due_after"] == "2030-03-04" and args["due_before"] == "2030-03-10"
    ids = [t["id"] for t in j["actions"][0]["result"]["items"]]
    assert ids == [thu["id"], sun["id"]]
    assert j["reply"].startswith("2 tasks due this week")
    assert "Water plants" in j["reply"] and "Call grandma" in j["reply"]
    assert "Next week thing" not in j["reply"] and "Someday" not in j["reply"]


def test_filters_urgent_tags_and_overdue(me):
    a = task(me, "Ship release", priority="urgent", tags=["work"])
    task(me, "Tidy desk", priority="low", tags=["work"])
    task(me, "Urgent home thing", priority="urgent", tags=["home"])
    j = say(me, "show my urgent #work tasks")
    assert j["actions"][0]["arguments"]["priority"] == ["urgent"]
    assert j["actions"][0]["arguments"]["tags"] == ["work"]
    assert [t["id"] for t in j["actions"][0]["result"]["items"]] == [a["id"]]
    assert "Ship release" in j["reply"]
    late = task(me, "Renew passport", due="2030-03-01")
    j = say(me, "anything overdue?")
    assert j["actions"][0]["arguments"]["overdue"] is True
    assert [t["id"] for t in j["actions"][0]["result"]["items"]] == [late["id"]]
    assert "Renew passport" in j["reply"]


def test_complete_by_fuzzy_title_and_by_id(me):
    dentist = task(me, "Dentist appointment", due="2030-03-08T10:00")
    other = task(me, "Buy milk")
    j = say(me, "I finished the dentist thing")
    assert tools_of(j) == ["list_tasks", "complete_task"]
    assert get(me, dentist["id"])["status"] == "done"
    assert get(me, other["id"])["status"] == "todo"
    assert j["reply"] == 'Marked "Dentist appointment" as done.'
    hist = me.get(f"/api/v1/tasks/{dentist['id']}/history").json()["items"]
    assert [e["type"] for e in hist] == ["task.created", "task.completed"]
    j = say(me, f"complete {other['id']}")
    assert tools_of(j) == ["get_task", "complete_task"]
    assert get(me, other["id"])["status"] == "done"
    j = say(me, "done with the tax return")
    assert "couldn't find" in j["reply"] and tools_of(j) == ["list_tasks", "list_tasks"]
    # First a full-text search on the words, then a scan of recent tasks.
    assert j["actions"][0]["arguments"]["q"] == "tax return"
    assert j["actions"][1]["arguments"]["limit"] == 200


def test_typos_and_partial_matches(me):
    vet = task(me, "Take the cat to the veterinary")
    milk = task(me, "Buy milk")
    j = say(me, "done with the veterinray")  # a typo: the search misses, the scan finds it
    assert tools_of(j) == ["list_tasks", "list_tasks", "complete_task"]
    assert get(me, vet["id"])["status"] == "done"
    # Half the words match: ask, do not guess.
    j = say(me, "done with buy bread")
    assert "Did you mean this one?" in j["reply"] and '1. "Buy milk"' in j["reply"]
    assert get(me, milk["id"])["status"] == "todo"
    j = say(me, "yes", j["conversation_id"])
    assert j["reply"] == 'Marked "Buy milk" as done.'
    assert get(me, milk["id"])["status"] == "done"


def test_ambiguity_asks_back_and_any_replica_understands_the_answer(me, chat_server):
    a = task(me, "Buy milk")
    b = task(me, "Buy oat milk")
    j = say(me, "done with milk")
    assert get(me, a["id"])["status"] == "todo" and get(me, b["id"])["status"] == "todo"
    lines = re.findall(r"^(\d)\. \"([^\"]+)\"", j["reply"], re.M)
    assert sorted(t for _, t in lines) == ["Buy milk", "Buy oat milk"]
    second = dict(lines)["2"]
    cid = j["conversation_id"]
    # The next turn on another process: the question is in the database.
    replica = Server(store=chat_server.store,
                     extra_env={"TOCK_DB": chat_server.env["TOCK_DB"],
                                "TOCK_FAKE_NOW_MS": str(NOW_MS)})
    try:
        me2 = type(me)(replica, me.token, me.user)
        j = say(me2, "the second one", cid)
    finally:
        replica.stop()
    assert j["conversation_id"] == cid
    assert tools_of(j) == ["get_task", "complete_task"]
    done = a if second == "Buy milk" else b
    still = b if done is a else a
    assert get(me, done["id"])["status"] == "done"
    assert get(me, still["id"])["status"] == "todo"
    assert j["reply"] == f'Marked "{second}" as done.'
    # No pending question any more: the answer picks from the list, changing nothing.
    j = say(me, "the second one", cid)
    assert tools_of(j) == ["get_task"]
    assert j["reply"] == f'OK, "{second}". What should I do with it?'
    assert get(me, still["id"])["status"] == "todo"
    j = say(me, "the third one")
    assert j["actions"] == [] and "no list" in j["reply"]


def test_it_refers_to_the_last_task(me):
    j = say(me, "add call mom tomorrow at 6pm")
    cid = j["conversation_id"]
    tid = j["actions"][0]["result"]["id"]
    j = say(me, "make it high priority", cid)
    assert tools_of(j) == ["get_task", "update_task"]
    assert j["actions"][1]["arguments"] == {"id": tid, "priority": "high"}
    assert get(me, tid)["priority"] == "high"
    assert j["reply"] == 'Set "call mom" to high priority (was none).'
    j = say(me, "tag it #family", cid)
    assert get(me, tid)["tags"] == ["family"]
    assert "#family" in j["reply"]
    # Without a last task, "it" is a question back.
    j = say(me, "make it urgent")
    assert j["actions"] == [] and "Which task" in j["reply"]


def test_move_rename_delete(me):
    d = task(me, "Dentist check", due="2030-03-12T10:00")
    j = say(me, "move the dentist to friday at 3pm")
    assert get(me, d["id"])["due"] == "2030-03-08T15:00"
    assert j["reply"] == 'Moved "Dentist check" to Fri 8 Mar 15:00 (was Tue 12 Mar 10:00).'
    cid = j["conversation_id"]
    j = say(me, "rename dentist check to Dentist check-up", cid)
    assert get(me, d["id"])["title"] == "Dentist check-up"
    assert j["reply"] == 'Renamed "Dentist check" to "Dentist check-up".'
    j = say(me, "delete it", cid)
    assert tools_of(j) == ["get_task", "delete_task"]
    assert me.get(f"/api/v1/tasks/{d['id']}").status_code == 404
    assert j["reply"] == 'Deleted "Dentist check-up".'


def test_reminders(me):
    r = task(me, "Quarterly report", due="2030-03-09")
    j = say(me, "remind me about the report tomorrow at 9")
    assert tools_of(j) == ["list_tasks", "set_reminder"]
    rem = me.get(f"/api/v1/tasks/{r['id']}/reminders").json()["items"]
    assert len(rem) == 1 and rem[0]["at"] == "2030-03-07T08:00:00.000Z"
    assert "Thu 7 Mar 09:00" in j["reply"]
    j = say(me, "list my reminders", j["conversation_id"])
    assert "Quarterly report" in j["reply"] and "Thu 7 Mar 09:00" in j["reply"]
    j = say(me, "cancel the reminder for the report", j["conversation_id"])
    assert "list_reminders" in tools_of(j) and "cancel_reminder" in tools_of(j)
    assert me.get(f"/api/v1/tasks/{r['id']}/reminders").json()["items"] == []
    assert j["reply"] == 'Cancelled 1 reminder for "Quarterly report".'
    # "remind me to" with no such task: a new task with a reminder at its time.
    j = say(me, "remind me to water the garden tomorrow at 7pm")
    assert tools_of(j)[-2:] == ["add_task", "set_reminder"]
    t = j["actions"][-2]["result"]
    assert t["title"] == "water the garden" and t["due"] == "2030-03-07T19:00"
    rem = me.get(f"/api/v1/tasks/{t['id']}/reminders").json()["items"]
    assert rem[0]["fire_at"] == "2030-03-07T18:00:00.000Z"


def test_stop_repeating(me):
    t = task(me, "Pay the rent", due="2030-04-01T09:00",
             recurrence={"rrule": "FREQ=MONTHLY;BYMONTHDAY=1"})
    j = say(me, "stop repeating the rent")
    assert tools_of(j) == ["list_tasks", "stop_recurrence"]
    after = get(me, t["id"])
    assert after["recurrence"] is None and after["due"] == "2030-04-01T09:00"
    assert "won't repeat" in j["reply"]
    j = say(me, "stop repeating it", j["conversation_id"])
    assert "nothing changed" in j["reply"] and "stop_recurrence" not in tools_of(j)


def test_help_small_talk_and_unknown(me):
    j = say(me, "help")
    assert j["actions"] == [] and "what's due this week" in j["reply"]
    assert say(me, "hello")["reply"].startswith("Hi")
    assert say(me, "thanks!")["reply"] == "You're welcome!"
    j = say(me, "blorp zzz")
    assert j["actions"] == [] and "didn't get that" in j["reply"]
    assert me.get("/api/v1/tasks").json()["items"] == []


def test_conversations_are_stored_listed_and_deleted(me):
    j = say(me, "add buy bread")
    cid = j["conversation_id"]
    say(me, "make it urgent", cid)
    other = say(me, "hello")["conversation_id"]
    convs = me.get("/api/v1/conversations").json()["items"]
    assert [c["id"] for c in convs] == [other, cid]
    c = [c for c in convs if c["id"] == cid][0]
    assert c["title"] == "add buy bread" and c["message_count"] == 4
    assert me.get(f"/api/v1/conversations/{cid}").json()["message_count"] == 4
    msgs = me.get(f"/api/v1/conversations/{cid}/messages").json()["items"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant"]
    assert msgs[0]["content"] == "add buy bread" and msgs[0]["actions"] is None
    assert msgs[1]["engine"] == "builtin" and msgs[1]["actions"] == j["actions"]
    assert msgs[1]["content"] == j["reply"]
    page = me.get(f"/api/v1/conversations/{cid}/messages",
                  params={"after": msgs[1]["id"], "limit": 1}).json()["items"]
    assert [m["id"] for m in page] == [msgs[2]["id"]]
    assert me.delete(f"/api/v1/conversations/{cid}").status_code == 204
    assert_error(me.get(f"/api/v1/conversations/{cid}"), 404, "not_found")
    assert_error(me.get(f"/api/v1/conversations/{cid}/messages"), 404, "not_found")
    assert_error(me.delete(f"/api/v1/conversations/{cid}"), 404, "not_found")
    assert_error(me.post("/api/v1/chat", {"conversation_id": cid, "message": "hi"}), 404)
    assert [c["id"] for c in me.get("/api/v1/conversations").json()["items"]] == [other]


def test_isolation(me, chat_server):
    mine = task(me, "Secret plan")
    cid = say(me, "add my secret thing")["conversation_id"]
    eve = register(chat_server, timezone="Europe/Paris")
    assert_error(eve.get(f"/api/v1/conversations/{cid}"), 404, "not_found")
    assert_error(eve.get(f"/api/v1/conversations/{cid}/messages"), 404, "not_found")
    assert_error(eve.delete(f"/api/v1/conversations/{cid}"), 404, "not_found")
    assert_error(eve.post("/api/v1/chat", {"conversation_id": cid, "message": "delete it"}),
                 404, "not_found")
    assert eve.get("/api/v1/conversations").json()["items"] == []
    j = say(eve, "delete the secret plan")
    assert "couldn't find" in j["reply"]
    j = say(eve, f"delete {mine['id']}")
    assert j["actions"][-1]["result"]["error"]["code"] == "not_found"
    assert get(me, mine["id"])["title"] == "Secret plan"
    assert me.get(f"/api/v1/conversations/{cid}").status_code == 200


def test_bad_input(me, chat_server):
    assert_error(me.post("/api/v1/chat", {}), 400, "invalid_argument", "message")
    assert_error(me.post("/api/v1/chat", {"message": 5}), 400, "invalid_argument", "message")
    assert_error(me.post("/api/v1/chat", {"message": "   "}), 400, "invalid_argument", "message")
    assert_error(me.post("/api/v1/chat", {"message": "a" * 4001}), 400, "invalid_argument",
                 "message")
    assert say(me, "a" * 4000)["reply"]
    j = say(me, "add " + "é" * 1998)
    assert j["actions"] == [] and "too long" in j["reply"]
    assert_error(me.post("/api/v1/chat", {"message": "hi", "extra": 1}), 400,
                 "invalid_argument", "extra")
    assert_error(me.post("/api/v1/chat", {"message": "hi", "conversation_id": 7}), 400,
                 "invalid_argument", "conversation_id")
    assert_error(me.post("/api/v1/chat", {"message": "hi", "conversation_id": "x"}), 404)
    assert_error(me.post("/api/v1/chat", {"message": "hi", "conversation_id": "999999"}), 404)
    assert_error(me.post("/api/v1/chat", data=b"{nope", headers={
        "Content-Type": "application/json"}), 400)
    assert_error(me.post("/api/v1/chat", {"message": "a\u0000b"}), 400)
    assert_error(requests.post(chat_server.url + "/api/v1/chat", json={"message": "hi"},
                               timeout=30), 401)
    cid = say(me, "hi")["conversation_id"]
    for params, field in (({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"),
                          ({"after": "-1"}, "after"), ({"bogus": "1"}, "bogus")):
        assert_error(me.get(f"/api/v1/conversations/{cid}/messages", params=params), 400,
                     "invalid_argument", field)
    assert_error(me.get("/api/v1/conversations", params={"x": "1"}), 400, "invalid_argument")
    # Nothing half-applied: no task came from any of this.
    assert me.get("/api/v1/tasks").json()["items"] == []


def test_a_conversation_holds_at_most_200_messages(me):
    cid = say(me, "hi")["conversation_id"]
    for _ in range(99):
        say(me, "thanks", cid)
    assert me.get(f"/api/v1/conversations/{cid}").json()["message_count"] == 200
    assert_error(me.post("/api/v1/chat", {"conversation_id": cid, "message": "add x"}), 409,
                 "limit_reached", "conversation_id")
    assert me.get("/api/v1/tasks").json()["items"] == []


# ---- the openai engine against the stand-in ----

class Standin:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, STANDIN, str(self.port)],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self.proc.stdout.readline().strip() == b"ready"

    def script(self, steps):
        requests.post(self.url + "/standin/reset", timeout=10)
        assert requests.post(self.url + "/standin/script", json=steps, timeout=10).ok

    def requests(self):
        return [r["body"] for r in requests.get(self.url + "/standin/requests",
                                                timeout=10).json()]

    def violations(self):
        return requests.get(self.url + "/standin/violations", timeout=10).json()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def llm():
    s = Standin()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ai_server(store, llm):
    s = Server(store=store, extra_env={
        "TOCK_FAKE_NOW_MS": str(NOW_MS), "TOCK_LLM_URL": llm.url + "/v1",
        "TOCK_LLM_MODEL": "standin-model", "TOCK_LLM_API_KEY": "sk-test-key",
        "TOCK_LLM_TIMEOUT_MS": "2000", "TOCK_LLM_RETRIES": "2"})
    yield s
    s.stop()


@pytest.fixture
def ai_me(ai_server):
    return register(ai_server, timezone="Europe/Paris")


def call(cid, name, args):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


def test_openai_tool_loop_wire_format(ai_me, llm, ai_server):
    llm.script([
        {"tool_calls": [call("call_1", "add_task",
                             json.dumps({"title": "Buy milk", "due": "2030-03-07"}))]},
        # arguments as an object (some servers), and no id
        {"tool_calls": [{"type": "function", "function": {
            "name": "complete_task", "arguments": {"id": "$LAST_ID"}}}]},
        {"content": "Added and completed Buy milk."},
    ])
    j = say(ai_me, "add buy milk for tomorrow and mark it done")
    assert j["engine"] == "openai"
    assert j["reply"] == "Added and completed Buy milk."
    assert tools_of(j) == ["add_task", "complete_task"]
    tid = j["actions"][0]["result"]["id"]
    assert j["actions"][1]["arguments"] == {"id": tid}
    assert get(ai_me, tid)["status"] == "done"
    assert llm.violations() == []
    reqs = llm.requests()
    assert len(reqs) == 3
    first = reqs[0]
    assert first["model"] == "standin-model" and first["tool_choice"] == "auto"
    names = [t["function"]["name"] for t in first["tools"]]
    assert set(names) == REGISTRY and len(names) == len(REGISTRY)
    mcp_schemas = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    assert mcp_schemas["add_task"]["required"] == ["title"]
    system = first["messages"][0]
    assert system["role"] == "system"
    assert "Europe/Paris" in system["content"] and "2030-03-06T10:00" in system["content"]
    assert first["messages"][-1] == {"role": "user",
                                     "content": "add buy milk for tomorrow and mark it done"}
    # The follow-up: the assistant message unchanged, then the tool result.
    second = reqs[1]["messages"]
    assert second[-2]["role"] == "assistant"
    assert second[-2]["tool_calls"][0]["id"] == "call_1"
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == "call_1"
    assert json.loads(second[-1]["content"])["id"] == tid
    third = reqs[2]["messages"]
    assert third[-1]["role"] == "tool" and third[-1]["tool_call_id"]
    assert json.loads(third[-1]["content"])["status"] == "done"
    # The API key went as a bearer token (checked on the stand-in's side).
    hdrs = requests.get(llm.url + "/standin/requests", timeout=10).json()[0]["headers"]
    assert hdrs["authorization"] == "Bearer sk-test-key"
    # The next turn carries the history.
    llm.script([{"content": "You're welcome."}])
    j2 = say(ai_me, "thanks", j["conversation_id"])
    msgs = llm.requests()[0]["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[2]["content"] == "Added and completed Buy milk."
    assert j2["reply"] == "You're welcome."


def test_openai_invalid_arguments_and_unknown_tool_go_back_as_tool_errors(ai_me, llm):
    llm.script([
        {"tool_calls": [call("c1", "add_task", "{not json"),
                        call("c2", "launch_rocket", "{}"),
                        call("c3", "add_task", json.dumps({"title": ""}))]},
        {"content": "Sorry, I could not do that."},
    ])
    j = say(ai_me, "add something")
    assert j["engine"] == "openai" and j["reply"] == "Sorry, I could not do that."
    # Only the valid call ran (and failed validation, recorded as its result).
    assert tools_of(j) == ["add_task"]
    assert j["actions"][0]["result"]["error"]["code"] == "invalid_argument"
    tool_msgs = [m for m in llm.requests()[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_msgs] == ["c1", "c2", "c3"]
    errs = [json.loads(m["content"])["error"]["code"] for m in tool_msgs]
    assert errs == ["invalid_json", "not_found", "invalid_argument"]
    assert ai_me.get("/api/v1/tasks").json()["items"] == []
    assert llm.violations() == []


def test_openai_retries_429_after_retry_after_and_5xx(ai_me, llm, ai_server):
    llm.script([
        {"status": 429, "headers": {"retry-after": "1"},
         "body": {"error": {"message": "slow down", "type": "rate_limit", "code":
                            "rate_limit_exceeded"}}},
        {"status": 503, "body": {"error": {"message": "busy", "type": "server_error",
                                           "code": None}}},
        {"content": "Hello from the model."},
    ])
    before = requests.get(ai_server.url + "/metrics", timeout=10).text
    j = say(ai_me, "hello")
    assert j["engine"] == "openai" and j["reply"] == "Hello from the model."
    assert len(llm.requests()) == 3
    after = requests.get(ai_server.url + "/metrics", timeout=10).text

    def count(text, result):
        m = re.search(r'^tock_chat_llm_requests_total\{result="%s"\} (\d+)' % result, text,
                      re.M)
        return int(m.group(1)) if m else 0
    assert [count(after, r) - count(before, r) for r in ("429", "5xx", "ok")] == [1, 1, 1]


def test_openai_quota_and_bad_requests_fall_back_to_builtin(ai_me, llm):
    llm.script([{"status": 429, "body": {"error": {"message": "quota", "type":
                                                   "insufficient_quota",
                                                   "code": "insufficient_quota"}}}])
    j = say(ai_me, "add buy bread tomorrow")
    assert len(llm.requests()) == 1  # not retried
    assert j["engine"] == "builtin" and "unreachable" in j["reply"]
    assert tools_of(j) == ["add_task"]
    assert ai_me.get("/api/v1/tasks").json()["items"][0]["title"] == "buy bread"
    msgs = ai_me.get(f"/api/v1/conversations/{j['conversation_id']}/messages").json()["items"]
    assert msgs[1]["engine"] == "builtin"


def test_openai_timeout_falls_back_to_builtin(ai_me, llm):
    llm.script([{"delay_s": 6, "content": "too late"}])
    j = say(ai_me, "what's due this week?")
    assert j["engine"] == "builtin"
    assert "unreachable" in j["reply"] and tools_of(j) == ["list_tasks"]


def test_openai_unreachable_falls_back_to_builtin(store):
    s = Server(store=store, extra_env={"TOCK_LLM_URL": f"http://127.0.0.1:{free_port()}/v1",
                                       "TOCK_LLM_CONNECT_TIMEOUT_MS": "1000"})
    try:
        u = register(s)
        j = say(u, "help")
        assert j["engine"] == "builtin" and "unreachable" in j["reply"]
    finally:
        s.stop()


def test_openai_step_limit(ai_me, llm):
    llm.script([{"tool_calls": [call(f"c{i}", "list_tags", "{}")]} for i in range(10)])
    j = say(ai_me, "loop forever")
    assert j["engine"] == "openai"
    assert tools_of(j) == ["list_tags"] * 8
    assert len(llm.requests()) == 8


def test_openai_failing_after_tools_ran_does_not_fall_back(ai_me, llm):
    llm.script([
        {"tool_calls": [call("c1", "add_task", json.dumps({"title": "Half way"}))]},
        {"status": 400, "body": {"error": {"message": "context too long",
                                           "type": "invalid_request_error", "code": None}}},
    ])
    j = say(ai_me, "add half way and then some")
    assert j["engine"] == "openai"
    assert tools_of(j) == ["add_task"]  # builtin did not act on top of it
    assert "stopped answering after 1 action" in j["reply"]
    assert [t["title"] for t in ai_me.get("/api/v1/tasks").json()["items"]] == ["Half way"]
