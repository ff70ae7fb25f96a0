"""Pipelines on a real Scrapy crawler object: drops are counted with reasons, authors pseudonymised."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawlers.items import Mention
from crawlers.middlewares import retry_after_seconds
from pipelines.clean import CleanPipeline
from pipelines.dedupe import DedupePipeline
from pipelines.enrich import EnrichPipeline
from pipelines.store import StorePipeline


@pytest.fixture
def crawler(tmp_path: Path) -> Any:
    c = get_crawler(settings_dict={"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/p.db"})
    c.stats.open_spider()
    return c


def raw(ext: str = "1", text: str = "Great & quiet room", **kw: Any) -> Mention:
    fields: dict[str, Any] = {"kind": "review", "author": "Alice Smith", "rating_raw": 8.0, "rating_scale": 10.0,
                              "published_at": datetime(2026, 1, 1, tzinfo=UTC), **kw}
    return Mention(site="s", url="http://s/1", text=text, external_id=ext, **fields)


def test_clean_normalises_and_fingerprints(crawler: Any) -> None:
    p = CleanPipeline.from_crawler(crawler)
    m = p.process_item(raw(text="  Great & quiet room\n\n\n  by the river "))
    assert m.text == "Great & quiet room\nby the river" and m.rating == 4.0
    assert m.author and m.author.startswith("u_") and "Alice" not in m.author
    assert m.author == p.process_item(raw(ext="2")).author  # stable per author
    assert len(m.fingerprint) == 40 and len(m.content_hash) == 40


def test_clean_keeps_a_text_that_looks_like_markup(crawler: Any) -> None:
    """Page objects hand on text already laid out; the clean stage only tidies spacing, so
    what a user typed that looks like a tag (or an entity) is kept, as the page showed it."""
    p = CleanPipeline.from_crawler(crawler)
    for text in ("a<b and c>d", "#include <iostream> fails", "<b>not bold</b>, I wrote that", "Tom &amp; Jerry"):
        assert p.process_item(raw(text=text)).text == text


@pytest.mark.parametrize(("item", "reason"), [
    (raw(text="  \n \u200b ", rating_raw=None), "missing_text"),  # neither words nor stars
    (raw(text="ok", kind="tweet"), "bad_kind"),
    ({"text": "a dict"}, "not_a_mention"),
])
def test_clean_drops_are_counted(crawler: Any, item: Any, reason: str) -> None:
    with pytest.raises(DropItem, match=reason):
        CleanPipeline.from_crawler(crawler).process_item(item)
    assert crawler.stats.get_value(f"vocwatch/dropped/{reason}") == 1


def test_pseudonymisation_can_be_turned_off(tmp_path: Path) -> None:
    c = get_crawler(settings_dict={"VOCWATCH_STORE_URL": f"sqlite:///{tmp_path}/p.db", "VOCWATCH_PSEUDONYMISE_AUTHORS": False})
    c.stats.open_spider()
    assert CleanPipeline.from_crawler(c).process_item(raw()).author == "Alice Smith"


def test_dedupe_store_roundtrip(crawler: Any) -> None:
    clean, store = CleanPipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)

    async def run() -> None:
        dedupe = DedupePipeline.from_crawler(crawler)
        await dedupe.open_spider()
        item = dedupe.process_item(clean.process_item(raw()))
        with pytest.raises(DropItem):
            dedupe.process_item(clean.process_item(raw()))
        store.process_item(item)  # buffered: written by the flush at close
        await store.close_spider()
        # a later crawl: unchanged is dropped, changed passes as an update
        later = DedupePipeline.from_crawler(crawler)
        await later.open_spider()
        with pytest.raises(DropItem, match="already_stored"):
            later.process_item(clean.process_item(raw()))
        third = DedupePipeline.from_crawler(crawler)
        await third.open_spider()
        changed = third.process_item(clean.process_item(raw(likes=9)))
        store.process_item(changed)
        await store.close_spider()

    asyncio.run(run())
    s = crawler.stats
    assert s.get_value("vocwatch/dropped/duplicate_in_crawl") == 1
    assert s.get_value("vocwatch/dropped/already_stored") == 1
    assert (s.get_value("vocwatch/store/inserted"), s.get_value("vocwatch/store/updated")) == (1, 1)


def test_enrich_batches_and_fills_nlp_fields(crawler: Any) -> None:
    enrich = EnrichPipeline.from_crawler(crawler)

    async def run() -> list[Mention]:
        items = [raw(text="房间干净，服务热情，非常满意"), raw(text="Filthy room and rude staff, never again", rating_raw=None), raw(text="👍👍")]
        return list(await asyncio.gather(*(enrich.process_item(m) for m in items)))

    zh, en, emoji = asyncio.run(run())
    assert (zh.language, zh.sentiment_label) == ("zh", "positive") and zh.nlp_model
    assert (en.language, en.sentiment_label) == ("en", "negative")
    assert {a["aspect"] for a in en.aspects} >= {"cleanliness", "service"} or {a["aspect"] for a in en.aspects} >= {"room", "service"}
    assert emoji.language == "und" and emoji.nlp_model == "none"
    assert crawler.stats.get_value("vocwatch/nlp/batches") == 1  # three concurrent items, one batch


def test_retry_after_header_forms() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7
    assert retry_after_seconds("Mon, 23 Nov 2026 10:00:30 GMT", now) == 30
    assert retry_after_seconds("Mon, 23 Nov 2026 09:00:00 GMT", now) == 0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_run_outcome_uses_only_this_crawls_counters() -> None:
    from crawlers.extensions import run_outcome

    assert run_outcome("finished", {"vocwatch/dropped/already_stored": 5, "vocwatch/dropped/missing_text": 1}) == "finished"
    # another crawler's error logged in the same process must not count here
    assert run_outcome("finished", {"log_count/ERROR": 3}) == "finished"
    read = {"vocwatch/pages/read": 2}
    assert run_outcome("finished", {**read, "vocwatch/dropped/page_timeout": 1}) == "partial"
    assert run_outcome("finished", {**read, "spider_exceptions/KeyError": 1}) == "partial"
    assert run_outcome("finished", {**read, "vocwatch/dropped/store_rejected": 1}) == "partial"
    assert run_outcome("finished", {**read, "vocwatch/dropped/item_error_clean": 1}) == "partial"
    assert run_outcome("finished", {**read, "vocwatch/balance/unaccounted": 2}) == "partial"
    # errors and not one page read: nothing got through, the run failed
    assert run_outcome("finished", {"vocwatch/dropped/page_timeout": 1}) == "failed"
    assert run_outcome("shutdown", {}) == "interrupted"  # SIGINT/SIGTERM
    assert run_outcome("closespider_timeout", {}) == "partial"  # [crawl] time_limit
    assert run_outcome("memusage_exceeded", {}) == "partial"  # [crawl] memory_limit_mb
    assert run_outcome("cancelled", {}) == "failed"
