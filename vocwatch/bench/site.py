"""A local product-comment site for crawl throughput: one product with many pages.

Same JSON API as the sandbox mall (``spiders/pages/mall.py`` reads it), no faults, no
delays, pages rendered once up front so the server costs little next to the crawler.
Comment texts cycle through the sandbox's generated reviews (Chinese and English),
each with its own id and date, so the pipeline does real work on every item.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from vocwatch.sandbox import render
from vocwatch.sandbox.generate import MallComment, generate

PATH = "/api/mall/comments"
SKU = "900000001"


def comment_pool(seed: int = 7) -> list[MallComment]:
    """The sandbox's mall comments plus its hotel reviews recast as comments."""
    content = generate(seed, datetime(2026, 1, 1, tzinfo=UTC))
    pool = [c for p in content.mall.values() for c in p.comments]
    template = pool[0]
    for hotel in content.hotels.values():
        for r in hotel.reviews:
            if r.paragraphs:
                pool.append(replace(template, content=" ".join(r.paragraphs), score=r.rating))
    return pool


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A crawler killed mid-request resets its connection: not the site's error."""


class _QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive, no access lines on stderr; :meth:`send` writes a whole response."""

    protocol_version = "HTTP/1.1"

    def send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _LocalSite:
    """A site on a free port of 127.0.0.1, served by threads of this process."""

    _server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self, handler: type[_QuietHandler], thread_name: str) -> None:
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name=thread_name).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class BenchSite(_LocalSite):
    """``BenchSite(comments).start()`` serves ``comments`` comments, 10 per page."""

    def __init__(self, comments: int = 20_000, page_size: int = 10, seed: int = 7) -> None:
        pool = comment_pool(seed)
        newest = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        rows = [render.mall_comment_json(replace(
            pool[i % len(pool)], id=str(10_000_000_000 - i), published=newest - timedelta(minutes=i)))
            for i in range(comments)]
        max_page = math.ceil(comments / page_size)
        self.page_size = page_size
        self.pages: dict[int, bytes] = {}
        for page in range(1, max_page + 1):
            payload: dict[str, Any] = {
                "code": 0, "productId": SKU, "page": page, "maxPage": max_page,
                "summary": {"commentCount": comments},
                "comments": rows[(page - 1) * page_size: page * page_size],
            }
            self.pages[page] = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.comments = comments
        self.hits: list[str] = []
        """Every path requested, in order: the site's access log."""

    @property
    def url(self) -> str:
        """The source URL a ``mall_comments`` source is configured with."""
        return f"{self.origin}{PATH}?productId={SKU}"

    def start(self) -> str:
        site = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                site.hits.append(self.path)  # the access log (list.append is atomic)
                parts = urlsplit(self.path)
                if parts.path == "/robots.txt":
                    self.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                    return
                page = parse_qs(parts.query).get("page", ["1"])[0]
                body = site.pages.get(int(page)) if parts.path == PATH and page.isdigit() else None
                if body is None:
                    self.send(404, b"{}", "application/json")
                else:
                    self.send(200, body, "application/json; charset=utf-8")

        self._serve(Handler, "bench-site")
        return self.url


BENCH_PLACE = """\
[[brands]]
id = "bench"
name = "Bench"

[[locations]]
id = "bench-store"
name = "Bench Store"
brand = "bench"
category = "store"
lat = 31.23
lon = 121.47
region = "bench"
role = "own"
"""
"""The brand and own location the crawl benchmarks' configs put their one source in."""


REVIEW_PATH = "/reviews/{source}/{page}.html"


def review_page_html(source: int, page: int, last_page: int, reviews: list[tuple[str, str, str, int, str, str]]) -> str:
    """One listing page as a review site serves it: site chrome, ``reviews`` (id, author,
    date, rating, title, text) as ``<article class="review">``, and a ``rel=next`` link."""
    from html import escape

    parts = [f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bench Hotel {source}: guest reviews, page {page}</title>
<link rel="stylesheet" href="/static/site.css"></head>
<body><header class="site"><a href="/">Bench Reviews</a>
<nav><a href="/hotels">Hotels</a> <a href="/cities">Cities</a> <a href="/deals">Deals</a> <a href="/help">Help</a></nav>
</header>
<main><h1>Bench Hotel {source}</h1><p class="summary">Guest reviews, newest first. Page {page} of {last_page}.</p>
<section class="reviews">
"""]
    for rid, author, date, rating, title, text in reviews:
        paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())
        parts.append(f"""<article class="review" id="review-{rid}">
  <header><span class="author">{escape(author)}</span> <time class="date">{date}</time>
  <span class="rating" title="rating">{rating}</span></header>
  <h3 class="title">{escape(title)}</h3>
  <div class="body">{paragraphs}</div>
  <footer><a href="/report/{rid}">Report</a> <span class="helpful">Helpful?</span></footer>
</article>
""")
    parts.append("</section>\n<nav class=\"pager\">")
    if page > 1:
        parts.append(f'<a rel="prev" href="{REVIEW_PATH.format(source=source, page=page - 1)}">Previous</a> ')
    if page < last_page:
        parts.append(f'<a rel="next" href="{REVIEW_PATH.format(source=source, page=page + 1)}">Next</a>')
    parts.append("</nav></main>\n<footer class=\"site\"><p>&copy; Bench Reviews. Terms. Privacy.</p></footer>"
                 "</body></html>\n")
    return "".join(parts)


class ReviewSite(_LocalSite):
    """``ReviewSite(pages, sources).start()``: ``sources`` hotels whose reviews are serial
    chains of HTML listing pages (``rel=next``), ``pages`` pages in all, ``per_page``
    reviews a page. Everything is rendered up front, so serving a page is one dict lookup
    and one write; the server runs in threads of the calling process (so its CPU can be
    told apart from the crawler's)."""

    def __init__(self, pages: int = 2000, sources: int = 40, per_page: int = 10, seed: int = 7) -> None:
        pool = comment_pool(seed)
        newest = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        self.sources = sources
        self.per_page = per_page
        self.chain = max(1, math.ceil(pages / sources))
        """Pages per source."""
        self.pages: dict[str, bytes] = {}
        n = 0
        for s in range(1, sources + 1):
            for p in range(1, self.chain + 1):
                reviews = []
                for _ in range(per_page):
                    c = pool[n % len(pool)]
                    title = " ".join(c.content.split()[:6])[:30] or "Review"
                    reviews.append((str(10_000_000 + n), f"{c.nickname} {n % 97}",
                                    f"{newest - timedelta(minutes=n):%Y-%m-%d %H:%M}", c.score, title, c.content))
                    n += 1
                html = review_page_html(s, p, self.chain, reviews)
                self.pages[REVIEW_PATH.format(source=s, page=p)] = html.encode("utf-8")
        self.reviews = n
        self.bytes = sum(len(b) for b in self.pages.values())

    @property
    def base(self) -> str:
        return self.origin

    def start_urls(self) -> list[str]:
        """The first page of each source's chain."""
        return [self.base + REVIEW_PATH.format(source=s, page=1) for s in range(1, self.sources + 1)]

    def start(self) -> str:
        pages = self.pages

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    self.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                elif (found := pages.get(self.path)) is not None:
                    self.send(200, found, "text/html; charset=utf-8")
                else:
                    self.send(404, b"<html><body>not found</body></html>", "text/html")

        self._serve(Handler, "bench-review-site")
        return self.base
