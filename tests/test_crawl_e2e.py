"""End to end: crawl every sandbox site over real HTTP into SQLite with the real CLI,
then check the stored mentions field by field against the sandbox's ground truth."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import pytest

from crawlers.items import Mention
from crawlers.store import CrawlRun, open_store
from tests.conftest import DEMO_CONFIG, run_vocwatch, runs_by_source

SHANGHAI = ZoneInfo("Asia/Shanghai")
GBK_ONLY = set("喆堃珺玥镕體驗")


class Crawl:
    def __init__(self, sandbox: Any, db: Path) -> None:
        self.sandbox, self.url = sandbox, f"sqlite:///{db}"

    def run(self, *extra: str) -> str:
        proc = run_vocwatch("crawl", "-c", str(DEMO_CONFIG), "--store", self.url, "-q", "--log-level", "INFO", *extra,
                            env={"VOCWATCH_SANDBOX": self.sandbox.base_url})
        # exit 3: the sandbox's cut-off mall page makes beanleaf-hz-hubin partial on purpose
        assert proc.returncode == 3, proc.stdout + proc.stderr[-5000:]
        return proc.stdout

    def mentions(self) -> dict[tuple[str, str], Mention]:
        store = open_store(self.url)
        try:
            return {(m.site, m.external_id or ""): m for m in store.iter_mentions()}
        finally:
            store.close()

    def runs(self) -> dict[str, list[CrawlRun]]:
        return runs_by_source(self.url)


@pytest.fixture(scope="module")
def crawled(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    sandbox.reset_faults()
    start = len(sandbox.request_log)
    crawl = Crawl(sandbox, tmp_path_factory.mktemp("e2e") / "e2e.db")
    crawl.output = crawl.run()  # type: ignore[attr-defined]
    crawl.first_requests = list(sandbox.request_log[start:])  # type: ignore[attr-defined]
    crawl.first_mentions = crawl.mentions()  # type: ignore[attr-defined]
    return crawl


def expected(sandbox: Any) -> list[Any]:
    return [t for t in sandbox.truth if t.valid and not t.on_malformed_page]


def test_every_readable_mention_is_stored_once(crawled: Crawl) -> None:
    stored = crawled.first_mentions  # type: ignore[attr-defined]
    want = {(t.site, t.external_id) for t in expected(crawled.sandbox)}
    assert set(stored) == want
    assert len(stored) > 300


def test_fields_match_the_pages(crawled: Crawl) -> None:
    stored = crawled.first_mentions  # type: ignore[attr-defined]
    pseudonyms: dict[str, str] = {}
    for t in expected(crawled.sandbox):
        m = stored[(t.site, t.external_id)]
        ctx = f"{t.site} {t.external_id}"
        assert m.location_id == t.location_id, ctx
        assert m.text == t.text, ctx
        assert m.title == t.title, ctx
        if t.rating is None:
            assert m.rating is None, ctx
        else:
            assert m.rating_raw == t.rating and m.rating_scale == t.rating_scale, ctx
            assert m.rating == pytest.approx(round(t.rating / t.rating_scale * 5, 2)), ctx
            assert 0 <= m.rating <= 5
        assert (m.likes, m.reposts, m.comments) == (t.likes, t.reposts, t.comments), ctx
        assert m.reply_text == t.reply_text, ctx
        # the link to the item's own page, as the listing gave it
        assert m.permalink == urljoin(crawled.sandbox.base_url, t.permalink), ctx
        assert m.reply_at == t.reply_at, ctx
        assert m.language == (t.lang if t.text else None), ctx  # a rating-only review has no language
        if t.text:
            assert m.sentiment_label in ("positive", "neutral", "negative") and -1 <= m.sentiment_score <= 1, ctx
        else:  # rating-only: never scored as a neutral it did not express
            assert (m.sentiment_label, m.sentiment_score, m.nlp_model) == (None, None, "none"), ctx
        assert m.published_at is not None and m.published_at.tzinfo is not None, ctx
        # authors are pseudonymised, consistently
        assert m.author and re.fullmatch(r"u_[0-9a-f]{16}", m.author), ctx
        assert pseudonyms.setdefault(f"{t.site}/{t.author}", m.author) == m.author, ctx
        assert t.author not in (m.author or "")


def _check_time(t: Any, m: Mention) -> None:
    got, true = m.published_at, t.published_at
    raw = m.published_raw or ""
    assert got is not None
    if t.site != "weibo":
        shown_precision = timedelta(minutes=1) if t.site == "forum" else timedelta(seconds=1)
        assert abs(got - true) < shown_precision, (t.external_id, raw, got, true)
    elif raw == "刚刚":
        assert abs(got - true) <= timedelta(minutes=2)
    elif raw.endswith("分钟前"):
        assert abs(got - true) <= timedelta(minutes=2), (raw, got, true)
    elif raw.endswith("小时前"):
        assert abs(got - true) <= timedelta(hours=1, minutes=1), (raw, got, true)
    elif raw.startswith("昨天"):
        assert abs(got - true) < timedelta(minutes=1), (raw, got, true)
    else:  # MM-DD or YYYY-MM-DD: the local calendar date is all the page says
        assert got.astimezone(SHANGHAI).date() == true.astimezone(SHANGHAI).date(), (raw, got, true)


def test_dates_are_utc_and_relative_times_resolved(crawled: Crawl) -> None:
    stored = crawled.first_mentions  # type: ignore[attr-defined]
    raws = set()
    for t in expected(crawled.sandbox):
        m = stored[(t.site, t.external_id)]
        assert m.published_at.utcoffset() == timedelta(0)  # type: ignore[union-attr]
        _check_time(t, m)
        if t.site == "weibo":
            raws.add(re.sub(r"\d+", "N", m.published_raw or ""))
    # the feed really showed relative forms, and each was resolved
    assert {"N分钟前", "N小时前"} <= raws and any(r.startswith("昨天") for r in raws)


def test_gbk_forum_text_is_intact(crawled: Crawl) -> None:
    forum = [m for (site, _), m in crawled.first_mentions.items() if site == "forum"]  # type: ignore[attr-defined]
    assert forum
    found = set("".join(m.text + (m.title or "") for m in forum)) & GBK_ONLY
    assert found, "no GBK-only characters survived: the pages were decoded with the wrong codec"
    assert not any("\ufffd" in m.text for m in forum)


def test_robots_disallowed_path_never_fetched(crawled: Crawl) -> None:
    paths = [r.path for r in crawled.first_requests]  # type: ignore[attr-defined]
    assert "/robots.txt" in paths
    assert not [p for p in paths if p.startswith("/forum/private/")]
    forum_run = crawled.runs()["harbor-hz-westlake/forum"][0]
    assert forum_run.stats.get("robotstxt/forbidden", 0) >= 1


def test_429_is_retried_after_waiting(crawled: Crawl) -> None:
    page2 = [r for r in crawled.first_requests if "productId=100012345" in r.path and "page=2" in r.path]  # type: ignore[attr-defined]
    assert [r.status for r in page2] == [429, 200]
    assert (page2[1].at - page2[0].at).total_seconds() >= 0.9  # Retry-After: 1 was honoured
    run = crawled.runs()["beanleaf-sh-xintiandi/mall_comments"][0]
    assert run.stats["vocwatch/retry_after_waits"] == 1 and run.outcome == "finished"


def test_503_is_retried(crawled: Crawl) -> None:
    statuses = [r.status for r in crawled.first_requests if r.path.startswith("/weibo/") and "max_id=" in r.path  # type: ignore[attr-defined]
                and "%E6%B8%AF" in r.path]
    assert statuses[:2] == [503, 200]


def test_malformed_page_counted_and_rest_of_source_read(crawled: Crawl) -> None:
    run = crawled.runs()["beanleaf-hz-hubin/mall_comments"][0]
    # the sandbox's broken page is JSON cut off mid-document: a truncated page, retried, then dropped
    assert run.stats["vocwatch/dropped/page_truncated"] == 1
    assert run.stats["retry/reason_count/page_truncated"] >= 1
    assert run.outcome == "partial"  # the next crawl will not skip what it missed
    truth = crawled.sandbox.truth_for("/api/mall/comments?productId=100022345")
    stored = {k for k in crawled.first_mentions if k[0] == "mall"}  # type: ignore[attr-defined]
    readable = {(t.site, t.external_id) for t in truth if not t.on_malformed_page}
    assert readable <= stored and len(readable) < len(truth)


def test_rating_only_review_is_stored_unlabelled(crawled: Crawl) -> None:
    run = crawled.runs()["lotus-sh-bund/hotel_reviews"][0]
    assert not run.stats.get("vocwatch/dropped/missing_text")  # stars and no words: kept
    assert run.stats["vocwatch/rating_only"] == 1
    (m,) = [m for m in crawled.first_mentions.values() if not m.text]  # type: ignore[attr-defined]
    assert m.rating is not None and (m.sentiment_label, m.sentiment_score, m.language) == (None, None, None)
    assert run.stats["vocwatch/store/inserted"] == len([t for t in crawled.sandbox.truth_for("/hotels/h1002/reviews") if t.valid])


def test_rated_reviews_are_labelled_with_their_stars(crawled: Crawl) -> None:
    """Issue 14: a 4-5 star review is never stored negative, a 1-2 star one never positive
    (``nlp.rating``), whatever its text reads as; the rule is recorded in ``nlp_model``."""
    rated = [m for m in crawled.first_mentions.values() if m.text and m.rating is not None]  # type: ignore[attr-defined]
    assert len(rated) > 20
    assert all(m.nlp_model and m.nlp_model.split("+")[-1] == "stars-1" for m in rated)
    assert not [m.text for m in rated if m.rating >= 4 and m.sentiment_label == "negative"]
    assert not [m.text for m in rated if m.rating <= 2 and m.sentiment_label == "positive"]
    unrated = [m for m in crawled.first_mentions.values() if m.text and m.rating is None]  # type: ignore[attr-defined]
    assert unrated and not [m for m in unrated if "stars" in (m.nlp_model or "")]


def test_hostile_text_is_stored_as_text(crawled: Crawl) -> None:
    scripts = [m for m in crawled.first_mentions.values() if '<script>alert("x")</script>' in m.text]  # type: ignore[attr-defined]
    assert scripts, "the sandbox's review containing a literal <script> was not stored verbatim"


def test_second_crawl_adds_nothing_and_stops_early(crawled: Crawl) -> None:
    runs_before = crawled.runs()
    crawled.sandbox.reset_faults()
    start = len(crawled.sandbox.request_log)
    crawled.run()
    second_requests = crawled.sandbox.request_log[start:]
    after = crawled.mentions()
    assert after.keys() == crawled.first_mentions.keys()  # type: ignore[attr-defined]
    runs = crawled.runs()
    for source_id, source_runs in runs.items():
        assert len(source_runs) == len(runs_before[source_id]) + 1
        assert source_runs[-1].stats.get("vocwatch/store/inserted", 0) == 0, source_id
    # sources whose first run finished cleanly are crawled incrementally: page 1 only
    hotel_pages = [r.path for r in second_requests if r.path.startswith("/hotels/h1001/")]
    assert hotel_pages == ["/hotels/h1001/reviews"]
    assert runs["harbor-sh-bund/hotel_reviews"][-1].stats["vocwatch/dropped/already_stored"] >= 1
