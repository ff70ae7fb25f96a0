"""``vocwatch serve``: the managers' dashboard page and the JSON API behind it.

Standard library only (``ThreadingHTTPServer``): the dashboard is a few dozen small
endpoints over :mod:`monitor.metrics` and the store, so a web framework would add weight,
not safety. Every request is authenticated (Bearer token, or the session cookie the login
form sets); the routes (``monitor/dashboard/api/``) check every location against the
token's scope through :class:`monitor.dashboard.routes.Request`. Writes are JSON POSTs
that carry the session's CSRF token (or a Bearer token, which no other site can send) from
our own origin, and each is recorded in the store's audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlsplit

import monitor.dashboard.api  # noqa: F401  (registers every route)
from config import Config
from crawlers.store import Store
from monitor.dashboard.auth import Scope, TokenFile, TokenRecord
from monitor.dashboard.routes import Download, HTTPError, Request, find

logger = logging.getLogger(__name__)

SESSION_COOKIE = "vocwatch_session"
SESSION_SECONDS = 12 * 3600
MAX_FORM_BYTES = 4096
MAX_JSON_BYTES = 64 * 1024
CSRF_HEADER = "X-CSRF-Token"
_STATIC = files("monitor.dashboard") / "static"
_STATIC_NAME = re.compile(r"[a-z][a-z0-9_-]*\.(js|css|png)")
_STATIC_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8", "png": "image/png"}


def _load_page() -> tuple[bytes, str]:
    """The page and its Content-Security-Policy: the page's one inline ``<style>`` is
    allowed by its hash, scripts only from this origin (``/static/app.js``)."""
    page = (_STATIC / "index.html").read_text(encoding="utf-8")
    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.S)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in styles)
    csp = (f"default-src 'self'; script-src 'self'; style-src 'self' {hashes}; img-src 'self'; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    return page.encode("utf-8"), csp


class Sessions:
    """Browser sessions: a random id in an HttpOnly cookie maps to the token's hash, so the
    token itself is never stored in the browser and a revoked token ends its sessions."""

    def __init__(self, ttl: float = SESSION_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[str, float, str]] = {}

    def open(self, token_sha256: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._by_id = {k: v for k, v in self._by_id.items() if v[1] > now}
            self._by_id[sid] = (token_sha256, now + self.ttl, secrets.token_urlsafe(24))
        return sid

    def get(self, sid: str) -> str | None:
        with self._lock:
            entry = self._by_id.get(sid)
        return entry[0] if entry and entry[1] > time.monotonic() else None

    def csrf(self, sid: str) -> str | None:
        """The session's CSRF token: the page reads it from ``/api/me`` and sends it back in
        ``X-CSRF-Token`` with every write, which a cross-site form cannot do."""
        with self._lock:
            entry = self._by_id.get(sid)
        return entry[2] if entry and entry[1] > time.monotonic() else None

    def close(self, sid: str) -> None:
        with self._lock:
            self._by_id.pop(sid, None)


class Dashboard:
    """What the handler needs: config, store, tokens, sessions and a clock (tests pin it)."""

    def __init__(self, config: Config, store: Store, tokens: TokenFile, *, secure_cookies: bool = False,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config, self.store, self.tokens, self.clock = config, store, tokens, clock
        self.secure_cookies = secure_cookies
        self.sessions = Sessions()
        self.page, self.csp = _load_page()
        self.static = {f.name: f.read_bytes() for f in _STATIC.iterdir() if _STATIC_NAME.fullmatch(f.name)}

    # -- access --------------------------------------------------------------------
    def record_for_session(self, sid: str) -> TokenRecord | None:
        digest = self.sessions.get(sid)
        if digest is None:
            return None
        found = None
        for r in self.tokens.records():
            if hmac.compare_digest(r.sha256, digest):
                found = r
        return found

    def csrf_for(self, req: Request) -> str | None:
        return self.sessions.csrf(req.session_id) if req.session_id else None

    # -- API -----------------------------------------------------------------------
    def call(self, req: Request) -> Any:
        """Run the handler registered for the request's method and path."""
        handler, req.params = find(req.method, req.path)
        return handler(req)

    def is_admin(self, record: TokenRecord) -> bool:
        try:
            return Scope.parse(record.scope).is_admin
        except ValueError:
            return False

    def health(self) -> list[dict[str, Any]]:
        """Each configured source's latest checked run and its crawl-health findings, the
        most severe first (sources with none last). Scraped text never enters a message;
        the page shows every field as text."""
        from monitor.health import latest

        rank = {"critical": 0, "warning": 1, "info": 2}
        rows = []
        for sid, runs in latest(self.store, list(self.config.sources)).items():
            src = self.config.sources[sid]
            loc = self.config.locations[src.location]
            run, findings = runs[0] if runs else (None, [])
            rows.append({
                "source_id": sid, "kind": src.kind, "location": loc.id, "location_name": loc.name,
                "run_id": run.id if run else None, "outcome": run.outcome if run else None,
                "finished_at": run.finished_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                if run and run.finished_at else None,
                "findings": [{"severity": f.severity, "problem": f.problem, "message": f.message} for f in findings],
            })
        return sorted(rows, key=lambda r: (min((rank.get(f["severity"], 3) for f in r["findings"]), default=3)
                                           if r["run_id"] else 4, r["source_id"]))


