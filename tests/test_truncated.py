"""Snippets are not full texts (issue 12, item 5): a text the page itself cuts is flagged
``Mention.truncated`` by its adapter, counted through the pipelines, stored (a snippet never
replaces a stored full text, a full text replaces a snippet), exported and shown marked; and
where the site serves the full text (TripAdvisor's ``ExpandedUserReviews`` fragment) the
crawl fetches it through ``PageObject.expand_urls``."""

from __future__ import annotations

import asyncio
import html
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawlers.items import Mention, coerce_fields, mention_content_hash, mention_fingerprint
from crawlers.stats import has_field
from crawlers.store import open_store
from pipelines.clean import CleanPipeline
from pipelines.dedupe import DedupePipeline
from pipelines.enrich import EnrichPipeline
from spiders.pages.base import Page, well_typed
from spiders.pages.registry import adapter
from tests.conftest import ONE_HOTEL, crawl_head, local_site, run_vocwatch, shared_path

NOW = datetime.now(UTC).replace(microsecond=0)

# -- a TripAdvisor-like site on 127.0.0.1 ------------------------------------------------------
LISTING = "/Hotel_Review-g190502-d206868-Reviews-Harbor_Hotel-Shanghai.html"
FRAGMENT = "/ExpandedUserReviews-g190502-d206868"
FULL = {
    "501": "The room was quiet and the bed was excellent. Breakfast had fresh fruit, good coffee and "
           "eggs made to order. The staff at the desk remembered our names on the second day.",
    "502": "Check-in took forty minutes & nobody apologised. The air conditioning rattled all night "
           "and the window would not close. We asked twice to move rooms; no answer.",
    "503": "Short and complete: lovely view.",
}
CUT = {"501": FULL["501"][:60] + "...", "502": FULL["502"][:50] + "..."}
"""The listing's snippets: the first words and "...", with a "More" control."""
STARS = {"501": 5, "502": 1, "503": 4}


def _card(rid: str, text: str, *, expanded: bool) -> str:
    """One review card in the markup of TripAdvisor's 2015 pages (listing ``reviewSelector``
    cards, the fragment's ``expanded_review_`` ones)."""
    day = (NOW - timedelta(days=int(rid) - 499)).strftime("%B %d, %Y")
    more = "" if expanded or rid not in CUT else (
        '<span class="partnerRvw"><span class="taLnk hvrIE6 moreLink ulBlueLinks" onclick="ta.call('
        f"'ta.servlet.Reviews.expandReviews',event,this,'review_{rid}', '1', 2247);\">More&nbsp;</span></span>")
    box = f'id="expanded_review_{rid}"' if expanded else f'id="review_{rid}" class="reviewSelector"'
    return (f'<div {box}><div class="member_info"><span class="scrname">guest {rid}</span></div>'
            f'<div class="quote"><span class="noQuotes">Stay {rid}</span></div>'
            f'<div class="rating reviewItemInline"><span class="rate"><img class="rating_s_fill" '
            f'alt="{STARS[rid]} of 5 stars"></span><span class="ratingDate">Reviewed {day}</span></div>'
            f'<div class="entry"><p class="partial_entry">{html.escape(text)}{more}</p></div></div>\n')


def listing_page() -> bytes:
    cards = "".join(_card(rid, CUT.get(rid, FULL[rid]), expanded=False) for rid in FULL)
    return f"<html><head><title>Harbor Hotel</title></head><body>{cards}</body></html>".encode()


def fragment_page(rids: list[str]) -> bytes:
    return "".join(_card(rid, FULL[rid], expanded=True) for rid in rids if rid in FULL).encode()


