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
        """A search or board page: the threads to read (no mentions of its own).

        @url ${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/forum/search?kw=%E6%B8%AF%E6%B9%BE%E9%85%92%E5%BA%97
        @returns items 0 0
        @returns requests 1
        """
        reading = read(ForumListingPage(self.page(response)))
        more = self.count_page()
        yield from self.follow_lazily(self.request(url, self.parse_thread) for url in reading.follow_urls)
        if reading.next_url is not None and more:
            yield self.request(reading.next_url, self.parse)

    def parse_thread(self, response: Response) -> Iterator[Any]:
        """A thread page: its posts, and the thread's next page.

        @url ${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/forum/thread/3018841
        @returns items 1
        @scrapes external_id url published_at author text
        """
        reading = read(ForumThreadPage(self.page(response)))
        yield from self.emit(reading.mentions)
        more = self.count_page()
        if reading.next_url is not None and more:
            yield self.request(reading.next_url, self.parse_thread)
