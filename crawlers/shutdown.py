"""Ending a crawl within seconds: waits that stop when the crawl stops, queued downloads cancelled.

Scrapy's first SIGINT/SIGTERM (and a closing spider: time limit, memory limit) is a
graceful stop: the engine waits for every request it has handed to the downloader,
including those sleeping in a backoff or waiting in a download slot's politeness queue.
A retry backoff can last a minute and a slot queue holds up to ``CONCURRENT_REQUESTS``
requests a delay apart, so the stop could take minutes. Here every vocwatch wait goes
through :func:`pause`, which returns early once :func:`crawl_stopping`, and
:class:`QuickStop` cancels the requests still queued in the download slots, so only the
transfers already on the wire are waited for (at most ``DOWNLOAD_TIMEOUT``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from twisted.internet import task
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
"""How often a wait and :class:`QuickStop` look whether the crawl is stopping."""


class CrawlStopping(IgnoreRequest):
    """A request not fetched because its crawl is stopping (signal, time or memory limit)."""


def crawl_stopping(crawler: Crawler) -> bool:
    """True once the crawl is stopping: a signal (``Crawler.stop``) or its spider closing
    for any reason. The closing state lives on the engine's private slot: Scrapy sends no
    signal before it starts waiting for in-flight requests, so it is read from there."""
    engine = getattr(crawler, "_engine", None)
    if engine is None:
        return False  # not crawling yet (or a component used on its own, as in tests)
    if not crawler.crawling:
        return True
    slot = getattr(engine, "_slot", None)
    return not engine.running or slot is None or getattr(slot, "closing", None) is not None


def crawl_cut_short(crawler: Crawler) -> bool:
    """True when the crawl is stopping before its work is done: a signal (``Crawler.stop``)
    or its spider closing (time limit, memory limit) with requests still scheduled. Not
    when it closes because it finished (idle, nothing left to fetch): work buffered for
    after the last page (the store's final flush and its analysis) is then part of the
    crawl, while a stop should not wait for it."""
    if not crawl_stopping(crawler):
        return False
    if not crawler.crawling:
        return True
    slot = getattr(getattr(crawler, "_engine", None), "_slot", None)
    scheduler = getattr(slot, "scheduler", None)
    try:
        return scheduler is None or bool(scheduler.has_pending_requests())
    except Exception:  # a shared queue out of reach: treat as stopping, the safe side for a stop
        return True


async def pause(crawler: Crawler, seconds: float) -> bool:
    """Sleep ``seconds`` unless the crawl stops first; True when the whole wait was
    served, False when it was cut short (the caller then gives the request up)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if crawl_stopping(crawler):
            return False
        await asyncio.sleep(min(POLL_SECONDS, left))
    return not crawl_stopping(crawler)


class QuickStop:
    """When the crawl starts stopping, cancel the requests queued in the download slots
    (counted ``vocwatch/interrupted/cancelled_requests``) so the engine's graceful close
    does not download them one politeness delay after another."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.loop: task.LoopingCall | None = None
        self.done = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.stop_watching, signal=signals.spider_closed)
        return ext

    def engine_started(self) -> None:
        self.loop = task.LoopingCall(self.check)
        self.loop.start(POLL_SECONDS, now=False)

    def stop_watching(self, **_: Any) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def check(self) -> None:
        if self.done or not crawl_stopping(self.crawler):
            return
        self.done = True
        cancelled = 0
        for slot in list(self.crawler.engine.downloader.slots.values()):
            while slot.queue:
                request, queued = slot.queue.popleft()
                queued.errback(Failure(CrawlStopping(f"crawl stopping: {request.url} not fetched")))
                cancelled += 1
        if cancelled:
            self.crawler.stats.inc_value("vocwatch/interrupted/cancelled_requests", cancelled)
        logger.info("crawl stopping: %d queued request(s) cancelled, waiting for transfers in progress", cancelled)
