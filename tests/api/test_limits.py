"""Limit boundaries from docs/api.md, the accepted side: a value exactly at a
limit is accepted, one past it is refused (the refusals themselves live in
test_bad_input.py; here only the ones that need the matching boundary)."""
import json

import pytest
import requests

from conftest import Client, register
from test_bad_input import (MIB, TASKS, _big_body, _raw_headers, assert_raw_error, check,
                            healthy, nested, raw_http)


@pytest.fixture(scope="module")
def lim(server):
    # One registration at every account boundary: e-mail 254 characters,
    # password 8 bytes, display_name 100 characters.
    email = "l" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 57 + ".com"
    assert len(email) == 254
    c = register(server, email=email, password="8bytes!!", display_name="D" * 100)
    assert c.user["display_name"] == "D" * 100
    return c


def created(r):
    assert r.status_code == 201, r.text
    return r.json()


def test_login_with_boundary_account(lim, server):
    r = Client(server).post("/api/v1/auth/login", {"email": lim.email, "password": "8bytes!!"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("title,stored", [
    ("x" * 500, "x" * 500),
    ("\u00e9" * 500, "\u00e9" * 500),
    ("  " + "y" * 500 + " \t", "y" * 500),
    ("a", "a"),
], ids=["500-ascii", "500-multibyte", "500-after-trim", "1"])
def test_title_boundaries(lim, server, title, stored):
    t = created(lim.post(TASKS, {"title": title}))
    assert t["title"] == stored


def test_description_20000(lim, server):
    t = created(lim.post(TASKS, {"title": "d", "description": "d" * 20000}))
    assert len(t["description"]) == 20000


def test_tag_boundaries(lim, server):
    tags = [f"tag{i}" for i in range(49)] + ["Mixed-Case_" + "z" * 53]
    assert len(tags) == 50 and len(tags[-1]) == 64
    t = created(lim.post(TASKS, {"title": "tags", "tags": tags}))
    assert len(t["tags"]) == 50
    assert "mixed-case_" + "z" * 53 in t["tags"]


def test_rfc3339_due_with_zero_seconds(lim, server):
    t = created(lim.post(TASKS, {"title": "rfc", "due": "2027-07-04T13:30:00Z",
                                 "timezone": "America/New_York"}))
    assert t["due"] == "2027-07-04T09:30"
    assert t["due_at"] == "2027-07-04T13:30:00.000Z"


def test_json_charset_is_accepted(lim, server):
    r = lim.request("POST", TASKS, data=json.dumps({"title": "charset"}),
                    headers={"Content-Type": "application/json; charset=utf-8"})
    created(r)


def test_if_match_current_version(lim, server):
    t = created(lim.post(TASKS, {"title": "v"}))
    r = lim.patch(f"{TASKS}/{t['id']}", {"title": "v2"}, headers={"If-Match": str(t["version"])})
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    assert v == t["version"] + 1
    r = lim.patch(f"{TASKS}/{t['id']}", {"title": "v3"}, headers={"If-Match": f'"{v}"'})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("params", [
    [("q", "q" * 500)],
    [("tag", f"t{i}") for i in range(50)],
    [("limit", "1")],
    [("limit", "200")],
], ids=["q-500", "tag-50", "limit-1", "limit-200"])
def test_query_boundaries(lim, server, params):
    r = lim.get(TASKS, params=params)
    assert r.status_code == 200, r.text


def test_too_many_query_parameters(lim, server):
    params = [(f"x{i}", "1") for i in range(101)]
    r = lim.get(TASKS, params=params)
    check(r, 400, "invalid_argument")
    healthy(server)


def test_body_exactly_1mib_is_read(lim, server):
    """A 1 MiB body is not 'over TOCK_MAX_BODY': it is parsed (and then fails
    validation on the description), whereas one more byte is 413."""
    body = _big_body(MIB)
    assert len(body) == MIB
    r = lim.request("POST", TASKS, data=body, headers={"Content-Type": "application/json"})
    check(r, 400, "invalid_argument", "description")
    body = _big_body(MIB + 1)
    resp = raw_http(server, [_raw_headers(lim_as_world(lim), "POST", TASKS,
                                          f"Content-Length: {len(body)}\r\n"), body])
    assert_raw_error(resp, 413, "payload_too_large")
    healthy(server)


def lim_as_world(c):
    class W:
        alice = c
    return W


def test_nesting_32_is_not_invalid_json(lim, server):
    r = lim.request("POST", TASKS, data=nested(32),
                    headers={"Content-Type": "application/json"})
    if r.status_code != 201:
        err = check(r, 400, "invalid_argument")
        assert err["code"] != "invalid_json"


def test_headers_just_under_limit(lim, server):
    r = lim.get(TASKS, headers={"X-Pad": "p" * 7000})
    assert r.status_code == 200, r.text


def test_url_just_under_limit(lim, server):
    r = lim.get(TASKS + "/" + "1" * 8000)
    check(r, 404, "not_found")


def test_token_name_100(lim, server):
    r = lim.post("/api/v1/auth/tokens", {"name": "n" * 100})
    assert r.status_code == 201, r.text


def test_request_id(lim, server):
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": "abc-123"}, timeout=10)
    assert r.headers.get("X-Request-Id") == "abc-123"
    long_id = "r" * 129
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": long_id}, timeout=10)
    rid = r.headers.get("X-Request-Id")
    assert rid and rid != long_id and len(rid) <= 128


@pytest.mark.parametrize("due", ["1901-01-01", "2499-12-31T23:00"])
def test_due_year_bounds_accepted(lim, server, due):
    r = lim.post(TASKS, {"title": "edge", "due": due, "timezone": "America/New_York"})
    created(r)


@pytest.mark.parametrize("due", ["1900-06-01", "2500-01-01", "2583-07-04T09:30", "9999-12-31",
                                 "9999-12-31T10:00:00Z"])
def test_due_years_outside_the_zone_range_are_refused(lim, server, due):
    # Years past libical's cached range cost ~80 ms per conversion under a lock:
    # they are refused up front, and the server stays responsive.
    before = lim.get(TASKS, params={"limit": 200}).json()
    r = lim.post(TASKS, {"title": "far", "due": due, "timezone": "America/New_York"})
    check(r, 400, "invalid_argument", "due")
    assert lim.get(TASKS, params={"limit": 200}).json() == before


@pytest.mark.parametrize("param", ["due_before", "due_after"])
def test_due_filter_years_outside_the_zone_range_are_refused(lim, server, param):
    check(lim.get(TASKS, params={param: "9999-01-01"}), 400, "invalid_argument", param)
    check(lim.get(TASKS, params={param: "9999-01-01T00:00:00Z"}), 400, "invalid_argument",
          param)
