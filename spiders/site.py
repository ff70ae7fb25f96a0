"""Real sites by adapter (``kind = "site"``): the source names a registered site adapter
(``site = "jd"``), whose page object reads each page: its mentions, the next page of the
same listing (page numbers, cursors, offsets, rel=next links), followed until there is
none, the crawl reaches mentions it already stored, or ``max_pages``, and the other pages
to read with the same adapter (the threads of a forum board), followed lazily. Politeness, retries and
block-page handling are SourceSpider's, as for every source.

Snippets: when a page's mentions include texts the page cut (``Mention.truncated``) and
its page object names pages holding the full texts (``PageObject.expand_urls``: one
TripAdvisor ``ExpandedUserReviews`` fragment for a listing page), those pages are fetched
before the page's mentions are handed on, through the same downloader (delay, robots.txt,
retries, the source's render mode) and read by the same adapter; a mention the expansion
gives back with the same ``external_id`` takes its full text. An expansion that fails
(HTTP error after retries, a block page, an unreadable body) costs nothing but the full
texts: the snippets go on flagged ``truncated``, counted ``vocwatch/expand/failed``. An
expansion page is not a page read (``max_pages``) and is never stored as a failed page:
the listing that named it is what a later run reads again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from config import Source
from crawlers.integrity import page_problem
from crawlers.items import Mention
from spiders.base import SourceSpider
from spiders.pages.base import MalformedPage
from spiders.pages.blocked import block_reason
from spiders.pages.registry import adapter, id_scope

EXPAND = "vocwatch/expand/"
"""Counters of snippet expansion: ``requests``, ``failed``, ``expanded`` (mentions given
their full text) and ``missing`` (snippets the expansion did not give back)."""


class SiteSpider(SourceSpider):
    name = "site"
    site = "site"

    @classmethod
    def id_scope_of(cls, source: Source) -> str:
        return id_scope(source.site or "")

    async def parse(self, response: Response) -> AsyncIterator[Any]:
        name = self.source.site or ""
        page = self.page(response)
        try:
            reading = adapter(name).read(page)
        except MalformedPage as exc:
            self.malformed(response, exc)
            return
        mentions, next_url = reading.mentions, reading.next_url
        if reading.expand_urls:
            await self.expand(mentions, reading.expand_urls)
        for m in self.emit(mentions):
            yield m
        more = self.count_page()
        if more and reading.follow_urls:
            for r in self.follow_lazily(self.request(url, self.parse) for url in reading.follow_urls
                                        if url != response.url):
                yield r
        if more and next_url and next_url != response.url and (mentions or reading.follow_urls) \
                and not self.reached_known(mentions):
            yield self.request(next_url, self.parse)

    async def expand(self, mentions: list[Mention], urls: list[str]) -> None:
        """Give the snippets among ``mentions`` their full texts from ``urls``, in place
        (``text``, ``truncated``), matched by ``external_id``. Never raises: what cannot be
        fetched or read leaves the snippets as they are, counted."""
        stats = self.crawler.stats
        wanted = {m.external_id: m for m in mentions if m.truncated and m.external_id}
        for url in urls:
            if not wanted:
                break
            stats.inc_value(EXPAND + "requests")
            try:
                full = await self.fetch_expansion(url)
            except Exception as exc:  # any failure costs the full texts only
                stats.inc_value(EXPAND + "failed")
                self.logger.warning("%s: could not expand snippets from %s: %s: %.200s", self.source.id, url,
                                    type(exc).__name__, exc)
                continue
            for f in full:
                m = wanted.get(f.external_id)
                if m is not None and not f.truncated and f.text.strip():
                    m.text, m.truncated = f.text, False
                    del wanted[f.external_id]
                    stats.inc_value(EXPAND + "expanded")
        if wanted:
            stats.inc_value(EXPAND + "missing", len(wanted))

    async def fetch_expansion(self, url: str) -> list[Mention]:
        """The mentions of the expansion page at ``url``, read by the source's adapter.
        Downloaded through the engine's downloader, so its middlewares apply (delay and
        concurrency slots, robots.txt, retries with back-off, the distributed politeness,
        the browser when the source renders); raises on anything but a readable page."""
        request = scrapy.Request(url, dont_filter=True, meta=self.request(url, self.parse).meta)
        response = await self.crawler.engine.download_async(request)
        text = response.text if isinstance(response, TextResponse) else None
        if problem := page_problem(response.status, response.body, text):
            raise MalformedPage(problem)
        if reason := block_reason(response.status, response.url, text or ""):
            self.crawler.stats.inc_value(f"vocwatch/blocked/{reason}")
            raise MalformedPage(f"a {reason} page")
        if response.status >= 400:
            raise MalformedPage(f"HTTP {response.status}")
        return adapter(self.source.site or "").read(self.page(response)).mentions
