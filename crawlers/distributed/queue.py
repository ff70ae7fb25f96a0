"""A source's request queue in Redis, shared by every worker crawling it, with leases.

scrapy-redis pops a request and forgets it: a worker killed with requests in flight loses
them (scrapy-cluster issue 255). Here a pop moves the request, in one Lua script, into
``:leased`` (token -> priority and encoded request) and ``:leases`` (token -> deadline, Redis
server time), and the token rides in the request's meta (:data:`LEASE_META`). The worker
acks the token once the request's work is safe (``crawlers.distributed.crawl``), renews
the leases it holds, and anyone may :meth:`Leases.reclaim` an expired lease: the request
goes back into the queue with its priority, past the dupefilter (which has already seen it).

Keys (``P`` = ``[distributed] key_prefix``, ``S`` = source id): ``P:crawl:S:requests``
(scrapy-redis priority queue), ``P:crawl:S:dupefilter`` (scrapy-redis fingerprints),
``P:crawl:S:leases`` zset token -> deadline, ``P:crawl:S:leased`` hash token ->
``<score>\\n<request>``, ``P:crawl:S:stats`` hash (the run's counters, merged at leave).

No Scrapy here (its scheduler and queue classes are in ``crawlers.distributed.crawl``), so
the worker can ask whether a source has work and reclaim its leases cheaply.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from config.model import DistributedSettings
from crawlers.distributed import key, redis_client

logger = logging.getLogger(__name__)

LEASE_META = "vocwatch_lease"
"""Request meta key of the lease token of a request popped from a shared queue. Only the
popped request has it: the scheduler strips it from every request it pushes (a retry or a
redirect copies its meta, and must get a lease of its own when it is popped)."""
REDIS_RETRIES = 20
"""Attempts of a Redis call that cannot connect before it raises: with the backoff below
(0.05 s doubling, capped at 2 s) about 35 s, so a Redis restart or a network blip of a
few seconds only pauses a crawl."""
CHUNK = 500
"""Tokens per script call (Lua's unpack has a limit)."""

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"
_REQUEUE = """
local function requeue(token)
  local v = redis.call('HGET', KEYS[3], token)
  redis.call('ZREM', KEYS[2], token)
  if not v then return 0 end
  redis.call('HDEL', KEYS[3], token)
  local i = string.find(v, '\\n', 1, true)
  redis.call('ZADD', KEYS[1], string.sub(v, 1, i - 1), string.sub(v, i + 1))
  return 1
end
"""
# KEYS of every script: requests zset, leases zset, leased hash
_POP = """
-- ARGV: token (new for each pop), lease seconds
""" + _NOW + """
local held = redis.call('HGET', KEYS[3], ARGV[1])
if held then
  -- this very pop again: it was applied but its reply was lost (Redis restarting) and the
  -- client retried it; answer the request it leased, or that request is never fetched
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
  return string.sub(held, string.find(held, '\\n', 1, true) + 1)
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return false end
redis.call('ZREM', KEYS[1], first[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], first[2] .. '\\n' .. first[1])
return first[1]
"""
_PUSH = """
-- KEYS: requests zset, dupefilter set; ARGV: score, encoded request, fingerprint or ''
if ARGV[3] ~= '' and redis.call('SADD', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
"""
_RENEW = """
-- ARGV: lease seconds, tokens...; returns how many of the tokens were still held
""" + _NOW + """
local held = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[i])
    held = held + 1
  end
end
return held
"""
_ACK = """
-- ARGV: tokens...
for i = 1, #ARGV do
  redis.call('ZREM', KEYS[2], ARGV[i])
  redis.call('HDEL', KEYS[3], ARGV[i])
end
return #ARGV
"""
_RELEASE = _REQUEUE + """
-- ARGV: tokens...; returns how many requests went back into the queue
local n = 0
for i = 1, #ARGV do n = n + requeue(ARGV[i]) end
return n
"""
_RECLAIM = _REQUEUE + _NOW + """
-- ARGV: at most this many; returns how many expired leases went back into the queue
local n = 0
for _, token in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[1]))) do
  n = n + requeue(token)
end
return n
"""


@dataclass(frozen=True, slots=True)
class CrawlKeys:
    """The Redis keys of one source's shared crawl."""

    requests: str
    dupefilter: str
    leases: str
    leased: str
    stats: str

    @classmethod
    def of(cls, settings: DistributedSettings, source_id: str) -> CrawlKeys:
        def k(part: str) -> str:
            return key(settings, "crawl", source_id, part)

        return cls(k("requests"), k("dupefilter"), k("leases"), k("leased"), k("stats"))


def resilient_client(settings: DistributedSettings, *, check: bool = True) -> Any:
    """The crawl's and the worker's client: :func:`crawlers.distributed.redis_client` whose
    calls retry a lost connection :data:`REDIS_RETRIES` times with exponential backoff
    (about 35 s) instead of failing at once: a crawl must not fail because Redis restarted."""
    return redis_client(settings, check=check, retries=REDIS_RETRIES)


class Leases:
    """The leases on one source's in-flight requests (no Scrapy: the worker uses it too)."""

    def __init__(self, redis: Any, keys: CrawlKeys, lease_seconds: float) -> None:
        self.redis, self.keys, self.lease_seconds = redis, keys, lease_seconds
        self._push, self._pop, self._renew, self._ack, self._release, self._reclaim = (
            redis.register_script(s) for s in (_PUSH, _POP, _RENEW, _ACK, _RELEASE, _RECLAIM))

    @property
    def _keys(self) -> list[str]:
        return [self.keys.requests, self.keys.leases, self.keys.leased]

    def push(self, score: float, data: bytes, fingerprint: str | None) -> bool:
        """Queue an encoded request unless ``fingerprint`` (None: not filtered) was seen:
        the dupefilter's add and the push in one script, so a call retried after a lost
        reply (Redis restarting) can neither drop the request as "seen" nor push it twice."""
        return bool(self._push(keys=[self.keys.requests, self.keys.dupefilter], args=[score, data, fingerprint or ""]))

    def pop(self) -> tuple[str, bytes] | None:
        """The highest-priority request, leased: ``(token, encoded request)``, or None.

        The client retries a call whose connection dropped, with the same token: when the
        first call was applied and only its reply lost, the script answers the request it
        leased then (it would otherwise lease a second one under the token, overwriting
        the first, which is then in neither the queue nor a lease: lost)."""
        token = uuid.uuid4().hex
        data = self._pop(keys=self._keys, args=[token, self.lease_seconds])
        return (token, data) if data is not None else None

    def renew(self, tokens: Iterable[str]) -> int:
        """Push the deadlines of ``tokens`` out by a lease; returns how many were still held
        (the others expired and were reclaimed: their requests may be fetched twice)."""
        return sum(int(self._renew(keys=self._keys, args=[self.lease_seconds, *chunk])) for chunk in _chunks(tokens))

    def ack(self, tokens: Iterable[str]) -> None:
        """The requests of ``tokens`` are done for good: forget their leases."""
        for chunk in _chunks(tokens):
            self._ack(keys=self._keys, args=chunk)

    def release(self, tokens: Iterable[str]) -> int:
        """Put the requests of ``tokens`` back into the queue now (a worker stopping)."""
        return sum(int(self._release(keys=self._keys, args=chunk)) for chunk in _chunks(tokens))

    def reclaim(self, limit: int = 1000) -> int:
        """Put the requests whose lease expired (their worker died) back into the queue, with
        their priority and past the dupefilter; returns how many."""
        n = int(self._reclaim(keys=self._keys, args=[limit]))
        if n:
            logger.warning("reclaimed %d expired request lease(s) of %s", n, self.keys.requests)
        return n

    def outstanding(self) -> int:
        """Leases held by anyone (this worker included)."""
        return int(self.redis.zcard(self.keys.leases))

    def queued(self) -> int:
        return int(self.redis.zcard(self.keys.requests))

    def has_work(self) -> bool:
        """Requests queued or in flight: the crawl of this source is not over. Both counts
        in one MULTI: a reclaim moving a lease into the queue between two separate reads
        would show neither (the crawl would end with a request left in the queue)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zcard(self.keys.requests)
        pipe.zcard(self.keys.leases)
        return any(pipe.execute())


def _chunks(tokens: Iterable[str]) -> Iterable[Sequence[str]]:
    items = list(tokens)
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]
