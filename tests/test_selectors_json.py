"""The selectors language for today's sites: JSON paths, JSON embedded in HTML and in JS
bodies, one rule for several matches, JSON text kept as text, counts, date formats, and the
ready configs of docs/selectors/ on real saved pages.

Expectations on the saved pages (tests/fixtures/selectors/, SOURCES.md there) were read from
the raw files: the ``__NEXT_DATA__`` and ld+json scripts were cut out with grep and read
with ``json`` / ``jq`` by hand (ids, names, dates, ratings, the count of reviews and of
replies); the WordPress thread by viewing its markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import ConfigError, load_config
from config.selectors import load_selector_file, parse_json_path
from crawlers.processors import parse_count
from crawlers.store import open_store
from spiders.pages.base import MalformedPage, Page
from spiders.pages.jsdata import js_state
from spiders.pages.selectors import SelectorPage
from tests.conftest import ONE_HOTEL, ROOT, local_site, run_vocwatch, shared_path

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
DOCS = ROOT / "docs" / "selectors"
FIXTURES = ROOT / "tests" / "fixtures" / "selectors"


def spec(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "spec.toml"
    path.write_text(text, encoding="utf-8")
    return load_selector_file(path)


def read(tmp_path: Path, spec_text: str, body: str, url: str = "https://site.test/p", tz: str = "UTC") -> SelectorPage:
    return SelectorPage(Page(url=url, text=body, now=NOW, tz=ZoneInfo(tz)), spec(tmp_path, spec_text))


def fixture_page(name: str) -> Page:
    folder = FIXTURES / name
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    (path,) = folder.glob("input.*")
    return Page(url=meta["url"], text=path.read_text(encoding=meta["encoding"]),
                now=datetime.fromisoformat(meta["now"].replace("Z", "+00:00")), tz=ZoneInfo(meta["tz"]))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- JSON paths ------------------------------------------------------------------------------
DATA = {"data": {"items": [{"id": 1, "name": "a", "reviews": [{"text": "x"}, {"text": "y"}]},
                           {"id": 2, "name": "b", "reviews": []}]},
        "users": {"u1": {"name": "Ann"}, "u2": {"name": "Bo"}}, "og.title": "T",
        "@graph": [{"@type": "Organization", "name": "O"}, {"@type": ["Review", "Thing"], "reviewBody": "r1"},
                   {"@type": "Review", "reviewBody": "r2"}]}


@pytest.mark.parametrize(("path", "want"), [
    ("$", [DATA]),
    ("data.items[*].id", [1, 2]),
    ("$.data.items[*].name", ["a", "b"]),
    ("data.items.0.name", ["a"]),
    ("data.items[-1].id", [2]),
    ("data.items[*].reviews[*].text", ["x", "y"]),
    ("users.*.name", ["Ann", "Bo"]),
    ('["og.title"]', ["T"]),
    ("@graph[?@type=Review].reviewBody", ["r1", "r2"]),
    ("data.items[?id=2].name", ["b"]),
    ("data.nothing.here", []),
])
def test_json_paths(path: str, want: list[Any]) -> None:
    from config.selectors import json_path_matches

    assert json_path_matches(DATA, parse_json_path(path)) == want


@pytest.mark.parametrize("bad", ["", "a..b", "$x", "a[", "a[x]", "a[?=1]"])
def test_bad_json_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_json_path(bad)


def test_a_top_level_array_is_the_item_list(tmp_path: Path) -> None:
    po = read(tmp_path, 'type = "json"\nitem = "$"\n[fields]\ntext = "t"\nauthor = "who.name"\n',
              json.dumps([{"t": "one", "who": {"name": "A"}}, {"t": "two"}]))
    assert [(m.text, m.author) for m in po.mentions()] == [("one", "A"), ("two", None)]


def test_wildcards_in_items_and_fields_first_match_or_join(tmp_path: Path) -> None:
    body = json.dumps({"shops": {"s1": {"reviews": [{"p": ["Good.", "Clean."], "tags": ["a", "b"]}]},
                                 "s2": {"reviews": [{"p": ["Bad."]}]}}})
    po = read(tmp_path, 'type = "json"\nitem = "shops.*.reviews[*]"\n[fields]\n'
                        'text = { select = "p[*]", join = "\\n" }\ntitle = "p"\nvariant = { select = "tags[*]", join = ", " }\n',
              body)
    assert [(m.text, m.title, m.variant) for m in po.mentions()] == [
        ("Good.\nClean.", "Good.", "a, b"), ("Bad.", "Bad.", None)]


# -- JSON in HTML and in JS bodies -----------------------------------------------------------
STATE_PAGE = """<html><head><script>var x = "window.__INITIAL_STATE__={fake}";</script>
<script>
  // window.__INITIAL_STATE__ = {"reviews": {"list": [{"content": "commented out"}]}}
  window.__INITIAL_STATE__ = {reviews: {list: [{id: 7, content: 'Quiet room, 5<6 & fine', score: 4,
     time: '27.09.2018 14:05', user: {nickname: 'Lu'}, useful: '1.2k'},
     {id: 8, content: '', score: 2, time: '28.09.2018'}], total: 2,}, now: new Date()};
