"""Hotel review pages with schema.org JSON-LD, paged by ``rel=next``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scrapy.http import Response

from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.registry import read
from spiders.pages.schema_hotel import SchemaHotelReviewPage


class HotelReviewsSpider(SourceSpider):
    name = "hotel_reviews"
    site = "stayadvisor"
    id_scope = "url"  # schema.org review ids promise nothing beyond their hotel's pages

    def parse(self, response: Response) -> Iterator[Any]:
        """A review page: its reviews, and the next page (rel=next).

        @url ${VOCWATCH_SANDBOX:-http://127.0.0.1:8765}/hotels/h1001/reviews
        @returns items 10 10
        @returns requests 1 1
        @scrapes external_id url published_at author title
        """
        try:
            reading = read(SchemaHotelReviewPage(self.page(response)))
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        mentions, next_url = reading.mentions, reading.next_url
        if not mentions:
            self.no_mentions(response)
        yield from self.emit(mentions)
        more = self.count_page()
        if next_url and more and not self.reached_known(mentions):
            yield self.request(next_url, self.parse)