class Site:
    """The listing, its fragment (answering ``fragment_status``) and robots.txt."""

    def __init__(self) -> None:
        self.fragment_status = 200
        self.robots = "User-agent: *\nAllow: /\n"

    def __call__(self, path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        if parts.path == "/robots.txt":
            return 200, "text/plain", self.robots.encode()
        if parts.path == LISTING:
            return 200, "text/html; charset=utf-8", listing_page()
        if parts.path == FRAGMENT:
            if self.fragment_status != 200:
                return self.fragment_status, "text/html", b"<html><body>Internal error</body></html>"
            rids = parse_qs(parts.query).get("reviews", [""])[0].split(",")
            return 200, "text/html; charset=utf-8", fragment_page(rids)
        return 404, "text/plain", b"not found"


CONFIG = crawl_head(delay=0.05, timeout=None, retries=1) + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "site"
site = "tripadvisor"
timezone = "UTC"
url = "{base}""" + LISTING + '"\n'


@pytest.fixture
def ta_site() -> Iterator[tuple[Site, str, list[str]]]:
    site = Site()
    with local_site(site) as (base, hits):
        yield site, base, hits


def _crawl(tmp_path: Path, base: str) -> tuple[dict[str, Mention], dict[str, Any]]:
    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "s.db", base=base), encoding="utf-8")
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        got = {m.external_id or "": m for m in store.iter_mentions()}
        run = store.list_runs(limit=1)[0]
    finally:
        store.close()
    s = run.stats
    assert s["vocwatch/balance/unaccounted"] == 0, s  # read = stored + updated + unchanged + dropped
    return got, s


def _fragment_hits(hits: list[str]) -> list[str]:
    return [h for h in hits if urlsplit(h).path == FRAGMENT]


def test_crawl_fetches_the_full_texts_of_the_listing_snippets(ta_site: tuple[Site, str, list[str]],
                                                               tmp_path: Path) -> None:
    _, base, hits = ta_site
    got, s = _crawl(tmp_path, base)
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {rid: (FULL[rid], False) for rid in FULL}
    # one fragment request for the page's two snippets, the way the "More" link asks for it
    (frag,) = _fragment_hits(hits)
    q = parse_qs(urlsplit(frag).query)
    assert q["reviews"] == ["501,502"] and q["target"] == ["501"] and q["servlet"] == ["Hotel_Review"]
    assert hits.index("/robots.txt") < hits.index(frag)  # the same politeness: robots.txt read first
    assert (s["vocwatch/expand/requests"], s["vocwatch/expand/expanded"]) == (1, 2)
    assert "vocwatch/expand/failed" not in s and "vocwatch/truncated" not in s
    assert s["vocwatch/store/inserted"] == 3 and s["vocwatch/pages/read"] == 1  # the fragment is not a page read
    assert s["vocwatch/fields/text"] == 3 and s["vocwatch/fields/truncated"] == 0
    assert all(m.sentiment_label for m in got.values())
    # read again: the same full texts are unchanged, not updates
    _, s2 = _crawl(tmp_path, base)
    assert s2["vocwatch/dropped/already_stored"] == 3 and s2.get("vocwatch/store/updated", 0) == 0


def test_a_failed_expansion_stores_the_snippets_flagged_and_a_later_one_updates_them(
        ta_site: tuple[Site, str, list[str]], tmp_path: Path) -> None:
    site, base, hits = ta_site
    site.fragment_status = 500
    got, s = _crawl(tmp_path, base)
    assert len(_fragment_hits(hits)) == 2  # retried like any request (retries = 1), then given up
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {
        "501": (CUT["501"], True), "502": (CUT["502"], True), "503": (FULL["503"], False)}
    assert s["vocwatch/expand/failed"] == 1 and s["vocwatch/expand/missing"] == 2
    assert s["vocwatch/truncated"] == 2 and s["vocwatch/nlp/truncated"] == 2  # analysed, and counted
    assert all(m.sentiment_label for m in got.values())
    assert s["vocwatch/fields/truncated"] == 2 and s["vocwatch/fields/text"] == 1
    assert s["vocwatch/store/inserted"] == 3
    assert not any(k.startswith("vocwatch/dropped/page_") for k in s)  # the listing was read fine
    # the fragment answers again: the stored snippets become full texts, as updates
    site.fragment_status = 200
    got, s = _crawl(tmp_path, base)
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {rid: (FULL[rid], False) for rid in FULL}
    assert s["vocwatch/store/updated"] == 2 and s["vocwatch/dropped/already_stored"] == 1
    assert "vocwatch/store/inserted" not in s or s["vocwatch/store/inserted"] == 0