</script></head><body><div id="app"></div></body></html>"""


def test_window_state_is_read_as_data_never_run() -> None:
    page = Page(url="https://shop.test/r?page=1", text=STATE_PAGE, now=NOW, tz=ZoneInfo("Europe/Berlin"))
    po = SelectorPage(page, load_selector_file(DOCS / "window-state.toml"))
    first, rating_only = po.mentions()
    assert (first.external_id, first.text, first.author, first.rating, first.likes) == (
        "7", "Quiet room, 5<6 & fine", "Lu", 4.0, 1200)
    assert first.published_at == utc(2018, 9, 27, 12, 5)  # date_format, Berlin summer time
    assert (rating_only.external_id, rating_only.text, rating_only.rating) == ("8", "", 2.0)
    assert rating_only.published_at == utc(2018, 9, 27, 22, 0)  # the second date_format
    assert po.next_url(found_items=True) == "https://shop.test/r?page=2"


@pytest.mark.parametrize(("text", "name", "want"), [
    ('window["__APOLLO_STATE__"] = {"a": 1};', "__APOLLO_STATE__", {"a": 1}),
    ('window.__DATA__ = JSON.parse("{\\"a\\":\\"\\u00e9\\"}");', "window.__DATA__", {"a": "é"}),
    ("var ytInitialData = [1, 2];", "ytInitialData", [1, 2]),
    ("App.state = {a: 1}; App.stateX = {b: 2}", "App.state", {"a": 1}),
])
def test_js_state_forms(text: str, name: str, want: Any) -> None:
    assert js_state(text, name) == want


@pytest.mark.parametrize("text", [
    "window.__NUXT__ = (function(a){return {a: a}})(1);",  # code, not data
    'x = "window.__NUXT__ = {}";',                        # only mentioned in a string
    "// window.__NUXT__ = {}",                            # only in a comment
    "window.__NUXT__ == {}",
])
def test_js_state_that_is_not_data_is_refused(text: str) -> None:
    with pytest.raises(MalformedPage):
        js_state(text, "__NUXT__")


def test_json_in_a_data_attribute_and_in_ld_json(tmp_path: Path) -> None:
    page = """<html><body>
