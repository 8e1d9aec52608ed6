"""GET /api/v1/tasks: filters, full-text search, sorting and keyset paging
(docs/api.md "Listing")."""
import functools
import random
import uuid

import pytest

from conftest import Server, assert_error, register

PRIO = {"none": 0, "low": 1, "medium": 2, "high": 3, "urgent": 4}
WEEKLY = {"rrule": "FREQ=WEEKLY;BYDAY=MO", "recur_from": "due"}
DEFAULT_SPEC = [("due_at", "asc"), ("priority", "desc")]


# ---------------------------------------------------------------- helpers

def parse_sort(sort):
    if sort is None:
        return DEFAULT_SPEC
    spec = []
    for part in sort.split(","):
        field, _, d = part.partition(":")
        spec.append((field, d or "asc"))
    return spec


def keyval(t, field):
    if field == "priority":
        return PRIO[t["priority"]]
    return t[field]


def compare(a, b, spec):
    """The documented order: per key asc/desc, missing due dates last either way."""
    for field, d in spec:
        va, vb = keyval(a, field), keyval(b, field)
        if va == vb:
            continue
        if va is None:
            return 1
        if vb is None:
            return -1
        r = -1 if va < vb else 1
        return r if d == "asc" else -r
    return 0


def expected_order(tasks, spec):
    return sorted(tasks, key=functools.cmp_to_key(lambda a, b: compare(a, b, spec)))


def projection(tasks, spec):
    return [tuple(keyval(t, f) for f, _ in spec) for t in tasks]


def assert_sorted(tasks, spec):
    for a, b in zip(tasks, tasks[1:]):
        assert compare(a, b, spec) <= 0, (spec, projection([a, b], spec))


def page(client, **params):
    r = client.get("/api/v1/tasks", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "next_cursor"}, body.keys()
    return body


