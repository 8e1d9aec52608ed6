"""The Dapr bus (TOCK_BUS=dapr, docs/dapr.md) against a stand-in sidecar.

No real Dapr sidecar runs here: tests/tools/dapr_standin.py plays it, following the
sidecar contract of SPECS.md exactly (publish, healthz, GET /dapr/subscribe at
start-up, deliveries with SUCCESS/RETRY/DROP, 404, dead-letter topic, api tokens),
and records what it saw.

- Publish: every outbox event reaches the stand-in exactly once, on
  TOCK_TOPIC_PREFIX + topic of pubsub TOCK_DAPR_PUBSUB, with
  metadata.partitionKey == userid, Content-Type application/cloudevents+json, the
  body equal to the outbox event, dapr-api-token == DAPR_API_TOKEN, per-user order.
- Outage: the sidecar answers 500; the API keeps answering 201, the outbox grows,
  nothing is marked published; after recovery everything arrives once.
- Configuration errors (unknown pubsub -> 404) are logged clearly and retried.
- The app side: GET /dapr/subscribe (what the stand-in fetched), /events/... for an
  unknown route -> 404, APP_API_TOKEN enforced, routes absent with another bus,
  /readyz follows the sidecar's /v1.0/healthz.
- End to end (when the build has the audit role): relay -> stand-in ->
  /events/audit/<topic> -> audit consumer; every event acked once (SUCCESS) and
  one audit entry per event.
- The stand-in itself honours SUCCESS/RETRY/DROP/404 and dead-letters (against a
  scripted app), so the tests above rest on a faithful sidecar.
The handler side of deliveries (SUCCESS/RETRY/DROP from a real handler) is
tests/unit/test_bus_dapr.c.
"""
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import conftest
from conftest import Server, register
from test_events import make_validator, read_outbox

STANDIN = os.path.join(conftest.ROOT, "tests", "tools", "dapr_standin.py")
CE_TYPE = "application/cloudevents+json"
EVENT_VALIDATOR = make_validator("event")


