"""A local fake of the Slack Web API: the calls slack-sdk's chat_postMessage and files_upload_v2
make, in the shapes Slack answers them, on 127.0.0.1.

files_upload_v2 (slack-sdk 3.x) is three steps: POST files.getUploadURLExternal (form: filename,
length) → POST the raw bytes to the returned upload_url (no token) → POST
files.completeUploadExternal (form: files=[{"id","title"}] as JSON, channel_id, thread_ts).
Slack answers errors with HTTP 200 and {"ok": false, "error": ...}; so does the fake.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "xoxb-test-token"
CHANNEL_IDS = {"#finance-recon": "C0FINANCE", "finance-recon": "C0FINANCE"}


@dataclass
class Call:
    """One request the fake received."""

    method: str  # the API method ("chat.postMessage") or "upload"
    headers: dict[str, str]
    body: bytes
    args: dict[str, Any]  # the JSON or form arguments


@dataclass
class FakeSlack:
    url: str = ""
    token: str = TOKEN
    calls: list[Call] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes received
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> metadata
    messages: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # method -> error to answer once
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, method: str, error: str) -> None:
        """Answer the next call of ``method`` with {"ok": false, "error": error}."""
        self.failures[method] = error

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # -- the API ------------------------------------------------------------------------------

    def handle(self, method: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        args = _args(headers, body)
        with self._lock:
            self.calls.append(Call(method, headers, body, args))
            if method == "upload":
                return 200, None
            if error := self.failures.pop(method, None):
                return 200, {"ok": False, "error": error}
            auth = headers.get("authorization", "")
            if not auth:
                return 200, {"ok": False, "error": "not_authed"}
            if auth != f"Bearer {self.token}":
                return 200, {"ok": False, "error": "invalid_auth"}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            if handler is None:
                return 404, {"ok": False, "error": "unknown_method"}
            return 200, handler(args)

    def upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            if file_id not in self.files:
                return 404, "Not Found"
            self.uploads[file_id] = body
            return 200, f"OK - {len(body)}"

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = CHANNEL_IDS.get(args.get("channel", ""), args.get("channel"))
        if not channel or channel.startswith("#"):
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"1700000000.{next(self._ids):06d}"
        message = {"type": "message", "text": args.get("text", ""), "ts": ts}
        if "blocks" in args:
            message["blocks"] = args["blocks"]
        self.messages.append({**message, "channel": channel})
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename"):
            return {"ok": False, "error": "invalid_arguments"}
        try:
            length = int(args["length"])
        except (KeyError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"id": file_id, "name": args["filename"], "length": length}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            wanted = json.loads(args["files"])
        except (KeyError, ValueError):
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in wanted:
            meta = self.files.get(item.get("id", ""))
            if meta is None or item["id"] not in self.uploads:
                return {"ok": False, "error": "file_not_found"}
            if len(self.uploads[item["id"]]) != meta["length"]:
                return {"ok": False, "error": "file_upload_size_mismatch"}
            meta.update(
                title=item.get("title", meta["name"]),
                channel_id=args.get("channel_id"),
                thread_ts=args.get("thread_ts"),
            )
            done.append({"id": meta["id"], "name": meta["name"], "title": meta["title"]})
        return {"ok": True, "files": done}


def _args(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    kind = headers.get("content-type", "")
    if kind.startswith("application/json"):
        return json.loads(body or b"{}")
    if kind.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {}


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path.startswith("/upload/"):
                fake.handle("upload", headers, body)
                status, text = fake.upload(self.path.removeprefix("/upload/"), body)
                self._send(status, "text/plain; charset=utf-8", text.encode())
                return
            method = self.path.split("?", 1)[0].removeprefix("/api/")
            status, payload = fake.handle(method, headers, body)
            self._send(status, "application/json; charset=utf-8", json.dumps(payload).encode())

        def _send(self, status: int, kind: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@contextmanager
def running_fake_slack(token: str = TOKEN) -> Iterator[FakeSlack]:
    """A FakeSlack served on 127.0.0.1 (a free port) for the duration of the block."""
    fake = FakeSlack(token=token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