def test_a_snippet_never_replaces_a_stored_full_text(ta_site: tuple[Site, str, list[str]], tmp_path: Path) -> None:
    site, base, _ = ta_site
    _crawl(tmp_path, base)
    site.fragment_status = 503  # a block-looking status: checked, counted, never stored as a page
    got, s = _crawl(tmp_path, base)
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {rid: (FULL[rid], False) for rid in FULL}
    assert s["vocwatch/expand/failed"] == 1
    # the next run's snippets are known: the hash the store took is the snippet's
    got, s = _crawl(tmp_path, base)
    assert {rid: m.text for rid, m in got.items()} == FULL
    assert s["vocwatch/dropped/already_stored"] == 3


def test_robots_txt_applies_to_the_expansion(ta_site: tuple[Site, str, list[str]], tmp_path: Path) -> None:
    site, base, hits = ta_site
    site.robots = "User-agent: *\nDisallow: /ExpandedUserReviews\n"
    got, s = _crawl(tmp_path, base)
    assert _fragment_hits(hits) == []
    assert s["vocwatch/expand/failed"] == 1
    assert sorted(rid for rid, m in got.items() if m.truncated) == ["501", "502"]


# -- the flag through items, pipelines and stores ----------------------------------------------
SNIPPET = "Check-in took forty minutes and nobody apologised. The air..."
WHOLE = SNIPPET.removesuffix("...") + " conditioning rattled all night and the window would not close."


@pytest.fixture
def crawler(tmp_path: Path) -> Any:
    c = get_crawler(settings_dict={"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/p.db", "VOCWATCH_NLP_WORKERS": 0})
    c.stats.open_spider()
    return c


def mention(text: str = SNIPPET, ext: str | None = "r1", truncated: bool = True, **kw: Any) -> Mention:
    fields: dict[str, Any] = {"kind": "review", "author": "Bob", "rating_raw": 2.0, "rating_scale": 5.0,
                              "published_at": datetime(2026, 11, 1, tzinfo=UTC), "source_id": "src", **kw}
    m = Mention(site="s", url="http://s/1", text=text, external_id=ext, truncated=truncated, **fields)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def test_the_flag_defaults_to_false_and_moves_no_stored_hash() -> None:
    whole = mention(WHOLE, truncated=False)
    assert Mention(site="s", kind="review", url="u", text="t").truncated is False
    # an untruncated mention hashes exactly as before the flag existed (same parts, nothing added)
    legacy = Mention(site="s", kind="review", url="http://s/1", text=WHOLE, rating_raw=2.0)
    assert mention_content_hash(legacy) == mention_content_hash(legacy.replace(truncated=False))
    # a snippet of the same words is a different content: its full text must update it
    assert mention_content_hash(mention(WHOLE, truncated=True)) != whole.content_hash
    assert mention_fingerprint(mention(WHOLE, truncated=True)) == whole.fingerprint  # same review


@pytest.mark.parametrize(("value", "expected", "given_up"), [
    (True, True, []), (1, True, []), (0, False, []), (None, False, []), ("yes", False, ["truncated"]),
    ({"cut": 1}, False, ["truncated"]),
])
def test_coercion_of_the_flag(value: Any, expected: bool, given_up: list[str]) -> None:
    m = mention(truncated=False)
    m.truncated = value
    assert coerce_fields(m) == (given_up, []) and m.truncated is expected
    m.truncated = value
    assert well_typed(m).truncated is expected


def test_clean_counts_snippets_and_a_text_less_review_is_never_cut(crawler: Any) -> None:
    clean = CleanPipeline.from_crawler(crawler)
    assert clean.process_item(mention()).truncated is True
    assert clean.process_item(mention(WHOLE, ext="r2", truncated=False)).truncated is False
    assert clean.process_item(mention("  ", ext="r3")).truncated is False  # rating-only: nothing was cut
    assert crawler.stats.get_value("vocwatch/truncated") == 1
    assert crawler.stats.get_value("vocwatch/rating_only") == 1


