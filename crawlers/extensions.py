"""Scrapy extensions: the crawl-run record written to the store for every crawl."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler

from config.model import ScheduleSettings
from crawlers.runtime import source_id_of, store_for
from crawlers.stale import RUN_ERROR, STALE_MARGIN, close_stale_runs, owner_stats
from crawlers.stats import ERROR_PREFIXES

logger = logging.getLogger(__name__)


def run_outcome(reason: str, stats: dict[str, Any]) -> str:
    """``finished`` only for a clean run; ``partial`` when it ended but pages failed, a
    callback raised or a write failed; ``failed`` when it did not end normally, or ended
    with such errors before a single page was read (every page failed). Only
    ``finished`` runs move the incremental-crawl cut-off, so anything a partial run
    missed is re-read.

    Scrapy's ``log_count/ERROR`` is deliberately not used: its handler sits on the root
    logger and counts every crawler's errors in the process, so one failing source
    would mark all its neighbours partial."""
    if reason != "finished":
        return "failed"
    if any(k.startswith(ERROR_PREFIXES) and v for k, v in stats.items()):
        # errors and not one page read: nothing of the source got through
        return "partial" if stats.get("vocwatch/pages/read") else "failed"
    return "finished"


def jsonable_stats(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif not isinstance(value, int | float | str | bool | type(None)):
            value = str(value)
        out[key] = value
    return out


def _stale_after(spider: Any) -> timedelta:
    """How old a ``running`` run whose process cannot be checked must be to count as gone:
    the configured crawl time limit plus a margin."""
    config = getattr(spider, "config", None)
    settings = getattr(config, "schedule", None) or ScheduleSettings()
    return timedelta(seconds=settings.time_limit_seconds) + STALE_MARGIN


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
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        return ext

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        """Keep why ``start()`` raised (the error without a response): the run ends
        ``failed`` with close reason ``start_error`` and this says why."""
        if response is None and not self.crawler.stats.get_value(RUN_ERROR):
            self.crawler.stats.set_value(RUN_ERROR, f"{failure.type.__name__}: {failure.getErrorMessage()}")

    async def spider_opened(self, spider: Any) -> None:
        store = store_for(self.crawler.settings)
        source_id, now = source_id_of(spider), datetime.now(UTC)
        # an earlier run of this source whose process was killed is closed first, so no
        # run of it reads "running" forever (the scheduler's janitor applies the same rule)
        await asyncio.to_thread(close_stale_runs, store, now=now, older_than=_stale_after(spider), source_id=source_id)
        self.run_id = await asyncio.to_thread(store.start_run, source_id, spider.name, now, owner_stats())
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