<div id="w" data-reviews='{"items": [{"body": "From the attribute", "stars": 5}]}'></div>
<script type="application/ld+json">{"@type": "Product", "review": [{"reviewBody": "From LD 1"}]}</script>
<script type="application/ld+json">{"@type": "WebSite"}</script>
<script type="application/ld+json">{ broken </script>
<script type="application/ld+json">{"@type": "Product", "review": {"reviewBody": "From LD 2"}}</script>
</body></html>"""
    attr = read(tmp_path, 'json_in = "#w::attr(data-reviews)"\nitem = "items[*]"\n[fields]\ntext = "body"\nrating = "stars"\n',
                page)
    assert [(m.text, m.rating_raw) for m in attr.mentions()] == [("From the attribute", 5.0)]
    ld = read(tmp_path, 'json_in = \'script[type="application/ld+json"]\'\nitem = "review"\n[fields]\ntext = "reviewBody"\n',
              page)  # every readable script; the broken one is skipped; an object is one item
    assert [m.text for m in ld.mentions()] == ["From LD 1", "From LD 2"]


def test_embedded_json_that_is_missing_or_unreadable_is_a_malformed_page(tmp_path: Path) -> None:
    spec_text = 'json_in = "script#__NEXT_DATA__"\nitem = "props.reviews"\n[fields]\ntext = "t"\n'
    with pytest.raises(MalformedPage, match="matches nothing"):
        read(tmp_path, spec_text, "<html><body><p>moved</p></body></html>")
    with pytest.raises(MalformedPage):
        read(tmp_path, spec_text, '<html><script id="__NEXT_DATA__">{"props": </script></html>')
    with pytest.raises(MalformedPage, match=r"no 'props\.reviews'"):
        read(tmp_path, spec_text, '<html><script id="__NEXT_DATA__">{"props": {}}</script></html>').mentions()
    with pytest.raises(MalformedPage, match="no such assignment"):
        read(tmp_path, 'state = "__S__"\nitem = "a"\n[fields]\ntext = "t"\n', "<html><script>var b = {};</script></html>")


@pytest.mark.parametrize("body", [
    'jsonp_cb({"list": [{"t": "hi"}]});',
    'var data = {list: [{t: "hi"}]};',
    ')]}\'\n{"list": [{"t": "hi"}]}',
])
def test_js_wrapped_bodies(tmp_path: Path, body: str) -> None:
    po = read(tmp_path, 'type = "json"\nitem = "list[*]"\n[fields]\ntext = "t"\n', body)
    assert [m.text for m in po.mentions()] == ["hi"]


def test_state_in_a_js_body_picks_the_named_assignment(tmp_path: Path) -> None:
    body = "var meta = {list: [{t: 'no'}]};\nvar comments = {list: [{t: 'yes'}]};"
    po = read(tmp_path, 'type = "json"\nstate = "comments"\nitem = "list[*]"\n[fields]\ntext = "t"\n', body)
    assert [m.text for m in po.mentions()] == ["yes"]


# -- several matches: first by default, join on request --------------------------------------
THREAD = """<html><body>
<div class="post" id="p1"><span class="by">Ann</span><span class="by">(mod)</span>
  <time datetime="2026-11-01T10:00:00Z">1 Nov</time><p class="t">Hello <b>there</b> again</p>
  <span class="tag">a</span><span class="tag">b</span>
  <div class="post" id="p2"><span class="by">Bo</span><time datetime="2026-11-02T10:00:00Z">2 Nov</time>
    <p class="t">Nested reply</p></div></div>
</body></html>"""


def test_first_match_for_text_attr_and_elements_join_on_request(tmp_path: Path) -> None:
    po = read(tmp_path, """item = "div.post"
[fields]
text = "p.t"
title = "p.t::text"
author = ".by::text"
date = "time::attr(datetime)"
variant = { select = ".tag::text", join = "|" }
author_region = { select = "xpath:.//span[@class='by']/text()", join = " " }
external_id = "xpath:@id"
""", THREAD)
    p1, p2 = po.mentions()
    assert (p1.author, p1.published_at, p1.text) == ("Ann", utc(2026, 11, 1, 10), "Hello there again")
    assert p1.title == "Hello again"  # one element's own text nodes together, as before
    assert (p1.variant, p1.author_region) == ("a|b", "Ann (mod) Bo")  # join takes every match
    assert (p2.external_id, p2.author, p2.published_at) == ("p2", "Bo", utc(2026, 11, 2, 10))


def test_a_regex_picks_the_first_match_it_finds_something_in(tmp_path: Path) -> None:
    page = '<html><body><div class="r"><p>x</p><span>Posted by</span><span>12 found this helpful</span></div></body></html>'
    po = read(tmp_path, 'item = "div.r"\n[fields]\ntext = "p"\nlikes = { select = "span::text", regex = "(\\\\d+) found" }\n', page)
    assert po.mentions()[0].likes == 12


def test_wordpress_thread_dates_are_each_comments_own() -> None:
    """Before one rule for several matches, ``time::attr(datetime)`` joined a comment's date
    with its replies' dates (the XenForo fault of the issue); now each reads its own."""
    po = SelectorPage(fixture_page("wordpress-lemire-comments"), load_selector_file(DOCS / "wordpress-comments.toml"))
    got = [(m.external_id, m.author, m.published_at) for m in po.mentions()]
    assert got == [
        ("365459", "Travis Downs", utc(2018, 11, 17, 4, 51, 1)),
        ("365460", "Travis Downs", utc(2018, 11, 17, 4, 51, 42)),
        ("365673", "Maynard Handley", utc(2018, 11, 17, 23, 41, 49)),
        ("365477", "brian", utc(2018, 11, 17, 6, 51, 6)),
        ("365495", "Federico Poloni", utc(2018, 11, 17, 8, 20, 1)),
        ("365569", "Daniel Lemire", utc(2018, 11, 17, 14, 42, 41)),
    ]
    first, *_, last = po.mentions()
    assert first.text.startswith("To address the precision problem") and "Forgot to add" not in first.text
    assert first.text.count("\n") == 2  # three <p>, three lines
    assert last.text == "Aptroot on twitter suggested product * -Math.expm1(Math.log1p(-1.0/product) * n)."
    assert {m.kind for m in po.mentions()} == {"comment"} and po.next_url() is None


# -- JSON text is text -----------------------------------------------------------------------
def test_json_text_keeps_angle_brackets_ampersands_and_lines(tmp_path: Path) -> None:
    body = json.dumps([{"t": "a<b and c>d\n\nSecond   paragraph &amp; more", "h": "<p>One</p><p>Two &amp; 3</p>"}])
    po = read(tmp_path, 'type = "json"\nitem = "$"\n[fields]\ntext = "t"\nreply_text = { select = "h", html = true }\n', body)
    (m,) = po.mentions()
    assert m.text == "a<b and c>d\nSecond paragraph &amp; more"
    assert m.reply_text == "One\nTwo & 3"


def test_html_text_nodes_and_attributes_are_text_too(tmp_path: Path) -> None:
    page = '<html><body><div class="r" data-t="x &lt;y&gt; z"><p>if a&lt;b and c&gt;d</p></div></body></html>'
    po = read(tmp_path, 'item = "div.r"\n[fields]\ntext = "p::text"\ntitle = "::attr(data-t)"\n', page)
    (m,) = po.mentions()
    assert (m.text, m.title) == ("if a<b and c>d", "x <y> z")


# -- counts and dates ------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "want"), [
    ("A, B and 3 others", 5), ("Ann, Bo and 3 others like this", 5), ("You and 1 other", 2),
    ("Liked by Ann and 12 others", 13), ("Anna, Ben und 3 weitere", 5), ("Marie et 2 autres", 3),
    ("Ann and 2.1k others", 2101), ("and 3 others", 3), ("1.2k", 1200), ("1,234", 1234), ("3.4万", 34000),
    ("12 likes", 12), ("2 of 3 people found this helpful", None), ("12 and 3 others", None),
])
def test_parse_count_reads_names_and_others(raw: str, want: int | None) -> None:
    assert parse_count(raw) == want


