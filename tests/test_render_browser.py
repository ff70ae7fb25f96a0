"""JavaScript rendering end to end: the sandbox's script-built hotel pages crawled through
the real spider and CLI with Debian's Chromium, and the same source without rendering."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, load_config
from crawlers.render import browser_problem
from crawlers.store import CrawlRun, open_store
from tests.conftest import run_vocwatch
from vocwatch.sandbox import jspage

CHROMIUM = "/usr/bin/chromium"
HOTEL = "h1002"  # 4 pages, one review without text
DELAY = 0.5

needs_browser = pytest.mark.skipif(
    browser_problem(CHROMIUM) is not None,
    reason=f"JavaScript rendering needs Chromium and playwright: {browser_problem(CHROMIUM)}")


def write_config(tmp: Path, base: str, *, render: bool, extra_sources: str = "") -> Path:
    render_line = 'render = "browser"' if render else ""
    path = tmp / ("render.toml" if render else "plain.toml")
    path.write_text(f"""
[crawl]
delay = {DELAY}
timeout = 5
retries = 0
chromium_path = "{CHROMIUM}"
browser_max_pages = 1
browser_pages_per_context = 2

[[brands]]
id = "harbor"

[[locations]]
id = "harbor-sh"
name = "Harbor Hotel"
brand = "harbor"
category = "hotel"
lat = 31.2
lon = 121.5
region = "shanghai"
role = "own"

[[sources]]
id = "js-hotel"
location = "harbor-sh"
kind = "hotel_reviews"
url = "{base}/js/hotels/{HOTEL}/reviews"
{render_line}
{extra_sources}
""", encoding="utf-8")
    return path


BROWSER_EXTRAS = """
[[sources]]
id = "stalling"
location = "harbor-sh"
kind = "hotel_reviews"
url = "{base}/js/stall?seconds=15"
render = "browser"

