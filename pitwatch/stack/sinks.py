"""The notification sink: a local stand-in for what lies outside the machine, Slack's
incoming webhooks and PagerDuty's Events API v2, speaking their real protocols.

``pitwatch sim notify serve`` runs it. Alertmanager posts to it exactly as it would to
Slack and PagerDuty (``slack_api_url_file`` and ``pagerduty_url`` point here), so the demo
and the end-to-end tests see the messages an on-call engineer would see.

- ``POST /slack/<anything>``: a Slack incoming-webhook message → 200 ``ok`` (text/plain).
- ``POST /v2/enqueue``: a PagerDuty event → 202 ``{"status": "success", ...}``; an event
  without what PagerDuty requires → 400 in PagerDuty's shape ("invalid event").
- ``GET /messages[?kind=slack|pagerduty][&limit=N]``: what was received, oldest first.
- ``GET /healthz``.

Every accepted message is kept in memory and appended to ``notifications.jsonl`` in the
run folder. A body that is not JSON gets a 400 problem+json and is itself kept, raw, in
``rejected.jsonl`` and the log: bad input is refused, never lost.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ground.ports import NOTIFY_PORT

log = logging.getLogger(__name__)

MESSAGES_FILE = "notifications.jsonl"
REJECTED_FILE = "rejected.jsonl"
MAX_BODY = 1_000_000  # bytes; Slack's own limit is far lower
PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")
PROBLEM = "application/problem+json"


class Inbox:
    """Received messages, in memory and in a JSONL file (thread-safe)."""

    def __init__(self, run_dir: Path | None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.run_dir = run_dir
        self._lock = threading.Lock()
        if run_dir is not None:
            run_dir.mkdir(parents=True, exist_ok=True)

    def _append(self, name: str, record: dict[str, Any]) -> None:
        if self.run_dir is not None:
            with (self.run_dir / name).open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def add(self, kind: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        record = {
            "seq": 0,
            "at": datetime.now(UTC).isoformat(),
            "kind": kind,
            "path": path,
            "body": body,
        }
        with self._lock:
            record["seq"] = len(self.messages) + 1
            self.messages.append(record)
            self._append(MESSAGES_FILE, record)
        return record

    def reject(self, path: str, raw: bytes, reason: str) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(),
            "path": path,
            "reason": reason,
            "body": raw.decode("utf-8", errors="replace"),
        }
        with self._lock:
            self._append(REJECTED_FILE, record)
        log.warning("rejected POST %s: %s: %.200r", path, reason, record["body"])

    def select(self, kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        with self._lock:
            out = [m for m in self.messages if kind is None or m["kind"] == kind]
        return out[-limit:] if limit else out


def pagerduty_errors(event: dict[str, Any]) -> list[str]:
    """What PagerDuty's Events API v2 would refuse in an event (empty: valid)."""
    errors = []
    if not isinstance(event.get("routing_key"), str) or not event.get("routing_key"):
        errors.append("'routing_key' is missing or blank")
    action = event.get("event_action")
    if action not in PD_ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(PD_ACTIONS)}")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing")
        else:
            for key in ("summary", "source"):
                if not isinstance(payload.get(key), str) or not payload.get(key):
                    errors.append(f"'payload.{key}' is missing or blank")
            if payload.get("severity") not in PD_SEVERITIES:
                errors.append(f"'payload.severity' must be one of {', '.join(PD_SEVERITIES)}")
    elif action in ("acknowledge", "resolve") and not event.get("dedup_key"):
        errors.append(f"'dedup_key' is required to {action}")
    return errors


def _handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pitwatch-notify/1"

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _problem(self, status: int, title: str, detail: str) -> None:
            body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
            self._send(status, body, PROBLEM)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/healthz":
                self._send(200, {"status": "ok", "received": len(inbox.messages)})
            elif url.path == "/messages":
                query = parse_qs(url.query)
                kind = query.get("kind", [None])[0]
                try:
                    limit = int(query.get("limit", ["0"])[0]) or None
                except ValueError:
                    self._problem(400, "Bad Request", "limit: not an integer")
                    return
                self._send(200, {"messages": inbox.select(kind, limit)})
            else:
                self._problem(404, "Not Found", f"no resource {url.path}")

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            if not (path.startswith("/slack/") or path == "/v2/enqueue"):
                self._problem(404, "Not Found", f"POST to /slack/... or /v2/enqueue, not {path}")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._problem(413, "Payload Too Large", f"at most {MAX_BODY} bytes")
                return
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError as exc:
                inbox.reject(path, raw, f"not JSON: {exc}")
                self._problem(400, "Bad Request", f"the body is not JSON: {exc}")
                return
            if not isinstance(body, dict):
                inbox.reject(path, raw, "not a JSON object")
                self._problem(400, "Bad Request", "the body must be a JSON object")
                return
            if path == "/v2/enqueue":
                self._pagerduty(path, raw, body)
            else:
                self._slack(path, raw, body)

        def _slack(self, path: str, raw: bytes, body: dict[str, Any]) -> None:
            if not any(body.get(k) for k in ("text", "attachments", "blocks")):
                inbox.reject(path, raw, "no_text")
                self._send(400, "no_text", "text/plain")  # what Slack answers
                return
            inbox.add("slack", path, body)
            self._send(200, "ok", "text/plain")

        def _pagerduty(self, path: str, raw: bytes, body: dict[str, Any]) -> None:
            errors = pagerduty_errors(body)
            if errors:
                inbox.reject(path, raw, "; ".join(errors))
                answer = {
                    "status": "invalid event",
                    "message": "Event object is invalid",
                    "errors": errors,
                }
                self._send(400, answer)
                return
            dedup = body.get("dedup_key") or uuid.uuid4().hex
            inbox.add("pagerduty", path, body)
            answer = {"status": "success", "message": "Event processed", "dedup_key": dedup}
            self._send(202, answer)

        def log_message(self, format: str, *args: Any) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return Handler


class NotifySink:
    """The sink's HTTP server (port 0 picks a free one); ``start()`` serves in a thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = NOTIFY_PORT, run_dir=None) -> None:
        self.inbox = Inbox(Path(run_dir) if run_dir is not None else None)
        self.server = ThreadingHTTPServer((host, port), _handler(self.inbox))
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.inbox.select()

    def start(self) -> NotifySink:
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> NotifySink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    host: str = "127.0.0.1", port: int = NOTIFY_PORT, run_dir: str | Path = "var/stack"
) -> None:
    """Serve until interrupted (``pitwatch sim notify serve``)."""
    sink = NotifySink(host, port, run_dir)
    print(
        f"notify sink on {sink.url}: Slack webhooks {sink.url}/slack/..., PagerDuty "
        f"{sink.url}/v2/enqueue, received {sink.url}/messages; log {Path(run_dir) / MESSAGES_FILE}",
        flush=True,
    )
    try:
        sink.server.serve_forever()
    finally:
        sink.server.server_close()
