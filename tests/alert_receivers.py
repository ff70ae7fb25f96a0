"""Real receivers for delivery tests: an SMTP server and an HTTP webhook on 127.0.0.1, plus
a minimal alert with the attributes ``monitor.delivery`` reads (the real one lives in
``monitor.alerting``; delivery depends only on these attributes)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = 'Awful <script>alert("pwned")</script> room & <img src=x onerror=alert(1)>'


@dataclass(frozen=True)
class Alert:
    id: str = "a1"
    kind: str = "negative_spike"
    severity: str = "warning"
    state: str = "open"
    location_id: str | None = "harbor-sh-bund"
    brand: str | None = "harbor"
    region: str | None = "shanghai"
    aspect: str | None = "cleanliness"
    title: str = "Negative mentions up at Harbor Bund"
    summary: str = f"9 negative mentions in 24 h (usual 2). Worst: {HOSTILE}"
    details: dict[str, Any] = field(default_factory=lambda: {"negative": 9, "baseline": 2.0})
    mentions: list[dict[str, Any]] = field(default_factory=lambda: [
        {"url": "https://reviews.example/r/1?a=1&b=2", "text": HOSTILE, "published_at": T0.isoformat(),
         "engagement": 30, "source_id": "harbor-sh-bund/hotel_reviews", "why": "negative"},
        {"url": "javascript:alert(2)", "text": "second", "published_at": T0.isoformat(),
         "engagement": 1, "source_id": "harbor-sh-bund/forum", "why": "negative"},
    ])
    first_seen: datetime = T0
    last_seen: datetime = T0
    version: int = 1
    notified_version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.received = threading.Event()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        self.received.set()
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[int, _Mailbox]]:
    """An SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""
    from aiosmtpd.controller import Controller

    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


class Webhook:
    """An HTTP receiver that answers with the queued status codes (then 200) and keeps requests."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
