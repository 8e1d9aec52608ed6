"""Tags: listing with counts, autocomplete prefix, create, rename, merge, colour and
delete (docs/api.md "Tags")."""
import pytest

from conftest import Client, assert_error, register

TAG_KEYS = {"id", "name", "color", "task_count"}


def create_task(client, **fields):
    fields.setdefault("title", "tagged task")
    r = client.post("/api/v1/tasks", fields)
    assert r.status_code == 201, r.text
    return r.json()


def get_task(client, tid):
    r = client.get(f"/api/v1/tasks/{tid}")
    assert r.status_code == 200, r.text
    return r.json()


def tags(client, **params):
    r = client.get("/api/v1/tags", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items"}
    for t in body["items"]:
        assert set(t) == TAG_KEYS, t
    return body["items"]


def by_name(client):
    return {t["name"]: t for t in tags(client)}


@pytest.fixture(scope="module")
def tagger(server):
    """A user shared by the validation tests (they must leave no tag behind)."""
    return register(server)


def test_list_tags_with_counts_ordered_by_use(user):
    for tagset in (["work"], ["work", "home"], ["work", "misc"], ["home"]):
        create_task(user, tags=tagset)
    items = tags(user)
    assert [(t["name"], t["task_count"]) for t in items] == [("work", 3), ("home", 2), ("misc", 1)]
    for t in items:
        assert isinstance(t["id"], str) and t["id"]
        assert t["color"] is None


def test_task_count_follows_task_changes(user):
    a = create_task(user, tags=["alpha"])
    b = create_task(user, tags=["alpha"])
    assert by_name(user)["alpha"]["task_count"] == 2
    assert user.patch(f"/api/v1/tasks/{a['id']}", {"tags": ["beta"]}).status_code == 200
    counts = {n: t["task_count"] for n, t in by_name(user).items()}
    assert counts["alpha"] == 1 and counts["beta"] == 1
    assert user.delete(f"/api/v1/tasks/{b['id']}").status_code == 204
    assert by_name(user).get("alpha", {"task_count": 0})["task_count"] == 0


def test_prefix_filter(user):
    for name in ("work", "workshop", "home", "_private", "w_x"):
        create_task(user, tags=[name])
    assert sorted(t["name"] for t in tags(user, prefix="wo")) == ["work", "workshop"]
    assert [t["name"] for t in tags(user, prefix="hom")] == ["home"]
    assert [t["name"] for t in tags(user, prefix="home")] == ["home"]
    assert tags(user, prefix="zzz") == []
    # LIKE wildcards in the prefix are literal characters.
    assert [t["name"] for t in tags(user, prefix="_")] == ["_private"]
    assert [t["name"] for t in tags(user, prefix="w_")] == ["w_x"]
    # "%" is no tag character: either no match or a 400 naming prefix, never everything.
    r = user.get("/api/v1/tags", params={"prefix": "%"})
    if r.status_code == 200:
        assert r.json()["items"] == []
    else:
        assert_error(r, 400, "invalid_argument", "prefix")
    # Empty prefix: everything.
    assert len(tags(user, prefix="")) == 5


def test_prefix_results_keep_use_order(user):
    for tagset in (["proj-a"], ["proj-b"], ["proj-b"], ["proj-c"], ["proj-c"], ["proj-c"]):
        create_task(user, tags=tagset)
    assert [t["name"] for t in tags(user, prefix="proj")] == ["proj-c", "proj-b", "proj-a"]


def test_create_tag(user):
    r = user.post("/api/v1/tags", {"name": "Errands", "color": "#aabbcc"})
    assert r.status_code == 201, r.text
    tag = r.json()
    assert set(tag) == TAG_KEYS
    assert tag["name"] == "errands"
    assert tag["color"] == "#aabbcc"
    assert tag["task_count"] == 0
    assert by_name(user)["errands"]["id"] == tag["id"]
    # Creating it again returns the existing tag with 200.
    r = user.post("/api/v1/tags", {"name": "errands"})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == tag["id"]
    assert r.json()["name"] == "errands"
    # A task using the name uses the same tag.
    create_task(user, tags=["ERRANDS"])
    t = by_name(user)["errands"]
    assert t["id"] == tag["id"] and t["task_count"] == 1
    assert len(tags(user)) == 1


def test_create_tag_without_color(user):
    r = user.post("/api/v1/tags", {"name": "plain"})
    assert r.status_code == 201, r.text
    assert r.json()["color"] is None


@pytest.mark.parametrize("name", ["", "has space", "bad!", "x" * 65, "ümlaut", "a/b"])
def test_create_tag_bad_name_is_400(tagger, name):
    r = tagger.post("/api/v1/tags", {"name": name})
    assert_error(r, 400, "invalid_argument", "name")
    assert tags(tagger) == []


@pytest.mark.parametrize("color", ["red", "#abc", "#gggggg", "aabbcc", "#aabbccdd", "#12345", ""])
def test_create_tag_bad_color_is_400(tagger, color):
    r = tagger.post("/api/v1/tags", {"name": "colored", "color": color})
    assert_error(r, 400, "invalid_argument", "color")
    assert tags(tagger) == []


def test_patch_color(user):
    tag = user.post("/api/v1/tags", {"name": "paint"}).json()
    r = user.patch(f"/api/v1/tags/{tag['id']}", {"color": "#112233"})
    assert r.status_code == 200, r.text
    assert r.json()["color"] == "#112233" and r.json()["name"] == "paint"
    assert by_name(user)["paint"]["color"] == "#112233"
    # Invalid colours change nothing.
    for bad in ("#12", "blue", "#zzzzzz"):
        r = user.patch(f"/api/v1/tags/{tag['id']}", {"color": bad})
        assert_error(r, 400, "invalid_argument", "color")
    assert by_name(user)["paint"]["color"] == "#112233"
    # null clears it.
    r = user.patch(f"/api/v1/tags/{tag['id']}", {"color": None})
    assert r.status_code == 200, r.text
    assert r.json()["color"] is None
    assert by_name(user)["paint"]["color"] is None


def test_rename_tag(user):
    a = create_task(user, tags=["work", "other"])
    b = create_task(user, tags=["work"])
    work = by_name(user)["work"]
    r = user.patch(f"/api/v1/tags/{work['id']}", {"name": "Job"})
    assert r.status_code == 200, r.text
    renamed = r.json()
    assert renamed["id"] == work["id"]
    assert renamed["name"] == "job"
    assert renamed["task_count"] == 2
    assert sorted(get_task(user, a["id"])["tags"]) == ["job", "other"]
    assert get_task(user, b["id"])["tags"] == ["job"]
    names = by_name(user)
    assert "work" not in names and names["job"]["task_count"] == 2
    # Listing by the new name finds both tasks; the old name none.
    r = user.get("/api/v1/tasks", params={"tag": "job"})
    assert {t["id"] for t in r.json()["items"]} == {a["id"], b["id"]}
    r = user.get("/api/v1/tasks", params={"tag": "work"})
    assert r.json()["items"] == []


def test_rename_onto_existing_merges(user):
    a = create_task(user, title="a", tags=["work"])
    b = create_task(user, title="b", tags=["work", "job"])
    c = create_task(user, title="c", tags=["job"])
    d = create_task(user, title="d", tags=["job"])
    names = by_name(user)
    work, job = names["work"], names["job"]
    assert (work["task_count"], job["task_count"]) == (2, 3)
    r = user.patch(f"/api/v1/tags/{work['id']}", {"name": "job"})
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["name"] == "job"
    assert merged["id"] in (work["id"], job["id"])
    assert merged["task_count"] == 4  # 2 + 3, task b counted once
    items = tags(user)
    assert [(t["id"], t["name"], t["task_count"]) for t in items] == [(merged["id"], "job", 4)]
    for t in (a, b, c, d):
        assert get_task(user, t["id"])["tags"] == ["job"]
    r = user.get("/api/v1/tasks", params={"tag": "job", "limit": 200})
    assert {t["id"] for t in r.json()["items"]} == {a["id"], b["id"], c["id"], d["id"]}
    # The tag that did not survive is gone.
    gone = work["id"] if merged["id"] == job["id"] else job["id"]
    assert_error(user.patch(f"/api/v1/tags/{gone}", {"color": "#000000"}), 404, "not_found")


def test_rename_to_own_name_is_not_a_merge(user):
    t = create_task(user, tags=["same"])
    tag = by_name(user)["same"]
    for name in ("same", "SAME"):
        r = user.patch(f"/api/v1/tags/{tag['id']}", {"name": name})
        assert r.status_code == 200, r.text
        assert (r.json()["id"], r.json()["name"], r.json()["task_count"]) == (tag["id"], "same", 1)
    assert by_name(user)["same"]["id"] == tag["id"]
    assert get_task(user, t["id"])["tags"] == ["same"]


def test_rename_bad_name_is_400(user):
    create_task(user, tags=["keep"])
    tag = by_name(user)["keep"]
    for bad in ("", "two words", "x" * 65):
        assert_error(user.patch(f"/api/v1/tags/{tag['id']}", {"name": bad}), 400,
                     "invalid_argument", "name")
    assert by_name(user)["keep"]["id"] == tag["id"]


def test_patch_unknown_tag_is_404(user):
    assert_error(user.patch("/api/v1/tags/999999999", {"color": "#000000"}), 404, "not_found")
    assert_error(user.delete("/api/v1/tags/999999999"), 404, "not_found")


def test_delete_tag_removes_it_from_tasks(user):
    a = create_task(user, tags=["temp", "stay"])
    b = create_task(user, tags=["temp"])
    c = create_task(user, tags=["stay"])
    temp = by_name(user)["temp"]
    r = user.delete(f"/api/v1/tags/{temp['id']}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    ta, tb, tc = (get_task(user, t["id"]) for t in (a, b, c))
    assert ta["tags"] == ["stay"] and ta["version"] == a["version"] + 1
    assert tb["tags"] == [] and tb["version"] == b["version"] + 1
    assert tc == c  # untouched
    assert "temp" not in by_name(user)
    # Each affected task got a task.updated event.
    for t in (a, b):
        hist = user.get(f"/api/v1/tasks/{t['id']}/history").json()["items"]
        assert [e["type"] for e in hist] == ["task.created", "task.updated"]
    hist = user.get(f"/api/v1/tasks/{c['id']}/history").json()["items"]
    assert [e["type"] for e in hist] == ["task.created"]
    assert_error(user.delete(f"/api/v1/tags/{temp['id']}"), 404, "not_found")
    r = user.get("/api/v1/tasks", params={"tag": "temp"})
    assert r.json()["items"] == []


def test_tag_endpoints_require_auth(anon):
    assert_error(anon.get("/api/v1/tags"), 401, "unauthorized")
    assert_error(anon.post("/api/v1/tags", {"name": "x"}), 401, "unauthorized")
    assert_error(anon.patch("/api/v1/tags/1", {"name": "x"}), 401, "unauthorized")
    assert_error(anon.delete("/api/v1/tags/1"), 401, "unauthorized")


def test_search_and_tag_filter_follow_rename_merge_and_delete(user):
    """Tag changes reach the search index and the tag filter of every affected task."""
    a = user.post("/api/v1/tasks", {"title": "alpha", "tags": ["zebra"]}).json()
    b = user.post("/api/v1/tasks", {"title": "beta", "tags": ["zebra", "yak"]}).json()
    tags = {t["name"]: t["id"] for t in user.get("/api/v1/tags").json()["items"]}

    def found(**params):
        return {t["id"] for t in user.get("/api/v1/tasks", params=params).json()["items"]}

    assert found(q="zebra") == {a["id"], b["id"]}
    r = user.patch(f"/api/v1/tags/{tags['zebra']}", {"name": "okapi"})
    assert r.status_code == 200, r.text
    assert found(q="zebra") == set()
    assert found(q="okapi") == {a["id"], b["id"]}
    assert found(tag="okapi") == {a["id"], b["id"]}
    # Merge okapi into yak: a gains yak, b keeps one yak.
    r = user.patch(f"/api/v1/tags/{tags['zebra']}", {"name": "yak"})
    assert r.status_code == 200, r.text
    assert found(q="okapi") == set()
    assert found(q="yak") == {a["id"], b["id"]}
    assert user.get(f"/api/v1/tasks/{a['id']}").json()["tags"] == ["yak"]
    assert user.get(f"/api/v1/tasks/{b['id']}").json()["tags"] == ["yak"]
    r = user.delete(f"/api/v1/tags/{tags['yak']}")
    assert r.status_code == 204
    assert found(q="yak") == set()
    assert found(tag="yak") == set()
    assert user.get(f"/api/v1/tasks/{b['id']}").json()["tags"] == []
    assert found(q="beta") == {b["id"]}


def test_concurrent_creates_of_one_name_make_one_tag(user):
    """Racing POSTs of the same new tag: one 201, the rest 200 with the same tag —
    never a 409 or a 500 (on PostgreSQL the loser's insert aborts its transaction
    and the service retries it)."""
    import threading
    for round_ in range(5):
        name = f"race-{round_}"
        results, lock = [], threading.Lock()

        def go():
            # A client per thread: a requests.Session is not thread-safe.
            r = Client(user.server, user.token).post("/api/v1/tags", {"name": name})
            with lock:
                results.append((r.status_code, r.json()))
        threads = [threading.Thread(target=go) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(c for c, _ in results)
        assert codes.count(201) == 1 and set(codes) <= {200, 201}, results
        assert len({b["id"] for _, b in results}) == 1, results
