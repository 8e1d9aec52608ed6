#!/usr/bin/env python3
"""A stand-in for an OpenAI-compatible Chat Completions server, for tests only
(python3 standard library).

No LLM can run in the test environment, so this process plays the server's part.
It is NOT a model: it answers from a script the test gives it, and it checks
every request against the Chat Completions wire format written down in SPECS.md
("OpenAI-compatible Chat Completions") — model, messages with roles
system/user/assistant/tool, each tool message's tool_call_id answering a
tool_calls id of the assistant message before it, tools as
[{"type":"function","function":{"name","description","parameters"}}] with names
[a-zA-Z0-9_-]{1,64}, tool_choice "auto" — recording violations (answered 400
{"error":{"message","type":"invalid_request_error","code":null}}).

  POST /v1/chat/completions   the next scripted response (or, with the script
                              empty, {"finish_reason":"stop"} "(no script)")
Control (for tests; not part of the API):
  POST /standin/script   [step, ...] replaces the script; a step is
                         {"status": 200, "headers": {...}, "body": {...},
                          "delay_s": 0}
                         or the shortcuts {"tool_calls": [...]} / {"content": "..."}
                         (a 200 chat.completion with that message and
                         finish_reason tool_calls / stop). In tool_calls
                         arguments (string or object), "$LAST_ID" becomes the
                         "id" of the JSON in the request's last tool message.
  GET  /standin/requests every request received: {"headers", "body"}
  GET  /standin/violations
  POST /standin/reset

Usage: llm_standin.py PORT
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"script": [], "requests": [], "violations": []}
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def check(body):
    """The wire-format rules a real server enforces; returns a list of problems."""
    bad = []
    if not isinstance(body, dict):
        return ["body is not an object"]
    if not isinstance(body.get("model"), str) or not body["model"]:
        bad.append("model must be a non-empty string")
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        bad.append("messages must be a non-empty array")
        msgs = []
    open_ids = set()
    for i, m in enumerate(msgs):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ("system", "user", "assistant", "tool"):
            bad.append(f"messages[{i}].role is {role!r}")
            continue
        if role == "assistant":
            open_ids = set()
            for c in m.get("tool_calls") or []:
                open_ids.add(c.get("id"))
        elif role == "tool":
            tid = m.get("tool_call_id")
            if tid not in open_ids:
                bad.append(f"messages[{i}].tool_call_id {tid!r} answers no tool call")
            if not isinstance(m.get("content"), str):
                bad.append(f"messages[{i}].content must be a string")
        else:
            open_ids = set()
            if not isinstance(m.get("content"), str):
                bad.append(f"messages[{i}].content must be a string")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            bad.append("tools must be an array")
            tools = []
        for i, t in enumerate(tools):
            fn = t.get("function") if isinstance(t, dict) else None
            if t.get("type") != "function" or not isinstance(fn, dict):
                bad.append(f"tools[{i}] is not a function tool")
                continue
            if not isinstance(fn.get("name"), str) or not NAME_RE.match(fn["name"]):
                bad.append(f"tools[{i}].function.name is invalid")
            if not isinstance(fn.get("parameters"), dict):
                bad.append(f"tools[{i}].function.parameters must be an object")
        if body.get("tool_choice") not in (None, "auto", "none", "required"):
            bad.append("tool_choice is invalid")
    return bad


def last_tool_id(body):
    for m in reversed(body.get("messages") or []):
        if isinstance(m, dict) and m.get("role") == "tool":
            try:
                return str(json.loads(m["content"]).get("id", ""))
            except (ValueError, AttributeError):
                return ""
    return ""


def substitute(v, last_id):
    if isinstance(v, str):
        return v.replace("$LAST_ID", last_id)
    if isinstance(v, dict):
        return {k: substitute(x, last_id) for k, x in v.items()}
    if isinstance(v, list):
        return [substitute(x, last_id) for x in v]
    return v


def completion(message, finish):
    return {"id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()),
            "model": "standin", "choices": [{"index": 0, "message": message,
                                             "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        with LOCK:
            if self.path == "/standin/requests":
                return self.send(200, STATE["requests"])
            if self.path == "/standin/violations":
                return self.send(200, STATE["violations"])
        self.send(404, {"error": {"message": "not found", "type": "invalid_request_error",
                                  "code": None}})

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/standin/script":
            with LOCK:
                STATE["script"] = json.loads(raw)
            return self.send(200, {})
        if self.path == "/standin/reset":
            with LOCK:
                STATE.update(script=[], requests=[], violations=[])
            return self.send(200, {})
        if self.path != "/v1/chat/completions":
            return self.send(404, {"error": {"message": "unknown path", "type":
                                             "invalid_request_error", "code": None}})
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        problems = ["body is not JSON"] if body is None else check(body)
        if headers.get("content-type", "").split(";")[0] != "application/json":
            problems.append("Content-Type must be application/json")
        with LOCK:
            STATE["requests"].append({"headers": headers, "body": body})
            if problems:
                STATE["violations"].extend(problems)
            step = STATE["script"].pop(0) if STATE["script"] and not problems else None
        if problems:
            return self.send(400, {"error": {"message": "; ".join(problems),
                                             "type": "invalid_request_error", "code": None}})
        if step is None:
            return self.send(200, completion({"role": "assistant", "content": "(no script)"},
                                             "stop"))
        if step.get("delay_s"):
            time.sleep(step["delay_s"])
        if "tool_calls" in step:
            calls = substitute(step["tool_calls"], last_tool_id(body))
            msg = {"role": "assistant", "content": step.get("text"), "tool_calls": calls}
            return self.send(200, completion(msg, "tool_calls"))
        if "content" in step:
            return self.send(200, completion({"role": "assistant", "content": step["content"]},
                                             "stop"))
        return self.send(step.get("status", 200), step.get("body", {}), step.get("headers"))


def main():
    port = int(sys.argv[1])
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    print("ready", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
