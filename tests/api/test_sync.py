"""Real-time sync over WebSocket (GET /api/v1/ws, docs/sync.md), black-box against
a real server with the default roles (api, relay, audit, sync on the in-process
bus), on both stores.

Clients: python3-websockets (an independent RFC 6455 implementation, asyncio API:
Debian's 10.4 has no sync client) for the protocol as clients use it, and a small
raw-socket client written here for what a library hides: server pings, a reader
that never reads, malformed frames.

Covered: handshake variants (Authorization header, "bearer.<token>" subprotocol,
?token=) and their failures (401, 400, 426); two clients of one user see every
change (created, updated, completed, deleted) made through the other's session;
another user's client gets nothing (a sentinel change of its own is the only thing
it receives); resume with ?since= returns exactly the missed changes, also while
writes race the reconnect; resync for a cursor that cannot be resumed; ping/pong
both ways; a client too slow to read is closed with 1008; per-user and global
connection limits; protocol errors close with 1002/1007.
"""
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import threading
import time

import pytest
import requests
import websockets

from conftest import TOCK_BIN, Server, assert_error, register

DEADLINE_S = 30


def ws_url(server, path="/api/v1/ws"):
    return server.url.replace("http://", "ws://") + path


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def http(fn, *args, **kw):
    """A blocking requests call off the event loop (the sockets keep being served)."""
    return await asyncio.to_thread(fn, *args, **kw)


async def connect(server, token, since=None, how="header"):
    url = ws_url(server)
    params = []
    if since is not None:
        params.append(f"since={since}")
    kw = {}
    if how == "header":
        kw["extra_headers"] = {"Authorization": f"Bearer {token}"}
    elif how == "subprotocol":
        kw["subprotocols"] = ["tock.v1", f"bearer.{token}"]
    elif how == "query":
        params.append(f"token={token}")
    if params:
        url += "?" + "&".join(params)
    return await websockets.connect(url, max_size=2 ** 22, **kw)


