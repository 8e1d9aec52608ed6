"""Two users: every endpoint that takes an id answers 404 for the other user's object
and leaves it untouched; lists, search and tags never show the other user's data."""
import uuid

import pytest
import requests

from conftest import Client, assert_error, register


@pytest.fixture(scope="module")
def alice(server):
    return register(server, timezone="Europe/Paris")


@pytest.fixture(scope="module")
def bob(server):
    return register(server, timezone="Europe/Paris")


def word():
    return "iso" + uuid.uuid4().hex[:10]


@pytest.fixture
def world(alice):
    """A fresh set of alice's objects for each test."""
    w = word()
    tagname = "t" + uuid.uuid4().hex[:10]
    r = alice.post("/api/v1/tasks", {"title": f"secret {w}", "description": f"private {w}",
                                     "tags": [tagname], "priority": "high",
                                     "due": "2027-07-04T09:30",
                                     "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO",
                                                    "recur_from": "due"}})
    assert r.status_code == 201, r.text
    task = r.json()
    r = alice.post("/api/v1/tasks", {"title": f"finished {w}", "tags": [tagname]})
    assert r.status_code == 201, r.text
    r = alice.post(f"/api/v1/tasks/{r.json()['id']}/complete")
    assert r.status_code == 200, r.text
    done = r.json()
    tag = next(t for t in alice.get("/api/v1/tags").json()["items"] if t["name"] == tagname)
    r = alice.post("/api/v1/auth/tokens", {"name": f"tok {w}"})
    assert r.status_code == 201, r.text
    token = r.json()
    return {"word": w, "tagname": tagname, "task": task, "done": done, "tag": tag,
            "token": token}


def snapshot(alice, world):
    tid, did = world["task"]["id"], world["done"]["id"]
    return {
        "task": alice.get(f"/api/v1/tasks/{tid}").json(),
        "done": alice.get(f"/api/v1/tasks/{did}").json(),
        "task_hist": [e["id"] for e in alice.get(f"/api/v1/tasks/{tid}/history").json()["items"]],
        "done_hist": [e["id"] for e in alice.get(f"/api/v1/tasks/{did}/history").json()["items"]],
        "tags": alice.get("/api/v1/tags").json()["items"],
        "tokens": alice.get("/api/v1/auth/tokens").json()["items"],
    }


CASES = [
    ("GET", "/api/v1/tasks/{task}", None, None),
    ("PATCH", "/api/v1/tasks/{task}", {"title": "pwned", "tags": ["pwned"]}, None),
    ("PATCH", "/api/v1/tasks/{task}", {"title": "pwned"}, {"If-Match": "1"}),
    ("PATCH", "/api/v1/tasks/{task}", {"title": "pwned"}, {"If-Match": "99"}),
    ("DELETE", "/api/v1/tasks/{task}", None, None),
    ("DELETE", "/api/v1/tasks/{task}", None, {"If-Match": "99"}),
    ("POST", "/api/v1/tasks/{task}/complete", None, None),
    ("POST", "/api/v1/tasks/{task}/complete", None, {"If-Match": "99"}),
    ("POST", "/api/v1/tasks/{done}/reopen", None, None),
    ("GET", "/api/v1/tasks/{task}/history", None, None),
    ("GET", "/api/v1/tasks/{done}/history", None, None),
    ("PATCH", "/api/v1/tags/{tag}", {"name": "pwned", "color": "#000000"}, None),
    ("PATCH", "/api/v1/tags/{tag}", {"color": "#ff0000"}, None),
    ("DELETE", "/api/v1/tags/{tag}", None, None),
    ("DELETE", "/api/v1/auth/tokens/{token}", None, None),
]


@pytest.mark.parametrize("method,path,body,headers", CASES,
                         ids=[f"{c[0]} {c[1]}{' ' + str(c[3]) if c[3] else ''}" for c in CASES])
def test_other_users_object_is_404_and_unchanged(server, alice, bob, world, method, path,
                                                 body, headers):
    before = snapshot(alice, world)
    url = path.format(task=world["task"]["id"], done=world["done"]["id"], tag=world["tag"]["id"],
                      token=world["token"]["id"])
    r = bob.request(method, url, json_body=body, headers=headers)
    assert_error(r, 404, "not_found")
    # The 404 is indistinguishable from an object that does not exist.
    missing_url = path.format(task="999999999", done="999999999", tag="999999999",
                              token="999999999")
    missing = bob.request(method, missing_url, json_body=body, headers=headers)
    assert_error(missing, 404, "not_found")
    assert r.json()["error"]["message"] == missing.json()["error"]["message"]
    # Nothing changed for alice.
    assert snapshot(alice, world) == before
    me = requests.get(server.url + "/api/v1/me",
                      headers={"Authorization": f"Bearer {world['token']['token']}"}, timeout=30)
    assert me.status_code == 200 and me.json()["id"] == alice.user["id"]


