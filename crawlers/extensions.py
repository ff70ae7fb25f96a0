"""Scrapy extensions: the crawl-run record written to the store for every crawl, and the
counting of items a pipeline stage failed on (nothing leaves the pipelines uncounted)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.logformatter import LogFormatter, LogFormatterResult
from twisted.python.failure import Failure

from config.model import ScheduleSettings
from config.redact import redact
from crawlers.runtime import source_id_of, store_for
from crawlers.stale import RUN_ERROR, STALE_MARGIN, close_stale_runs, owner_stats
from crawlers.stats import BALANCE, CUTOFF, DROPPED, ITEM_ERROR, balance, error_counts

logger = logging.getLogger(__name__)

INTERRUPTED_REASONS = ("shutdown",)
"""Close reasons of a crawl stopped from outside (SIGINT/SIGTERM): run ``interrupted``."""
BOUND_REASONS = ("closespider_timeout", "memusage_exceeded")
"""Close reasons of a crawl cut by its time or memory limit: run ``partial``."""


def run_outcome(reason: str, stats: dict[str, Any]) -> str:
    """``finished`` only for a clean run; ``partial`` when it ended but pages failed, a
    callback raised, a write failed, items went unaccounted, its pages are no evidence
    for the cut-off (:func:`cutoff_blocker`) or its time or memory limit closed it;
    ``interrupted`` when SIGINT/SIGTERM stopped it; ``failed`` when it did not end
    normally, or ended with such errors before a single page was read (every page
    failed). Only ``finished`` runs move the incremental-crawl cut-off, so anything a
    partial run missed is re-read.

    Scrapy's ``log_count/ERROR`` is deliberately not used: its handler sits on the root
    logger and counts every crawler's errors in the process, so one failing source
    would mark all its neighbours partial."""
    if reason in INTERRUPTED_REASONS:
        return "interrupted"
    if reason in BOUND_REASONS:
        return "partial"
    if reason != "finished":
        return "failed"
    if error_counts(stats):
        # errors and not one page read: nothing of the source got through
        return "partial" if stats.get("vocwatch/pages/read") else "failed"
    if stats.get(BALANCE + "unaccounted"):
        return "partial"  # items went missing without a reason: the run cannot be trusted
    if cutoff_blocker(stats) is not None:
        return "partial"
    return "finished"


def cutoff_blocker(stats: dict[str, Any]) -> str | None:
    """Why this run's pages are no evidence that its source was read up to now, or None
    when they are. A run moves the incremental cut-off ("seen up to") only on evidence:

    - every first page (seed) of the source was read whole: not empty, not truncated,
      text, no redirect loop, not blocked, no HTTP error (``SourceSpider.checked``);
    - and the run read mentions, or the source never gave any (no stored mentions: a
      well-formed empty listing is consistent with its history);
    - and the run is otherwise clean (``run_outcome`` is ``finished``; ``RunRecorder``
      records ``vocwatch/cutoff/advanced`` = 1 only then, else 0 and ``why_not``).

    A run without the evidence counters (a spider that is not a ``SourceSpider``) is
    judged by its outcome alone, as before."""
    if CUTOFF + "history" not in stats:
        return None
    if failed := stats.get(CUTOFF + "seed_failed"):
        return f"first page failed: {failed}"
    if stats.get(CUTOFF + "seed_read", 0) < stats.get(CUTOFF + "seeds", 0):
        return "first page never read"
    if not stats.get("vocwatch/mentions/extracted", 0) and stats.get(CUTOFF + "history", 0):
        return f"no mentions read, {stats[CUTOFF + 'history']} stored from earlier runs"
    return None


def jsonable_stats(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, datetime | date):
            value = value.isoformat()
        elif _is_record_list(value):
            value = [{k: redact(v) if isinstance(v, str) else v if isinstance(v, int | float | bool | dict | type(None))
                      else str(v) for k, v in entry.items()} for entry in value]
        elif not isinstance(value, int | float | str | bool | type(None)):
            value = str(value)
        if isinstance(value, str):
            value = redact(value)  # an error text may quote a URL: no secret in a run record
        out[key] = value
    return out


def _stale_after(spider: Any) -> timedelta:
    """How old a ``running`` run whose process cannot be checked must be to count as gone:
    the configured crawl time limit plus a margin."""
    config = getattr(spider, "config", None)
    settings = getattr(config, "schedule", None) or ScheduleSettings()
    return timedelta(seconds=settings.time_limit_seconds) + STALE_MARGIN


def _is_record_list(value: Any) -> bool:
    """A list of small records (e.g. ``vocwatch/failed_requests``), kept as JSON, not str()."""
    return isinstance(value, list | tuple) and all(isinstance(e, dict) for e in value)


class RunRecorder:
    """Opens a ``crawl_runs`` row when a spider opens and closes it with the outcome and
    all counters (drops by reason, pages, store writes) when it closes."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.spider_error, signal=signals.spider_error)
        return ext

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        """Keep why ``start()`` raised (the error without a response): the run ends
        ``failed`` with close reason ``start_error`` and this says why."""
        if response is None and not self.crawler.stats.get_value(RUN_ERROR):
            self.crawler.stats.set_value(RUN_ERROR, f"{failure.type.__name__}: {failure.getErrorMessage()}")

    async def spider_opened(self, spider: Any) -> None:
        store = store_for(self.crawler.settings)
        source_id, now = source_id_of(spider), datetime.now(UTC)
        # an earlier run of this source whose process was killed is closed first, so no
        # run of it reads "running" forever (the scheduler's janitor applies the same rule)
        await asyncio.to_thread(close_stale_runs, store, now=now, older_than=_stale_after(spider), source_id=source_id)
        if (participant := self._participant()) is not None:
            # one run per distributed job: every participant reports into it
            self.run_id = await asyncio.to_thread(participant.open_run, store, source_id, spider.name, now)
        else:
            self.run_id = await asyncio.to_thread(store.start_run, source_id, spider.name, now, owner_stats())
        self.crawler.stats.set_value("vocwatch/run_id", self.run_id)

    def _participant(self) -> Any:
        """The crawl's distributed job participation (``vocwatch crawl --job``), else None."""
        if not self.crawler.settings.get("VOCWATCH_JOB_ID"):
            return None
        from crawlers.distributed.crawl import participant_for

        return participant_for(self.crawler)

    async def spider_closed(self, spider: Any, reason: str) -> None:
        if self.run_id is None:
            return
        if (participant := self._participant()) is not None:
            # the counters go to the job; the last participant out finishes its run with all of them
            merged = await asyncio.to_thread(participant.leave, jsonable_stats(self.crawler.stats.get_stats()), reason)
            if merged is None:
                logger.info("%s: left run %d to the other workers", source_id_of(spider), self.run_id)
                return
            merged["vocwatch/run_id"] = self.run_id
            put_balance(merged, source_id_of(spider))
            outcome = await self.close_run(spider, reason, merged)
            await asyncio.to_thread(participant.finished, outcome)
            return
        self.record_balance(spider)
        await self.close_run(spider, reason, jsonable_stats(self.crawler.stats.get_stats()))

    async def close_run(self, spider: Any, reason: str, stats: dict[str, Any]) -> str:
        """Record the run's outcome and counters, then its crawl health; the outcome."""
        outcome = run_outcome(reason, stats)
        stats["vocwatch/close_reason"] = reason
        if (peak := peak_rss_bytes()) is not None:
            stats["vocwatch/memory/peak_rss"] = peak
        if CUTOFF + "history" in stats:
            failed = ", ".join(error_counts(stats))
            why_not = cutoff_blocker(stats) or (None if outcome == "finished" else f"run {outcome}: {failed or reason}")
            stats[CUTOFF + "advanced"] = int(why_not is None)
            if why_not is not None:
                stats[CUTOFF + "why_not"] = why_not
                logger.warning("%s: incremental cut-off not moved: %s", source_id_of(spider), why_not)
        store = store_for(self.crawler.settings)
        await asyncio.to_thread(store.finish_run, self.run_id, datetime.now(UTC), outcome, stats)
        logger.info("crawl run %d of %s: %s", self.run_id, source_id_of(spider), outcome)
        await asyncio.to_thread(check_health, store, source_id_of(spider), self.run_id, getattr(spider, "config", None))
        return outcome

    def record_balance(self, spider: Any) -> None:
        """Put the item balance into the run's counters; say so when it does not close.
        Not under ``scrapy check``: contracts discard what the callbacks return, unstored."""
        if not self.crawler.settings.getdict("ITEM_PIPELINES"):
            return
        stats = self.crawler.stats
        values = stats.get_stats()
        put_balance(values, source_id_of(spider))
        for name in ("read", "accounted", "unaccounted"):
            stats.set_value(BALANCE + name, values[BALANCE + name])