def test_enrich_analyses_a_snippet_and_counts_it(crawler: Any) -> None:
    enrich = EnrichPipeline.from_crawler(crawler)

    async def run() -> list[Mention]:
        items = [mention("Filthy room and rude staff, never again..."), mention(WHOLE, ext="r2", truncated=False)]
        return list(await asyncio.gather(*(enrich.process_item(m) for m in items)))

    cut, whole = asyncio.run(run())
    assert cut.sentiment_label == "negative" and cut.language == "en" and whole.sentiment_label
    assert crawler.stats.get_value("vocwatch/nlp/truncated") == 1


def test_dedupe_lets_the_full_text_through_after_its_snippet_never_the_reverse(crawler: Any) -> None:
    dedupe = DedupePipeline.from_crawler(crawler)
    assert dedupe.process_item(mention()).truncated
    assert not dedupe.process_item(mention(WHOLE, truncated=False)).truncated  # the full text after its snippet
    with pytest.raises(DropItem, match="duplicate_in_crawl"):
        dedupe.process_item(mention())  # a snippet after the full text
    with pytest.raises(DropItem, match="duplicate_in_crawl"):
        dedupe.process_item(mention(WHOLE, truncated=False))


def test_store_update_rule_on_every_backend(any_store: Any) -> None:
    """A full text replaces a stored snippet; a snippet never cuts a stored full text, though
    the rest of it (likes) still updates; a snippet replaces a snippet; a snippet fills a
    rating-only record."""
    s = any_store
    assert s.upsert_mentions([mention()]).inserted == 1
    assert s.upsert_mentions([mention()]).unchanged == 1
    assert s.upsert_mentions([mention(WHOLE, truncated=False)]).updated == 1
    (m,) = s.iter_mentions()
    assert (m.text, m.truncated) == (WHOLE, False)
    assert s.upsert_mentions([mention(likes=7)]).updated == 1  # a snippet of it, with new likes
    (m,) = s.iter_mentions()
    assert (m.text, m.truncated, m.likes) == (WHOLE, False, 7)
    assert s.known_fingerprints("src")[m.fingerprint] == mention(likes=7).content_hash  # the same snippet: unchanged
    # snippet over snippet, and a snippet where only stars were stored
    s.upsert_mentions([mention(ext="r2"), mention("", ext="r3", truncated=False)])
    s.upsert_mentions([mention(SNIPPET.replace("The air", "The"), ext="r2"), mention(ext="r3")])
    got = {x.external_id: (x.text, x.truncated) for x in s.iter_mentions()}
    assert got["r2"] == (SNIPPET.replace("The air", "The"), True) and got["r3"] == (SNIPPET, True)


def test_an_older_sqlite_store_gains_the_column_and_its_rows_read_as_full(tmp_path: Path) -> None:
    from crawlers.store.sqlite import SQLiteStore
    from crawlers.store.summary import TABLES as SUMMARY_TABLES
    from crawlers.store.summary import drop_summary_triggers

    db = tmp_path / "old.db"
    s = SQLiteStore(str(db))
    s.upsert_mentions([mention(WHOLE, truncated=False)])
    s.close()
    con = sqlite3.connect(db)
    # as a store from before the flag, which had no day summaries either (they came later)
    drop_summary_triggers(con)
    for table in SUMMARY_TABLES:
        con.execute(f"DROP TABLE {table.name}")
    con.execute("ALTER TABLE mentions DROP COLUMN truncated")
    con.commit()
    con.close()
    s = SQLiteStore(str(db))
    try:
        (m,) = s.iter_mentions()
        assert m.truncated is False and m.text == WHOLE
        assert s.upsert_mentions([mention()]).updated == 1  # a snippet read now does not cut it
        (m,) = s.iter_mentions()
        assert (m.text, m.truncated) == (WHOLE, False)
    finally:
        s.close()