def test_lists_never_show_other_users_tasks(alice, bob, world):
    r = bob.post("/api/v1/tasks", {"title": f"bob's own {word()}"})
    assert r.status_code == 201
    bob_task = r.json()
    alice_ids = {world["task"]["id"], world["done"]["id"]}
    items = bob.get("/api/v1/tasks", params={"limit": 200}).json()["items"]
    assert bob_task["id"] in {t["id"] for t in items}
    assert not alice_ids & {t["id"] for t in items}
    assert all(world["word"] not in t["title"] for t in items)
    # Search, filters and series.
    for params in ({"q": world["word"]}, {"q": world["word"][:6]}, {"tag": world["tagname"]},
                   {"tag": [world["tagname"], "x"], "tag_mode": "any"},
                   {"series_id": world["task"]["series_id"]}, {"status": "done"},
                   {"recurring": "true"}, {"priority": "high"},
                   {"due_after": "2027-07-04", "due_before": "2027-07-04"}):
        got = bob.get("/api/v1/tasks", params=dict(params, limit=200))
        assert got.status_code == 200, (params, got.text)
        assert not alice_ids & {t["id"] for t in got.json()["items"]}, params
    # Alice still sees her own.
    got = alice.get("/api/v1/tasks", params={"q": world["word"]}).json()["items"]
    assert {t["id"] for t in got} == alice_ids
    # And never bob's.
    mine = alice.get("/api/v1/tasks", params={"limit": 200}).json()["items"]
    assert bob_task["id"] not in {t["id"] for t in mine}


def test_tags_never_show_other_users_tags(alice, bob, world):
    names = {t["name"] for t in bob.get("/api/v1/tags").json()["items"]}
    assert world["tagname"] not in names
    assert bob.get("/api/v1/tags", params={"prefix": world["tagname"]}).json()["items"] == []
    # Bob creating a tag of the same name gets his own tag, alice's count is unchanged.
    r = bob.post("/api/v1/tags", {"name": world["tagname"]})
    assert r.status_code == 201, r.text
    assert r.json()["id"] != world["tag"]["id"]
    assert r.json()["task_count"] == 0
    r = bob.post("/api/v1/tasks", {"title": "bob uses the name", "tags": [world["tagname"]]})
    assert r.status_code == 201
    a_tags = {t["name"]: t for t in alice.get("/api/v1/tags").json()["items"]}
    assert a_tags[world["tagname"]]["task_count"] == 2
    assert a_tags[world["tagname"]]["id"] == world["tag"]["id"]
    b_tags = {t["name"]: t for t in bob.get("/api/v1/tags").json()["items"]}
    assert b_tags[world["tagname"]]["task_count"] == 1
    # Alice renaming her tag does not touch bob's task.
    r = alice.patch(f"/api/v1/tags/{world['tag']['id']}", {"name": world["tagname"] + "x"})
    assert r.status_code == 200, r.text
    bt = bob.get("/api/v1/tasks", params={"tag": world["tagname"]}).json()["items"]
    assert [t["tags"] for t in bt] == [[world["tagname"]]]


def test_tokens_never_show_other_users_tokens(alice, bob, world):
    ids = {t["id"] for t in bob.get("/api/v1/auth/tokens").json()["items"]}
    assert world["token"]["id"] not in ids
    assert world["token"]["token"] not in bob.get("/api/v1/auth/tokens").text


def test_api_token_acts_as_its_owner_only(server, alice, bob, world):
    via_token = Client(server, world["token"]["token"])
    assert via_token.get(f"/api/v1/tasks/{world['task']['id']}").status_code == 200
    r = bob.post("/api/v1/tasks", {"title": "bob's"})
    assert_error(via_token.get(f"/api/v1/tasks/{r.json()['id']}"), 404, "not_found")


def test_me_is_always_the_caller(alice, bob):
    assert alice.get("/api/v1/me").json()["id"] == alice.user["id"]
    assert bob.get("/api/v1/me").json()["id"] == bob.user["id"]
    r = bob.patch("/api/v1/me", {"display_name": "Bob B"})
    assert r.status_code == 200
    assert alice.get("/api/v1/me").json()["display_name"] != "Bob B"
