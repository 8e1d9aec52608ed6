#!/usr/bin/env python3
"""A stand-in for the Dapr sidecar, for tests only (python3 standard library).

No real Dapr sidecar can run in the test environment, so this process plays its
part. It is NOT Dapr: it implements exactly the sidecar HTTP contract written
down in SPECS.md ("Dapr sidecar HTTP API", Dapr 1.15) and docs/dapr.md, and
records everything it sees so tests can assert on it.

Sidecar side (what the app calls):
  POST /v1.0/publish/{pubsub}/{topic}[?metadata.partitionKey=K]
       Content-Type must be application/cloudevents+json and the body a CloudEvent
       (id, source, specversion, type) -> 204. Unknown pubsub -> 404
       {"errorCode":"ERR_PUBSUB_NOT_FOUND",...}; other contract violations -> 400;
       a configured failure -> 500 {"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE",...}.
       With DAPR_API_TOKEN set, a request without header dapr-api-token equal to it
       -> 401.
  GET  /v1.0/healthz -> 204 (or 500 when made unhealthy).

App side (what the sidecar calls):
  At start-up, GET http://127.0.0.1:<app-port>/dapr/subscribe (retried until the app
  answers; 404 = no subscriptions). Every accepted publish is delivered to each
  subscription with the same pubsubname and topic: POST {route} with
  Content-Type application/cloudevents+json, header traceparent, headers __key,
  __topic, __partition and __offset (as pubsub.kafka adds), and dapr-api-token:
  $APP_API_TOKEN when set. The body is the published CloudEvent with topic,
  pubsubname, traceid, traceparent and tracestate overwritten, as Dapr does. The answer decides:
    2xx + {"status":"SUCCESS"} or empty body -> acked
    {"status":"RETRY"} or a non-2xx other than 404 -> redelivered, at most
        --max-retries times, then sent to the deadLetterTopic (if any)
    {"status":"DROP"} -> sent to the deadLetterTopic (if any), not retried
    HTTP 404 -> dropped, not retried
  A dead-lettered event is published to deadLetterTopic on the same pubsub (and so
  delivered to that topic's subscribers).

Control (for tests; not part of Dapr):
  GET  /standin/published      every accepted publish, in order
  GET  /standin/rejected       every rejected publish with the reason
  GET  /standin/deliveries     every delivery attempt and its outcome
  GET  /standin/subscriptions  the subscriptions fetched from the app
  POST /standin/config         {"fail_publish": N, "healthy": bool}
  POST /standin/resubscribe    fetch /dapr/subscribe again; returns the list

Usage: dapr_standin.py --port P --app-port A [--pubsub tock-pubsub] [--max-retries 3]
Prints "ready <port>" on stdout once listening.
"""
import argparse
import json
import os
import queue
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CE_TYPE = "application/cloudevents+json"
DAPR_OVERWRITES = ("topic", "pubsubname", "traceid", "traceparent", "tracestate")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.pubsubs = set(args.pubsub)
        self.api_token = os.environ.get("DAPR_API_TOKEN") or None
        self.app_token = os.environ.get("APP_API_TOKEN") or None
        self.fail_publish = 0
        self.healthy = True
        self.published = []
        self.rejected = []
        self.deliveries = []
        self.subscriptions = []
        self.subscribe_status = None
        self.offset = -1
        self.queue = queue.Queue()

    def snapshot(self, name):
        with self.lock:
            return json.loads(json.dumps(getattr(self, name)))