def test_mongo_documents_from_before_the_flag_read_as_full_texts() -> None:
    from crawlers.store.mongo import doc_to_mention, mention_to_doc

    doc = mention_to_doc(mention(WHOLE, truncated=False))
    del doc["truncated"]
    assert doc_to_mention(doc).truncated is False
    assert doc_to_mention(mention_to_doc(mention())).truncated is True


def test_rollup_and_trend_export_count_snippets(tmp_path: Path) -> None:
    from crawlers.store.base import WHOLE_RANGE
    from crawlers.store.sqlite import SQLiteStore
    from monitor.export import trend_query, trend_rows

    s = SQLiteStore(str(tmp_path / "r.db"))
    try:
        s.upsert_mentions([mention(location_id="loc"), mention(WHOLE, ext="r2", truncated=False, location_id="loc")])
        (row,) = s.rollup(bucket=WHOLE_RANGE, group_by=["location_id"])
        assert (row.mentions, row.truncated) == (2, 1)
        q = trend_query("month", ["location"])
        (out,) = trend_rows(s, q, {})
        assert dict(zip([c for c, _ in q.columns], out, strict=True))["truncated"] == 1
    finally:
        s.close()


# -- crawl health: rating-only reviews are not missing texts; snippets are not full texts ------
def test_field_counters_tell_full_texts_snippets_and_rating_only_apart() -> None:
    cut, whole, stars = mention(), mention(WHOLE, truncated=False), mention("", truncated=False)
    assert [has_field(m, "text") for m in (cut, whole, stars)] == [False, True, False]
    assert [has_field(m, "truncated") for m in (cut, whole, stars)] == [True, False, False]
    assert [has_field(m, "rating_only") for m in (cut, whole, stars)] == [False, False, True]


def _stats(read: int, text: int, rating_only: int | None, truncated: int = 0) -> dict[str, Any]:
    out = {"vocwatch/mentions/extracted": read, "vocwatch/pages/read": 1, "vocwatch/store/inserted": read,
           "vocwatch/fields/text": text, "vocwatch/fields/published_at": read, "vocwatch/fields/rating": read,
           "vocwatch/fields/author": read}
    if rating_only is not None:
        out |= {"vocwatch/fields/rating_only": rating_only, "vocwatch/fields/truncated": truncated}
    return out


def test_health_text_coverage_leaves_rating_only_reviews_out() -> None:
    from config.model import HealthSettings
    from crawlers.store.base import CrawlRun
    from monitor.health import check_run, coverage

    def run(i: int, st: dict[str, Any]) -> CrawlRun:
        return CrawlRun(id=i, source_id="gm", spider="site", started_at=NOW, finished_at=NOW, outcome="finished",
                        stats=st)

    s = HealthSettings()
    # a Google Maps source: most reviews stars only; the ones with words all have them whole
    assert coverage(_stats(10, 3, 7)) == {"text": 1.0, "words": 0.3, "published_at": 1.0, "rating": 1.0,
                                          "author": 1.0}
    past = [run(99 - k, _stats(10, 9, 1)) for k in range(3)]
    assert check_run(run(100, _stats(10, 2, 8)), [run(99, _stats(10, 3, 7))], s) == []  # no longer "text lost"
    # every review turned stars-only on a source whose reviews had words: the words are lost
    (f,) = check_run(run(100, _stats(10, 0, 10)), past, s)
    assert (f.problem, f.severity) == ("fields_lost", "critical")
    assert list(f.details["fields"]) == ["words"] and "rating-only" in f.message
    # the expansion broke: the words are there, the full texts are not
    (f,) = check_run(run(100, _stats(10, 1, 0, truncated=9)), past, s)
    assert f.details["fields"] == {"text": [1.0, 0.1]}
    # runs from before the rating-only counter: their words share is not known, never a "was"
    assert coverage(_stats(10, 9, None))["words"] is None
    assert check_run(run(100, _stats(10, 1, 9)), [run(99 - k, _stats(10, 9, None)) for k in range(3)], s) == []