def put_balance(stats: dict[str, Any], source_id: str) -> None:
    """Put the item balance into a run's counters; say so when it does not close."""
    b = balance(stats)
    stats[BALANCE + "read"] = b.read
    stats[BALANCE + "accounted"] = b.accounted
    stats[BALANCE + "unaccounted"] = b.unaccounted
    if not b.closes:
        logger.error("crawl of %s does not balance: read %d, stored %d + updated %d + unchanged %d + "
                     "dropped %d = %d; %d unaccounted", source_id, b.read, b.inserted, b.updated,
                     b.unchanged, b.dropped, b.accounted, b.unaccounted)


def pipeline_stage(failure: Failure, pipelines: Sequence[Any]) -> str:
    """The name of the pipeline stage a failure was raised in: the outermost traceback
    frame whose ``self`` is one of ``pipelines`` (``CleanPipeline`` -> ``clean``)."""
    tb = failure.getTracebackObject()
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if any(owner is p for p in pipelines):
            return stage_name(owner)
        tb = tb.tb_next
    return "unknown"


def stage_name(pipeline: Any) -> str:
    name = type(pipeline).__name__
    return (name.removesuffix("Pipeline") or name).lower()


def item_summary(item: Any) -> str:
    """What a log line says about an item: where it came from, never its text or author
    (scraped text is hostile, authors are not yet pseudonymised before the clean stage)."""
    url = getattr(item, "url", None)
    fp = getattr(item, "fingerprint", None) or getattr(item, "external_id", None)
    return f"{type(item).__name__} from {url or '?'}" + (f" ({fp})" if fp else "")