def test_date_format_is_tried_first_then_the_general_parser(tmp_path: Path) -> None:
    body = json.dumps([{"t": "a", "d": "03/04/2021 10:00"}, {"t": "b", "d": "2021-04-03T10:00:00+02:00"},
                       {"t": "c", "d": "4 Mar 2021 +0100", "r": "2021-03-05"}])
    po = read(tmp_path, 'type = "json"\nitem = "$"\ndate_format = ["%d/%m/%Y %H:%M", "%d %b %Y %z"]\n'
                        'date_languages = ["en", "de"]\ndate_order = "DMY"\n[fields]\ntext = "t"\ndate = "d"\nreply_date = "r"\n',
              body, tz="Europe/Paris")
    a, b, c = po.mentions()
    assert a.published_at == utc(2021, 4, 3, 8)         # day first, Paris summer time
    assert b.published_at == utc(2021, 4, 3, 8)         # no format fits: the general parser
    assert c.published_at == utc(2021, 3, 3, 23)        # %z: the offset given
    assert c.reply_at == utc(2021, 3, 4, 23)             # reply_date too


def test_date_languages_reach_the_date_parser(tmp_path: Path) -> None:
    body = json.dumps([{"t": "a", "d": "27. September 2018"}, {"t": "b", "d": "vor 3 Tagen"},
                       {"t": "c", "d": "Gestern, 14:05"}, {"t": "d", "d": "03.04.2021"}])
    po = read(tmp_path, 'type = "json"\nitem = "$"\ndate_languages = ["de"]\ndate_order = "DMY"\n'
                        '[fields]\ntext = "t"\ndate = "d"\n', body, tz="Europe/Berlin")
    a, b, c, d = po.mentions()
    assert a.published_at == utc(2018, 9, 26, 22)       # local midnight, Berlin summer time
    assert b.published_at == utc(2026, 11, 20, 2)       # NOW minus three days
    assert c.published_at == utc(2026, 11, 22, 13, 5)   # yesterday 14:05 CET
    assert d.published_at == utc(2021, 4, 2, 22)        # 3 April: day first


# -- config errors name file, key and problem ------------------------------------------------
BASE = """
[store]
url = "sqlite:///{db}"
""" + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "selectors"
url = "https://site.test/"

[sources.selectors]
json_in = "script#__NEXT_DATA__"
item = "props.pageProps.reviews[*]"

