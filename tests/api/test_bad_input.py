"""Bad-input (robustness) black-box tests, written against docs/api.md.

Every case sends one malformed, mistyped, out-of-range, oversized or
unauthenticated request and asserts three things:

  (a) the documented 4xx status and the JSON error shape
      {"error":{"code","message","field"}} with the documented code (and the
      field where the doc names one);
  (b) nothing changed: the caller's task list, each fixture task's history, the
      user, the tags and the API tokens are byte-identical before and after
      (so no task was created, no version moved and no event was written);
  (c) the server stays healthy: GET /healthz answers 200 and the process runs.

Raw-socket cases (malformed HTTP that libmicrohttpd itself may answer) accept
any 4xx or a closed connection, then check health.

Users are registered once per module (argon2 is slow); no ids are hard-coded.
"""
import base64
import hashlib
import hmac
import json
import socket
import time
import uuid

import pytest
import requests

from conftest import JWT_SECRET, Client, assert_error, register

TASKS = "/api/v1/tasks"
MIB = 1 << 20
FUTURE_DUE = "2027-07-04T09:30"


# --------------------------------------------------------------------------
# helpers


class World:
    """Module-wide users and tasks (set up once)."""


@pytest.fixture(scope="module")
def world(server):
    w = World()
    w.server = server
    w.alice = register(server, display_name="Alice", timezone="America/New_York")
    w.bob = register(server)

    def create(body):
        r = w.alice.post(TASKS, body)
        assert r.status_code == 201, r.text
        return r.json()

    w.t1 = create({"title": "Pay rent", "description": "monthly", "priority": "high",
                   "tags": ["home", "money"], "due": FUTURE_DUE,
                   "timezone": "America/New_York"})
    # One change so that version 1 is stale for t1.
    r = w.alice.patch(f"{TASKS}/{w.t1['id']}", {"priority": "urgent"})
    assert r.status_code == 200, r.text
    w.t1 = r.json()
    assert w.t1["version"] >= 2, w.t1
    w.t2 = create({"title": "Water plants", "due": "2027-08-01",
                   "recurrence": {"rrule": "FREQ=MONTHLY;BYMONTHDAY=1", "recur_from": "due"}})
    w.t3 = create({"title": "Plain task"})
    # A task of bob's (for isolation cases).
    r = w.bob.post(TASKS, {"title": "Bob's secret"})
    assert r.status_code == 201, r.text
    w.bob_task = r.json()
    # A valid cursor of the default sort.
    r = w.alice.get(TASKS, params={"limit": "1"})
    assert r.status_code == 200, r.text
    w.cursor = r.json()["next_cursor"]
    assert isinstance(w.cursor, str) and w.cursor, r.text
    # A tag id of alice's.
    r = w.alice.get("/api/v1/tags")
    assert r.status_code == 200, r.text
    w.tag_home = next(t for t in r.json()["items"] if t["name"] == "home")
    return w


def task_ids(w):
    return [w.t1["id"], w.t2["id"], w.t3["id"]]


def snapshot(w, c=None):
    """Everything a failed request of alice's must leave alone (raw bytes)."""
    c = c or w.alice
    out = []
    for path, params in [(TASKS, {"limit": "200"}), ("/api/v1/me", None),
                         ("/api/v1/tags", None), ("/api/v1/auth/tokens", None)] + \
            [(f"{TASKS}/{i}/history", None) for i in task_ids(w)]:
        r = c.get(path, params=params)
        assert r.status_code == 200, f"snapshot GET {path}: {r.status_code} {r.text}"
        out.append((path, r.content))
    r = w.bob.get(f"{TASKS}/{w.bob_task['id']}")
    assert r.status_code == 200, r.text
    out.append(("bob_task", r.content))
    return out


def assert_unchanged(before, after):
    for (p1, b1), (p2, b2) in zip(before, after):
        assert p1 == p2
        assert b1 == b2, f"{p1} changed:\n before: {b1[:2000]!r}\n after:  {b2[:2000]!r}"
    assert len(before) == len(after)


def healthy(server):
    r = requests.get(server.url + "/healthz", timeout=10)
    assert r.status_code == 200, r.text
    assert server.alive(), "server process died"


def check(r, status, code, field=None):
    """assert_error plus: field may be a tuple of accepted names; codes a tuple."""
    codes = code if isinstance(code, tuple) else (code,)
    err = assert_error(r, status)
    assert err["code"] in codes, f"code {err['code']!r} not in {codes}: {r.text}"
    assert "field" in err, r.text
    if field is not None:
        fields = field if isinstance(field, tuple) else (field,)
        assert err["field"] in fields, f"field {err['field']!r} not in {fields}: {r.text}"
    return err


def send(c, method, path, data=None, ctype="application/json", headers=None, params=None):
    """A request with a raw body (bytes/str) and an explicit Content-Type."""
    h = dict(headers or {})
    if ctype is not None:
        h["Content-Type"] = ctype
    return c.request(method, path, data=data, headers=h, params=params)


def send_exact(c, method, path, json_body=None):
    """Like Client.request, but the path goes on the wire exactly as written
    (requests would decode %2E and friends and drop dot segments)."""
    h = c.headers()
    data = None
    if json_body is not None:
        data = json.dumps(json_body)
        h["Content-Type"] = "application/json"
    p = requests.Request(method, c.url + "/", data=data, headers=h).prepare()
    p.url = c.url + path
    return c.s.send(p, timeout=30)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_jwt(header, payload, secret=JWT_SECRET, digest=hashlib.sha256, sig=None):
    h = b64u(json.dumps(header, separators=(",", ":")).encode()) if isinstance(header, dict) \
        else b64u(header)
    p = b64u(json.dumps(payload, separators=(",", ":")).encode()) if isinstance(payload, dict) \
        else b64u(payload)
    signing = f"{h}.{p}".encode()
    if sig is None:
        sig = b64u(hmac.new(secret.encode(), signing, digest).digest())
    return f"{h}.{p}.{sig}"


def claims(w, **over):
    now = int(time.time())
    c = {"sub": w.alice.user["id"], "iat": now, "exp": now + 3600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not _DROP}


_DROP = object()
HS256 = {"alg": "HS256", "typ": "JWT"}


