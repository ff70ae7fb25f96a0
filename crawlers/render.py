"""Pages rendered in Chromium (Debian's package, driven by Playwright) for sources whose
reviews are built by JavaScript (``render = "browser"`` on the source).

Why a Scrapy *download handler* of our own:

- A download handler runs inside the downloader's per-site slot, after the downloader
  middlewares: robots.txt (``RobotsTxtMiddleware``), ``DOWNLOAD_DELAY``, concurrency per
  site, AutoThrottle and the retry middlewares treat a rendered page like any other. A
  downloader middleware that answered from ``process_request`` would skip the slot and so
  the rate limits.
- Not scrapy-playwright: its contexts live until user code closes them through a page it
  kept open (``playwright_include_page``), the very pattern that leaks pages; recycling a
  context every N pages, one process-wide page limit and vocwatch's own counters take
  about as much code as this handler, with no dependency on another package following
  Scrapy's download-handler API (new in Scrapy 2.14).

Memory stays bounded over long crawls: one Chromium per crawl process (shared by every
crawler in it), at most ``browser_max_pages`` pages open at once, a fresh context every
``browser_pages_per_context`` pages (the old one closes with its last page), every page
closed in ``finally`` (errors and timeouts included), images, fonts and media never loaded.
The navigation timeout is the request's ``download_timeout`` (``[crawl] timeout``).

A request that :class:`crawlers.proxies.ProxyMiddleware` sent through a pool proxy is
rendered in a context with that proxy (Playwright's per-context ``proxy=``, credentials
from the pool, never from the request): a context serves one proxy, so a request through
another proxy (or none) starts a fresh context, the old one closing with its last page.

Only the page itself passes robots.txt and the rate limits: the scripts and JSON requests
the page makes are the browser's own, as for a visitor (images, fonts, media are refused).

Counters: ``vocwatch/render/pages_opened``, ``pages_closed``, ``pages_open`` (pages the browser
still had open in this crawler's contexts after its last render; 0 when none leaked), ``pages_open_max``,
``contexts_created``, ``blocked/<image|font|media>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.http import Response
from scrapy.responsetypes import responsetypes
from scrapy.utils.misc import build_from_crawler, load_object

logger = logging.getLogger(__name__)

RENDER_META = "vocwatch_render"
"""``Request.meta`` key; ``"browser"`` sends the request through Chromium."""
BLOCKED_TYPES = frozenset({"image", "font", "media"})
LAUNCH_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
IDLE_WAIT_SECONDS = 3.0
"""After ``load``, wait at most this long for the page's own requests (XHR) to settle."""
STATS = "vocwatch/render/"
_DROPPED_HEADERS = {"content-encoding", "content-length", "content-type", "transfer-encoding"}


def browser_problem(chromium_path: str) -> str | None:
    """Why a rendering crawl cannot start here, or ``None`` when it can."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    if not os.path.isfile(chromium_path) or not os.access(chromium_path, os.X_OK):
        return (f"no Chromium at {chromium_path} (install Debian's chromium package, "
                "or set [crawl] chromium_path)")
    return None


class _Browser:
    """The crawl process's one Chromium, started on first use and closed by its last user."""

    def __init__(self, executable: str, max_pages: int) -> None:
        self.executable = executable
        self.slots = asyncio.Semaphore(max_pages)
        self.users = 0
        self._started: asyncio.Task[Any] | None = None
        self._playwright: Any = None
        self.browser: Any = None

    async def get(self) -> Any:
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        await asyncio.shield(self._started)
        return self.browser

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        self.browser = await self._playwright.chromium.launch(
            executable_path=self.executable, headless=True, args=list(LAUNCH_ARGS))
        logger.info("started Chromium %s (%s)", self.browser.version, self.executable)

    async def close(self) -> None:
        if self._started is not None:
            with contextlib.suppress(Exception):  # a failed start leaves only the driver to stop
                await self._started
        if self.browser is not None:
            await self.browser.close()
        if self._playwright is not None:
            await self._playwright.stop()


_shared: _Browser | None = None


def _acquire(executable: str, max_pages: int) -> _Browser:
    global _shared
    if _shared is None:
        _shared = _Browser(executable, max_pages)
    _shared.users += 1
    return _shared


async def _release(browser: _Browser) -> None:
    global _shared
    browser.users -= 1
    if browser.users == 0:
        if _shared is browser:
            _shared = None
        await browser.close()