[sources.selectors.fields]
text = "text"
date = "dates.publishedDate"
"""


@pytest.mark.parametrize(("old", "new", "key", "problem"), [
    ('item = "props.pageProps.reviews[*]"', 'item = "props..reviews"', "sources[0].selectors.item", "bad JSON path"),
    ('json_in = "script#__NEXT_DATA__"', 'json_in = "script##x"', "sources[0].selectors.json_in", "bad selector"),
    ('json_in = "script#__NEXT_DATA__"', 'type = "json"\njson_in = "script"', "sources[0].selectors.json_in",
     "reads JSON inside an HTML page"),
    ('json_in = "script#__NEXT_DATA__"', 'state = "window.__X__ = 1"', "sources[0].selectors.state", "bad name"),
    ('json_in = "script#__NEXT_DATA__"', 'json_in = "script"\nexclude = [".q"]', "sources[0].selectors.exclude",
     "items read from JSON"),
    ('json_in = "script#__NEXT_DATA__"', 'json_in = "script"\ndate_format = "%d.%m.%Q"',
     "sources[0].selectors.date_format", "bad date format"),
    ('json_in = "script#__NEXT_DATA__"', 'json_in = "script"\ndate_format = ["%d.%m.%Y", "dd.mm.yyyy"]',
     "sources[0].selectors.date_format[1]", "strptime format"),
    ('json_in = "script#__NEXT_DATA__"', 'json_in = "script"\ndate_languages = ["de", "xx"]',
     "sources[0].selectors.date_languages[1]", "unknown date language"),
    ('json_in = "script#__NEXT_DATA__"', 'json_in = "script"\ndate_order = "DD-MM"',
     "sources[0].selectors.date_order", "must be one of: DMY"),
    ('text = "text"', 'text = {{ select = "text", join = 1 }}', "sources[0].selectors.fields.text.join", "expected a string"),
    ('text = "text"', 'text = {{ select = "text", html = "yes" }}', "sources[0].selectors.fields.text.html",
     "expected a boolean"),
    ('date = "dates.publishedDate"', 'date = "dates.publishedDate"\nauthor = "div.x::text"',
     "sources[0].selectors.fields.author", "a CSS selector where a JSON path goes"),
])
def test_config_errors(tmp_path: Path, old: str, new: str, key: str, problem: str) -> None:
    assert old in BASE
    path = tmp_path / "v.toml"
    path.write_text(BASE.replace(old, new).format(db=tmp_path / "x.db"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.file, err.value.key) == (str(path), key)
    assert problem in err.value.problem


def test_every_shipped_config_loads() -> None:
    names = sorted(p.name for p in DOCS.glob("*.toml"))
    assert names == ["discourse-topic.toml", "json-api-list.toml", "jsonld-review-graph.toml", "judgeme-widget.toml",
                     "nextjs-trustpilot.toml", "vbulletin4.toml", "window-state.toml", "wordpress-comments.toml"]
    for path in DOCS.glob("*.toml"):
        load_selector_file(path)


# -- docs/selectors configs on real saved pages ----------------------------------------------
def test_nextjs_trustpilot_on_twenix() -> None:
    po = SelectorPage(fixture_page("trustpilot-twenix"), load_selector_file(DOCS / "nextjs-trustpilot.toml"))
    ms = po.mentions()
    assert len(ms) == 20  # props.pageProps.reviews, page 1 of 3 (totalCount 58)
    assert [m.rating for m in ms] == [5.0, 5.0, 5.0, 1.0, 4.0, 5.0, 1.0, 5.0, 5.0, 5.0,
                                      5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 1.0, 5.0]
    first, last = ms[0], ms[-1]
    assert (first.external_id, first.author, first.author_region, first.title) == (
        "6814efba01eba776fc92357f", "Nadine Dixon", "JM", "Working with Twenix is absolutely Amazing")
    assert first.published_at == utc(2025, 5, 2, 18, 15, 54) and first.reply_text is None
    assert first.text.startswith("Working with Twenix is absolutely amazing, I love the fact that I can sign into ")
    assert (last.external_id, last.author, last.author_region) == ("664c6516d6f94d4bd7491122", "Nici Schmidt", "ZA")
    assert last.reply_text.startswith("Dear Nici,\nThank you so much for your wonderful review!")
    assert last.reply_at == utc(2024, 6, 4, 10, 32, 18)
    assert sum(m.reply_text is not None for m in ms) == 15
    assert po.next_url(found_items=True) == "https://www.trustpilot.com/review/twenix.es?page=2"


def test_nextjs_trustpilot_on_djmania_keeps_paragraphs() -> None:
    ms = SelectorPage(fixture_page("trustpilot-djmania"), load_selector_file(DOCS / "nextjs-trustpilot.toml")).mentions()
    assert [(m.external_id, m.rating) for m in ms] == [
        ("6811ea2153a787fffa8bda6a", 1.0), ("67ecf945b1909a8a36823f51", 5.0),
        ("67cb41475a9f5db7b1cb730b", 5.0), ("6718c328f7ab4cca9dd34b62", 1.0)]
    first = ms[0]
    assert first.text.split("\n") == [
        "1-Star Review:",
        "I had a very disappointing experience with Djmania and unfortunately cannot recommend their service.",
        "After a speaker from my system broke, I sent it in for repair. It took 3.5 months to get it back, and when it "
        "finally arrived, the front of the subwoofer was damaged during return shipping.",
        "Djmania refuses to take responsibility for the damage, even though the packaging for the return was their "
        "responsibility. They now claim the transport company won’t cover the damage either.",
        "This lack of accountability and poor handling has lost them a customer. A frustrating and unprofessional "
        "experience overall.",
    ]
    assert first.title == "No responsibility for shipping damage."
    assert first.reply_text.startswith("We sincerely apologize for the negative experience you've had")
    assert first.reply_at == utc(2025, 5, 2, 12, 5, 45)
    assert (ms[-1].author, ms[-1].published_at) == ("Athanasia Panteli", utc(2024, 10, 23, 11, 34, 32))


@pytest.mark.parametrize(("name", "count", "ratings", "first", "last"), [
    ("trustpilot-twenix", 20, "55514515555555555515",
     ("6814efba01eba776fc92357f", "Nadine Dixon", (2025, 5, 2, 18, 15, 54), "Working with Twenix is absolutely Amazing"),
     ("664c6516d6f94d4bd7491122", "Nici Schmidt", (2024, 5, 21, 11, 10, 46), "Twenix has opened up an amazing channel…")),
    ("trustpilot-burgerking-fr", 17, "41511115511555145",
     ("67e2f9a01879e524fef7f903", "Thrycian Okala Wokala", (2025, 3, 25, 20, 44, 48), "Super fast-food"),
     ("5d73b93df018690a288e07a4", "Schalit Uzziel", (2019, 9, 7, 14, 5, 49), "The best of junk food")),
])
def test_jsonld_review_graph(name: str, count: int, ratings: str, first: tuple[Any, ...], last: tuple[Any, ...]) -> None:
    ms = SelectorPage(fixture_page(name), load_selector_file(DOCS / "jsonld-review-graph.toml")).mentions()
    assert len(ms) == count and "".join(str(int(m.rating_raw)) for m in ms) == ratings
    for m, (rid, author, when, title) in ((ms[0], first), (ms[-1], last)):
        assert m.external_id.endswith("/" + rid) and (m.author, m.title) == (author, title)
        assert m.published_at == utc(*when)


def test_json_api_list_on_a_top_level_array() -> None:
    ms = SelectorPage(fixture_page("trustpilot-majority-page10"), load_selector_file(DOCS / "json-api-list.toml")).mentions()
    assert len(ms) == 20 and sum(m.reply_text is not None for m in ms) == 19
    m = ms[0]
    assert (m.external_id, m.author, m.text, m.rating, m.likes) == (
        "67df2064d3f8984718b83469", "Giovanny", "El servicio es excelente", 5.0, 0)
    assert m.reply_text == "¡Gracias por tu comentario! Nos alegra saber que estás satisfecho con nuestro servicio."
    assert (m.published_at, m.reply_at) == (utc(2025, 3, 22, 22, 41, 8), utc(2025, 3, 24, 17, 6, 25))
    lines = next(x for x in ms if x.external_id == "67de777ef58a1f580206b9de")
    assert lines.text == "Dijeron que por este mes tendría una tarifa preferencial para enviar dinero y no cumplieron.\nFalso."
    assert lines.rating == 1.0


def test_discourse_topic_config_on_the_shared_discourse_pages() -> None:
    topic = shared_path("pages", "discourse", "topic.json").read_text(encoding="utf-8")
    po = SelectorPage(Page(url="https://try.discourse.org/t/this-site-is-a-sandbox-it-is-reset-every-day/57.json",
                           text=topic, now=NOW, tz=ZoneInfo("UTC")), load_selector_file(DOCS / "discourse-topic.toml"))
    ms = po.mentions()
    assert len(ms) == 4 and ms[0].author == "samsaffron" and ms[0].likes == 0
    assert ms[0].text.startswith("Welcome!\nTry is a sandbox, a safe place to play with Discourse and its features.")
    assert ms[0].published_at == utc(2013, 2, 4, 20, 26, 26, 278000)
    latest = shared_path("pages", "discourse", "posts_latest.json").read_text(encoding="utf-8")
    table = (DOCS / "discourse-topic.toml").read_text(encoding="utf-8").replace(
        'item = "post_stream.posts[*]"', 'item = "latest_posts[*]"')  # as the config's comment says
    other = SelectorPage(Page(url="https://try.discourse.org/posts.json", text=latest, now=NOW, tz=ZoneInfo("UTC")),
                         _spec_text(table))
    assert len(other.mentions()) == len(json.loads(latest)["latest_posts"])


def _spec_text(text: str) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.toml"
        p.write_text(text, encoding="utf-8")
        return load_selector_file(p)


# -- window-state.toml in a real crawl of a local site ---------------------------------------
def _state_site(path: str) -> tuple[int, str, bytes]:
    if path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nAllow: /\n"
    if path == "/shop/reviews?page=1":
        return 200, "text/html; charset=utf-8", STATE_PAGE.encode()
    if path == "/shop/reviews?page=2":
        return 200, "text/html; charset=utf-8", b"<html><script>window.__INITIAL_STATE__ = {reviews: {list: []}}</script></html>"
    return 404, "text/plain", b""


@pytest.fixture
def state_site() -> Iterator[tuple[str, list[str]]]:
    with local_site(_state_site) as site:
        yield site


def test_window_state_config_crawls_a_local_site(state_site: tuple[str, list[str]], tmp_path: Path) -> None:
    base, hits = state_site
    table = (DOCS / "window-state.toml").read_text(encoding="utf-8").replace("[selectors", "[sources.selectors")
    cfg = tmp_path / "v.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/s.db"\n[crawl]\ndelay = 0.1\nretries = 0\n' + ONE_HOTEL
                   + f'\n[[sources]]\nlocation = "harbor-sh-bund"\nkind = "selectors"\nurl = "{base}/shop/reviews?page=1"\n'
                   + 'timezone = "Europe/Berlin"\n' + table, encoding="utf-8")
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hits == ["/robots.txt", "/shop/reviews?page=1", "/shop/reviews?page=2"]
    got = {m.external_id: m for m in open_store(f"sqlite:///{tmp_path}/s.db").iter_mentions()}
    assert sorted(got) == ["7", "8"]
    assert got["7"].text == "Quiet room, 5<6 & fine" and got["7"].published_at == utc(2018, 9, 27, 12, 5)
    assert got["8"].text == "" and got["8"].rating == 2.0  # rating-only, kept


# -- judgeme-widget.toml in a real crawl of a local store ------------------------------------
# The widget's markup as Judge.me renders it (jdgm-* classes, data-* attributes); a second
# review with stars only and a shop reply; the theme's own markup around it is irrelevant.
STORE = """<html><body><div class="product">Fan</div><div class="jdgm-rev-widg"><div class="jdgm-rev-widg__reviews">
<div class="jdgm-rev jdgm-divider-top jdgm--done-setup" data-verified-buyer="true"
     data-review-id="a1fae1b2-a316-47a0-9913-0d1807d6bba4" data-thumb-up-count="2" data-thumb-down-count="0">
 <div class="jdgm-rev__header"><span class="jdgm-rev__author-wrapper"><span class="jdgm-rev__author">terrie
   marshall</span> <span class="jdgm-rev__location"> </span></span>
  <span class="jdgm-rev__timestamp" data-content="2023-07-14 04:52:32 UTC">07/14/2023</span>
  <span class="jdgm-rev__rating" data-score="5" aria-label="5 star review"><span class="jdgm-star jdgm--on"></span></span></div>
 <div class="jdgm-rev__content"><b class="jdgm-rev__title">Great!</b>
  <div class="jdgm-rev__body"><p>I set mine up above my horse's stall.
   <br>It is powerful enough &amp; quiet.</p></div></div>
 <div class="jdgm-rev__reply"> </div></div>
