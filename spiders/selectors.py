"""Config-only sources (``kind = "selectors"``): any site described by selectors in the config.

Navigation follows the spec's pagination rule; extraction is
:class:`spiders.pages.selectors.SelectorPage`. Politeness (robots.txt, delays, retries,
block-page detection) is SourceSpider's, as for every other source.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from config import Source
from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.selectors import SelectorPage


class SelectorsSpider(SourceSpider):
    name = "selectors"
    site = "selectors"

    @classmethod
    def id_scope_of(cls, source: Source) -> str:
        """``[sources.selectors] id_scope``: by default ``source``, since nobody vouches
        that a configured site's ids are unique beyond what one source reads."""
        return source.selectors.id_scope if source.selectors is not None else "source"

    def seed_requests(self) -> Iterable[scrapy.Request]:
        # mentions are named after the site's host unless the source says `site = ...`
        self.site = urlsplit(self.source.url).hostname or self.name
        yield from super().seed_requests()

    def parse(self, response: Response) -> Iterator[Any]:
        if self.source.selectors is None:
            raise ValueError(f"source {self.source.id!r} has no [sources.selectors] table")
        try:
            po = SelectorPage(self.page(response), self.source.selectors)
            mentions = po.mentions()
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        yield from self.emit(mentions)
        more = self.count_page()
        if not more or self.reached_known(mentions):
            return
        if (next_url := po.next_url(found_items=bool(mentions))) is not None and next_url != response.url:
            yield self.request(next_url, self.parse)
