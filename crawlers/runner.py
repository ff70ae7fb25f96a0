"""Run the crawls of configured sources in this process and report progress.

Twisted's reactor starts once per process, so one call of :func:`crawl_sources` is one
process's work: the CLI calls it once, tests and the scheduler start a new process for
each crawl. All sources of one call share the reactor and crawl concurrently; each is
its own Scrapy crawler (own downloader, politeness slots and stats).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from config import Config, Source
from config.redact import redact
from crawlers.addon import LOADED_SETTING, LoadedConfig
from crawlers.console import console_without_tracebacks
from crawlers.stale import RUN_ERROR
from crawlers.stats import DROPPED, drops, error_counts
from crawlers.store import CrawlRun

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Progress:
    """A snapshot of a multi-source crawl, for progress displays."""

    sources: int
    done: int = 0
    pages: int = 0
    extracted: int = 0
    stored: int = 0
    dropped: int = 0
    elapsed: float = 0.0
    finished_sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SourceResult:
    source_id: str
    run: CrawlRun | None
    error: str | None = None

    @property
    def outcome(self) -> str:
        return self.run.outcome if self.run else "failed"

    @property
    def drops(self) -> dict[str, int]:
        return drops(self.run.stats) if self.run else {}

    @property
    def why(self) -> str:
        """Why this source did not finish cleanly, in one line: the error, else the drops
        that made it partial or failed (largest first), else how its crawl closed."""
        stats = self.run.stats if self.run else {}
        if self.error or stats.get(RUN_ERROR):
            return str(self.error or stats[RUN_ERROR])
        failed = sorted(error_counts(stats).items(), key=lambda kv: (-kv[1], kv[0]))
        if failed:
            shown = ", ".join(f"{k}: {v}" for k, v in failed[:3])
            return shown + (f" (+{len(failed) - 3} more)" if len(failed) > 3 else "")
        reason = stats.get("vocwatch/close_reason")
        return f"crawl closed: {reason}" if reason and reason != "finished" else ""


def scrapy_settings(config: Config, overrides: dict[str, Any] | None = None) -> Any:
    """Scrapy settings for crawling ``config``'s sources; ``overrides`` win."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("config.settings", priority="project")
    settings.set("VOCWATCH_CONFIG", str(config.path), priority="cmdline")
    settings.set(LOADED_SETTING, LoadedConfig(config), priority="cmdline")  # read once, not once per crawler
    # the store is named here, not only by the add-on (which sees each crawler's copy):
    # crawl_sources reads the run records back from this very store
    settings.set("VOCWATCH_STORE_URL", config.store_url, priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def _stats_of(crawler: Any) -> dict[str, Any]:
    """A crawler's counters; none for a crawler whose spider never started (Scrapy >= 2.19
    raises on ``crawler.stats`` before the crawl starts)."""
    try:
        stats = crawler.stats
    except RuntimeError:
        return {}
    return stats.get_stats() if stats else {}


def crawl_sources(
    config: Config,
    sources: Iterable[Source] | None = None,
    *,
    settings: dict[str, Any] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 1.0,
) -> list[SourceResult]:
    """Crawl ``sources`` (default: all configured) to completion; one result per source."""
    from scrapy.crawler import CrawlerProcess
    from twisted.internet import task

    from crawlers.runtime import store_for

    chosen = list(config.sources.values() if sources is None else sources)
    s = scrapy_settings(config, settings)
    process = CrawlerProcess(s)
    crawlers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    started = time.monotonic()
    progress = Progress(sources=len(chosen))

    def on_failure(failure: Any, source_id: str) -> None:
        errors[source_id] = redact(failure.getErrorMessage())  # it goes into the run record
        logger.error("crawl of %s failed: %s", source_id, errors[source_id])

    for src in chosen:
        crawler = process.create_crawler(src.kind)
        crawlers[src.id] = crawler
        d = process.crawl(crawler, source=src, config=config)
        d.addErrback(on_failure, src.id)
    console_without_tracebacks()  # each crawler re-installs Scrapy's handler as it starts

    def tick() -> None:
        progress.elapsed = time.monotonic() - started
        progress.pages = progress.extracted = progress.stored = progress.dropped = 0
        progress.done = 0
        for source_id, crawler in crawlers.items():
            stats = _stats_of(crawler)
            progress.pages += stats.get("vocwatch/pages/read", 0)
            progress.extracted += stats.get("vocwatch/mentions/extracted", 0)
            progress.stored += stats.get("vocwatch/store/inserted", 0) + stats.get("vocwatch/store/updated", 0)
            progress.dropped += sum(v for k, v in stats.items() if k.startswith(DROPPED))
            if "finish_reason" in stats or source_id in errors:
                progress.done += 1
        if on_progress:
            on_progress(progress)

    loop = task.LoopingCall(tick)
    if on_progress:
        loop.start(progress_interval, now=False)
    process.start(stop_after_crawl=True)
    if loop.running:
        loop.stop()
    tick()

    store = store_for(s)
    results = []
    for src in chosen:
        stats = _stats_of(crawlers[src.id])
        run_id = stats.get("vocwatch/run_id")
        run = next((r for r in store.list_runs(source_id=src.id, limit=5) if r.id == run_id), None) if run_id else None
        if run is None and src.id not in errors:
            errors[src.id] = "crawler did not start"
        if run is None:
            # the spider never opened (bad source, import error): record the failure too
            rid = store.start_run(src.id, src.kind, datetime.now(UTC))
            store.finish_run(rid, datetime.now(UTC), "failed", {RUN_ERROR: errors[src.id]})
            run = next(r for r in store.list_runs(source_id=src.id, limit=1))
        results.append(SourceResult(src.id, run, errors.get(src.id)))
    return results
