"""Rating-only reviews (stars, no words) are first-class: kept by the adapters and the
selectors engine, stored with text ``""``, counted in ratings, review counts and benchmarks,
and skipped by the text analysis (no language, no sentiment, not a neutral)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from config.loader import load_config
from config.selectors import load_selector_file
from crawlers.items import Mention, apply_analysis, mention_fingerprint
from crawlers.store import open_store
from crawlers.store.base import WHOLE_RANGE
from monitor.metrics import benchmark
from nlp.analyze import analyze
from pipelines.clean import CleanPipeline
from pipelines.enrich import EnrichPipeline
from spiders.pages.base import Page
from spiders.pages.registry import adapter
from spiders.pages.selectors import SelectorPage
from tests.conftest import ONE_HOTEL, crawl_head, local_site, run_vocwatch, shared_path

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def crawler(tmp_path: Path) -> Any:
    c = get_crawler(settings_dict={"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/p.db", "VOCWATCH_NLP_WORKERS": 0})
    c.stats.open_spider()
    return c


def mention(text: str | None = "", ext: str | None = "1", **kw: Any) -> Mention:
    fields: dict[str, Any] = {"kind": "review", "author": "Bob", "rating_raw": 4.0, "rating_scale": 5.0,
                              "published_at": datetime(2026, 11, 1, tzinfo=UTC), **kw}
    return Mention(site="s", url="http://s/1", text=text, external_id=ext, **fields)  # type: ignore[arg-type]


# -- item and clean stage -----------------------------------------------------------------
@pytest.mark.parametrize("text", ["", None, "  \n\u200b "])
def test_clean_keeps_a_rating_only_review_with_empty_text(crawler: Any, text: str | None) -> None:
    m = CleanPipeline.from_crawler(crawler).process_item(mention(text))
    assert m.text == "" and m.rating == 4.0 and len(m.fingerprint) == 40 and len(m.content_hash) == 40
    assert crawler.stats.get_value("vocwatch/rating_only") == 1
    assert not crawler.stats.get_value("vocwatch/dropped/missing_text")


def test_clean_drops_a_mention_with_neither_text_nor_rating(crawler: Any) -> None:
    with pytest.raises(DropItem, match="missing_text"):
        CleanPipeline.from_crawler(crawler).process_item(mention("", rating_raw=None))
    assert crawler.stats.get_value("vocwatch/dropped/missing_text") == 1


def test_clean_drops_a_rating_that_cannot_be_normalised_and_no_text(crawler: Any) -> None:
    with pytest.raises(DropItem, match="missing_text"):
        CleanPipeline.from_crawler(crawler).process_item(mention("", rating_raw=7.0, rating_scale=0.0))


def test_fingerprint_of_id_less_rating_only_reviews_uses_rating_and_date() -> None:
    a = mention("", ext=None)
    assert mention_fingerprint(a) == mention_fingerprint(mention("", ext=None))
    assert mention_fingerprint(a) != mention_fingerprint(mention("", ext=None, rating_raw=5.0))
    assert mention_fingerprint(a) != mention_fingerprint(
        mention("", ext=None, published_at=datetime(2026, 11, 2, tzinfo=UTC)))
    assert mention_fingerprint(a) != mention_fingerprint(mention("", ext=None, author="Eve"))
    # a text mention's key is unchanged (stored fingerprints stay valid)
    t = mention("nice", ext=None)
    assert mention_fingerprint(t) == mention_fingerprint(mention("nice", ext=None, rating_raw=1.0))


# -- NLP ----------------------------------------------------------------------------------
def test_enrich_leaves_rating_only_reviews_unlabelled(crawler: Any) -> None:
    enrich = EnrichPipeline.from_crawler(crawler)

    async def run() -> list[Mention]:
        items = [mention(""), mention("Filthy room and rude staff, never again", ext="2")]
        return list(await asyncio.gather(*(enrich.process_item(m) for m in items)))

    stars, words = asyncio.run(run())
    assert (stars.language, stars.sentiment_label, stars.sentiment_score) == (None, None, None)
    assert (stars.aspects, stars.keywords, stars.nlp_model) == ([], [], "none")
    assert words.sentiment_label == "negative" and words.language == "en"
    assert crawler.stats.get_value("vocwatch/nlp/no_text") == 1


def test_enrich_with_only_rating_only_reviews_analyses_nothing(crawler: Any) -> None:
    enrich = EnrichPipeline.from_crawler(crawler)
    m = asyncio.run(enrich.process_item(mention("")))
    assert m.sentiment_label is None and not crawler.stats.get_value("vocwatch/nlp/batches")


def test_apply_analysis_never_labels_a_text_less_mention() -> None:
    m = mention("")
    apply_analysis(m, analyze([""])[0])  # what reanalyze does: the analysis would say neutral
    assert m.sentiment_label is None and m.sentiment_score is None and m.nlp_model == "none"


# -- store rollups and metrics -------------------------------------------------------------
def test_rollup_counts_rating_only_in_ratings_not_in_sentiment(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/r.db")
    try:
        texty = mention("Lovely stay", ext="t", rating_raw=5.0, location_id="loc")
        texty.sentiment_label, texty.sentiment_score, texty.nlp_model = "positive", 0.8, "vader"
        stars = mention("", ext="s", rating_raw=3.0, location_id="loc")
        apply_analysis(stars, analyze([""])[0])
        for m in (texty, stars):
            m.rating = m.rating_raw  # on 0-5 already, as clean would set it
            m.fingerprint, m.content_hash = mention_fingerprint(m), m.external_id or ""
        store.upsert_mentions([texty, stars])
        (row,) = store.rollup(bucket=WHOLE_RANGE, since=datetime(2026, 10, 1, tzinfo=UTC))
        assert (row.mentions, row.rated, row.rating_sum) == (2, 2, 8.0)
        assert (row.positive, row.neutral, row.negative, row.scored) == (1, 0, 0, 1)
    finally:
        store.close()


# -- adapters and the selectors engine ------------------------------------------------------
def _page(url: str, text: str) -> Page:
    return Page(url=url, text=text, now=NOW, tz=ZoneInfo("UTC"))


def _jsonld_html(reviews: list[dict[str, Any]]) -> str:
    ld = {"@context": "https://schema.org", "@type": "Hotel", "name": "H", "review": reviews}
    return f'<html><head><script type="application/ld+json">{json.dumps(ld)}</script></head><body></body></html>'


STAR_ONLY = [
    {"@type": "Review", "identifier": "a", "reviewBody": "Quiet and clean.", "datePublished": "2026-11-01",
     "author": {"@type": "Person", "name": "Ann"}, "reviewRating": {"@type": "Rating", "ratingValue": 5}},
    {"@type": "Review", "identifier": "b", "datePublished": "2026-11-02",
     "author": {"@type": "Person", "name": "Ben"}, "reviewRating": {"@type": "Rating", "ratingValue": 2}},
    {"@type": "Review", "identifier": "c", "datePublished": "2026-11-03",
     "author": {"@type": "Person", "name": "Cy"}, "reviewRating": {"@type": "Rating", "ratingValue": "4", "bestRating": "5"}},
    {"@type": "Review", "identifier": "d", "datePublished": "2026-11-04"},  # neither: not a mention
]


def test_schema_org_keeps_reviews_with_a_rating_and_no_body() -> None:
    ms = adapter("schema_org")(_page("https://h.example/hotel", _jsonld_html(STAR_ONLY)))
    assert [(m.external_id, m.text, m.rating) for m in ms] == [
        ("a", "Quiet and clean.", 5.0), ("b", "", 2.0), ("c", "", 4.0)]


def test_google_maps_keeps_star_only_reviews() -> None:
    def el(rid: str, stars: int, text: str | None) -> list[Any]:
        body: list[Any] = [[stars]] + [None] * 15
        if text is not None:
            body[15] = [[text]]
        return [rid, [None, None, 1_763_000_000_000_000, None, [None, None, None, None, None, ["Ann"]], None, "a week ago"],
                body]

    data = [None, "tok", [[el("r1", 5, "Great coffee")], [el("r2", 3, None)], [el("r3", 4, None)]]]
    page = _page("https://www.google.com/maps/rpc/listugcposts", ")]}'\n" + json.dumps(data))
    ms = adapter("google_maps")(page)
    assert [(m.external_id, m.text, m.rating) for m in ms] == [("r1", "Great coffee", 5.0), ("r2", "", 3.0), ("r3", "", 4.0)]


SELECTORS = """
type = "{type}"
item = "{item}"
rating_scale = 5
[fields]
external_id = "{id}"
text = "{text}"
rating = "{rating}"
"""


def _spec(tmp_path: Path, **kw: str) -> Any:
    path = tmp_path / "stars.toml"
    path.write_text(SELECTORS.format(**kw), encoding="utf-8")
    return load_selector_file(path)


def test_selectors_engine_keeps_rating_only_items_html(tmp_path: Path) -> None:
    spec = _spec(tmp_path, type="html", item="div.r", id="span.id::text", text="p.body", rating="span.stars::text")
    html = ('<html><body><div class="r"><span class="id">1</span><p class="body">Fine</p><span class="stars">4</span></div>'
            '<div class="r"><span class="id">2</span><span class="stars">2</span></div>'
            '<div class="r"><span class="id">3</span><p class="body"></p></div></body></html>')
    ms = SelectorPage(_page("https://s.example/r", html), spec).mentions()
    assert [(m.external_id, m.text, m.rating) for m in ms] == [("1", "Fine", 4.0), ("2", "", 2.0)]


def test_selectors_engine_keeps_rating_only_items_json(tmp_path: Path) -> None:
    spec = _spec(tmp_path, type="json", item="reviews", id="id", text="body", rating="stars")
    body = json.dumps({"reviews": [{"id": 1, "body": "Fine", "stars": 4}, {"id": 2, "body": None, "stars": 1},
                                   {"id": 3, "body": ""}]})
    ms = SelectorPage(_page("https://s.example/r.json", body), spec).mentions()
    assert [(m.external_id, m.text, m.rating) for m in ms] == [("1", "Fine", 4.0), ("2", "", 1.0)]


# -- real saved pages (../shared/pages) -----------------------------------------------------
def test_eleme_star_only_ratings_on_the_real_page_survive_the_clean_stage(crawler: Any) -> None:
    text = shared_path("pages", "eleme", "comment.js").read_text("utf-8")
    page = Page(url="https://www.ele.me/restapi/ugc/v3/restaurants/1/ratings", text=text, now=NOW,
                tz=ZoneInfo("Asia/Shanghai"))
    clean = CleanPipeline.from_crawler(crawler)
    kept = [clean.process_item(m) for m in adapter("eleme")(page)]
    rating_only = [m for m in kept if not m.text]
    assert len(kept) == 20 and len(rating_only) == 4  # the four were dropped as missing_text before
    assert all(m.rating is not None for m in rating_only)
    assert len({m.fingerprint for m in kept}) == 20


# -- end to end ------------------------------------------------------------------------------
CONFIG = crawl_head(delay=0.05, timeout=None) + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "site"
site = "schema_org"
url = "{base}/hotel/1"
"""


