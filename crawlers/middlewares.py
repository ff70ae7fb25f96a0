"""Downloader middlewares: retries with exponential backoff, ``Retry-After`` and a per-site
budget; redirect loops caught at their first repeat; charsets decoded by evidence."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from crawlers.charset import codec_name, evidence_encoding
from crawlers.runtime import source_id_of
from crawlers.shutdown import pause

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryBudgetExhausted(Exception):
    """A request not retried because its site has been failing longer than ``retry_budget``."""


def backoff_seconds(retries_done: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Wait before retry number ``retries_done + 1``: ``base * 2**retries_done`` capped at
    ``cap``, with "equal jitter" (a random point in its upper half). Full jitter (0..d)
    would spread retries as well but gives no floor: eight fully jittered waits sum to
    under a minute about one time in eight, so surviving a one-minute outage would be
    luck. With equal jitter the waits add up to at least half the nominal schedule."""
    d = min(cap, base * 2.0 ** min(retries_done, 64))
    return d / 2 + (rng or random).uniform(0, d / 2)


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry with waits: retry n of a failed request (``RETRY_HTTP_CODES``,
    ``RETRY_EXCEPTIONS``) waits :func:`backoff_seconds` (``VOCWATCH_RETRY_BACKOFF``,
    ``VOCWATCH_RETRY_BACKOFF_MAX``), or the response's ``Retry-After`` when longer (capped
    by ``RETRY_AFTER_MAX``, default 120 s). Waiting in the middleware delays that request
    alone; the rest of the crawl goes on, and a stopping crawl cuts the wait short.

    Per site (download slot) a retry budget: once a site has been failing for
    ``VOCWATCH_RETRY_BUDGET`` seconds with no good answer in between, its failing requests
    are not retried but fail at once with :class:`RetryBudgetExhausted`, so one dead site
    does not keep hundreds of requests waiting minutes each. A good answer renews it."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 120.0)
        self.backoff = settings.getfloat("VOCWATCH_RETRY_BACKOFF", 1.0)
        self.backoff_max = settings.getfloat("VOCWATCH_RETRY_BACKOFF_MAX", 60.0)
        self.budget = settings.getfloat("VOCWATCH_RETRY_BUDGET", 180.0)
        self.failing_since: dict[str, float] = {}
        """Site (download slot) -> monotonic time of its first failure since its last good answer."""

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False):
            return response
        if response.status not in self.retry_http_codes:
            self.failing_since.pop(_site(request), None)
            return response
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if retry_after:
            self.crawler.stats.inc_value("vocwatch/retry_after_waits")
        reason = response_status_message(response.status)
        return await self._retry_later(request, reason, retry_after) or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        return await self._retry_later(request, exception)

    async def _retry_later(self, request: Request, reason: str | Exception, retry_after: float | None = None) -> Request | None:
        """The retry of ``request`` after its backoff, or None when it is not retried
        (out of tries, or the crawl stopped during the wait); raise
        :class:`RetryBudgetExhausted` when its site's budget is spent."""
        retries_done = request.meta.get("retry_times", 0)
        if retries_done >= request.meta.get("max_retry_times", self.max_retry_times):
            return self._retry(request, reason)  # Scrapy's give-up: None, counted and logged
        site, now = _site(request), time.monotonic()
        failing_for = now - self.failing_since.setdefault(site, now)
        if failing_for >= self.budget:
            stats = self.crawler.stats
            stats.inc_value("vocwatch/retry/budget_exhausted")
            if stats.get_value(f"vocwatch/retry/budget_exhausted_at/{site}") is None:
                stats.set_value(f"vocwatch/retry/budget_exhausted_at/{site}", round(failing_for, 1))
                logger.warning("%s has been failing for %.0fs (retry budget %.0fs): its failing requests are "
                               "no longer retried", site, failing_for, self.budget)
            raise RetryBudgetExhausted(f"{site} failing for {failing_for:.0f}s (retry budget {self.budget:g}s): "
                                       f"{reason}")
        wait = backoff_seconds(retries_done, self.backoff, self.backoff_max)
        if retry_after:
            wait = max(wait, min(retry_after, self.retry_after_max))
        logger.info("retry %d of %s in %.1fs: %s", retries_done + 1, request.url, wait, reason)
        self.crawler.stats.inc_value("vocwatch/retry/backoff_waits")
        self.crawler.stats.inc_value("vocwatch/retry/backoff_seconds", round(wait, 3))
        if not await pause(self.crawler, wait):
            self.crawler.stats.inc_value("vocwatch/interrupted/waits_cut")
            return None
        return self._retry(request, reason)


def _site(request: Request) -> str:
    """The politeness slot a request was downloaded in (its host unless ``download_slot`` says)."""
    return str(request.meta.get("download_slot") or urlparse_cached(request).hostname or "")



CHARSET_MISMATCH = "vocwatch/decoding/charset_mismatch"
"""Pages whose declared charset their bytes contradicted; ``CHARSET_MISMATCH + "/X->Y"``
counts them by the charset Scrapy would have used (X) and the one used instead (Y)."""


class CharsetEvidenceMiddleware:
    """Decode a text page by the evidence of its bytes when its declared charset is wrong
    (see :mod:`crawlers.charset`): a GBK page served as ``charset=utf-8`` or
    ``iso-8859-1`` is read as GBK instead of being stored as mojibake. Each such page is
    counted (``vocwatch/decoding/charset_mismatch``) and the first one of a crawl is
    logged as a warning, naming the source. Sits after decompression
    (``HttpCompressionMiddleware``, 590), so it sees the page's real bytes. Off with
    ``VOCWATCH_CHARSET_EVIDENCE = False``."""

    def __init__(self, crawler: Any) -> None:
        if not crawler.settings.getbool("VOCWATCH_CHARSET_EVIDENCE", True):
            raise NotConfigured
        self.crawler = crawler
        self.warned = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> CharsetEvidenceMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        declared = codec_name(response.encoding) or response.encoding
        better = evidence_encoding(response.body, declared)
        if better is None:
            return response
        stats = self.crawler.stats
        stats.inc_value(CHARSET_MISMATCH)
        stats.inc_value(f"{CHARSET_MISMATCH}/{declared}->{better}")
        if not self.warned:
            self.warned = True
            logger.warning("%s: %s is not in the charset it declares (%s); decoded as %s by the evidence of its "
                           "bytes (every such page is counted in %s)", source_id_of(self.crawler.spider),
                           response.url, declared, better, CHARSET_MISMATCH)
        return response.replace(encoding=better)


class RedirectLoop(IgnoreRequest):
    """A redirect back to a URL already in the request's own redirect chain."""


class LoopAwareRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, but a redirect back to a URL of its own chain fails the request
    at once with :class:`RedirectLoop` (reaching the request's errback, like "max
    redirections reached" does). Without it a two-page loop is either dropped without a
    word by the duplicate filter or, for a retried request (``dont_filter``), followed
    ``REDIRECT_MAX_TIMES`` (20) times per try."""

    def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        result = super().process_response(request, response)
        if isinstance(result, Request) and result is not request:
            chain = result.meta.get("redirect_urls", [])
            if result.url in chain:
                raise RedirectLoop(f"redirect loop: {result.url} after {' -> '.join(chain)}")
        return result
