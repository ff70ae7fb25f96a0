"""E-commerce product-comment JSON API, paged by page number up to ``maxPage``.

Page 1 says how many pages there are, so a malformed page in the middle is counted
and skipped without losing the pages after it. The count is the site's claim: it is
capped by ``max_pages`` and the pages are requested a few at a time, never all queued.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.mall import MallCommentsPage
from spiders.pages.paging import with_query
from spiders.pages.registry import read

PAGE_SIZE = 10


class MallCommentsSpider(SourceSpider):
    name = "mall_comments"
    site = "mall"
    id_scope = "global"  # comment ids are the platform's

    def seed_requests(self) -> Iterator[Any]:
        yield self.request(with_query(self.source.url, page=1, pageSize=PAGE_SIZE), self.parse, cb_kwargs={"page": 1})

    def parse(self, response: Response, page: int = 1) -> Iterator[Any]:
        """A comment page; page 1 also schedules the other pages (``maxPage``).

        @url ${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/api/mall/comments?productId=100012346&page=1&pageSize=10
        @cb_kwargs {"page": 1}
        @returns items 10 10
        @returns requests 1
        @scrapes external_id url published_at author rating_raw
        """
        try:
            po = MallCommentsPage(self.page(response))
            mentions = read(po).mentions
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        yield from self.emit(mentions)
        more = self.count_page()
        if page != 1:
            return
        # page 1 knows the page count: schedule the rest, newest first, unless the
        # first page already reaches stored mentions
        if not more or self.reached_known(mentions) or not po.max_page:
            return
        last = self.cap_page_count(po.max_page)
        yield from self.follow_lazily(
            self.request(with_query(self.source.url or response.url, page=n, pageSize=PAGE_SIZE), self.parse,
                         cb_kwargs={"page": n}, priority=-n)
            for n in range(2, last + 1))