# -- adapters: which sources serve snippets ---------------------------------------------------
def _page(site_dir: str, name: str, url: str, tz: str = "UTC", encoding: str = "utf-8") -> Page:
    text = shared_path("pages", site_dir, name).read_text(encoding=encoding, errors="replace")
    return Page(url=url, text=text, now=datetime(2026, 12, 1, tzinfo=UTC), tz=ZoneInfo(tz))


BERGEN = "https://www.tripadvisor.no/Hotel_Review-g190502-d206868-Reviews-Radisson_Blu_Royal_Hotel_Bergen-Bergen_Hordaland_Western_Norway.html"
KRANJ = "https://www.tripadvisor.com/Attraction_Review-g644300-d7289577-Reviews-Tourist_Information_Centre_Kranj_House-Kranj_Upper_Carniola_Region.html"


def test_tripadvisor_2015_listing_flags_the_cards_with_a_more_link_and_names_their_fragment() -> None:
    """Read from the raw file: of the cards the adapter reads, the three whose
    ``p.partial_entry`` holds ``span.taLnk.moreLink`` "Mer" (``grep -n moreLink``) are
    267503657, 266972379 and 263952550; each text ends in "..." there."""
    page = _page("tripadvisor", BERGEN.rsplit("/", 1)[1].replace("Hotel_Review", "_Hotel_Review"), BERGEN)
    r = adapter("tripadvisor").read(page)
    cut = [m.external_id for m in r.mentions if m.truncated]
    assert cut == ["267503657", "266972379", "263952550"]
    assert all(m.text.endswith("...") and "Mer" not in m.text[-5:] for m in r.mentions if m.truncated)
    assert r.expand_urls == ["https://www.tripadvisor.no/ExpandedUserReviews-g190502-d206868?target=267503657"
                             "&context=1&reviews=267503657,266972379,263952550&servlet=Hotel_Review&expand=1"]


def test_tripadvisor_2018_listing_flags_more_links_and_keeps_more_out_of_the_text() -> None:
    """Read from the raw file: five ``review-container`` cards have ``span.taLnk.ulBlueLinks``
    "More" in their ``p.partial_entry`` (595277937, 538456929, 538004019, 538001810,
    502887186); the text before it ends in "..."."""
    r = adapter("tripadvisor").read(_page("tripadvisor", "reviews-www.tripadvisor.com.html", KRANJ))
    assert [m.external_id for m in r.mentions if m.truncated] == [
        "595277937", "538456929", "538004019", "538001810", "502887186"]
    assert not any(m.text.endswith("More") for m in r.mentions)
    (url,) = r.expand_urls
    assert url.startswith("https://www.tripadvisor.com/ExpandedUserReviews-g644300-d7289577?target=595277937&")
    assert "servlet=Attraction_Review" in url


def test_tripadvisor_fragment_and_json_hold_full_texts() -> None:
    frag = adapter("tripadvisor").read(_page("tripadvisor", "ExpandedUserReview1.html",
                                             "https://www.tripadvisor.no/ExpandedUserReviews-g190502-d206868",
                                             encoding="latin-1"))
    assert frag.mentions and not any(m.truncated for m in frag.mentions) and frag.expand_urls == []
    js = adapter("tripadvisor")(_page("tripadvisor", "hotels.json", "https://www.tripadvisor.com/Hotel_Review-x"))
    assert js and not any(m.truncated for m in js)


def test_yelp_search_snippets_are_flagged() -> None:
    """Read with jq: all 21 ``businesses[].snippet_text`` end in "..." (the API's excerpt of
    one review, ~155 characters); the GraphQL ``text.full`` reviews are whole."""
    ms = adapter("yelp")(_page("yelp", "yelp.json", "https://api.yelp.com/v2/search"))
    assert len(ms) == 21 and all(m.truncated for m in ms)
    full = adapter("yelp")(_page("yelp", "reviews.json", "https://www.yelp.com/biz/vons-1000-spirits-seattle-4"))
    assert full and not any(m.truncated for m in full)