def raw_http(server, parts, timeout=5.0, close_after_send=False):
    """Sends bytes on a fresh connection; returns (status, headers, body) or None.

    Send errors (the server may answer early and close) are tolerated; whatever
    the server wrote before closing is read and parsed."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    buf = b""
    try:
        for p in parts:
            try:
                s.sendall(p)
            except (BrokenPipeError, ConnectionResetError):
                break
        if close_after_send:
            return None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout, TimeoutError):
                break
            if not chunk:
                break
            buf += chunk
            parsed = _parse(buf)
            if parsed is not None and parsed[3]:
                break
    finally:
        s.close()
    parsed = _parse(buf)
    return None if parsed is None else parsed[:3]


def _parse(buf):
    if b"\r\n\r\n" not in buf:
        return None
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ")[1])
    except (IndexError, ValueError):
        return None
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    complete = False
    if "content-length" in headers:
        n = int(headers["content-length"])
        complete = len(body) >= n
        body = body[:n]
    return status, headers, body, complete


def assert_raw_error(resp, status, code):
    assert resp is not None, "no HTTP response (connection closed without an answer)"
    st, headers, body = resp
    assert st == status, f"{st} != {status}: {body[:500]!r}"
    assert headers.get("content-type", "").startswith("application/json"), headers
    obj = json.loads(body)
    assert set(obj) == {"error"}, obj
    assert obj["error"]["code"] == code, obj
    assert isinstance(obj["error"].get("message"), str) and obj["error"]["message"], obj
    assert "field" in obj["error"], obj


def assert_raw_4xx_or_closed(resp, allowed=None):
    if resp is None:
        return
    st = resp[0]
    if allowed is not None:
        assert st in allowed, f"status {st}: {resp[2][:300]!r}"
    else:
        assert 400 <= st <= 499, f"status {st}: {resp[2][:300]!r}"


# --------------------------------------------------------------------------
# (1) malformed JSON bodies on POST /api/v1/tasks


def nested(depth):
    """A body whose nesting depth (the top-level object counting as 1) is `depth`."""
    inner = "[" * (depth - 1) + "]" * (depth - 1)
    return '{"title":"deep","x":' + inner + "}"


BAD_JSON = [
    ("truncated", b'{"title": "x"'),
    ("truncated-string", b'{"title": "x'),
    ("only-brace", b"{"),
    ("trailing-garbage", b'{"title":"x"} xyz'),
    ("two-objects", b'{"title":"x"}{"title":"y"}'),
    ("extra-close", b'{"title":"x"}}'),
    ("trailing-nul-then-garbage", b'{"title":"x"}\x00garbage'),
    ("array", b'[{"title":"x"}]'),
    ("string", b'"x"'),
    ("number", b"42"),
    ("null", b"null"),
    ("true", b"true"),
    ("empty-body", b""),
    ("whitespace-body", b"   \n "),
    ("single-quotes", b"{'title':'x'}"),
    ("unquoted-key", b'{title:"x"}'),
    ("trailing-comma", b'{"title":"x",}'),
    ("nan", b'{"title":"x","priority":NaN}'),
    ("comment", b'{"title":"x" /* c */}'),
    ("duplicate-keys", b'{"title":"a","title":"b"}'),
    ("duplicate-keys-same", b'{"title":"a","title":"a"}'),
    ("duplicate-nested-keys",
     b'{"title":"a","due":"2027-07-04","recurrence":{"rrule":"FREQ=DAILY","rrule":"FREQ=DAILY",'
     b'"recur_from":"due"}}'),
    ("depth-33", nested(33).encode()),
    ("depth-5000", nested(5000).encode()),
    ("invalid-utf8-ff", b'{"title":"\xff\xfe"}'),
    ("invalid-utf8-overlong", b'{"title":"\xc0\xaf"}'),
    ("invalid-utf8-truncated-seq", b'{"title":"ab\xe2\x82"}'),
    ("invalid-utf8-surrogate-bytes", b'{"title":"\xed\xa0\x80"}'),
    ("invalid-utf8-in-key", b'{"ti\xfftle":"x"}'),
    ("lone-high-surrogate", b'{"title":"\\ud800"}'),
    ("lone-low-surrogate", b'{"title":"\\udc00"}'),
    ("high-surrogate-then-ascii", b'{"title":"\\ud800\\u0041"}'),
    ("raw-control-char-in-string", b'{"title":"a\x01b"}'),
    ("raw-nul-in-string", b'{"title":"a\x00b"}'),
    ("bad-escape", b'{"title":"a\\qb"}'),
]


@pytest.mark.parametrize("body", [b for _, b in BAD_JSON], ids=[n for n, _ in BAD_JSON])
def test_malformed_json_create(world, server, body):
    before = snapshot(world)
    r = send(world.alice, "POST", TASKS, data=body)
    check(r, 400, "invalid_json")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# Valid JSON that jansson refuses at parse time: either code is defensible
# (doc: invalid_json is "not JSON"; invalid_argument names the field).
EITHER_JSON = [
    ("nul-escape-in-title", b'{"title":"a\\u0000b"}', "title"),
    ("float-overflow", b'{"title":"x","priority":1e400}', "priority"),
    ("integer-overflow", b'{"title":"x","priority":99999999999999999999999}', "priority"),
]


@pytest.mark.parametrize("body,field", [(b, f) for _, b, f in EITHER_JSON],
                         ids=[n for n, _, _ in EITHER_JSON])
def test_unrepresentable_json_create(world, server, body, field):
    before = snapshot(world)
    r = send(world.alice, "POST", TASKS, data=body)
    err = check(r, 400, ("invalid_json", "invalid_argument"))
    if err["code"] == "invalid_argument":
        assert err["field"] == field, r.text
    assert_unchanged(before, snapshot(world))
    healthy(server)


def _endpoints(w):
    return {
        "patch-task": (w.alice, "PATCH", f"{TASKS}/{w.t1['id']}"),
        "patch-me": (w.alice, "PATCH", "/api/v1/me"),
        "register": (Client(w.server), "POST", "/api/v1/auth/register"),
        "login": (Client(w.server), "POST", "/api/v1/auth/login"),
        "create-token": (w.alice, "POST", "/api/v1/auth/tokens"),
        "create-tag": (w.alice, "POST", "/api/v1/tags"),
        "patch-tag": (w.alice, "PATCH", f"/api/v1/tags/{w.tag_home['id']}"),
    }


OTHER_ENDPOINT_JSON = [
    ("truncated", b'{"title":"changed","display_name":"x"'),
    ("array", b'["x"]'),
    ("duplicate-keys", b'{"name":"a","name":"b","title":"a","title":"b"}'),
    ("invalid-utf8", b'{"name":"\xff","title":"\xff","display_name":"\xff","email":"\xff"}'),
    ("empty", b""),
]
ENDPOINT_NAMES = ["patch-task", "patch-me", "register", "login", "create-token", "create-tag",
                  "patch-tag"]


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
@pytest.mark.parametrize("body", [b for _, b in OTHER_ENDPOINT_JSON],
                         ids=[n for n, _ in OTHER_ENDPOINT_JSON])
def test_malformed_json_other_endpoints(world, server, endpoint, body):
    c, method, path = _endpoints(world)[endpoint]
    before = snapshot(world)
    r = send(c, method, path, data=body)
    check(r, 400, "invalid_json")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (2) Content-Type -> 415


CTYPES = [
    ("text-plain", "text/plain"),
    ("form", "application/x-www-form-urlencoded"),
    ("multipart", "multipart/form-data; boundary=xyz"),
    ("json5", "application/json5"),
    ("xml", "application/xml"),
    ("none", None),
]


@pytest.mark.parametrize("ctype", [c for _, c in CTYPES], ids=[n for n, _ in CTYPES])
def test_wrong_content_type_create(world, server, ctype):
    before = snapshot(world)
    body = "title=sneaky" if ctype and "form" in ctype else '{"title":"sneaky"}'
    r = send(world.alice, "POST", TASKS, data=body, ctype=ctype)
    check(r, 415, "unsupported_media_type")
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("ctype", ["text/plain", None], ids=["text-plain", "none"])
@pytest.mark.parametrize("endpoint", ["patch-task", "patch-me", "create-token", "create-tag",
                                      "patch-tag", "complete"])
def test_wrong_content_type_other(world, server, endpoint, ctype):
    eps = _endpoints(world)
    eps["complete"] = (world.alice, "POST", f"{TASKS}/{world.t1['id']}/complete")
    c, method, path = eps[endpoint]
    body = json.dumps({"title": "changed", "display_name": "changed", "name": "changed",
                       "color": "#123456"})
    before = snapshot(world)
    r = send(c, method, path, data=body, ctype=ctype)
    check(r, 415, "unsupported_media_type")
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("ctype", ["text/plain", None], ids=["text-plain", "none"])
def test_wrong_content_type_register(world, server, ctype):
    email = f"ct-{uuid.uuid4().hex[:10]}@example.com"
    body = json.dumps({"email": email, "password": "correct horse battery"})
    r = send(Client(server), "POST", "/api/v1/auth/register", data=body, ctype=ctype)
    check(r, 415, "unsupported_media_type")
    # Nothing was created: the account cannot log in.
    r = Client(server).post("/api/v1/auth/login", {"email": email,
                                                    "password": "correct horse battery"})
    assert r.status_code == 401, r.text
    healthy(server)


def test_empty_body_without_content_type(world, server):
    before = snapshot(world)
    r = send(world.alice, "POST", TASKS, data=b"", ctype=None)
    # Either reading is defensible: no body at all (invalid_json) or a body
    # that is not application/json (415).
    if r.status_code == 415:
        check(r, 415, "unsupported_media_type")
    else:
        check(r, 400, "invalid_json")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (3) oversized bodies -> 413 (raw sockets: the server may answer before reading all)


def _raw_headers(w, method, path, extra):
    h = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
         f"Authorization: Bearer {w.alice.token}\r\nContent-Type: application/json\r\n"
         f"Connection: close\r\n")
    return (h + extra + "\r\n").encode()


def _big_body(size):
    head, tail = b'{"title":"big","description":"', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("target", ["create", "patch"])
def test_oversized_body_content_length(world, server, target):
    path = TASKS if target == "create" else f"{TASKS}/{world.t1['id']}"
    method = "POST" if target == "create" else "PATCH"
    body = _big_body(MIB + 100 * 1024)
    before = snapshot(world)
    resp = raw_http(server, [_raw_headers(world, method, path, f"Content-Length: {len(body)}\r\n"),
                             body])
    assert_raw_error(resp, 413, "payload_too_large")
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_oversized_body_chunked(world, server):
    def gen():
        yield b'{"title":"big","description":"'
        for _ in range(24):  # 24 x 64 KiB = 1.5 MiB
            yield b"a" * 65536
        yield b'"}'

    parts = [_raw_headers(world, "POST", TASKS, "Transfer-Encoding: chunked\r\n")]
    for piece in gen():
        parts.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
    parts.append(b"0\r\n\r\n")
    before = snapshot(world)
    resp = raw_http(server, parts)
    assert_raw_error(resp, 413, "payload_too_large")
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_oversized_body_requests_generator(world, server):
    """The same with requests' own chunked encoding of a generator body. If the
    server answers early and resets the connection, requests may not see the
    answer; then the raw-socket test above is authoritative and this one only
    checks nothing changed."""
    def gen():
        yield b'{"title":"big","description":"'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}'

    before = snapshot(world)
    try:
        r = world.alice.s.post(server.url + TASKS, data=gen(), timeout=30,
                               headers={"Authorization": f"Bearer {world.alice.token}",
                                        "Content-Type": "application/json"})
    except requests.ConnectionError:
        r = None
    if r is not None:
        check(r, 413, "payload_too_large")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (4) create: wrong types and out-of-range values


def _tags(n):
    return [f"t{i}" for i in range(n)]


REC = {"rrule": "FREQ=DAILY", "recur_from": "due"}
DUE = {"due": "2027-07-04"}

# (id, body overrides, expected field(s))
CREATE_BAD = [
    # title
    ("title-missing", {"title": _DROP}, "title"),
    ("title-number", {"title": 5}, "title"),
    ("title-null", {"title": None}, "title"),
    ("title-array", {"title": ["a"]}, "title"),
    ("title-object", {"title": {"a": 1}}, "title"),
    ("title-bool", {"title": True}, "title"),
    ("title-empty", {"title": ""}, "title"),
    ("title-whitespace", {"title": "   "}, "title"),
    ("title-tabs-newlines", {"title": " \t\n\r "}, "title"),
    ("title-501", {"title": "x" * 501}, "title"),
    ("title-501-after-trim", {"title": "  " + "x" * 501 + "  "}, "title"),
    ("title-501-multibyte", {"title": "\u00e9" * 501}, "title"),
    ("title-control-bel", {"title": "a\u0007b"}, "title"),
    ("title-control-esc", {"title": "a\u001b[31mred"}, "title"),
    ("title-control-newline-inside", {"title": "line1\nline2"}, "title"),
    ("title-control-del", {"title": "a\u007fb"}, "title"),
    # description
    ("description-number", {"description": 5}, "description"),
    ("description-array", {"description": ["x"]}, "description"),
    ("description-20001", {"description": "d" * 20001}, "description"),
    # tags
    ("tags-string", {"tags": "home"}, "tags"),
    ("tags-object", {"tags": {"home": True}}, "tags"),
    ("tags-number", {"tags": 3}, "tags"),
    ("tags-51", {"tags": _tags(51)}, "tags"),
    ("tags-numbers", {"tags": [1, 2]}, "tags[0]"),
    ("tags-second-number", {"tags": ["ok", 5]}, "tags[1]"),
    ("tags-null-item", {"tags": [None]}, "tags[0]"),
    ("tags-nested-list", {"tags": ["a", "b", ["x"]]}, "tags[2]"),
    ("tag-65", {"tags": ["ok", "x" * 65]}, "tags[1]"),
    ("tag-empty", {"tags": [""]}, "tags[0]"),
    ("tag-space", {"tags": ["has space"]}, "tags[0]"),
    ("tag-hash", {"tags": ["#home"]}, "tags[0]"),
    ("tag-dot", {"tags": ["a.b"]}, "tags[0]"),
    ("tag-slash", {"tags": ["a/b"]}, "tags[0]"),
    ("tag-non-ascii", {"tags": ["caf\u00e9"]}, "tags[0]"),
    ("tag-emoji", {"tags": ["ok", "ok2", "\U0001f3e0"]}, "tags[2]"),
    # priority / status
    ("priority-number", {"priority": 3}, "priority"),
    ("priority-null", {"priority": None}, "priority"),
    ("priority-unknown", {"priority": "critical"}, "priority"),
    ("priority-empty", {"priority": ""}, "priority"),
    ("priority-p1", {"priority": "p1"}, "priority"),
    ("status-bool", {"status": True}, "status"),
    ("status-number", {"status": 1}, "status"),
    ("status-unknown", {"status": "open"}, "status"),
    ("status-empty", {"status": ""}, "status"),
    ("status-deleted", {"status": "deleted"}, "status"),
    # due
    ("due-number", {"due": 20270704}, "due"),
    ("due-bool", {"due": True}, "due"),
    ("due-object", {"due": {"date": "2027-07-04"}}, "due"),
    ("due-feb-30", {"due": "2027-02-30"}, "due"),
    ("due-feb-29-nonleap", {"due": "2027-02-29"}, "due"),
    ("due-month-13", {"due": "2027-13-01"}, "due"),
    ("due-month-00", {"due": "2027-00-10"}, "due"),
    ("due-day-00", {"due": "2027-07-00"}, "due"),
    ("due-hour-25", {"due": "2027-07-04T25:00"}, "due"),
    ("due-hour-24", {"due": "2027-07-04T24:00"}, "due"),
    ("due-minute-60", {"due": "2027-07-04T09:60"}, "due"),
    ("due-tomorrow", {"due": "tomorrow"}, "due"),
    ("due-no-padding", {"due": "2027-7-4"}, "due"),
    ("due-empty", {"due": ""}, "due"),
    ("due-rfc3339-seconds", {"due": "2027-07-04T13:30:15Z"}, "due"),
    ("due-rfc3339-fraction", {"due": "2027-07-04T13:30:00.500Z"}, "due"),
    ("due-rfc3339-bad-offset", {"due": "2027-07-04T13:30:00+25:00"}, "due"),
    ("due-local-with-seconds", {"due": "2027-07-04T09:30:00"}, "due"),
    ("due-slashes", {"due": "07/04/2027"}, "due"),
    ("due-5-digit-year", {"due": "99999-01-01"}, "due"),
    ("due-trailing-garbage", {"due": "2027-07-04xyz"}, "due"),
    # timezone
    ("tz-number", {"timezone": 5, **DUE}, "timezone"),
    ("tz-mars", {"timezone": "Mars/Olympus", **DUE}, "timezone"),
    ("tz-mars-no-due", {"timezone": "Mars/Olympus"}, "timezone"),
    ("tz-traversal", {"timezone": "../../etc/passwd", **DUE}, "timezone"),
    ("tz-traversal-inside", {"timezone": "America/../../../etc/passwd", **DUE}, "timezone"),
    ("tz-absolute-path", {"timezone": "/usr/share/zoneinfo/UTC", **DUE}, "timezone"),
    ("tz-empty", {"timezone": "", **DUE}, "timezone"),
    ("tz-200-chars", {"timezone": "A" * 200, **DUE}, "timezone"),
    ("tz-dir", {"timezone": "America/", **DUE}, "timezone"),
    ("tz-posix-string", {"timezone": "XYZ+5", **DUE}, "timezone"),
    # recurrence
    ("rec-string", {"recurrence": "FREQ=DAILY", **DUE}, "recurrence"),
    ("rec-array", {"recurrence": ["FREQ=DAILY"], **DUE}, "recurrence"),
    ("rec-number", {"recurrence": 1, **DUE}, "recurrence"),
]
REC_FIELDS = ("recurrence", "recurrence.rrule", "recurrence.recur_from")
RRULE_BAD = [
    ("rrule-sometimes", "FREQ=SOMETIMES"),
    ("rrule-byday-xx-no-freq", "BYDAY=XX"),
    ("rrule-weekly-byday-xx", "FREQ=WEEKLY;BYDAY=XX"),
    ("rrule-empty", ""),
    ("rrule-count-abc", "FREQ=DAILY;COUNT=abc"),
    ("rrule-count-0", "FREQ=DAILY;COUNT=0"),
    ("rrule-interval-0", "FREQ=DAILY;INTERVAL=0"),
    ("rrule-until-garbage", "FREQ=DAILY;UNTIL=notadate"),
    ("rrule-count-and-until", "FREQ=DAILY;COUNT=5;UNTIL=20270101T000000Z"),
    ("rrule-unknown-part", "FREQ=DAILY;FOO=BAR"),
]
CREATE_BAD += [(n, {"recurrence": {"rrule": rr, "recur_from": "due"}, **DUE}, REC_FIELDS)
               for n, rr in RRULE_BAD]
CREATE_BAD += [
    ("rrule-number", {"recurrence": {"rrule": 5, "recur_from": "due"}, **DUE}, REC_FIELDS),
    ("rrule-missing", {"recurrence": {"recur_from": "due"}, **DUE}, REC_FIELDS),
    ("recur-from-unknown", {"recurrence": {"rrule": "FREQ=DAILY", "recur_from": "never"}, **DUE},
     REC_FIELDS),
    ("recur-from-number", {"recurrence": {"rrule": "FREQ=DAILY", "recur_from": 1}, **DUE},
     REC_FIELDS),
    ("recurrence-without-due", {"recurrence": REC}, ("due",) + REC_FIELDS),
    ("recurrence-with-null-due", {"recurrence": REC, "due": None}, ("due",) + REC_FIELDS),
]


@pytest.mark.parametrize("over,field", [(o, f) for _, o, f in CREATE_BAD],
                         ids=[n for n, _, _ in CREATE_BAD])
def test_create_invalid(world, server, over, field):
    body = {"title": "valid title"}
    body.update(over)
    body = {k: v for k, v in body.items() if v is not _DROP}
    before = snapshot(world)
    r = world.alice.post(TASKS, body)
    check(r, 400, "invalid_argument", field)
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (5) PATCH: the same validation, and the task stays byte-identical

PATCH_BAD = [
    ("t1", "title-empty", {"title": ""}, "title"),
    ("t1", "title-null", {"title": None}, "title"),
    ("t1", "title-number", {"title": 7}, "title"),
    ("t1", "title-501", {"title": "y" * 501}, "title"),
    ("t1", "description-20001", {"description": "d" * 20001}, "description"),
    ("t1", "description-object", {"description": {}}, "description"),
    ("t1", "tags-string", {"tags": "home"}, "tags"),
    ("t1", "tags-51", {"tags": _tags(51)}, "tags"),
    ("t1", "tag-bad-second", {"tags": ["home", "bad tag"]}, "tags[1]"),
    ("t1", "priority-null", {"priority": None}, "priority"),
    ("t1", "priority-bad", {"priority": "HIGHEST"}, "priority"),
    ("t1", "status-null", {"status": None}, "status"),
    ("t1", "status-bad", {"status": "finished"}, "status"),
    ("t1", "due-bad", {"due": "2027-02-30"}, "due"),
    ("t1", "due-number", {"due": 1}, "due"),
    ("t1", "tz-bad", {"timezone": "Mars/Olympus"}, "timezone"),
    ("t1", "tz-traversal", {"timezone": "../../etc/passwd"}, "timezone"),
    ("t1", "valid-then-invalid", {"title": "new title", "priority": "bogus"}, "priority"),
    ("t1", "rrule-bad", {"recurrence": {"rrule": "FREQ=SOMETIMES", "recur_from": "due"}},
     REC_FIELDS),
    ("t3", "recurrence-on-task-without-due", {"recurrence": REC}, ("due",) + REC_FIELDS),
    ("t2", "clear-due-of-recurring", {"due": None}, ("due",) + REC_FIELDS),
    ("t2", "rrule-empty", {"recurrence": {"rrule": "", "recur_from": "due"}}, REC_FIELDS),
]


@pytest.mark.parametrize("which,patch,field", [(w, p, f) for w, _, p, f in PATCH_BAD],
                         ids=[n for _, n, _, _ in PATCH_BAD])
def test_patch_invalid(world, server, which, patch, field):
    task = getattr(world, which)
    before = snapshot(world)
    r = world.alice.patch(f"{TASKS}/{task['id']}", patch)
    check(r, 400, "invalid_argument", field)
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (6) query parameters on GET /api/v1/tasks

QUERY_BAD = [
    ("limit-0", [("limit", "0")], "limit"),
    ("limit-201", [("limit", "201")], "limit"),
    ("limit-negative", [("limit", "-1")], "limit"),
    ("limit-abc", [("limit", "abc")], "limit"),
    ("limit-1e3", [("limit", "1e3")], "limit"),
    ("limit-1.5", [("limit", "1.5")], "limit"),
    ("limit-10abc", [("limit", "10abc")], "limit"),
    ("limit-huge", [("limit", "99999999999999999999999")], "limit"),
    ("sort-unknown-field", [("sort", "colour:asc")], "sort"),
    ("sort-bad-direction", [("sort", "title:up")], "sort"),
    ("sort-rank-without-q", [("sort", "rank:desc")], "sort"),
    ("sort-rank-bare-without-q", [("sort", "rank")], "sort"),
    ("sort-empty", [("sort", "")], "sort"),
    ("sort-trailing-comma", [("sort", "title:asc,")], "sort"),
    ("sort-no-field", [("sort", ":asc")], "sort"),
    ("sort-three-parts", [("sort", "title:asc:desc")], "sort"),
    ("sort-sql-injection", [("sort", "title;DROP TABLE tasks")], "sort"),
    ("overdue-maybe", [("overdue", "maybe")], "overdue"),
    ("has_due-yes", [("has_due", "yes")], "has_due"),
    ("recurring-2", [("recurring", "2")], "recurring"),
    ("status-unknown", [("status", "open")], "status"),
    ("status-one-bad-in-list", [("status", "todo,bogus")], "status"),
    ("priority-unknown", [("priority", "critical")], "priority"),
    ("tag_mode-unknown", [("tag_mode", "some")], "tag_mode"),
    ("due_before-word", [("due_before", "tomorrow")], "due_before"),
    ("due_before-hour-25", [("due_before", "2027-07-04T25:00")], "due_before"),
    ("due_after-feb-30", [("due_after", "2027-02-30")], "due_after"),
    ("q-501", [("q", "q" * 501)], "q"),
    ("q-501-multibyte", [("q", "\u00e9" * 501)], "q"),
    ("tag-51-params", [("tag", f"t{i}") for i in range(51)], "tag"),
    ("cursor-garbage", [("cursor", "!!!not-a-cursor!!!")], "cursor"),
    ("cursor-b64-garbage-json", [("cursor", b64u(b'{"k":['))], "cursor"),
    ("cursor-b64-binary", [("cursor", b64u(b"\xff\xfe\x00\x01"))], "cursor"),
    ("cursor-b64-array", [("cursor", b64u(b"[1,2,3]"))], "cursor"),
    ("cursor-b64-wrong-shape", [("cursor", b64u(b'{"x":"y"}'))], "cursor"),
    ("cursor-very-long", [("cursor", "A" * 4000)], "cursor"),
]


@pytest.mark.parametrize("params,field", [(p, f) for _, p, f in QUERY_BAD],
                         ids=[n for n, _, _ in QUERY_BAD])
def test_list_invalid_query(world, server, params, field):
    before = snapshot(world)
    r = world.alice.get(TASKS, params=params)
    check(r, 400, "invalid_argument", field)
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_list_invalid_utf8_q(world, server):
    before = snapshot(world)
    r = world.alice.get(TASKS + "?q=%FF%FEabc")
    check(r, 400, "invalid_argument", "q")
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("params", [
    [("limit", "1"), ("sort", "title:asc")],
    [("limit", "1"), ("sort", "priority:desc")],
    [("limit", "1"), ("q", "rent")],  # default sort with q is rank:desc
], ids=["sort-title", "sort-priority", "q-rank"])
def test_cursor_from_other_sort(world, server, params):
    before = snapshot(world)
    r = world.alice.get(TASKS, params=params + [("cursor", world.cursor)])
    check(r, 400, "invalid_argument", "cursor")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (7) If-Match


def _ifmatch_request(w, op, task, value):
    h = {"If-Match": value}
    path = f"{TASKS}/{task['id']}"
    if op == "patch":
        return w.alice.patch(path, {"title": "changed by stale writer"}, headers=h)
    if op == "delete":
        return w.alice.delete(path, headers=h)
    if op == "complete":
        return w.alice.post(path + "/complete", headers=h)
    if op == "reopen":
        return w.alice.post(path + "/reopen", headers=h)
    raise AssertionError(op)


@pytest.mark.parametrize("op", ["patch", "delete", "complete", "reopen"])
@pytest.mark.parametrize("value", ["abc", '"abc"', "1x", 'W/"1"', "1.5"],
                         ids=["word", "quoted-word", "digit-then-junk", "weak-etag", "decimal"])
def test_if_match_not_a_number(world, server, op, value):
    before = snapshot(world)
    r = _ifmatch_request(world, op, world.t1, value)
    check(r, 400, "invalid_argument", "If-Match")
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("op", ["patch", "delete", "complete", "reopen"])
@pytest.mark.parametrize("quoted", [False, True], ids=["bare", "quoted"])
def test_if_match_stale(world, server, op, quoted):
    stale = str(world.t1["version"] - 1)
    before = snapshot(world)
    r = _ifmatch_request(world, op, world.t1, f'"{stale}"' if quoted else stale)
    check(r, 412, "precondition_failed")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (8) authentication -> 401


def _auth_cases(w):
    now = int(time.time())
    good = make_jwt(HS256, claims(w))
    h, p, s = good.split(".")
    sub = w.alice.user["id"]
    sub_num = int(sub) if sub.isdigit() else 12345
    tamper = s[:-2] + ("AA" if not s.endswith("AA") else "BB")
    return {
        "missing": None,
        "bearer-only": "Bearer",
        "bearer-empty": "Bearer ",
        "basic": "Basic " + base64.b64encode(f"{w.alice.email}:{w.alice.password}".encode()).decode(),
        "token-scheme": f"Token {good}",
        "raw-jwt-no-scheme": good,
        "garbage": "Bearer not-a-token",
        "garbage-three-parts": "Bearer abc.def.ghi",
        "two-parts": f"Bearer {h}.{p}",
        "four-parts": f"Bearer {good}.xyz",
        "trailing-junk": f"Bearer {good} extra",
        "very-long": "Bearer " + "A" * 6000,  # long, but under the 8 KiB header limit
        "alg-none-empty-sig": "Bearer " + make_jwt({"alg": "none", "typ": "JWT"}, claims(w), sig=""),
        "alg-none-with-sig": "Bearer " + make_jwt({"alg": "none", "typ": "JWT"}, claims(w)),
        "alg-None-case": "Bearer " + make_jwt({"alg": "None"}, claims(w), sig=""),
        "alg-HS512": "Bearer " + make_jwt({"alg": "HS512", "typ": "JWT"}, claims(w),
                                           digest=hashlib.sha512),
        "alg-HS384": "Bearer " + make_jwt({"alg": "HS384", "typ": "JWT"}, claims(w),
                                           digest=hashlib.sha384),
        "alg-RS256": "Bearer " + make_jwt({"alg": "RS256", "typ": "JWT"}, claims(w),
                                           sig=b64u(b"\x01" * 256)),
        "alg-missing": "Bearer " + make_jwt({"typ": "JWT"}, claims(w)),
        "forged-secret": "Bearer " + make_jwt(HS256, claims(w), secret="not-the-secret"),
        "tampered-signature": f"Bearer {h}.{p}.{tamper}",
        "tampered-payload": "Bearer " + ".".join(
            [h, b64u(json.dumps(claims(w, sub="999999")).encode()), s]),
        "expired": "Bearer " + make_jwt(HS256, claims(w, iat=now - 7200, exp=now - 3600)),
        "missing-exp": "Bearer " + make_jwt(HS256, claims(w, exp=_DROP)),
        "exp-string": "Bearer " + make_jwt(HS256, claims(w, exp="soon")),
        "missing-sub": "Bearer " + make_jwt(HS256, claims(w, sub=_DROP)),
        "sub-number": "Bearer " + make_jwt(HS256, claims(w, sub=sub_num)),
        "sub-object": "Bearer " + make_jwt(HS256, claims(w, sub={"id": sub})),
        "sub-unknown-user": "Bearer " + make_jwt(HS256, claims(w, sub="987654321")),
        "sub-empty": "Bearer " + make_jwt(HS256, claims(w, sub="")),
        "payload-not-json": "Bearer " + make_jwt(HS256, b"not json"),
        "header-not-json": "Bearer " + make_jwt(b"not json", claims(w)),
        "payload-array": "Bearer " + make_jwt(HS256, b"[1,2]"),
    }


AUTH_CASES = ["missing", "bearer-only", "bearer-empty", "basic", "token-scheme",
              "raw-jwt-no-scheme", "garbage", "garbage-three-parts", "two-parts", "four-parts",
              "trailing-junk", "very-long", "alg-none-empty-sig", "alg-none-with-sig",
              "alg-None-case", "alg-HS512", "alg-HS384", "alg-RS256", "alg-missing",
              "forged-secret", "tampered-signature", "tampered-payload", "expired",
              "missing-exp", "exp-string", "missing-sub", "sub-number", "sub-object",
              "sub-unknown-user", "sub-empty", "payload-not-json", "header-not-json",
              "payload-array"]


def _with_auth(server, header):
    c = Client(server)
    return c, ({"Authorization": header} if header is not None else {})


@pytest.mark.parametrize("case", AUTH_CASES)
def test_auth_refused(world, server, case):
    header = _auth_cases(world)[case]
    c, h = _with_auth(server, header)
    before = snapshot(world)
    check(c.get("/api/v1/me", headers=h), 401, "unauthorized")
    check(c.get(TASKS, headers=h), 401, "unauthorized")
    check(c.post(TASKS, {"title": "sneaky"}, headers=h), 401, "unauthorized")
    check(c.delete(f"{TASKS}/{world.t3['id']}", headers=h), 401, "unauthorized")
    check(c.patch("/api/v1/me", {"display_name": "pwned"}, headers=h), 401, "unauthorized")
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_handmade_jwt_is_accepted(world, server):
    """Positive control: the hand-made HS256 token works, so the refusals above
    are about the defect each case carries, not about the token maker."""
    tok = make_jwt(HS256, claims(world))
    r = Client(server).get("/api/v1/me", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == world.alice.user["id"]
    healthy(server)


def test_revoked_api_token(world, server):
    r = world.alice.post("/api/v1/auth/tokens", {"name": "soon revoked"})
    assert r.status_code == 201, r.text
    tok = r.json()
    h = {"Authorization": f"Bearer {tok['token']}"}
    anon = Client(server)
    assert anon.get("/api/v1/me", headers=h).status_code == 200
    r = world.alice.delete(f"/api/v1/auth/tokens/{tok['id']}")
    assert r.status_code == 204, r.text
    before = snapshot(world)
    check(anon.get("/api/v1/me", headers=h), 401, "unauthorized")
    check(anon.post(TASKS, {"title": "sneaky"}, headers=h), 401, "unauthorized")
    check(anon.get(TASKS, headers=h), 401, "unauthorized")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (9) registration, profile, API tokens, tags


def _email():
    return f"r-{uuid.uuid4().hex[:12]}@example.com"


REGISTER_BAD = [
    ("email-no-at", {"email": "no-at-sign.example.com"}, "email"),
    ("email-no-domain-dot", {"email": "user@localhost"}, "email"),
    ("email-space-local", {"email": "us er@example.com"}, "email"),
    ("email-space-domain", {"email": "user@exa mple.com"}, "email"),
    ("email-255", {"email": "a" * 243 + "@example.com"}, "email"),
    ("email-300", {"email": "a" * 64 + "@" + "b" * 231 + ".com"}, "email"),
    ("email-empty", {"email": ""}, "email"),
    ("email-no-local", {"email": "@example.com"}, "email"),
    ("email-no-domain", {"email": "user@"}, "email"),
    ("email-two-ats", {"email": "user@@example.com"}, "email"),
    ("email-number", {"email": 5}, "email"),
    ("email-null", {"email": None}, "email"),
    ("email-list", {"email": ["a@example.com"]}, "email"),
    ("email-missing", {"email": _DROP}, "email"),
    ("password-7", {"password": "1234567"}, "password"),
    ("password-6-bytes-3-chars", {"password": "\u00e9\u00e9\u00e9"}, "password"),
    ("password-1025", {"password": "p" * 1025}, "password"),
    ("password-empty", {"password": ""}, "password"),
    ("password-number", {"password": 12345678}, "password"),
    ("password-missing", {"password": _DROP}, "password"),
    ("display-name-101", {"display_name": "n" * 101}, "display_name"),
    ("display-name-number", {"display_name": 5}, "display_name"),
    ("timezone-mars", {"timezone": "Mars/Olympus"}, "timezone"),
    ("timezone-traversal", {"timezone": "../../etc/passwd"}, "timezone"),
    ("timezone-number", {"timezone": 0}, "timezone"),
]


@pytest.mark.parametrize("over,field", [(o, f) for _, o, f in REGISTER_BAD],
                         ids=[n for n, _, _ in REGISTER_BAD])
def test_register_invalid(world, server, over, field):
    body = {"email": _email(), "password": "correct horse battery"}
    body.update(over)
    body = {k: v for k, v in body.items() if v is not _DROP}
    r = Client(server).post("/api/v1/auth/register", body)
    check(r, 400, "invalid_argument", field)
    # Nothing was created: those credentials do not log in.
    if isinstance(body.get("email"), str) and isinstance(body.get("password"), str):
        r = Client(server).post("/api/v1/auth/login",
                                {"email": body["email"], "password": body["password"]})
        assert r.status_code in (400, 401), r.text
    healthy(server)


@pytest.mark.parametrize("variant", ["same", "upper"])
def test_register_duplicate_email(world, server, variant):
    email = world.alice.email if variant == "same" else world.alice.email.upper()
    before = snapshot(world)
    r = Client(server).post("/api/v1/auth/register",
                            {"email": email, "password": "another password 123",
                             "display_name": "Impostor"})
    check(r, 409, "conflict")
    assert_unchanged(before, snapshot(world))
    # alice's password still works, the impostor's does not.
    r = Client(server).post("/api/v1/auth/login",
                            {"email": world.alice.email, "password": "another password 123"})
    assert r.status_code == 401, r.text
    healthy(server)


ME_BAD = [
    ("display-name-101", {"display_name": "n" * 101}, "display_name"),
    ("display-name-number", {"display_name": 5}, "display_name"),
    ("display-name-array", {"display_name": ["x"]}, "display_name"),
    ("timezone-mars", {"timezone": "Mars/Olympus"}, "timezone"),
    ("timezone-empty", {"timezone": ""}, "timezone"),
    ("timezone-traversal", {"timezone": "../../etc/passwd"}, "timezone"),
    ("timezone-number", {"timezone": 5}, "timezone"),
    ("timezone-200", {"timezone": "Z" * 200}, "timezone"),
    ("valid-then-invalid", {"display_name": "ok", "timezone": "Nowhere/Land"}, "timezone"),
]


@pytest.mark.parametrize("body,field", [(b, f) for _, b, f in ME_BAD],
                         ids=[n for n, _, _ in ME_BAD])
def test_patch_me_invalid(world, server, body, field):
    before = snapshot(world)
    r = world.alice.patch("/api/v1/me", body)
    check(r, 400, "invalid_argument", field)
    assert_unchanged(before, snapshot(world))
    healthy(server)


TOKEN_BAD = [
    ("name-empty", {"name": ""}),
    ("name-101", {"name": "n" * 101}),
    ("name-number", {"name": 5}),
    ("name-null", {"name": None}),
    ("name-missing", {}),
]


@pytest.mark.parametrize("body", [b for _, b in TOKEN_BAD], ids=[n for n, _ in TOKEN_BAD])
def test_create_token_invalid(world, server, body):
    before = snapshot(world)
    r = world.alice.post("/api/v1/auth/tokens", body)
    check(r, 400, "invalid_argument", "name")
    assert_unchanged(before, snapshot(world))
    healthy(server)


TAG_BAD = [
    ("post", "name-space", {"name": "has space"}, "name"),
    ("post", "name-empty", {"name": ""}, "name"),
    ("post", "name-65", {"name": "x" * 65}, "name"),
    ("post", "name-hash", {"name": "#x"}, "name"),
    ("post", "name-number", {"name": 5}, "name"),
    ("post", "name-missing", {"color": "#112233"}, "name"),
    ("post", "color-word", {"name": "okname", "color": "red"}, "color"),
    ("post", "color-short", {"name": "okname", "color": "#12345"}, "color"),
    ("post", "color-not-hex", {"name": "okname", "color": "#gggggg"}, "color"),
    ("post", "color-no-hash", {"name": "okname", "color": "112233"}, "color"),
    ("post", "color-number", {"name": "okname", "color": 1122}, "color"),
    ("patch", "name-space", {"name": "bad name"}, "name"),
    ("patch", "name-empty", {"name": ""}, "name"),
    ("patch", "name-null", {"name": None}, "name"),
    ("patch", "color-word", {"color": "blue"}, "color"),
    ("patch", "color-long", {"color": "#1122334"}, "color"),
]


@pytest.mark.parametrize("op,body,field", [(o, b, f) for o, _, b, f in TAG_BAD],
                         ids=[f"{o}-{n}" for o, n, _, _ in TAG_BAD])
def test_tag_invalid(world, server, op, body, field):
    before = snapshot(world)
    if op == "post":
        r = world.alice.post("/api/v1/tags", body)
    else:
        r = world.alice.patch(f"/api/v1/tags/{world.tag_home['id']}", body)
    check(r, 400, "invalid_argument", field)
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (10) HTTP level: headers, URL, routes, methods, ids


def test_huge_single_header(world, server):
    before = snapshot(world)
    r = world.alice.post(TASKS, {"title": "sneaky"}, headers={"X-Big": "a" * 20 * 1024})
    check(r, 431, "header_too_large")
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_many_headers(world, server):
    before = snapshot(world)
    h = {f"X-Header-{i}": "v" * 60 for i in range(200)}  # ~15 KiB: over 8 KiB, under MHD's 32
    r = world.alice.post(TASKS, {"title": "sneaky"}, headers=h)
    check(r, 431, "header_too_large")
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_headers_beyond_connection_buffer(world, server):
    """Over the 32 KiB per-connection buffer libmicrohttpd answers 431 itself
    (non-JSON) or drops the connection; tock must stay healthy."""
    before = snapshot(world)
    req = (f"GET {TASKS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {world.alice.token}"
           f"\r\nConnection: close\r\nX-Huge: {'h' * 100 * 1024}\r\n\r\n").encode()
    resp = raw_http(server, [req])
    assert_raw_4xx_or_closed(resp, allowed={431})
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("url", [
    TASKS + "?x=" + "a" * 9000,
    TASKS + "/" + "1" * 9000,
    "/api/v1/" + "p" * 9000,
], ids=["long-query", "long-id", "long-path"])
def test_uri_too_long(world, server, url):
    before = snapshot(world)
    r = world.alice.get(url)
    check(r, 414, "uri_too_long")
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("path", [
    "/api/v1/nope", "/api/v2/tasks", "/api/v1/taskss", "/api/v1/tasks/{id}/bogus",
    "/api/v1/tasks/{id}/complete/extra", "/api", "/api/v1/auth", "/healthz/x",
])
def test_unknown_route(world, server, path):
    before = snapshot(world)
    r = world.alice.get(path.replace("{id}", world.t1["id"]))
    check(r, 404, "not_found")
    assert_unchanged(before, snapshot(world))
    healthy(server)


WRONG_METHOD = [
    ("DELETE", "/api/v1/tasks", {"GET", "POST"}),
    ("PUT", "/api/v1/tasks", {"GET", "POST"}),
    ("PUT", "/api/v1/tasks/{id}", {"GET", "PATCH", "DELETE"}),
    ("POST", "/api/v1/tasks/{id}", {"GET", "PATCH", "DELETE"}),
    ("GET", "/api/v1/tasks/{id}/complete", {"POST"}),
    ("PATCH", "/api/v1/tasks/{id}/reopen", {"POST"}),
    ("DELETE", "/api/v1/tasks/{id}/history", {"GET"}),
    ("GET", "/api/v1/auth/register", {"POST"}),
    ("GET", "/api/v1/auth/login", {"POST"}),
    ("POST", "/api/v1/me", {"GET", "PATCH"}),
    ("DELETE", "/api/v1/me", {"GET", "PATCH"}),
    ("POST", "/healthz", {"GET"}),
    ("DELETE", "/api/v1/tags", {"GET", "POST"}),
]


@pytest.mark.parametrize("method,path,allow", WRONG_METHOD,
                         ids=[f"{m}-{p}" for m, p, _ in WRONG_METHOD])
def test_wrong_method(world, server, method, path, allow):
    before = snapshot(world)
    body = {"title": "sneaky"} if method in ("POST", "PUT", "PATCH") else None
    r = world.alice.request(method, path.replace("{id}", world.t1["id"]), json_body=body)
    check(r, 405, "method_not_allowed")
    got = {m.strip().upper() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allow <= got, f"Allow {r.headers.get('Allow')!r} lacks {allow - got}"
    assert_unchanged(before, snapshot(world))
    healthy(server)


BAD_IDS = [
    ("traversal-encoded", "..%2F..%2Fetc%2Fpasswd"),
    ("dotdot-encoded", "%2E%2E"),
    ("word", "abc"),
    ("huge", "9" * 30),
    ("int64-overflow", "9223372036854775808"),
    ("negative", "-1"),
    ("zero", "0"),
    ("hex", "0x10"),
    ("float", "1.5"),
    ("invalid-utf8", "%FF%FE"),
    ("nul", "%00"),
    ("sql", "1%20OR%201%3D1"),
]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("tid", [i for _, i in BAD_IDS], ids=[n for n, _ in BAD_IDS])
def test_bad_task_ids(world, server, method, tid):
    before = snapshot(world)
    body = {"title": "changed"} if method == "PATCH" else None
    r = send_exact(world.alice, method, f"{TASKS}/{tid}", json_body=body)
    check(r, 404, "not_found")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# Ids are opaque strings: spellings that merely parse to the same integer
# must not reach the task.
ID_ALIASES = [
    ("plus-sign", "%2B{id}"),
    ("leading-zero", "0{id}"),
    ("leading-space", "%20{id}"),
    ("trailing-space", "{id}%20"),
    ("trailing-nul", "{id}%00"),
    ("trailing-junk", "{id}abc"),
    ("decimal", "{id}.0"),
]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("alias", [a for _, a in ID_ALIASES], ids=[n for n, _ in ID_ALIASES])
def test_id_aliases(world, server, method, alias):
    # A throwaway task of alice's, so that a server that does resolve the
    # alias (and deletes or changes it) cannot spoil the other cases.
    r = world.alice.post(TASKS, {"title": "alias victim"})
    assert r.status_code == 201, r.text
    victim = r.json()
    vpath = f"{TASKS}/{victim['id']}"
    try:
        before = snapshot(world) + [("victim", world.alice.get(vpath).content)]
        body = {"title": "changed via alias"} if method == "PATCH" else None
        r = send_exact(world.alice, method, f"{TASKS}/{alias.replace('{id}', victim['id'])}",
                       json_body=body)
        check(r, 404, "not_found")
        assert_unchanged(before, snapshot(world) + [("victim", world.alice.get(vpath).content)])
        healthy(server)
    finally:
        world.alice.delete(vpath)


OTHER_USER_OPS = [
    ("get", "GET", "", None, {}),
    ("patch", "PATCH", "", {"title": "mine now"}, {}),
    ("patch-if-match", "PATCH", "", {"title": "mine now"}, {"If-Match": "1"}),
    ("delete", "DELETE", "", None, {}),
    ("complete", "POST", "/complete", None, {}),
    ("reopen", "POST", "/reopen", None, {}),
    ("history", "GET", "/history", None, {}),
]


@pytest.mark.parametrize("method,suffix,body,headers",
                         [(m, s, b, h) for _, m, s, b, h in OTHER_USER_OPS],
                         ids=[n for n, *_ in OTHER_USER_OPS])
def test_other_users_task_is_not_found(world, server, method, suffix, body, headers):
    before = snapshot(world)
    r = world.bob.request(method, f"{TASKS}/{world.t1['id']}{suffix}", json_body=body,
                          headers=headers)
    check(r, 404, "not_found")
    assert_unchanged(before, snapshot(world))
    healthy(server)


def test_other_users_tag_is_not_found(world, server):
    before = snapshot(world)
    r = world.bob.patch(f"/api/v1/tags/{world.tag_home['id']}", {"color": "#000000"})
    check(r, 404, "not_found")
    r = world.bob.delete(f"/api/v1/tags/{world.tag_home['id']}")
    check(r, 404, "not_found")
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------
# (11) raw malformed HTTP (libmicrohttpd may answer these itself)


def _auth_line(w):
    return f"Authorization: Bearer {w.alice.token}\r\n"


RAW_CASES = [
    ("garbage-request-line", lambda w: [b"GARBAGE\r\n\r\n"], None),
    ("binary-garbage", lambda w: [bytes(range(256)) + b"\r\n\r\n"], None),
    ("no-host-http11", lambda w: [b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"], None),
    ("unknown-version", lambda w: [b"GET /healthz HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n"],
     set(range(400, 500)) | {505}),
    ("header-without-colon",
     lambda w: [b"GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nConnection: close\r\n\r\n"],
     set(range(400, 500)) | {200}),
    ("negative-content-length",
     lambda w: [f"POST {TASKS} HTTP/1.1\r\nHost: x\r\n{_auth_line(w)}Content-Type: application/json"
                f"\r\nContent-Length: -1\r\nConnection: close\r\n\r\n{{\"title\":\"x\"}}".encode()],
     None),
    ("non-numeric-content-length",
     lambda w: [f"POST {TASKS} HTTP/1.1\r\nHost: x\r\n{_auth_line(w)}Content-Type: application/json"
                f"\r\nContent-Length: ten\r\nConnection: close\r\n\r\n{{\"title\":\"x\"}}".encode()],
     None),
    ("huge-content-length",
     lambda w: [f"POST {TASKS} HTTP/1.1\r\nHost: x\r\n{_auth_line(w)}Content-Type: application/json"
                f"\r\nContent-Length: 99999999999999999999999\r\nConnection: close\r\n\r\n"
                f"{{\"title\":\"x\"}}".encode()], None),
    ("bad-chunk-size",
     lambda w: [f"POST {TASKS} HTTP/1.1\r\nHost: x\r\n{_auth_line(w)}Content-Type: application/json"
                f"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{{\"title\":\"x\"}}"
                f"\r\n0\r\n\r\n".encode()], None),
    ("url-beyond-buffer",
     lambda w: [f"GET /api/v1/tasks?x={'u' * 70000} HTTP/1.1\r\nHost: x\r\nConnection: close"
                f"\r\n\r\n".encode()], None),
]


@pytest.mark.parametrize("make,allowed", [(m, a) for _, m, a in RAW_CASES],
                         ids=[n for n, _, _ in RAW_CASES])
def test_raw_malformed_http(world, server, make, allowed):
    before = snapshot(world)
    resp = raw_http(server, make(world))
    assert_raw_4xx_or_closed(resp, allowed)
    assert_unchanged(before, snapshot(world))
    healthy(server)


@pytest.mark.parametrize("case", ["short-body", "headers-only", "partial-request-line",
                                  "connect-only", "short-chunked"])
def test_client_gives_up_mid_request(world, server, case):
    head = (f"POST {TASKS} HTTP/1.1\r\nHost: x\r\n{_auth_line(world)}"
            f"Content-Type: application/json\r\n")
    parts = {
        "short-body": [(head + "Content-Length: 100\r\n\r\n").encode(), b'{"title":"half'],
        "headers-only": [(head + "Content-Length: 20\r\n\r\n").encode()],
        "partial-request-line": [b"GET /api/v1/ta"],
        "connect-only": [],
        "short-chunked": [(head + "Transfer-Encoding: chunked\r\n\r\n").encode(),
                          b"40\r\n{\"title\":\"hal"],
    }[case]
    before = snapshot(world)
    raw_http(server, parts, close_after_send=True)
    healthy(server)
    assert_unchanged(before, snapshot(world))
    healthy(server)


# --------------------------------------------------------------------------


def test_zz_server_still_alive(world, server):
    """After every case above: still healthy, still the same process."""
    assert server.alive()
    healthy(server)
    r = world.alice.get("/readyz")
    assert r.status_code == 200, r.text
