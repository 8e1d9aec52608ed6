#!/usr/bin/python3
"""Helpers for bench/run.sh (python3 standard library only).

  seed.py freeport                       print a free TCP port on 127.0.0.1
  seed.py wait URL SECONDS               poll URL until it answers 200 (exit 1 on deadline)
  seed.py seed BASE_URL OUT_DIR [N]      register one user, create N tasks (default 1000);
                                         writes OUT_DIR/token, OUT_DIR/ids, OUT_DIR/seed.json
  seed.py fsync DIR                      time serial 4 KiB write+fsync in DIR (durable-commit floor)
  seed.py probe BASE_URL TOKEN METHOD PATH [BODY]
                                         one request; prints status, size and the start of the body

Seeded tasks vary title, description, tags, priority, status and due (none, a local
date, a local date-time in one of several zones, some in the past). SEARCH_WORD appears
in the title of every 8th task and the description of every 16th, so a search for it
matches a subset (about 1 in 8) of the tasks.
"""
import http.client
import json
import os
import random
import secrets
import socket
import sys
import threading
import time
import urllib.parse

SEARCH_WORD = "quarterly"

VERBS = ["Pay", "Call", "Write", "Review", "Fix", "Plan", "Book", "Send", "Update",
         "Clean", "Buy", "Prepare", "Draft", "Check", "Renew", "Schedule"]
THINGS = ["rent", "dentist", "report", "invoice", "garden", "budget", "flights",
          "newsletter", "roadmap", "car insurance", "slides", "tax return", "backup",
          "team offsite", "birthday gift", "lease", "presentation", "kitchen sink"]
EXTRA = ["for mum", "before Friday", "with Alex", "again", "asap", "for the client",
         "next week", "(draft 2)", "", "", "", ""]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
         "exercitation ullamco laboris nisi aliquip ex ea commodo consequat").split()
TAGS = ["home", "work", "errands", "finance", "health", "family", "urgent-ish",
        "reading", "travel", "garden", "car", "side_project"]
PRIORITIES = ["none", "low", "medium", "high", "urgent"]
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Tokyo", "Australia/Sydney"]


def split_url(base):
    u = urllib.parse.urlsplit(base)
    return u.hostname, u.port or 80


def request(conn, method, path, token=None, body=None):
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    return resp.status, raw


def task_body(i, rng):
    title = "%s %s %s" % (rng.choice(VERBS), rng.choice(THINGS), rng.choice(EXTRA))
    if i % 8 == 0:
        title = "%s %s review" % (rng.choice(VERBS), SEARCH_WORD.capitalize())
    title = (title.strip() + " #%d" % i)
    desc_words = rng.randint(0, 40)
    desc = " ".join(rng.choice(LOREM) for _ in range(desc_words))
    if i % 16 == 3:
        desc += " see the %s numbers" % SEARCH_WORD
    body = {"title": title, "priority": PRIORITIES[i % len(PRIORITIES)]}
    if desc:
        body["description"] = desc
    ntags = rng.randint(0, 3)
    if ntags:
        body["tags"] = rng.sample(TAGS, ntags)
    kind = i % 3
    year = 2027 if i % 10 else 2024  # every 10th due is in the past -> overdue
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    if kind == 1:
        body["due"] = "%04d-%02d-%02d" % (year, month, day)
    elif kind == 2:
        body["due"] = "%04d-%02d-%02dT%02d:%02d" % (year, month, day, rng.randint(0, 23),
                                                  rng.choice([0, 15, 30, 45]))
        body["timezone"] = rng.choice(ZONES)
    if i % 7 == 0:
        body["status"] = "in_progress"
    return body


def cmd_freeport():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def cmd_wait(url, seconds):
    deadline = time.monotonic() + float(seconds)
    host, port = split_url(url)
    path = urllib.parse.urlsplit(url).path or "/"
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            status, raw = request(conn, "GET", path)
            conn.close()
            if status == 200:
                return 0
            last = "HTTP %d %s" % (status, raw[:200])
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    print("wait: %s not ready after %ss (%s)" % (url, seconds, last), file=sys.stderr)
    return 1


