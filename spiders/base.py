"""Base spider: one configured source, incremental paging, every failure counted.

Spiders only navigate (seeds, pagination, when to stop); page objects in
``spiders/pages`` extract. A spider is started with a ``Source`` (vocwatch's runner) or
a source id (``scrapy crawl hotel_reviews -a source=harbor-sh-bund/hotel_reviews``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from config import Config, Source, load_config
from crawlers.addon import config_path
from crawlers.items import Mention
from crawlers.render import RENDER_META
from crawlers.runtime import store_for
from crawlers.stats import DROPPED
from spiders.pages.base import MalformedPage, Page, html_selector
from spiders.pages.blocked import block_reason

BLOCK_STATUSES = (403, 429, 503)
"""Error statuses whose page is still looked at: anti-bot challenges are served with them."""


class SourceSpider(scrapy.Spider):
    """Crawl one :class:`config.Source` for one location."""

    site: ClassVar[str] = ""
    """Default ``Mention.site`` for this spider's mentions."""

    config: Config
    source: Source
    since: datetime | None

    def __init__(self, *args: Any, source: Source | str | None = None, config: Config | str | None = None,
                 since: datetime | str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._source_arg, self._config_arg = source, config
        self.since = datetime.fromisoformat(since) if isinstance(since, str) else since
        self.pages = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._bind(crawler)
        return spider

    def _bind(self, crawler: Crawler) -> None:
        cfg = self._config_arg
        self.config = cfg if isinstance(cfg, Config) else load_config(cfg or config_path(crawler.settings))
        src = self._source_arg
        if src is None:
            ours = [s for s in self.config.sources.values() if s.kind == self.name]
            if len(ours) != 1:
                raise ValueError(f"{self.name}: pass -a source=ID; configured {self.name} sources: "
                                 + (", ".join(s.id for s in ours) or "none"))
            src = ours[0]
        if isinstance(src, str):
            if src not in self.config.sources:
                raise ValueError(f"{self.name}: unknown source {src!r} in {self.config.path}")
            src = self.config.sources[src]
        if src.kind != self.name:
            raise ValueError(f"source {src.id!r} is of kind {src.kind!r}, not {self.name!r}")
        self.source = src
        self.location = self.config.locations[src.location]
        self.tz = ZoneInfo(src.timezone or self.config.crawl.timezone)
        if src.delay is not None:
            # the spider exists before the crawler's settings freeze: a per-source
            # politeness delay is applied as a spider-priority setting
            crawler.settings.set("DOWNLOAD_DELAY", src.delay, priority="spider")
        if src.render == "browser":
            self._use_browser(crawler)

    def _use_browser(self, crawler: Crawler) -> None:
        """Route this crawl's http(s) through the rendering handler; fail before any
        request when Chromium or Playwright is missing."""
        from crawlers.render import browser_problem

        path = self.config.crawl.chromium_path
        if problem := browser_problem(path):
            raise ValueError(f"{self.config.path}: source {self.source.id!r} has render = \"browser\" but {problem}")
        handler = "crawlers.render.BrowserDownloadHandler"
        crawler.settings.set("DOWNLOAD_HANDLERS", {"http": handler, "https": handler}, priority="spider")
        crawler.settings.set("VOCWATCH_CHROMIUM_PATH", path, priority="spider")
        crawler.settings.set("VOCWATCH_BROWSER_MAX_PAGES", self.config.crawl.browser_max_pages, priority="spider")
        crawler.settings.set("VOCWATCH_BROWSER_PAGES_PER_CONTEXT", self.config.crawl.browser_pages_per_context,
                             priority="spider")

    # -- start and incremental cut-off -------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        if self.since is None:
            last = await asyncio.to_thread(store_for(self.crawler.settings).last_successful_run, self.source.id)
            if last is not None:
                self.since = last.started_at - timedelta(hours=self.config.crawl.incremental_overlap_hours)
        if self.since is not None:
            self.logger.info("%s: incremental, stopping at mentions older than %s", self.source.id, self.since.isoformat())
        for request in self.seed_requests():
            yield request

    def seed_requests(self) -> Iterable[scrapy.Request]:
        yield self.request(self.source.url, self.parse)

    def request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        """A request whose response is checked for block/captcha pages before ``callback``
        (a method of this spider) reads it."""
        meta = {**kwargs.pop("meta", {}), "vocwatch_callback": callback.__name__}
        meta.setdefault("handle_httpstatus_list", list(BLOCK_STATUSES))
        if self.source.render == "browser":
            meta.setdefault(RENDER_META, "browser")
        return scrapy.Request(url, callback=self.checked, errback=self.on_error, meta=meta, **kwargs)

    async def checked(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """Hand a real page to its callback; retry a block page with backoff, then drop it.

        Retries wait ``VOCWATCH_BLOCK_BACKOFF`` seconds (default 30), doubling each time,
        at most ``VOCWATCH_BLOCK_RETRIES`` times (default 2). Waiting here delays only this
        request. A page still blocked is counted as ``vocwatch/dropped/page_blocked`` and
        never read, so a captcha page is never stored as reviews.
        """
        stats, settings = self.crawler.stats, self.crawler.settings
        text = response.text if isinstance(response, TextResponse) else ""
        reason = block_reason(response.status, response.url, text)
        if reason is None and response.status >= 400:
            stats.inc_value(DROPPED + f"page_http_{response.status}")
            self.logger.error("giving up on %s: HTTP %d", response.url, response.status)
            return
        if reason is None:
            try:
                for result in getattr(self, response.meta["vocwatch_callback"])(response, **kwargs) or ():
                    yield result
            except MalformedPage as exc:  # raised where the callback does not catch it
                self.malformed(response, exc)
            except Exception as exc:  # a page object's bug must cost one page, not the crawl
                self.parser_error(response, exc)
            return
        stats.inc_value(f"vocwatch/blocked/{reason}")
        tries = response.meta.get("vocwatch_block_tries", 0)
        if tries >= settings.getint("VOCWATCH_BLOCK_RETRIES", 2):
            stats.inc_value(DROPPED + "page_blocked")
            self.logger.error("giving up on %s: still a %s page after %d retries", response.url, reason, tries)
            return
        wait = settings.getfloat("VOCWATCH_BLOCK_BACKOFF", 30.0) * 2**tries
        self.logger.warning("%s is a %s page; retrying in %.1fs", response.url, reason, wait)
        stats.inc_value("vocwatch/blocked/retried")
        await asyncio.sleep(wait)
        yield response.request.replace(  # type: ignore[union-attr]
            dont_filter=True, meta={**response.meta, "vocwatch_block_tries": tries + 1})

    # -- helpers for subclasses -------------------------------------------------------
    def page(self, response: Response) -> Page:
        if not isinstance(response, TextResponse):
            raise MalformedPage(f"not a text response ({response.headers.get('Content-Type')!r})")
        return Page(url=response.url, text=response.text, now=datetime.now(UTC), tz=self.tz)

    def emit(self, mentions: Iterable[Mention]) -> Iterator[Mention]:
        """Stamp source, location and site on the page object's mentions."""
        site = self.source.site or self.site
        now = datetime.now(UTC)
        for m in mentions:
            m.source_id, m.location_id, m.brand = self.source.id, self.location.id, self.location.brand
            m.site = site
            m.crawled_at = now
            self.crawler.stats.inc_value("vocwatch/mentions/extracted")
            yield m

    def count_page(self) -> bool:
        """Count a page read; False once ``max_pages`` is reached."""
        self.pages += 1
        self.crawler.stats.inc_value("vocwatch/pages/read")
        return self.source.max_pages is None or self.pages < self.source.max_pages

    def reached_known(self, mentions: list[Mention]) -> bool:
        """True when this page already goes back past the incremental cut-off, so paging
        further (listings are newest first) would only re-read stored mentions."""
        if self.since is None:
            return False
        dates = [m.published_at for m in mentions if m.published_at is not None]
        if dates and min(dates) < self.since:
            self.crawler.stats.inc_value("vocwatch/pages/stopped_at_known")
            return True
        return False

    def no_mentions(self, response: Response) -> None:
        """A page that held no mentions. Counted as a drop (``page_needs_browser``) only when
        it is not rendered and runs scripts other than data blocks: its reviews are most
        likely built by JavaScript, and a run that stored nothing must say so."""
        self.crawler.stats.inc_value("vocwatch/pages/empty")
        if self.source.render == "browser" or not isinstance(response, TextResponse):
            return
        # read as HTML whatever the Content-Type said (a JsonResponse's own selector is JSON)
        scripts = html_selector(response.text).xpath("//script[not(@type) or not(contains(@type, 'json'))]")
        if scripts:
            self.crawler.stats.inc_value(DROPPED + "page_needs_browser")
            self.logger.warning('%s: no mentions in %s but it runs %d script(s); if they build the reviews, '
                                'set render = "browser" on the source', self.source.id, response.url, len(scripts))

    def malformed(self, response: Response, exc: Exception) -> None:
        self.logger.warning("malformed page %s: %s", response.url, exc)
        self.crawler.stats.inc_value(DROPPED + "page_malformed")

    def parser_error(self, response: Response, exc: Exception) -> None:
        """A page object raised something other than MalformedPage (a bug in it): the page
        is counted as ``page_parser_error`` and logged in one line with the exception type;
        the traceback goes to DEBUG only. Mentions the callback yielded before it are kept."""
        self.crawler.stats.inc_value(DROPPED + "page_parser_error")
        self.logger.warning("page parser error on %s: %s: %.200s", response.url, type(exc).__name__, exc)
        self.logger.debug("page parser error on %s", response.url, exc_info=exc)

    def on_error(self, failure: Failure) -> None:
        """A page that failed after retries: counted by reason, logged, crawl goes on."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # robots.txt or another politeness rule said no: expected, not an error
            self.crawler.stats.inc_value("vocwatch/skipped/ignored_request")
            self.logger.info("not fetching %s: %s", request.url, failure.value)
            return
        if failure.check(HttpError):
            reason = f"page_http_{failure.value.response.status}"
        elif failure.check(DownloadTimeoutError, TimeoutError, TCPTimedOutError):
            reason = "page_timeout"
        elif failure.check(CannotResolveHostError, DNSLookupError):
            reason = "page_dns_error"
        elif failure.check(DownloadConnectionRefusedError, ConnectionRefusedError):
            reason = "page_connection_refused"
        elif failure.check(ResponseDataLossError):
            reason = "page_data_loss"
        else:
            reason = "page_" + failure.type.__name__.lower()  # type: ignore[union-attr]
        self.crawler.stats.inc_value(DROPPED + reason)
        self.logger.error("giving up on %s: %s", request.url, reason)
