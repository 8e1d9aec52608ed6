"""Notifications (issue 4 §3), black-box against a real server with every role:
preferences (validation, write-only webhook secret), the in-app inbox and its
notification.created event, e-mail received by a real SMTP server (aiosmtpd,
started here) with the right content, webhooks whose signature a test receiver
verifies and which are retried after a 500 (TOCK_WEBHOOK_BACKOFF_MS makes the
backoff short), dead letters when retries run out, quiet hours, digests,
POST /notifications/test and the delivery log.

Reminders are set a second or two ahead so the real scheduler fires them; every
wait polls the observable effect with a deadline.
"""
import base64
import datetime
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from conftest import Server, assert_error, free_port, register
from test_reminders import due_events, iso, now_ms, outbox, parse_ms, validator, wait_for

SECRET = "whsec-0123456789abcdef"


class SMTPSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        self.messages = []
        self.port = free_port()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(envelope)
                return "250 Message accepted"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


class WebhookReceiver:
    """An HTTP receiver that records requests and answers with scripted statuses
    (the last one repeats)."""

    def __init__(self, statuses=(200,)):
        self.requests = []
        self.statuses = list(statuses)
        recv = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                recv.requests.append((dict(self.headers), body))
                st = recv.statuses.pop(0) if len(recv.statuses) > 1 else recv.statuses[0]
                self.send_response(st)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def verify(headers, body, secret=SECRET):
    """What a receiver does: recompute the HMAC of the raw body, compare in constant time."""
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, headers.get("X-Tock-Signature", ""))


@pytest.fixture
def smtp():
    s = SMTPSink()
    yield s
    s.stop()


@pytest.fixture
def nserver(store, smtp):
    s = Server(store=store, extra_env={
        "TOCK_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "TOCK_SMTP_FROM": "tock@example.com",
        "TOCK_PUBLIC_URL": "https://tock.example/",
        "TOCK_WEBHOOK_BACKOFF_MS": "200",
        "TOCK_NOTIFY_MAX_ATTEMPTS": "3",
    })
    yield s
    s.stop()


def remind_soon(c, title="water the plants", ms=1500, due="2031-03-05T10:00"):
    t = c.post("/api/v1/tasks", {"title": title, "due": due}).json()
    r = c.post(f"/api/v1/tasks/{t['id']}/reminders", {"at": iso(now_ms() + ms)})
    assert r.status_code == 201, r.text
    return t, r.json()