def test_dianping_folded_short_text_is_a_snippet() -> None:
    """The real page gives every review its ``J-info-all`` full text (10 of 10, grep -c):
    none is a snippet. A review shown only folded (``J-info-short``) is one."""
    page = _page("dianping", "dianping.html", "https://www.dianping.com/shop/1", tz="Asia/Shanghai")
    ms = adapter("dianping")(page)
    assert len(ms) == 10 and not any(m.truncated for m in ms)
    folded = ('<div id="review-list"><ul><li class="comment-item"><a class="name">食客</a>'
              '<div class="J-info-short"><p class="desc">环境很好，菜品也不错，就是上菜有点慢，服务员...</p></div>'
              '<span class="time">2026-11-20</span><a class="J-praise" data-id="77">赞</a></li></ul></div>')
    (m,) = adapter("dianping")(Page("https://www.dianping.com/shop/1/review_all", folded, NOW,
                                    ZoneInfo("Asia/Shanghai")))
    assert m.truncated and m.text.endswith("...")


def test_weibo_long_posts_are_cut_at_their_full_text_link_and_expand_through_statuses_extend() -> None:
    """Read from the raw file: one top-level mblog of data.js has ``isLongText: true`` and no
    ``longText`` (id 4393264377139656); its text ends in "...<a ...>全文</a>"."""
    page = _page("weibo", "data.js", "https://m.weibo.cn/api/container/getIndex?containerid=1", tz="Asia/Shanghai")
    r = adapter("weibo").read(page)
    assert [m.external_id for m in r.mentions if m.truncated] == ["4393264377139656"]
    assert not any(m.text.endswith("全文") for m in r.mentions)
    assert r.expand_urls == ["https://m.weibo.cn/statuses/extend?id=4393264377139656"]
    extend = Page("https://m.weibo.cn/statuses/extend?id=4393264377139656",
                  json.dumps({"ok": 1, "data": {"ok": 1, "longTextContent": "全文在这里，很长很长。"}}), NOW,
                  ZoneInfo("Asia/Shanghai"))
    (full,) = adapter("weibo")(extend)
    assert (full.external_id, full.text, full.truncated) == ("4393264377139656", "全文在这里，很长很长。", False)


def test_weibo_cn_reposts_of_long_posts_keep_the_reason_whole() -> None:
    """The weibo.cn page's "全文" links sit in reposted originals (``span.cmt`` cards): the
    mention is the reposter's reason, which is whole."""
    page = _page("weibo", "d486235d4a17dd0accb0f2cc77b3648abfa03580b9e0cdb61f1e618f.html", "https://weibo.cn/u/1",
                 tz="Asia/Shanghai")
    ms = adapter("weibo")(page)
    assert ms and not any(m.truncated or "全文" in m.text[-3:] for m in ms)


def test_feed_excerpts_are_flagged_full_contents_are_not() -> None:
    feed = ('<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            "<channel><title>t</title>"
            "<item><guid>1</guid><title>a</title><description>We stayed three nights and [&amp;#8230;]"
            "</description></item>"
            "<item><guid>2</guid><title>b</title><description>Short and whole.</description></item>"
            "<item><guid>3</guid><title>c</title><description>Cut...</description>"
            "<content:encoded>&lt;p&gt;The whole post.&lt;/p&gt;</content:encoded></item>"
            '<item><guid>4</guid><title>d</title><description>First lines &lt;a href="/p/4"&gt;Continue reading'
            " &amp;#8594;&lt;/a&gt;</description></item>"
            "</channel></rss>")
    ms = adapter("rss")(Page("https://blog.example/feed", feed, NOW, ZoneInfo("UTC")))
    assert [m.truncated for m in ms] == [True, False, False, True]
    for name in ("onethingwell.rss", "slickdeals.atom"):  # real feeds: whole descriptions
        assert not any(m.truncated for m in adapter("rss")(_page("rss", name, "https://example.com/feed")))


