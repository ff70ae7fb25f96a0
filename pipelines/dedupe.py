"""Drop mentions already seen in this crawl or already stored unchanged."""

from __future__ import annotations

import asyncio

from crawlers.items import Mention
from pipelines.base import VocwatchPipeline


class DedupePipeline(VocwatchPipeline):
    """A stored mention whose content changed (new reply, more likes, its full text where a
    snippet was stored) passes through as an update; one that is stored unchanged is
    dropped as ``already_stored`` (with a feed it passes on, marked ``unchanged``, and is
    counted so by the store stage, which does not write it). Within one crawl the first copy of a mention wins, except
    that a full text passes after a snippet of it (``truncated``): the store keeps the full
    one (``crawlers.store.base.keeps_stored_text``)."""

    def __init__(self, crawler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self.stored: dict[str, str] = {}
        self.seen: dict[str, bool] = {}
        """Fingerprints handed on in this crawl -> whether that copy was a snippet."""
        self.feeding = bool(crawler.settings.getdict("FEEDS"))
        """A feed (``-O out.jsonl``) holds every mention read in the run: an unchanged one
        passes on (analysed, marked ``unchanged``) and the store stage does not write it."""

    async def open_spider(self) -> None:
        self.stored = await asyncio.to_thread(self.store.known_fingerprints, self.source_id)

    def process_item(self, item: Mention) -> Mention:
        fp = item.fingerprint
        if fp in self.seen and not (self.seen[fp] and not item.truncated):
            raise self.drop("duplicate_in_crawl", item, item.external_id or item.url)
        self.seen[fp] = item.truncated
        known = self.stored.get(fp)
        if known == item.content_hash:
            if not self.feeding:
                raise self.drop("already_stored", item, item.external_id or item.url)
            item.crawl_status = "unchanged"
        else:
            item.crawl_status = "new" if known is None else "updated"
        return item
