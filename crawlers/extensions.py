"""Scrapy extensions: the crawl-run record written to the store for every crawl."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler

from crawlers.runtime import source_id_of, store_for
from crawlers.stats import DROPPED

logger = logging.getLogger(__name__)

ERROR_PREFIXES = (DROPPED + "page_", DROPPED + "store_error", "spider_exceptions/")
INTERRUPTED_REASONS = ("shutdown",)
"""Close reasons of a crawl stopped from outside (SIGINT/SIGTERM): run ``interrupted``."""
BOUND_REASONS = ("closespider_timeout", "memusage_exceeded")
"""Close reasons of a crawl cut by its time or memory limit: run ``partial``."""


def run_outcome(reason: str, stats: dict[str, Any]) -> str:
    """``finished`` only for a clean run; ``partial`` when it ended but pages failed, a
    callback raised or a write failed, or its time or memory limit closed it;
    ``interrupted`` when SIGINT/SIGTERM stopped it; ``failed`` when it did not end normally. Only
    ``finished`` runs move the incremental-crawl cut-off, so anything a partial run
    missed is re-read.

    Scrapy's ``log_count/ERROR`` is deliberately not used: its handler sits on the root
    logger and counts every crawler's errors in the process, so one failing source
    would mark all its neighbours partial."""
    if reason in INTERRUPTED_REASONS:
        return "interrupted"
    if reason in BOUND_REASONS:
        return "partial"
    if reason != "finished":
        return "failed"
    if any(k.startswith(ERROR_PREFIXES) and v for k, v in stats.items()):
        return "partial"
    return "finished"


def jsonable_stats(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif _is_record_list(value):
            value = [{k: v if isinstance(v, int | float | str | bool | dict | type(None)) else str(v)
                      for k, v in entry.items()} for entry in value]
        elif not isinstance(value, int | float | str | bool | type(None)):
            value = str(value)
        out[key] = value
    return out


def _is_record_list(value: Any) -> bool:
    """A list of small records (e.g. ``vocwatch/failed_requests``), kept as JSON, not str()."""
    return isinstance(value, list | tuple) and all(isinstance(e, dict) for e in value)


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
        store = store_for(self.crawler.settings)
        await asyncio.to_thread(store.finish_run, self.run_id, datetime.now(UTC), outcome, stats)
        logger.info("crawl run %d of %s: %s", self.run_id, source_id_of(spider), outcome)
