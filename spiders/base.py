"""Base spider: one configured source, incremental paging, every failure counted.

Spiders only navigate (seeds, pagination, when to stop); page objects in
``spiders/pages`` extract. A spider is started with a ``Source`` (vocwatch's runner) or
a source id (``scrapy crawl hotel_reviews -a source=harbor-sh-bund/hotel_reviews``).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self
from zoneinfo import ZoneInfo

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import (
    CannotResolveHostError,
    DontCloseSpider,
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

from config import Config, Source
from crawlers.addon import explicit_config
from crawlers.integrity import PAGE_REDIRECT_LOOP, PAGE_TRUNCATED, page_problem
from crawlers.items import Mention, id_scope_value
from crawlers.middlewares import RedirectLoop, RetryBudgetExhausted, backoff_seconds
from crawlers.proxies import NoProxyAvailable
from crawlers.render import RENDER_META
from crawlers.runtime import store_for
from crawlers.sessions import NoAccountLeft
from crawlers.shutdown import CrawlStopping, crawl_stopping, pause
from crawlers.spiderargs import ADHOC_STORE, bind, parse_since
from crawlers.stats import COVERAGE_FIELDS, COVERAGE_KINDS, CUTOFF, DROPPED, FIELDS, has_field
from spiders.pages.base import MalformedPage, Page, html_selector
from spiders.pages.blocked import response_block_reason

_COVERAGE_KEYS = {FIELDS + name: name for name in (*COVERAGE_FIELDS, *COVERAGE_KINDS)}
BLOCK_STATUSES = (403, 429, 503)
"""Error statuses whose page is still looked at: anti-bot challenges are served with them."""
SEED_META = "vocwatch_seed"
"""Request meta key marking a source's first page(s): the evidence a run's cut-off needs
(see ``crawlers.extensions.cutoff_blocker``). Retries and redirects carry it over."""
MALFORMED_META = "vocwatch_malformed"
REDIRECT_META = ("redirect_times", "redirect_ttl", "redirect_urls", "redirect_reasons")
FAILED_REQUESTS = "vocwatch/failed_requests"
"""Run stat: the pages that still failed, ``[{url, callback, cb_kwargs, reason}]``, which
the next run of the source requests first."""
MAX_FAILED_KEPT = 200
MAX_RUNS_CARRIED = 3
"""A page that failed in this many runs in a row is not carried over again (a page gone
for good must not keep every later run partial); it is counted ``vocwatch/failed_requests_given_up``."""


class SourceSpider(scrapy.Spider):
    """Crawl one :class:`config.Source` for one location."""

    site: ClassVar[str] = ""
    """Default ``Mention.site`` for this spider's mentions."""
    id_scope: ClassVar[str] = "global"
    """Where this spider's site keeps the ids of its mentions unique (``ID_SCOPES``)."""

    config: Config
    source: Source
    since: datetime | None

    def __init__(self, *args: Any, source: Source | str | None = None, config: Config | str | None = None,
                 since: datetime | str | None = None, url: str | None = None, site: str | None = None,
                 location: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._source_arg, self._config_arg = source, config
        self._adhoc_args = {"url": url, "site": site, "location": location}
        self.since = parse_since(since)
        self.pages = 0
        self.max_pages = 0
        """Pages read per run: the source's ``max_pages``, else ``[crawl] max_pages``."""
        self.failed_requests: list[dict[str, Any]] = []
        self._planned: deque[Iterator[scrapy.Request]] = deque()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._bind(crawler)
        crawler.signals.connect(spider._schedule_planned_when_idle, signal=signals.spider_idle)
        return spider

    def _bind(self, crawler: Crawler) -> None:
        """Resolve ``-a`` arguments (``crawlers.spiderargs``) before the add-ons run: the
        add-on then reads the same config file, and an ad-hoc read or a contract check
        gets an in-memory store (nothing of it is kept)."""
        checking = bool(os.environ.get("SCRAPY_CHECK"))  # `scrapy check` runs the contracts
        bound = bind(self.name, config=self._config_arg, source=self._source_arg,
                     settings_config=explicit_config(crawler.settings), checking=checking, **self._adhoc_args)
        self.config, src, self.location = bound.config, bound.source, bound.location
        if not isinstance(self._config_arg, Config) and self.config.path.exists():
            crawler.settings.set("VOCWATCH_CONFIG", str(self.config.path), priority="spider")
        if bound.adhoc or checking:
            crawler.settings.set("VOCWATCH_STORE_URL", ADHOC_STORE, priority="spider")
        self.source = src
        self.max_pages = src.max_pages or self.config.crawl.max_pages
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
        store = store_for(self.crawler.settings)
        if self.since is None:
            last = await asyncio.to_thread(store.last_successful_run, self.source.id)
            if last is not None:
                self.since = last.started_at - timedelta(hours=self.config.crawl.incremental_overlap_hours)
        if self.since is not None:
            self.logger.info("%s: incremental, stopping at mentions older than %s", self.source.id, self.since.isoformat())
        stats = self.crawler.stats
        stats.set_value(CUTOFF + "history", await asyncio.to_thread(store.count_mentions, source_id=self.source.id))
        seeds = list(self.seed_requests())
        seed_urls = {r.url for r in seeds}
        for request in await self.retries_from_last_run():
            if request.url not in seed_urls:  # a failed first page is re-read as a seed (the evidence)
                yield request
        for request in seeds:
            request.meta[SEED_META] = True
            stats.inc_value(CUTOFF + "seeds")
            yield request

    async def retries_from_last_run(self) -> list[scrapy.Request]:
        """The pages the previous run of this source gave up on, as requests to make
        before the seeds (with their callbacks by name), counted ``vocwatch/retried_from_last_run``."""
        store = store_for(self.crawler.settings)
        run_id = self.crawler.stats.get_value("vocwatch/run_id")
        runs = await asyncio.to_thread(store.list_runs, source_id=self.source.id, limit=5)
        last = next((r for r in runs if r.id != run_id and r.outcome != "running"), None)
        requests = []
        for entry in (last.stats.get(FAILED_REQUESTS) if last else None) or []:
            callback = getattr(self, str(entry.get("callback", "")), None) if isinstance(entry, dict) else None
            # only parse* callbacks: the store is data, it never picks which method runs
            if not callable(callback) or not entry["callback"].startswith("parse") or not isinstance(entry.get("url"), str):
                continue
            if "***" in entry["url"]:
                continue  # its secret was masked in the run record: the seeds reach it again
            cb_kwargs = entry.get("cb_kwargs") if isinstance(entry.get("cb_kwargs"), dict) else {}
            failed_runs = entry.get("runs") if isinstance(entry.get("runs"), int) else 1
            requests.append(self.request(entry["url"], callback, cb_kwargs=cb_kwargs, priority=1,
                                         meta={"vocwatch_failed_runs": failed_runs}))
        if requests:
            self.crawler.stats.set_value("vocwatch/retried_from_last_run", len(requests))
            self.logger.info("%s: retrying first %d page(s) that run %d gave up on", self.source.id,
                             len(requests), last.id if last else 0)
        return requests

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

    async def checked(self, response: Response, **kwargs: Any) -> list[Any]:
        """Hand a real page to its callback; retry a failed or block page, then drop it.

        A 2xx page that is empty, cut off mid-document or not text
        (:func:`crawlers.integrity.page_problem`) is a failed page: retried by
        :meth:`retry_page`, then dropped with its reason, never read as a listing without
        mentions. A first page (seed) read here is the evidence the run's cut-off needs.

        Block pages are retried after ``VOCWATCH_BLOCK_BACKOFF`` seconds (default 30), doubling each time,
        at most ``VOCWATCH_BLOCK_RETRIES`` times (default 2). Waiting here delays only this
        request. A page still blocked is counted as ``vocwatch/dropped/page_blocked`` and
        never read, so a captcha page is never stored as reviews.

        What the page gives (mentions, requests) is returned as one list once it is read, not
        yielded one by one: a page's results are all known when its callback returns (an async
        callback's too, once its awaits are done), and Scrapy then takes them with no
        generator step of this method per mention.
        """
        out: list[Any] = list(self._next_planned(response.request, 1))
        stats, settings = self.crawler.stats, self.crawler.settings
        if self.pages >= self.max_pages:
            stats.inc_value("vocwatch/bounds/pages_not_read")
            self.logger.info("not reading %s: max_pages=%d pages already read", response.url, self.max_pages)
            return out
        is_text = isinstance(response, TextResponse)
        if problem := page_problem(response.status, response.body, response.text if is_text else None):
            if (retry := self.retry_page(response.request, problem)) and await self.back_off(retry, problem):  # type: ignore[arg-type]
                out.append(retry)
            return out
        text = response.text if is_text else ""
        reason = response_block_reason(response, text)
        if reason is None and response.status >= 400:
            self.give_up(response.request, f"page_http_{response.status}", f"HTTP {response.status}")  # type: ignore[arg-type]
            return out
        if reason is None:
            seed = response.meta.get(SEED_META, False)
            if seed:
                stats.inc_value(CUTOFF + "seed_read")
            first = len(out)
            try:
                produced = getattr(self, response.meta["vocwatch_callback"])(response, **kwargs)
                if hasattr(produced, "__aiter__"):  # an async generator (e.g. SiteSpider fetching full texts)
                    async for result in produced:
                        out.append(result)
                else:
                    for result in produced or ():
                        out.append(result)  # one by one: what came before an exception is kept
            except MalformedPage as exc:  # raised where the callback does not catch it
                self.malformed(response, exc)
            except Exception as exc:  # a page object's bug must cost one page, not the crawl
                self.parser_error(response, exc)
            if seed and (n := sum(isinstance(r, Mention) for r in out[first:])):
                stats.inc_value(CUTOFF + "seed_mentions", n)
            malformed = response.meta.pop(MALFORMED_META, False)  # the callback called self.malformed()
            if (malformed and (retry := self.retry_page(response.request, "page_malformed"))  # type: ignore[arg-type]
                    and await self.back_off(retry, "page_malformed")):
                out.append(retry)
            return out
        stats.inc_value(f"vocwatch/blocked/{reason}")
        tries = response.meta.get("vocwatch_block_tries", 0)
        if tries >= settings.getint("VOCWATCH_BLOCK_RETRIES", 2):
            self.give_up(response.request, "page_blocked", f"still a {reason} page after {tries} retries")  # type: ignore[arg-type]
            return out
        wait = settings.getfloat("VOCWATCH_BLOCK_BACKOFF", 30.0) * 2**tries
        self.logger.warning("%s is a %s page; retrying in %.1fs", response.url, reason, wait)
        stats.inc_value("vocwatch/blocked/retried")
        if not await pause(self.crawler, wait):
            stats.inc_value("vocwatch/interrupted/waits_cut")
            self.remember_failed(response.request, "page_blocked")
            return out
        out.append(response.request.replace(  # type: ignore[union-attr]
            dont_filter=True, meta={**{k: v for k, v in response.meta.items() if k != "download_latency"},
                                    "vocwatch_block_tries": tries + 1, "vocwatch_planned": False}))
        return out

    async def back_off(self, retry: scrapy.Request, reason: str) -> bool:
        """Wait before a failed page's retry as the download retries do (``[crawl]
        retry_backoff``, doubling, capped by ``retry_backoff_max``): an empty or cut-off page
        is often a site mid-deploy, and retrying at once would spend the tries in a second.
        False when the crawl is stopping (the page is kept for the next run instead)."""
        settings = self.crawler.settings
        wait = backoff_seconds(retry.meta.get("retry_times", 1) - 1, settings.getfloat("VOCWATCH_RETRY_BACKOFF", 1.0),
                               settings.getfloat("VOCWATCH_RETRY_BACKOFF_MAX", 60.0))
        self.crawler.stats.inc_value("vocwatch/retry/page_backoff_waits")
        if await pause(self.crawler, wait):
            return True
        self.crawler.stats.inc_value("vocwatch/interrupted/waits_cut")
        self.remember_failed(retry, reason)
        return False

    def retry_page(self, request: scrapy.Request, reason: str) -> scrapy.Request | None:
        """A failed page (empty, truncated, not text, a redirect loop): retried with
        Scrapy's own ``get_retry_request`` (``RETRY_TIMES``, the config's ``retries``,
        shared with the download retries of the same request), then dropped as
        ``vocwatch/dropped/<reason>``. Never read as a page with no mentions."""
        retry = get_retry_request(request, spider=self, reason=reason, logger=self.logger, give_up_log_level="DEBUG")
        if retry is not None:
            retry.meta["vocwatch_planned"] = False  # its answer must not release a second planned page
            retry.meta.pop("download_latency", None)  # the failed download's, not the retry's
            self.logger.warning("%s: %s (%s); retrying", self.source.id, request.url, reason)
            return retry
        self.give_up(request, reason, f"{reason} after {request.meta.get('retry_times', 0)} retries")
        return None

    def give_up(self, request: scrapy.Request, reason: str, why: str = "") -> None:
        """A page given up on after its retries: counted ``vocwatch/dropped/<reason>``, logged,
        marked as the first page's failure when it was one (the cut-off stays put), and kept
        for the next run to request first. The one way every kind of failed page ends."""
        self.crawler.stats.inc_value(DROPPED + reason)
        self.seed_failed(request.meta, reason)
        # one line per failed page: URL, what happened (status or error), the counted reason
        self.logger.error("failed page %s: %s", request.url, f"{why} ({reason})" if why and why != reason else reason)
        self.remember_failed(request, reason)

    def seed_failed(self, meta: dict[str, Any], reason: str) -> None:
        """Record that a first page was given up on, and why: the run's cut-off stays put."""
        if meta.get(SEED_META):
            self.crawler.stats.set_value(CUTOFF + "seed_failed", reason)

    # -- helpers for subclasses -------------------------------------------------------
    def page(self, response: Response) -> Page:
        if not isinstance(response, TextResponse):
            raise MalformedPage(f"not a text response ({response.headers.get('Content-Type')!r})")
        return Page(url=response.url, text=response.text, now=datetime.now(UTC), tz=self.tz)

    @classmethod
    def id_scope_of(cls, source: Source) -> str:
        """The id scope of ``source``'s mentions: the spider's, or what its adapter or
        selectors declare (subclasses). Also what ``vocwatch store migrate-ids`` applies."""
        return cls.id_scope

    def emit(self, mentions: Iterable[Mention]) -> list[Mention]:
        """Stamp source, location, site and id scope on the page object's mentions; counted
        (``vocwatch/mentions/extracted``, field coverage) once per page, not per mention."""
        site = self.source.site or self.site
        scope = self.id_scope_of(self.source)
        source_id, listing_url = self.source.id, self.source.url
        location_id, brand = self.location.id, self.location.brand
        now = datetime.now(UTC)
        out = list(mentions)
        if not out:
            return out
        coverage = dict.fromkeys(_COVERAGE_KEYS, 0)  # field coverage for crawl health (monitor/health.py)
        for m in out:
            m.source_id, m.location_id, m.brand = source_id, location_id, brand
            m.site = site
            m.id_scope = id_scope_value(scope, url=m.url if isinstance(m.url, str) else "",
                                        source_id=source_id, listing_url=listing_url)
            m.crawled_at = now
            for key, name in _COVERAGE_KEYS.items():
                coverage[key] += has_field(m, name)
        stats = self.crawler.stats
        stats.inc_value("vocwatch/mentions/extracted", len(out))
        for key, n in coverage.items():
            stats.inc_value(key, n)
        return out

    def count_page(self) -> bool:
        """Count a page read; False once ``max_pages`` is reached (then counted as
        ``vocwatch/bounds/max_pages_reached`` and logged: the crawl stops paging there)."""
        self.pages += 1
        self.crawler.stats.inc_value("vocwatch/pages/read")
        if self.pages < self.max_pages:
            return True
        if self.pages == self.max_pages:
            self.crawler.stats.set_value("vocwatch/bounds/max_pages_reached", 1)
            self.logger.warning("%s: read max_pages=%d pages, paging no further this run (raise max_pages "
                                "in [crawl] or on the source to read more)", self.source.id, self.max_pages)
        return False

    def cap_page_count(self, claimed: int, first: int = 1) -> int:
        """The last page number to request when a page says there are ``claimed`` pages
        (numbered from ``first``): at most ``max_pages`` pages, counted
        ``vocwatch/bounds/page_count_capped`` and logged when the claim was larger."""
        last = first + self.max_pages - 1
        if claimed <= last:
            return claimed
        self.crawler.stats.inc_value("vocwatch/bounds/page_count_capped")
        self.logger.warning("%s: the page claims %d pages; reading at most max_pages=%d", self.source.id,
                            claimed, self.max_pages)
        return last

    def follow_lazily(self, requests: Iterable[scrapy.Request]) -> Iterator[scrapy.Request]:
        """Schedule ``requests`` (a lazy iterable, e.g. one request per page number) a
        window at a time: the first window now, one more as each of them is answered or
        fails, the rest when the crawl is otherwise idle. The scheduler then holds a few
        requests, not every page a site claims to have.

        On a shared Redis queue (``[distributed]``) every request is scheduled at once: the
        queue is not in memory, and other workers can only take what is in it."""
        if self.crawler.settings.getdict("VOCWATCH_DISTRIBUTED"):
            yield from requests
            return
        self._planned.append(iter(requests))
        yield from self._next_planned(None, self._planned_window())

    def _planned_window(self) -> int:
        return 2 * max(1, self.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2))

    def _next_planned(self, done: scrapy.Request | None, n: int) -> Iterator[scrapy.Request]:
        """Up to ``n`` planned requests, when ``done`` (a request just answered or failed)
        was a planned one or is None."""
        if done is not None and not done.meta.get("vocwatch_planned"):
            return
        if self.pages >= self.max_pages or crawl_stopping(self.crawler):
            self._planned.clear()  # nothing more is read this run
            return
        while n > 0 and self._planned:
            request = next(self._planned[0], None)
            if request is None:
                self._planned.popleft()
                continue
            request.meta["vocwatch_planned"] = True
            n -= 1
            yield request

    def _schedule_planned_when_idle(self) -> None:
        """spider_idle: a window of planned requests, if any are left (the one-per-answer
        refill can stop short, e.g. when a planned page was filtered as a duplicate)."""
        requests = list(self._next_planned(None, self._planned_window()))
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def remember_failed(self, request: scrapy.Request | None, reason: str) -> None:
        """Keep a page that failed after its retries with the run (``vocwatch/failed_requests``),
        so the next run of this source requests it first."""
        if request is None or "vocwatch_callback" not in request.meta:
            return
        runs = request.meta.get("vocwatch_failed_runs", 0) + 1
        if runs > MAX_RUNS_CARRIED:
            self.crawler.stats.inc_value("vocwatch/failed_requests_given_up")
            self.logger.warning("%s failed in %d runs in a row; not retrying it first any more", request.url, runs)
            return
        if len(self.failed_requests) >= MAX_FAILED_KEPT:
            self.crawler.stats.inc_value("vocwatch/failed_requests_not_kept")
            return
        try:
            cb_kwargs = json.loads(json.dumps(request.cb_kwargs))
        except (TypeError, ValueError):
            cb_kwargs = {}
        self.failed_requests.append({"url": request.url, "callback": request.meta["vocwatch_callback"],
                                     "cb_kwargs": cb_kwargs, "reason": reason, "runs": runs})
        self.crawler.stats.set_value(FAILED_REQUESTS, self.failed_requests)

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
        """A page its page object cannot read: a failed page like an empty or truncated
        one. :meth:`checked` retries it once its callback returns, then drops it as
        ``vocwatch/dropped/page_malformed``."""
        self.logger.warning("malformed page %s: %s", response.url, exc)
        if "vocwatch_callback" in response.meta:
            response.meta[MALFORMED_META] = True
            return
        self.crawler.stats.inc_value(DROPPED + "page_malformed")  # not read through checked(): no retry
        self.seed_failed(response.meta, "page_malformed")

    def parser_error(self, response: Response, exc: Exception) -> None:
        """A page object raised something other than MalformedPage (a bug in it): the page
        is counted as ``page_parser_error`` and logged in one line with the exception type;
        the traceback goes to DEBUG only. Mentions the callback yielded before it are kept."""
        self.crawler.stats.inc_value(DROPPED + "page_parser_error")
        self.seed_failed(response.meta, "page_parser_error")
        self.logger.warning("page parser error on %s: %s: %.200s", response.url, type(exc).__name__, exc)
        self.logger.debug("page parser error on %s", response.url, exc_info=exc)

    def on_error(self, failure: Failure) -> Iterator[scrapy.Request]:
        """A page that failed after retries: counted by reason, logged, kept for the next
        run; crawl goes on. A redirect loop is a failed page too, retried from its first URL."""
        request = failure.request  # type: ignore[attr-defined]
        yield from self._next_planned(request, 1)
        if failure.check(CrawlStopping):
            return  # counted by crawlers.shutdown; an interrupted run moves no cut-off
        if is_redirect_loop(failure):
            if (retry := self.retry_page(_unredirected(request), PAGE_REDIRECT_LOOP)) is not None:
                yield retry
            return
        if failure.check(NoAccountLeft):  # every account of the site cooling/expired: kept for the next run
            self.give_up(request, "page_no_account", str(failure.value))
            return
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # robots.txt or another politeness rule said no: expected, not an error
            self.crawler.stats.inc_value("vocwatch/skipped/ignored_request")
            self.seed_failed(request.meta, "ignored_request")
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
            reason = PAGE_TRUNCATED  # shorter than its Content-Length, or chunks cut off
        elif failure.check(RetryBudgetExhausted):
            reason = "page_retry_budget_exhausted"
        elif failure.check(NoProxyAvailable):
            reason = "page_no_proxy"  # an "always"-proxied site with no usable proxy: never fetched directly
        else:
            reason = "page_" + failure.type.__name__.lower()  # type: ignore[union-attr]
        self.logger.debug("failed page %s", request.url, exc_info=failure_exc_info(failure))
        self.give_up(request, reason, failure_summary(failure))


