"""Proxy pools: requests sent through upstream HTTP(S) proxies, rotated, cooled down on a ban.

Where the pool comes from (``[crawl] proxies``): ``env`` reads ``VOCWATCH_PROXIES``
(whitespace/comma separated URLs), ``secrets`` reads ``$VOCWATCH_SECRETS_DIR/proxies.txt``
(one URL a line, ``#`` comments; the directory and the file readable by their owner only).
Proxy URLs may carry a password, so they never come from the config file; every password
is registered with :func:`config.redact.remember` (masked by value wherever it appears,
also base64-encoded as in a ``Proxy-Authorization`` header) and is masked by pattern too.

:class:`ProxyMiddleware` uses Scrapy's own proxy support: it sets ``request.meta["proxy"]``
and Scrapy's ``HttpProxyMiddleware`` (750, after this one at 740) turns the URL's user and
password into the ``Proxy-Authorization`` header and strips them from the meta. The order
of reactions to a block (the shared design): a pooled request answered 403/429 or with a
``captcha``/``challenge`` page (:func:`spiders.pages.blocked.block_reason`) cools its proxy
down and goes again through another proxy before the spider sees the ban; a login wall is
the sessions lane's (left alone); with nothing left to rotate to, the response goes on to the
spider's own back-off. A connection error or timeout of a proxy cools it down too and the
request goes through another proxy at once (when none is left, the retry middleware's
retry does as it always did). The spider never sees a rotated answer, so an item is read
once and the run's balance is untouched.

Per site (``[sessions.<site>] proxies``): ``always`` (never fetched directly: with no
usable proxy a request waits for the first cool-down to end, at most
``VOCWATCH_PROXY_MAX_WAIT`` seconds, else it fails as ``page_no_proxy`` and the run is
partial with that reason), ``never`` (always direct), ``auto`` (the pool when one is
configured; direct, counted ``vocwatch/proxy/direct_fallback``, when every proxy is cooling).

Cool-downs are kept in memory for the crawl and, with ``[distributed]`` on, shared by
every worker through one Redis hash (``<prefix>:proxy:cooldown``, proxy address -> until,
Unix time), read again at most every ``SHARED_REFRESH_SECONDS``.

Health per proxy goes into the run record's stats, named ``p1``, ``p2``... in pool order,
never with a credential: ``vocwatch/proxy/<name>/address`` (host:port), ``requests``,
``bans``, ``errors``, ``cooldowns``, ``latency_ms_avg``; totals ``vocwatch/proxy/requests``,
``bans``, ``errors``, ``rotated``, ``exhausted``, ``direct``, ``direct_fallback``, ``waits``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.misc import load_object

from config import Config, ConfigError
from config.redact import remember
from config.secrets import SECRETS_DIR_ENV, check_private
from crawlers.identity import ACCOUNT_META, PROXY_META, ban_reason, site_of
from crawlers.shutdown import pause

logger = logging.getLogger(__name__)

PROXIES_ENV = "VOCWATCH_PROXIES"
PROXIES_FILE = "proxies.txt"
PROXY_SCHEMES = ("http", "https")
"""What Scrapy's HTTP handler can talk to (no SOCKS)."""
PROXY_AUTH_FAILED = 407
"""The proxy refused our credentials: that proxy is unusable, like one that refuses connections."""
STATS = "vocwatch/proxy/"
META = PROXY_META
ROTATIONS_META = "vocwatch_proxy_rotations"
SHARED_REFRESH_SECONDS = 2.0
_PROXY_META_KEYS = ("proxy", "_auth_proxy", "_scheme_proxy", META, "download_latency")


