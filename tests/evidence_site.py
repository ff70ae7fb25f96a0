"""A small review site on 127.0.0.1 that misbehaves on purpose, for the evidence tests.

Each "hotel" (a path prefix) has 33 reviews, newest first, 10 per page, all older than
the incremental overlap (so a cut-off wrongly moved to "now" makes later crawls stop at
page 1). A hotel's pages can be made to fail in the ways a real site fails: a 200 with
zero bytes, a document cut off mid-review (with a matching Content-Length), a body shorter
than its Content-Length, a chunked body cut before its last chunk, a redirect loop,
a binary body, or a charset header that lies.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

REVIEWS = 33
PAGE_SIZE = 10
WORDS = ("quiet", "clean", "friendly", "spacious", "noisy", "central", "bright", "cosy", "modern", "tired", "calm")


@dataclass
class Review:
    rid: str
    text: str
    published: datetime


def reviews_for(hotel: str, now: datetime, texts: list[str] | None = None) -> list[Review]:
    """33 reviews, newest first, the newest three days old."""
    out = []
    for i in range(REVIEWS):
        text = texts[i % len(texts)] if texts else (
            f"Stay {i + 1} at {hotel}: the room was {WORDS[i % len(WORDS)]} and the staff were "
            f"{WORDS[(i * 7 + 3) % len(WORDS)]}; breakfast number {i + 1} was worth getting up for.")
        out.append(Review(f"{hotel}-{i + 1}", text, now - timedelta(days=3 + i, hours=i % 5)))
    return out


def page_html(hotel: str, reviews: list[Review], page: int, meta_charset: str | None = "utf-8") -> str:
    chunk = reviews[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    pages = -(-len(reviews) // PAGE_SIZE)
    cards = "".join(
        f'<article class="review" data-review-id="{r.rid}">\n'
        f'  <div class="review-meta"><span class="reviewer">guest {r.rid}</span> '
        f'<time datetime="{r.published.isoformat()}">{r.published:%d %b %Y}</time> '
        f'<span class="score">{8 + len(r.rid) % 3}/10</span></div>\n'
        f'  <div class="review-body"><p>{html.escape(r.text)}</p></div>\n'
        "</article>\n" for r in chunk)
    pager = f'<a rel="next" href="/{hotel}/reviews?page={page + 1}">Next</a>' if page < pages else ""
    meta = f'<meta charset="{meta_charset}">\n' if meta_charset else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n{meta}<title>{hotel} reviews, page {page}</title>\n"
            f"</head>\n<body>\n<main>\n{cards}</main>\n<nav>{pager}</nav>\n</body>\n</html>\n")


@dataclass
class Hotel:
    reviews: list[Review]
    fault: str | None = None
    """What page ``fault_page`` does: empty, cut, short, chunked_cut, loop, self_loop, chain, binary."""
    fault_page: int = 1
    charset_header: str = "utf-8"
    body_encoding: str = "utf-8"
    meta_charset: str | None = "utf-8"


@dataclass
class FaultySite:
    hotels: dict[str, Hotel] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    base_url: str = ""

    def cut_point(self, body: bytes, hotel: Hotel) -> int:
        """Half-way into the text of the fifth review of the page."""
        rid = hotel.reviews[(hotel.fault_page - 1) * PAGE_SIZE + 4]
        start = body.index(html.escape(rid.text).encode(hotel.body_encoding))
        return start + len(rid.text) // 2

    def respond(self, h: BaseHTTPRequestHandler) -> None:
        self.hits.append(h.path)
        parts = urlsplit(h.path)
        name = parts.path.strip("/").split("/")[0]
        hotel = self.hotels.get(name)
        if hotel is None or not parts.path.endswith("/reviews"):
            return _send(h, 404, {"Content-Type": "text/plain"}, b"not here")
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        body = page_html(name, hotel.reviews, page, hotel.meta_charset).encode(hotel.body_encoding)
        headers = {"Content-Type": f"text/html; charset={hotel.charset_header}"}
        fault = hotel.fault if page == hotel.fault_page else None
        if fault == "empty":
            return _send(h, 200, headers, b"")
        if fault == "cut":
            return _send(h, 200, headers, body[: self.cut_point(body, hotel)])
        if fault == "short":  # Content-Length says more than is sent, then the connection closes
            return _send(h, 200, headers, body[: self.cut_point(body, hotel)], length=len(body))
        if fault == "chunked_cut":
            return _send_chunked_cut(h, headers, body[: self.cut_point(body, hotel)])
        if fault == "binary":
            return _send(h, 200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
        if fault in ("loop", "self_loop", "chain"):
            # loop: two URLs redirecting to each other; self_loop: to itself; chain: a new
            # URL every time, until Scrapy's "max redirections reached"
            hop = int(parse_qs(parts.query).get("hop", ["0"])[0])
            target = {"self_loop": parts.path, "loop": f"{parts.path}?hop={(hop + 1) % 2}",
                      "chain": f"{parts.path}?hop={hop + 1}"}[fault]
            return _send(h, 302, {"Location": target, "Content-Type": "text/html"}, b"")
        return _send(h, 200, headers, body)


def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes,
          length: int | None = None) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body) if length is None else length))
    if length is not None:
        h.send_header("Connection", "close")
        h.close_connection = True
    h.end_headers()
    h.wfile.write(body)


def _send_chunked_cut(h: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes) -> None:
    h.protocol_version = "HTTP/1.1"
    h.send_response(200)
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Transfer-Encoding", "chunked")
    h.send_header("Connection", "close")
    h.end_headers()
    for i in range(0, len(body), 1000):
        chunk = body[i: i + 1000]
        h.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    h.wfile.flush()
    h.close_connection = True  # no terminating 0-length chunk: the body is cut off


@contextmanager
def faulty_site(hotels: dict[str, Hotel]) -> Iterator[FaultySite]:
    site = FaultySite(hotels)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.respond(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


PROBE_FAULTS = ("empty", "cut", "short", "chunked_cut", "loop", "self_loop", "binary")


def probe(crawls: int = 3) -> None:
    """The issue's probe, printed: one 33-review source per fault, the first page broken
    on the first crawl only, crawled ``crawls`` times with the real CLI; then what each
    run said and how many reviews were stored.

    ``python -m tests.evidence_site`` (from the repository root)."""
    import json
    import sqlite3
    import tempfile
    from pathlib import Path

    from tests.conftest import ONE_HOTEL, run_vocwatch

    t = now()
    hotels = {name: Hotel(reviews_for(name, t), fault=name) for name in PROBE_FAULTS}
    tmp = Path(tempfile.mkdtemp(prefix="vocwatch-probe-"))
    with faulty_site(hotels) as site:
        cfg = tmp / "vocwatch.toml"
        cfg.write_text(f'[store]\nurl = "sqlite:///{tmp}/probe.db"\n\n[crawl]\ndelay = 0\ntimeout = 5\nretries = 2\n'
                       + ONE_HOTEL + "".join(
                           f'\n[[sources]]\nid = "{name}"\nlocation = "harbor-sh-bund"\nkind = "hotel_reviews"\n'
                           f'url = "{site.base_url}/{name}/reviews"\n' for name in hotels), encoding="utf-8")
        codes = []
        for _ in range(crawls):
            codes.append(run_vocwatch("crawl", "-c", str(cfg), "-q").returncode)
            for hotel in hotels.values():
                hotel.fault = None
    db = sqlite3.connect(tmp / "probe.db")
    counts = dict(db.execute("SELECT source_id, COUNT(*) FROM mentions GROUP BY source_id").fetchall())
    runs: dict[str, list[str]] = {}
    for source_id, outcome, stats in db.execute("SELECT source_id, outcome, stats FROM crawl_runs ORDER BY id"):
        s = json.loads(stats)
        moved = {0: "held", 1: "moved"}.get(s.get("vocwatch/cutoff/advanced"), "moved" if outcome == "finished" else "held")
        runs.setdefault(source_id, []).append(f"{outcome}/{moved}")
    print(f"exit codes: {codes}")
    print(f"{'fault on page 1':<16} {'runs (outcome/cut-off)':<48} stored of {REVIEWS}")
    for name in hotels:
        print(f"{name:<16} {', '.join(runs.get(name, [])):<48} {counts.get(name, 0)}")


if __name__ == "__main__":
    probe()