[[sources]]
id = "robots-disallowed"
location = "harbor-sh"
kind = "hotel_reviews"
url = "{base}/forum/private/thread/1"
render = "browser"
"""


class Crawl:
    def __init__(self, sandbox: Any, config: Path, db: Path, exit_code: int) -> None:
        self.url = f"sqlite:///{db}"
        start = len(sandbox.request_log)
        proc = run_vocwatch("crawl", "-c", str(config), "--store", self.url, "-q", "--log-level", "INFO")
        assert proc.returncode == exit_code, proc.stdout + proc.stderr[-5000:]
        self.requests = list(sandbox.request_log[start:])
        store = open_store(self.url)
        try:
            self.mentions = {m.external_id: m for m in store.iter_mentions()}
            self.runs: dict[str, CrawlRun] = {r.source_id: r for r in store.list_runs(limit=100)}
        finally:
            store.close()


@pytest.fixture(scope="module")
def rendered(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    if problem := browser_problem(CHROMIUM):
        pytest.skip(f"JavaScript rendering needs Chromium and playwright: {problem}")
    tmp = tmp_path_factory.mktemp("render")
    config = write_config(tmp, sandbox.base_url, render=True,
                          extra_sources=BROWSER_EXTRAS.format(base=sandbox.base_url))
    # exit 1: the "stalling" source times out on its only page on purpose (a failed run)
    return Crawl(sandbox, config, tmp / "rendered.db", exit_code=1)


@pytest.fixture(scope="module")
def plain(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    tmp = tmp_path_factory.mktemp("plain")
    # exit 3: without a browser the script-built page yields nothing (a partial run)
    return Crawl(sandbox, write_config(tmp, sandbox.base_url, render=False), tmp / "plain.db", exit_code=3)


@needs_browser
def test_rendering_stores_every_review(rendered: Crawl, sandbox: Any) -> None:
    truth = [t for t in sandbox.truth_for(f"/hotels/{HOTEL}/reviews") if t.valid]
    assert len(truth) == 32
    assert set(rendered.mentions) == {t.external_id for t in truth}
    for t in truth:
        m = rendered.mentions[t.external_id]
        assert (m.text, m.title, m.rating_raw, m.rating_scale, m.published_at, m.likes) == (
            t.text, t.title, t.rating, t.rating_scale, t.published_at, t.likes), t.external_id
        assert (m.reply_text, m.reply_at) == (t.reply_text, t.reply_at), t.external_id
        assert m.source_id == "js-hotel"
    run = rendered.runs["js-hotel"]
    assert run.outcome == "finished", run.stats
    assert run.stats["vocwatch/pages/read"] == 4
    assert run.stats["vocwatch/rating_only"] == 1  # the sandbox's text-less review: stars only, kept


@needs_browser
def test_images_fonts_and_media_are_never_downloaded(rendered: Crawl) -> None:
    paths = [r.path for r in rendered.requests]
    assert not set(jspage.ASSET_PATHS.values()) & {p.split("?")[0] for p in paths}, paths
    assert jspage.SCRIPT_PATH in paths  # scripts run
    assert sum(p.startswith(f"/js/api/hotels/{HOTEL}/") for p in paths) == 4  # and fetch their data
    stats = rendered.runs["js-hotel"].stats
    for kind in ("image", "font", "media"):
        assert stats[f"vocwatch/render/blocked/{kind}"] == 4, kind


@needs_browser
def test_every_page_is_closed_and_memory_is_bounded(rendered: Crawl) -> None:
    stats = rendered.runs["js-hotel"].stats
    assert stats["vocwatch/render/pages_opened"] == stats["vocwatch/render/pages_closed"] == 4
    assert stats["vocwatch/render/pages_open"] == 0  # as the browser counts its contexts' pages
    assert stats["vocwatch/render/pages_open_max"] == 1  # browser_max_pages
    assert stats["vocwatch/render/contexts_created"] == 2  # a fresh context every 2 pages


@needs_browser
def test_a_navigation_timeout_still_closes_the_page(rendered: Crawl) -> None:
    run = rendered.runs["stalling"]
    assert run.outcome == "failed"  # its only page timed out: nothing read
    assert run.stats["vocwatch/dropped/page_timeout"] == 1
    assert run.stats["vocwatch/render/pages_opened"] == run.stats["vocwatch/render/pages_closed"] == 1
    assert run.stats["vocwatch/render/pages_open"] == 0


@needs_browser
def test_robots_txt_and_the_delay_apply_to_rendered_pages(rendered: Crawl) -> None:
    paths = [r.path for r in rendered.requests]
    assert "/robots.txt" in paths
    assert not any(p.startswith("/forum/private/") for p in paths)
    assert rendered.runs["robots-disallowed"].stats["vocwatch/skipped/ignored_request"] == 1
    shells = [r.at for r in rendered.requests if r.path.startswith(f"/js/hotels/{HOTEL}/")]
    assert len(shells) == 4
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(shells)]
    assert min(gaps) >= DELAY * 0.5, gaps  # DOWNLOAD_DELAY with its ±50% jitter


def test_without_rendering_nothing_is_stored_and_the_reason_is_counted(plain: Crawl) -> None:
    assert plain.mentions == {}
    run = plain.runs["js-hotel"]
    assert run.stats["vocwatch/pages/read"] == 1  # the pager is built by the script too
    assert run.stats["vocwatch/dropped/page_needs_browser"] == 1
    assert run.outcome == "partial"
    assert not any(r.path.startswith(("/js/api/", "/js/static/")) for r in plain.requests)


def test_a_missing_chromium_stops_the_crawl_with_a_clear_error(sandbox: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, sandbox.base_url, render=True)
    config.write_text(config.read_text().replace(CHROMIUM, "/nonexistent/chromium"))
    assert load_config(config).crawl.chromium_path == "/nonexistent/chromium"  # a reporting machine may lack it
    proc = run_vocwatch("crawl", "-c", str(config), "--store", f"sqlite:///{tmp_path / 'x.db'}", "-q")
    assert proc.returncode == 1
    assert "no Chromium at /nonexistent/chromium" in proc.stdout + proc.stderr


def test_render_options_are_validated(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", render=True)
    config.write_text(config.read_text().replace('render = "browser"', 'render = "chrome"'))
    with pytest.raises(ConfigError, match=r"sources\[0\]\.render: must be one of http, browser; got 'chrome'"):
        load_config(config)
    config.write_text(config.read_text().replace(f'"{CHROMIUM}"', '"chromium"'))
    with pytest.raises(ConfigError, match=r"crawl\.chromium_path: must be an absolute path"):
        load_config(config)
