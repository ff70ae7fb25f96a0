"""Config-only sources (kind = "selectors"): validation, extraction, a real crawl, `vocwatch parse`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config import ConfigError, load_config
from config.selectors import load_selector_file
from crawlers.store import open_store
from spiders.pages.base import Page
from spiders.pages.selectors import SelectorPage
from spiders.pages.vbulletin import VBulletinThreadPage
from tests.conftest import ONE_HOTEL, ROOT, local_site, run_vocwatch, shared_path

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
VB_SPEC = ROOT / "docs" / "selectors" / "vbulletin4.toml"

BASE = """
[store]
url = "sqlite:///{db}"

[crawl]
delay = 0.2
retries = 0

""" + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "selectors"
url = "{base}/reviews?page=1"
timezone = "Asia/Shanghai"

[sources.selectors]
item = "div.review"
rating_scale = 10
next_page = "a.next::attr(href)"

[sources.selectors.fields]
text = ".body"
title = "h3::text"
author = ".who::text"
date = "time::attr(datetime)"
rating = ".score::text"
likes = {{ select = ".helpful::text", regex = "(\\\\d+) found" }}
external_id = "xpath:@data-id"
reply_text = ".reply p"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "v.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ('item = "div.review"', 'item = "div..review"', "sources[0].selectors.item", "bad selector 'div..review'"),
    ('date = "time::attr(datetime)"', 'date = "xpath://time[@"', "sources[0].selectors.fields.date", "bad selector"),
    ('title = "h3::text"', 'headline = "h3::text"', "sources[0].selectors.fields.headline", "unknown field"),
    ('regex = "(\\\\d+) found"', 'regex = "(\\\\d+ found"', "sources[0].selectors.fields.likes.regex", "bad regex"),
    ("rating_scale = 10", "rating_scale = 0", "sources[0].selectors.rating_scale", "must be > 0"),
    ('text = ".body"\n', "", "sources[0].selectors.fields", "a 'text' field is required"),
    ('next_page = "a.next::attr(href)"', 'next_page = "a.next::attr(href)"\npage_param = "page"',
     "sources[0].selectors.page_param", "either next_page or page_param"),
    ('item = "div.review"', 'item = "div.review"\nitems = "x"', "sources[0].selectors.items", "unknown key"),
    ('kind = "selectors"', 'kind = "rss"', "sources[0].selectors", "unknown key"),
])
def test_selector_config_errors_name_file_key_and_problem(tmp_path: Path, old: str, new: str, key: str,
                                                          problem: str) -> None:
    assert old in BASE
    path = write(tmp_path, BASE.replace(old, new).format(db=tmp_path / "x.db", base="http://127.0.0.1:1"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.file, err.value.key) == (str(path), key)
    assert problem in err.value.problem


def test_selectors_on_a_saved_vbulletin_thread_match_the_adapter() -> None:
    def page() -> Page:
        text = shared_path("pages", "forum_vbulletin", "pocketpc.ch.auslieferung.html").read_text(encoding="iso-8859-1")
        return Page(url="https://www.pocketpc.ch/t-34.html", text=text, now=NOW, tz=ZoneInfo("Europe/Zurich"))

    po = SelectorPage(page(), load_selector_file(VB_SPEC))
    got, want = po.mentions(), VBulletinThreadPage(page()).mentions()
    assert len(got) == len(want) == 20
    keys = ("kind", "url", "external_id", "text", "author", "published_raw", "published_at", "likes")
    assert [[getattr(m, k) for k in keys] for m in got] == [[getattr(m, k) for k in keys] for m in want]
    assert po.next_url() == VBulletinThreadPage(page()).next_url()


def test_json_selectors_with_a_cursor(tmp_path: Path) -> None:
    spec_text = """[selectors]
type = "json"
item = "data.children"
kind = "post"
next_page = "data.after"
next_param = "after"
[selectors.fields]
text = { select = "data.body", html = true }  # this API sends HTML
author = "data.author"
date = "data.created_utc"
likes = "data.score"
external_id = "data.name"
"""
    body = json.dumps({"data": {"after": "t1_b", "children": [
        {"data": {"name": "t1_a", "body": "<p>Fine &amp; quiet</p>", "author": "x", "created_utc": 1439801151, "score": 3}},
        {"data": {"name": "t1_b", "body": "", "author": "y"}}]}})
    spec = tmp_path / "spec.toml"
    spec.write_text(spec_text, encoding="utf-8")
    po = SelectorPage(Page(url="https://api.test/c?limit=2", text=body, now=NOW, tz=ZoneInfo("UTC")),
                      load_selector_file(spec))
    (m,) = po.mentions()  # the item without text is skipped
    assert (m.external_id, m.text, m.author, m.likes) == ("t1_a", "Fine & quiet", "x", 3)
    assert m.published_at == datetime(2015, 8, 17, 8, 45, 51, tzinfo=UTC)
    assert po.next_url() == "https://api.test/c?limit=2&after=t1_b"


PAGES = {
    1: """<html><body>
