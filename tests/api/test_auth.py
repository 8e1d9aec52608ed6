"""Accounts and authentication: register, login, /me, API tokens, JWT checks and
the failed-login rate limit (docs/api.md "Accounts")."""
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from datetime import datetime, timezone

import pytest
import requests

from conftest import JWT_SECRET, Client, assert_error, register

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
USER_KEYS = {"id", "email", "display_name", "timezone", "created_at"}
SEVEN_DAYS = 7 * 24 * 3600


def new_email(tag="a"):
    return f"{tag}-{uuid.uuid4().hex[:12]}@example.com"


def post_register(server, body):
    return requests.post(server.url + "/api/v1/auth/register", json=body, timeout=30)


def post_login(server, email, password):
    return requests.post(server.url + "/api/v1/auth/login",
                         json={"email": email, "password": password}, timeout=30)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def make_jwt(payload, alg="HS256", secret=JWT_SECRET, header=None):
    """A JWT built by hand (no PyJWT): HS256/HS512 signed, or unsigned for alg none."""
    header = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(payload, separators=(",", ":")).encode()))
    if alg == "none":
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512, "HS384": hashlib.sha384}[alg]
    sig = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(sig)


def me_with(server, token):
    return requests.get(server.url + "/api/v1/me",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)


def parse_ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def alice(server):
    return register(server, display_name="Alice", timezone="Europe/Paris")


@pytest.fixture(scope="module")
def bob(server):
    return register(server)


# ---------------------------------------------------------------- register

def test_register_returns_user_token_and_expiry(server):
    email = new_email("reg")
    before = time.time()
    r = post_register(server, {"email": email, "password": "correct horse battery",
                               "display_name": "Reg User", "timezone": "America/New_York"})
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"user", "token", "expires_at"}
    user = body["user"]
    assert set(user) == USER_KEYS, user
    assert isinstance(user["id"], str) and user["id"]
    assert user["email"].lower() == email.lower()
    assert user["display_name"] == "Reg User"
    assert user["timezone"] == "America/New_York"
    assert TS_RE.match(user["created_at"]), user["created_at"]
    assert abs(parse_ts(user["created_at"]).timestamp() - before) < 60
    assert TS_RE.match(body["expires_at"]), body["expires_at"]
    exp = parse_ts(body["expires_at"]).timestamp()
    assert abs(exp - (before + SEVEN_DAYS)) < 120, body["expires_at"]
    # The token works.
    me = me_with(server, body["token"])
    assert me.status_code == 200, me.text
    assert me.json() == user