def _param(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[-1] if values else default


class Handler(BaseHTTPRequestHandler):
    timeout = 30  # a stalled client must not hold a thread for ever
    dashboard: Dashboard  # set on the subclass made by make_server

    def version_string(self) -> str:
        return "vocwatch"  # no Python version for scanners

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s " + format, self.address_string(), *args)

    # -- responses -----------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", self.dashboard.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "same-origin")  # no-referrer would make form posts Origin: null
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _error(self, status: HTTPStatus, message: str) -> None:
        headers = {"WWW-Authenticate": 'Bearer realm="vocwatch"'} if status == HTTPStatus.UNAUTHORIZED else None
        self._json(status, {"error": message, "status": int(status)}, headers)

    def _redirect(self, location: str, cookie: str | None = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8",
                   {"Location": location, **({"Set-Cookie": cookie} if cookie else {})})

    def _cookie(self, value: str, max_age: int) -> str:
        secure = "; Secure" if self.dashboard.secure_cookies else ""
        return f"{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"

    # -- auth ----------------------------------------------------------------------
    def _session_id(self) -> str | None:
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get(SESSION_COOKIE)
        except CookieError:
            return None
        return morsel.value if morsel else None

    def _record(self) -> TokenRecord | None:
        auth = self.headers.get("Authorization", "")
        if auth:
            scheme, _, token = auth.partition(" ")
            return self.dashboard.tokens.find(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        sid = self._session_id()
        return self.dashboard.record_for_session(sid) if sid else None

    def _same_origin(self) -> bool:
        """POSTs (login, logout) only from our own page: SameSite covers the cookie, this the login."""
        origin = self.headers.get("Origin")
        return origin is None or urlsplit(origin).netloc == self.headers.get("Host")

    # -- methods -------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        d = self.dashboard
        if url.path == "/":
            self._send(HTTPStatus.OK, d.page, "text/html; charset=utf-8")
        elif url.path.startswith("/static/") and url.path[8:] in d.static:
            name = url.path[8:]
            self._send(HTTPStatus.OK, d.static[name], _STATIC_TYPES[name.rsplit(".", 1)[1]])
        elif url.path.startswith("/api/"):
            self._api("GET", url.path, parse_qs(url.query), {})
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def _api(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> None:
        """Authenticate, check a write's CSRF token, run the route, answer JSON or a file."""
        d = self.dashboard
        auth = self.headers.get("Authorization", "")
        sid = None if auth else self._session_id()
        record = self._record()
        if record is None:
            self._error(HTTPStatus.UNAUTHORIZED, "missing or invalid token: send 'Authorization: Bearer TOKEN' "
                        "or log in on the dashboard page")
            return
        if method == "POST" and sid is not None:
            expected = d.sessions.csrf(sid)
            sent = self.headers.get(CSRF_HEADER, "")
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                self._error(HTTPStatus.FORBIDDEN, f"missing or wrong {CSRF_HEADER}: reload the page")
                return
        req = Request(dashboard=d, record=record, method=method, path=path, query=query, body=body, session_id=sid)
        try:
            data = d.call(req)
        except HTTPError as exc:
            self._error(exc.status, exc.message)
            return
        except Exception:
            logger.exception("dashboard API %s %s failed", method, path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the server log")
            return
        if isinstance(data, Download):
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", data.filename) or "download"
            self._send(HTTPStatus.OK, data.body, data.content_type,
                       {"Content-Disposition": f'attachment; filename="{safe}"'})
        else:
            self._json(HTTPStatus.OK, data)

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if not self._same_origin():
            self._error(HTTPStatus.FORBIDDEN, "cross-origin post refused")
            return
        if path.startswith("/api/"):
            body = self._json_body()
            if body is not None:
                self._api("POST", path, parse_qs(url.query), body)
            return
        if path not in ("/login", "/logout"):
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        if path == "/logout":
            sid = self._session_id()
            if sid:
                self.dashboard.sessions.close(sid)
            self._redirect("/", self._cookie("", 0))
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._error(HTTPStatus.BAD_REQUEST, "the login form needs a Content-Length")
            return
        if int(length) > MAX_FORM_BYTES:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form too large")
            return
        form = parse_qs(self.rfile.read(int(length)).decode("utf-8", "replace"))
        record = self.dashboard.tokens.find(_param(form, "token", "").strip())
        if record is None:
            self._redirect("/?login=failed")
            return
        sid = self.dashboard.sessions.open(record.sha256)
        self._redirect("/", self._cookie(sid, SESSION_SECONDS))

    def _json_body(self) -> dict[str, Any] | None:
        """The POST's JSON object, or None after answering 400/413/415."""
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._error(HTTPStatus.BAD_REQUEST, "a POST needs a Content-Length")
            return None
        if int(length) > MAX_JSON_BYTES:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
            return None
        if self.headers.get_content_type() != "application/json":
            # a cross-site HTML form can only send form encodings: JSON is one more CSRF guard
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")
            return None
        try:
            body = json.loads(self.rfile.read(int(length)) or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return None
        return body


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 picks a free one); call ``serve_forever``."""
    handler = type("DashboardHandler", (Handler,), {"dashboard": dashboard})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
