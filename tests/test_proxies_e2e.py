"""Proxy pools end to end: the real CLI crawling a local review site through real proxies
(Debian's tinyproxy on 127.0.0.1, ``tests/proxy_server.py``), one of them with a password.

Every proxy connects from 127.0.0.1, so each adds its own ``X-Proxy-Id`` header and the
site bans by that header: after ``BAN_AFTER`` requests through proxy ``tp1`` it answers 403 to it (the pool calls
it ``p1``: pool names follow the order of ``proxies.txt``).
A fourth pool entry is a closed port (a dead proxy). The crawl must finish through the
other proxies with every review stored once, p1 cooled down and reported in the run's
per-proxy health, the dead one skipped, and no credential anywhere in its output."""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.render import browser_problem
from tests.conftest import ONE_HOTEL, crawl_head, run_vocwatch, runs_by_source
from tests.proxy_server import ProxyServer, require_tinyproxy
from tests.redis_server import free_port
from vocwatch.sandbox.generate import generate
from vocwatch.sandbox.render import hotel_page

PASSWORD = "tiny-Proxy-pw-5150"
USER = "crawler"
HOTEL = "h1001"
BAN_AFTER = 1
CHROMIUM = "/usr/bin/chromium"


class BanningSite:
    """The sandbox's hotel review pages; bans a proxy (by ``X-Proxy-Id``) after ``ban_after`` pages."""

    def __init__(self, ban: dict[str, int]) -> None:
        self.hotel = generate(7, datetime(2026, 11, 1, tzinfo=UTC)).hotels[HOTEL]
        self.ban = ban
        self.hits: list[tuple[str, str]] = []
        """(X-Proxy-Id or "direct", path) per request, in order."""
        self.lock = threading.Lock()

    def respond(self, proxy_id: str, path: str) -> tuple[int, bytes]:
        with self.lock:
            self.hits.append((proxy_id, path))
            served = sum(1 for p, _ in self.hits if p == proxy_id)
        if proxy_id in self.ban and served > self.ban[proxy_id]:
            return 403, b"<html><head><title>403 Forbidden</title></head><body>banned</body></html>"
        parts = urlsplit(path)
        if parts.path != f"/hotels/{HOTEL}/reviews":
            return 404, b"not here"
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        html = hotel_page(self.hotel, page)
        return (200, html.encode()) if html else (404, b"no such page")

    def serve(self) -> Iterator[str]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = site.respond(self.headers.get("X-Proxy-Id") or "direct", self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def proxies(tmp_path: Path) -> Iterator[list[ProxyServer]]:
    require_tinyproxy()
    servers = [ProxyServer(tmp_path / "proxies", "tp1"),
               ProxyServer(tmp_path / "proxies", "tp2", user=USER, password=PASSWORD),
               ProxyServer(tmp_path / "proxies", "tp3")]
    for s in servers:
        s.start()
    yield servers
    for s in servers:
        s.stop()


def secrets_dir(tmp_path: Path, urls: list[str]) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    (folder / "proxies.txt").write_text("# the pool\n" + "\n".join(urls) + "\n", encoding="utf-8")
    (folder / "proxies.txt").chmod(0o600)
    return folder


def write_config(tmp_path: Path, base: str, *, choice: str, rotation: str = "per_request", render: str = "http") -> Path:
    path = tmp_path / "vocwatch.toml"
    head = crawl_head(timeout=10, extra=f'proxies = "secrets"\nproxy_rotation = "{rotation}"\n'
                      f'chromium_path = "{CHROMIUM}"\nbrowser_max_pages = 1')
    path.write_text(head.format(db=tmp_path / "s.db") + f"""
[sessions.stayadvisor]
proxies = "{choice}"
{ONE_HOTEL}
[[sources]]
id = "harbor/reviews"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{base}/hotels/{HOTEL}/reviews"
render = "{render}"
""", encoding="utf-8")
    return path


def crawl(tmp_path: Path, cfg: Path, secrets: Path) -> tuple[Any, dict[str, Any], str]:
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q", "--log-level", "DEBUG",
                        env={"VOCWATCH_SECRETS_DIR": str(secrets)}, timeout=240)
    runs = runs_by_source(f"sqlite:///{tmp_path / 's.db'}")["harbor/reviews"]
    return proc, runs[-1].stats, proc.stdout + proc.stderr


def stored_reviews(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "s.db") as db:
        return [r[0] for r in db.execute("SELECT external_id FROM mentions WHERE source_id = 'harbor/reviews'")]


def assert_no_credentials(tmp_path: Path, output: str, stats: dict[str, Any]) -> None:
    header = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    stored = json.dumps(stats) + "".join(str(r) for r in sqlite3.connect(tmp_path / "s.db").execute(
        "SELECT * FROM crawl_runs"))
    for text in (output, stored):
        assert PASSWORD not in text and header not in text