def deliveries(c):
    r = c.get("/api/v1/notifications/deliveries", params={"limit": "200"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def inbox(c, **params):
    r = c.get("/api/v1/notifications", params=params)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- preferences

def test_preferences(nserver):
    c = register(nserver)
    p = c.get("/api/v1/notifications/preferences").json()
    assert p == {"channels": ["in_app"], "email": None, "webhook_url": None,
                 "webhook_secret_set": False, "quiet_start": None, "quiet_end": None,
                 "digest_seconds": 0, "updated_at": None}
    put = c.put("/api/v1/notifications/preferences", {
        "channels": ["in_app", "email", "webhook"], "email": "me@example.com",
        "webhook_url": "https://hooks.example/x", "webhook_secret": SECRET,
        "quiet_start": "22:00", "quiet_end": "07:30", "digest_seconds": 300})
    assert put.status_code == 200, put.text
    got = c.get("/api/v1/notifications/preferences").json()
    assert got == put.json()
    assert "webhook_secret" not in got and got["webhook_secret_set"] is True
    assert got["quiet_start"] == "22:00" and got["quiet_end"] == "07:30"
    assert got["channels"] == ["in_app", "email", "webhook"] and got["digest_seconds"] == 300
    # Absent members keep their value; the GET shape can be sent back.
    again = c.put("/api/v1/notifications/preferences", got)
    assert again.status_code == 200
    got = again.json()
    assert c.get("/api/v1/notifications/preferences").json() == got
    assert got["webhook_secret_set"] is True
    path = "/api/v1/notifications/preferences"
    assert_error(c.put(path, {"channels": ["sms"]}), 400, field="channels")
    assert_error(c.put(path, {"channels": "email"}), 400, field="channels")
    assert_error(c.put(path, {"email": "not-an-address"}), 400, field="email")
    assert_error(c.put(path, {"webhook_url": "ftp://x"}), 400, field="webhook_url")
    assert_error(c.put(path, {"webhook_url": "https://"}), 400, field="webhook_url")
    assert_error(c.put(path, {"webhook_secret": "short"}), 400, field="webhook_secret")
    assert_error(c.put(path, {"quiet_start": "25:00"}), 400, field="quiet_start")
    assert_error(c.put(path, {"quiet_end": None}), 400, field="quiet_end")
    assert_error(c.put(path, {"digest_seconds": -1}), 400, field="digest_seconds")
    assert_error(c.put(path, {"digest_seconds": 86401}), 400, field="digest_seconds")
    assert_error(c.put(path, {"bogus": 1}), 400)
    assert_error(c.put(path, {"webhook_url": None}), 400, field="webhook_url")  # webhook on
    other = register(nserver)
    assert_error(other.put(path, {"channels": ["webhook"], "webhook_url": "https://x.example"}),
                 400, field="webhook_secret")
    assert other.get(path).json()["channels"] == ["in_app"]
    assert c.get(path).json() == got  # failed PUTs changed nothing


# ---------------------------------------------------------------- in-app

def test_in_app_inbox_and_event(nserver):
    c = register(nserver)
    t, r = remind_soon(c, title="stretch")
    items = wait_for(lambda: inbox(c)["items"], "an inbox notification")
    assert len(items) == 1
    n = items[0]
    assert n["kind"] == "reminder" and n["title"] == "stretch" and n["task_id"] == t["id"]
    assert n["read_at"] is None and "2031-03-05T10:00" in n["body"]
    assert [x["reminder_id"] for x in n["reminders"]] == [r["id"]]
    # notification.created carries exactly the inbox item.
    evs = wait_for(lambda: [row["event"] for row in outbox(nserver, "task-updates")
                            if row["event"]["type"] == "notification.created"
                            and row["event"]["userid"] == c.user["id"]], "notification.created")
    assert len(evs) == 1
    errs = list(validator("notification.created").iter_errors(evs[0]))
    assert not errs, errs
    assert evs[0]["source"] == "tock/notifier"
    data = dict(evs[0]["data"])
    assert data.pop("schema_version") == 1
    assert data == n
    # Mark read; unread filter; read-all.
    rd = c.post(f"/api/v1/notifications/{n['id']}/read")
    assert rd.status_code == 200 and rd.json()["read_at"] is not None
    assert inbox(c, unread="true")["items"] == []
    assert_error(c.post("/api/v1/notifications/999999/read"), 404)
    other = register(nserver)
    assert_error(other.post(f"/api/v1/notifications/{n['id']}/read"), 404)
    assert inbox(other)["items"] == []
    assert c.post("/api/v1/notifications/read-all").status_code == 204
    assert_error(c.get("/api/v1/notifications", params={"unread": "yes"}), 400, field="unread")
    log = [d for d in deliveries(c) if d["channel"] == "in_app"]
    assert len(log) == 1 and log[0]["state"] == "sent" and log[0]["attempts"] == 1
    assert log[0]["reminder_id"] == r["id"] and log[0]["attempt_log"][0]["ok"] is True


# ---------------------------------------------------------------- e-mail

def parts(msg):
    out = {}
    for p in msg.walk():
        if p.get_content_type() in ("text/plain", "text/html"):
            out[p.get_content_type()] = p.get_content()
    return out


def test_email_is_received_with_the_right_content(nserver, smtp):
    c = register(nserver)
    assert c.put("/api/v1/notifications/preferences",
                 {"channels": ["email"], "email": "me@example.com"}).status_code == 200
    t, r = remind_soon(c, title="Pay <rent> & fees ✓")
    wait_for(lambda: smtp.messages, "an e-mail")
    d = wait_for(lambda: [x for x in deliveries(c) if x["state"] == "sent"], "the delivery")
    assert len(smtp.messages) == 1
    env = smtp.messages[0]
    assert env.mail_from == "tock@example.com" and env.rcpt_tos == ["me@example.com"]
    msg = email.message_from_bytes(env.content, policy=email.policy.default)
    assert msg["Subject"] == "Reminder: Pay <rent> & fees ✓"
    assert msg["To"] == "me@example.com" and msg["From"] == "tock@example.com"
    assert msg.get_content_type() == "multipart/alternative"
    p = parts(msg)
    link = f"https://tock.example/tasks/{t['id']}"
    assert "Pay <rent> & fees ✓" in p["text/plain"]
    assert "Due: 2031-03-05T10:00" in p["text/plain"] and link in p["text/plain"]
    assert "Pay &lt;rent&gt; &amp; fees ✓" in p["text/html"] and f'href="{link}"' in p["text/html"]
    assert msg["X-Tock-Delivery"] == d[0]["delivery_id"]
    assert d[0]["channel"] == "email" and d[0]["attempts"] == 1
    assert d[0]["attempt_log"][0]["ok"] is True
    # The account address is used when no e-mail is set.
    c.put("/api/v1/notifications/preferences", {"email": None})
    remind_soon(c, title="second")
    wait_for(lambda: len(smtp.messages) == 2, "the second e-mail")
    assert smtp.messages[1].rcpt_tos == [c.email]
    assert len([x for x in deliveries(c) if x["channel"] == "email"]) == 2


# ---------------------------------------------------------------- webhooks

def test_webhook_is_signed_and_retried_after_500(nserver):
    hook = WebhookReceiver([500, 200])
    try:
        c = register(nserver)
        assert c.put("/api/v1/notifications/preferences", {
            "channels": ["webhook"], "webhook_url": hook.url,
            "webhook_secret": SECRET}).status_code == 200
        t, r = remind_soon(c, title="deploy")
        d = wait_for(lambda: [x for x in deliveries(c) if x["state"] == "sent"], "a sent webhook")
        assert len(hook.requests) == 2
        ids = {h["X-Tock-Delivery"] for h, _ in hook.requests}
        assert ids == {d[0]["delivery_id"]}  # one delivery id across retries
        for h, body in hook.requests:
            assert verify(h, body), h
            assert not verify(h, body, secret="wrong-secret-0123456789")
            assert h["Content-Type"] == "application/json"
            doc = json.loads(body)
            assert doc["event"] == "reminder.due" and doc["delivery_id"] == d[0]["delivery_id"]
            assert [x["reminder_id"] for x in doc["reminders"]] == [r["id"]]
            assert doc["reminders"][0]["title"] == "deploy"
            assert doc["reminders"][0]["link"] == f"https://tock.example/tasks/{t['id']}"
        assert [json.loads(b)["attempt"] for _, b in hook.requests] == [1, 2]
        log = d[0]["attempt_log"]
        assert [(x["ok"], x["detail"]) for x in log] == [(False, "HTTP 500"), (True, "HTTP 200")]
        assert d[0]["attempts"] == 2 and d[0]["last_error"] is None
    finally:
        hook.stop()


def test_webhook_dead_letters_after_the_last_attempt(nserver):
    hook = WebhookReceiver([503])
    try:
        c = register(nserver)
        c.put("/api/v1/notifications/preferences", {
            "channels": ["webhook"], "webhook_url": hook.url, "webhook_secret": SECRET})
        t, r = remind_soon(c)
        d = wait_for(lambda: [x for x in deliveries(c) if x["state"] == "dead"], "a dead delivery")
        assert d[0]["attempts"] == 3 and len(hook.requests) == 3
        assert d[0]["last_error"] == "HTTP 503"
        dl = wait_for(lambda: [row["event"] for row in outbox(nserver, "dlq")
                               if row["event"]["userid"] == c.user["id"]], "the dead letter")
        assert len(dl) == 1 and dl[0]["type"] == "tock.deadletter"
        assert dl[0]["data"]["consumer"] == "notifier" and dl[0]["data"]["attempts"] == 3
        assert dl[0]["data"]["original"]["delivery_id"] == d[0]["delivery_id"]
    finally:
        hook.stop()


def test_webhook_interrupted_by_a_crash_is_retried_after_restart(store):
    """The notifier dies (SIGKILL) while a webhook request is in flight: the delivery
    stays "sending"; a restart more than the 10-minute lease later (TOCK_FAKE_NOW_MS)
    sends it again with the same delivery id."""
    release = threading.Event()
    hook = WebhookReceiver([200])
    orig = hook.httpd.RequestHandlerClass.do_POST

    def hanging_first(self):
        if not hook.requests:
            hook.requests.append((dict(self.headers), b"(in flight)"))
            release.wait(30)
            return
        orig(self)
    hook.httpd.RequestHandlerClass.do_POST = hanging_first
    a = Server(store=store)
    keep_db, a._drop_db = a._drop_db, (lambda: None)
    try:
        c = register(a)
        c.put("/api/v1/notifications/preferences", {
            "channels": ["webhook"], "webhook_url": hook.url, "webhook_secret": SECRET})
        remind_soon(c)
        d = wait_for(lambda: [x for x in deliveries(c) if x["state"] == "sending"], "in flight")
        assert len(hook.requests) == 1
        a.proc.kill()
        a.proc.wait()
        a._out.close()
        a._err.close()
        release.set()
        b = Server(store=store, extra_env={"TOCK_DB": a.env["TOCK_DB"], "TOCK_DATA_DIR": a.dir,
                                           "TOCK_FAKE_NOW_MS": str(now_ms() + 11 * 60_000)})
        try:
            cb = type(c)(b, c.token)
            sent = wait_for(lambda: [x for x in deliveries(cb) if x["state"] == "sent"], "resent")
            assert sent[0]["delivery_id"] == d[0]["delivery_id"]
            assert len(hook.requests) == 2
            h, body = hook.requests[1]
            assert h["X-Tock-Delivery"] == d[0]["delivery_id"] and verify(h, body)
        finally:
            b.stop()
    finally:
        release.set()
        hook.stop()
        keep_db()


# ---------------------------------------------------------------- quiet hours, digests

def test_quiet_hours_hold_until_the_window_ends(nserver):
    c = register(nserver)  # UTC
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(hours=1)).strftime("%H:%M")
    end_dt = (now + datetime.timedelta(hours=1)).replace(second=0, microsecond=0)
    assert c.put("/api/v1/notifications/preferences",
                 {"quiet_start": start, "quiet_end": end_dt.strftime("%H:%M")}).status_code == 200
    t, r = remind_soon(c)
    d = wait_for(lambda: deliveries(c), "the held delivery")
    assert len(d) == 1 and d[0]["state"] == "pending" and d[0]["attempts"] == 0
    assert d[0]["send_at"] == iso(int(end_dt.timestamp() * 1000))
    assert inbox(c)["items"] == []  # nothing delivered inside quiet hours


def test_held_reminder_is_delivered_when_quiet_hours_end(store):
    """Held in quiet hours by one server; a restart whose clock is past the window's
    end (TOCK_FAKE_NOW_MS) delivers it at once."""
    a = Server(store=store)
    keep_db, a._drop_db = a._drop_db, (lambda: None)
    try:
        c = register(a, timezone="Asia/Tokyo")
        now = datetime.datetime.now(datetime.timezone.utc)
        tokyo = datetime.timezone(datetime.timedelta(hours=9))  # no DST in Japan
        start = (now - datetime.timedelta(hours=1)).astimezone(tokyo).strftime("%H:%M")
        end = (now + datetime.timedelta(hours=2)).astimezone(tokyo).replace(second=0, microsecond=0)
        c.put("/api/v1/notifications/preferences",
              {"quiet_start": start, "quiet_end": end.strftime("%H:%M")})
        t, r = remind_soon(c, title="after the quiet")
        d = wait_for(lambda: deliveries(c), "the held delivery")
        assert d[0]["state"] == "pending" and d[0]["send_at"] == iso(int(end.timestamp() * 1000))
        assert inbox(c)["items"] == []
        a.stop()
        b = Server(store=store, extra_env={"TOCK_DB": a.env["TOCK_DB"], "TOCK_DATA_DIR": a.dir,
                                           "TOCK_FAKE_NOW_MS": str(int(end.timestamp() * 1000) + 60_000)})
        try:
            cb = type(c)(b, c.token)
            items = wait_for(lambda: inbox(cb)["items"], "the released notification")
            assert [n["title"] for n in items] == ["after the quiet"]
            sent = deliveries(cb)[0]
            assert sent["state"] == "sent" and parse_ms(sent["sent_at"]) >= int(end.timestamp() * 1000)
        finally:
            b.stop()
    finally:
        keep_db()


def test_digest_folds_reminders_due_together(nserver):
    c = register(nserver)
    c.put("/api/v1/notifications/preferences", {"digest_seconds": 3})
    base = now_ms() + 1500
    ids = []
    for i, off in enumerate([0, 500, 1000]):
        t = c.post("/api/v1/tasks", {"title": f"part {i}", "due": "2031-03-05T10:00"}).json()
        ids.append(c.post(f"/api/v1/tasks/{t['id']}/reminders", {"at": iso(base + off)}).json()["id"])
    items = wait_for(lambda: inbox(c)["items"], "the digest")
    assert len(items) == 1
    n = items[0]
    assert n["kind"] == "digest" and n["title"] == "3 reminders" and n["task_id"] is None
    assert sorted(x["reminder_id"] for x in n["reminders"]) == sorted(ids)
    d = deliveries(c)
    assert sorted(x["state"] for x in d) == ["merged", "merged", "sent"]
    leader = [x for x in d if x["state"] == "sent"][0]
    assert all(x["group_id"] == leader["id"] for x in d if x["state"] == "merged")


# ---------------------------------------------------------------- test endpoint

def test_test_endpoint_uses_every_enabled_channel(nserver, smtp):
    hook = WebhookReceiver([200])
    try:
        c = register(nserver)
        c.put("/api/v1/notifications/preferences", {
            "channels": ["in_app", "email", "webhook"], "webhook_url": hook.url,
            "webhook_secret": SECRET, "quiet_start": "00:00", "quiet_end": "23:59"})
        r = c.post("/api/v1/notifications/test")
        assert r.status_code == 202, r.text
        assert sorted(x["channel"] for x in r.json()["deliveries"]) == ["email", "in_app", "webhook"]
        wait_for(lambda: len([x for x in deliveries(c) if x["state"] == "sent"]) == 3, "3 sends")
        assert [n["kind"] for n in inbox(c)["items"]] == ["test"]
        assert len(smtp.messages) == 1 and smtp.messages[0].rcpt_tos == [c.email]
        msg = email.message_from_bytes(smtp.messages[0].content, policy=email.policy.default)
        assert msg["Subject"] == "Test notification from tock"
        assert len(hook.requests) == 1 and verify(*hook.requests[0])
        assert json.loads(hook.requests[0][1])["event"] == "test"
        c.put("/api/v1/notifications/preferences", {"channels": []})
        assert_error(c.post("/api/v1/notifications/test"), 400, field="channels")
    finally:
        hook.stop()