def fetch_all(client, limit=200, max_pages=1000, between=None, **params):
    """Follows next_cursor to the end; returns (items, number of pages)."""
    items, cursor, pages = [], None, 0
    while True:
        p = dict(params, limit=limit)
        if cursor is not None:
            p["cursor"] = cursor
        body = page(client, **p)
        assert len(body["items"]) <= limit
        items.extend(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages
        assert isinstance(cursor, str) and cursor
        assert pages < max_pages, "paging does not terminate"
        if between:
            between()


def titles(client, **params):
    items, _ = fetch_all(client, **params)
    return [t["title"] for t in items]


# ---------------------------------------------------------------- filter / sort data set

# Created in the user's zone, America/New_York (EDT = UTC-4 in July).
DATA = [
    # title     status         priority  tags               due                  recurrence
    ("alpha",   "todo",        "high",   ["work", "client"], "2027-07-04T09:30", None),
    ("bravo",   "in_progress", "low",    ["home"],           "2027-07-04",       None),
    ("charlie", "done",        "urgent", ["work", "home"],   "2027-07-05T00:00", None),
    ("delta",   "todo",        "none",   [],                 None,               None),
    ("echo",    "todo",        "medium", ["home"],           "2020-01-01T10:00", None),
    ("foxtrot", "done",        "high",   [],                 "2020-01-02",       None),
    ("golf",    "todo",        "medium", ["work"],           "2027-07-03T23:00", WEEKLY),
    ("hotel",   "in_progress", "urgent", ["misc"],           None,               None),
    ("india",   "todo",        "low",    [],                 "2027-07-04T22:00", None),
    ("juliet",  "todo",        "urgent", [],                 "2027-07-04T09:30", None),
]
ALL = [d[0] for d in DATA]
# due_at asc, then priority desc, tasks without due last.
DEFAULT_ORDER = ["echo", "foxtrot", "golf", "juliet", "alpha", "india", "bravo", "charlie",
                 "hotel", "delta"]


@pytest.fixture(scope="module")
def ds(server):
    c = register(server, timezone="America/New_York")
    tasks = {}
    for title, status, prio, tags, due, rec in DATA:
        body = {"title": title, "priority": prio, "tags": tags}
        if status == "in_progress":
            body["status"] = status
        if due:
            body["due"] = due
        if rec:
            body["recurrence"] = rec
        r = c.post("/api/v1/tasks", body)
        assert r.status_code == 201, r.text
        tasks[title] = r.json()
        if status == "done":
            r = c.post(f"/api/v1/tasks/{tasks[title]['id']}/complete")
            assert r.status_code == 200, r.text
            tasks[title] = r.json()
    # Touch two tasks so updated_at differs from created_at.
    for title in ("delta", "alpha"):
        r = c.patch(f"/api/v1/tasks/{tasks[title]['id']}", {"description": "touched"})
        assert r.status_code == 200, r.text
        tasks[title] = r.json()
    c.tasks = tasks
    return c


def in_default_order(names):
    return [t for t in DEFAULT_ORDER if t in set(names)]


def test_dataset_due_at_values(ds):
    t = ds.tasks
    assert t["alpha"]["due_at"] == "2027-07-04T13:30:00.000Z"
    assert t["bravo"]["due_at"] == "2027-07-05T03:59:59.000Z"
    assert t["golf"]["due_at"] == "2027-07-04T03:00:00.000Z"
    assert t["india"]["due_at"] == "2027-07-05T02:00:00.000Z"
    assert t["echo"]["overdue"] is True
    assert t["foxtrot"]["overdue"] is False


def test_default_sort_due_asc_priority_desc_no_due_last(ds):
    assert titles(ds) == DEFAULT_ORDER
    body = page(ds)  # default limit 50 covers all: no next page
    assert [t["title"] for t in body["items"]] == DEFAULT_ORDER
    assert body["next_cursor"] is None


@pytest.mark.parametrize("params,expected", [
    ({"status": "todo"}, ["alpha", "delta", "echo", "golf", "india", "juliet"]),
    ({"status": "todo,in_progress"},
     ["alpha", "bravo", "delta", "echo", "golf", "hotel", "india", "juliet"]),
    ({"status": "done"}, ["charlie", "foxtrot"]),
    ({"status": "in_progress"}, ["bravo", "hotel"]),
    ({"priority": "high,urgent"}, ["alpha", "charlie", "foxtrot", "hotel", "juliet"]),
    ({"priority": "none"}, ["delta"]),
    ({"priority": "low,medium"}, ["bravo", "echo", "golf", "india"]),
    ({"tag": "work"}, ["alpha", "charlie", "golf"]),
    ({"tag": ["work", "home"]}, ["charlie"]),
    ({"tag": ["work", "home"], "tag_mode": "all"}, ["charlie"]),
    ({"tag": ["work", "home"], "tag_mode": "any"}, ["alpha", "bravo", "charlie", "echo", "golf"]),
    ({"tag": ["client", "misc"], "tag_mode": "any"}, ["alpha", "hotel"]),
    ({"tag": "nosuchtag"}, []),
    ({"due_before": "2027-07-04"},
     ["alpha", "bravo", "echo", "foxtrot", "golf", "india", "juliet"]),
    ({"due_after": "2027-07-04"}, ["alpha", "bravo", "charlie", "india", "juliet"]),
    ({"due_after": "2027-07-04", "due_before": "2027-07-04"},
     ["alpha", "bravo", "india", "juliet"]),
    ({"due_before": "2027-07-04T09:30"}, ["alpha", "echo", "foxtrot", "golf", "juliet"]),
    ({"due_after": "2027-07-04T09:30"}, ["alpha", "bravo", "charlie", "india", "juliet"]),
    ({"due_before": "2027-07-04T09:29"}, ["echo", "foxtrot", "golf"]),
    ({"due_after": "2027-07-04T13:30:00Z"}, ["alpha", "bravo", "charlie", "india", "juliet"]),
    ({"due_before": "2027-07-04T13:30:00Z"}, ["alpha", "echo", "foxtrot", "golf", "juliet"]),
    ({"due_before": "2027-07-04T13:29:00Z"}, ["echo", "foxtrot", "golf"]),
    ({"due_after": "2027-07-05"}, ["charlie"]),
    ({"due_before": "2020-01-01"}, ["echo"]),
    ({"overdue": "true"}, ["echo"]),
    ({"overdue": "false"},
     ["alpha", "bravo", "charlie", "delta", "foxtrot", "golf", "hotel", "india", "juliet"]),
    ({"has_due": "true"},
     ["alpha", "bravo", "charlie", "echo", "foxtrot", "golf", "india", "juliet"]),
    ({"has_due": "false"}, ["delta", "hotel"]),
    ({"recurring": "true"}, ["golf"]),
    ({"recurring": "false"},
     ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "hotel", "india", "juliet"]),
    ({"status": "todo", "priority": "medium"}, ["echo", "golf"]),
    ({"status": "todo", "tag": "work"}, ["alpha", "golf"]),
    ({"has_due": "true", "priority": "urgent"}, ["charlie", "juliet"]),
    ({"overdue": "false", "status": "todo", "has_due": "true"}, ["alpha", "golf", "india", "juliet"]),
])
def test_filters(ds, params, expected):
    got = titles(ds, **params)
    assert sorted(got) == sorted(expected), params
    # Filtered results keep the default order.
    assert got == in_default_order(expected), params