class Standin:
    """One dapr_standin.py process; app_port is where it expects the app."""

    def __init__(self, app_port, env=None, args=()):
        self.port = conftest.free_port()
        e = dict(os.environ)
        for k in ("DAPR_API_TOKEN", "APP_API_TOKEN"):
            e.pop(k, None)
        e.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, STANDIN, "--port", str(self.port), "--app-port", str(app_port),
             *args], env=e, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("ready"), line
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, what):
        r = requests.get(f"{self.url}/standin/{what}", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def config(self, **kw):
        assert requests.post(f"{self.url}/standin/config", json=kw, timeout=10).ok

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def start_pair(monkeypatch, tock_env=None, standin_env=None, standin_args=()):
    """A stand-in expecting the app on a free port, then tock serve on that port."""
    app_port = conftest.free_port()
    sidecar = Standin(app_port, standin_env, standin_args)
    monkeypatch.setattr(conftest, "free_port", lambda: app_port)
    env = {"TOCK_BUS": "dapr", "DAPR_HTTP_PORT": str(sidecar.port)}
    env.update(tock_env or {})
    try:
        server = Server(extra_env=env)
    except Exception:
        sidecar.stop()
        raise
    monkeypatch.undo()
    return sidecar, server


def logs(server):
    """What the server logged (log lines go to stdout, the banner to stderr)."""
    with open(server.stdout_path, "rb") as f:
        return server.stderr() + f.read().decode("utf-8", "replace")


def wait_for(pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def outbox_depth(server):
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("tock_outbox_depth "):
            return float(line.split()[1])
    raise AssertionError("no tock_outbox_depth in /metrics")


def mutate(client, n):
    codes = []
    for i in range(n):
        r = client.post("/api/v1/tasks", {"title": f"task {i}", "tags": ["d"]})
        codes.append(r.status_code)
        if r.status_code != 201:
            continue
        tid = r.json()["id"]
        codes.append(client.patch(f"/api/v1/tasks/{tid}", {"priority": "high"}).status_code)
        if i % 2 == 0:
            codes.append(client.post(f"/api/v1/tasks/{tid}/complete").status_code)
        if i % 3 == 0:
            codes.append(client.delete(f"/api/v1/tasks/{tid}").status_code)
    return codes


def check_published(server, sidecar, prefix="", pubsub="tock-pubsub", token=None):
    """Every outbox row was published exactly once as documented; returns the count."""
    rows = read_outbox(server)
    assert rows and all(r["published"] for r in rows), "unpublished outbox rows"
    pubs = sidecar.get("published")
    ids = [p["event"]["id"] for p in pubs]
    assert len(ids) == len(set(ids)), "an event was published twice"
    assert sorted(ids) == sorted(r["event"]["id"] for r in rows)
    by_id = {r["event"]["id"]: r for r in rows}
    for p in pubs:
        row = by_id[p["event"]["id"]]
        assert p["pubsub"] == pubsub
        assert p["topic"] == prefix + row["topic"], (p["topic"], row["topic"])
        assert p["partition_key"] == row["key"] == row["event"]["userid"]
        assert p["content_type"] == CE_TYPE
        assert p["token"] == token
        assert json.loads(p["body"]) == row["event"], "body differs from the outbox event"
        assert not [e.message for e in EVENT_VALIDATOR.iter_errors(p["event"])]
    for user in {r["key"] for r in rows}:
        assert ([p["event"]["id"] for p in pubs if p["partition_key"] == user] ==
                [r["event"]["id"] for r in rows if r["key"] == user]), f"user {user} reordered"
    return len(rows)


def test_events_published_once_with_partition_key(monkeypatch):
    sidecar, s = start_pair(monkeypatch,
                            tock_env={"TOCK_TOPIC_PREFIX": "t1.", "DAPR_API_TOKEN": "sidecar-tok"},
                            standin_env={"DAPR_API_TOKEN": "sidecar-tok"})
    try:
        users = [register(s) for _ in range(3)]
        for u in users:
            assert set(mutate(u, 5)) <= {200, 201, 204}
        wait_for(lambda: outbox_depth(s) == 0, "the relay to drain the outbox")
        n = check_published(s, sidecar, prefix="t1.", token="sidecar-tok")
        assert n >= 3 * (5 * 2 + 5 * 2 + 3 * 2 + 2 * 2)
        assert sidecar.get("rejected") == []
        r = requests.get(s.url + "/readyz", timeout=10)
        assert r.status_code == 200 and r.json()["checks"]["bus"] == "ok", r.text
    finally:
        s.stop()
        sidecar.stop()


def test_sidecar_failure_keeps_api_up_and_recovers(monkeypatch):
    sidecar, s = start_pair(monkeypatch)
    try:
        u = register(s)
        sidecar.config(fail_publish=10**9)
        codes = mutate(u, 4)
        assert set(codes) <= {200, 201, 204} and 201 in codes
        d1 = wait_for(lambda: outbox_depth(s) or None, "outbox depth > 0")
        assert wait_for(lambda: len(sidecar.get("rejected")) >= 2, "the relay to retry")
        codes = mutate(u, 2)
        assert 201 in codes
        assert outbox_depth(s) > d1, "the outbox did not grow while the sidecar failed"
        assert sidecar.get("published") == []
        assert not any(r["published"] for r in read_outbox(s))
        assert all(r["reason"] == "ERR_PUBSUB_PUBLISH_MESSAGE" for r in sidecar.get("rejected"))
        sidecar.config(fail_publish=0)
        wait_for(lambda: outbox_depth(s) == 0, "the relay to drain after recovery")
        check_published(s, sidecar)
        assert "will retry" in logs(s)
    finally:
        s.stop()
        sidecar.stop()


def test_unknown_pubsub_is_a_logged_configuration_error(monkeypatch):
    sidecar, s = start_pair(monkeypatch, tock_env={"TOCK_DAPR_PUBSUB": "no-such-pubsub"})
    try:
        u = register(s)
        assert u.post("/api/v1/tasks", {"title": "x"}).status_code == 201
        wait_for(lambda: sidecar.get("rejected"), "a publish attempt")
        rej = sidecar.get("rejected")[0]
        assert rej["pubsub"] == "no-such-pubsub" and rej["reason"] == "ERR_PUBSUB_NOT_FOUND"
        assert outbox_depth(s) > 0 and sidecar.get("published") == []
        wait_for(lambda: "rejected with HTTP 404" in logs(s), "the error in the log")
        assert "TOCK_DAPR_PUBSUB" in logs(s)
    finally:
        s.stop()
        sidecar.stop()


def test_subscribe_and_event_routes(monkeypatch):
    sidecar, s = start_pair(monkeypatch, tock_env={"TOCK_TOPIC_PREFIX": "p."})
    try:
        r = requests.get(s.url + "/dapr/subscribe", timeout=10)
        assert r.status_code == 200, r.text
        subs = r.json()
        assert isinstance(subs, list)
        for sub in subs:
            assert set(sub) <= {"pubsubname", "topic", "route", "deadLetterTopic", "metadata"}
            assert sub["pubsubname"] == "tock-pubsub" and sub["topic"].startswith("p.")
            group_topic = sub["route"].split("/")
            assert group_topic[:2] == ["", "events"] and len(group_topic) == 4
            assert sub["topic"] == "p." + group_topic[3] and sub["metadata"] == {}
            if group_topic[3] != "dlq":
                assert sub["deadLetterTopic"] == "p.dlq"
        # The stand-in fetched the same list at start-up.
        wait_for(lambda: requests.post(sidecar.url + "/standin/resubscribe",
                                       timeout=10).json() is not None, "a subscription fetch")
        assert sidecar.get("subscriptions") == subs
        ev = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tock/test",
              "type": "task.created", "userid": "1", "data": {}}
        h = {"Content-Type": CE_TYPE, "traceparent":
             "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
        r = requests.post(s.url + "/events/no-such-group/task-events", data=json.dumps(ev),
                          headers=h, timeout=10)
        assert r.status_code == 404, r.text
        r = requests.post(s.url + "/events/no-such-group/task-events", data="x",
                          headers={"Content-Type": "text/plain"}, timeout=10)
        assert r.status_code == 415, r.text
        for sub in subs:  # routes that exist (when a consumer role subscribes)
            r = requests.post(s.url + sub["route"], data="not json", headers=h, timeout=10)
            assert r.status_code == 200 and r.json() == {"status": "DROP"}, r.text
    finally:
        s.stop()
        sidecar.stop()


def test_app_api_token_is_enforced(monkeypatch):
    sidecar, s = start_pair(monkeypatch, tock_env={"APP_API_TOKEN": "app-secret"},
                            standin_env={"APP_API_TOKEN": "app-secret"})
    try:
        url = s.url + "/dapr/subscribe"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, headers={"dapr-api-token": "app-secreT"},
                            timeout=10).status_code == 401
        assert requests.get(url, headers={"dapr-api-token": "app-secret-longer"},
                            timeout=10).status_code == 401
        assert requests.get(url, headers={"dapr-api-token": "app-secret"},
                            timeout=10).status_code == 200
        ev_url = s.url + "/events/g/task-events"
        h = {"Content-Type": CE_TYPE}
        assert requests.post(ev_url, data="{}", headers=h, timeout=10).status_code == 401
        h["dapr-api-token"] = "app-secret"
        assert requests.post(ev_url, data="{}", headers=h, timeout=10).status_code == 404
        # The stand-in sends the token: its start-up fetch succeeded.
        subs = requests.post(sidecar.url + "/standin/resubscribe", timeout=10).json()
        assert subs is not None
        # Bearer auth is not what these routes take.
        u = register(s)
        assert u.get("/dapr/subscribe").status_code == 401
    finally:
        s.stop()
        sidecar.stop()


def test_dapr_api_token_missing_is_rejected_by_sidecar(monkeypatch):
    sidecar, s = start_pair(monkeypatch, standin_env={"DAPR_API_TOKEN": "needed"})
    try:
        u = register(s)
        assert u.post("/api/v1/tasks", {"title": "x"}).status_code == 201
        wait_for(lambda: sidecar.get("rejected"), "a publish attempt")
        assert sidecar.get("rejected")[0]["reason"] == "ERR_UNAUTHORIZED"
        assert sidecar.get("published") == [] and outbox_depth(s) > 0
    finally:
        s.stop()
        sidecar.stop()


def test_readyz_follows_sidecar_health(monkeypatch):
    sidecar, s = start_pair(monkeypatch)
    try:
        assert requests.get(s.url + "/readyz", timeout=10).status_code == 200
        sidecar.config(healthy=False)
        r = requests.get(s.url + "/readyz", timeout=10)
        assert r.status_code == 503 and r.json()["checks"]["bus"] != "ok", r.text
        sidecar.config(healthy=True)
        assert requests.get(s.url + "/readyz", timeout=10).status_code == 200
    finally:
        s.stop()
        sidecar.stop()


def test_dapr_routes_absent_with_other_bus():
    s = Server()
    try:
        assert requests.get(s.url + "/dapr/subscribe", timeout=10).status_code == 404
        r = requests.post(s.url + "/events/g/task-events", data="{}",
                          headers={"Content-Type": CE_TYPE}, timeout=10)
        assert r.status_code == 404
        ready = requests.get(s.url + "/readyz", timeout=10).json()
        # The in-process bus is always healthy; no sidecar is consulted.
        assert ready["checks"]["bus"] == "ok", ready
    finally:
        s.stop()


def test_end_to_end_delivery_to_audit_consumer(monkeypatch):
    """Relay -> stand-in -> /events/audit/<topic> -> the audit consumer (if this build
    has the audit role): every event is acked once and has one audit entry."""
    sidecar, s = start_pair(monkeypatch, tock_env={"TOCK_TOPIC_PREFIX": "e."})
    try:
        subs = requests.get(s.url + "/dapr/subscribe", timeout=10).json()
        routes = {x["route"] for x in subs}
        if "/events/audit/task-events" not in routes:
            pytest.skip("this build has no audit consumer subscribed")
        wait_for(lambda: sidecar.get("subscriptions") == subs, "the stand-in's subscriptions")
        u = register(s)
        assert set(mutate(u, 4)) <= {200, 201, 204}
        wait_for(lambda: outbox_depth(s) == 0, "the relay to drain the outbox")
        rows = [r for r in read_outbox(s) if r["key"] == u.user["id"]]
        want = {r["event"]["id"] for r in rows}

        def acked():
            d = [x for x in sidecar.get("deliveries") if x.get("route", "").startswith(
                "/events/audit/")]
            ok = [x["event_id"] for x in d if x["outcome"] == "acked"]
            return d if set(ok) >= want else None
        d = wait_for(acked, "every event acked by the audit consumer", timeout=30)
        assert all(x["outcome"] == "acked" and x["status"] == "SUCCESS" for x in d), d
        ok = [x["event_id"] for x in d]
        assert len(ok) == len(set(ok)), "an event was delivered twice"
        items = u.get("/api/v1/audit", params={"limit": 200}).json()["items"]
        assert sorted(i["event_id"] for i in items) == sorted(want)
    finally:
        s.stop()
        sidecar.stop()


# ---------------------------------------------------------------- the stand-in itself

class ScriptedApp:
    """A fake app: answers deliveries by the event's subject; records what it got."""

    SUBS = [{"pubsubname": "tock-pubsub", "topic": "task-events",
             "route": "/events/test/task-events", "deadLetterTopic": "dlq", "metadata": {}},
            {"pubsubname": "tock-pubsub", "topic": "dlq", "route": "/events/test/dlq",
             "metadata": {}}]

    def __init__(self):
        self.got = []
        app = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, status, obj=None):
                body = b"" if obj is None else json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path == "/dapr/subscribe":
                    return self._send(200, ScriptedApp.SUBS)
                self._send(404)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ev = json.loads(body)
                app.got.append({"path": self.path, "ct": self.headers.get("Content-Type"),
                                "traceparent": self.headers.get("traceparent"),
                                "token": self.headers.get("dapr-api-token"), "event": ev})
                if self.path == "/events/test/dlq":
                    return self._send(200, {"status": "SUCCESS"})
                answer = ev.get("subject")
                if answer == "404":
                    return self._send(404)
                if answer == "500":
                    return self._send(500)
                if answer == "EMPTY":
                    return self._send(200)
                self._send(200, {"status": answer})

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_standin_honours_delivery_statuses():
    app = ScriptedApp()
    sidecar = Standin(app.port, env={"APP_API_TOKEN": "a-tok"}, args=["--max-retries", "2"])
    try:
        wait_for(lambda: sidecar.get("subscriptions") == ScriptedApp.SUBS, "subscriptions")
        for subject in ("SUCCESS", "EMPTY", "RETRY", "DROP", "404", "500"):
            ev = {"specversion": "1.0", "id": subject, "source": "tock/test",
                  "type": "task.created", "subject": subject}
            r = requests.post(f"{sidecar.url}/v1.0/publish/tock-pubsub/task-events"
                              "?metadata.partitionKey=7", data=json.dumps(ev),
                              headers={"Content-Type": CE_TYPE}, timeout=10)
            assert r.status_code == 204, r.text
        r = requests.post(f"{sidecar.url}/v1.0/publish/tock-pubsub/task-events",
                          data="{}", headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code == 400 and r.json()["errorCode"].startswith("ERR_")

        def outcomes():
            d = sidecar.get("deliveries")
            final = {x["event_id"]: x["outcome"] for x in d
                     if x["topic"] == "task-events" and x["outcome"] != "retry"}
            return d if len(final) == 6 and len([x for x in d if x["topic"] == "dlq"]) == 3 \
                else None
        d = wait_for(outcomes, "all deliveries to settle", timeout=30)
        main = [x for x in d if x["topic"] == "task-events"]
        attempts = {i: max(x["attempt"] for x in main if x["event_id"] == i) for i in
                    ("SUCCESS", "EMPTY", "RETRY", "DROP", "404", "500")}
        assert attempts == {"SUCCESS": 1, "EMPTY": 1, "RETRY": 3, "DROP": 1, "404": 1, "500": 3}
        final = {x["event_id"]: x["outcome"] for x in main if x["outcome"] != "retry"}
        assert final == {"SUCCESS": "acked", "EMPTY": "acked", "RETRY": "dead-lettered",
                         "DROP": "dead-lettered", "404": "dropped", "500": "dead-lettered"}
        assert sorted(x["event_id"] for x in d if x["topic"] == "dlq") == ["500", "DROP", "RETRY"]
        for g in app.got:
            assert g["ct"] == CE_TYPE and g["token"] == "a-tok" and g["traceparent"]
            assert g["event"]["pubsubname"] == "tock-pubsub"
            assert g["event"]["traceparent"] == g["traceparent"]
    finally:
        sidecar.stop()
        app.stop()
