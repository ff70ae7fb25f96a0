"""A site's politeness held across every worker together: one send-time slot and one
concurrency cap per site in Redis (``[distributed]`` on).

Scrapy's politeness lives in each process's download slots: ``DOWNLOAD_DELAY`` and
``CONCURRENT_REQUESTS_PER_DOMAIN`` per crawler. With N worker processes on a site, the
site sees N times the rate and N times the concurrency. Here every request to host H,
before it goes out, reserves a send time from Redis in one Lua script:

- ``P:site:<H>:next``: the earliest time the next request to H may be sent. A reservation
  gets ``at = max(now, next, last + delay, backoff)`` and sets ``next = at + delay``.
- ``P:site:<H>:last``: the last reserved send time (so a source with a longer delay than
  the previous request's keeps its own gap: the stricter of the two applies).
- ``P:site:<H>:backoff``: a ``Retry-After`` (or a 429) seen by any worker: no request to H
  from anyone before it.
- ``P:site:<H>:inflight``: zset of leases, request token -> expiry. At its send time a
  request takes a lease (a second script, :meth:`SiteSlots.claim`); with
  ``concurrency_per_site`` live leases taken the send time goes unused (only more polite)
  and the request queues again. A lease is released when the response or the failure
  comes back; while the request is in flight its worker renews it every third of
  ``[distributed] lease_seconds``, so one whose worker was killed expires by itself
  ``lease_seconds`` after its last renewal, however long a live download takes.

A request holds no lease while it waits for its time: a lease held through the wait
would keep the site's cap taken between one request of a worker and its next, and a
worker polling for the cap would almost never see it free (starved).

A request must go out at its time. One that wakes late (its worker's reactor was busy)
would land next to the request reserved after it, so the claim refuses it when another
time has been reserved after its own (or a back-off came in since) and it queues again;
when no one reserved after it, its time simply moves to now. Redis calls run on a small
thread pool of the middleware's own, so the store's threads never hold a claim up.

Every time is Redis server time (``TIME`` inside the scripts), in integer microseconds,
so machines whose clocks disagree still agree on the schedule; a worker only ever sleeps
the relative wait the script hands back. With ``[distributed]`` off the middleware is
not installed and no Redis is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from twisted.internet import task

from config.model import DistributedSettings
from crawlers.distributed import key, redis_client
from crawlers.middlewares import _site, retry_after_seconds
from crawlers.shutdown import CrawlStopping, pause

logger = logging.getLogger(__name__)

SITE_DELAY_SETTING = "VOCWATCH_SITE_DELAY"
"""The site delay the shared slot keeps (set by the add-on from ``DOWNLOAD_DELAY``, which
it then zeroes for the process's own download slots)."""
LEASE_META = "vocwatch_site_lease"
"""Request meta: ``(host, token)`` of the site lease the request holds while in flight."""
WAITED = "vocwatch/politeness/waited"
WAIT_SECONDS = "vocwatch/politeness/wait_seconds"
BACKOFFS = "vocwatch/politeness/backoffs"
REQUEUED = "vocwatch/politeness/requeued"
"""Requests whose reserved time was gone when they went to claim it (late, or a back-off)."""
LATE_SECONDS = 0.05
LATE_FRACTION = 0.05
"""A request may go out at most ``min(LATE_SECONDS, LATE_FRACTION * delay)`` after its
reserved time when another time was reserved after it."""
KEY_TTL_SECONDS = 3600
"""A site's keys outlive its last reservation by this long, then Redis drops them."""
POLL_MIN, POLL_MAX = 0.01, 0.2
"""Seconds between tries while a site's concurrency cap is full and its delay is shorter (growing)."""
REDIS_THREADS = 4
REDIS_RETRY_SECONDS = 1.0
"""While Redis is unreachable a request waits (never goes out unthrottled) and tries again this often."""

_US = 1_000_000

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"

_RESERVE = _NOW + """
local delay, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local last = redis.call('GET', KEYS[2])
local at = math.max(now, nxt, tonumber(redis.call('GET', KEYS[3]) or '0'))
if last then at = math.max(at, tonumber(last) + delay) end
local keep = math.floor((at - now + ttl) / 1000)
redis.call('SET', KEYS[2], string.format('%.0f', at), 'PX', keep)
redis.call('SET', KEYS[1], string.format('%.0f', math.max(nxt, at + delay)), 'PX', keep + math.floor(delay / 1000))
return {now, at}
"""
"""KEYS: next, last, backoff. ARGV: delay, key ttl (microseconds). Returns ``{now, at}``:
the send time reserved, ``delay`` after the last one and no earlier than ``next`` or a back-off."""

_CLAIM = _NOW + """
local cap, lease, ttl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local at, delay, late = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if tonumber(redis.call('GET', KEYS[4]) or '0') > now then return {-1, now} end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= cap then return {0, now} end
if now > at then
  if tonumber(redis.call('GET', KEYS[2]) or '0') > at then
    if late >= 0 and now > at + late then return {-1, now} end
  else
    local keep = math.floor(ttl / 1000)
    redis.call('SET', KEYS[2], string.format('%.0f', now), 'PX', keep)
    local nxt = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + delay)
    redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', keep + math.floor(delay / 1000))
  end
end
redis.call('ZADD', KEYS[3], string.format('%.0f', now + lease), ARGV[1])
redis.call('PEXPIRE', KEYS[3], math.floor((lease + ttl) / 1000))
return {1, now}
"""
"""KEYS: next, last, inflight, backoff. ARGV: token, cap, lease, key ttl, at (the reserved
time), delay, lateness allowed (-1: any) (microseconds but cap). Past its time with no
other time reserved after it, the request's time moves to now (the next one keeps its
delay from the real send). Returns ``{1, now}`` (a
lease taken, expiring at now + lease), ``{0, now}`` (cap full) or ``{-1, now}`` (the time is
gone: a back-off, or late with another time reserved after it)."""

_PUSH = _NOW + """
local till = now + tonumber(ARGV[1])
if till > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', till), 'PX', math.floor((till - now + tonumber(ARGV[2])) / 1000))
  return till - now
end
return 0
"""
"""KEYS: backoff. ARGV: seconds, key ttl (microseconds). No send on the site before now +
seconds; returns the push in microseconds (0: a later back-off was already in force)."""

_RENEW = _NOW + """
local n = 0
for i = 1, #ARGV - 1 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) > now then
    redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[#ARGV])), ARGV[i])
    n = n + 1
  end
end
return n
"""
"""KEYS: inflight. ARGV: tokens..., lease (microseconds). Leases still held (not expired,
not released) run ``lease`` from now again; returns how many were."""

CLAIMED, FULL, GONE = 1, 0, -1
""":meth:`SiteSlots.claim` results: a lease taken; the cap is full; the reserved time is gone."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """A send time reserved on a site's slot, in Redis server time (seconds since the epoch)."""

    now: float
    at: float

    @property
    def wait(self) -> float:
        """Seconds from the reply to the reserved send time (0 when it is due now)."""
        return max(0.0, self.at - self.now)


class SiteSlots:
    """The shared per-site slots in Redis (see the module docstring). Thread-safe: the
    middleware calls it from worker threads, so the reactor never waits for Redis."""

    def __init__(self, redis: Any, settings: DistributedSettings) -> None:
        self.redis = redis
        self.settings = settings
        self._reserve = redis.register_script(_RESERVE)
        self._claim = redis.register_script(_CLAIM)
        self._push = redis.register_script(_PUSH)
        self._renew = redis.register_script(_RENEW)

    def keys(self, host: str) -> dict[str, str]:
        return {part: key(self.settings, "site", host, part) for part in ("next", "last", "inflight", "backoff")}

    def reserve(self, host: str, delay: float) -> Reservation:
        """A send time for one request to ``host``: ``delay`` after the site's last one (or
        that one's own delay, when longer), and not before a back-off (:meth:`back_off`)."""
        k = self.keys(host)
        now, at = self._reserve(keys=[k["next"], k["last"], k["backoff"]],
                                args=[round(delay * _US), KEY_TTL_SECONDS * _US])
        return Reservation(int(now) / _US, int(at) / _US)

    def claim(self, host: str, token: str, *, concurrency: int, lease: float, at: float = 0.0, delay: float = 0.0,
              late: float | None = None) -> int:
        """Take one of the site's ``concurrency`` leases for a request going out now, at
        its reserved time ``at``: :data:`CLAIMED`, :data:`FULL`, or :data:`GONE` (a back-off
        is in force, or it is more than ``late`` seconds past ``at`` and another time was
        reserved after it; ``late=None`` never counts as late). A lease not released within
        ``lease`` seconds (its worker died) expires."""
        k = self.keys(host)
        result, _ = self._claim(keys=[k["next"], k["last"], k["inflight"], k["backoff"]], args=[
            token, max(1, concurrency), round(lease * _US), KEY_TTL_SECONDS * _US, round(at * _US),
            round(delay * _US), -1 if late is None else round(late * _US)])
        return int(result)

    def release(self, host: str, *tokens: str) -> None:
        """Free leases (their responses or failures came back)."""
        if tokens:
            self.redis.zrem(self.keys(host)["inflight"], *tokens)

    def renew(self, host: str, tokens: list[str], lease: float) -> int:
        """Leases still in flight run ``lease`` seconds from now again (their worker lives);
        returns how many were renewed (an expired one is not brought back)."""
        if not tokens:
            return 0
        return int(self._renew(keys=[self.keys(host)["inflight"]], args=[*tokens, round(lease * _US)]))

    def back_off(self, host: str, seconds: float) -> float:
        """No request to ``host`` from any worker before ``seconds`` from now (the site
        asked for it: ``Retry-After`` or a 429); returns the push in seconds (0 when a
        later back-off was already in force)."""
        return int(self._push(keys=[self.keys(host)["backoff"]],
                              args=[round(seconds * _US), KEY_TTL_SECONDS * _US])) / _US

    def inflight(self, host: str) -> int:
        """Leases on ``host`` not yet released or expired (for tests and diagnostics)."""
        secs, micros = self.redis.time()
        return int(self.redis.zcount(self.keys(host)["inflight"], secs * _US + micros, "+inf"))


class SitePolitenessMiddleware:
    """Downloader middleware: before a request to a site goes out, wait for that site's
    shared slot (:class:`SiteSlots`), so the site's delay and concurrency hold across all
    workers together; release the lease when the response or the failure comes back.

    Sits at 560, after robots.txt (100: a disallowed page takes no slot, the robots.txt
    fetch itself goes through here and takes one) and closer to the wire than the retry
    middleware (550), so a retry's backoff does not hold a lease. Waits are asyncio sleeps
    (the project runs on Scrapy's asyncio reactor) cut short when the crawl stops
    (:func:`crawlers.shutdown.pause`); Redis calls run in threads. While Redis is
    unreachable requests wait for it rather than go out unthrottled.

    Not installed (``NotConfigured``) unless ``[distributed]`` is on."""

    def __init__(self, crawler: Crawler, slots: SiteSlots, *, delay: float, concurrency: int, lease: float) -> None:
        self.crawler = crawler
        self.slots = slots
        self.delay = delay
        self.concurrency = concurrency
        self.lease = lease
        self.late = min(LATE_SECONDS, LATE_FRACTION * delay) if delay > 0 else None
        self.retry_after_max = crawler.settings.getfloat("RETRY_AFTER_MAX", 120.0)
        self.backoff = crawler.settings.getfloat("VOCWATCH_RETRY_BACKOFF", 1.0)
        self.backoff_max = crawler.settings.getfloat("VOCWATCH_RETRY_BACKOFF_MAX", 60.0)
        self.held: dict[str, str] = {}
        """Token -> host of the leases this crawler holds now."""
        self.own_last: dict[str, float] = {}
        """Host -> this crawler's last reserved send time (Redis time), to tell other workers' traffic apart."""
        self.locks: dict[str, asyncio.Lock] = {}
        """One reserving request per site at a time in this crawler (the others queue here, FIFO)."""
        self.told: set[str] = set()
        self.redis_down = False
        self.renewing: task.LoopingCall | None = None
        self.executor = ThreadPoolExecutor(max_workers=REDIS_THREADS, thread_name_prefix="vocwatch-polite")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = _config_of(crawler)
        if config is None or not config.distributed.enabled:
            raise NotConfigured("[distributed] is off: politeness is per process")
        s = crawler.settings
        delay = s.getfloat(SITE_DELAY_SETTING, config.crawl.delay)
        lease = config.distributed.lease_seconds
        slots = SiteSlots(redis_client(config.distributed), config.distributed)
        mw = cls(crawler, slots, delay=delay, concurrency=s.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 2), lease=lease)
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    async def process_request(self, request: Request) -> None:
        host = _site(request)
        if not host:
            return
        stale = request.meta.pop(LEASE_META, None)
        if stale and stale[1] in self.held:  # the same request back (rescheduled) before its lease came back
            await self._release(*stale)
        token = uuid.uuid4().hex
        started = time.monotonic()
        lock = self.locks.setdefault(host, asyncio.Lock())
        waited = lock.locked()
        async with lock:
            poll = POLL_MIN
            while True:
                r = await self._call(request, self.slots.reserve, host, self.delay)
                self._note_others(host, r)
                if r.wait > 0:
                    waited = True
                    if not await pause(self.crawler, r.wait):
                        raise CrawlStopping(f"crawl stopping: {request.url} not fetched")
                claimed = await self._call(request, self.slots.claim, host, token, concurrency=self.concurrency,
                                           lease=self.lease, at=r.at, delay=self.delay, late=self.late)
                if claimed == CLAIMED:
                    break
                waited = True
                if claimed == GONE:  # woke too late, or a back-off came in: queue again at once
                    self.crawler.stats.inc_value(REQUEUED)
                    continue
                # the site's concurrency is taken at this send time: the time goes unused (which is
                # only more polite) and the request queues again, behind the ones already waiting
                if self.delay < POLL_MAX and not await pause(self.crawler, poll):
                    raise CrawlStopping(f"crawl stopping: {request.url} not fetched")
                poll = min(POLL_MAX, poll * 1.5)
        self.held[token] = host
        request.meta[LEASE_META] = (host, token)
        if waited:
            stats = self.crawler.stats
            stats.inc_value(WAITED)
            stats.inc_value(WAIT_SECONDS, round(time.monotonic() - started, 3))

    def _note_others(self, host: str, r: Reservation) -> None:
        """Log once per site when other workers' requests (or a back-off one of them saw)
        pushed this crawler's send time past what its own requests alone would give."""
        own = max(r.now, self.own_last.get(host, 0.0) + self.delay)
        self.own_last[host] = r.at
        if r.at > own + 0.001 and host not in self.told:
            self.told.add(host)
            logger.info("%s is throttled by other workers: its delay (%.2fs) and concurrency (%d) are shared "
                        "through Redis", host, self.delay, self.concurrency)

    async def _call(self, request: Request, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` on Redis in a thread; while Redis is unreachable, wait and
        try again (a request never goes out without the shared politeness); raise
        :class:`CrawlStopping` when the crawl stops first."""
        import redis

        while True:
            try:
                result = await self._in_thread(fn, *args, **kwargs)
            except redis.RedisError as exc:
                if not self.redis_down:
                    self.redis_down = True
                    logger.warning("Redis unreachable (%s): requests wait for it rather than go out without the "
                                   "shared politeness", type(exc).__name__)
                if not await pause(self.crawler, REDIS_RETRY_SECONDS):
                    raise CrawlStopping(f"crawl stopping: {request.url} not fetched") from None
                continue
            if self.redis_down:
                self.redis_down = False
                logger.info("Redis reachable again: requests go on")
            return result

    async def process_response(self, request: Request, response: Response) -> Response:
        held = request.meta.pop(LEASE_META, None)
        if held:
            await self._release(*held)
            await self._honour_backoff(held[0], request, response)
        return response

    async def process_exception(self, request: Request, exception: Exception) -> None:
        held = request.meta.pop(LEASE_META, None)
        if held:
            await self._release(*held)

    async def _honour_backoff(self, host: str, request: Request, response: Response) -> None:
        """A ``Retry-After`` (429/503) or a bare 429: every worker holds off the site."""
        if response.status not in (429, 503):
            return
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None and response.status == 429:
            wait = min(self.backoff_max, self.backoff * 2.0 ** min(request.meta.get("retry_times", 0), 64))
        if not wait:
            return
        wait = min(wait, self.retry_after_max)
        try:
            pushed = await self._in_thread(self.slots.back_off, host, wait)
        except Exception as exc:  # a lost push only makes the others less patient
            logger.warning("could not share the back-off of %s through Redis: %s", host, type(exc).__name__)
            return
        if pushed:
            self.crawler.stats.inc_value(BACKOFFS)
            logger.info("%s answered %d: no worker sends to it for %.1fs", host, response.status, pushed)

    async def _release(self, host: str, token: str) -> None:
        self.held.pop(token, None)
        try:
            await self._in_thread(self.slots.release, host, token)
        except Exception as exc:  # the lease then expires by itself
            logger.log(logging.DEBUG if self.redis_down else logging.WARNING,
                       "could not release a lease on %s in Redis (%s): it expires within %.0fs", host,
                       type(exc).__name__, self.lease)

    async def _in_thread(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def spider_opened(self, **_: Any) -> None:
        self.renewing = task.LoopingCall(self._renew_leases)
        self.renewing.start(max(0.5, self.lease / 3), now=False)

    def _renew_leases(self) -> None:
        """Renew the leases held now, on the middleware's threads (the reactor never waits)."""
        by_host: dict[str, list[str]] = {}
        for token, host in self.held.items():
            by_host.setdefault(host, []).append(token)
        for host, tokens in by_host.items():
            self.executor.submit(self._renew_quietly, host, tokens)

    def _renew_quietly(self, host: str, tokens: list[str]) -> None:
        try:
            self.slots.renew(host, tokens, self.lease)
        except Exception as exc:  # a missed renewal: the lease may expire (lease_seconds) before its response
            logger.warning("could not renew %d lease(s) on %s in Redis: %s", len(tokens), host, type(exc).__name__)

    def spider_closed(self, **_: Any) -> None:
        """Leases still held (requests dropped without a response) go back at once."""
        if self.renewing is not None and self.renewing.running:
            self.renewing.stop()
        by_host: dict[str, list[str]] = {}
        for token, host in self.held.items():
            by_host.setdefault(host, []).append(token)
        self.held.clear()
        for host, tokens in by_host.items():
            with contextlib.suppress(Exception):  # they expire by themselves
                self.slots.release(host, *tokens)
        self.executor.shutdown(wait=False)


def _config_of(crawler: Crawler) -> Any:
    """The vocwatch config of this crawl: its spider's, else the config file's (None without one)."""
    import os

    from config import load_config
    from crawlers.addon import config_path

    config = getattr(crawler.spider, "config", None)
    if config is not None:
        return config
    path = config_path(crawler.settings)
    return load_config(path) if os.path.exists(path) else None
