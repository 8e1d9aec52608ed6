"""MCP on every store backend: Streamable HTTP sessions live in the database
(migration 0007), so their lifecycle, per-user binding and cap are checked on
SQLite and PostgreSQL; `tock mcp` over stdio works against either database and
its writes are the REST API's (same rows, same events). The protocol in depth is
covered by the SDK client tests in tests/mcp."""
import json
import os
import subprocess
import time

import pytest
import requests

from conftest import JWT_SECRET, TOCK_BIN, Server, register

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "pytest", "version": "1"}}}


def mcp(server, token, body, session=None, **headers):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
         "Authorization": f"Bearer {token}"}
    if session:
        h["Mcp-Session-Id"] = session
    h.update(headers)
    return requests.post(server.url + "/mcp", data=json.dumps(body), headers=h, timeout=30)


def session(server, token):
    r = mcp(server, token, INIT)
    assert r.status_code == 200, r.text
    sid = r.headers["Mcp-Session-Id"]
    assert len(sid) == 64
    return sid


def call(server, token, sid, name, args, id_=2):
    r = mcp(server, token, {"jsonrpc": "2.0", "id": id_, "method": "tools/call",
                            "params": {"name": name, "arguments": args}}, sid,
            **{"MCP-Protocol-Version": "2025-11-25"})
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_session_lifecycle_and_tools(server):
    alice, bob = register(server), register(server)
    sid = session(server, alice.token)
    res = call(server, alice.token, sid, "add_task", {"title": "from mcp", "tags": ["x"]})
    assert res["isError"] is False
    task = res["structuredContent"]
    assert json.loads(res["content"][0]["text"]) == task
    # The REST API sees the same task and the same event.
    assert alice.get(f"/api/v1/tasks/{task['id']}").json()["title"] == "from mcp"
    hist = alice.get(f"/api/v1/tasks/{task['id']}/history").json()["items"]
    assert [e["type"] for e in hist] == ["task.created"]
    # Bound to alice: bob's token cannot use or end it.
    assert mcp(server, bob.token, {"jsonrpc": "2.0", "id": 3, "method": "ping"},
               sid).status_code == 404
    h = {"Authorization": f"Bearer {bob.token}", "Mcp-Session-Id": sid}
    assert requests.delete(server.url + "/mcp", headers=h, timeout=30).status_code == 404
    h["Authorization"] = f"Bearer {alice.token}"
    assert requests.delete(server.url + "/mcp", headers=h, timeout=30).status_code == 204
    assert mcp(server, alice.token, {"jsonrpc": "2.0", "id": 4, "method": "ping"},
               sid).status_code == 404
    # Errors: a tool failure is a result, an unknown tool a JSON-RPC error.
    sid = session(server, alice.token)
    res = call(server, alice.token, sid, "get_task", {"id": "99999999"})
    assert res["isError"] is True and "structuredContent" not in res
    r = mcp(server, alice.token, {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                                  "params": {"name": "nope"}}, sid)
    assert r.json()["error"]["code"] == -32602


def test_sessions_per_user_are_capped(store):
    s = Server({"TOCK_MCP_SESSIONS_PER_USER": "2"}, store=store)
    try:
        u, other = register(s), register(s)
        theirs = session(s, other.token)
        sids = [session(s, u.token) for _ in range(3)]
        ping = {"jsonrpc": "2.0", "id": 9, "method": "ping"}
        # The least recently used one made room; the others (and other users') live on.
        assert mcp(s, u.token, ping, sids[0]).status_code == 404
        assert mcp(s, u.token, ping, sids[1]).status_code == 200
        assert mcp(s, u.token, ping, sids[2]).status_code == 200
        assert mcp(s, other.token, ping, theirs).status_code == 200
    finally:
        s.stop()


