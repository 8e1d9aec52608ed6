"""The admin CLI and start-up behaviour, black-box: `tock migrate`, `tock user add`
(password on stdin), `tock token create`, and a generated JWT secret that survives a
restart (sessions keep working) when neither TOCK_JWT_SECRET nor _FILE is set."""
import os
import subprocess
import tempfile

import requests

from conftest import TOCK_BIN, Server, assert_error, new_db


def run(args, env, stdin=None):
    return subprocess.run([TOCK_BIN] + args, env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


def cli_env(db_dir, db=None, **extra):
    env = dict(os.environ)
    env.pop("TOCK_JWT_SECRET", None)
    env.pop("TOCK_JWT_SECRET_FILE", None)
    env.update({"TOCK_DB": db or f"sqlite:{db_dir}/tock.db",
                "ASAN_OPTIONS": "detect_leaks=1", "UBSAN_OPTIONS": "halt_on_error=1"})
    env.update(extra)
    return env


def test_migrate_user_add_and_token_create(store):
    d = tempfile.mkdtemp(prefix="tock-cli-")
    db, _ = new_db(store, d)
    env = cli_env(d, db, TOCK_JWT_SECRET="cli-secret-0123456789abcdef0123456789abcdef")
    r = run(["migrate"], env)
    assert r.returncode == 0, r.stderr
    r = run(["user", "add", "Cli@Example.com", "--timezone", "Europe/Paris"], env,
            stdin="a long enough password\n")
    assert r.returncode == 0, r.stderr
    assert "cli@example.com" in r.stdout
    # The same e-mail again is refused, and nothing else changes.
    r = run(["user", "add", "cli@example.com"], env, stdin="another password\n")
    assert r.returncode == 1 and "already registered" in r.stderr
    r = run(["user", "add", "short@example.com"], env, stdin="short\n")
    assert r.returncode == 1 and "password" in r.stderr
    r = run(["token", "create", "--user", "cli@example.com", "laptop script"], env)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("tock_") and len(token) > 40
    r = run(["token", "create", "--user", "nobody@example.com", "x"], env)
    assert r.returncode == 1

    s = Server(extra_env={"TOCK_DB": env["TOCK_DB"], "TOCK_JWT_SECRET": env["TOCK_JWT_SECRET"]})
    try:
        h = {"Authorization": f"Bearer {token}"}
        me = requests.get(s.url + "/api/v1/me", headers=h, timeout=10)
        assert me.status_code == 200, me.text
        assert me.json()["email"] == "cli@example.com"
        assert me.json()["timezone"] == "Europe/Paris"
        tokens = requests.get(s.url + "/api/v1/auth/tokens", headers=h, timeout=10).json()
        assert [t["name"] for t in tokens["items"]] == ["laptop script"]
        login = requests.post(s.url + "/api/v1/auth/login", timeout=30,
                              json={"email": "cli@example.com",
                                    "password": "a long enough password"})
        assert login.status_code == 200, login.text
    finally:
        s.stop()


def test_generated_secret_persists_across_restart(store):
    d = tempfile.mkdtemp(prefix="tock-secret-")
    db, _ = new_db(store, d)
    # The secret lives in the data dir: next to a SQLite file, or TOCK_DATA_DIR.
    env = {"TOCK_DB": db, "TOCK_JWT_SECRET": "", "TOCK_JWT_SECRET_FILE": ""}
    if store != "sqlite":
        env["TOCK_DATA_DIR"] = d
    s = Server(extra_env=env)
    try:
        r = requests.post(s.url + "/api/v1/auth/register", timeout=30,
                          json={"email": "keep@example.com", "password": "password123"})
        assert r.status_code == 201, r.text
        token = r.json()["token"]
    finally:
        s.stop()
    secret_path = os.path.join(d, "jwt.secret")
    assert os.path.exists(secret_path)
    assert os.stat(secret_path).st_mode & 0o077 == 0, "secret file must not be group/world readable"
    with open(s.stdout_path) as f:
        assert "generated a JWT secret" in f.read()
    s2 = Server(extra_env=env)
    try:
        h = {"Authorization": f"Bearer {token}"}
        assert requests.get(s2.url + "/api/v1/me", headers=h, timeout=10).status_code == 200
        # A different secret (a different deployment) does not accept it.
    finally:
        s2.stop()
    s3 = Server(extra_env={"TOCK_DB": env["TOCK_DB"], "TOCK_DATA_DIR": d,
                           "TOCK_JWT_SECRET": "another-secret-0123456789abcdef0123456789"})
    try:
        r = requests.get(s3.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
        assert_error(r, 401, "unauthorized")
    finally:
        s3.stop()


def test_bad_configuration_stops_startup_with_a_message():
    d = tempfile.mkdtemp(prefix="tock-cfg-")
    for bad, needle in [({"TOCK_MAX_BODY": "lots"}, "TOCK_MAX_BODY"),
                        ({"TOCK_LISTEN": "nowhere"}, "TOCK_LISTEN"),
                        ({"TOCK_DB": "mysql://x"}, "TOCK_DB"),
                        ({"TOCK_JWT_SECRET": "too-short"}, "32 bytes"),
                        ({"TOCK_ROLES": "api,teleport"}, "teleport")]:
        env = cli_env(d, TOCK_JWT_SECRET="cfg-secret-0123456789abcdef0123456789abcdef",
                      TOCK_LISTEN="127.0.0.1:0")
        env.update(bad)
        r = subprocess.run([TOCK_BIN, "serve"], env=env, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode != 0, bad
        assert needle in r.stderr, (bad, r.stderr)