class NoProxyAvailable(Exception):
    """A request of an ``always``-proxied site with no usable proxy: never fetched directly."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """One pool proxy. ``url`` holds the credentials: never log or store it, use ``name``/``address``."""

    name: str
    address: str
    """``host:port``: what the health stats and the shared cool-downs name it by."""
    url: str = field(repr=False)
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)

    @property
    def server(self) -> str:
        """The URL without credentials (Playwright's ``proxy.server``)."""
        return f"{urlsplit(self.url).scheme}://{self.address}"

    def for_browser(self) -> dict[str, str]:
        """Playwright's per-context ``proxy=`` option."""
        out = {"server": self.server}
        if self.username:
            out |= {"username": self.username, "password": self.password}
        return out


def split_urls(text: str) -> list[str]:
    """Proxy URLs of a ``proxies.txt`` or ``VOCWATCH_PROXIES``: whitespace/comma separated,
    ``#`` to the end of a line a comment."""
    return [u for line in text.splitlines() for u in line.split("#", 1)[0].replace(",", " ").split()]


def parse_proxy(url: str, index: int, where: str) -> Proxy:
    """A pool proxy from its URL; :class:`ConfigError` naming ``where`` (the file or variable)
    and the entry's position, never the URL itself (it may carry a password)."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in PROXY_SCHEMES:
        problem = f"scheme must be {' or '.join(PROXY_SCHEMES)}, got {parts.scheme or 'none'!r}"
    else:
        try:
            port = parts.port
        except ValueError:
            port, problem = None, "the port is not a number"
        if problem is None and (not parts.hostname or port is None):
            problem = "needs a host and a port (http://[user:password@]host:port)"
        if problem is None and (parts.path not in ("", "/") or parts.query):
            problem = "must be just scheme://[user:password@]host:port"
    if problem:
        raise ConfigError(where, f"proxy {index}", problem)
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    return Proxy(name=f"p{index}", address=f"{parts.hostname}:{parts.port}", url=url,
                 username=username, password=password)


def load_proxies(config: Config, environ: Mapping[str, str] | None = None) -> list[Proxy]:
    """The pool ``[crawl] proxies`` names (empty for ``none``); every password remembered
    for masking before anything can print it."""
    env = os.environ if environ is None else environ
    choice = config.crawl.proxies
    if choice == "none":
        return []
    if choice == "env":
        where, text = PROXIES_ENV, env.get(PROXIES_ENV, "")
        if not text.strip():
            raise ConfigError(config.path, "crawl.proxies", f'is "env" but {PROXIES_ENV} is not set or empty')
    else:
        if not env.get(SECRETS_DIR_ENV):
            raise ConfigError(config.path, "crawl.proxies", f'is "secrets" but {SECRETS_DIR_ENV} is not set')
        folder = Path(env[SECRETS_DIR_ENV])
        check_private(folder, SECRETS_DIR_ENV)
        file = folder / PROXIES_FILE
        check_private(file, "")
        where, text = str(file), file.read_text(encoding="utf-8")
    urls = split_urls(text)
    remember_proxy_secrets(urls)
    proxies = [parse_proxy(u, i, where) for i, u in enumerate(urls, 1)]
    if not proxies:
        raise ConfigError(where, "", "holds no proxy URL")
    return proxies


def remember_proxy_secrets(urls: list[str]) -> None:
    """Mask every proxy password wherever it appears: as written, decoded, and inside the
    base64 ``user:password`` of a ``Proxy-Authorization`` header."""
    found: list[str] = []
    for url in urls:
        with contextlib.suppress(ValueError):
            parts = urlsplit(url)
            if parts.password:
                user, pw = unquote(parts.username or ""), unquote(parts.password)
                found += [parts.password, pw, base64.b64encode(f"{user}:{pw}".encode("latin-1", "replace")).decode()]
    remember(found)


class ProxyPool:
    """The crawl's proxies, their cool-downs (Unix time, so workers can share them) and health."""

    def __init__(self, proxies: list[Proxy], cooldown_seconds: float, rotation: str, stats: Any,
                 shared: Any = None) -> None:
        self.proxies = proxies
        self.by_name = {p.name: p for p in proxies}
        self.cooldown = cooldown_seconds
        self.rotation = rotation
        self.stats = stats
        self.until: dict[str, float] = {}
        """Proxy address -> end of its cool-down."""
        self.sticky: dict[str, str] = {}
        """Account (or "" for the job) -> the proxy it sticks to."""
        self.shared = shared
        self._next = itertools.cycle(range(len(proxies))) if proxies else None
        self._latency: dict[str, list[float]] = {}
        for p in proxies:
            stats.set_value(f"{STATS}{p.name}/address", p.address)
        stats.set_value(STATS + "pool_size", len(proxies))

    def usable(self, proxy: Proxy, now: float | None = None) -> bool:
        return self.until.get(proxy.address, 0.0) <= (time.time() if now is None else now)

    def pick(self, account: str = "") -> Proxy | None:
        """The proxy for the next request: sticky -> the account's (or the job's) proxy while it
        is usable; else the next usable one round-robin. None when all are cooling."""
        now = time.time()
        bound = self.by_name.get(self.sticky.get(account, "")) if self.rotation == "sticky" else None
        if bound is not None and self.usable(bound, now):
            return bound
        for _ in range(len(self.proxies)):
            proxy = self.proxies[next(self._next)]  # type: ignore[arg-type]
            if self.usable(proxy, now):
                if self.rotation == "sticky":
                    self.sticky[account] = proxy.name
                return proxy
        return None

    def soonest_free(self) -> float:
        """Seconds until the first cooling proxy is usable again."""
        now = time.time()
        return max(0.0, min((self.until.get(p.address, 0.0) for p in self.proxies), default=0.0) - now)

    def cool_down(self, proxy: Proxy, why: str) -> None:
        until = time.time() + self.cooldown
        self.until[proxy.address] = max(until, self.until.get(proxy.address, 0.0))
        self.stats.inc_value(f"{STATS}{proxy.name}/cooldowns")
        self.stats.inc_value(STATS + "cooldowns")
        logger.warning("proxy %s (%s) cooled down for %.0f min: %s", proxy.name, proxy.address,
                       self.cooldown / 60, why)
        if self.shared is not None:
            self.shared.publish(proxy.address, self.until[proxy.address])

    def count(self, proxy: Proxy, what: str, latency: float | None = None) -> None:
        self.stats.inc_value(f"{STATS}{proxy.name}/{what}")
        self.stats.inc_value(STATS + what)
        if latency is not None:
            seen = self._latency.setdefault(proxy.name, [0.0, 0])
            seen[0] += latency
            seen[1] += 1
            self.stats.set_value(f"{STATS}{proxy.name}/latency_ms_avg", round(1000 * seen[0] / seen[1], 1))


class SharedCooldowns:
    """``[distributed]``: cool-downs in one Redis hash, so a proxy one worker saw banned is
    rested by all. Redis calls run in a thread; a failing Redis only loses the sharing."""

    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key
        self.read_at = 0.0

    def publish(self, address: str, until: float) -> None:
        def write() -> None:
            with contextlib.suppress(Exception):
                self.client.hset(self.key, address, repr(until))
                self.client.expire(self.key, 7 * 86400)

        try:
            asyncio.get_running_loop().run_in_executor(None, write)
        except RuntimeError:  # no event loop here (a synchronous caller): write at once
            write()

    async def refresh(self, pool: ProxyPool) -> None:
        if time.monotonic() - self.read_at < SHARED_REFRESH_SECONDS:
            return
        self.read_at = time.monotonic()
        try:
            found = await asyncio.to_thread(self.client.hgetall, self.key)
        except Exception as exc:
            logger.debug("shared proxy cool-downs not read: %s", type(exc).__name__)
            return
        for address, until in found.items():
            addr = address.decode() if isinstance(address, bytes) else str(address)
            with contextlib.suppress(ValueError):
                pool.until[addr] = max(pool.until.get(addr, 0.0), float(until))


_pools: dict[int, ProxyPool] = {}
"""id(crawler) -> its pool, for the rendering handler (credentials never travel in request meta)."""


def pool_of(crawler: Crawler) -> ProxyPool | None:
    return _pools.get(id(crawler))


def browser_proxy(crawler: Crawler, request: Request) -> tuple[str, dict[str, str]] | None:
    """(proxy name, Playwright ``proxy=``) for a browser-rendered request that went through
    the pool, or None for a direct one."""
    pool, name = pool_of(crawler), request.meta.get(META)
    if pool is None or not name or name not in pool.by_name:
        return None
    return name, pool.by_name[name].for_browser()


class ProxyMiddleware:
    """Assigns pool proxies, rotates away from bans and dead proxies, counts their health."""

    def __init__(self, crawler: Crawler, config: Config, choice: str, pool: ProxyPool) -> None:
        self.crawler = crawler
        self.choice = choice
        self.pool = pool
        self.max_wait = crawler.settings.getfloat("VOCWATCH_PROXY_MAX_WAIT", 60.0)
        self.proxy_errors = tuple(load_object(e) if isinstance(e, str) else e
                                  for e in crawler.settings.getlist("RETRY_EXCEPTIONS"))
        self.warned_fallback = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        spider = crawler.spider
        config = getattr(spider, "config", None)
        if not isinstance(config, Config):
            raise NotConfigured("not a vocwatch source crawl")
        site = site_of(spider)
        choice = config.proxy_choice(site)
        proxies = load_proxies(config)
        if not proxies and choice != "always":
            raise NotConfigured("no proxy pool")
        shared = None
        if proxies and config.distributed.enabled:
            from crawlers.distributed import key, redis_client

            shared = SharedCooldowns(redis_client(config.distributed, check=False, retries=2),
                                     key(config.distributed, "proxy", "cooldown"))
        pool = ProxyPool(proxies, config.crawl.proxy_cooldown_minutes * 60, config.crawl.proxy_rotation,
                         crawler.stats, shared)
        _pools[id(crawler)] = pool
        crawler.stats.set_value(STATS + "site_choice", choice)
        if proxies:
            logger.info("%s (%s proxies %s): pool %s, rotation %s", getattr(spider.source, "id", "?"), site or "-",
                        choice, ", ".join(f"{p.name}={p.address}" for p in proxies), pool.rotation)
        return cls(crawler, config, choice, pool)

    async def process_request(self, request: Request) -> None:
        if "proxy" in request.meta and META not in request.meta:
            return  # a proxy someone else chose on purpose
        if self.choice == "never":
            self._direct(request)
            self.crawler.stats.inc_value(STATS + "direct")
            return
        if self.pool.shared is not None:
            await self.pool.shared.refresh(self.pool)
        account = str(request.meta.get(ACCOUNT_META) or "")
        proxy = self.pool.pick(account)
        if proxy is None and self.choice == "always" and self.pool.proxies:
            wait = self.pool.soonest_free()
            if wait <= self.max_wait:
                self.crawler.stats.inc_value(STATS + "waits")
                logger.info("every proxy is cooling; %s waits %.0fs for one", request.url, wait)
                if await pause(self.crawler, wait + 0.01):
                    proxy = self.pool.pick(account)
        if proxy is None:
            if self.choice == "always":
                self.crawler.stats.inc_value(STATS + "no_proxy")
                raise NoProxyAvailable(
                    "no usable proxy (" + (f"all {len(self.pool.proxies)} cooling down" if self.pool.proxies
                                           else "[crawl] proxies is \"none\"")
                    + ") and this site's [sessions] proxies is \"always\": not fetched directly")
            self._direct(request)
            self.crawler.stats.inc_value(STATS + "direct_fallback")
            if not self.warned_fallback:
                self.warned_fallback = True
                logger.warning("every proxy is cooling down: fetching %s directly (proxies = \"auto\"; "
                               "set it to \"always\" for a site that must never see this address)", request.url)
            return
        request.meta[META] = proxy.name
        request.meta["proxy"] = proxy.url  # HttpProxyMiddleware moves its credentials into Proxy-Authorization
        self.pool.count(proxy, "requests")

    def _direct(self, request: Request) -> None:
        for k in _PROXY_META_KEYS:
            request.meta.pop(k, None)
        request.meta["proxy"] = None  # nor the environment's http_proxy: direct means direct
        request.headers.pop(b"Proxy-Authorization", None)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        proxy = self.pool.by_name.get(request.meta.get(META, ""))
        if proxy is None:
            return response
        latency = request.meta.get("download_latency")
        self.pool.count(proxy, "responses", latency if isinstance(latency, float) else None)
        if response.status == PROXY_AUTH_FAILED:
            self.pool.count(proxy, "errors")
            self.pool.cool_down(proxy, "HTTP 407: the proxy refused its credentials")
            return self._elsewhere(request, "HTTP 407") or self._pass_on(request, response)
        reason = ban_reason(response)
        if reason is None or reason == "login_wall":  # a login wall is the account's to react to
            _forget_credentials(request)
            return response
        why = f"HTTP {response.status}" if reason.startswith("http_") else reason
        self.pool.count(proxy, "bans")
        self.pool.cool_down(proxy, f"{why} on {response.url}")
        return self._elsewhere(request, why) or self._pass_on(request, response)

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        proxy = self.pool.by_name.get(request.meta.get(META, ""))
        if proxy is None or not isinstance(exception, self.proxy_errors):
            return None
        self.pool.count(proxy, "errors")
        self.pool.cool_down(proxy, type(exception).__name__)
        retry = self._elsewhere(request, type(exception).__name__)
        if retry is None:
            _forget_credentials(request)
        return retry

    def _elsewhere(self, request: Request, why: str) -> Request | None:
        """The request again, through whatever proxy is usable next, or None when none is
        (or it has been rotated as often as the pool is large, twice over)."""
        rotations = request.meta.get(ROTATIONS_META, 0)
        if rotations >= 2 * len(self.pool.proxies) or not any(map(self.pool.usable, self.pool.proxies)):
            self.crawler.stats.inc_value(STATS + "exhausted")
            return None
        self.crawler.stats.inc_value(STATS + "rotated")
        logger.info("%s via another proxy (%s)", request.url, why)
        meta = {k: v for k, v in request.meta.items() if k not in _PROXY_META_KEYS}
        meta[ROTATIONS_META] = rotations + 1
        retry = request.replace(dont_filter=True, meta=meta)
        retry.headers.pop(b"Proxy-Authorization", None)
        return retry

    def _pass_on(self, request: Request, response: Response) -> Response:
        _forget_credentials(request)
        return response


def _forget_credentials(request: Request) -> None:
    """A request leaving the downloader carries no proxy credential: the spider may copy it
    into a retry, and on ``[distributed]`` a scheduled request is written to Redis. The next
    pass through :class:`ProxyMiddleware` assigns a proxy again."""
    request.headers.pop(b"Proxy-Authorization", None)
    if META in request.meta:
        request.meta.pop("proxy", None)
        request.meta.pop("_auth_proxy", None)
