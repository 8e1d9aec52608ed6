"""Black-box test fixtures: a real `tock serve` on a free loopback port with a
fresh database, spoken to only over HTTP.

TOCK_BIN selects the binary (default: build-asan/tock, the sanitizer build that
`make test` produces). Each server's stdout (access log) and stderr are kept in
its temp dir; at shutdown the fixture asserts a clean exit (status 0 after
SIGTERM) and no sanitizer report in stderr.
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOCK_BIN = os.environ.get("TOCK_BIN", os.path.join(ROOT, "build-asan", "tock"))
JWT_SECRET = "test-secret-0123456789abcdef0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running `tock serve` process."""

    def __init__(self, extra_env=None):
        self.dir = tempfile.mkdtemp(prefix="tock-test-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update({
            "TOCK_DB": f"sqlite:{self.dir}/tock.db",
            "TOCK_LISTEN": f"127.0.0.1:{self.port}",
            "TOCK_JWT_SECRET": JWT_SECRET,
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98",
        })
        env.update(extra_env or {})
        self.env = env
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([TOCK_BIN, "serve"], env=env, stdout=self._out,
                                     stderr=self._err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tock exited with {self.proc.returncode}: {self.stderr()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("tock did not become healthy in 30 s: " + self.stderr())
            time.sleep(0.05)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def access_log(self):
        """The JSON access-log lines written so far (other stdout lines skipped)."""
        lines = []
        with open(self.stdout_path, "rb") as f:
            for raw in f.read().decode("utf-8", "replace").splitlines():
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(obj, dict) and "route" in obj:
                    lines.append(obj)
        return lines

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("tock did not stop within 30 s of SIGTERM")
        self._out.close()
        self._err.close()
        err = self.stderr()
        assert "ERROR: AddressSanitizer" not in err, err[-4000:]
        assert "ERROR: LeakSanitizer" not in err, err[-4000:]
        assert "runtime error:" not in err, err[-4000:]
        assert self.proc.returncode == 0, f"exit status {self.proc.returncode}: {err[-4000:]}"


class Client:
    """A thin HTTP client bound to one server and (optionally) one bearer token."""

    def __init__(self, server, token=None, user=None):
        self.server = server
        self.url = server.url
        self.token = token
        self.user = user
        self.s = requests.Session()

    def headers(self, extra=None):
        h = {}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def request(self, method, path, json_body=None, data=None, headers=None, params=None):
        h = self.headers(headers)
        if json_body is not None:
            data = json.dumps(json_body)
            h.setdefault("Content-Type", "application/json")
        return self.s.request(method, self.url + path, data=data, headers=h, params=params,
                              timeout=30)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, json_body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, json_body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, json_body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def register(server, email=None, password="correct horse battery", **extra):
    """Registers a new user; returns a Client carrying its JWT."""
    email = email or f"u-{uuid.uuid4().hex[:12]}@example.com"
    body = {"email": email, "password": password}
    body.update(extra)
    r = requests.post(server.url + "/api/v1/auth/register", json=body, timeout=30)
    assert r.status_code == 201, r.text
    data = r.json()
    c = Client(server, data["token"], data["user"])
    c.email = email
    c.password = password
    return c


def assert_error(r, status, code=None, field=None):
    """The documented error shape: {"error":{"code","message","field"}}."""
    assert r.status_code == status, f"{r.status_code} != {status}: {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    if code is not None:
        assert err["code"] == code, body
    if field is not None:
        assert err.get("field") == field, body
    return err


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def fresh_server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def user(server):
    return register(server)


@pytest.fixture
def other(server):
    return register(server)


@pytest.fixture
def anon(server):
    return Client(server)
