"""RSS 2.0 / Atom feeds: one request, every entry a post."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.registry import adapter


class RssSpider(SourceSpider):
    name = "rss"
    site = "rss"
    id_scope = "host"  # a guid is unique within its publisher only

    def parse(self, response: Response) -> Iterator[Any]:
        """The feed: every entry a post, nothing to follow.

        @url ${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/feeds/shanghai-hotels.rss
        @returns items 1
        @returns requests 0 0
        @scrapes external_id url published_at title text
        """
        try:
            mentions = adapter("rss").read(self.page(response)).mentions  # the rss site adapter: text laid out
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        self.count_page()
        yield from self.emit(mentions)
