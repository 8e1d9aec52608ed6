"""Roles as processes (issue 3 §5 and §7): separate `tock serve --roles ...`
processes against one PostgreSQL database and one Kafka-protocol cluster (the
3-broker librdkafka mock, tests/tools/kafka_mock.c) form one working system.

- The multi-process scenario: an api,relay process and two audit replicas (one
  consumer group, tock-audit). Several users create, update, complete and delete
  2,000 tasks; half-way one audit replica is killed with SIGKILL and restarted.
  At the end the audit log has exactly one row per outbox event (none missing,
  none twice: processed_events holds each id once for `audit`), and every outbox
  event is on its topic exactly once, in per-user order (check_topics).
- Two relay replicas on one database share the outbox (per-user relay locks +
  FOR UPDATE SKIP LOCKED): every event is published once, in per-user order.
- A process without the api role serves only /healthz, /readyz (with its roles),
  /metrics (and the Dapr routes): the REST API is not there.
- Retention: published outbox rows are pruned after TOCK_OUTBOX_RETENTION and
  processed_events marks after TOCK_PROCESSED_RETENTION; task history (kept in
  event_log) is unchanged by pruning. Runs on both stores.
"""
import json
import os
import subprocess
import threading

import pytest
import requests

from conftest import TEST_STORES, TOCK_BIN, Server, postgres, register
from test_events import read_outbox
from test_kafka import KCAT, MOCK_BIN, TOPICS, KafkaMock, check_topics, kafka_env, wait_for

needs_pg = pytest.mark.skipif("postgres" not in TEST_STORES,
                              reason="TOCK_TEST_STORES does not include postgres")
needs_kafka = [
    pytest.mark.skipif(not KCAT, reason="kcat is not installed (scripts/deps.sh test)"),
    pytest.mark.skipif(not os.path.exists(MOCK_BIN), reason=f"{MOCK_BIN} is not built"),
]

N_TASKS = 2000
N_USERS = 8


def metric(server, name, labels=""):
    """The value of one sample (name{labels}) in /metrics, 0 when absent."""
    want = name + ("{" + labels + "}" if labels else "")
    for line in requests.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(want + " "):
            return float(line.split()[1])
    return 0.0


def kill9(server):
    """SIGKILL: no shutdown, no flush — the crash the consumer framework must survive."""
    server.proc.kill()
    server.proc.wait()
    server._out.close()
    server._err.close()


def work(client, ids, progress, lock):
    """Create, update, complete every 2nd, delete every 3rd of the user's tasks."""
    for i in ids:
        r = client.post("/api/v1/tasks", {"title": f"task {i}", "tags": [f"t{i % 5}"]})
        assert r.status_code == 201, r.text
        tid = r.json()["id"]
        assert client.patch(f"/api/v1/tasks/{tid}", {"priority": "high"}).status_code == 200
        if i % 2 == 0:
            assert client.post(f"/api/v1/tasks/{tid}/complete").status_code == 200
        if i % 3 == 0:
            assert client.delete(f"/api/v1/tasks/{tid}").status_code == 204
        with lock:
            progress[0] += 1


