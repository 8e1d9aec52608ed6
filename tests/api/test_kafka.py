"""The Kafka bus (TOCK_BUS=kafka:..., docs/kafka.md) against a real Kafka-protocol
cluster: librdkafka's mock cluster of 3 brokers on loopback, run by the test helper
`tock-kafka-mock` (tests/tools/kafka_mock.c, built next to TOCK_BIN). The topics
are read back with Debian's `kcat` (-J: one JSON envelope per record with
partition, offset, key, headers and payload).

- Delivery: mutations of several users through the API; then every outbox event
  (`tock events`) is on its topic exactly once, byte-for-byte the outbox JSON,
  record key == userid, header content-type: application/cloudevents+json;
  charset=UTF-8, valid against docs/schemas/event.schema.json; all records of one
  user are in one partition, in outbox order. Also checks TOCK_TOPIC_PREFIX and
  TOCK_KAFKA_* passthrough (a bad property stops start-up with its name).
- Outage: all brokers down for 30 s while three users keep writing; the API keeps
  answering 2xx, tock_outbox_depth grows, nothing is marked published, /readyz
  stays 200 with the relay "degraded"; brokers up; everything arrives (polled with
  a deadline), once each, in per-user order.
"""
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import TOCK_BIN, Server, register
from test_events import make_validator, read_outbox

MOCK_BIN = os.environ.get("TOCK_KAFKA_MOCK_BIN",
                          os.path.join(os.path.dirname(TOCK_BIN), "tock-kafka-mock"))
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
TOPICS = ["task-events", "task-updates", "reminders", "dlq"]
EVENT_VALIDATOR = make_validator("event")
OUTAGE_S = 30

pytestmark = [
    pytest.mark.skipif(not KCAT, reason="kcat is not installed (scripts/deps.sh test)"),
    pytest.mark.skipif(not os.path.exists(MOCK_BIN), reason=f"{MOCK_BIN} is not built"),
]


