"""Operations: health, readiness, Prometheus metrics, request ids, the JSON access
log, routing errors (404/405) and keep-alive."""
import http.client
import json
import re
import time
import uuid

import pytest
import requests

from conftest import assert_error, register

METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    """[(name, {labels}, value)] for every sample line; raises on a malformed line."""
    samples = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = METRIC_RE.match(line)
        assert m, f"malformed sample line: {line!r}"
        name, labels_s, value = m.groups()
        labels = {}
        if labels_s:
            pos = 0
            while pos < len(labels_s):
                lm = LABEL_RE.match(labels_s, pos)
                assert lm, f"malformed labels: {line!r}"
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        samples.append((name, labels, float(value)))
    return samples


def metrics(server):
    r = requests.get(server.url + "/metrics", timeout=30)
    assert r.status_code == 200, r.text
    return r


def total(samples, name, **labels):
    return sum(v for n, lab, v in samples
               if n == name and all(lab.get(k) == val for k, val in labels.items()))


@pytest.fixture(scope="module")
def op(server):
    return register(server)


# ---------------------------------------------------------------- health

def test_healthz(server):
    r = requests.get(server.url + "/healthz", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"status": "ok"}


def test_readyz(server):
    r = requests.get(server.url + "/readyz", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["status"] == "ready"
    assert isinstance(body["checks"], dict) and body["checks"]


# ---------------------------------------------------------------- metrics

def test_metrics_format_and_families(server, op):
    # Make sure a few routes have been hit.
    t = op.post("/api/v1/tasks", {"title": "metrics"}).json()
    assert op.get(f"/api/v1/tasks/{t['id']}").status_code == 200
    r = metrics(server)
    ct = r.headers["Content-Type"]
    assert ct.startswith("text/plain") and "version=0.0.4" in ct, ct
    text = r.text
    assert text.endswith("\n")
    assert re.search(r"^# TYPE tock_http_requests_total counter$", text, re.M)
    assert re.search(r"^# TYPE tock_http_request_duration_seconds histogram$", text, re.M)
    assert re.search(r"^# TYPE tock_outbox_depth gauge$", text, re.M)
    assert re.search(r"^# HELP tock_http_requests_total .+", text, re.M)
    samples = parse_metrics(text)

    reqs = [(lab, v) for n, lab, v in samples if n == "tock_http_requests_total"]
    assert reqs
    assert all("route" in lab and "status" in lab for lab, _ in reqs)
    assert total(samples, "tock_http_requests_total", route="/api/v1/tasks/{id}", status="200") >= 1
    assert total(samples, "tock_http_requests_total", route="/api/v1/tasks", status="201") >= 1

    buckets = [(lab, v) for n, lab, v in samples
               if n == "tock_http_request_duration_seconds_bucket"
               and lab.get("route") == "/api/v1/tasks/{id}"]
    assert buckets, "no histogram buckets for /api/v1/tasks/{id}"
    assert any(lab.get("le") == "+Inf" for lab, _ in buckets)
    assert total(samples, "tock_http_request_duration_seconds_count",
                 route="/api/v1/tasks/{id}") >= 1
    assert any(n == "tock_http_request_duration_seconds_sum" and lab.get("route") ==
               "/api/v1/tasks/{id}" for n, lab, _ in samples)

    depth = [v for n, lab, v in samples if n == "tock_outbox_depth"]
    assert depth and all(v >= 0 for v in depth)


def test_metrics_histogram_is_consistent(server, op):
    op.get("/api/v1/me")
    samples = parse_metrics(metrics(server).text)
    series = {}
    for n, lab, v in samples:
        if n == "tock_http_request_duration_seconds_bucket":
            key = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
            series.setdefault(key, []).append((lab["le"], v))
    assert series
    for key, bks in series.items():
        les = [float("inf") if le == "+Inf" else float(le) for le, _ in bks]
        assert les == sorted(les), key
        counts = [v for _, v in bks]
        assert counts == sorted(counts), (key, bks)  # cumulative
        assert les[-1] == float("inf"), key
        labels = dict(key)
        count = [v for n, lab, v in samples
                 if n == "tock_http_request_duration_seconds_count" and lab == labels]
        assert len(count) == 1 and counts[-1] == count[0], key
        s = [v for n, lab, v in samples
             if n == "tock_http_request_duration_seconds_sum" and lab == labels]
        assert len(s) == 1 and s[0] >= 0, key


def test_metrics_count_requests_by_route_and_status(server, op):
    before = parse_metrics(metrics(server).text)
    for _ in range(3):
        assert op.get("/api/v1/me").status_code == 200
    assert requests.get(server.url + "/api/v1/me", timeout=30).status_code == 401
    after = parse_metrics(metrics(server).text)

    def delta(name, **lab):
        return total(after, name, **lab) - total(before, name, **lab)

    assert delta("tock_http_requests_total", route="/api/v1/me", status="200") == 3
    assert delta("tock_http_requests_total", route="/api/v1/me", status="401") == 1
    assert delta("tock_http_request_duration_seconds_count", route="/api/v1/me") == 4


def test_metrics_do_not_use_raw_paths_as_labels(server, op):
    junk = uuid.uuid4().hex
    assert op.get(f"/api/v1/no-such-{junk}").status_code == 404
    assert op.get(f"/api/v1/tasks/{junk}").status_code == 404
    assert junk not in metrics(server).text


def test_outbox_depth_is_a_number(server, op):
    samples = parse_metrics(metrics(server).text)
    vals = [v for n, _, v in samples if n == "tock_outbox_depth"]
    assert vals and all(v >= 0 and v == int(v) for v in vals)


# ---------------------------------------------------------------- request ids

def test_request_id_is_echoed(server, op):
    rid = "req-" + uuid.uuid4().hex
    r = op.get("/api/v1/me", headers={"X-Request-Id": rid})
    assert r.headers.get("X-Request-Id") == rid
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": rid}, timeout=30)
    assert r.headers.get("X-Request-Id") == rid
    # On errors too.
    r = requests.get(server.url + "/api/v1/me", headers={"X-Request-Id": rid}, timeout=30)
    assert r.status_code == 401 and r.headers.get("X-Request-Id") == rid
    r = requests.get(server.url + "/nope", headers={"X-Request-Id": rid}, timeout=30)
    assert r.status_code == 404 and r.headers.get("X-Request-Id") == rid
    # 128 printable characters is still sane.
    long_ok = "a" * 120 + "-_.:/~!@"
    assert len(long_ok) == 128
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": long_ok}, timeout=30)
    assert r.headers.get("X-Request-Id") == long_ok


def test_request_id_generated_when_absent(server):
    ids = []
    for path in ("/healthz", "/healthz", "/api/v1/me", "/nope"):
        r = requests.get(server.url + path, timeout=30)
        rid = r.headers.get("X-Request-Id")
        assert rid and len(rid) <= 128 and rid.isprintable(), r.headers
        ids.append(rid)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("bad", ["x" * 129, "", "bad\x7fid", "tab\tid", "caf\u00e9"])
def test_insane_request_id_is_replaced(server, bad):
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": bad}, timeout=30)
    rid = r.headers.get("X-Request-Id")
    assert rid and rid.strip() and rid != bad and len(rid) <= 128


# ---------------------------------------------------------------- access log

def wait_for_log(server, request_ids, deadline_s=3.0):
    """Reads the access log until every id has a line (bounded; returns at once if present)."""
    end = time.monotonic() + deadline_s
    while True:
        lines = server.access_log()
        found = {rid: [ln for ln in lines if ln.get("request_id") == rid] for rid in request_ids}
        if all(found.values()) or time.monotonic() > end:
            return found
        time.sleep(0.02)


def test_access_log_one_json_line_per_request(server, op):
    t = op.post("/api/v1/tasks", {"title": "logged"}).json()
    rids = {k: f"log-{k}-{uuid.uuid4().hex}" for k in ("get", "patch", "anon", "missing", "post")}
    op.get(f"/api/v1/tasks/{t['id']}", headers={"X-Request-Id": rids["get"]})
    op.patch(f"/api/v1/tasks/{t['id']}", {"title": "logged 2"},
             headers={"X-Request-Id": rids["patch"]})
    requests.get(server.url + "/api/v1/tasks", headers={"X-Request-Id": rids["anon"]}, timeout=30)
    op.get("/api/v1/tasks/999999999", headers={"X-Request-Id": rids["missing"]})
    op.post("/api/v1/tasks", {"title": "logged 3"}, headers={"X-Request-Id": rids["post"]})
    op.get("/healthz")  # a later request on the same connection
    found = wait_for_log(server, rids.values())
    for k, rid in rids.items():
        assert len(found[rid]) == 1, (k, found[rid])
    for ln in (found[r][0] for r in rids.values()):
        for key in ("ts", "method", "route", "status", "duration_ms", "request_id", "user_id"):
            assert key in ln, (key, ln)
        assert isinstance(ln["duration_ms"], (int, float)) and ln["duration_ms"] >= 0, ln
        assert isinstance(ln["status"], int), ln
        assert isinstance(ln["ts"], (str, int, float)) and ln["ts"], ln
    g = found[rids["get"]][0]
    assert (g["method"], g["route"], g["status"]) == ("GET", "/api/v1/tasks/{id}", 200)
    assert str(g["user_id"]) == op.user["id"]
    p = found[rids["patch"]][0]
    assert (p["method"], p["route"], p["status"]) == ("PATCH", "/api/v1/tasks/{id}", 200)
    assert str(p["user_id"]) == op.user["id"]
    a = found[rids["anon"]][0]
    assert (a["method"], a["route"], a["status"]) == ("GET", "/api/v1/tasks", 401)
    assert a["user_id"] is None
    m = found[rids["missing"]][0]
    assert (m["route"], m["status"]) == ("/api/v1/tasks/{id}", 404)
    c = found[rids["post"]][0]
    assert (c["method"], c["route"], c["status"]) == ("POST", "/api/v1/tasks", 201)


# ---------------------------------------------------------------- routing errors

@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v2/tasks", "/api/v1/tasks/1/nope",
                                  "/api/v1/tasks/1/complete/x", "/API/V1/TASKS",
                                  "/healthz/extra"])