<div class="jdgm-rev jdgm-divider-top" data-review-id="904d0d96" data-thumb-up-count="0">
 <span class="jdgm-rev__author">Shawna M.</span><span class="jdgm-rev__timestamp" data-content="2023-07-10 21:08:28 UTC"></span>
 <span class="jdgm-rev__rating" data-score="3"></span><div class="jdgm-rev__body"></div>
 <div class="jdgm-rev__reply"><div class="jdgm-rev__replier-wrapper">Store replied:</div>
  <div class="jdgm-rev__reply-content"><p>Thanks, Shawna!</p></div></div></div>
</div></div></body></html>"""


def _store(path: str) -> tuple[int, str, bytes]:
    if path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nAllow: /\n"
    if path == "/products/fan":
        return 200, "text/html; charset=utf-8", STORE.encode()
    return 404, "text/plain", b""


def test_judgeme_widget_config_crawls_a_local_store(tmp_path: Path) -> None:
    table = (DOCS / "judgeme-widget.toml").read_text(encoding="utf-8").replace("[selectors", "[sources.selectors")
    with local_site(_store) as (base, hits):
        cfg = tmp_path / "v.toml"
        cfg.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/s.db"\n[crawl]\ndelay = 0.1\nretries = 0\n' + ONE_HOTEL
                       + f'\n[[sources]]\nlocation = "harbor-sh-bund"\nkind = "selectors"\nurl = "{base}/products/fan"\n'
                       + 'timezone = "America/New_York"\n' + table, encoding="utf-8")
        proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert hits == ["/robots.txt", "/products/fan"]
    got = {m.external_id: m for m in open_store(f"sqlite:///{tmp_path}/s.db").iter_mentions()}
    assert sorted(got) == ["904d0d96", "a1fae1b2-a316-47a0-9913-0d1807d6bba4"]
    a, b = got["a1fae1b2-a316-47a0-9913-0d1807d6bba4"], got["904d0d96"]
    assert (a.title, a.rating, a.likes, a.published_at) == ("Great!", 5.0, 2, utc(2023, 7, 14, 4, 52, 32))
    assert a.text == "I set mine up above my horse's stall.\nIt is powerful enough & quiet."
    assert a.author_region is None and a.reply_text is None
    assert (b.text, b.rating, b.reply_text) == ("", 3.0, "Thanks, Shawna!")  # stars only: kept


# -- any valid spec over embedded JSON: mentions or a malformed page, nothing else ----------
EMBEDDED = """<html><head>
<script id="__NEXT_DATA__" type="application/json">{"props": {"pageProps": {"reviews": [
 {"id": "a1", "text": "Fine <b>really</b>\\n\\nyes", "rating": 4, "tags": ["x", 2, null, {"o": 1}], "who": {"n": "Ann"},
  "dates": {"d": "2026-11-01T10:00:00Z"}, "likes": "Ann, Bo and 3 others"},
 {"id": 2, "text": null, "rating": "5/5", "dates": {"d": 1762000000}}, [], "str", 3.5, true]}}}</script>
