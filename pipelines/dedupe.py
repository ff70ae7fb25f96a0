"""Drop mentions already seen in this crawl or already stored unchanged."""

from __future__ import annotations

import asyncio

from crawlers.items import Mention
from pipelines.base import VocwatchPipeline


class DedupePipeline(VocwatchPipeline):
    """A stored mention whose content changed (new reply, more likes) passes through as
    an update; one that is stored unchanged is dropped as ``already_stored``."""

    def __init__(self, crawler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self.stored: dict[str, str] = {}
        self.seen: set[str] = set()

    async def open_spider(self) -> None:
        self.stored = await asyncio.to_thread(self.store.known_fingerprints, self.source_id)

    def process_item(self, item: Mention) -> Mention:
        fp = item.fingerprint
        if fp in self.seen:
            raise self.drop("duplicate_in_crawl", item, item.external_id or item.url)
        self.seen.add(fp)
        if self.stored.get(fp) == item.content_hash:
            raise self.drop("already_stored", item, item.external_id or item.url)
        return item
