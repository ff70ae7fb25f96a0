"""The Sandbox: generated review sites served over real HTTP on 127.0.0.1.

Demo runs and end-to-end tests crawl it like the real web (robots.txt, paging,
rate limits, broken pages, odd encodings), and compare what they extracted with
``Sandbox.truth``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import jspage, render
from .generate import MALL_MALFORMED, MALL_PAGE_SIZE, MALL_RATE_LIMITED, build_truth, generate
from .index import index_page
from .locations import RSS_PATH, WEIBO_KEYWORDS
from .model import RequestRecord, TrueMention

log = logging.getLogger(__name__)

_WEIBO_FAULT_KEYWORD = WEIBO_KEYWORDS["harbor-sh-bund"]
_HTML = "text/html; charset=utf-8"
_JSON = "application/json; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class _Response:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def _text(status: int, message: str) -> _Response:
    return _Response(status, _TEXT, (message + "\n").encode())


def _json(obj: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> _Response:
    return _Response(status, _JSON, json.dumps(obj, ensure_ascii=False).encode(), headers)


_NOT_FOUND = _text(404, "404 Not Found")


def _int_param(params: dict[str, list[str]], name: str, default: int | None) -> int | None:
    """An integer query parameter; raises ValueError when present but not an integer."""
    values = params.get(name)
    if not values or values[0] == "":
        return default
    return int(values[0])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "VocwatchSandbox/1.0"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        sandbox = self.server.sandbox
        try:
            resp = sandbox._dispatch(self.path)
        except Exception:  # a bug in the sandbox must not look like a network failure
            log.exception("sandbox failed on %s", self.path)
            resp = _text(500, "500 Internal Server Error")
        # Record before answering, so a client that just got its response sees the entry.
        sandbox._record(self.path, resp.status)
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(resp.body)))
            for name, value in resp.headers:
                self.send_header(name, value)
            self.end_headers()
            if send_body:
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr lines; request_log is the record."""