def test_unknown_route_is_404_json(server, op, path):
    assert_error(op.get(path), 404, "not_found")
    assert_error(requests.get(server.url + path, timeout=30), 404, "not_found")


@pytest.mark.parametrize("method,path,must_allow", [
    ("PUT", "/api/v1/tasks", {"GET", "POST"}),
    ("DELETE", "/api/v1/tasks", {"GET", "POST"}),
    ("PUT", "/api/v1/tasks/{id}", {"GET", "PATCH", "DELETE"}),
    ("POST", "/api/v1/tasks/{id}", {"GET", "PATCH", "DELETE"}),
    ("GET", "/api/v1/tasks/{id}/complete", {"POST"}),
    ("DELETE", "/api/v1/tasks/{id}/reopen", {"POST"}),
    ("POST", "/api/v1/tasks/{id}/history", {"GET"}),
    ("GET", "/api/v1/auth/login", {"POST"}),
    ("GET", "/api/v1/auth/register", {"POST"}),
    ("PUT", "/api/v1/me", {"GET", "PATCH"}),
    ("PATCH", "/api/v1/auth/tokens", {"GET", "POST"}),
    ("GET", "/api/v1/auth/tokens/1", {"DELETE"}),
    ("PUT", "/api/v1/tags", {"GET", "POST"}),
    ("GET", "/api/v1/tags/1", {"PATCH", "DELETE"}),
    ("POST", "/healthz", {"GET"}),
    ("DELETE", "/metrics", {"GET"}),
])
def test_wrong_method_is_405_with_allow(op, method, path, must_allow):
    t = op.post("/api/v1/tasks", {"title": "405"}).json()
    body = {"title": "x"} if method in ("PUT", "POST", "PATCH") else None
    r = op.request(method, path.replace("{id}", t["id"]), json_body=body)
    assert_error(r, 405, "method_not_allowed")
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert must_allow <= allow, r.headers.get("Allow")
    assert method not in allow
    # Nothing happened to the task.
    assert op.get(f"/api/v1/tasks/{t['id']}").json() == t


