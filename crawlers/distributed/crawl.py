"""One source's crawl on the shared Redis queue (``[distributed]``): the Scrapy side.

- :class:`LeasedScheduler` / :class:`LeasedPriorityQueue`: scrapy-redis's scheduler and
  priority queue on ``P:crawl:<source>:requests`` / ``:dupefilter``, persistent, whose pop
  leases the request (``crawlers.distributed.queue``).
- :class:`LeaseLedger` (one per crawler): the tokens this crawl holds. A token is acked
  once its request's work is safe: the engine is done with the request (download,
  callback or errback, and every output: each item through the pipelines, each new
  request pushed to Redis) AND a store flush that began after that has completed
  (``pipelines.store`` signals), so every item it produced is written. A retry or a
  redirect is pushed (with no token: it gets its own at pop) before its original's work
  ends, so acking the original then loses nothing. Held leases are renewed every
  ``lease_seconds / 3`` by a thread (a busy reactor does not lose them); expired ones (anyone's) are reclaimed every ``lease_seconds / 2``
  and when idle; once the crawl is stopping nothing more is acked, and the scheduler
  releases what is left back to the queue at close.
- :class:`DistributedCrawl` (extension): runs the ledger, and keeps an idle crawl open
  while the queue has requests or anyone holds leases (they may fail and come back).
- :class:`SeedGate` (spider middleware): with a job, only the participant that wins
  ``JobQueue.claim_seeding`` runs the spider's ``start()``; the others only consume.
- :class:`JobParticipant`: one crawl_runs row per job (``JobQueue.set_run``), counters
  added to ``P:crawl:<source>:stats`` at leave, and the run finished by the participant
  that leaves last with the queue and leases empty (``crawlers.extensions.RunRecorder``).

"Done with the request" is read from the engine's own set of requests in progress
(``engine._slot.inprogress``): Scrapy has no public signal for it, and an errback's output
does not pass through the spider middlewares, so counting outputs there would miss it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
import warnings
import weakref
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured, ScrapyDeprecationWarning
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from config.model import DistributedSettings
from crawlers.distributed.queue import LEASE_META, CrawlKeys, Leases, resilient_client
from crawlers.runtime import source_id_of
from crawlers.shutdown import crawl_stopping
from pipelines.store import store_flush_finished, store_flush_requested, store_flush_started

logger = logging.getLogger(__name__)
# scrapy-redis 0.9 logs "Resuming crawl" through the deprecated Spider.log
warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis.scheduler")

SETTINGS = "VOCWATCH_DISTRIBUTED"
"""Scrapy setting: the ``[distributed]`` table as a dict (set by :func:`crawl_settings`)."""
JOB_SETTING = "VOCWATCH_JOB_ID"
WORKER_SETTING = "VOCWATCH_WORKER_ID"
TICK_SECONDS = 0.5
"""How often the ledger looks for finished requests to ack and for queued work."""
QUEUE_CLASS = "crawlers.distributed.crawl.LeasedPriorityQueue"
JOB_STAT = "vocwatch/job"
SETTLED = "_settled"
"""Field of the stats hash set by the one participant that finishes the run."""
PUSHED = "_pushed|"
"""Prefix of the stats hash's field that marks a participant's counters as added."""
_PUSH_STATS = """
-- KEYS: stats hash; ARGV: the participant's mark, then (op, field, value) triples:
-- i = HINCRBY, f = HINCRBYFLOAT, s = HSET
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 0 then return 0 end
for i = 2, #ARGV, 3 do
  local op, field, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if op == 'i' then redis.call('HINCRBY', KEYS[1], field, value)
  elseif op == 'f' then redis.call('HINCRBYFLOAT', KEYS[1], field, value)
  else redis.call('HSET', KEYS[1], field, value) end