def test_register_token_is_hs256_jwt_with_sub_iat_exp(server):
    r = post_register(server, {"email": new_email("jwt"), "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    body = r.json()
    parts = body["token"].split(".")
    assert len(parts) == 3, body["token"]
    header = json.loads(b64url_decode(parts[0]))
    payload = json.loads(b64url_decode(parts[1]))
    assert header["alg"] == "HS256"
    assert str(payload["sub"]) == body["user"]["id"]
    assert payload["exp"] - payload["iat"] == SEVEN_DAYS
    assert abs(payload["exp"] - parse_ts(body["expires_at"]).timestamp()) < 2
    # Signed with the configured secret.
    signing_input = (parts[0] + "." + parts[1]).encode()
    sig = hmac.new(JWT_SECRET.encode(), signing_input, hashlib.sha256).digest()
    assert b64url(sig) == parts[2]


def test_register_default_timezone_is_utc(server):
    r = post_register(server, {"email": new_email("tz"), "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["timezone"] == "UTC"


def test_register_duplicate_email_is_409_case_insensitive(server):
    local = f"Dup-{uuid.uuid4().hex[:10]}"
    r = post_register(server, {"email": f"{local}@Example.com", "password": "correct horse battery"})
    assert r.status_code == 201, r.text
    for variant in (f"{local}@Example.com", f"{local.lower()}@example.com",
                    f"{local.upper()}@EXAMPLE.COM"):
        r2 = post_register(server, {"email": variant, "password": "another password 1"})
        assert_error(r2, 409, "conflict")


def test_login_email_is_case_insensitive(server):
    c = register(server, email=f"Case-{uuid.uuid4().hex[:10]}@Example.com")
    r = post_login(server, c.email.upper(), c.password)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == c.user["id"]


@pytest.mark.parametrize("password", ["", "short", "1234567"])
def test_register_short_password_is_400(server, password):
    email = new_email("pw")
    r = post_register(server, {"email": email, "password": password})
    assert_error(r, 400, "invalid_argument", "password")
    # Nothing was created: the e-mail is still free.
    r = post_register(server, {"email": email, "password": "long enough pw"})
    assert r.status_code == 201, r.text


def test_register_password_length_bounds(server):
    r = post_register(server, {"email": new_email("pw8"), "password": "12345678"})
    assert r.status_code == 201, r.text
    r = post_register(server, {"email": new_email("pw1024"), "password": "p" * 1024})
    assert r.status_code == 201, r.text
    r = post_register(server, {"email": new_email("pw1025"), "password": "p" * 1025})
    assert_error(r, 400, "invalid_argument", "password")


@pytest.mark.parametrize("email", [
    "", "not-an-email", "@example.com", "user@", "user@@example.com", "user example@example.com",
    "user@example", "x" * 250 + "@example.com",
])
def test_register_bad_email_is_400(server, email):
    r = post_register(server, {"email": email, "password": "correct horse battery"})
    assert_error(r, 400, "invalid_argument", "email")


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "EST5EDT-bogus", "../etc/passwd", "utc+2"])
def test_register_bad_timezone_is_400(server, tz):
    email = new_email("badtz")
    r = post_register(server, {"email": email, "password": "correct horse battery", "timezone": tz})
    assert_error(r, 400, "invalid_argument", "timezone")
    r = post_register(server, {"email": email, "password": "correct horse battery"})
    assert r.status_code == 201, r.text


def test_register_display_name_too_long_is_400(server):
    email = new_email("dn")
    r = post_register(server, {"email": email, "password": "correct horse battery",
                               "display_name": "d" * 101})
    assert_error(r, 400, "invalid_argument", "display_name")
    r = post_register(server, {"email": email, "password": "correct horse battery",
                               "display_name": "d" * 100})
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "d" * 100


def test_register_missing_fields_is_400(server):
    assert_error(post_register(server, {"password": "correct horse battery"}), 400,
                 "invalid_argument", "email")
    assert_error(post_register(server, {"email": new_email("nopw")}), 400,
                 "invalid_argument", "password")


# ---------------------------------------------------------------- login

def test_login_returns_user_and_working_token(server, alice):
    r = post_login(server, alice.email, alice.password)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"user", "token", "expires_at"}
    assert body["user"] == alice.user
    assert TS_RE.match(body["expires_at"])
    me = me_with(server, body["token"])
    assert me.status_code == 200
    assert me.json()["id"] == alice.user["id"]


def test_login_wrong_password_and_unknown_email_are_identical_401(server, alice):
    wrong = post_login(server, alice.email, "not the password")
    unknown = post_login(server, new_email("nobody"), "not the password")
    e1 = assert_error(wrong, 401, "unauthorized")
    e2 = assert_error(unknown, 401, "unauthorized")
    assert e1["message"] == e2["message"]
    assert e1.get("field") == e2.get("field")
    assert "token" not in wrong.text


# ---------------------------------------------------------------- /me

def test_me_requires_auth(anon):
    assert_error(anon.get("/api/v1/me"), 401, "unauthorized")


def test_me_get_returns_user(alice):
    r = alice.get("/api/v1/me")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == USER_KEYS
    assert body == alice.user
    assert body["display_name"] == "Alice"
    assert body["timezone"] == "Europe/Paris"


def test_me_patch_display_name_and_timezone(server):
    c = register(server, display_name="Before")
    r = c.patch("/api/v1/me", {"display_name": "After Name"})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "After Name"
    assert r.json()["timezone"] == "UTC"  # untouched
    r = c.patch("/api/v1/me", {"timezone": "Asia/Kolkata"})
    assert r.status_code == 200, r.text
    assert r.json()["timezone"] == "Asia/Kolkata"
    assert r.json()["display_name"] == "After Name"
    got = c.get("/api/v1/me").json()
    assert got["display_name"] == "After Name"
    assert got["timezone"] == "Asia/Kolkata"
    assert got["id"] == c.user["id"] and got["email"] == c.user["email"]
    assert got["created_at"] == c.user["created_at"]
    # 100 characters is the limit and is accepted.
    r = c.patch("/api/v1/me", {"display_name": "n" * 100})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "n" * 100


def test_me_patch_bad_timezone_is_400_and_changes_nothing(server):
    c = register(server, timezone="Europe/Berlin", display_name="Keep")
    r = c.patch("/api/v1/me", {"timezone": "Nowhere/Special", "display_name": "Changed"})
    assert_error(r, 400, "invalid_argument", "timezone")
    got = c.get("/api/v1/me").json()
    assert got["timezone"] == "Europe/Berlin"
    assert got["display_name"] == "Keep"


def test_me_patch_display_name_too_long_is_400(server):
    c = register(server, display_name="Keep")
    r = c.patch("/api/v1/me", {"display_name": "x" * 101})
    assert_error(r, 400, "invalid_argument", "display_name")
    assert c.get("/api/v1/me").json()["display_name"] == "Keep"


def test_me_patch_requires_auth(anon):
    assert_error(anon.patch("/api/v1/me", {"display_name": "x"}), 401, "unauthorized")


# ---------------------------------------------------------------- API tokens

def test_api_token_lifecycle(server):
    c = register(server)
    r = c.post("/api/v1/auth/tokens", {"name": "my script"})
    assert r.status_code == 201, r.text
    tok = r.json()
    assert set(tok) == {"id", "name", "token", "created_at", "last_used_at"}, tok
    assert tok["name"] == "my script"
    assert isinstance(tok["token"], str) and len(tok["token"]) >= 16
    assert isinstance(tok["id"], str) and tok["id"]
    assert TS_RE.match(tok["created_at"])
    assert tok["last_used_at"] is None

    # The token authenticates as the user.
    me = me_with(server, tok["token"])
    assert me.status_code == 200, me.text
    assert me.json()["id"] == c.user["id"]
    # ...and can do real work.
    t = Client(server, tok["token"]).post("/api/v1/tasks", {"title": "via api token"})
    assert t.status_code == 201, t.text

    # The list never shows the secret.
    r = c.get("/api/v1/auth/tokens")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [tok["id"]]
    item = items[0]
    assert set(item) == {"id", "name", "created_at", "last_used_at"}, item
    assert item["name"] == "my script"
    assert item["created_at"] == tok["created_at"]
    assert item["last_used_at"] is not None and TS_RE.match(item["last_used_at"])
    assert tok["token"] not in r.text

    # Revoke: 204, gone from the list, and no longer accepted.
    r = c.delete(f"/api/v1/auth/tokens/{tok['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert c.get("/api/v1/auth/tokens").json()["items"] == []
    assert_error(me_with(server, tok["token"]), 401, "unauthorized")
    # Deleting it again is 404.
    assert_error(c.delete(f"/api/v1/auth/tokens/{tok['id']}"), 404, "not_found")
    # The user's JWT is unaffected.
    assert c.get("/api/v1/me").status_code == 200


def test_api_token_each_is_independent(server):
    c = register(server)
    t1 = c.post("/api/v1/auth/tokens", {"name": "one"}).json()
    t2 = c.post("/api/v1/auth/tokens", {"name": "two"}).json()
    assert t1["id"] != t2["id"] and t1["token"] != t2["token"]
    assert {i["name"] for i in c.get("/api/v1/auth/tokens").json()["items"]} == {"one", "two"}
    assert c.delete(f"/api/v1/auth/tokens/{t1['id']}").status_code == 204
    assert_error(me_with(server, t1["token"]), 401, "unauthorized")
    assert me_with(server, t2["token"]).status_code == 200


def test_api_token_of_other_user_is_404(server, alice, bob):
    tok = alice.post("/api/v1/auth/tokens", {"name": "alice's"}).json()
    assert_error(bob.delete(f"/api/v1/auth/tokens/{tok['id']}"), 404, "not_found")
    # Still alive and still listed for alice; not listed for bob.
    assert me_with(server, tok["token"]).status_code == 200
    assert tok["id"] in [i["id"] for i in alice.get("/api/v1/auth/tokens").json()["items"]]
    assert tok["id"] not in [i["id"] for i in bob.get("/api/v1/auth/tokens").json()["items"]]


def test_api_token_unknown_id_is_404(alice):
    assert_error(alice.delete("/api/v1/auth/tokens/999999999"), 404, "not_found")
    assert_error(alice.delete("/api/v1/auth/tokens/not-an-id"), 404, "not_found")


def test_api_token_limit_is_100_per_user(server):
    c = register(server)
    for i in range(100):
        r = c.post("/api/v1/auth/tokens", {"name": f"t{i}"})
        assert r.status_code == 201, (i, r.text)
    assert_error(c.post("/api/v1/auth/tokens", {"name": "one too many"}), 400, "invalid_argument")
    items = c.get("/api/v1/auth/tokens").json()["items"]
    assert len(items) == 100 and "one too many" not in {i["name"] for i in items}
    # Revoking one makes room again.
    assert c.delete(f"/api/v1/auth/tokens/{items[0]['id']}").status_code == 204
    assert c.post("/api/v1/auth/tokens", {"name": "room again"}).status_code == 201


@pytest.mark.parametrize("name", ["", "n" * 101])
def test_api_token_bad_name_is_400(server, name):
    c = register(server)
    r = c.post("/api/v1/auth/tokens", {"name": name})
    assert_error(r, 400, "invalid_argument", "name")
    assert c.get("/api/v1/auth/tokens").json()["items"] == []


def test_api_token_endpoints_require_auth(anon):
    assert_error(anon.post("/api/v1/auth/tokens", {"name": "x"}), 401, "unauthorized")
    assert_error(anon.get("/api/v1/auth/tokens"), 401, "unauthorized")
    assert_error(anon.delete("/api/v1/auth/tokens/1"), 401, "unauthorized")


# ---------------------------------------------------------------- JWT checks

def claims(user, **over):
    now = int(time.time())
    c = {"sub": user.user["id"], "iat": now, "exp": now + 3600}
    c.update(over)
    return c


def test_handmade_hs256_jwt_is_accepted(server, alice):
    """Sanity check for the negative cases below: a correct token built the same way works."""
    r = me_with(server, make_jwt(claims(alice)))
    assert r.status_code == 200, r.text
    assert r.json()["id"] == alice.user["id"]


def test_expired_jwt_is_401(server, alice):
    now = int(time.time())
    tok = make_jwt(claims(alice, iat=now - 7200, exp=now - 60))
    assert_error(me_with(server, tok), 401, "unauthorized")


def test_alg_none_jwt_is_401(server, alice):
    tok = make_jwt(claims(alice), alg="none")
    assert_error(me_with(server, tok), 401, "unauthorized")
    # Also with the HS256 signature kept but the header claiming none.
    good = make_jwt(claims(alice))
    h = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    tampered = h + "." + good.split(".", 1)[1]
    assert_error(me_with(server, tampered), 401, "unauthorized")


def test_alg_hs512_jwt_is_401(server, alice):
    tok = make_jwt(claims(alice), alg="HS512")
    assert_error(me_with(server, tok), 401, "unauthorized")


def test_forged_signature_is_401(server, alice, bob):
    forged = make_jwt(claims(alice), secret="not-the-secret-" + "x" * 30)
    assert_error(me_with(server, forged), 401, "unauthorized")
    # A genuine token whose payload is swapped for another user's keeps a stale signature.
    good = make_jwt(claims(alice)).split(".")
    evil_payload = b64url(json.dumps(claims(bob), separators=(",", ":")).encode())
    assert_error(me_with(server, f"{good[0]}.{evil_payload}.{good[2]}"), 401, "unauthorized")
    # Flipping the signature's first character.
    flipped = good[2][0].translate(str.maketrans("ABab", "BAba")) if good[2][0] in "ABab" else "A"
    assert_error(me_with(server, f"{good[0]}.{good[1]}.{flipped}{good[2][1:]}"), 401,
                 "unauthorized")


def test_jwt_for_unknown_user_is_401(server, alice):
    for sub in (alice.user["id"] + "999999", "no-such-user", ""):
        tok = make_jwt({"sub": sub, "iat": int(time.time()), "exp": int(time.time()) + 3600})
        assert_error(me_with(server, tok), 401, "unauthorized")


@pytest.mark.parametrize("auth", [
    "Bearer garbage", "Bearer a.b.c", "Bearer ", "Bearer", "Basic dXNlcjpwYXNz", "garbage",
    "Bearer eyJhbGciOiJIUzI1NiJ9.e30.", "Bearer " + "x" * 2000,
])
def test_garbage_authorization_is_401(server, auth):
    r = requests.get(server.url + "/api/v1/me", headers={"Authorization": auth}, timeout=30)
    assert_error(r, 401, "unauthorized")
    r = requests.get(server.url + "/api/v1/tasks", headers={"Authorization": auth}, timeout=30)
    assert_error(r, 401, "unauthorized")


def test_missing_token_is_401_on_task_endpoints(anon):
    assert_error(anon.get("/api/v1/tasks"), 401, "unauthorized")
    assert_error(anon.post("/api/v1/tasks", {"title": "x"}), 401, "unauthorized")
    assert_error(anon.get("/api/v1/tags"), 401, "unauthorized")


# ---------------------------------------------------------------- rate limit

def test_failed_logins_are_rate_limited(fresh_server):
    victim = register(fresh_server)
    bystander = register(fresh_server)
    for i in range(10):
        r = post_login(fresh_server, victim.email, f"wrong password {i}")
        assert_error(r, 401, "unauthorized")
    r = post_login(fresh_server, victim.email, "wrong password 11")
    assert_error(r, 429, "rate_limited")
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit(), r.headers
    assert 0 < int(retry) <= 300
    # While limited even the right password is refused (otherwise guessing goes on).
    r = post_login(fresh_server, victim.email, victim.password)
    assert_error(r, 429, "rate_limited")
    assert "Retry-After" in r.headers
    # Case does not get around the limit.
    r = post_login(fresh_server, victim.email.upper(), victim.password)
    assert_error(r, 429, "rate_limited")
    # Per e-mail: somebody else can still log in.
    r = post_login(fresh_server, bystander.email, bystander.password)
    assert r.status_code == 200, r.text
    # Existing sessions keep working.
    assert victim.get("/api/v1/me").status_code == 200
