"""Real sites by adapter (``kind = "site"``): the source names a registered site adapter
(``site = "jd"``), whose page object reads each page and whose pagination rule gives the
next page (page numbers, cursors, offsets, rel=next links), until the rule says stop, the
crawl reaches mentions it already stored, or ``max_pages``. Politeness, retries and
block-page handling are SourceSpider's, as for every source.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from config import Source
from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.registry import adapter, id_scope, next_url_rule


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
            mentions = adapter(name)(page)
            rule = next_url_rule(name)
            next_url = rule(page) if rule is not None else None
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        yield from self.emit(mentions)
        more = self.count_page()
        if more and next_url and next_url != response.url and mentions and not self.reached_known(mentions):
            yield self.request(next_url, self.parse)