class Sandbox:
    """Deterministic fake review sites on an ephemeral 127.0.0.1 port."""

    def __init__(self, seed: int = 7, now: datetime | None = None, *, port: int = 0) -> None:
        """Generate all content up front; ``now`` (aware) anchors every timestamp.
        ``port`` 0 picks a free ephemeral port."""
        self.port = port
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware (UTC)")
        self.seed = seed
        self.now = now.astimezone(UTC)
        self._content = generate(seed, self.now)
        self._truth = build_truth(self._content, None)
        self.request_log: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._rate_limit_armed = True
        self._unavailable_armed = True
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None
        #: Clock for Weibo's relative times; real time like the real site (tests may swap it).
        self._clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        """Serve on an ephemeral port in a daemon thread and return the base URL."""
        if self._server is not None:
            return self.base_url
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.sandbox = self
        self._base_url = f"http://127.0.0.1:{server.server_address[1]}"
        self._truth = build_truth(self._content, self._base_url)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="vocwatch-sandbox", daemon=True)
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Shut the server down; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` while running."""
        if self._server is None or self._base_url is None:
            raise RuntimeError("Sandbox is not running; call start() first")
        return self._base_url

    # ------------------------------------------------------------------ truth
    @property
    def truth(self) -> list[TrueMention]:
        """Every item a correct crawler should extract, across all sources."""
        return list(self._truth)

    def truth_for(self, source_path: str) -> list[TrueMention]:
        """Truth of one source (its seed path, percent-encoded or not), newest first."""
        wanted = unquote(source_path)
        items = [m for m in self._truth if m.source_path == wanted]
        if not items:
            known = sorted({m.source_path for m in self._truth})
            raise KeyError(f"unknown source_path {source_path!r}; known: {known}")
        return sorted(items, key=lambda m: m.published_at, reverse=True)

    def reset_faults(self) -> None:
        """Re-arm the one-shot faults (mall 429, Weibo 503) between crawls."""
        with self._lock:
            self._rate_limit_armed = True
            self._unavailable_armed = True

    def _record(self, path: str, status: int) -> None:
        with self._lock:
            self.request_log.append(RequestRecord(path, status, datetime.now(UTC)))

    def _take_fault(self, name: str) -> bool:
        with self._lock:
            armed = getattr(self, name)
            setattr(self, name, False)
            return armed

    # ------------------------------------------------------------------ routing
    def _dispatch(self, raw_path: str) -> _Response:
        split = urlsplit(raw_path)
        path = unquote(split.path)
        params = parse_qs(split.query, keep_blank_values=True)
        try:
            if path in ("/", "/index.html"):
                return _Response(200, _HTML, index_page(self._content, self._base_url or "").encode())
            if path == "/robots.txt":
                return _Response(200, _TEXT, render.ROBOTS_TXT.encode())
            if m := re.fullmatch(r"/hotels/([A-Za-z0-9]+)/reviews", path):
                return self._hotel(m.group(1), params)
            if m := re.fullmatch(r"/hotels/([A-Za-z0-9]+)/reviews/([A-Za-z0-9-]+)", path):
                return self._item(self._review_page(m.group(1), m.group(2)))
            if m := re.fullmatch(r"/mall/comments/([A-Za-z0-9-]+)", path):
                return self._item(next((html for p in self._content.mall.values()
                                        if (html := render.mall_comment_page(p, m.group(1)))), None))
            if m := re.fullmatch(r"/weibo/status/(\d+)", path):
                post = next((p for f in self._content.weibo.values() for p in f.posts if p.id == m.group(1)), None)
                return self._item(render.weibo_status_page(post) if post else None)
            if path == "/api/mall/comments":
                return self._mall(params)
            if path == "/weibo/api/feed":
                return self._weibo(params)
            if path == "/forum/search":
                return self._forum_search(params)
            if m := re.fullmatch(r"/forum/(private/)?thread/(\d+)", path):
                return self._forum_thread(int(m.group(2)), bool(m.group(1)), params)
            if path == RSS_PATH:
                return self._rss()
            if path == "/blog/":
                return _Response(200, _HTML, render.blog_index(self._content.blog).encode())
            if m := re.fullmatch(r"/blog/posts/([a-z0-9-]+)", path):
                return self._blog_post(m.group(1))
            if path.startswith("/js/"):
                return self._js(path, params)
        except ValueError:
            return _text(400, "400 Bad Request")
        return _NOT_FOUND

    def _hotel(self, hotel_id: str, params: dict[str, list[str]]) -> _Response:
        hotel = self._content.hotels.get(hotel_id)
        page = _int_param(params, "page", 1)
        if hotel is None or page is None:
            return _NOT_FOUND
        html = render.hotel_page(hotel, page)
        return _NOT_FOUND if html is None else _Response(200, _HTML, html.encode())

    def _review_page(self, hotel_id: str, review_id: str) -> str | None:
        hotel = self._content.hotels.get(hotel_id)
        return render.review_page(hotel, review_id) if hotel else None

    @staticmethod
    def _item(html: str | None) -> _Response:
        """An item's own page (a review's, a comment's, a post's: their permalinks), or 404."""
        return _NOT_FOUND if html is None else _Response(200, _HTML, html.encode())

    def _js(self, path: str, params: dict[str, list[str]]) -> _Response:
        """The JavaScript-built hotel pages (``jspage``), their script, JSON and assets, and
        ``/js/stall?seconds=N``, a page that answers only after N seconds (timeouts)."""
        if m := re.fullmatch(r"/js/(api/)?hotels/([A-Za-z0-9]+)/reviews", path):
            hotel = self._content.hotels.get(m.group(2))
            page = _int_param(params, "page", 1)
            if hotel is None or page is None:
                return _NOT_FOUND
            if m.group(1):
                payload = jspage.reviews_json(hotel, page)
                return _NOT_FOUND if payload is None else _json(payload)
            html = jspage.shell(hotel, page)
            return _NOT_FOUND if html is None else _Response(200, _HTML, html.encode())
        if path == jspage.SCRIPT_PATH:
            return _Response(200, "text/javascript; charset=utf-8", jspage.SCRIPT.encode())
        types = {"image": "image/jpeg", "font": "font/woff2", "media": "video/mp4"}
        for kind, asset in jspage.ASSET_PATHS.items():
            if path == asset:
                return _Response(200, types[kind], b"\0" * 1024)
        if path == "/js/stall":
            time.sleep(min(_int_param(params, "seconds", 5) or 0, 60))
            return _Response(200, _HTML, b"<!DOCTYPE html><html><body><p>late</p></body></html>")
        return _NOT_FOUND

    def _mall(self, params: dict[str, list[str]]) -> _Response:
        sku = params.get("productId", [""])[0]
        product = self._content.mall.get(sku)
        if product is None:
            return _json({"code": 404, "message": "商品不存在"}, status=404)
        page = _int_param(params, "page", 1)
        size = _int_param(params, "pageSize", MALL_PAGE_SIZE)
        if page is None or size is None or page < 1 or not 1 <= size <= 100:
            return _json({"code": 400, "message": "参数错误"}, status=400)
        if (sku, page) == MALL_RATE_LIMITED and self._take_fault("_rate_limit_armed"):
            return _json({"code": 429, "message": "请求过于频繁，请稍后再试"}, status=429,
                         headers=(("Retry-After", "1"),))
        payload = render.mall_page(product, page, size)
        if (sku, page) == MALL_MALFORMED:
            return _Response(200, _JSON, render.truncated_json(payload).encode())
        return _json(payload)

    def _weibo(self, params: dict[str, list[str]]) -> _Response:
        keyword = params.get("q", [""])[0]
        max_id = _int_param(params, "max_id", None)
        if (keyword == _WEIBO_FAULT_KEYWORD and max_id is not None
                and self._take_fault("_unavailable_armed")):
            return _json({"ok": 0, "msg": "服务暂时不可用，请稍后再试"}, status=503)
        feed = self._content.weibo.get(keyword)
        return _json(render.weibo_page(feed, max_id, self._clock()))

    def _forum_search(self, params: dict[str, list[str]]) -> _Response:
        keyword = params.get("kw", [""])[0]
        html = render.forum_search(self._content.forum, keyword)
        return _Response(200, "text/html; charset=GBK", render.gbk(html))

    def _forum_thread(self, tid: int, private: bool, params: dict[str, list[str]]) -> _Response:
        forum = self._content.forum
        threads = (forum.private_thread,) if private else forum.threads
        thread = next((t for t in threads if t.tid == tid), None)
        page = _int_param(params, "page", 1)
        if thread is None or page is None:
            return _NOT_FOUND
        html = render.forum_thread(thread, page)
        if html is None:
            return _NOT_FOUND
        content_type = "text/html" if page == 1 and not thread.header_charset else "text/html; charset=GBK"
        return _Response(200, content_type, render.gbk(html))

    def _rss(self) -> _Response:
        xml = render.rss_feed(self._content.blog, self._base_url or "", RSS_PATH)
        return _Response(200, "application/rss+xml; charset=utf-8", xml.encode())

    def _blog_post(self, slug: str) -> _Response:
        post = next((p for p in self._content.blog if p.slug == slug), None)
        if post is None:
            return _NOT_FOUND
        return _Response(200, _HTML, render.blog_post_page(post, self._base_url or "").encode())