def test_stdio_against_the_database(server):
    u = register(server)
    tok = u.post("/api/v1/auth/tokens", {"name": "mcp"}).json()["token"]
    env = {"PATH": os.environ["PATH"], "TOCK_DB": server.env["TOCK_DB"],
           "TOCK_JWT_SECRET": JWT_SECRET, "TOCK_TOKEN": tok,
           "ASAN_OPTIONS": server.env["ASAN_OPTIONS"], "UBSAN_OPTIONS": server.env["UBSAN_OPTIONS"]}
    if "TOCK_DATA_DIR" in server.env:
        env["TOCK_DATA_DIR"] = server.env["TOCK_DATA_DIR"]
    msgs = [INIT, {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "add_task", "arguments": {"title": "stdio task"}}},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "list_tasks", "arguments": {"q": "stdio"}}}]
    p = subprocess.run([TOCK_BIN, "mcp"], input="".join(json.dumps(m) + "\n" for m in msgs),
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "ERROR: AddressSanitizer" not in p.stderr and "runtime error:" not in p.stderr
    replies = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["id"] for r in replies] == [1, 2, 3]
    task = replies[1]["result"]["structuredContent"]
    assert [t["id"] for t in replies[2]["result"]["structuredContent"]["items"]] == [task["id"]]
    assert u.get(f"/api/v1/tasks/{task['id']}").json()["title"] == "stdio task"
    hist = u.get(f"/api/v1/tasks/{task['id']}/history").json()["items"]
    assert [e["type"] for e in hist] == ["task.created"]
    # The running server's relay publishes what `tock mcp` wrote to the outbox: the
    # audit consumer records it (polled with a deadline).
    deadline = time.monotonic() + 30
    while True:
        items = u.get("/api/v1/audit", params={"task_id": task["id"]}).json()["items"]
        if "task.created" in [a["type"] for a in items]:
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.05)


def test_schemas_are_valid_and_results_match_them(server):
    """Every tool schema is a valid JSON Schema (2020-12, MCP's default dialect),
    and real results validate against the output schemas (independently of the
    SDK client's own check in tests/mcp)."""
    from jsonschema import Draft202012Validator
    u = register(server)
    sid = session(server, u.token)
    r = mcp(server, u.token, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, sid)
    tools = {t["name"]: t for t in r.json()["result"]["tools"]}
    for t in tools.values():
        Draft202012Validator.check_schema(t["inputSchema"])
        Draft202012Validator.check_schema(t["outputSchema"])
    calls = [("add_task", {"title": "a", "due": "2031-05-01", "tags": ["t"],
                           "recurrence": {"rrule": "FREQ=WEEKLY"}}),
             ("list_tasks", {"tags": ["t"], "sort": ["due_at:desc"]}),
             ("list_tags", {})]
    for name, args in calls:
        # The arguments we send are valid for the declared input schema, too.
        Draft202012Validator(tools[name]["inputSchema"]).validate(args)
        res = call(server, u.token, sid, name, args)
        assert res["isError"] is False, res
        Draft202012Validator(tools[name]["outputSchema"]).validate(res["structuredContent"])
    tid = call(server, u.token, sid, "list_tasks", {})["structuredContent"]["items"][0]["id"]
    for name in ["get_task", "complete_task", "reopen_task", "stop_recurrence", "delete_task"]:
        res = call(server, u.token, sid, name, {"id": tid})
        assert res["isError"] is False, res
        Draft202012Validator(tools[name]["outputSchema"]).validate(res["structuredContent"])
    # A bad argument fails the input schema here and is an isError result there.
    bad = {"title": "a", "priority": "p1"}
    assert not Draft202012Validator(tools["add_task"]["inputSchema"]).is_valid(bad)
    assert call(server, u.token, sid, "add_task", bad)["isError"] is True


def test_tool_calls_are_counted(fresh_server):
    u = register(fresh_server)
    sid = session(fresh_server, u.token)
    call(fresh_server, u.token, sid, "list_tags", {})
    call(fresh_server, u.token, sid, "get_task", {"id": "424242"})
    text = requests.get(fresh_server.url + "/metrics", timeout=30).text
    assert 'tock_tool_calls_total{tool="list_tags"} 1' in text
    assert 'tock_tool_calls_total{tool="get_task"} 1' in text
    assert 'tock_tool_errors_total{tool="get_task"} 1' in text
    assert 'tock_tool_errors_total{tool="list_tags"}' not in text