def failure_summary(failure: Failure) -> str:
    """What made a page fail, in a few words: ``HTTP 404 Not Found`` for a status, else the
    error's first line (``Connection was refused by other side: 111: Connection refused``)."""
    if failure.check(HttpError):
        from scrapy.utils.response import response_status_message

        return f"HTTP {response_status_message(failure.value.response.status)}"
    first = (str(failure.value).splitlines() or [""])[0].strip().rstrip(".")
    return first[:200] or failure.type.__name__  # type: ignore[union-attr]


def failure_exc_info(failure: Failure) -> tuple[Any, Any, Any]:
    return (failure.type, failure.value, failure.getTracebackObject())


def _unredirected(request: scrapy.Request) -> scrapy.Request:
    """The request as it was before its redirects (its first URL, no redirect meta)."""
    return request.replace(url=request.meta.get("redirect_urls", [request.url])[0],
                           meta={k: v for k, v in request.meta.items() if k not in REDIRECT_META})


def is_redirect_loop(failure: Failure) -> bool:
    """Whether an ``IgnoreRequest`` is a redirect loop (``RedirectLoop``, or Scrapy's redirect
    middleware giving up: "max redirections reached") rather than robots.txt or another
    politeness rule saying no."""
    return bool(failure.check(RedirectLoop)) or (
        bool(failure.check(IgnoreRequest)) and "max redirections" in str(failure.value))