def cmd_seed(base, out_dir, n=1000):
    host, port = split_url(base)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    email = "bench-%s@example.com" % secrets.token_hex(4)
    password = secrets.token_urlsafe(12)
    status, raw = request(conn, "POST", "/api/v1/auth/register",
                          body={"email": email, "password": password,
                                "display_name": "Bench User"})
    if status != 201:
        print("seed: register -> HTTP %d: %s" % (status, raw[:500]), file=sys.stderr)
        return 1
    token = json.loads(raw)["token"]

    ids = [None] * n
    errors = []
    nthreads = 8
    t0 = time.monotonic()

    def worker(k):
        rng = random.Random(1000 + k)
        c = http.client.HTTPConnection(host, port, timeout=30)
        for i in range(k, n, nthreads):
            try:
                st, body = request(c, "POST", "/api/v1/tasks", token, task_body(i, rng))
            except OSError as e:
                errors.append("task %d: %s" % (i, e))
                c = http.client.HTTPConnection(host, port, timeout=30)
                continue
            if st != 201:
                errors.append("task %d: HTTP %d %s" % (i, st, body[:300]))
                continue
            ids[i] = json.loads(body)["id"]
        c.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if errors:
        print("seed: %d of %d creates failed; first: %s" % (len(errors), n, errors[0]),
              file=sys.stderr)
        return 1

    # Sizes of the responses the benchmark will fetch.
    st_list, raw_list = request(conn, "GET", "/api/v1/tasks", token)
    st_one, raw_one = request(conn, "GET", "/api/v1/tasks/" + urllib.parse.quote(ids[0]), token)
    st_q, raw_q = request(conn, "GET", "/api/v1/tasks?q=" + SEARCH_WORD + "&limit=200", token)
    matches = 0
    if st_q == 200:
        page = json.loads(raw_q)
        matches = len(page.get("items", []))
    st_q50, raw_q50 = request(conn, "GET", "/api/v1/tasks?q=" + SEARCH_WORD, token)
    conn.close()
    info = {
        "email": email,
        "tasks": n,
        "seed_seconds": round(elapsed, 2),
        "seed_creates_per_s": round(n / elapsed, 1) if elapsed else None,
        "list_status": st_list,
        "list_items": len(json.loads(raw_list).get("items", [])) if st_list == 200 else None,
        "list_body_bytes": len(raw_list),
        "get_one_status": st_one,
        "get_one_body_bytes": len(raw_one),
        "search_word": SEARCH_WORD,
        "search_status": st_q50,
        "search_matches_first_200": matches,
        "search_first_page_bytes": len(raw_q50),
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "token"), "w") as f:
        f.write(token)
    with open(os.path.join(out_dir, "ids"), "w") as f:
        f.write("\n".join(ids) + "\n")
    with open(os.path.join(out_dir, "seed.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info))
    return 0


def cmd_probe(base, token, method, path, body=None):
    host, port = split_url(base)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": "Bearer " + token}
    data = None
    if body is not None:
        data = body.encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    except OSError as e:
        print("probe %s %s: %s" % (method, path, e))
        return 1
    print("probe %s %s -> HTTP %d, %d bytes: %s" % (method, path, resp.status, len(raw),
                                                    raw[:300].decode("utf-8", "replace")))
    return 0


def cmd_fsync(directory, n=200):
    """Serial 4 KiB write + fsync on the database's file system: the floor of a durable
    commit (SQLite WAL with synchronous=FULL fsyncs the WAL once per commit)."""
    path = os.path.join(directory, "fsync-probe.bin")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        t0 = time.monotonic()
        for _ in range(n):
            os.pwrite(fd, b"x" * 4096, 0)
            os.fsync(fd)
        dt = time.monotonic() - t0
    finally:
        os.close(fd)
        os.unlink(path)
    print("%.2f ms per fsync (%.0f serial fsyncs/s)" % (dt / n * 1000, n / dt))
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "freeport":
        cmd_freeport()
        return 0
    if cmd == "wait" and len(args) == 2:
        return cmd_wait(*args)
    if cmd == "seed" and len(args) in (2, 3):
        return cmd_seed(args[0], args[1], int(args[2]) if len(args) == 3 else 1000)
    if cmd == "fsync" and len(args) == 1:
        return cmd_fsync(args[0])
    if cmd == "probe" and len(args) in (4, 5):
        return cmd_probe(*args)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
