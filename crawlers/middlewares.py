"""Downloader middlewares: retries that honour ``Retry-After``; redirect loops caught at
their first repeat; charsets decoded by evidence."""

from __future__ import annotations

import asyncio
import email.utils
import logging
from datetime import UTC, datetime
from typing import Any

from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.response import response_status_message

from crawlers.charset import codec_name, evidence_encoding
from crawlers.runtime import source_id_of

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


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry, but a 429/503 that says ``Retry-After`` is retried only after
    waiting that long (capped by ``RETRY_AFTER_MAX``, default 120 s). Waiting in the
    middleware delays that request alone; the rest of the crawl goes on."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 120.0)

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait:
            wait = min(wait, self.retry_after_max)
            logger.info("HTTP %d with Retry-After for %s: waiting %.1fs", response.status, request.url, wait)
            self.crawler.stats.inc_value("vocwatch/retry_after_waits")
            await asyncio.sleep(wait)
        return self._retry(request, response_status_message(response.status)) or response


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