def test_filter_series_id(ds):
    golf = ds.tasks["golf"]
    assert titles(ds, series_id=golf["series_id"]) == ["golf"]


@pytest.mark.parametrize("sort,expected", [
    ("priority:desc,title:asc",
     ["charlie", "hotel", "juliet", "alpha", "foxtrot", "echo", "golf", "bravo", "india", "delta"]),
    ("priority:asc,title:desc",
     ["delta", "india", "bravo", "golf", "echo", "foxtrot", "alpha", "juliet", "hotel", "charlie"]),
    ("title:asc", sorted(ALL)),
    ("title", sorted(ALL)),
    ("title:desc", sorted(ALL, reverse=True)),
    ("due_at:desc,priority:asc",
     ["charlie", "bravo", "india", "alpha", "juliet", "golf", "foxtrot", "echo", "delta", "hotel"]),
    ("due_at:asc,priority:desc", DEFAULT_ORDER),
    ("due_at:asc,title:desc",
     ["echo", "foxtrot", "golf", "juliet", "alpha", "india", "bravo", "charlie", "hotel", "delta"]),
])
def test_multi_key_sort_exact(ds, sort, expected):
    assert titles(ds, sort=sort) == expected


@pytest.mark.parametrize("sort", [
    "priority:desc,title:asc", "priority:asc,due_at:desc", "created_at:asc", "created_at:desc",
    "updated_at:desc", "updated_at:asc,title:asc", "title:desc,priority:asc",
    "due_at:desc", "due_at:asc,created_at:desc",
])
def test_multi_key_sort_matches_python(ds, sort):
    items, _ = fetch_all(ds, sort=sort)
    spec = parse_sort(sort)
    assert sorted(t["title"] for t in items) == sorted(ALL)
    assert projection(items, spec) == projection(expected_order(items, spec), spec)
    # Same result through small pages.
    paged, pages = fetch_all(ds, limit=3, sort=sort)
    assert pages >= 4
    assert [t["id"] for t in paged] == [t["id"] for t in items]


def test_updated_at_sort_sees_latest_change(ds):
    items, _ = fetch_all(ds, sort="updated_at:desc")
    # delta then alpha were touched last in the fixture.
    assert {items[0]["title"], items[1]["title"]} == {"alpha", "delta"}
    if ds.tasks["alpha"]["updated_at"] != ds.tasks["delta"]["updated_at"]:
        assert items[0]["title"] == "alpha"


@pytest.mark.parametrize("params,field", [
    ({"status": "bogus"}, "status"),
    ({"status": "todo,nope"}, "status"),
    ({"priority": "critical"}, "priority"),
    ({"tag_mode": "some"}, "tag_mode"),
    ({"overdue": "maybe"}, "overdue"),
    ({"has_due": "yes"}, "has_due"),
    ({"recurring": "1x"}, "recurring"),
    ({"due_before": "not-a-date"}, "due_before"),
    ({"due_after": "2027-13-45"}, "due_after"),
    ({"limit": "0"}, "limit"),
    ({"limit": "201"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"sort": "bogus:asc"}, "sort"),
    ({"sort": "title:sideways"}, "sort"),
    ({"sort": "rank:desc"}, "sort"),  # rank needs q
    ({"sort": "status:asc"}, "sort"),
    ({"q": "x" * 501}, "q"),
])
def test_bad_list_parameters_are_400(ds, params, field):
    assert_error(ds.get("/api/v1/tasks", params=params), 400, "invalid_argument", field)


def test_limit_bounds(ds):
    body = page(ds, limit=1)
    assert len(body["items"]) == 1 and body["next_cursor"]
    body = page(ds, limit=200)
    assert len(body["items"]) == 10 and body["next_cursor"] is None


def test_bad_cursor_is_400(ds):
    for cur in ("garbage", "AAAA", "eyJ4IjoxfQ", "!!!", "x" * 300):
        assert_error(ds.get("/api/v1/tasks", params={"cursor": cur}), 400,
                     "invalid_argument", "cursor")


def test_cursor_with_different_sort_is_400(ds):
    body = page(ds, limit=2, sort="title:asc")
    cur = body["next_cursor"]
    assert cur
    # Same sort: fine.
    ok = page(ds, limit=2, sort="title:asc", cursor=cur)
    assert [t["title"] for t in ok["items"]] == ["charlie", "delta"]
    for other in ("title:desc", "priority:desc", None):
        params = {"limit": 2, "cursor": cur}
        if other:
            params["sort"] = other
        err = assert_error(ds.get("/api/v1/tasks", params=params), 400, "invalid_argument")
        assert err["field"] in ("cursor", "sort"), err


