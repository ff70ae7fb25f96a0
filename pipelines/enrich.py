"""NLP stage in the crawl process: language, sentiment, aspects and keywords via
``nlp.analyze``, in batches.

Not in the default ``ITEM_PIPELINES``: there the store stage's flush carries the analysis
(``pipelines.store``: one batch for every crawler of the process, labelled and stored in
the NLP worker), which costs the reactor no future per item and no copying of labels. This
stage is for a custom stage between dedupe and the store that needs the labels; the
store's flush then leaves what it labelled alone (its ``nlp_model`` is set).

A mention's rating goes with its text, so a rated review's label follows the stars rule
(``nlp.rating``: a 4-5 star review is never negative, a 1-2 star one never positive).

Items of a page arrive concurrently (Scrapy processes up to ``CONCURRENT_ITEMS`` per
response in parallel), so they are gathered into batches of ``VOCWATCH_NLP_BATCH`` or
whatever arrived within ``VOCWATCH_NLP_MAX_WAIT`` seconds, and analysed off the reactor:
in ``VOCWATCH_NLP_WORKERS`` worker processes (``nlp.worker``; default one where there is
a second core), or in a thread when that is 0. If a worker dies, the crawl goes on
analysing in a thread. If the analysis fails, the items go on to
the store un-enriched (counted), never lost; so do those still waiting when the crawl
is stopping, so that a stop is not held up by the analysis of a backlog.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from crawlers.items import Mention, apply_analysis, clear_analysis, has_text
from crawlers.shutdown import crawl_stopping
from nlp import worker
from nlp.analyze import analyze
from nlp.aspects import CATEGORY_DOMAIN
from pipelines.base import VocwatchPipeline

logger = logging.getLogger(__name__)


class EnrichPipeline(VocwatchPipeline):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self.batch_size = crawler.settings.getint("VOCWATCH_NLP_BATCH", 64)
        self.max_wait = crawler.settings.getfloat("VOCWATCH_NLP_MAX_WAIT", 0.05)
        workers = crawler.settings.get("VOCWATCH_NLP_WORKERS")
        self.workers = worker.default_workers() if workers is None else int(workers)
        self.pending: list[tuple[Mention, asyncio.Future[None]]] = []
        self.timer: asyncio.TimerHandle | None = None

    @property
    def domain(self) -> str | None:
        location = getattr(self.crawler.spider, "location", None)
        return CATEGORY_DOMAIN.get(getattr(location, "category", ""), None)

    async def process_item(self, item: Mention) -> Mention:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self.pending.append((item, done))
        if len(self.pending) >= self.batch_size:
            await self.run_batch()
        elif self.timer is None:
            self.timer = loop.call_later(self.max_wait, lambda: asyncio.ensure_future(self.run_batch()))
        await done
        return item

    async def run_batch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        items = [item for item, _ in batch if has_text(item)]
        for item, _ in batch:
            if not has_text(item):  # rating-only: nothing to read, no label (not a neutral)
                clear_analysis(item)
                self.stats.inc_value("vocwatch/nlp/no_text")
        if not items:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            return
        if crawl_stopping(self.crawler):
            self._skip_on_stop(batch)
            return
        try:
            results = await self._analyze([m.text for m in items], [m.language for m in items],
                                          [m.rating for m in items])
        except Exception:
            logger.exception("NLP failed on a batch of %d mentions; storing them without it", len(items))
            self.stats.inc_value("vocwatch/nlp/errors", len(items))
        else:
            for m, r in zip(items, results, strict=True):
                apply_analysis(m, r)
                self.stats.inc_value(f"vocwatch/language/{r.lang}")
                if m.truncated:  # analysed, but from a snippet: its labels read part of the text
                    self.stats.inc_value("vocwatch/nlp/truncated")
            self.stats.inc_value("vocwatch/nlp/batches")
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    def _skip_on_stop(self, batch: list[tuple[Mention, asyncio.Future[None]]]) -> None:
        """The crawl is stopping (signal, time or memory limit): mentions already read go
        to the store now, unanalysed, rather than keep the stop waiting for the analysis of
        a backlog; ``vocwatch reanalyze`` labels them (their ``nlp_model`` is empty)."""
        if not self.stats.get_value("vocwatch/nlp/skipped_on_stop"):
            logger.warning("crawl stopping: storing the mentions still waiting for text analysis without it "
                           "(run `vocwatch reanalyze` to label them)")
        self.stats.inc_value("vocwatch/nlp/skipped_on_stop", len(batch))
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _analyze(self, texts: list[str], langs: list[str | None], ratings: list[float | None]) -> list[Any]:
        """Labels from the text and, where a mention has one, its rating (``nlp.rating``)."""
        if self.workers > 0:
            try:
                return await asyncio.wrap_future(worker.submit(self.workers, texts, langs, self.domain, ratings))
            except BrokenProcessPool:
                logger.error("NLP worker process died; analysing in a thread for the rest of this crawl")
                self.stats.inc_value("vocwatch/nlp/worker_failures")
                worker.discard(self.workers)
                self.workers = 0
        return await asyncio.to_thread(analyze, texts, langs=langs, domain=self.domain, ratings=ratings)

    def open_spider(self) -> None:
        worker.prestart(self.workers)  # the worker loads its models while the first pages download

    async def close_spider(self) -> None:
        await self.run_batch()
