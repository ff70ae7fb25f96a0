"""Last stage: buffer mentions, then analyse and store them off the reactor thread, in
batches shared by every crawler of the process.

Why it is built so (``vocwatch bench crawl``, cProfile of the crawl process): a crawl is
CPU-bound on its reactor thread, and each hop an item takes there costs: a future per item
waiting for its analysis, an analysis batch of a page's ten items every 50 ms per source
(40 sources: ~90 round trips a second to the worker), the labels copied back, and the rows
built for SQLite in a thread that holds the crawl's GIL. So :meth:`StorePipeline.process_item`
is synchronous: it only appends the item to its process's :class:`StoreBatcher` and
returns. The batcher flushes on size (``VOCWATCH_STORE_BATCH`` items of every crawler
together) or time (``VOCWATCH_STORE_FLUSH_SECONDS`` after the oldest buffered one): one
job per crawler goes to the NLP worker process (``nlp.worker.store_jobs``), which labels
the mentions (one analysis call per aspect domain) and upserts them into the store it
opens by URL, and hands back only counts that the batcher adds to each crawler's stats.

What stays as it was:

- a feed (``-O out.jsonl``) holds analysed mentions: with a feed, ``process_item`` waits
  for its item's flush and copies the labels back (mentions stored unchanged, passed on
  for the feed only, are analysed and not written);
- a crawl that is stopping stores what it read unanalysed (``_skip_on_stop``, counted
  ``vocwatch/nlp/skipped_on_stop``) rather than keep the stop waiting for a backlog;
- a dead worker (``BrokenProcessPool``) and ``VOCWATCH_NLP_WORKERS = 0`` (no second
  core) analyse and write in a thread of the crawl process, as does a store the worker
  cannot open (an in-memory SQLite database);
- a batch the store refuses is written one mention at a time; each mention still refused
  is dropped as ``store_rejected`` (counted, logged by fingerprint and URL), which marks
  the run as not finished so the next crawl re-reads those pages. Upserts by fingerprint
  mean nothing is doubled, even when a batch is written again after its worker died;
- every flush sends ``store_flush_started`` / ``store_flush_finished`` to each crawler
  whose mentions it holds (or that asked for it): a distributed crawl acks leases on them
  (its ledger acks a flush's snapshot only once every earlier flush has finished too).

An ``EnrichPipeline`` before this stage (a custom ``ITEM_PIPELINES``) labels in the crawl
process instead; the flush then analyses only what has no ``nlp_model`` yet.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ClassVar

from crawlers.items import Mention, has_text
from crawlers.runtime import store_for
from crawlers.shutdown import crawl_cut_short
from crawlers.stats import DROPPED
from crawlers.store import UpsertResult
from nlp import worker
from nlp.aspects import CATEGORY_DOMAIN
from pipelines.base import VocwatchPipeline
from pipelines.batch import ANALYSIS_FIELDS, Job, JobResult, as_row, describe, run_jobs

logger = logging.getLogger(__name__)

store_flush_started = object()
"""Signal sent as a flush takes its batch, with ``seq`` (the crawler's flush number, counting up)."""
store_flush_finished = object()
"""Signal sent once flush ``seq`` is written (or its items rejected and counted): a
distributed crawl acks the leases of requests whose items it holds
(``crawlers.distributed.crawl``)."""
store_flush_requested = object()
"""Signal a component sends to have the buffer flushed when it is due (or empty)."""

HIGH_WATER = 10
"""Buffered items, in batches, beyond which ``process_item`` waits for the oldest flush under way:
the worker sets the pace when it falls behind, and memory stays bounded."""
_members = itertools.count(1)


class StorePipeline(VocwatchPipeline):
    """One crawler's door to its process's :class:`StoreBatcher` (see the module doc)."""

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.key = next(_members)
        self.flushes = 0
        self.feeding = bool(crawler.settings.getdict("FEEDS"))
        self._batcher: StoreBatcher | None = None
        self._warned_stop = False
        crawler.signals.connect(self.flush_requested, signal=store_flush_requested)

    @property
    def batcher(self) -> StoreBatcher:
        if self._batcher is None:
            self._batcher = StoreBatcher.join(self)
        return self._batcher

    @property
    def domain(self) -> str | None:
        location = getattr(self.crawler.spider, "location", None)
        return CATEGORY_DOMAIN.get(getattr(location, "category", ""), None)

    def open_spider(self) -> None:
        self.batcher.prestart()  # the worker loads its models while the first pages download

    def process_item(self, item: Mention) -> Any:
        if item.crawl_status == "unchanged":  # passed on for a feed only (DedupePipeline)
            self.stats.inc_value(DROPPED + "already_stored")
            if not self.feeding:
                return item
        return self.batcher.add(self, item)

    def flush_requested(self) -> None:
        """``store_flush_requested``: flush now if this crawler has nothing buffered (the
        flush is only the barrier the sender waits for) or the batch is due by time."""
        self.batcher.request(self)

    async def flush(self) -> None:
        """Flush now (every crawler's buffer) and wait until it is written."""
        await self.batcher.flush_now(self)

    async def close_spider(self) -> None:
        try:
            await self.flush()
        finally:
            self.batcher.leave(self)
            self._batcher = None

    # -- results -------------------------------------------------------------------
    def count(self, result: UpsertResult | JobResult) -> None:
        self.stats.inc_value("vocwatch/store/inserted", result.inserted)
        self.stats.inc_value("vocwatch/store/updated", result.updated)
        self.stats.inc_value("vocwatch/store/unchanged", result.unchanged)

    def take(self, result: JobResult) -> None:
        """Add a flush's result for this crawler to its stats and log what was refused."""
        self.count(result)
        if result.store_errors:
            self.stats.inc_value("vocwatch/store/errors", result.store_errors)
        for size, error in result.retried:
            logger.warning("could not store a batch of %d mentions (%s); storing them one by one", size, error)
        for fingerprint, url, error in result.rejected:
            self.stats.inc_value(DROPPED + "store_rejected")
            logger.error("store rejected mention %s from %s: %s", fingerprint, url, error)
        for name, n in result.stats.items():
            self.stats.inc_value("vocwatch/" + name, n)

    def skipped_on_stop(self, n: int) -> None:
        """The crawl is stopping (signal, time or memory limit): mentions already read are
        stored now, unanalysed, rather than keep the stop waiting for the analysis of a
        backlog; ``vocwatch reanalyze`` labels them (their ``nlp_model`` is empty)."""
        if not self._warned_stop:
            self._warned_stop = True
            logger.warning("crawl stopping: storing the mentions still waiting for text analysis without it "
                           "(run `vocwatch reanalyze` to label them)")
        self.stats.inc_value("vocwatch/nlp/skipped_on_stop", n)


def _store_url(settings: Any) -> str:
    """The store's URL as another process opens it: a relative SQLite path made absolute
    here (a worker's working directory is no promise)."""
    url = settings.get("VOCWATCH_STORE_URL") or "sqlite:///vocwatch.db"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///"):]
        if path != ":memory:":
            url = "sqlite:///" + os.path.abspath(path)
    return url


def _openable_elsewhere(url: str) -> bool:
    """Whether a worker process reaches the same store by ``url`` (not an in-memory one)."""
    return not url.endswith(":memory:")


class StoreBatcher:
    """The buffer of every crawler of a process writing to one store (one per event loop:
    tests run several loops in one process). At most :attr:`max_inflight` flushes are under
    way: while they are, items gather for the next, so batches grow with the load."""

    _all: ClassVar[dict[tuple[int, str, int], StoreBatcher]] = {}

    def __init__(self, url: str, store: Any, workers: int, batch_size: int, flush_seconds: float) -> None:
        self.url = url
        self.store = store
        self.workers = workers if _openable_elsewhere(url) else 0
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.loop = _loop()
        self.members: dict[int, StorePipeline] = {}
        self.buffer: dict[tuple[int, bool], list[Mention]] = {}
        """(member key, to be written) -> its mentions waiting for the next flush."""
        self.size = 0
        self.requested: set[int] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.again = False
        """A flush was due while the most allowed were under way: start it when one ends."""
        self.next_done: asyncio.Future[None] = self.loop.create_future()
        """Resolved when the flush that takes the current buffer is written."""
        self.inflight: list[asyncio.Future[None]] = []
        """The ``done`` futures of the flushes under way, oldest first."""
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def join(cls, member: StorePipeline) -> StoreBatcher:
        settings = member.crawler.settings
        url = _store_url(settings)
        workers = settings.get("VOCWATCH_NLP_WORKERS")
        workers = worker.default_workers() if workers is None else int(workers)
        loop = _loop()
        key = (id(loop), url, workers)
        batcher = cls._all.get(key)
        if batcher is None or batcher.loop is not loop or batcher.loop.is_closed():
            batcher = cls._all[key] = cls(url, store_for(settings), workers,
                                          settings.getint("VOCWATCH_STORE_BATCH", 200),
                                          settings.getfloat("VOCWATCH_STORE_FLUSH_SECONDS", 1.0))
        batcher.members[member.key] = member
        return batcher

    def leave(self, member: StorePipeline) -> None:
        self.members.pop(member.key, None)
        if not self.members and not self.size:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            for key, b in list(self._all.items()):
                if b is self:
                    del self._all[key]

    def prestart(self) -> None:
        worker.prestart(self.workers)

    # -- filling -------------------------------------------------------------------
    def add(self, member: StorePipeline, item: Mention) -> Any:
        """Buffer ``item``; the item itself back (no hop), or with a feed an awaitable of it
        once labelled."""
        key = (member.key, item.crawl_status != "unchanged")
        items = self.buffer.get(key)
        if items is None:
            items = self.buffer[key] = []
        items.append(item)
        self.size += 1
        done = self.next_done
        if self.size >= self.batch_size:
            self._kick()
        elif self.timer is None:
            self.timer = self.loop.call_later(self.flush_seconds, self._kick)
        if member.feeding:
            return _after(done, item)
        if self.size >= HIGH_WATER * self.batch_size and self.inflight:
            return _after(self.inflight[0], item)  # the worker is behind: wait for it
        return item

    def request(self, member: StorePipeline) -> None:
        """A barrier flush for ``member`` now if it has nothing buffered, else at the time due."""
        if any(k == member.key for k, _ in self.buffer):
            if self.timer is None:
                self.timer = self.loop.call_later(self.flush_seconds, self._kick)
            return
        self.requested.add(member.key)
        self._kick()

    async def flush_now(self, member: StorePipeline) -> None:
        """Flush what is buffered and wait until it and every flush under way are written."""
        self.requested.add(member.key)
        waiting = [*self.inflight, self.next_done]
        self._kick()
        await asyncio.gather(*(asyncio.shield(f) for f in waiting))

    def _kick(self) -> None:
        """Start a flush of the buffer now, or as soon as one of those under way ends."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.size and not self.requested:
            return
        if len(self.inflight) >= self.max_inflight:
            self.again = True
            return
        self.again = False
        buffer, self.buffer, self.size = self.buffer, {}, 0
        requested, self.requested = self.requested, set()
        done, self.next_done = self.next_done, self.loop.create_future()
        self.inflight.append(done)
        task = self.loop.create_task(self._flush(buffer, requested, done))
        self._tasks.add(task)  # a reference, until it is done
        task.add_done_callback(self._tasks.discard)

    # -- flushing ------------------------------------------------------------------
    @property
    def max_inflight(self) -> int:
        """Flushes under way at once: two with a worker process (it starts the next as soon
        as it sends a result back, with no round trip through a busy reactor in between;
        it runs them in order), one in a thread (threads would write out of order)."""
        return 2 if self.workers > 0 else 1

    async def _flush(self, buffer: dict[tuple[int, bool], list[Mention]], requested: set[int],
                     done: asyncio.Future[None]) -> None:
        keys = {k for k, _ in buffer} | requested
        members = {k: self.members[k] for k in keys if k in self.members}
        seqs: dict[int, int] = {}
        for k, m in members.items():
            m.flushes += 1
            seqs[k] = m.flushes
            m.crawler.signals.send_catch_log(signal=store_flush_started, seq=seqs[k])
        try:
            jobs = self._jobs(buffer, members)
            if jobs:
                results = await self._write(jobs, members)
                for (key, _), result in zip(buffer, results, strict=True):
                    if key in members:
                        members[key].take(result)
        except Exception:
            # not the store refusing items (counted per item in run_jobs): a bug or a lost
            # worker twice over; nothing is known stored, so each item counts as rejected
            logger.exception("store flush of %d mentions failed", sum(len(v) for v in buffer.values()))
            for (key, write), items in buffer.items():
                if key in members and write:
                    members[key].stats.inc_value("vocwatch/store/errors")
                    for m in items:
                        members[key].take(JobResult(key, rejected=[(m.fingerprint or "-", m.url, "flush failed")]))
        finally:
            for k, m in members.items():
                m.crawler.signals.send_catch_log(signal=store_flush_finished, seq=seqs[k])
            self.inflight.remove(done)
            if not done.done():
                done.set_result(None)
            if self.again or self.requested or self.size >= self.batch_size:
                self._kick()
            elif self.size and self.timer is None:
                self.timer = self.loop.call_later(self.flush_seconds, self._kick)

    def _jobs(self, buffer: dict[tuple[int, bool], list[Mention]], members: dict[int, StorePipeline]) -> list[Job]:
        """One job per (crawler, written or not); analysis off for a crawler that is stopping."""
        jobs = []
        stopping: dict[int, bool] = {}
        for (key, write), items in buffer.items():
            member = members.get(key)
            if key not in stopping:
                stopping[key] = member is not None and crawl_cut_short(member.crawler)
            analyse = not stopping[key]
            if not analyse and member is not None and (
                    n := sum(1 for m in items if m.nlp_model is None and has_text(m))):
                member.skipped_on_stop(n)
            jobs.append(Job(key, member.domain if member is not None else None, items, analyse=analyse,
                            write=write, labels=member is not None and member.feeding))
        return jobs

    async def _write(self, jobs: list[Job], members: dict[int, StorePipeline]) -> list[JobResult]:
        if self.workers > 0:
            rows = [Job(j.key, j.domain, [as_row(m) for m in j.mentions], j.analyse, j.write, j.labels) for j in jobs]
            try:
                results = await asyncio.wrap_future(worker.submit_store_jobs(self.workers, self.url, rows))
            except Exception as exc:  # it died, or cannot reach the store (a server only this process sees)
                died = isinstance(exc, BrokenProcessPool)
                logger.error("%s; analysing and storing in a thread for the rest of this crawl",
                             "NLP worker process died" if died else f"the NLP worker could not store a flush "
                             f"({describe(exc)})")
                for m in members.values():
                    m.stats.inc_value("vocwatch/nlp/worker_failures")
                if died:
                    worker.discard(self.workers)
                self.workers = 0
            else:
                for job, result in zip(jobs, results, strict=True):
                    if result.labels is not None:
                        for m, values in zip(job.mentions, result.labels, strict=True):
                            for name, value in zip(ANALYSIS_FIELDS, values, strict=True):
                                setattr(m, name, value)
                return results
        from nlp.analyze import analyze

        return await asyncio.to_thread(run_jobs, self.store, jobs, analyze)


def _loop() -> asyncio.AbstractEventLoop:
    """The reactor's asyncio loop (or a test's)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()


async def _after(done: asyncio.Future[None], item: Mention) -> Mention:
    await asyncio.shield(done)
    return item

