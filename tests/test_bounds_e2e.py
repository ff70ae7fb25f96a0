"""Bounds and backoff end to end, with the real CLI and sites of our own on 127.0.0.1.

A page that claims a million pages, a crawl stopped by SIGINT/SIGTERM or by its time and
memory limits, a site down for a while (HTTP 503 or dropped connections) and back, a dead
site that spends its retry budget, and pages that failed in one run retried first by the
next.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.store import open_store
from tests.conftest import ONE_HOTEL, ROOT, run_vocwatch

PER_PAGE = 10


def config(tmp_path: Path, url: str, crawl: str = "", kind: str = "mall_comments", source: str = "") -> Path:
    """A config of one source at ``url``; ``crawl`` adds lines to ``[crawl]``."""
    cfg = tmp_path / "v.toml"
    cfg.write_text(f"""
[store]
url = "sqlite:///{tmp_path}/v.db"

[crawl]
delay = 0
timeout = 5
{crawl}
""" + ONE_HOTEL + f"""
[[sources]]
id = "s"
location = "harbor-sh-bund"
kind = "{kind}"
url = "{url}"
{source}
""", encoding="utf-8")
    return cfg


def mall_body(page: int, max_page: int) -> bytes:
    comments = [{"id": page * 1000 + i, "content": f"page {page} review {i}: the room was clean", "nickname": f"u{i}",
                 "score": 4, "creationTime": "2026-11-20 10:00:00"} for i in range(PER_PAGE)]
    return json.dumps({"maxPage": max_page, "comments": comments}).encode()


def page_of(path: str) -> int:
    return int(parse_qs(urlsplit(path).query).get("page", ["1"])[0])


@contextmanager
def site(handle: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[tuple[str, list[str]]]:
    """A threaded HTTP server on 127.0.0.1 whose ``handle(request_handler)`` answers each GET
    (robots.txt is answered 404 here); yields its base URL and the paths asked for."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/robots.txt":
                self.send_error(404)
                return
            hits.append(self.path)
            with contextlib.suppress(OSError):  # the crawler hung up (stopped mid-request)
                handle(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", ctype: str = "application/json") -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def million_pages(delay: float = 0.0) -> Callable[[BaseHTTPRequestHandler], None]:
    """Every page of a product-comment API that claims 1,000,000 pages, answered after ``delay`` s."""
    def handle(h: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        send(h, 200, mall_body(page_of(h.path), 1_000_000))
    return handle


def only_run(tmp_path: Path) -> Any:
    runs = open_store(f"sqlite:///{tmp_path}/v.db").list_runs(source_id="s")
    assert len(runs) == 1, runs
    return runs[0]


# -- pages per run ------------------------------------------------------------------

def test_a_claimed_million_pages_is_capped_by_max_pages(tmp_path: Path) -> None:
    with site(million_pages()) as (url, hits):
        proc = run_vocwatch("crawl", "-c", str(config(tmp_path, f"{url}/api/comments", "max_pages = 25")), "-q",
                            timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = only_run(tmp_path)
    assert run.outcome == "finished"
    assert len(hits) == run.stats["vocwatch/pages/read"] == 25
    assert sorted(page_of(p) for p in hits) == list(range(1, 26))
    assert run.stats["vocwatch/bounds/page_count_capped"] == 1
    assert run.stats["vocwatch/bounds/max_pages_reached"] == 1
    assert run.stats["vocwatch/store/inserted"] == 25 * PER_PAGE
    assert run.stats["vocwatch/memory/peak_rss"] < 600 * 2**20  # the crawl's own peak (memusage/max is inherited)
    assert "the page claims 1000000 pages; reading at most max_pages=25" in proc.stderr


def test_source_max_pages_overrides_the_crawl_default(tmp_path: Path) -> None:
    with site(million_pages()) as (url, hits):
        cfg = config(tmp_path, f"{url}/api/comments", "max_pages = 25", source="max_pages = 3")
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(hits) == only_run(tmp_path).stats["vocwatch/pages/read"] == 3


def test_max_pages_bounds_a_rel_next_chain(tmp_path: Path) -> None:
    """A spider that follows one next link at a time stops at the bound too, and says so."""
    def handle(h: BaseHTTPRequestHandler) -> None:
        n = page_of(h.path)
        reviews = ",".join(json.dumps({"@type": "Review", "identifier": f"{n}-{i}", "author": {"name": f"a{n}-{i}"},
                                       "datePublished": "2026-11-20",
                                       "reviewBody": f"page {n} review {i}", "reviewRating": {"ratingValue": 4}})
                           for i in range(3))
        body = (f'<html><head><script type="application/ld+json">'
                f'{{"@context": "https://schema.org", "@type": "Hotel", "name": "H", "review": [{reviews}]}}'
                f'</script></head><body><a rel="next" href="/hotel?page={n + 1}">next</a></body></html>')
        send(h, 200, body.encode(), "text/html; charset=utf-8")

    with site(handle) as (url, hits):
        cfg = config(tmp_path, f"{url}/hotel?page=1", "max_pages = 7", kind="hotel_reviews")
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = only_run(tmp_path)
    assert len(hits) == run.stats["vocwatch/pages/read"] == 7
    assert run.stats["vocwatch/bounds/max_pages_reached"] == 1
    assert run.stats["vocwatch/store/inserted"] == 21


# -- SIGINT / SIGTERM, time and memory limits ----------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_a_million_page_crawl_within_seconds(tmp_path: Path, sig: int) -> None:
    url_db = f"sqlite:///{tmp_path}/v.db"
    with site(million_pages(delay=0.2)) as (url, hits):
        # the [crawl] max_pages default (500) applies: nothing here sets it
        cfg = config(tmp_path, f"{url}/api/comments", "concurrency_per_site = 2")
        proc = start_crawl(cfg, tmp_path / "crawl.log")
        try:
            store = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
                if (tmp_path / "v.db").exists():
                    store = store or open_store(url_db)
                    if store.count_mentions() > 0:  # the first batch is stored: stop mid-crawl
                        break
            assert store is not None and proc.poll() is None, "crawl ended before it could be stopped"
            proc.send_signal(sig)
            stopped = time.monotonic()
            proc.wait(timeout=30)
            took = time.monotonic() - stopped
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        hits_at_exit = len(hits)
    err = (tmp_path / "crawl.log").read_text()
    print(f"{signal.Signals(sig).name}: exited {took:.1f}s after the signal, {hits_at_exit} pages requested")
    run = only_run(tmp_path)
    assert run.outcome == "interrupted", err[-3000:]
    assert run.stats["vocwatch/close_reason"] == "shutdown"
    read = run.stats["vocwatch/pages/read"]
    assert read < 500  # stopped mid-crawl
    assert hits_at_exit <= read + 2 * 2  # queued lazily: at most a window (2 x concurrency) beyond what was read
    # every mention read was stored before the process exited (the store flushed on close)
    assert store.count_mentions(source_id="s") == run.stats["vocwatch/store/inserted"] == read * PER_PAGE
    assert run.stats["vocwatch/memory/peak_rss"] < 600 * 2**20  # the crawl's own peak (memusage/max is inherited)
    # an interrupted run does not move the incremental cut-off
    assert store.last_successful_run("s") is None


def start_crawl(cfg: Path, log: Path) -> subprocess.Popen[str]:
    # output to a file, not a pipe: a child process left behind must not keep the test waiting
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "vocwatch", "crawl", "-c", str(cfg), "-q"], cwd=ROOT,
                                env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT, text=True)


def test_sigint_cuts_a_retry_backoff_short(tmp_path: Path) -> None:
    """Page 1 answers, every other page is 503: requests wait in growing backoffs (default
    1 s base: 4-8 s by the fourth retry). SIGINT then ends the crawl without serving them."""
    asked: dict[int, int] = {}

    def handle(h: BaseHTTPRequestHandler) -> None:
        n = page_of(h.path)
        asked[n] = asked.get(n, 0) + 1
        if n == 1:
            send(h, 200, mall_body(1, 50))
        else:
            send(h, 503, b"busy", "text/plain")

    with site(handle) as (url, _):
        proc = start_crawl(config(tmp_path, f"{url}/api/comments"), tmp_path / "crawl.log")
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None and asked.get(2, 0) < 5:
                time.sleep(0.1)
            assert proc.poll() is None, "crawl ended before it could be stopped"
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    run = only_run(tmp_path)
    assert run.outcome == "interrupted", (tmp_path / "crawl.log").read_text()[-3000:]
    assert run.stats["vocwatch/interrupted/waits_cut"] >= 1
    assert run.stats["vocwatch/store/inserted"] == PER_PAGE  # page 1 stored


def test_time_limit_closes_the_crawl_as_partial(tmp_path: Path) -> None:
    with site(million_pages(delay=0.2)) as (url, _):
        proc = run_vocwatch("crawl", "-c", str(config(tmp_path, f"{url}/api/comments", "time_limit = 4")), "-q",
                            timeout=60)
    run = only_run(tmp_path)
    assert run.outcome == "partial", proc.stderr[-3000:]
    assert run.stats["vocwatch/close_reason"] == "closespider_timeout"
    assert 0 < run.stats["vocwatch/pages/read"] < 500
    assert run.stats["vocwatch/store/inserted"] == run.stats["vocwatch/pages/read"] * PER_PAGE


def test_memory_limit_closes_the_crawl_as_partial(tmp_path: Path) -> None:
    with site(million_pages(delay=0.2)) as (url, _):
        # a limit below what any Python process needs: reached at the first check
        proc = run_vocwatch("crawl", "-c", str(config(tmp_path, f"{url}/api/comments", "memory_limit_mb = 10")), "-q",
                            timeout=60)
    run = only_run(tmp_path)
    assert run.outcome == "partial", proc.stderr[-3000:]
    assert run.stats["vocwatch/close_reason"] == "memusage_exceeded"
    assert run.stats["memusage/limit_reached"] == 1


# -- backoff that outlasts an outage ------------------------------------------------

class Outage:
    """A three-page product-comment API that is down for its first ``seconds`` (by its own
    clock, from the first request): it answers 503, or ``drop``s the connection unanswered."""

    def __init__(self, seconds: float, drop: bool = False) -> None:
        self.seconds, self.drop = seconds, drop
        self.first: float | None = None
        self.failed = 0

    def __call__(self, h: BaseHTTPRequestHandler) -> None:
        now = time.monotonic()
        self.first = self.first or now
        if now - self.first < self.seconds:
            self.failed += 1
            if self.drop:
                h.close_connection = True
                h.connection.shutdown(2)
                return
            send(h, 503, b"down for maintenance", "text/plain")
            return
        send(h, 200, mall_body(page_of(h.path), 3))


@pytest.mark.parametrize("drop", [False, True], ids=["http-503", "connection-dropped"])
def test_backoff_outlasts_an_outage_and_every_review_is_stored(tmp_path: Path, drop: bool) -> None:
    """Default backoff (1 s base): waits of 0.5-1, 1-2, 2-4 s outlast a 3 s outage; Scrapy's
    immediate retries (4 tries within milliseconds) did not."""
    outage = Outage(3.0, drop)
    with site(outage) as (url, _):
        proc = run_vocwatch("crawl", "-c", str(config(tmp_path, f"{url}/api/comments")), "-q", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = only_run(tmp_path)
    assert outage.failed >= 2  # it was down, and was asked during the outage
    assert run.stats.get("vocwatch/store/inserted") == 3 * PER_PAGE, run.stats
    assert not any(k.startswith("vocwatch/dropped/page_") for k in run.stats)
    assert run.outcome == "finished"
    assert run.stats["vocwatch/retry/backoff_waits"] >= 2


def test_a_dead_site_spends_its_retry_budget_and_fails_fast(tmp_path: Path) -> None:
    """Page 1 answers, then the site dies: once it has been failing for ``retry_budget`` s,
    its requests are not retried any more; the pages that failed are kept with the run."""
    def handle(h: BaseHTTPRequestHandler) -> None:
        if page_of(h.path) == 1:
            send(h, 200, mall_body(1, 12))
        else:
            send(h, 503, b"gone", "text/plain")

    crawl = "retry_backoff = 0.05\nretry_backoff_max = 0.2\nretry_budget = 1"
    with site(handle) as (url, hits):
        proc = run_vocwatch("crawl", "-c", str(config(tmp_path, f"{url}/api/comments", crawl)), "-q", timeout=120)
    run = only_run(tmp_path)
    assert run.outcome == "partial", proc.stderr[-3000:]
    exhausted = run.stats["vocwatch/dropped/page_retry_budget_exhausted"]
    assert exhausted > 0
    assert exhausted + run.stats.get("vocwatch/dropped/page_http_503", 0) == 11  # pages 2-12, each counted once
    assert len(hits) < 1 + 11 * 9  # fewer than every page's 8 retries
    failed = run.stats["vocwatch/failed_requests"]
    assert sorted(f["cb_kwargs"]["page"] for f in failed) == list(range(2, 13))
    assert {f["callback"] for f in failed} == {"parse"}
    assert "failing for" in proc.stderr and "retry budget" in proc.stderr


# -- failed pages retried first by the next run ---------------------------------------

def test_pages_that_failed_are_requested_first_by_the_next_run(tmp_path: Path) -> None:
    state = {"run": 1}

    def handle(h: BaseHTTPRequestHandler) -> None:
        n = page_of(h.path)
        if state["run"] == 1 and n in (3, 5):
            send(h, 500, b"oops", "text/plain")
        else:
            send(h, 200, mall_body(n, 6))

    with site(handle) as (url, hits):
        cfg = config(tmp_path, f"{url}/api/comments", "retries = 0")
        first = run_vocwatch("crawl", "-c", str(cfg), "-q", timeout=120)
        run1_hits = len(hits)
        state["run"] = 2
        second = run_vocwatch("crawl", "-c", str(cfg), "-q", timeout=120)
    assert first.returncode == 3 and second.returncode == 0, second.stderr[-3000:]  # partial, then clean
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    run2, run1 = store.list_runs(source_id="s")
    assert run1.outcome == "partial" and run1.stats["vocwatch/dropped/page_http_500"] == 2
    assert [(f["url"].split("?")[1], f["reason"]) for f in run1.stats["vocwatch/failed_requests"]] == [
        ("page=3&pageSize=10", "page_http_500"), ("page=5&pageSize=10", "page_http_500")]
    second_run = hits[run1_hits:]
    assert sorted(page_of(p) for p in second_run[:2]) == [3, 5]  # the failed pages first, then the seed
    assert page_of(second_run[2]) == 1
    assert run2.stats["vocwatch/retried_from_last_run"] == 2
    assert run2.outcome == "finished"
    assert store.count_mentions(source_id="s") == 6 * PER_PAGE


def test_a_page_gone_for_good_is_carried_over_three_runs_only(tmp_path: Path) -> None:
    def handle(h: BaseHTTPRequestHandler) -> None:
        n = page_of(h.path)
        send(h, 404, b"gone", "text/plain") if n == 2 else send(h, 200, mall_body(n, 3))

    with site(handle) as (url, hits):
        cfg = config(tmp_path, f"{url}/api/comments", "retries = 0")
        for _ in range(4):
            assert run_vocwatch("crawl", "-c", str(cfg), "-q", timeout=120).returncode == 3  # partial: a 404
    runs = list(reversed(open_store(f"sqlite:///{tmp_path}/v.db").list_runs(source_id="s")))
    assert [[f["runs"] for f in r.stats.get("vocwatch/failed_requests", [])] for r in runs] == [[1], [2], [3], []]
    assert runs[3].stats["vocwatch/failed_requests_given_up"] == 1
    assert [r.stats.get("vocwatch/retried_from_last_run") for r in runs] == [None, 1, 1, 1]
    assert sum(page_of(p) == 2 for p in hits) == 4  # asked once per run: first, then filtered as a duplicate