def test_crawl_survives_a_ban_and_a_dead_proxy(tmp_path: Path, proxies: list[ProxyServer]) -> None:
    site = BanningSite({"tp1": BAN_AFTER})
    dead = f"http://127.0.0.1:{free_port()}"
    secrets = secrets_dir(tmp_path, [proxies[0].url, dead, proxies[1].url, proxies[2].url])
    for base in site.serve():
        proc, stats, output = crawl(tmp_path, write_config(tmp_path, base, choice="always"), secrets)
    assert proc.returncode == 0, output[-3000:]
    reviews = stored_reviews(tmp_path)
    assert len(reviews) == len(site.hotel.reviews) == len(set(reviews))  # every review, once
    by_proxy = Counter(p for p, _ in site.hits)
    assert by_proxy["direct"] == 0 and by_proxy["tp2"] > 0 and by_proxy["tp3"] > 0
    assert stats["vocwatch/proxy/p1/bans"] >= 1 and stats["vocwatch/proxy/p1/cooldowns"] >= 1
    assert stats["vocwatch/proxy/p2/errors"] >= 1  # the dead one (named p2: second in the file)
    assert stats["vocwatch/proxy/p2/address"] == dead.removeprefix("http://")
    assert stats.get("vocwatch/proxy/p3/responses", 0) > 0 and "vocwatch/proxy/p3/latency_ms_avg" in stats
    assert stats["vocwatch/proxy/rotated"] >= 2
    assert stats["vocwatch/balance/unaccounted"] == 0 and not stats.get("vocwatch/blocked/http_403")
    assert_no_credentials(tmp_path, output, stats)


def test_never_sites_fetch_directly(tmp_path: Path, proxies: list[ProxyServer]) -> None:
    site = BanningSite({})
    secrets = secrets_dir(tmp_path, [p.url for p in proxies])
    for base in site.serve():
        proc, stats, output = crawl(tmp_path, write_config(tmp_path, base, choice="never"), secrets)
    assert proc.returncode == 0, output[-3000:]
    assert {p for p, _ in site.hits} == {"direct"}
    assert len(stored_reviews(tmp_path)) == len(site.hotel.reviews)
    assert stats["vocwatch/proxy/direct"] >= 1


def test_always_site_with_every_proxy_banned_stops_partial(tmp_path: Path, proxies: list[ProxyServer]) -> None:
    site = BanningSite({p.proxy_id: 0 for p in proxies})
    secrets = secrets_dir(tmp_path, [p.url for p in proxies])
    for base in site.serve():
        proc, stats, output = crawl(tmp_path, write_config(tmp_path, base, choice="always"), secrets)
    assert proc.returncode != 0  # the run did not finish cleanly
    assert {p for p, _ in site.hits} <= {"tp1", "tp2", "tp3"}  # never directly
    assert all(stats[f"vocwatch/proxy/p{i}/cooldowns"] == 1 for i in (1, 2, 3))
    assert stats["vocwatch/dropped/page_no_proxy"] == 1  # the first page, not fetched directly
    run = runs_by_source(f"sqlite:///{tmp_path / 's.db'}")["harbor/reviews"][-1]
    assert run.outcome in ("partial", "failed") and "page_no_proxy" in output
    assert_no_credentials(tmp_path, output, stats)


def test_sticky_rotation_keeps_one_proxy_until_it_is_banned(tmp_path: Path, proxies: list[ProxyServer]) -> None:
    site = BanningSite({"tp1": 2})
    secrets = secrets_dir(tmp_path, [p.url for p in proxies])
    for base in site.serve():
        proc, stats, output = crawl(tmp_path, write_config(tmp_path, base, choice="auto", rotation="sticky"), secrets)
    assert proc.returncode == 0, output[-3000:]
    order = [p for p, _ in site.hits]
    assert order[:3] == ["tp1"] * 3  # robots.txt and page 1 through p1, then its ban ...
    assert len(set(order[3:])) == 1 and order[3] != "tp1"  # ... and one other proxy for the rest
    assert len(stored_reviews(tmp_path)) == len(site.hotel.reviews)
    assert stats["vocwatch/proxy/p1/bans"] == 1 and stats["vocwatch/proxy/rotated"] == 1


@pytest.mark.skipif(browser_problem(CHROMIUM) is not None, reason=f"needs Chromium: {browser_problem(CHROMIUM)}")
def test_browser_rendered_source_goes_through_the_password_proxy(tmp_path: Path, proxies: list[ProxyServer]) -> None:
    site = BanningSite({})
    secrets = secrets_dir(tmp_path, [proxies[1].url])
    for base in site.serve():
        proc, stats, output = crawl(tmp_path, write_config(tmp_path, base, choice="always", render="browser"),
                                    secrets)
    assert proc.returncode == 0, output[-3000:]
    assert {p for p, _ in site.hits} == {"tp2"}  # the page and robots.txt, all through the proxy
    assert len(stored_reviews(tmp_path)) == len(site.hotel.reviews)
    assert stats["vocwatch/render/pages_opened"] >= 1
    assert_no_credentials(tmp_path, output, stats)