class ItemErrors:
    """Counts an item that a pipeline stage raised on (anything but ``DropItem``) as the
    drop ``item_error_<stage>``, so it is in the run's balance and makes the run partial.
    Scrapy logs it once (through :class:`VocwatchLogFormatter`, without the item's text)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.item_error, signal=signals.item_error)
        return ext

    def item_error(self, item: Any, response: Any, spider: Any, failure: Failure) -> None:
        pipelines = getattr(getattr(self.crawler.engine, "scraper", None), "itemproc", None)
        stage = pipeline_stage(failure, getattr(pipelines, "middlewares", ()))
        self.crawler.stats.inc_value(DROPPED + ITEM_ERROR + stage)


class VocwatchLogFormatter(LogFormatter):
    """Scrapy's messages for scraped, dropped and failed items, naming the item by URL and id
    instead of printing it whole."""

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]
        """Scrapy's DEBUG line per item, only when a handler would show it: built for every
        item and thrown away at the handler otherwise (a log record per mention)."""
        if not shows_debug(logging.getLogger("scrapy.core.scraper")):
            return None
        result = super().scraped(item, response, spider)
        result["msg"], result["args"] = "Scraped from %(src)s: %(item)s", {
            "src": result["args"]["src"], "item": item_summary(item)}
        return result

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        if result is not None:
            result["msg"], result["args"] = "Dropped %(item)s: %(exception)s", {
                "item": item_summary(item), "exception": exception}
        return result

    def item_error(self, item: Any, exception: BaseException, response: Any, spider: Any) -> LogFormatterResult:
        return {"level": logging.ERROR, "msg": "Error processing %(item)s: %(exception)r",
                "args": {"item": item_summary(item), "exception": exception}}


def shows_debug(logger: logging.Logger) -> bool:
    """Whether a DEBUG record of ``logger`` would reach a handler that keeps it (Scrapy
    leaves the loggers at NOTSET and filters at its root handler, at ``LOG_LEVEL``)."""
    if not logger.isEnabledFor(logging.DEBUG):
        return False
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:  # once per item: no generator
            if handler.level <= logging.DEBUG:
                return True
        current = current.parent if current.propagate else None
    return False  # logging.lastResort shows WARNING and above only


def check_health(store: Any, source_id: str, run_id: int, config: Any) -> None:
    """Crawl health of the run just recorded (``monitor.health``, pure and Scrapy-free):
    its findings are stored with the run before the crawl ends. A failing check is logged,
    never fails the run."""
    from config.model import HealthSettings
    from monitor.health import check_and_record

    try:
        findings = check_and_record(store, source_id, run_id, getattr(config, "health", None) or HealthSettings())
    except Exception:
        logger.exception("crawl health check of run %d failed", run_id)
        return
    for f in findings:
        logger.warning("crawl health [%s] %s", f.severity, f.message)


def peak_rss_bytes() -> int | None:
    """This process's own peak resident set (Linux ``VmHWM``), or None elsewhere.

    Why not Scrapy's ``memusage/max``: it is ``getrusage().ru_maxrss``, which Linux carries
    over a fork and an exec, so a crawl started by a large process (a test runner, a notebook)
    reports its parent's peak; ``VmHWM`` belongs to the crawl's own address space."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