end
return 1
"""
NOT_SUMMED = frozenset({"vocwatch/run_id", "elapsed_time_seconds"})
NOT_SUMMED_PREFIXES = ("memusage/",)


def crawl_settings(settings: DistributedSettings, *, job_id: str | None = None,
                   worker_id: str | None = None) -> dict[str, Any]:
    """The Scrapy settings of crawls on the shared queues (each source its own keys);
    ``job_id``: the crawl is a participant of that job (``vocwatch crawl --job``)."""
    from config import settings as defaults

    out: dict[str, Any] = {
        SETTINGS: {"redis_url": settings.redis_url, "key_prefix": settings.key_prefix,
                   "lease_seconds": settings.lease_seconds, "workers_per_job": settings.workers_per_job,
                   "leader_ttl_seconds": settings.leader_ttl_seconds},
        "SCHEDULER": "crawlers.distributed.crawl.LeasedScheduler",
        "EXTENSIONS": {**defaults.EXTENSIONS, "crawlers.distributed.crawl.DistributedCrawl": 505},
        "SPIDER_MIDDLEWARES": {**getattr(defaults, "SPIDER_MIDDLEWARES", {}), "crawlers.distributed.crawl.SeedGate": 5},
        "META_COPY_WARN_SKIP_KEYS": [*defaults.META_COPY_WARN_SKIP_KEYS, LEASE_META],
    }
    if job_id:
        out[JOB_SETTING] = job_id
        out[WORKER_SETTING] = worker_id or job_id
    return out


def distributed_of(scrapy_settings: Any) -> DistributedSettings:
    """The ``[distributed]`` settings of a crawl on the shared queue (NotConfigured else)."""
    raw = scrapy_settings.getdict(SETTINGS)
    if not raw:
        raise NotConfigured("not a distributed crawl")
    return DistributedSettings(**raw)


_ledgers: weakref.WeakKeyDictionary[Any, LeaseLedger] = weakref.WeakKeyDictionary()
_participants: weakref.WeakKeyDictionary[Any, JobParticipant] = weakref.WeakKeyDictionary()


def ledger_for(crawler: Any) -> LeaseLedger:
    """The crawler's one ledger (the scheduler, the extension and the store hooks share it)."""
    if crawler not in _ledgers:
        _ledgers[crawler] = LeaseLedger(crawler)
    return _ledgers[crawler]


def participant_for(crawler: Any) -> JobParticipant | None:
    """The crawler's job participation, or None for a crawl without ``--job``."""
    if not crawler.settings.get(JOB_SETTING):
        return None
    if crawler not in _participants:
        _participants[crawler] = JobParticipant(distributed_of(crawler.settings), crawler.settings.get(JOB_SETTING),
                                                crawler.settings.get(WORKER_SETTING), source_id_of(crawler.spider))
    return _participants[crawler]


# -- scrapy-redis, leased ----------------------------------------------------------------
class LeasedPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop leases the request instead of forgetting it;
    the token is in the popped request's meta (:data:`LEASE_META`)."""

    leases: Leases

    def pop(self, timeout: int = 0) -> Any:
        popped = self.leases.pop()
        if popped is None:
            return None
        token, data = popped
        request = self._decode_request(data)
        request.meta[LEASE_META] = token
        return request


