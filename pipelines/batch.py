"""Analyse and store one flush of mentions: the work the crawl hands off its reactor.

Scrapy-free, so that the NLP worker process (``nlp.worker``) runs it next to the models
as readily as a thread of the crawl process does. A flush is a list of :class:`Job`\\ s,
one per crawler that had mentions buffered; each comes back as a :class:`JobResult`
holding only counts (and, for a feed, the labels), which the crawl process adds to that
crawler's stats. Why here and not in the crawl process: building the rows, the SQLite
upsert and copying labels onto mentions all hold the GIL of whichever process does
them, and the crawl process's reactor thread is the bottleneck of a crawl.

Accounting is the store stage's as it was: each job is one ``upsert_mentions`` (so two
sources reading the same review count it inserted once and unchanged once, as before); a
job the store refuses is written one mention at a time and each mention still refused is
reported as rejected (its fingerprint and URL, never its text), counted
``store_rejected`` by the crawl process.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

from crawlers.items import MENTION_FIELDS, Mention, apply_analysis, clear_analysis, has_text

ANALYSIS_FIELDS = ("language", "sentiment_label", "sentiment_score", "aspects", "keywords", "nlp_model")
"""What a job hands back per mention when the crawl process needs the labels (a feed)."""


@dataclass(slots=True)
class Job:
    """One crawler's mentions of a flush."""

    key: int
    """The crawler's member number in its batcher: where the result goes."""
    domain: str | None
    """Aspect taxonomy of the source's location (``nlp.aspects.CATEGORY_DOMAIN``)."""
    mentions: list[Any]
    """:class:`Mention` objects (in a thread) or tuples of ``MENTION_FIELDS`` values
    (to the worker process: a tuple of plain values pickles in a fraction of the time of a
    dataclass)."""
    analyse: bool = True
    """False when the crawl is stopping: the mentions are stored unlabelled, their
    ``nlp_model`` empty, for ``vocwatch reanalyze`` (``crawlers.shutdown``)."""
    write: bool = True
    """False for mentions passed on for a feed only (stored unchanged): labelled, not written."""
    labels: bool = False
    """Hand the labels back (:attr:`JobResult.labels`): a feed writes the analysed mentions."""


@dataclass(slots=True)
class JobResult:
    key: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    store_errors: int = 0
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    """``(fingerprint, url, error)`` of each mention the store refused on its own."""
    retried: list[tuple[int, str]] = field(default_factory=list)
    """``(size, error)`` of each batch the store refused, then written one by one."""
    stats: Counter[str] = field(default_factory=Counter)
    """NLP counters, relative to ``vocwatch/``: ``language/<code>``, ``nlp/batches``, ..."""
    labels: list[tuple[Any, ...]] | None = None
    """Per mention (in job order), its ``ANALYSIS_FIELDS`` values, when the job asked."""


def as_row(m: Mention) -> tuple[Any, ...]:
    """A mention as the tuple :func:`from_row` rebuilds it from (transient fields left out)."""
    return tuple([getattr(m, name) for name in MENTION_FIELDS])


def from_row(row: tuple[Any, ...] | Mention) -> Mention:
    return row if isinstance(row, Mention) else Mention(*row)


