"""Real sites by adapter (``kind = "site"``): the source names a registered site adapter
(``site = "jd"``), whose page object reads each page: its mentions, the next page of the
same listing (page numbers, cursors, offsets, rel=next links), followed until there is
none, the crawl reaches mentions it already stored, or ``max_pages``, and the other pages
to read with the same adapter (the threads of a forum board), followed lazily. Politeness, retries and
block-page handling are SourceSpider's, as for every source.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from config import Source
from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.registry import adapter, id_scope


class SiteSpider(SourceSpider):
    name = "site"
    site = "site"

    @classmethod
    def id_scope_of(cls, source: Source) -> str:
        return id_scope(source.site or "")

    def parse(self, response: Response) -> Iterator[Any]:
        name = self.source.site or ""
        page = self.page(response)
        try:
            reading = adapter(name).read(page)
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        mentions, next_url = reading.mentions, reading.next_url
        yield from self.emit(mentions)
        more = self.count_page()
        if more and reading.follow_urls:
            yield from self.follow_lazily(self.request(url, self.parse) for url in reading.follow_urls
                                          if url != response.url)
        if more and next_url and next_url != response.url and (mentions or reading.follow_urls) \
                and not self.reached_known(mentions):
            yield self.request(next_url, self.parse)
