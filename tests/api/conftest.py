"""Black-box test fixtures: a real `tock serve` on a free loopback port with a
fresh database, spoken to only over HTTP.

TOCK_BIN selects the binary (default: build-asan/tock, the sanitizer build that
`make test` produces). Each server's stdout (access log) and stderr are kept in
its temp dir; at shutdown the fixture asserts a clean exit (status 0 after
SIGTERM) and no sanitizer report in stderr.

Every test that uses the `store` fixture (directly or through `server` /
`fresh_server`) runs once per store backend: TOCK_TEST_STORES (default
"sqlite,postgres") lists them, and test ids show [sqlite] / [postgres]. For
PostgreSQL the fixture starts its own throwaway server from Debian's binaries
(/usr/lib/postgresql/*/bin; PG_BINDIR overrides): initdb into a temp dir (as the
`postgres` system user when the tests run as root), listening only on a unix
socket in that dir, one fresh database per tock server, stopped at session end.
fsync stays on; synchronous_commit=off only skips waiting for the WAL flush at
commit (a crash of the test server could lose the last commits, which no test
does), and saves ~1 ms per write request.
"""
import atexit
import glob
import pwd
import shutil
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


TEST_STORES = [s.strip() for s in os.environ.get("TOCK_TEST_STORES", "sqlite,postgres").split(",")
               if s.strip()]


def _pg_bindir():
    cands = [os.environ["PG_BINDIR"]] if os.environ.get("PG_BINDIR") else []
    cands += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
                    reverse=True)
    which = shutil.which("initdb")
    if which:
        cands.append(os.path.dirname(which))
    for d in cands:
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    raise RuntimeError("PostgreSQL server binaries not found (install Debian's `postgresql`, "
                       "e.g. scripts/deps.sh test, or run with TOCK_TEST_STORES=sqlite)")


class Postgres:
    """A throwaway PostgreSQL cluster in a temp dir, reachable on a unix socket there."""

    def __init__(self):
        self.bindir = _pg_bindir()
        self.dir = tempfile.mkdtemp(prefix="tock-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")
        self.runas = []
        if os.geteuid() == 0:
            # initdb/postgres refuse to run as root: use the package's system user.
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                                "/usr/sbin/nologin", "postgres"], check=True)
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self.runas = ["runuser", "-u", "postgres", "--"]
        # --no-sync only for initdb's own files (a crash mid-initdb just fails the run).
        self._run(["initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--locale=C.UTF-8", "--no-sync", "--no-instructions"], timeout=120)
        opts = (f"-k {self.dir} -c listen_addresses='' -c max_connections=400 "
                "-c synchronous_commit=off -c shared_buffers=64MB")
        self._run(["pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60",
                   "start"], timeout=90)
        deadline = time.monotonic() + 30
        while self._psql("SELECT 1", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not accept connections in 30 s: " +
                                   self.server_log())
            time.sleep(0.1)

    def _run(self, args, timeout=60, check=True):
        cmd = self.runas + [os.path.join(self.bindir, args[0])] + args[1:]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, cwd=self.dir)
        if check and r.returncode != 0:
            raise RuntimeError(f"{cmd} -> {r.returncode}: {r.stdout}{r.stderr}"
                               f"{self.server_log()}")
        return r

    def _psql(self, sql, check=True, db="postgres"):
        return self._run(["psql", "-X", "-q", "-h", self.dir, "-U", "postgres", "-d", db,
                          "-v", "ON_ERROR_STOP=1", "-c", sql], check=check)

    def query(self, db, sql):
        """Rows of a query as lists of strings (psql unaligned, tab-separated)."""
        r = self._run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-h", self.dir, "-U",
                       "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def server_log(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def url(self, db):
        return f"postgresql://postgres@/{db}?host={self.dir}"

    def create_db(self):
        name = "tock_" + uuid.uuid4().hex[:12]
        self._psql(f"CREATE DATABASE {name}")
        return name

    def drop_db(self, name):
        self._psql(f"DROP DATABASE IF EXISTS {name}", check=False)

    def stop(self):
        self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


_PG = None


def postgres():
    """The session's PostgreSQL cluster, started on first use."""
    global _PG
    if _PG is None:
        _PG = Postgres()
        atexit.register(_stop_postgres)
    return _PG


def _stop_postgres():
    global _PG
    if _PG is not None:
        pg, _PG = _PG, None
        pg.stop()


def pytest_sessionfinish(session, exitstatus):
    _stop_postgres()


def new_db(store, dir_):
    """A fresh, empty database for `store`: (TOCK_DB URL, cleanup callable)."""
    if store == "sqlite":
        return f"sqlite:{dir_}/tock.db", lambda: None
    if store == "postgres":
        pg = postgres()
        name = pg.create_db()
        return pg.url(name), lambda: pg.drop_db(name)
    raise ValueError(f"unknown store {store!r} in TOCK_TEST_STORES")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running `tock serve` process."""

    def __init__(self, extra_env=None, store="sqlite"):
        self.dir = tempfile.mkdtemp(prefix="tock-test-")
        self.store = store
        self._drop_db = lambda: None
        extra_env = dict(extra_env or {})
        if "TOCK_DB" not in extra_env:
            extra_env["TOCK_DB"], self._drop_db = new_db(store, self.dir)
            # Files the server keeps next to its data (a generated JWT secret) stay in
            # the temp dir (a sqlite: URL already puts them there).
            if store != "sqlite":
                extra_env.setdefault("TOCK_DATA_DIR", self.dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update({
            "TOCK_LISTEN": f"127.0.0.1:{self.port}",
            "TOCK_JWT_SECRET": JWT_SECRET,
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98",
        })
        env.update(extra_env)
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
        self._drop_db()
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


@pytest.fixture(scope="session", params=TEST_STORES)
def store(request):
    """The store backend under test: every test using it runs once per backend."""
    return request.param


@pytest.fixture(scope="session")
def server(store):
    s = Server(store=store)
    yield s
    s.stop()


@pytest.fixture
def fresh_server(store):
    s = Server(store=store)
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