async def recv_json(ws, timeout=DEADLINE_S):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_type(ws, typ, timeout=DEADLINE_S):
    """The next message of type typ (other types are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        m = await recv_json(ws, max(0.1, deadline - time.monotonic()))
        if m["type"] == typ:
            return m


async def recv_syncs(ws, n):
    """The next n task.sync messages."""
    return [await recv_type(ws, "task.sync") for _ in range(n)]


def sync_rows(server, user):
    """The user's task-updates rows in the outbox, in seq order (via `tock events`)."""
    r = subprocess.run([TOCK_BIN, "events", "--db", server.env["TOCK_DB"]], env=server.env,
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
    rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return [row for row in rows
            if row["key"] == user.user["id"] and row["topic"] == "task-updates"]


def mutate_all_kinds(c, title):
    """created, updated, completed, deleted of one task; returns its id."""
    r = c.post("/api/v1/tasks", {"title": title})
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert c.patch(f"/api/v1/tasks/{tid}", {"title": title + " (edited)"}).status_code == 200
    assert c.post(f"/api/v1/tasks/{tid}/complete").status_code == 200
    assert c.delete(f"/api/v1/tasks/{tid}").status_code == 204
    return tid


def check_all_kinds(msgs, tid, title):
    assert [m["change"] for m in msgs] == ["created", "updated", "completed", "deleted"]
    assert all(m["task"]["id"] == tid for m in msgs), msgs
    assert msgs[0]["task"]["title"] == title
    assert msgs[1]["task"]["title"] == title + " (edited)"
    assert msgs[2]["task"]["status"] == "done"
    cursors = [int(m["cursor"]) for m in msgs]
    assert cursors == sorted(cursors) and len(set(cursors)) == 4, cursors


# ---------------------------------------------------------------- raw client


class RawWS:
    """A minimal RFC 6455 client over a plain socket, for what libraries hide."""

    def __init__(self, server, token, since=None, rcvbuf=None, answer_pings=False):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(DEADLINE_S)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        path = "/api/v1/ws" + (f"?since={since}" if since is not None else "")
        req = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            assert chunk, "closed during the handshake"
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])
        self.answer_pings = answer_pings
        self.pings = 0

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | rsv | opcode
        n = len(payload)
        mbit = 0x80 if mask else 0
        if n < 126:
            hdr = struct.pack("!BB", b0, mbit | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, mbit | 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, mbit | 127, n)
        if mask:
            k = os.urandom(4)
            payload = bytes(b ^ k[i % 4] for i, b in enumerate(payload))
            hdr += k
        self.sock.sendall(hdr + payload)

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk

    def frame(self):
        """(opcode, payload) of the next frame; EOFError when the socket closes."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frames must not be masked"
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        opcode = b0 & 0x0F
        if opcode == 0x9:
            self.pings += 1
            if self.answer_pings:
                self.send_frame(0xA, payload)
        return opcode, payload

    def close_code(self):
        """Reads until a close frame; returns its code."""
        while True:
            op, payload = self.frame()
            if op == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- handshake


def test_handshake_variants(server, user):
    async def body():
        for how in ("header", "subprotocol", "query"):
            ws = await connect(server, user.token, how=how)
            hello = await recv_json(ws)
            assert hello["type"] == "hello" and hello["cursor"].isdigit(), hello
            if how == "subprotocol":
                assert ws.subprotocol == "tock.v1"
            await ws.close()
        # An API token works as well as the login JWT.
        r = user.post("/api/v1/auth/tokens", {"name": "ws"})
        assert r.status_code == 201, r.text
        ws = await connect(server, r.json()["token"], how="query")
        assert (await recv_json(ws))["type"] == "hello"
        await ws.close()
    run(body())


def test_handshake_rejections(server, user):
    async def body():
        for how in ("header", "subprotocol", "query"):
            with pytest.raises(websockets.InvalidStatusCode) as e:
                await connect(server, "not-a-token", how=how)
            assert e.value.status_code == 401
        with pytest.raises(websockets.InvalidStatusCode) as e:
            await websockets.connect(ws_url(server))
        assert e.value.status_code == 401
    run(body())

    url = server.url + "/api/v1/ws"
    auth = {"Authorization": f"Bearer {user.token}"}
    good = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), **auth}
    # A plain GET: 426 naming the protocol.
    r = requests.get(url, headers=auth, timeout=30)
    assert_error(r, 426, "upgrade_required")
    assert r.headers["Upgrade"].lower() == "websocket"
    assert r.headers["Sec-WebSocket-Version"] == "13"
    r = requests.get(url, headers={**good, "Sec-WebSocket-Version": "8"}, timeout=30)
    assert_error(r, 426)
    assert r.headers["Sec-WebSocket-Version"] == "13"
    r = requests.get(url, headers={**good, "Sec-WebSocket-Key": "c2hvcnQ="}, timeout=30)
    assert_error(r, 400, "invalid_argument")
    r = requests.get(url, headers={**good, "Connection": "keep-alive"}, timeout=30)
    assert_error(r, 400, "invalid_argument")
    r = requests.get(url, headers={**good, "Sec-WebSocket-Protocol": "chat"}, timeout=30)
    assert_error(r, 400, field="Sec-WebSocket-Protocol")
    for bad in ("abc", "-1", "1e3", "99999999999999999999", ""):
        r = requests.get(url, headers=good, params={"since": bad}, timeout=30)
        assert_error(r, 400, "invalid_argument", "since")
    r = requests.post(url, headers=good, timeout=30)
    assert_error(r, 405)


# ---------------------------------------------------------------- fan-out


def test_two_clients_of_one_user_see_each_others_changes(server):
    a1 = register(server)
    a2 = type(a1)(server, a1.token, a1.user)  # a second session of the same user

    async def body():
        w1 = await connect(server, a1.token)
        w2 = await connect(server, a1.token, how="subprotocol")
        await recv_type(w1, "hello")
        await recv_type(w2, "hello")
        # Client 1 writes: both sockets (client 2's in particular) see it all.
        tid = await http(mutate_all_kinds, a1, "from one")
        check_all_kinds(await recv_syncs(w2, 4), tid, "from one")
        check_all_kinds(await recv_syncs(w1, 4), tid, "from one")
        # Client 2 writes: client 1 sees it.
        tid2 = await http(mutate_all_kinds, a2, "from two")
        check_all_kinds(await recv_syncs(w1, 4), tid2, "from two")
        check_all_kinds(await recv_syncs(w2, 4), tid2, "from two")
        await w1.close()
        await w2.close()
    run(body())


def test_other_users_client_sees_nothing(server):
    a, b = register(server), register(server)

    async def body():
        wb = await connect(server, b.token)
        await recv_type(wb, "hello")
        wa = await connect(server, a.token)
        await recv_type(wa, "hello")
        await http(mutate_all_kinds, a, "private")
        await recv_syncs(wa, 4)  # a's changes went out (to a)
        r = await http(b.post, "/api/v1/tasks", {"title": "sentinel"})
        assert r.status_code == 201
        m = await recv_json(wb)  # the very next message b gets is its own
        assert m["type"] == "task.sync" and m["task"]["title"] == "sentinel", m
        assert m["task"]["id"] == r.json()["id"]
        await wa.close()
        await wb.close()
    run(body())


# ---------------------------------------------------------------- resume


def test_resume_gets_exactly_the_missed_changes(server):
    u = register(server)

    async def body():
        ws = await connect(server, u.token)
        await recv_type(ws, "hello")
        await http(u.post, "/api/v1/tasks", {"title": "seen"})
        seen = await recv_type(ws, "task.sync")
        cursor = seen["cursor"]
        await ws.close()
        # Missed while disconnected: every kind of change.
        tid = await http(mutate_all_kinds, u, "missed")
        ws = await connect(server, u.token, since=cursor)
        hello = await recv_json(ws)
        assert hello == {"type": "hello", "cursor": cursor}
        check_all_kinds(await recv_syncs(ws, 4), tid, "missed")
        # Then live, with nothing repeated in between.
        r = await http(u.post, "/api/v1/tasks", {"title": "live"})
        m = await recv_json(ws)
        assert m["type"] == "task.sync" and m["task"]["title"] == "live", m
        await ws.close()
        # Resuming from the newest cursor: nothing to replay, then live.
        ws = await connect(server, u.token, since=m["cursor"])
        assert (await recv_json(ws)) == {"type": "hello", "cursor": m["cursor"]}
        await http(u.post, "/api/v1/tasks", {"title": "after"})
        m2 = await recv_json(ws)
        assert m2["task"]["title"] == "after" and int(m2["cursor"]) > int(m["cursor"])
        await ws.close()
    run(body())


def test_resume_while_writes_race_the_reconnect(server):
    """Changes made during the reconnect arrive exactly once each (no gap, no duplicate)."""
    u = register(server)
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set() and n < 400:
            assert u.post("/api/v1/tasks", {"title": f"race {n}"}).status_code == 201
            n += 1

    async def body():
        ws = await connect(server, u.token)
        start = (await recv_type(ws, "hello"))["cursor"]
        await ws.close()
        t = threading.Thread(target=writer)
        t.start()
        try:
            got = []
            for _ in range(5):  # several reconnects while writes go on
                ws = await connect(server, u.token, since=got[-1] if got else start)
                assert (await recv_json(ws))["type"] == "hello"
                for _ in range(20):
                    got.append((await recv_type(ws, "task.sync"))["cursor"])
                await ws.close()
        finally:
            stop.set()
            await asyncio.to_thread(t.join)
        # One more resume collects the rest; compare with the outbox.
        expected = [str(r["seq"]) for r in sync_rows(server, u) if r["seq"] > int(start)]
        ws = await connect(server, u.token, since=got[-1])
        assert (await recv_json(ws))["type"] == "hello"
        while len(got) < len(expected):
            got.append((await recv_type(ws, "task.sync"))["cursor"])
        await ws.close()
        assert got == expected
    run(body())


def test_resync_when_the_cursor_cannot_be_resumed(store):
    s = Server({"TOCK_WS_RESUME_MAX": "3"}, store=store)
    try:
        u = register(s)

        async def body():
            ws = await connect(s, u.token)
            start = (await recv_type(ws, "hello"))["cursor"]
            for i in range(3):
                await http(u.post, "/api/v1/tasks", {"title": f"t{i}"})
            last = (await recv_syncs(ws, 3))[-1]["cursor"]
            await ws.close()
            # Three missed changes is within TOCK_WS_RESUME_MAX: exact.
            ws = await connect(s, u.token, since=start)
            assert (await recv_json(ws))["type"] == "hello"
            assert len(await recv_syncs(ws, 3)) == 3
            await ws.close()
            await http(u.post, "/api/v1/tasks", {"title": "t3"})
            # Four are more than it replays: resync, with a cursor to go on from.
            ws = await connect(s, u.token, since=start)
            m = await recv_json(ws)
            assert m["type"] == "resync" and int(m["cursor"]) > int(last), m
            await http(u.post, "/api/v1/tasks", {"title": "after resync"})
            m2 = await recv_json(ws)  # no replay after a resync: live changes only
            assert m2["type"] == "task.sync" and m2["task"]["title"] == "after resync"
            await ws.close()
            # A cursor this server never issued: resync.
            ws = await connect(s, u.token, since=10 ** 15)
            m = await recv_json(ws)
            assert m["type"] == "resync" and m["cursor"] == m2["cursor"], m
            await ws.close()
        run(body())
    finally:
        s.stop()


# ---------------------------------------------------------------- keepalive


def test_ping_pong(server, user):
    async def body():
        ws = await connect(server, user.token)
        await recv_type(ws, "hello")
        waiter = await ws.ping(b"abc")
        await asyncio.wait_for(waiter, DEADLINE_S)  # the pong came back
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws)) == {"type": "pong"}
        await ws.send("not json at all")  # ignored
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv_json(ws)) == {"type": "pong"}
        await ws.close()
        assert ws.close_code == 1000
    run(body())


def test_server_pings_and_drops_silent_clients(store):
    s = Server({"TOCK_WS_PING_SECONDS": "1"}, store=store)
    try:
        u = register(s)
        # A client that answers pings stays: it gets ping after ping (read in a thread,
        # so its pings are answered while the other client is watched).
        good = RawWS(s, u.token, answer_pings=True)
        assert good.status == 101
        texts = []

        def reader():
            try:
                while True:
                    op, payload = good.frame()
                    if op == 0x1:
                        texts.append(json.loads(payload))
            except (EOFError, OSError):
                pass
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        # One that never answers is disconnected (no pong within a ping interval).
        bad = RawWS(s, u.token)
        assert bad.status == 101
        with pytest.raises(EOFError):
            while True:
                bad.frame()
        assert bad.pings >= 1
        deadline = time.monotonic() + DEADLINE_S
        while good.pings < 3:
            assert time.monotonic() < deadline and t.is_alive()
            time.sleep(0.05)
        # The good one is still there: a change reaches it.
        u.post("/api/v1/tasks", {"title": "still here"})
        while not any(m.get("type") == "task.sync" for m in texts):
            assert time.monotonic() < deadline and t.is_alive(), texts
            time.sleep(0.05)
        good.sock.shutdown(socket.SHUT_RDWR)
        t.join(DEADLINE_S)
        good.close()
        bad.close()
    finally:
        s.stop()


# ---------------------------------------------------------------- slow readers, limits


def test_slow_reader_is_closed_with_1008(store):
    s = Server({"TOCK_WS_QUEUE_BYTES": "65536"}, store=store)
    try:
        u = register(s)
        slow = RawWS(s, u.token, rcvbuf=4096)
        assert slow.status == 101
        tid = u.post("/api/v1/tasks", {"title": "big"}).json()["id"]
        # Never read while the server has far more to send than it will buffer.
        text = "x" * 20000
        closed = False
        for i in range(2000):
            r = u.patch(f"/api/v1/tasks/{tid}", {"description": f"{i % 10}{text[:19000]}"})
            assert r.status_code == 200
            if i % 20 == 19:
                met = requests.get(s.url + "/metrics", timeout=30).text
                if 'tock_ws_slow_clients_total{reason="queue_full"}' in met:
                    closed = True
                    break
        assert closed, "the slow client was never dropped"
        # Now read: everything the server had sent, then close 1008, then EOF.
        assert slow.close_code() == 1008
        with pytest.raises(EOFError):
            while True:
                slow.frame()
        slow.close()
        # A normal client of the same user is unaffected.
        async def body():
            ws = await connect(s, u.token)
            await recv_type(ws, "hello")
            await http(u.post, "/api/v1/tasks", {"title": "fine"})
            assert (await recv_type(ws, "task.sync"))["task"]["title"] == "fine"
            await ws.close()
        run(body())
    finally:
        s.stop()


def test_connection_limits(store):
    s = Server({"TOCK_WS_MAX_PER_USER": "2", "TOCK_WS_MAX_CONNS": "3"}, store=store)
    try:
        a, b, c = register(s), register(s), register(s)

        async def body():
            a1 = await connect(s, a.token)
            a2 = await connect(s, a.token)
            with pytest.raises(websockets.InvalidStatusCode) as e:
                await connect(s, a.token)
            assert e.value.status_code == 429
            # The JSON error shape on the refusal.
            key = base64.b64encode(os.urandom(16)).decode()
            r = await http(requests.get, s.url + "/api/v1/ws", timeout=30,
                           headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                    "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
                                    "Authorization": f"Bearer {a.token}"})
            assert_error(r, 429, "too_many_connections")
            b1 = await connect(s, b.token)
            with pytest.raises(websockets.InvalidStatusCode) as e:
                await connect(s, c.token)
            assert e.value.status_code == 503
            # The gauge counts them.
            met = (await http(requests.get, s.url + "/metrics", timeout=30)).text
            assert "tock_ws_connections 3" in met.splitlines(), met
            # A closed connection frees its slot.
            await a1.close()
            deadline = time.monotonic() + DEADLINE_S
            while True:
                try:
                    a3 = await connect(s, a.token)
                    break
                except websockets.InvalidStatusCode as err:
                    assert err.status_code == 429 and time.monotonic() < deadline
                    await asyncio.sleep(0.05)
            for w in (a2, a3, b1):
                await w.close()
        run(body())
    finally:
        s.stop()


def test_protocol_errors_close_the_connection(server, user):
    cases = [
        (lambda w: w.send_frame(0x1, b"hi", mask=False), 1002),      # unmasked
        (lambda w: w.send_frame(0x1, b"hi", rsv=0x40), 1002),        # reserved bit
        (lambda w: w.send_frame(0x3, b""), 1002),                    # unknown opcode
        (lambda w: w.send_frame(0x1, b"\xc0\xaf"), 1007),            # overlong UTF-8
        (lambda w: w.send_frame(0x2, b"x" * 70000), 1009),           # over 64 KiB
        (lambda w: w.send_frame(0x9, b"p", fin=False), 1002),        # fragmented ping
        (lambda w: w.send_frame(0x0, b"x"), 1002),                   # orphan continuation
    ]
    for send, code in cases:
        w = RawWS(server, user.token)
        assert w.status == 101
        send(w)
        assert w.close_code() == code
        with pytest.raises(EOFError):
            while True:
                w.frame()
        w.close()
    # A text message split into fragments with a ping between them is fine.
    w = RawWS(server, user.token)
    w.send_frame(0x1, '{"type":'.encode(), fin=False)
    w.send_frame(0x9, b"mid")
    w.send_frame(0x0, '"ping"}'.encode())
    got = []
    while len(got) < 2:
        op, payload = w.frame()
        if op == 0xA or (op == 0x1 and json.loads(payload)["type"] == "pong"):
            got.append(op)
    assert sorted(got) == [0x1, 0xA]
    # The closing handshake: our close is answered with the same code.
    w.send_frame(0x8, struct.pack("!H", 4000) + b"bye")
    assert w.close_code() == 4000
    w.close()


# ---------------------------------------------------------------- replicas


def test_replicas_each_see_every_change(store):
    """Two processes on one database and one Kafka cluster: a client on either sees
    the writes made through either (each sync role has its own consumer group), and a
    cursor from one resumes on the other."""
    if store != "postgres":
        pytest.skip("two processes share a database: the PostgreSQL store")
    from test_kafka import MOCK_BIN, TOPICS, KafkaMock, kafka_env
    if not os.path.exists(MOCK_BIN):
        pytest.skip(f"{MOCK_BIN} is not built")
    mock = KafkaMock([f"t1.{t}" for t in TOPICS])
    a = b = None
    try:
        a = Server(kafka_env(mock), store=store)
        b = Server({**kafka_env(mock), "TOCK_DB": a.env["TOCK_DB"], "TOCK_ROLES": "api,sync"},
                   store=store)
        ua = register(a)
        ub = type(ua)(b, ua.token, ua.user)  # the same user, through replica b

        async def body():
            wa = await connect(a, ua.token)
            wb = await connect(b, ua.token)
            await recv_type(wa, "hello")
            await recv_type(wb, "hello")
            tid = await http(mutate_all_kinds, ua, "via a")
            check_all_kinds(await recv_syncs(wb, 4), tid, "via a")
            check_all_kinds(await recv_syncs(wa, 4), tid, "via a")
            r = await http(ub.post, "/api/v1/tasks", {"title": "via b"})
            assert r.status_code == 201
            ma = await recv_type(wa, "task.sync")
            mb = await recv_type(wb, "task.sync")
            assert ma == mb and ma["task"]["title"] == "via b"
            await wb.close()
            # Missed on b, resumed on b with the cursor a handed out.
            await http(ua.post, "/api/v1/tasks", {"title": "missed"})
            missed = await recv_type(wa, "task.sync")
            wb = await connect(b, ua.token, since=ma["cursor"])
            assert (await recv_json(wb)) == {"type": "hello", "cursor": ma["cursor"]}
            assert (await recv_type(wb, "task.sync")) == missed
            await wa.close()
            await wb.close()
        run(body())
    finally:
        if b:
            b.stop()
        if a:
            a.stop()
        mock.stop()


# ---------------------------------------------------------------- notifications


def insert_outbox_event(server, user, etype, data):
    """Writes an event into the outbox as a producer of `etype` would (the relay then
    publishes it): the contract with the notifications role, which emits
    notification.created on task-updates."""
    import sqlite3
    import uuid as uuidlib
    eid = str(uuidlib.uuid4())
    ev = {"specversion": "1.0", "id": eid, "source": "tock/test", "type": etype,
          "time": "2026-01-01T00:00:00.000Z", "subject": "0",
          "datacontenttype": "application/json", "userid": user.user["id"],
          "data": {"schema_version": 1, **data}}
    row = (eid, "task-updates", user.user["id"], int(user.user["id"]), etype, json.dumps(ev),
           int(time.time() * 1000))
    db = server.env["TOCK_DB"]
    if db.startswith("sqlite:"):
        con = sqlite3.connect(db[len("sqlite:"):], timeout=30)
        with con:
            con.execute("INSERT INTO outbox (event_id, topic, msg_key, user_id, type, event_json,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", row)
        con.close()
    else:
        from conftest import postgres
        lit = ", ".join("'" + str(v).replace("'", "''") + "'" for v in row)
        postgres()._run(["psql", "-X", "-q", "-d", db, "-v", "ON_ERROR_STOP=1", "-c",
                         "INSERT INTO outbox (event_id, topic, msg_key, user_id, type, "
                         f"event_json, created_at) VALUES ({lit})"])
    return eid


def test_notifications_are_forwarded_and_replayed(store):
    s = Server(store=store)
    try:
        u, other = register(s), register(s)
        note = {"id": "n-1", "kind": "reminder", "title": "Pay rent is due", "task_id": "7"}

        async def body():
            ws = await connect(s, u.token)
            start = (await recv_type(ws, "hello"))["cursor"]
            wo = await connect(s, other.token)
            await recv_type(wo, "hello")
            await asyncio.to_thread(insert_outbox_event, s, u, "notification.created", note)
            m = await recv_json(ws)
            assert m["type"] == "notification" and m["notification"] == note, m
            assert int(m["cursor"]) > int(start)
            # Types the protocol does not know are not forwarded.
            await asyncio.to_thread(insert_outbox_event, s, u, "something.else", {"x": 1})
            await http(u.post, "/api/v1/tasks", {"title": "after"})
            m2 = await recv_json(ws)
            assert m2["type"] == "task.sync" and m2["task"]["title"] == "after", m2
            # The other user got nothing but its own sentinel.
            await http(other.post, "/api/v1/tasks", {"title": "sentinel"})
            mo = await recv_json(wo)
            assert mo["type"] == "task.sync" and mo["task"]["title"] == "sentinel", mo
            await ws.close()
            await wo.close()
            # Resume replays the notification in order with the task change.
            ws = await connect(s, u.token, since=start)
            assert (await recv_json(ws))["type"] == "hello"
            assert (await recv_json(ws)) == m
            assert (await recv_json(ws)) == m2
            await ws.close()
        run(body())
    finally:
        s.stop()


def test_shutdown_closes_sockets_with_1001(store):
    s = Server(store=store)
    stopped = False
    try:
        u = register(s)

        async def body():
            ws = await connect(s, u.token)
            await recv_type(ws, "hello")
            await asyncio.to_thread(s.stop)  # SIGTERM; asserts a clean exit, no leaks
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await recv_json(ws)
            assert ws.close_code == 1001, ws.close_code
        run(body())
        stopped = True
    finally:
        if not stopped:
            s.stop()


def test_sync_role_needs_api_and_valid_settings(tmp_path):
    env = dict(os.environ, TOCK_DB=f"sqlite:{tmp_path}/t.db", TOCK_LISTEN="127.0.0.1:0",
               TOCK_JWT_SECRET="x" * 40)
    r = subprocess.run([TOCK_BIN, "serve", "--roles", "sync"], env=env, capture_output=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert b"role sync needs role api" in r.stderr, r.stderr
    assert b"Sanitizer" not in r.stderr, r.stderr
    for var, bad in (("TOCK_WS_MAX_CONNS", "0"), ("TOCK_WS_QUEUE_BYTES", "12x"),
                     ("TOCK_WS_PING_SECONDS", "-1")):
        r = subprocess.run([TOCK_BIN, "serve"], env={**env, var: bad}, capture_output=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode != 0
        assert var.encode() in r.stderr, r.stderr
        assert b"Sanitizer" not in r.stderr, r.stderr


def test_without_the_sync_role_the_route_answers_503(store):
    s = Server({"TOCK_ROLES": "api,relay,audit"}, store=store)
    try:
        u = register(s)
        key = base64.b64encode(os.urandom(16)).decode()
        r = requests.get(s.url + "/api/v1/ws", timeout=30,
                         headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                  "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
                                  "Authorization": f"Bearer {u.token}"})
        assert_error(r, 503, "unavailable")
    finally:
        s.stop()
