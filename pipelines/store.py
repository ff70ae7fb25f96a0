"""Last stage: batch mentions and upsert them off the reactor thread."""

from __future__ import annotations

import asyncio
import logging
import time

from crawlers.items import Mention
from crawlers.stats import DROPPED
from crawlers.store import UpsertResult
from pipelines.base import VocwatchPipeline

logger = logging.getLogger(__name__)

store_flush_started = object()
"""Signal sent as a flush takes its batch, with ``seq`` (the flush's number, counting up)."""
store_flush_finished = object()
"""Signal sent once flush ``seq`` is written (or its items rejected and counted): a
distributed crawl acks the leases of requests whose items it holds
(``crawlers.distributed.crawl``)."""
store_flush_requested = object()
"""Signal a component sends to have the buffer flushed when it is due (or empty)."""


class StorePipeline(VocwatchPipeline):
    """Writes in batches of ``VOCWATCH_STORE_BATCH`` items or every
    ``VOCWATCH_STORE_FLUSH_SECONDS``, and once more when the spider closes. When a batch
    write fails, its items are written one by one, so one item the store rejects does not
    take its batch-mates down; each item still rejected is dropped as ``store_rejected``
    (counted, logged by fingerprint and URL) and marks the run as not finished, so the next
    crawl re-reads those pages. Upserts by fingerprint mean nothing is doubled."""

    def __init__(self, crawler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self.batch_size = crawler.settings.getint("VOCWATCH_STORE_BATCH", 200)
        self.flush_seconds = crawler.settings.getfloat("VOCWATCH_STORE_FLUSH_SECONDS", 1.0)
        self.buffer: list[Mention] = []
        self.last_flush = time.monotonic()
        self.flushes = 0
        self._requested: set[asyncio.Future[None]] = set()
        crawler.signals.connect(self.flush_requested, signal=store_flush_requested)

    def flush_requested(self) -> None:
        """``store_flush_requested``: flush now if the batch is due (or empty, so the flush is
        only the barrier the sender waits for)."""
        if not self.buffer or time.monotonic() - self.last_flush >= self.flush_seconds:
            task = asyncio.ensure_future(self.flush())
            self._requested.add(task)  # a reference, until it is done
            task.add_done_callback(self._requested.discard)

    async def process_item(self, item: Mention) -> Mention:
        if item.crawl_status == "unchanged":  # passed on for a feed only (DedupePipeline)
            self.stats.inc_value(DROPPED + "already_stored")
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size or time.monotonic() - self.last_flush >= self.flush_seconds:
            await self.flush()
        return item

    async def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        self.flushes += 1
        seq = self.flushes
        self.crawler.signals.send_catch_log(signal=store_flush_started, seq=seq)
        try:
            if batch:
                await self.write(batch)
        finally:
            self.crawler.signals.send_catch_log(signal=store_flush_finished, seq=seq)

    async def write(self, batch: list[Mention]) -> None:
        """Upsert ``batch``; if that fails, each of its items on its own."""
        try:
            result = await asyncio.to_thread(self.store.upsert_mentions, batch)
        except Exception as exc:
            self.stats.inc_value("vocwatch/store/errors")
            if len(batch) == 1:
                self.rejected(batch[0], exc)
                return
            logger.warning("could not store a batch of %d mentions (%s); storing them one by one",
                           len(batch), _describe(exc))
            for m in batch:
                await self.write([m])
            return
        self.count(result)

    def rejected(self, m: Mention, exc: Exception) -> None:
        self.stats.inc_value(DROPPED + "store_rejected")
        logger.error("store rejected mention %s from %s: %s", m.fingerprint or "-", m.url, _describe(exc))

    def count(self, result: UpsertResult) -> None:
        self.stats.inc_value("vocwatch/store/inserted", result.inserted)
        self.stats.inc_value("vocwatch/store/updated", result.updated)
        self.stats.inc_value("vocwatch/store/unchanged", result.unchanged)

    async def close_spider(self) -> None:
        await self.flush()


def _describe(exc: Exception) -> str:
    """The exception's type and first line, bounded: a driver's message may quote the value."""
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"