# ---------------------------------------------------------------- full-text search

@pytest.fixture(scope="module")
def srch(server):
    c = register(server)
    spec = {
        "s1": {"title": "quarterly presentation", "description": "slides for the board"},
        "s2": {"title": "buy milk", "description": "check presentation notes"},
        "s3": {"title": "walk dog", "tags": ["budgeting"]},
        "s4": {"title": "plan holiday", "description": "beach"},
        "s6": {"title": "zebra", "tags": ["presentation"]},
    }
    c.ids = {}
    for key, body in spec.items():
        r = c.post("/api/v1/tasks", body)
        assert r.status_code == 201, r.text
        c.ids[key] = r.json()["id"]
    return c


def search(client, q, **params):
    items, _ = fetch_all(client, q=q, **params)
    inv = {v: k for k, v in client.ids.items()}
    return [inv.get(t["id"], t["id"]) for t in items]


def test_search_title_ranks_above_description(srch):
    got = search(srch, "presentation")
    assert set(got) == {"s1", "s2", "s6"}
    assert got.index("s1") < got.index("s2")


def test_search_ranking_title_tags_description(srch):
    assert search(srch, "presentation") == ["s1", "s6", "s2"]
    assert search(srch, "presentation", sort="rank:desc") == ["s1", "s6", "s2"]
    assert search(srch, "presentation", sort="rank:asc") == ["s2", "s6", "s1"]


def test_search_last_word_is_a_prefix(srch):
    got = search(srch, "presen")
    assert got and got[0] == "s1"
    assert set(got) == {"s1", "s2", "s6"}
    assert search(srch, "buy mil") == ["s2"]
    assert search(srch, "quarterly pres") == ["s1"]


def test_search_tags_are_searched(srch):
    assert search(srch, "budgeting") == ["s3"]
    assert search(srch, "budg") == ["s3"]


def test_search_words_and_case(srch):
    assert search(srch, "MILK") == ["s2"]
    assert search(srch, "board slides") == ["s1"]
    assert search(srch, "beach") == ["s4"]
    assert search(srch, "nomatchwordxyz") == []
    body = page(srch, q="nomatchwordxyz")
    assert body == {"items": [], "next_cursor": None}


def test_search_with_filter_and_sort(srch):
    assert search(srch, "presentation", sort="title:asc") == ["s2", "s1", "s6"]
    assert search(srch, "presentation", status="done") == []
    r = srch.post(f"/api/v1/tasks/{srch.ids['s2']}/complete")
    assert r.status_code == 200
    try:
        assert search(srch, "presentation", status="done") == ["s2"]
        assert search(srch, "presentation", status="todo") == ["s1", "s6"]
    finally:
        srch.post(f"/api/v1/tasks/{srch.ids['s2']}/reopen")


def test_search_sees_updates(srch):
    r = srch.post("/api/v1/tasks", {"title": "temporary kumquat"})
    tid = r.json()["id"]
    assert search(srch, "kumquat") == [tid]
    r = srch.patch(f"/api/v1/tasks/{tid}", {"title": "temporary papaya"})
    assert r.status_code == 200
    assert search(srch, "kumquat") == []
    assert search(srch, "papaya") == [tid]
    assert srch.delete(f"/api/v1/tasks/{tid}").status_code == 204
    assert search(srch, "papaya") == []


@pytest.mark.parametrize("q", ['"', '"presentation', "presen*", "(", "a OR", "NEAR(", "o'brien",
                               "-milk", "^", ":", "milk AND", "title:milk", "*", "🙂", "  "])
def test_search_odd_input_is_not_an_error(srch, q):
    r = srch.get("/api/v1/tasks", params={"q": q})
    assert r.status_code == 200, (q, r.status_code, r.text)
    assert set(r.json()) == {"items", "next_cursor"}


# ---------------------------------------------------------------- paging (own server)

PAGE_WORDS = ["apple", "birch", "cedar", "delta", "ember", "fjord", "grove", "heron", "iris",
              "jade", "kelp", "lumen", "maple", "north", "olive", "pearl", "quill"]
PRIOS = list(PRIO)


def paging_body(i, rnd=None):
    rnd = rnd or random.Random(i)
    body = {"title": f"{PAGE_WORDS[i % len(PAGE_WORDS)]} task",
            "priority": PRIOS[rnd.randrange(5)],
            "description": " ".join(["task"] * (i % 4))}
    kind = rnd.randrange(3)
    if kind == 1:
        body["due"] = f"2027-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}"
    elif kind == 2:
        body["due"] = (f"2027-{rnd.randrange(1, 13):02d}-{rnd.randrange(1, 29):02d}"
                       f"T{rnd.randrange(24):02d}:{rnd.choice([0, 30]):02d}")
    return body