def _reviews() -> list[dict[str, Any]]:
    out = []
    for n in range(12):
        day = (NOW - timedelta(days=n + 1)).date().isoformat()
        r: dict[str, Any] = {"@type": "Review", "identifier": f"r{n}", "datePublished": day,
                             "author": {"@type": "Person", "name": f"guest {n}"},
                             "reviewRating": {"@type": "Rating", "ratingValue": 1 + n % 5, "bestRating": 5}}
        if n % 3 == 0:  # a third with words, the rest stars only
            r["reviewBody"] = "Wonderful staff, spotless room, we loved it."
        out.append(r)
    out.append({"@type": "Review", "identifier": "empty", "datePublished": NOW.date().isoformat()})
    return out


def _hotel(path: str) -> tuple[int, str, bytes]:
    if urlsplit(path).path == "/robots.txt":
        return 200, "text/plain", b"User-agent: *\nAllow: /\n"
    return 200, "text/html; charset=utf-8", _jsonld_html(_reviews()).encode()


@pytest.fixture
def hotel_site() -> Iterator[tuple[str, list[str]]]:
    with local_site(_hotel) as site:
        yield site


def test_crawl_stores_star_only_reviews_and_benchmarks_count_them(hotel_site: tuple[str, list[str]],
                                                                  tmp_path: Path) -> None:
    base, _ = hotel_site
    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "s.db", base=base), encoding="utf-8")
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        got = {m.external_id: m for m in store.iter_mentions()}
        assert set(got) == {f"r{n}" for n in range(12)}  # the review with neither is not stored
        stars = [m for m in got.values() if not m.text]
        assert len(stars) == 8
        assert all(m.rating is not None and m.sentiment_label is None and m.language is None for m in stars)
        assert all(m.sentiment_label is not None for m in got.values() if m.text)
        (run,) = store.list_runs()
        assert run.stats["vocwatch/rating_only"] == 8
        assert run.stats["vocwatch/store/inserted"] == 12
        (b,) = benchmark(load_config(cfg), store, window="30d", now=NOW)
        assert b.current.mentions == 12 and b.current.rated == 12
        assert b.current.avg_rating == pytest.approx(sum(1 + n % 5 for n in range(12)) / 12)
        scored = b.current.positive + b.current.neutral + b.current.negative
        assert scored == 4  # only the reviews with words carry a sentiment
    finally:
        store.close()