class LeasedScheduler(Scheduler):
    """scrapy-redis's scheduler on the source's keys with leased pops, persistent (the queue
    is the shared state: never flushed at close), on a Redis client that retries lost
    connections. At close, the leases this crawl still holds go back to the queue."""

    leases: Leases
    ledger: LeaseLedger
    distributed: DistributedSettings
    crawl_stats: Any

    @classmethod
    def from_crawler(cls, crawler: Any) -> LeasedScheduler:
        settings = distributed_of(crawler.settings)
        scheduler = cls(server=resilient_client(settings), persist=True, queue_cls=QUEUE_CLASS)
        scheduler.crawl_stats = crawler.stats  # scrapy-redis's own counting passes a deprecated argument
        scheduler.distributed = settings
        scheduler.ledger = ledger_for(crawler)
        return scheduler

    def open(self, spider: Any) -> None:
        # the keys are the source's, known once the spider is bound to it
        keys = CrawlKeys.of(self.distributed, source_id_of(spider))
        self.queue_key, self.dupefilter_key = keys.requests.replace("%", "%%"), keys.dupefilter
        self.df = RFPDupeFilter(self.server, key=keys.dupefilter, debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        self.leases = Leases(self.server, keys, self.distributed.lease_seconds)
        self.ledger.attach(self.leases)
        super().open(spider)
        self.queue.leases = self.leases

    def enqueue_request(self, request: Any) -> bool:
        # a retry or redirect of a leased request copies its meta; it gets its own lease at pop
        request.meta.pop(LEASE_META, None)
        # scrapy-redis adds the fingerprint, then pushes: two calls, and a retried add
        # whose first reply was lost would drop the request as seen. One script instead.
        fingerprint = None if request.dont_filter else self.df.request_fingerprint(request)
        if not self.leases.push(-request.priority, self.queue._encode_request(request), fingerprint):
            self.df.log(request, self.spider)
            return False
        self.crawl_stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Any:
        request = super().next_request()
        if request is not None:
            self.crawl_stats.inc_value("scheduler/dequeued/redis")
            self.ledger.hold(request)
        return request

    def close(self, reason: str) -> None:
        self.ledger.release_all()
        super().close(reason)


# -- acks --------------------------------------------------------------------------------
class LeaseLedger:
    """The leases one crawl holds, acked when their work is safe (see the module doc)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.leases: Leases | None = None
        self.held: dict[str, Any] = {}
        """token -> the popped request object (the engine tracks that very object)."""
        self.snapshots: dict[int, list[str]] = {}
        """store flush number -> the tokens done when that flush began."""
        self.flushing: set[int] = set()
        self.waiting: set[str] = set()
        """Tokens in a snapshot: done, their items in a flush under way."""
        self.acked = 0
        self.next_reclaim = 0.0
        self._closed = threading.Event()
        self._renewer: threading.Thread | None = None

    def attach(self, leases: Leases) -> None:
        self.leases = leases
        if self._renewer is None:
            self._renewer = threading.Thread(target=self._renew_loop, name="vocwatch-lease-renewer", daemon=True)
            self._renewer.start()

    def _renew_loop(self) -> None:
        """Renew the held leases every ``lease_seconds / 3``, in a thread of its own: a
        reactor busy for seconds (a page yielding thousands of requests, a slow machine) must
        not let them expire; only a dead (or stopped) process does."""
        while not self._closed.wait(self.leases.lease_seconds / 3 if self.leases else 1.0):
            tokens = list(self.held)  # one C-level copy: safe against the reactor thread
            if not tokens or self.leases is None:
                continue
            try:
                kept = self.leases.renew(tokens)
            except Exception as exc:  # Redis gone longer than the client's retries: next round
                logger.warning("could not renew %d lease(s): %s: %s", len(tokens), type(exc).__name__, exc)
                continue
            if kept < len(tokens):
                # expired and reclaimed (or acked meanwhile): such a page may be fetched twice
                logger.debug("%d of %d lease(s) no longer held at renewal", len(tokens) - kept, len(tokens))

    def hold(self, request: Any) -> None:
        self.held[request.meta[LEASE_META]] = request

    def done(self) -> list[str]:
        """Tokens whose request the engine is done with, not yet waiting for a flush. None
        once the crawl is stopping: a request cut short then (``CrawlStopping``) looks done
        but is not; what is left is released at close instead."""
        if not self.held or crawl_stopping(self.crawler):
            return []
        inprogress = getattr(getattr(self.crawler.engine, "_slot", None), "inprogress", None)
        if inprogress is None:
            return []
        return [t for t, r in self.held.items() if r not in inprogress and t not in self.waiting]

    # the store's flush hooks (pipelines.store): a flush number n, started then finished
    def flush_started(self, seq: int) -> None:
        tokens = self.done()
        self.snapshots[seq] = tokens
        self.waiting.update(tokens)
        self.flushing.add(seq)

    def flush_finished(self, seq: int) -> None:
        """Ack the snapshots of every flush up to the earliest one still writing: a token's
        items were in the buffer when its snapshot's flush began, so they are in that batch
        or an earlier one."""
        self.flushing.discard(seq)
        horizon = min(self.flushing, default=math.inf)
        ready = [n for n in self.snapshots if n < horizon]
        tokens = [t for n in ready for t in self.snapshots.pop(n)]
        self.ack(tokens)

    def ack(self, tokens: list[str]) -> None:
        if not tokens or self.leases is None:
            return
        self.leases.ack(tokens)
        for t in tokens:
            self.held.pop(t, None)
            self.waiting.discard(t)
        self.acked += len(tokens)
        self.crawler.stats.inc_value("vocwatch/distributed/acked", len(tokens))

    def tick(self) -> None:
        """Ack, renew, reclaim; and wake an idle engine when requests are queued (another
        worker pushed them: nothing tells this engine) or when no lease is left."""
        if self.leases is None:
            return
        if self.done():
            flush = self.crawler.signals.send_catch_log(signal=store_flush_requested)
            if not flush:  # no StorePipeline: the pipelines' end is the items' end
                self.ack(self.done())
        now = time.monotonic()
        if now >= self.next_reclaim:
            self.next_reclaim = now + self.leases.lease_seconds / 2
            if n := self.leases.reclaim():
                self.crawler.stats.inc_value("vocwatch/distributed/reclaimed", n)
        engine = self.crawler.engine
        slot = getattr(engine, "_slot", None)
        if slot is None or crawl_stopping(self.crawler) or engine.downloader.active:
            return
        if self.leases.queued() or not (self.held or self.leases.outstanding()):
            # work arrived, or the last lease is gone: have the engine look now, not at its
            # next 5-second heartbeat (it then pulls requests, or finds itself idle and closes)
            slot.nextcall.schedule()

    def release_all(self) -> None:
        """At close: the leases still held (work cut short) go back to the queue now."""
        self._closed.set()
        if self.leases is None or not self.held:
            return
        n = self.leases.release(list(self.held))
        self.crawler.stats.inc_value("vocwatch/distributed/released", n)
        logger.info("released %d in-flight request(s) back to the shared queue", n)
        self.held.clear()
        self.waiting.clear()


class DistributedCrawl:
    """The extension of a crawl on the shared queue: runs the ledger and decides when an
    idle crawl may close (the queue empty and no leases outstanding, anyone's)."""

    def __init__(self, crawler: Any) -> None:
        distributed_of(crawler.settings)  # NotConfigured for a local crawl
        self.crawler = crawler
        self.ledger = ledger_for(crawler)
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> DistributedCrawl:
        ext = cls(crawler)
        crawler.signals.connect(ext.engine_started, signal=signals.engine_started)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.ledger.flush_started, signal=store_flush_started)
        crawler.signals.connect(ext.ledger.flush_finished, signal=store_flush_finished)
        return ext

    def engine_started(self) -> None:
        self.loop = task.LoopingCall(self._tick)
        self.loop.start(TICK_SECONDS, now=False)

    def _tick(self) -> None:
        try:
            self.ledger.tick()
        except Exception as exc:  # Redis gone longer than the client's retries: try next tick
            logger.warning("shared queue: %s: %s", type(exc).__name__, exc)

    def spider_idle(self) -> None:
        leases = self.ledger.leases
        if leases is None or crawl_stopping(self.crawler):
            return
        leases.reclaim()
        if self.ledger.held:  # ours, waiting for their items' flush
            self._tick()
            raise DontCloseSpider
        if leases.has_work():  # queued, or leased by another worker (it may fail and come back)
            raise DontCloseSpider

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        participant = participant_for(self.crawler)
        leases = self.ledger.leases
        if participant is None and leases is not None and not leases.has_work():
            # a crawl without a job is its own run: its fingerprints must not filter the next one
            leases.redis.delete(leases.keys.dupefilter)


class SeedGate:
    """Spider middleware: with a job, ``start()`` runs in the one participant that claimed
    the seeding; the others only consume the shared queue."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> SeedGate:
        return cls(crawler)

    async def process_start(self, start: Any) -> Any:
        participant = participant_for(self.crawler)
        if participant is not None and not participant.seeding:
            logger.info("job %s: seeded by another worker; consuming the shared queue", participant.job_id)
            return
        async for item_or_request in start:
            yield item_or_request


# -- one run across workers ----------------------------------------------------------------
class JobParticipant:
    """One worker process on one job: the job's run, its seeding claim, its counters."""

    def __init__(self, settings: DistributedSettings, job_id: str, worker_id: str, source_id: str) -> None:
        from crawlers.distributed.jobs import JobQueue

        self.settings, self.job_id, self.worker_id = settings, job_id, worker_id
        self.redis = resilient_client(settings)
        self.jobs = JobQueue(self.redis, settings)
        self.keys = CrawlKeys.of(settings, source_id)
        self.leases = Leases(self.redis, self.keys, settings.lease_seconds)
        self.seeding = False
        self.claimant = f"{worker_id}/{uuid.uuid4().hex[:12]}"
        """This participation's name in its claims (the worker id defaults to the job id): a
        claim by name is still won when the call is retried after its reply was lost."""
        self._push_stats = self.redis.register_script(_PUSH_STATS)

    def open_run(self, store: Any, source_id: str, spider: str, now: Any) -> int:
        """The job's run id, creating the run when this is the first participant, and the
        seeding claim. A run row created in a lost race is closed as failed, saying whose."""
        from crawlers.stale import RUN_ERROR, RUN_HOST, owner_stats

        job = self.jobs.get(self.job_id)
        if job is None:
            raise RuntimeError(f"unknown crawl job {self.job_id!r}")
        run_id = job.run_id
        if run_id is None:
            # no pid as owner: the run outlives this process (crawlers.stale judges it by age)
            mine = store.start_run(source_id, spider, now, {JOB_STAT: self.job_id,
                                                            RUN_HOST: owner_stats()[RUN_HOST]})
            run_id = self.jobs.set_run(self.job_id, mine)
            if run_id != mine:
                store.finish_run(mine, now, "failed", {RUN_ERROR: f"job {self.job_id} already reports into run {run_id}"})
        self.seeding = self.jobs.claim_seeding(self.job_id, self.claimant)
        return run_id

    def leave(self, stats: dict[str, Any], reason: str) -> dict[str, Any] | None:
        """Add this participant's counters to the job's, leave it; the merged counters when
        this is the last participant and no work is left (the caller finishes the run),
        else None."""
        self.push(stats, reason)
        left = self.jobs.leave(self.job_id, self.worker_id)
        if left or self.leases.has_work():
            logger.info("left job %s: %d other participant(s), %d queued, %d leased", self.job_id, left,
                        self.leases.queued(), self.leases.outstanding())
            return None
        self.redis.hsetnx(self.keys.stats, SETTLED, self.claimant)
        if (self.redis.hget(self.keys.stats, SETTLED) or b"").decode() != self.claimant:
            return None  # another participant finishes the run
        return self.merged()

    def push(self, stats: dict[str, Any], reason: str) -> None:
        """Add this participant's counters to the job's, once: one script that first marks
        the participant as added (a MULTI retried after its reply was lost, Redis
        restarting, would add them twice)."""
        ops: list[Any] = []
        for name, value in stats.items():
            if name in NOT_SUMMED or name.startswith(NOT_SUMMED_PREFIXES):
                continue
            if isinstance(value, bool | int):
                ops += ["i", name, int(value)]
            elif isinstance(value, float):
                ops += ["f", name, repr(value)]
            elif isinstance(value, str):
                ops += ["s", "s:" + name, value]
            elif isinstance(value, list | tuple) and all(isinstance(e, dict) for e in value):
                ops += ["s", f"l:{name}|{self.worker_id}", json.dumps(list(value), default=str)]
        ops += ["i", f"vocwatch/distributed/close_reason/{reason}", 1, "i", "vocwatch/distributed/participants", 1,
                "i", f"vocwatch/distributed/pages_by/{self.worker_id}", int(stats.get("vocwatch/pages/read", 0))]
        self._push_stats(keys=[self.keys.stats], args=[PUSHED + self.claimant, *ops])

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for raw_name, raw in self.redis.hgetall(self.keys.stats).items():
            name, value = raw_name.decode(), raw.decode()
            if name == SETTLED or name.startswith(PUSHED):
                continue
            if name.startswith("s:"):
                out[name[2:]] = value
            elif name.startswith("l:"):
                out.setdefault(name[2:].rsplit("|", 1)[0], []).extend(json.loads(value))
            else:
                try:
                    out[name] = int(value)
                except ValueError:
                    out[name] = float(value)
        return out

    def finished(self, outcome: str) -> None:
        """The run is recorded: end the job, and drop the source's fingerprints and counters
        so that its next job starts afresh."""
        self.jobs.finish(self.job_id, "done" if outcome != "failed" else "failed")
        self.redis.delete(self.keys.dupefilter, self.keys.stats)