class KafkaMock:
    """One tock-kafka-mock process: a 3-broker cluster plus a stdin control channel."""

    def __init__(self, topics=(), brokers=3):
        self.dir = tempfile.mkdtemp(prefix="tock-kafka-")
        self._err = open(os.path.join(self.dir, "mock.stderr"), "wb")
        self.proc = subprocess.Popen([MOCK_BIN, "--brokers", str(brokers), *topics],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._err)
        self._lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.bootstrap = self._line()
        assert self.bootstrap.count(",") == brokers - 1, self.bootstrap
        assert self._line() == "ready"

    def _read(self):
        for raw in self.proc.stdout:
            self._lines.put(raw.decode().strip())

    def _line(self, timeout=20):
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("tock-kafka-mock did not answer") from None

    def command(self, cmd):
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()
        assert self._line() == "ok", cmd

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # EOF ends the helper
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()
        assert self.proc.returncode == 0, self.proc.returncode

    def read_topic(self, topic):
        """Every record of the topic, via kcat -J (partition, offset, key, headers, payload)."""
        r = subprocess.run([KCAT, "-C", "-b", self.bootstrap, "-t", topic, "-o", "beginning",
                            "-e", "-q", "-J", "-X", "topic.metadata.refresh.interval.ms=1000"],
                           capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        recs = [json.loads(line) for line in r.stdout.decode().splitlines() if line.strip()]
        return sorted(recs, key=lambda m: (m["partition"], m["offset"]))


@pytest.fixture
def kafka():
    mock = KafkaMock([f"t1.{t}" for t in TOPICS])
    yield mock
    mock.stop()


def kafka_env(mock, prefix="t1."):
    return {
        "TOCK_BUS": f"kafka:{mock.bootstrap}",
        "TOCK_TOPIC_PREFIX": prefix,
        # Topics exist already: this checks the metadata path and creates nothing.
        "TOCK_KAFKA_CREATE_TOPICS": "1",
        "TOCK_KAFKA_PARTITIONS": "6",
        # Passthrough: reconnect quickly after an outage.
        "TOCK_KAFKA_RECONNECT_BACKOFF_MAX_MS": "500",
    }


def outbox_depth(server):
    text = requests.get(server.url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("tock_outbox_depth "):
            return float(line.split()[1])
    raise AssertionError("no tock_outbox_depth in /metrics")


def wait_for(pred, what, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def mutate(client, n):
    """n tasks: create, patch, complete some, delete some. Returns status codes."""
    codes = []
    for i in range(n):
        r = client.post("/api/v1/tasks", {"title": f"task {i}", "tags": ["k"]})
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


def check_topics(server, mock, prefix):
    """Every outbox row is on its topic exactly once, as documented; returns row count."""
    rows = read_outbox(server)
    assert rows and all(r["published"] for r in rows), "unpublished outbox rows"
    for topic in ("task-events", "task-updates"):
        want = [r for r in rows if r["topic"] == topic]
        recs = mock.read_topic(prefix + topic)
        got_ids = [json.loads(m["payload"])["id"] for m in recs]
        assert len(got_ids) == len(set(got_ids)), f"{topic}: duplicates on the topic"
        assert sorted(got_ids) == sorted(r["event"]["id"] for r in want), topic
        by_id = {r["event"]["id"]: r for r in want}
        partition_of = {}
        for m in recs:
            ev = json.loads(m["payload"])
            row = by_id[ev["id"]]
            assert ev == row["event"], "record value differs from the outbox event"
            assert m["key"] == ev["userid"] == row["key"], (m["key"], ev["userid"])
            assert m["headers"] == ["content-type", CONTENT_TYPE], m["headers"]
            errs = [e.message for e in EVENT_VALIDATOR.iter_errors(ev)]
            assert not errs, errs
            assert partition_of.setdefault(m["key"], m["partition"]) == m["partition"], \
                f"user {m['key']} spread over partitions"
        # Per user: topic order (offsets in the user's one partition) == outbox order.
        for user in {r["key"] for r in want}:
            on_topic = [json.loads(m["payload"])["id"] for m in recs if m["key"] == user]
            in_outbox = [r["event"]["id"] for r in want if r["key"] == user]
            assert on_topic == in_outbox, f"{topic}: user {user} out of order"
    return len(rows)


def test_events_reach_kafka_once_in_order(kafka):
    s = Server(extra_env=kafka_env(kafka))
    try:
        users = [register(s) for _ in range(4)]
        for u in users:
            assert set(mutate(u, 6)) <= {200, 201, 204}
        wait_for(lambda: outbox_depth(s) == 0, "the relay to drain the outbox")
        n = check_topics(s, kafka, "t1.")
        assert n >= 4 * (6 * 2 + 6 * 2 + 3 * 2 + 2 * 2)
        assert "kafka" in s.stderr() + open(s.stdout_path).read()
    finally:
        s.stop()


def test_bad_kafka_property_stops_startup(kafka):
    env = dict(kafka_env(kafka), TOCK_KAFKA_NO_SUCH_PROPERTY="1")
    with pytest.raises(RuntimeError) as e:
        Server(extra_env=env)
    assert "TOCK_KAFKA_NO_SUCH_PROPERTY" in str(e.value) and "no.such.property" in str(e.value)


def test_broker_outage_loses_nothing(kafka):
    s = Server(extra_env=kafka_env(kafka))
    try:
        users = [register(s) for _ in range(3)]
        assert users[0].post("/api/v1/tasks", {"title": "before"}).status_code == 201
        wait_for(lambda: outbox_depth(s) == 0, "the first events to be published")

        kafka.command("down all")
        # Keep writing through a 30-second outage (the scenario): every
        # request answers 2xx, the outbox grows, the relay reports itself degraded.
        # Rounds are paced at one per second: librdkafka's mock cluster keeps only about
        # 5 MB per partition, so an unpaced 30 s of writes from a fast build would have
        # the mock drop the oldest records (the topic check below would then fail for
        # the mock's retention, not for tock).
        t_end = time.monotonic() + OUTAGE_S
        rounds = 0
        next_round = time.monotonic()
        while time.monotonic() < t_end:
            for u in users:
                assert set(mutate(u, 2)) <= {200, 201, 204}, "the API failed while Kafka was down"
            rounds += 1
            next_round += 1.0
            pause = next_round - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # pacing the load, not waiting for an effect
        rows = read_outbox(s)
        pending = [r for r in rows if not r["published"]]
        # Writes made while every broker was down cannot have been acknowledged.
        assert len(pending) >= 3 * rounds * (2 * 2 + 2 * 2), (len(pending), rounds)
        assert outbox_depth(s) == len(pending)
        ready = wait_for(lambda: (lambda r: r if r.json()["roles"]["relay"]["status"] ==
                                  "degraded" else None)(
            requests.get(s.url + "/readyz", timeout=10)), "readyz to report the relay degraded")
        assert ready.status_code == 200, "a broker outage must not take the API out of service"
        assert ready.json()["checks"]["bus"] == "unreachable", ready.text
        # Still down a little later: the relay keeps them pending, the depth holds.
        assert users[1].post("/api/v1/tasks", {"title": "still down"}).status_code == 201
        assert outbox_depth(s) >= len(pending) + 2

        kafka.command("up all")
        wait_for(lambda: outbox_depth(s) == 0, "the outbox to drain after the outage", 90)
        check_topics(s, kafka, "t1.")
        wait_for(lambda: requests.get(s.url + "/readyz", timeout=10).json()["roles"]["relay"]
                 ["status"] == "ready", "the relay to report ready again")
    finally:
        s.stop()


def test_shutdown_while_brokers_down_keeps_events(kafka):
    """SIGTERM with every broker down: a clean, bounded exit; the events stay in the
    outbox and a restarted server publishes them once the brokers are back."""
    env = kafka_env(kafka)
    s = Server(extra_env=env)
    users = [register(s) for _ in range(2)]
    kafka.command("down all")
    for u in users:
        assert set(mutate(u, 2)) <= {200, 201, 204}
    t0 = time.monotonic()
    s.stop()  # asserts exit status 0 and no sanitizer report
    assert time.monotonic() - t0 < 25, "shutdown with brokers down took too long"
    rows = read_outbox(s)
    assert rows and not any(r["published"] for r in rows), "published while brokers were down"

    kafka.command("up all")
    s2 = Server(extra_env=dict(env, TOCK_DB=s.env["TOCK_DB"]))
    try:
        wait_for(lambda: outbox_depth(s2) == 0, "the restarted relay to publish", 60)
        check_topics(s2, kafka, "t1.")
    finally:
        s2.stop()
