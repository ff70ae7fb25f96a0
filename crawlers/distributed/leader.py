"""The scheduler's leader lock in Redis: one ``vocwatch schedule run`` at a time enqueues
due crawl jobs; the others stand by and one takes over when the leader's lock expires.

``P:leader`` holds ``"<fence> <holder>"`` with a TTL of ``leader_ttl_seconds``; the fence
is a number from the ``P:leader:fence`` counter, drawn afresh (INCR) at every acquisition,
so a later leader always holds a larger one. Whatever a leader writes carries its fence
and is refused when the fence is no longer the current one
(:meth:`crawlers.distributed.jobs.JobQueue.enqueue` compares it with the first word of
``P:leader`` inside its script): a leader that was paused (GC, SIGSTOP, a slow disk) past
its TTL and wakes up still believing it leads cannot enqueue anything.

On top of the fence, a holder judges its lease by its own monotonic clock: it counts the
TTL from the moment it *sent* the acquire or the last successful renew, so it believes
itself leader no longer than Redis does (clock rates aside), and it stops enqueuing as
soon as that time has passed without a successful renew (Redis unreachable, say), without
waiting to hear from Redis. Acquire, renew and release are Lua scripts: each compare and
write is one atomic step (the redis-py ``Lock`` has no fencing token, hence this class).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.model import DistributedSettings
from crawlers.distributed import key

logger = logging.getLogger(__name__)

_ACQUIRE = """
-- KEYS: leader, fence counter; ARGV: holder, ttl ms
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ' ' .. ARGV[1], 'PX', ARGV[2])
return fence
"""

_RENEW = """
-- KEYS: leader; ARGV: "<fence> <holder>", ttl ms
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

_RELEASE = """
-- KEYS: leader; ARGV: "<fence> <holder>"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def default_holder() -> str:
    """``host:pid:random``: names the process in ``schedule status`` and stays unique even
    when a pid is reused."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class LeaderInfo:
    """Who holds the lock now, as Redis sees it."""

    fence: int
    holder: str
    ttl_seconds: float
    """Time left before the lock expires unless renewed."""


class LeaderLock:
    """The leader lock of one deployment (``settings.key_prefix``) for one ``holder``."""

    def __init__(self, redis: Any, settings: DistributedSettings, holder: str | None = None) -> None:
        self.redis = redis
        self.settings = settings
        self.holder = holder or default_holder()
        self.ttl = float(settings.leader_ttl_seconds)
        self._key, self._fence_key = key(settings, "leader"), key(settings, "leader", "fence")
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self.fence: int | None = None
        """The fencing token while this holder leads (or believes it does), else None."""
        self._valid_until = 0.0

    @property
    def _value(self) -> str:
        return f"{self.fence} {self.holder}"

    def _ttl_ms(self) -> int:
        return max(1, round(self.ttl * 1000))

    def acquire(self) -> int | None:
        """Become leader if nobody is: the new fencing token, or None when another holds the
        lock (or already this holder: a leader renews, it does not acquire again)."""
        sent = time.monotonic()
        fence = self._acquire(keys=[self._key, self._fence_key], args=[self.holder, self._ttl_ms()])
        if fence is None:
            return None
        self.fence, self._valid_until = int(fence), sent + self.ttl
        return self.fence

    def renew(self) -> bool:
        """Extend the lock if it is still this holder's; False (and no longer leader) when it
        expired or another holds it. A Redis error propagates and leaves the local lease
        running out on its own (:meth:`is_leader` turns False at its end)."""
        if self.fence is None:
            return False
        sent = time.monotonic()
        if self._renew(keys=[self._key], args=[self._value, self._ttl_ms()]):
            self._valid_until = sent + self.ttl
            return True
        self.fence = None
        return False

    def release(self) -> bool:
        """Give the lock up if it is still this holder's (a clean shutdown: a standby takes
        over at once instead of after the TTL). False when it was not."""
        if self.fence is None:
            return False
        value, self.fence = self._value, None
        return bool(self._release(keys=[self._key], args=[value]))

    def is_leader(self) -> bool:
        """Whether this holder may act as leader now: it holds a fence and its lease, counted
        on the local monotonic clock from the last acquire/renew it sent, has not run out."""
        if self.fence is not None and time.monotonic() >= self._valid_until:
            logger.warning("leader lease of %s (fence %d) ran out without a renewal", self.holder, self.fence)
            self.fence = None
        return self.fence is not None

    def status(self) -> LeaderInfo | None:
        """The current leader (fence, holder, TTL left), or None when nobody leads."""
        pipe = self.redis.pipeline()
        pipe.get(self._key)
        pipe.pttl(self._key)
        value, pttl = pipe.execute()
        return parse_leader(value, pttl)

    def last_fence(self) -> int:
        """The latest fencing token handed out (0 before the first leader)."""
        return int(self.redis.get(self._fence_key) or 0)


