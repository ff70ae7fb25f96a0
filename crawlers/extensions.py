"""Scrapy extensions: the crawl-run record written to the store for every crawl."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler

from crawlers.runtime import source_id_of, store_for
from crawlers.stats import CUTOFF, DROPPED

logger = logging.getLogger(__name__)

ERROR_PREFIXES = (DROPPED + "page_", DROPPED + "store_error", "spider_exceptions/")


def run_outcome(reason: str, stats: dict[str, Any]) -> str:
    """``finished`` only for a clean run; ``partial`` when it ended but pages failed, a
    callback raised, a write failed or its pages are no evidence for the cut-off
    (:func:`cutoff_blocker`); ``failed`` when it did not end normally. Only ``finished``
    runs move the incremental-crawl cut-off, so anything a partial run missed is re-read.

    Scrapy's ``log_count/ERROR`` is deliberately not used: its handler sits on the root
    logger and counts every crawler's errors in the process, so one failing source
    would mark all its neighbours partial."""
    if reason != "finished":
        return "failed"
    if any(k.startswith(ERROR_PREFIXES) and v for k, v in stats.items()):
        return "partial"
    if cutoff_blocker(stats) is not None:
        return "partial"
    return "finished"


def cutoff_blocker(stats: dict[str, Any]) -> str | None:
    """Why this run's pages are no evidence that its source was read up to now, or None
    when they are. A run moves the incremental cut-off ("seen up to") only on evidence:

    - every first page (seed) of the source was read whole: not empty, not truncated,
      text, no redirect loop, not blocked, no HTTP error (``SourceSpider.checked``);
    - and the run read mentions, or the source never gave any (no stored mentions: a
      well-formed empty listing is consistent with its history);
    - and the run is otherwise clean (``run_outcome`` is ``finished``; ``RunRecorder``
      records ``vocwatch/cutoff/advanced`` = 1 only then, else 0 and ``why_not``).

    A run without the evidence counters (a spider that is not a ``SourceSpider``) is
    judged by its outcome alone, as before."""
    if CUTOFF + "history" not in stats:
        return None
    if failed := stats.get(CUTOFF + "seed_failed"):
        return f"first page failed: {failed}"
    if stats.get(CUTOFF + "seed_read", 0) < stats.get(CUTOFF + "seeds", 0):
        return "first page never read"
    if not stats.get("vocwatch/mentions/extracted", 0) and stats.get(CUTOFF + "history", 0):
        return f"no mentions read, {stats[CUTOFF + 'history']} stored from earlier runs"
    return None


def jsonable_stats(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif not isinstance(value, int | float | str | bool | type(None)):
            value = str(value)
        out[key] = value
    return out


class RunRecorder:
    """Opens a ``crawl_runs`` row when a spider opens and closes it with the outcome and
    all counters (drops by reason, pages, store writes) when it closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self, spider: Any) -> None:
        store = store_for(self.crawler.settings)
        self.run_id = await asyncio.to_thread(store.start_run, source_id_of(spider), spider.name, datetime.now(UTC))
        self.crawler.stats.set_value("vocwatch/run_id", self.run_id)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        stats = jsonable_stats(self.crawler.stats.get_stats())
        outcome = run_outcome(reason, stats)
        stats["vocwatch/close_reason"] = reason
        if CUTOFF + "history" in stats:
            errors = ", ".join(sorted(k.removeprefix(DROPPED) for k, v in stats.items() if k.startswith(ERROR_PREFIXES) and v))
            why_not = cutoff_blocker(stats) or (None if outcome == "finished" else f"run {outcome}: {errors or reason}")
            stats[CUTOFF + "advanced"] = int(why_not is None)
            if why_not is not None:
                stats[CUTOFF + "why_not"] = why_not
                logger.warning("%s: incremental cut-off not moved: %s", source_id_of(spider), why_not)
        store = store_for(self.crawler.settings)
        await asyncio.to_thread(store.finish_run, self.run_id, datetime.now(UTC), outcome, stats)
        logger.info("crawl run %d of %s: %s", self.run_id, source_id_of(spider), outcome)