class BrowserDownloadHandler(BaseDownloadHandler):
    """http(s) handler: requests marked ``meta[RENDER_META] == "browser"`` are rendered in
    Chromium, all others (robots.txt among them) go to Scrapy's own HTTP handler."""

    lazy = False

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        self.http = build_from_crawler(load_object(s["DOWNLOAD_HANDLERS_BASE"]["https"]), crawler)
        self.executable = s.get("VOCWATCH_CHROMIUM_PATH", "/usr/bin/chromium")
        self.max_pages = s.getint("VOCWATCH_BROWSER_MAX_PAGES", 2)
        self.pages_per_context = s.getint("VOCWATCH_BROWSER_PAGES_PER_CONTEXT", 20)
        self.user_agent = s.get("USER_AGENT")
        self.timeout = s.getfloat("DOWNLOAD_TIMEOUT", 30.0)
        self.stats = crawler.stats
        self._browser: _Browser | None = None
        self._context: Any = None
        self._context_account: str | None = None
        """The account (``crawlers.sessions``) whose cookies the current context holds."""
        self._context_pages = 0
        self._context_proxy: str | None = None
        """Name of the pool proxy the current context goes through (None: direct)."""
        self._retired: set[Any] = set()
        self._context_lock = asyncio.Lock()

    async def download_request(self, request: Request) -> Response:
        if request.meta.get(RENDER_META) != "browser" or request.method != "GET":
            return await self.http.download_request(request)
        if self._browser is None:
            self._browser = _acquire(self.executable, self.max_pages)
        async with self._browser.slots:
            return await self._render(request, await self._browser.get())

    async def _render(self, request: Request, browser: Any) -> Response:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        timeout = float(request.meta.get("download_timeout", self.timeout))
        from crawlers.proxies import browser_proxy
        from crawlers.sessions import account_of

        context = await self._fresh_context(browser, browser_proxy(self.crawler, request),
                                            account=account_of(request, self.crawler), url=request.url)
        page = await context.new_page()
        self.stats.inc_value(STATS + "pages_opened")
        try:
            try:
                nav = await page.goto(request.url, wait_until="load", timeout=timeout * 1000)
            except PlaywrightTimeout:
                raise DownloadTimeoutError(f"rendering {request.url} took longer than {timeout:g} s") from None
            except PlaywrightError as exc:
                raise _network_error(request.url, str(exc)) from None
            if nav is None:
                raise DownloadFailedError(f"no response for {request.url}")
            with contextlib.suppress(PlaywrightTimeout):  # a page that keeps polling: take what it built
                await page.wait_for_load_state("networkidle", timeout=min(IDLE_WAIT_SECONDS, timeout) * 1000)
            headers = {k: v for k, v in (await nav.all_headers()).items() if k not in _DROPPED_HEADERS}
            content_type = nav.headers.get("content-type", "")
            if "html" in content_type:
                body = (await page.content()).encode("utf-8")
                headers["content-type"] = "text/html; charset=utf-8"
            else:  # JSON or text opened in the browser: its bytes as served
                body = await nav.body()
                headers["content-type"] = content_type
            cls = responsetypes.from_args(headers=headers, url=page.url, body=body)
            return cls(url=page.url, status=nav.status, headers=headers, body=body, request=request,
                       flags=["browser"])
        finally:
            try:
                await page.close()
                self.stats.inc_value(STATS + "pages_closed")
                if context is not self._context and not context.pages:
                    self._retired.discard(context)
                    await context.close()
            except PlaywrightError as exc:  # the browser itself went away
                logger.error("closing the page of %s failed: %s", request.url, exc)
            self.stats.set_value(STATS + "pages_open", self.open_pages())

    def open_pages(self) -> int:
        """Pages open in this crawler's contexts, as the browser counts them."""
        return sum(len(c.pages) for c in (self._context, *self._retired) if c is not None)

    async def _fresh_context(self, browser: Any, proxy: tuple[str, dict[str, str]] | None = None, *,
                             account: Any = None, url: str = "") -> Any:
        """The current context, replaced by a new one every ``pages_per_context`` pages and
        whenever the request goes through another proxy (``proxy``: its name and Playwright option)
        or carries another account (``crawlers.sessions``): a context holds one session, its
        ``storage_state`` or its cookies (added for the page's host when they name none) and headers."""
        name, option = proxy if proxy else (None, None)
        account_name = account.name if account is not None else None
        async with self._context_lock:
            if (self._context is None or self._context_pages >= self.pages_per_context
                    or name != self._context_proxy or account_name != self._context_account):
                old = self._context
                extra: dict[str, Any] = {"proxy": option} if option else {}
                if account is not None and account.storage_state is not None:
                    extra["storage_state"] = account.storage_state
                if account is not None and account.headers:
                    extra["extra_http_headers"] = dict(account.headers)
                self._context = await browser.new_context(user_agent=self.user_agent, service_workers="block",
                                                          **extra)
                if account is not None and account.storage_state is None and account.cookies:
                    from urllib.parse import urlsplit

                    await self._context.add_cookies(account.playwright_cookies(urlsplit(url).hostname or ""))
                self._context_proxy = name
                self._context_account = account_name
                await self._context.route("**/*", self._route)
                self._context_pages = 0
                self.stats.inc_value(STATS + "contexts_created")
                if old is not None:
                    if old.pages:
                        self._retired.add(old)  # closed with its last page
                    else:
                        await old.close()
            self._context_pages += 1
            self.stats.max_value(STATS + "pages_open_max", self.open_pages() + 1)
            return self._context

    async def _route(self, route: Any) -> None:
        from playwright.async_api import Error as PlaywrightError

        kind = route.request.resource_type
        try:
            if kind in BLOCKED_TYPES:
                self.stats.inc_value(f"{STATS}blocked/{kind}")
                await route.abort("blockedbyclient")
            else:
                await route.continue_()
        except PlaywrightError:  # the page closed meanwhile
            pass

    async def close(self) -> None:
        try:
            for context in (self._context, *self._retired):
                if context is not None:
                    await context.close()
            self._context = None
            self._retired.clear()
        finally:
            if self._browser is not None:
                await _release(self._browser)
                self._browser = None
            await self.http.close()


def _network_error(url: str, message: str) -> Exception:
    """Chromium's net:: errors as the exceptions Scrapy's retry and our drop counters know."""
    if "ERR_CONNECTION_REFUSED" in message:
        return DownloadConnectionRefusedError(f"{url}: connection refused")
    if "ERR_NAME_NOT_RESOLVED" in message:
        return CannotResolveHostError(f"{url}: host not found")
    if "ERR_TIMED_OUT" in message:
        return DownloadTimeoutError(f"{url}: timed out")
    return DownloadFailedError(f"{url}: {message.splitlines()[0] if message else 'browser error'}")