def describe(exc: BaseException) -> str:
    """The exception's type and first line, bounded: a driver's message may quote the value."""
    first = (str(exc).splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"


def run_jobs(store: Any, jobs: list[Job], analyze: Any, writer: Executor | None = None,
             parts: int = 1) -> list[JobResult]:
    """Label what needs it, then store each job: the whole of a flush, in order.

    ``analyze`` is ``nlp.analyze.analyze`` (passed in so the crawl process imports the
    models only where it runs them). Mentions of every job with the same ``domain`` are
    analysed in one call: a flush of 40 sources' mentions is a few large batches, not 40
    small ones. A mention is analysed when it has text and no stage before analysed it
    (``nlp_model`` empty: an ``EnrichPipeline`` upstream has done it already); a
    rating-only one is cleared (``nlp_model`` ``"none"``), never labelled.

    With a ``writer`` (one thread: writes stay in order), the jobs go in ``parts`` runs of
    about equal size, each written by the writer while the next is analysed: a commit
    waits on the disk with the GIL released, so the worker's analysis need not wait too."""
    results = [JobResult(job.key) for job in jobs]
    mentions = [[from_row(r) for r in job.mentions] for job in jobs]
    writes: list[Future[None]] = []
    for span in _spans([len(ms) for ms in mentions], parts if writer is not None else 1):
        todo: dict[str | None, list[tuple[int, Mention]]] = {}
        for n in span:
            job = jobs[n]
            for m in mentions[n]:
                if not has_text(m):  # rating-only: nothing to read, no label (not a neutral)
                    if m.nlp_model is None:
                        clear_analysis(m)
                        results[n].stats["nlp/no_text"] += 1
                elif job.analyse and m.nlp_model is None:
                    todo.setdefault(job.domain, []).append((n, m))
        for domain, group in todo.items():
            _analyse(group, domain, results, analyze)
        if writer is None:
            _write_span(store, span, jobs, mentions, results)
        else:
            writes.append(writer.submit(_write_span, store, span, jobs, mentions, results))
    for f in writes:
        f.result()
    for n, job in enumerate(jobs):
        if job.labels:
            results[n].labels = [tuple([getattr(m, f) for f in ANALYSIS_FIELDS]) for m in mentions[n]]
    return results


def _spans(sizes: list[int], parts: int) -> list[range]:
    """Job indexes in ``parts`` consecutive runs of about equal numbers of mentions."""
    total, out, start, acc = sum(sizes), [], 0, 0
    for n, size in enumerate(sizes):
        acc += size
        if len(out) < parts - 1 and acc * parts >= total * (len(out) + 1):
            out.append(range(start, n + 1))
            start = n + 1
    if start < len(sizes) or not out:
        out.append(range(start, len(sizes)))
    return out


def _write_span(store: Any, span: range, jobs: list[Job], mentions: list[list[Mention]],
                results: list[JobResult]) -> None:
    for n in span:
        if jobs[n].write and mentions[n]:
            _write(store, mentions[n], results[n])


def _analyse(group: list[tuple[int, Mention]], domain: str | None, results: list[JobResult], analyze: Any) -> None:
    """One analysis call for ``group``; if it fails, its mentions go on unlabelled (counted)."""
    ms = [m for _, m in group]
    try:
        # no keywords at crawl time: readers extract them when they need them (nlp.keywords.mention_keywords)
        found = analyze([m.text for m in ms], langs=[m.language for m in ms], domain=domain,
                        ratings=[m.rating for m in ms], keywords=False)
    except Exception as exc:
        import logging

        logging.getLogger(__name__).error("NLP failed on a batch of %d mentions (%s); storing them without it",
                                          len(ms), describe(exc))
        for n, _ in group:
            results[n].stats["nlp/errors"] += 1
        return
    jobs_in = set()
    for (n, m), a in zip(group, found, strict=True):
        apply_analysis(m, a)
        stats = results[n].stats
        stats["language/" + a.lang] += 1
        if m.truncated:  # analysed, but from a snippet: its labels read part of the text
            stats["nlp/truncated"] += 1
        jobs_in.add(n)
    for n in jobs_in:
        results[n].stats["nlp/batches"] += 1


def _write(store: Any, ms: list[Mention], result: JobResult) -> None:
    """Upsert ``ms``; if that fails, each on its own, so one bad mention does not take its
    batch-mates down."""
    try:
        r = store.upsert_mentions(ms)
    except Exception as exc:
        result.store_errors += 1
        if len(ms) == 1:
            result.rejected.append((ms[0].fingerprint or "-", ms[0].url, describe(exc)))
            return
        result.retried.append((len(ms), describe(exc)))
        for m in ms:
            _write(store, [m], result)
        return
    result.inserted += r.inserted
    result.updated += r.updated
    result.unchanged += r.unchanged