@pytest.fixture(scope="module")
def paging_server(store):
    s = Server(store=store)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pg(paging_server):
    c = register(paging_server)
    c.all = []
    for i in range(500):
        r = c.post("/api/v1/tasks", paging_body(i))
        assert r.status_code == 201, r.text
        c.all.append(r.json())
    c.reference = {}
    return c


PAGING_SORTS = [None, "priority:desc,title:asc", "title:desc", "due_at:desc",
                "created_at:asc", "updated_at:desc,priority:asc", "priority:asc,due_at:asc"]


@pytest.mark.parametrize("limit", [200, 50, 7])
@pytest.mark.parametrize("sort", PAGING_SORTS)
def test_paging_500_no_gaps_no_repeats(pg, sort, limit):
    params = {"sort": sort} if sort else {}
    items, pages = fetch_all(pg, limit=limit, **params)
    ids = [t["id"] for t in items]
    assert len(ids) == len(set(ids)), "a task was repeated"
    assert set(ids) == {t["id"] for t in pg.all}, "a task was skipped"
    assert pages >= -(-500 // limit)
    spec = parse_sort(sort)
    assert_sorted(items, spec)
    assert projection(items, spec) == projection(expected_order(pg.all, spec), spec)
    # The id tie-breaker makes the order the same whatever the page size.
    ref = pg.reference.setdefault(sort, ids)
    assert ids == ref


def test_paging_default_limit_is_50(pg):
    body = page(pg)
    assert len(body["items"]) == 50
    assert body["next_cursor"]


@pytest.mark.parametrize("limit", [50, 7])
def test_paging_search_by_rank(pg, limit):
    items, _ = fetch_all(pg, limit=limit, q="task")
    ids = [t["id"] for t in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == {t["id"] for t in pg.all}


def test_paging_with_filter(pg):
    items, _ = fetch_all(pg, limit=7, priority="high", sort="title:asc")
    ids = [t["id"] for t in items]
    expected = {t["id"] for t in pg.all if t["priority"] == "high"}
    assert expected and len(ids) == len(set(ids)) and set(ids) == expected
    assert_sorted(items, parse_sort("title:asc"))


@pytest.fixture(scope="module")
def pg_ins(paging_server):
    c = register(paging_server)
    c.known = []
    for i in range(70):
        r = c.post("/api/v1/tasks", paging_body(i))
        assert r.status_code == 201, r.text
        c.known.append(r.json()["id"])
    return c


@pytest.mark.parametrize("sort", [None, "title:asc", "created_at:asc", "created_at:desc",
                                  "priority:desc,due_at:asc", "due_at:desc,title:desc"])
def test_paging_stable_while_inserting(pg_ins, sort):
    rnd = random.Random(str(sort))
    before = list(pg_ins.known)
    inserted = []

    def insert_two():
        for prefix in ("aaa", "zzz"):
            body = paging_body(rnd.randrange(1000), rnd)
            body["title"] = f"{prefix} {uuid.uuid4().hex[:6]} task"
            r = pg_ins.post("/api/v1/tasks", body)
            assert r.status_code == 201, r.text
            inserted.append(r.json()["id"])

    params = {"sort": sort} if sort else {}
    items, pages = fetch_all(pg_ins, limit=7, max_pages=400, between=insert_two, **params)
    pg_ins.known.extend(inserted)
    assert pages >= 10 and inserted
    ids = [t["id"] for t in items]
    assert len(ids) == len(set(ids)), "a task was repeated"
    seen = set(ids)
    missing = [i for i in before if i not in seen]
    assert not missing, f"{len(missing)} pre-existing tasks skipped"
    assert seen <= set(before) | set(inserted)
    assert_sorted(items, parse_sort(sort))


def test_search_ignores_accents(user):
    """Both stores fold diacritics in the index and in the query."""
    a = user.post("/api/v1/tasks", {"title": "Café crème with Zoë"}).json()["id"]
    b = user.post("/api/v1/tasks", {"title": "Cafe order", "description": "creme brulee"}).json()["id"]
    for q, want in (("cafe", {a, b}), ("café", {a, b}), ("creme", {a, b}), ("zoe", {a}),
                    ("ZOË", {a}), ("crè", {a, b})):
        r = user.get("/api/v1/tasks", params={"q": q})
        assert r.status_code == 200, r.text
        got = {t["id"] for t in r.json()["items"]}
        assert got == want, (q, got, want)
