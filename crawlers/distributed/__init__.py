"""Crawling on many machines through one Redis: scrapy-redis request queues and dupefilters
per source, leased jobs and in-flight requests, global per-site politeness, and the
scheduler's leader lock (``[distributed]`` in the config; DESIGN.md "Distributed crawling").

Every key lives under ``<key_prefix>:`` (:func:`key`), so several deployments (or test
cases) can share one Redis without seeing each other.
"""

from __future__ import annotations

from typing import Any

from config.model import DistributedSettings
from config.redact import redact

REDIS_SOCKET_TIMEOUT = 10.0
"""Seconds a Redis call may take before it fails (the server is down or unreachable)."""


class RedisUnavailable(RuntimeError):
    """Redis could not be reached; the message names the URL with its password masked."""


def key(settings: DistributedSettings, *parts: str) -> str:
    """``<key_prefix>:part:part``: the one way vocwatch names a Redis key."""
    return ":".join((settings.key_prefix, *parts))


def redis_client(settings: DistributedSettings, *, check: bool = True, retries: int = 0) -> Any:
    """A ``redis.Redis`` for ``settings.redis_url`` (bytes replies; scrapy-redis stores
    pickled requests). With ``check``, ping it first and raise :class:`RedisUnavailable`
    naming the masked URL, so a wrong URL fails at start, not mid-crawl. With ``retries``,
    a call that loses its connection is retried that many times with exponential backoff
    (what a crawl wants: not to fail because Redis restarted); without, it fails at once
    (what the leader lock wants: to notice at once that it cannot renew)."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    if not settings.redis_url:
        raise RedisUnavailable("no Redis configured: set [distributed] redis_url or VOCWATCH_REDIS_URL")
    resilience: dict[str, Any] = {
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.05), retries),
        "retry_on_error": [redis.ConnectionError, redis.TimeoutError]} if retries else {}
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=REDIS_SOCKET_TIMEOUT,
                                  socket_connect_timeout=REDIS_SOCKET_TIMEOUT, health_check_interval=30,
                                  **resilience)
    if check:
        try:
            client.ping()
        except redis.RedisError as exc:
            raise RedisUnavailable(f"Redis at {redact(settings.redis_url)} is unreachable: {redact(str(exc))}") from None
    return client