<div class="review" data-id="r1"><h3>Great view</h3><span class="who">Ann</span>
<time datetime="2026-11-20T14:32:00+08:00">Nov 20</time><span class="score">8/10</span>
<div class="body"><p>River view from the room.</p><p>Staff kind.</p></div><span class="helpful">3 found this helpful</span>
<div class="reply"><p>Thank you, Ann!</p></div></div>
<div class="review" data-id="r2"><h3>Noisy</h3><span class="who">Bo</span><time datetime="2026-11-19">x</time>
<span class="score">4</span><div class="body">Too noisy at night.</div></div>
<a class="next" href="/reviews?page=2">next</a></body></html>""",
    2: """<html><body><div class="review" data-id="r3"><span class="who">Cy</span><time datetime="2026-11-01">x</time>
<div class="body">Fine.</div></div><a class="next" href="/private/reviews?page=3">next</a></body></html>""",
}


def _review_page(path: str) -> tuple[int, str, bytes]:
    if path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nDisallow: /private/\n"
    if path.startswith("/reviews?page="):
        return 200, "text/html; charset=utf-8", PAGES[int(path.rsplit("=", 1)[1])].encode()
    return 404, "text/plain", b""


@pytest.fixture
def review_site() -> Iterator[tuple[str, list[str]]]:
    with local_site(_review_page) as site:
        yield site


def test_selectors_source_crawls_a_local_site(review_site: tuple[str, list[str]], tmp_path: Path) -> None:
    base, hits = review_site
    cfg = write(tmp_path, BASE.format(db=tmp_path / "s.db", base=base))
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hits == ["/robots.txt", "/reviews?page=1", "/reviews?page=2"]  # /private/ is disallowed
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    got = {m.external_id: m for m in store.iter_mentions()}
    assert sorted(got) == ["r1", "r2", "r3"]
    r1 = got["r1"]
    assert (r1.site, r1.kind, r1.title, r1.rating_raw, r1.rating_scale, r1.rating, r1.likes) == (
        "127.0.0.1", "review", "Great view", 8.0, 10.0, 4.0, 3)
    assert r1.text == "River view from the room.\nStaff kind." and r1.reply_text == "Thank you, Ann!"
    assert r1.published_at == datetime(2026, 11, 20, 6, 32, tzinfo=UTC)
    assert got["r2"].published_at == datetime(2026, 11, 18, 16, 0, tzinfo=UTC)  # local midnight, Shanghai
    assert got["r2"].rating == 2.0  # "4" of 10
    (run,) = store.list_runs()
    assert run.stats["vocwatch/skipped/ignored_request"] == 1 and run.stats["vocwatch/pages/read"] == 2


# -- vocwatch parse ----------------------------------------------------------------------
def test_parse_prints_json_lines() -> None:
    path = shared_path("pages", "hackernews", "comments_9989667.html")
    proc = run_vocwatch("parse", str(path), "--site", "hackernews", "--now", "2026-11-23T02:00:00",
                        "--url", "https://news.ycombinator.com/item?id=12423794", "--tz", "UTC")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 4 and rows[0]["title"] == "GPU Ray Tracing the Wrong Way"
    assert rows[-1]["author"] == "exDM69" and rows[-1]["published_at"] == "2026-11-23T01:56:00+00:00"
    assert "4 mentions" in proc.stderr


def test_parse_with_a_selectors_file_decodes_the_declared_charset() -> None:
    path = shared_path("pages", "forum_vbulletin", "pocketpc.ch.auslieferung.html")
    proc = run_vocwatch("parse", str(path), "--selectors", str(VB_SPEC), "--tz", "Europe/Zurich")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 20 and rows[1]["text"].endswith("Was kommt da dann?")
    assert "Gerät" in rows[1]["text"]  # ISO-8859-1 page read by its <meta charset>


def test_parse_unknown_site_lists_known_ones(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_text("<html></html>")
    proc = run_vocwatch("parse", str(page), "--site", "nope")
    assert proc.returncode == 2
    assert "unknown site 'nope'" in proc.stderr and "hackernews" in proc.stderr and "reddit" in proc.stderr


def test_parse_malformed_page_is_a_clear_error(tmp_path: Path) -> None:
    page = tmp_path / "t.json"
    page.write_text('{"post_stream": {"posts": [{"id": 1, "cooked": "<p>tru')
    proc = run_vocwatch("parse", str(page), "--site", "discourse")
    assert proc.returncode == 1
    assert f"{page}: malformed page: invalid JSON" in proc.stderr and "Traceback" not in proc.stderr