def parse_leader(value: Any, pttl: int) -> LeaderInfo | None:
    """A ``P:leader`` value and its PTTL as :class:`LeaderInfo` (None when absent)."""
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    fence, _, holder = text.partition(" ")
    return LeaderInfo(int(fence), holder, max(pttl, 0) / 1000)


_END = object()


class LeaderElection:
    """A thread that keeps trying to lead and, once leading, renews every TTL/3.

    ``on_elected(fence)`` is called when this holder becomes leader, ``on_lost()`` when it
    stops being leader (renew refused, or its lease ran out while Redis could not be
    reached), in that order, on a thread of their own: planning thousands of schedules on
    election must not hold up the renewals. :meth:`lost` lets the leader's own work report
    a refused write (its fence found stale), which ends leadership at once; so does an
    ``on_elected`` that raises (this holder cannot lead; another may)."""

    def __init__(self, lock: LeaderLock, on_elected: Callable[[int], None], on_lost: Callable[[], None]) -> None:
        self.lock = lock
        self.on_elected, self.on_lost = on_elected, on_lost
        self.every = lock.ttl / 3
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._leading = False
        self._standby_logged: str | None = None
        self._unreachable = False
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        """A fence: elected; None: lost; ``_END``: stop."""
        self._thread = threading.Thread(target=self._run, name="vocwatch-leader", daemon=True)
        self._callbacks = threading.Thread(target=self._deliver, name="vocwatch-leader-callbacks", daemon=True)

    def start(self) -> None:
        self._callbacks.start()
        self._thread.start()

    def stop(self) -> None:
        """End the loop; a leader steps down (``on_lost``) and releases the lock."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if self._leading:
            self._leading = False
            self._events.put(None)
        self._events.put(_END)
        self._callbacks.join()
        try:
            self.lock.release()
        except Exception as exc:  # Redis down: the lock expires on its own
            logger.warning("could not release the leader lock: %s", exc)

    def lost(self) -> None:
        """The leader's work saw its fence refused: step down at once."""
        self.lock.fence = None
        self._wake.set()

    def _deliver(self) -> None:
        while (event := self._events.get()) is not _END:
            try:
                if event is None:
                    self.on_lost()
                else:
                    self.on_elected(event)  # type: ignore[arg-type]
            except Exception:
                logger.exception("leader %s failed", "step-down" if event is None else "start")
                if event is not None:
                    self.lost()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._beat()
                if self._unreachable:
                    logger.info("leader lock: Redis answers again")
                    self._unreachable = False
            except Exception as exc:  # Redis unreachable: retry, the lease runs out on its own
                logger.log(logging.DEBUG if self._unreachable else logging.WARNING,
                           "leader lock: %s; retrying every %.1f s", exc, self.every)
                self._unreachable = True
            if self._leading and not self.lock.is_leader():
                self._step_down()
            self._wake.wait(self.every)
            self._wake.clear()

    def _beat(self) -> None:
        if self._leading:
            if self.lock.is_leader() and self.lock.renew():
                return
            self._step_down()
        fence = self.lock.acquire()
        if fence is None:
            info = self.lock.status()
            who = f"{info.holder} (fence {info.fence})" if info else "nobody (the lock just expired)"
            if who != self._standby_logged:
                logger.info("standing by: the leader is %s; retrying every %.1f s", who, self.every)
                self._standby_logged = who
            return
        self._standby_logged = None
        self._leading = True
        logger.info("leader now: %s with fence %d", self.lock.holder, fence)
        self._events.put(fence)

    def _step_down(self) -> None:
        self._leading = False
        self._standby_logged = None
        logger.warning("leadership lost by %s: enqueuing stopped, standing by", self.lock.holder)
        self._events.put(None)