def app_request(state, method, path, body=None, headers=None, timeout=10):
    url = f"http://127.0.0.1:{state.args.app_port}{path}"
    h = dict(headers or {})
    if state.app_token:
        h["dapr-api-token"] = state.app_token
    req = urllib.request.Request(url, data=body, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def fetch_subscriptions(state, wait=True):
    deadline = time.monotonic() + 60
    while True:
        try:
            status, body = app_request(state, "GET", "/dapr/subscribe")
            break
        except (urllib.error.URLError, OSError):
            if not wait or time.monotonic() > deadline:
                return None
            time.sleep(0.05)
    subs = []
    if status == 200:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        for s in doc if isinstance(doc, list) else []:
            if (isinstance(s, dict) and isinstance(s.get("pubsubname"), str)
                    and isinstance(s.get("topic"), str) and isinstance(s.get("route"), str)
                    and s["route"].startswith("/")):
                subs.append(s)
    with state.lock:
        state.subscriptions = subs
        state.subscribe_status = status
    return subs


def enqueue(state, pubsub, topic, event, key, attempt_of=None):
    with state.lock:
        subs = [s for s in state.subscriptions
                if s["pubsubname"] == pubsub and s["topic"] == topic]
    for s in subs:
        state.queue.put((s, event, key))


def dead_letter(state, sub, event, key):
    dlt = sub.get("deadLetterTopic")
    if not dlt:
        return None
    with state.lock:
        state.published.append({"pubsub": sub["pubsubname"], "topic": dlt, "partition_key": key,
                                "content_type": CE_TYPE, "token": None, "event": event,
                                "body": json.dumps(event), "dead_letter_of": sub["route"]})
    enqueue(state, sub["pubsubname"], dlt, event, key)
    return dlt


def deliver_one(state, sub, event, key):
    ev = dict(event)
    trace = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    ev.update({"topic": sub["topic"], "pubsubname": sub["pubsubname"], "traceid": trace,
               "traceparent": trace, "tracestate": ""})
    body = json.dumps(ev).encode()
    with state.lock:
        state.offset += 1
        offset = state.offset
    headers = {"Content-Type": CE_TYPE, "traceparent": trace, "__key": key or "",
               "__topic": sub["topic"], "__partition": "0", "__offset": str(offset)}
    max_retries = state.args.max_retries
    attempt = 0
    while True:
        attempt += 1
        try:
            status, rbody = app_request(state, "POST", sub["route"], body, headers)
        except (urllib.error.URLError, OSError) as e:
            status, rbody = 0, str(e).encode()
        answer = None
        if 200 <= status < 300:
            try:
                answer = json.loads(rbody)["status"] if rbody.strip() else "SUCCESS"
            except (ValueError, KeyError, TypeError):
                answer = None  # an unreadable 2xx body: Dapr retries
            if answer not in ("SUCCESS", "RETRY", "DROP"):
                answer = None
        if status == 404:
            outcome = "dropped"
        elif answer == "SUCCESS":
            outcome = "acked"
        elif answer == "DROP":
            outcome = "dead-lettered" if sub.get("deadLetterTopic") else "dropped"
        elif attempt > max_retries:
            outcome = "dead-lettered" if sub.get("deadLetterTopic") else "dropped"
        else:
            outcome = "retry"
        with state.lock:
            state.deliveries.append({"route": sub["route"], "topic": sub["topic"],
                                     "event_id": event.get("id"), "attempt": attempt,
                                     "http_status": status, "status": answer,
                                     "outcome": outcome, "traceparent": trace})
        if outcome == "retry":
            time.sleep(state.args.retry_interval)
            continue
        if outcome == "dead-lettered":
            dead_letter(state, sub, event, key)
        return


def delivery_worker(state):
    while True:
        item = state.queue.get()
        if item is None:
            return
        try:
            deliver_one(state, *item)
        except Exception as e:  # keep delivering; the failure is recorded
            with state.lock:
                state.deliveries.append({"route": item[0].get("route"), "error": repr(e)})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real sidecar

    def log_message(self, fmt, *args):
        sys.stderr.write("standin: " + (fmt % args) + "\n")

    @property
    def state(self):
        return self.server.state

    def _send(self, status, obj=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _dapr_error(self, status, code, message, record=None):
        if record is not None:
            record["reason"] = code
            with self.state.lock:
                self.state.rejected.append(record)
        self._send(status, {"errorCode": code, "message": message})

    def do_GET(self):
        st = self.state
        path = urllib.parse.urlsplit(self.path).path
        if path == "/v1.0/healthz":
            if st.api_token and self.headers.get("dapr-api-token") != st.api_token:
                return self._send(401, {"errorCode": "ERR_UNAUTHORIZED",
                                        "message": "invalid api token"})
            return self._send(204 if st.healthy else 500)
        if path.startswith("/standin/"):
            name = path[len("/standin/"):]
            if name in ("published", "rejected", "deliveries", "subscriptions"):
                return self._send(200, st.snapshot(name))
        self._send(404, {"errorCode": "ERR_NOT_FOUND", "message": path})

    def do_POST(self):
        st = self.state
        u = urllib.parse.urlsplit(self.path)
        body = self._body()
        if u.path == "/standin/config":
            cfg = json.loads(body or b"{}")
            with st.lock:
                if "fail_publish" in cfg:
                    st.fail_publish = int(cfg["fail_publish"])
                if "healthy" in cfg:
                    st.healthy = bool(cfg["healthy"])
            return self._send(200, {"ok": True})
        if u.path == "/standin/resubscribe":
            return self._send(200, fetch_subscriptions(st, wait=False))
        parts = u.path.split("/")
        if len(parts) != 5 or parts[1] != "v1.0" or parts[2] != "publish":
            return self._send(404, {"errorCode": "ERR_NOT_FOUND", "message": u.path})
        pubsub = urllib.parse.unquote(parts[3])
        topic = urllib.parse.unquote(parts[4])
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        key = q.get("metadata.partitionKey", [None])[0]
        token = self.headers.get("dapr-api-token")
        rec = {"pubsub": pubsub, "topic": topic, "partition_key": key,
               "content_type": self.headers.get("Content-Type"), "token": token,
               "body": body.decode("utf-8", "replace")}
        if st.api_token and token != st.api_token:
            return self._dapr_error(401, "ERR_UNAUTHORIZED", "invalid api token", rec)
        with st.lock:
            failing = st.fail_publish > 0
            if failing:
                st.fail_publish -= 1
        if failing:
            return self._dapr_error(500, "ERR_PUBSUB_PUBLISH_MESSAGE",
                                    "error when publishing to broker (stand-in failure)", rec)
        if pubsub not in st.pubsubs:
            return self._dapr_error(404, "ERR_PUBSUB_NOT_FOUND",
                                    f"pubsub {pubsub} not found", rec)
        ct = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ct != CE_TYPE:
            return self._dapr_error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER",
                                    "expected Content-Type application/cloudevents+json", rec)
        try:
            event = json.loads(body)
            assert isinstance(event, dict)
            assert all(isinstance(event.get(k), str) and event[k]
                       for k in ("id", "source", "specversion", "type"))
        except (ValueError, AssertionError):
            return self._dapr_error(400, "ERR_PUBSUB_CLOUD_EVENTS_SER",
                                    "body is not a CloudEvent", rec)
        rec["event"] = event
        with st.lock:
            st.published.append(rec)
        enqueue(st, pubsub, topic, event, key)
        self._send(204)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--app-port", type=int, required=True)
    ap.add_argument("--pubsub", action="append", default=None,
                    help="known pubsub component names (default tock-pubsub)")
    ap.add_argument("--max-retries", type=int, default=3)
    ap.add_argument("--retry-interval", type=float, default=0.05)
    args = ap.parse_args()
    args.pubsub = args.pubsub or ["tock-pubsub"]
    state = State(args)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = state
    threading.Thread(target=fetch_subscriptions, args=(state,), daemon=True).start()
    threading.Thread(target=delivery_worker, args=(state,), daemon=True).start()
    print(f"ready {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