<script type="application/ld+json">{"@graph": [{"@type": "Review", "reviewBody": "LD", "reviewRating": {"ratingValue": "3"}}]}</script>
<script>window.__S__ = {list: [{t: 'one', n: 1e400}, {t: "two", d: "01.02.2026"}], more: undefined};</script>
</head><body><div id="st" data-s='{"items": [{"t": "attr"}]}'></div></body></html>"""
_SOURCES = [{"json_in": "script#__NEXT_DATA__"}, {"json_in": 'script[type="application/ld+json"]'},
            {"state": "window.__S__"}, {"json_in": "#st::attr(data-s)"}, {"json_in": "script"},
            {"json_in": "xpath://script/text()", "state": "__S__"}, {"state": "nope"}, {"json_in": "p"}]
_PATHS = ["$", "props.pageProps.reviews[*]", "props.pageProps.reviews", "@graph[?@type=Review]", "list[*]", "items[*]",
          "text", "t", "rating", "id", "tags[*]", "tags", "who.n", "who", "*", "*.*", "dates.d", "d", "likes", "n",
          "reviewBody", "reviewRating.ratingValue", "[0]", "[-1]", "[?id=2].text", "x.y.z"]


@st.composite
def embedded_specs(draw: st.DrawFn) -> dict[str, Any]:
    from config.selectors import FIELDS

    rule = st.one_of(st.sampled_from(_PATHS), st.fixed_dictionaries(
        {"select": st.sampled_from(_PATHS)},
        optional={"regex": st.sampled_from(["(\\d+)", "x*", "(a)|(b)"]), "join": st.sampled_from(["", " | "]),
                  "html": st.booleans()}))
    table: dict[str, Any] = {**draw(st.sampled_from(_SOURCES)), "item": draw(st.sampled_from(_PATHS)),
                             "fields": {"text": draw(rule), **draw(st.dictionaries(st.sampled_from(FIELDS), rule, max_size=6))}}
    if draw(st.booleans()):
        table["date_format"] = draw(st.sampled_from(["%d.%m.%Y", ["%Y", "%d/%m/%Y %H:%M"]]))
    if draw(st.booleans()):
        table["next_page"] = draw(st.sampled_from(_PATHS))
    return table


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(table=embedded_specs(), cut=st.integers(0, len(EMBEDDED)), noise=st.sampled_from(["", "<", "\x00", "\"", "}"]))
def test_any_embedded_json_spec_gives_mentions_or_a_malformed_page(table: dict[str, Any], cut: int, noise: str) -> None:
    from config.loader import _Reader
    from config.selectors import read_selector_spec
    from spiders.pages.base import field_problems

    try:
        parsed = read_selector_spec(_Reader("spec.toml", "selectors", table))
    except ConfigError:
        return
    text = EMBEDDED if not noise else EMBEDDED[:cut] + noise + EMBEDDED[cut:]
    try:
        po = SelectorPage(Page(url="https://x.test/p", text=text, now=NOW, tz=ZoneInfo("UTC")), parsed)
        mentions = po.mentions()
        po.next_url(found_items=bool(mentions))
    except MalformedPage as exc:
        assert str(exc).strip()
        return
    assert all(field_problems(m) == [] for m in mentions)
