"""What every vocwatch pipeline shares: access to the crawler, its store, and counted drops."""

from __future__ import annotations

from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawlers.runtime import source_id_of, store_for
from crawlers.stats import DROPPED
from crawlers.store import Store


class VocwatchPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def store(self) -> Store:
        return store_for(self.crawler.settings)

    @property
    def source_id(self) -> str:
        return source_id_of(self.crawler.spider)

    def drop(self, reason: str, item: Any, detail: str = "") -> DropItem:
        """Count the drop under ``vocwatch/dropped/<reason>`` and return the exception to raise."""
        self.stats.inc_value(DROPPED + reason)
        url = getattr(item, "url", "")
        return DropItem(f"{reason}: {detail or url}", log_level="INFO")
