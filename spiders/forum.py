"""Forum: a search or board listing whose threads are followed and paged.

Threads are read oldest post first, so the incremental cut-off cannot stop paging
inside a thread; dedupe drops what is already stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import SourceSpider
from spiders.pages.forum import ForumListingPage, ForumThreadPage
from spiders.pages.registry import read


class ForumSpider(SourceSpider):
    name = "forum"
    site = "forum"
    id_scope = "host"  # post ids count up per forum installation

    def parse(self, response: Response) -> Iterator[Any]:
        reading = read(ForumListingPage(self.page(response)))
        more = self.count_page()
        yield from self.follow_lazily(self.request(url, self.parse_thread) for url in reading.follow_urls)
        if reading.next_url is not None and more:
            yield self.request(reading.next_url, self.parse)

    def parse_thread(self, response: Response) -> Iterator[Any]:
        reading = read(ForumThreadPage(self.page(response)))
        yield from self.emit(reading.mentions)
        more = self.count_page()
        if reading.next_url is not None and more:
            yield self.request(reading.next_url, self.parse_thread)