@pytest.mark.parametrize(("site", "parts", "url"), [
    ("google_maps", ("google_maps", "raw.json"), "https://www.google.com/maps/place/Kipriakon"),
    ("google_maps", ("google_maps", "review_native_with_reply.json"), "https://www.google.com/maps/rpc/listugcposts"),
    ("booking", ("booking", "hotel_review.json"), "https://www.booking.com/reviewlist.html"),
    ("amazon", ("amazon", "Amazon.com_Customer_reviews.html"), "https://www.amazon.com/product-reviews/B0BBPNPZTC"),
    ("amazon", ("amazon", "reviews.json"), "https://www.amazon.com/product-reviews/B0BBPNPZTC"),
    ("hackernews", ("hackernews", "comments.json"), "https://hn.algolia.com/api/v1/items/1"),
    ("discourse", ("discourse", "topic.json"), "https://meta.discourse.org/t/1.json"),
    ("zhihu", ("zhihu", "zhihu.html"), "https://www.zhihu.com/question/1"),
    ("jd", ("jd", "jd_comments.json"), "https://club.jd.com/comment/productPageComments.action"),
])
def test_sources_that_serve_whole_texts_flag_nothing(site: str, parts: tuple[str, str], url: str) -> None:
    """These sources carry the whole text in the data even where the site shows a "More"
    button (Google Maps, Amazon's CSS ``a-expander``: the two "Read more" controls on the
    Amazon page are on viewpoint cards whose full text is in the markup), so nothing is cut."""
    ms = adapter(site)(_page(*parts, url=url))
    assert ms and not any(m.truncated for m in ms)


# -- the selectors engine: a rule says which items are snippets --------------------------------
def _selectors(tmp_path: Path, body: str) -> Any:
    from config.selectors import load_selector_file

    path = tmp_path / "s.toml"
    path.write_text(body, encoding="utf-8")
    return load_selector_file(path)


def test_selectors_truncated_rule_html_and_json(tmp_path: Path) -> None:
    from spiders.pages.selectors import SelectorPage

    spec = _selectors(tmp_path, '''type = "html"\nitem = "div.r"\n[fields]\nexternal_id = "span.id::text"
text = "p.body"\ntruncated = "a.more::text"\n''')
    html = ('<html><body><div class="r"><span class="id">1</span><p class="body">Good stay, the room...</p>'
            '<a class="more" href="/r/1">Read more</a></div>'
            '<div class="r"><span class="id">2</span><p class="body">Fine.</p></div></body></html>')
    ms = SelectorPage(Page("https://s.example/r", html, NOW, ZoneInfo("UTC")), spec).mentions()
    assert [(m.external_id, m.truncated) for m in ms] == [("1", True), ("2", False)]
    spec = _selectors(tmp_path, '''type = "json"\nitem = "posts"\n[fields]\nexternal_id = "id"
text = "text"\ntruncated = "isLongText"\n''')
    body = json.dumps({"posts": [{"id": 1, "text": "a long post ...", "isLongText": True},
                                 {"id": 2, "text": "short", "isLongText": False}, {"id": 3, "text": "no flag"}]})
    ms = SelectorPage(Page("https://s.example/r.json", body, NOW, ZoneInfo("UTC")), spec).mentions()
    assert [(m.external_id, m.truncated) for m in ms] == [("1", True), ("2", False), ("3", False)]


def test_zhihu_topic_feed_answers_are_snippets_question_pages_are_not() -> None:
    """Read from the raw fixture: the topic page's 5 answers are ``RichContent is-collapsed``
    with a "阅读全文" button; 4 of their ``itemprop=text`` bodies stop with "…" (the third ends
    "运行结果正确！"). The question pages have no collapsed answer."""
    from vocwatch.fixtures import discover

    found = {fx.path.name: fx.read().mentions for fx in discover(Path("tests/fixtures/pages"))
             if fx.path.parent.name == "zhihu"}
    assert [m.truncated for m in found["topic-python-top-answers-2018"]] == [True, True, False, True, True]
    assert not any(m.truncated for m in found["articlespider-zhihu-2018"] + found["articlespider-zhihu1-2018"])
