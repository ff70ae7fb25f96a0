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
    one (``crawlers.store.base.keeps_stored_text``).

    A stored, unchanged mention whose ``permalink`` the store does not have yet (stored
    before the field existed, or the site moved its review pages) passes too, counted
    ``vocwatch/permalink/new``: the permalink is no part of the content hash, and the store
    records the address without counting the mention as updated."""

    def __init__(self, crawler) -> None:  # type: ignore[no-untyped-def]
        super().__init__(crawler)
        self.stored: dict[str, str] = {}
        self.permalinks: dict[str, str] = {}
        """Fingerprints of this source stored with a permalink -> that permalink."""
        self.seen: dict[str, bool] = {}
        """Fingerprints handed on in this crawl -> whether that copy was a snippet."""
        self.feeding = bool(crawler.settings.getdict("FEEDS"))
        """A feed (``-O out.jsonl``) holds every mention read in the run: an unchanged one
        passes on (analysed, marked ``unchanged``) and the store stage does not write it."""

    async def open_spider(self) -> None:
        self.stored = await asyncio.to_thread(self.store.known_fingerprints, self.source_id)
        self.permalinks = await asyncio.to_thread(self.store.known_permalinks, self.source_id)

    def process_item(self, item: Mention) -> Mention:
        fp = item.fingerprint
        if fp in self.seen and not (self.seen[fp] and not item.truncated):
            raise self.drop("duplicate_in_crawl", item, item.external_id or item.url)
        self.seen[fp] = item.truncated
        known = self.stored.get(fp)
        if known == item.content_hash:
            if item.permalink is None or self.permalinks.get(fp) == item.permalink:
                if not self.feeding:
                    raise self.drop("already_stored", item, item.external_id or item.url)
                item.crawl_status = "unchanged"  # for the feed only: the store stage skips it
                return item
            self.stats.inc_value("vocwatch/permalink/new")  # unchanged, but its address is news to the store
            self.permalinks[fp] = item.permalink
            item.crawl_status = "updated"  # the stored record gets the address
        else:
            item.crawl_status = "new" if known is None else "updated"
        return item
