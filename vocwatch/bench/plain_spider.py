"""The baseline of ``vocwatch bench crawl``: plain Scrapy, no vocwatch code.

What a Scrapy user writes for the bench review site (:class:`vocwatch.bench.site.ReviewSite`):
one spider, the same first pages and the same ``rel=next`` navigation as the vocwatch
crawl, the same fields read with parsel selectors, items yielded as dicts to no pipeline.
Scrapy's default settings otherwise (middlewares, robots.txt obeyed as vocwatch does).
Only Scrapy and parsel are imported here: vocwatch's cost is what the benchmark measures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response


class PlainReviewSpider(scrapy.Spider):
    name = "plain_reviews"

    def __init__(self, start_urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = list(start_urls)

    async def start(self) -> AsyncIterator[Any]:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[Any]:
        for review in response.css("article.review"):
            yield {
                "id": review.attrib.get("id", "").removeprefix("review-"),
                "author": review.css(".author::text").get(),
                "date": review.css(".date::text").get(),
                "rating": review.css(".rating::text").get(),
                "title": review.css(".title::text").get(),
                "text": " ".join(" ".join(review.css(".body ::text").getall()).split()),
                "url": response.url,
            }
        if (next_page := response.css("a[rel=next]::attr(href)").get()) is not None:
            yield response.follow(next_page, callback=self.parse)


def crawl(start_urls: list[str], concurrency: int) -> dict[str, Any]:
    """Run the plain spider to completion in this process; its Scrapy stats."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess({
        "LOG_LEVEL": "ERROR", "ROBOTSTXT_OBEY": True, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": concurrency, "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "TELNETCONSOLE_ENABLED": False,
    })
    crawler = process.create_crawler(PlainReviewSpider)
    process.crawl(crawler, start_urls=start_urls)
    process.start()
    return crawler.stats.get_stats()
