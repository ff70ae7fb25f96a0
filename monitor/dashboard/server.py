"""``vocwatch serve``: the managers' dashboard page and the JSON API behind it.

Standard library only (``ThreadingHTTPServer``): the dashboard is a handful of GET
endpoints over :mod:`monitor.metrics`, so a web framework would add weight, not safety.
Every request is authenticated (Bearer token, or the session cookie the login form sets)
and every location in a URL is checked against the token's scope before the store is read.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
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
from urllib.parse import parse_qs, unquote, urlsplit

from config import Config, Location
from crawlers.store import Store
from monitor.dashboard.auth import Scope, TokenFile, TokenRecord
from monitor.metrics import benchmark, parse_window, trend

logger = logging.getLogger(__name__)

SESSION_COOKIE = "vocwatch_session"
SESSION_SECONDS = 12 * 3600
MAX_NEGATIVE = 100
MAX_FORM_BYTES = 4096
_STATIC = files("monitor.dashboard") / "static"
_ROUTE = re.compile(r"/api/locations/([^/]+)/(benchmark|trend|negative)")


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


class HTTPError(Exception):
    """An API refusal: status and a message that is safe to show."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Sessions:
    """Browser sessions: a random id in an HttpOnly cookie maps to the token's hash, so the
    token itself is never stored in the browser and a revoked token ends its sessions."""

    def __init__(self, ttl: float = SESSION_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[str, float]] = {}

    def open(self, token_sha256: str) -> str:
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._by_id = {k: v for k, v in self._by_id.items() if v[1] > now}
            self._by_id[sid] = (token_sha256, now + self.ttl)
        return sid

    def get(self, sid: str) -> str | None:
        with self._lock:
            entry = self._by_id.get(sid)
        return entry[0] if entry and entry[1] > time.monotonic() else None

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
        self.app_js = (_STATIC / "app.js").read_bytes()

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

    def allowed(self, record: TokenRecord) -> dict[str, Location]:
        """The own locations the token sees, by id (a malformed stored scope sees nothing)."""
        try:
            return {loc.id: loc for loc in Scope.parse(record.scope).locations(self.config)}
        except ValueError:
            return {}

    def check_location(self, record: TokenRecord, location_id: str) -> None:
        if location_id not in self.config.locations:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"unknown location {location_id!r}")
        if location_id not in self.allowed(record):
            raise HTTPError(HTTPStatus.FORBIDDEN, f"location {location_id!r} is outside this token's scope")

    # -- API -----------------------------------------------------------------------
    def api(self, record: TokenRecord, path: str, query: dict[str, list[str]]) -> Any:
        if path == "/api/me":
            return {"scope": record.scope, "label": record.label, "locations": len(self.allowed(record)),
                    "admin": self.is_admin(record)}
        if path == "/api/health":
            if not self.is_admin(record):
                raise HTTPError(HTTPStatus.FORBIDDEN, "crawl health is shown to administrators only (scope all)")
            return {"sources": self.health()}
        if path == "/api/locations":
            return {"locations": [_loc(loc) for loc in self.allowed(record).values()]}
        m = _ROUTE.fullmatch(path)
        if not m:
            raise HTTPError(HTTPStatus.NOT_FOUND, f"no such endpoint {path!r}")
        lid, what = unquote(m.group(1)), m.group(2)
        self.check_location(record, lid)
        if what == "benchmark":
            window = _window(query, "90d")
            (b,) = benchmark(self.config, self.store, location_ids=[lid], window=window, now=self.clock())
            return b.to_dict()
        if what == "trend":
            window = _window(query, "365d")
            bucket = _param(query, "bucket", "week")
            if bucket not in ("day", "week", "month"):
                raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad bucket {bucket!r}: use day, week or month")
            points = trend(self.config, self.store, lid, bucket=bucket, window=window, now=self.clock())
            return {"location": lid, "bucket": bucket, "window": window, "points": points}
        window = _window(query, "90d")
        limit = _param(query, "limit", "20")
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_NEGATIVE:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad limit {limit!r}: use a whole number from 1 to {MAX_NEGATIVE}")
        return {"location": lid, "window": window, "mentions": self.negative(lid, window, int(limit))}

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

    def negative(self, location_id: str, window: str, limit: int) -> list[dict[str, Any]]:
        """The latest negative mentions of one location in the window, newest first."""
        now = self.clock()
        since = now - parse_window(window)
        negatives = (m for m in self.store.iter_mentions(location_ids=[location_id], since=since, until=now)
                     if m.sentiment_label == "negative")
        latest = heapq.nlargest(limit, negatives, key=lambda m: (m.published_at, m.fingerprint))
        return [{
            "published_at": m.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if m.published_at else None,
            "site": m.site, "source_id": m.source_id, "kind": m.kind, "title": m.title, "text": m.text,
            "truncated": m.truncated,  # a snippet the site cut: the page shows it marked
            "rating": m.rating, "sentiment_score": m.sentiment_score, "language": m.language,
            "url": m.url if urlsplit(m.url).scheme in ("http", "https") else None,
        } for m in latest]


def _loc(loc: Location) -> dict[str, Any]:
    return {"id": loc.id, "name": loc.name, "brand": loc.brand, "region": loc.region, "category": loc.category}


def _param(query: dict[str, list[str]], name: str, default: str) -> str:
    values = query.get(name)
    return values[-1] if values else default


def _window(query: dict[str, list[str]], default: str) -> str:
    window = _param(query, "window", default)
    try:
        parse_window(window)
    except ValueError as exc:
        raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
    return window


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
        elif url.path == "/static/app.js":
            self._send(HTTPStatus.OK, d.app_js, "text/javascript; charset=utf-8")
        elif url.path.startswith("/api/"):
            record = self._record()
            if record is None:
                self._error(HTTPStatus.UNAUTHORIZED, "missing or invalid token: send 'Authorization: Bearer TOKEN' "
                            "or log in on the dashboard page")
                return
            try:
                data = d.api(record, url.path, parse_qs(url.query))
            except HTTPError as exc:
                self._error(exc.status, exc.message)
                return
            except Exception:
                logger.exception("dashboard API %s failed", url.path)
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the server log")
                return
            self._json(HTTPStatus.OK, data)
        else:
            self._error(HTTPStatus.NOT_FOUND, "not found")

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path not in ("/login", "/logout"):
            self._error(HTTPStatus.NOT_FOUND, "not found")
            return
        if not self._same_origin():
            self._error(HTTPStatus.FORBIDDEN, "cross-origin form post refused")
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


def make_server(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0 picks a free one); call ``serve_forever``."""
    handler = type("DashboardHandler", (Handler,), {"dashboard": dashboard})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
