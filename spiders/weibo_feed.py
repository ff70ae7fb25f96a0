"""Weibo-style JSON feed, paged by the ``max_id`` cursor of each response."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.registry import read
from spiders.pages.weibo import WeiboFeedPage


class WeiboFeedSpider(SourceSpider):
    name = "weibo_feed"
    site = "weibo"
    id_scope = "global"  # status ids are the platform's

    def parse(self, response: Response) -> Iterator[Any]:
        """A feed page: its posts, and the next page by the ``max_id`` cursor.

        @url ${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/weibo/api/feed?q=%E8%8E%B2%E8%8A%B1%E5%AE%A2%E6%A0%88%E5%A4%96%E6%BB%A9
        @returns items 10 10
        @returns requests 1 1
        @scrapes external_id url published_at author text
        """
        try:
            reading = read(WeiboFeedPage(self.page(response)))
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        mentions = reading.mentions
        yield from self.emit(mentions)
        more = self.count_page()
        if reading.next_url and more and mentions and not self.reached_known(mentions):
            yield self.request(reading.next_url, self.parse)