# ---------------------------------------------------------------- keep-alive

def test_keep_alive_reuses_one_connection(server, op):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        auth = {"Authorization": f"Bearer {op.token}"}
        conn.connect()
        local = conn.sock.getsockname()
        for i in range(20):
            if i % 2:
                conn.request("POST", "/api/v1/tasks", body=json.dumps({"title": f"ka {i}"}),
                             headers=dict(auth, **{"Content-Type": "application/json"}))
                expect = 201
            else:
                conn.request("GET", "/api/v1/tasks?limit=5", headers=auth)
                expect = 200
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == expect, data
            json.loads(data)
            assert (resp.getheader("Connection") or "").lower() != "close"
            assert conn.sock is not None, "server closed the connection"
            assert conn.sock.getsockname() == local, "a new connection was opened"
        # An error response keeps the connection too.
        conn.request("GET", "/api/v1/nope", headers=auth)
        resp = conn.getresponse()
        assert resp.status == 404
        resp.read()
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}
        assert conn.sock is not None and conn.sock.getsockname() == local
    finally:
        conn.close()
    assert server.alive()


def test_keep_alive_with_requests_session(server, op):
    s = requests.Session()
    h = {"Authorization": f"Bearer {op.token}"}
    for _ in range(30):
        r = s.get(server.url + "/api/v1/me", headers=h, timeout=30)
        assert r.status_code == 200 and r.json()["id"] == op.user["id"]
    s.close()
    assert requests.get(server.url + "/healthz", timeout=30).status_code == 200
    assert server.alive()


def test_metrics_pass_promtool(server, op):
    """The exposition is checked by Prometheus' own linter (Debian's `prometheus`
    package, installed by scripts/deps.sh), after traffic on several routes."""
    import shutil
    import subprocess
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/deps.sh test installs the prometheus package"
    op.get("/api/v1/tasks")
    op.get("/api/v1/nope")
    requests.delete(server.url + "/healthz", timeout=10)
    body = requests.get(server.url + "/metrics", timeout=10).text
    assert "tock_http_requests_total" in body
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=60)
    # promtool exits 0 when the text parses; it prints lint advice on stdout/stderr.
    assert r.returncode == 0, r.stdout + r.stderr
    problems = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    assert problems == [], problems
