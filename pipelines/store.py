"""Last stage: batch mentions and upsert them off the reactor thread."""

from __future__ import annotations

import asyncio
import logging
import time

from crawlers.items import Mention
from crawlers.stats import DROPPED
from pipelines.base import VocwatchPipeline

logger = logging.getLogger(__name__)


class StorePipeline(VocwatchPipeline):
    """Writes in batches of ``VOCWATCH_STORE_BATCH`` items or every
    ``VOCWATCH_STORE_FLUSH_SECONDS``, and once more when the spider closes. A failed write
    is logged and counted and marks the run as not finished, so the next crawl re-reads
    those pages: nothing is lost, and upserts by fingerprint mean nothing is doubled."""

    def __init__(self, crawler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self.batch_size = crawler.settings.getint("VOCWATCH_STORE_BATCH", 200)
        self.flush_seconds = crawler.settings.getfloat("VOCWATCH_STORE_FLUSH_SECONDS", 1.0)
        self.buffer: list[Mention] = []
        self.last_flush = time.monotonic()

    async def process_item(self, item: Mention) -> Mention:
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size or time.monotonic() - self.last_flush >= self.flush_seconds:
            await self.flush()
        return item

    async def flush(self) -> None:
        batch, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if not batch:
            return
        try:
            result = await asyncio.to_thread(self.store.upsert_mentions, batch)
        except Exception:
            logger.exception("could not store %d mentions", len(batch))
            self.stats.inc_value("vocwatch/store/errors")
            self.stats.inc_value(DROPPED + "store_error", len(batch))
            return
        self.stats.inc_value("vocwatch/store/inserted", result.inserted)
        self.stats.inc_value("vocwatch/store/updated", result.updated)
        self.stats.inc_value("vocwatch/store/unchanged", result.unchanged)

    async def close_spider(self) -> None:
        await self.flush()