@needs_pg
@pytest.mark.parametrize("_", [0], ids=["postgres"])
def test_multi_process_audit_survives_kill9(_):
    for m in needs_kafka:
        if m.args[0]:
            pytest.skip(m.kwargs["reason"])
    pg = postgres()
    db = pg.create_db()
    mock = KafkaMock([f"mp.{t}" for t in TOPICS])
    env = dict(kafka_env(mock, "mp."), TOCK_DB=pg.url(db),
               # A killed member's partitions move on after this (default 45 s).
               TOCK_KAFKA_SESSION_TIMEOUT_MS="6000",
               TOCK_KAFKA_HEARTBEAT_INTERVAL_MS="500")
    procs = []
    try:
        api = Server(extra_env=dict(env, TOCK_ROLES="api,relay"))
        procs.append(api)
        audits = [Server(extra_env=dict(env, TOCK_ROLES="audit")) for _ in range(2)]
        procs += audits
        users = [register(api) for _ in range(N_USERS)]
        progress, lock, errors = [0], threading.Lock(), []

        def run(u, ids):
            try:
                work(u, ids, progress, lock)
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(u, range(k, N_TASKS, N_USERS)))
                   for k, u in enumerate(users)]
        for t in threads:
            t.start()
        wait_for(lambda: progress[0] >= N_TASKS // 2 or errors, "half of the work", 600)
        kill9(audits[0])
        procs.remove(audits[0])
        audits[0] = Server(extra_env=dict(env, TOCK_ROLES="audit"))
        procs.append(audits[0])
        for t in threads:
            t.join()
        assert not errors, errors[0]

        total = int(pg.query(db, "SELECT count(*) FROM outbox")[0][0])
        assert total >= N_TASKS * 4, total  # created+sync and updated+sync at least
        wait_for(lambda: int(pg.query(db, "SELECT count(*) FROM outbox WHERE published_at "
                                          "IS NULL")[0][0]) == 0, "the relay to drain", 300)
        wait_for(lambda: int(pg.query(db, "SELECT count(*) FROM audit_log")[0][0]) >= total,
                 "the audit replicas to catch up", 300)
        outbox_ids = {r[0] for r in pg.query(db, "SELECT event_id FROM outbox")}
        audit_rows = pg.query(db, "SELECT event_id FROM audit_log")
        assert len(outbox_ids) == total
        assert len(audit_rows) == total, "audit rows != outbox events"
        assert {r[0] for r in audit_rows} == outbox_ids
        marks = pg.query(db, "SELECT event_id FROM processed_events WHERE consumer = 'audit'")
        assert len(marks) == total and {r[0] for r in marks} == outbox_ids
        # Each replica did part of the work, or the kill hit an idle member: either
        # way the survivors' counters add up to at least every event once.
        consumed = sum(metric(a, "tock_events_consumed_total", 'consumer="audit"')
                       for a in audits)
        assert consumed > 0
        assert metric(audits[1], "tock_consumer_lag_seconds", 'consumer="audit"') >= 0
        check_topics(api, mock, "mp.")
    finally:
        for p in procs:
            p.stop()
        mock.stop()
        pg.drop_db(db)


@needs_pg
@pytest.mark.parametrize("_", [0], ids=["postgres"])
def test_two_relays_publish_once_in_user_order(_):
    for m in needs_kafka:
        if m.args[0]:
            pytest.skip(m.kwargs["reason"])
    pg = postgres()
    db = pg.create_db()
    mock = KafkaMock([f"tr.{t}" for t in TOPICS])
    env = dict(kafka_env(mock, "tr."), TOCK_DB=pg.url(db))
    procs = []
    try:
        procs.append(Server(extra_env=dict(env, TOCK_ROLES="api,relay")))
        procs.append(Server(extra_env=dict(env, TOCK_ROLES="relay")))
        api = procs[0]
        users = [register(api) for _ in range(6)]
        progress, lock, errors = [0], threading.Lock(), []

        def run(u, ids):
            try:
                work(u, ids, progress, lock)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(u, range(k, 300, 6)))
                   for k, u in enumerate(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        wait_for(lambda: int(pg.query(db, "SELECT count(*) FROM outbox WHERE published_at "
                                          "IS NULL")[0][0]) == 0, "the relays to drain", 120)
        total = check_topics(api, mock, "tr.")
        published = sum(metric(p, "tock_events_published_total", f'topic="{t}"')
                        for p in procs for t in ("task-events", "task-updates"))
        assert published == total, (published, total)
    finally:
        for p in procs:
            p.stop()
        mock.stop()
        pg.drop_db(db)


def test_process_without_api_role_serves_probes_only(store):
    s = Server(extra_env={"TOCK_ROLES": "audit"}, store=store)
    try:
        r = requests.get(s.url + "/readyz", timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["roles"] == {"audit": {"status": "ready"}}, r.text
        assert requests.get(s.url + "/healthz", timeout=10).status_code == 200
        assert "tock_http_requests_total" in requests.get(s.url + "/metrics", timeout=10).text
        for path in ("/api/v1/tasks", "/api/v1/me"):
            r = requests.get(s.url + path, timeout=10)
            assert r.status_code == 404 and r.json()["error"]["code"], r.text
        r = requests.post(s.url + "/api/v1/auth/register", timeout=10,
                          json={"email": "x@example.com", "password": "long enough pw"})
        assert r.status_code == 404, r.text
    finally:
        s.stop()


def test_readyz_lists_each_role(store):
    s = Server(extra_env={"TOCK_ROLES": "api,relay,audit"}, store=store)
    try:
        body = requests.get(s.url + "/readyz", timeout=10).json()
        assert body["status"] == "ready"
        assert set(body["roles"]) == {"api", "relay", "audit"}, body
        assert all(v["status"] == "ready" for v in body["roles"].values()), body
    finally:
        s.stop()


def test_outbox_and_processed_marks_are_pruned_history_kept(store):
    s = Server(extra_env={"TOCK_OUTBOX_RETENTION": "0s", "TOCK_PROCESSED_RETENTION": "0s",
                          "TOCK_MAINTENANCE_INTERVAL": "200ms"}, store=store)
    try:
        c = register(s)
        tid = c.post("/api/v1/tasks", {"title": "kept in history"}).json()["id"]
        assert c.patch(f"/api/v1/tasks/{tid}", {"title": "renamed"}).status_code == 200
        assert c.post(f"/api/v1/tasks/{tid}/complete").status_code == 200
        # 3 task-events + 3 task.sync: every row goes once published and past retention.
        wait_for(lambda: metric(s, "tock_pruned_rows_total", 'table="outbox"') >= 6,
                 "the outbox rows to be pruned")
        assert read_outbox(s) == [], "published rows past retention are still in the outbox"
        wait_for(lambda: metric(s, "tock_pruned_rows_total", 'table="processed_events"') >= 6,
                 "the audit consumer's marks to be pruned")
        h = c.get(f"/api/v1/tasks/{tid}/history")
        assert h.status_code == 200, h.text
        events = h.json()["items"]
        types = [e["type"] for e in events]
        assert types == ["task.created", "task.updated", "task.completed"], types
        # A new change after pruning: history spans event_log and the outbox.
        assert c.post(f"/api/v1/tasks/{tid}/reopen").status_code == 200
        h2 = c.get(f"/api/v1/tasks/{tid}/history").json()
        events2 = h2["items"]
        assert [e["type"] for e in events2][:3] == types
        assert len(events2) == 4 and events2[:3] == events
    finally:
        s.stop()


def test_bad_retention_setting_stops_startup():
    with pytest.raises(RuntimeError) as e:
        Server(extra_env={"TOCK_OUTBOX_RETENTION": "7 days"})
    assert "TOCK_OUTBOX_RETENTION" in str(e.value)


def test_dlq_cli_lists_and_refuses_unreplayable(tmp_path):
    """A malformed record on task-events (produced with kcat) goes straight to the dead
    letters; `tock dlq list` shows it with the consumer and error, and `tock dlq
    replay` refuses it (its original is not a CloudEvent) with a clear message."""
    for m in needs_kafka:
        if m.args[0]:
            pytest.skip(m.kwargs["reason"])
    mock = KafkaMock([f"dl.{t}" for t in TOPICS])
    s = None
    try:
        s = Server(extra_env=dict(kafka_env(mock, "dl."), TOCK_ROLES="api,relay,audit"))
        r = subprocess.run([KCAT, "-P", "-b", mock.bootstrap, "-t", "dl.task-events", "-k", "1"],
                           input=b"this is not json", capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        env = dict(s.env)

        def listed():
            out = subprocess.run([TOCK_BIN, "dlq", "list"], env=env, capture_output=True,
                                 timeout=60, stdin=subprocess.DEVNULL)
            assert out.returncode == 0, out.stderr
            return [json.loads(x) for x in out.stdout.decode().splitlines() if x.strip()]
        rows = wait_for(listed, "the malformed record to be dead-lettered")
        assert len(rows) == 1, rows
        # The logical topic (without TOCK_TOPIC_PREFIX): a replay goes back through it.
        assert rows[0]["consumer"] == "audit" and rows[0]["topic"] == "task-events", rows[0]
        assert rows[0]["error"] and rows[0]["replayed"] is False, rows[0]
        out = subprocess.run([TOCK_BIN, "dlq", "replay", rows[0]["id"]], env=env,
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode == 1 and b"not a replayable CloudEvent" in out.stderr, out
        out = subprocess.run([TOCK_BIN, "dlq", "replay", "no-such-id"], env=env,
                             capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode == 1 and b"no dead letter with id no-such-id" in out.stderr, out
        assert listed()[0]["replayed"] is False
    finally:
        if s:
            s.stop()
        mock.stop()
