"""The store stage's batcher (pipelines.store): one buffer for every crawler of a process,
each flush analysed and stored off the reactor, counts back to each crawler."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from crawlers.items import Mention
from crawlers.store import open_store
from pipelines import store as store_stage
from pipelines.batch import Job, as_row, run_jobs
from pipelines.clean import CleanPipeline
from pipelines.store import StoreBatcher, StorePipeline, store_flush_finished, store_flush_started


def crawler_for(url: str, **settings: Any) -> Any:
    c = get_crawler(settings_dict={"VOCWATCH_STORE_URL": url, "VOCWATCH_NLP_WORKERS": 0, **settings})
    c.stats.open_spider()
    return c


def mention(crawler: Any, ext: str, text: str = "Spotless room, friendly staff.", **kw: Any) -> Mention:
    m = Mention(site="s", kind="review", url=f"http://s/{ext}", text=text, external_id=ext,
                published_at=datetime(2026, 1, 1, tzinfo=UTC), **kw)
    m = CleanPipeline.from_crawler(crawler).process_item(m)
    m.crawl_status = "new"
    return m


def stored(url: str) -> dict[str, Mention]:
    s = open_store(url)
    try:
        return {m.external_id: m for m in s.iter_mentions()}
    finally:
        s.close()


def test_two_crawlers_share_one_flush_and_each_gets_its_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    a, b = crawler_for(url), crawler_for(url)
    signals: list[tuple[str, str, int]] = []
    receivers = []  # pydispatch holds receivers weakly
    for name, c in (("a", a), ("b", b)):
        for what, signal in (("started", store_flush_started), ("finished", store_flush_finished)):
            receivers.append(lambda seq, n=name, w=what: signals.append((n, w, seq)))
            c.signals.connect(receivers[-1], signal=signal)
    calls: list[int] = []
    real = store_stage.run_jobs

    def counting(store: Any, jobs: list[Job], analyze: Any) -> Any:
        calls.append(len(jobs))
        return real(store, jobs, analyze)

    async def run() -> None:
        pa, pb = StorePipeline.from_crawler(a), StorePipeline.from_crawler(b)
        assert pa.batcher is pb.batcher  # one per process (and store)
        for i in range(3):
            assert pa.process_item(mention(a, f"a{i}")).external_id == f"a{i}"  # no hop: the item itself
        pb.process_item(mention(b, "b0"))
        pb.process_item(mention(b, "stars", text="", rating_raw=4.0, rating_scale=5.0))
        await pa.close_spider()  # flushes everyone's buffer, in one go
        await pb.close_spider()

    store_stage.run_jobs = counting
    try:
        asyncio.run(run())
    finally:
        store_stage.run_jobs = real
    assert calls == [2]  # one flush, a job per crawler
    assert a.stats.get_value("vocwatch/store/inserted") == 3 and b.stats.get_value("vocwatch/store/inserted") == 2
    assert a.stats.get_value("vocwatch/language/en") == 3 and b.stats.get_value("vocwatch/nlp/no_text") == 1
    assert ("a", "started", 1) in signals and ("a", "finished", 1) in signals and ("b", "finished", 1) in signals
    got = stored(url)
    assert got["a0"].sentiment_label == "positive" and got["stars"].nlp_model == "none"
    assert not StoreBatcher._all  # the last crawler out takes the batcher with it


def test_a_stopping_crawl_stores_its_backlog_unanalysed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url)
    monkeypatch.setattr(store_stage, "crawl_cut_short", lambda crawler: True)

    async def run() -> None:
        p = StorePipeline.from_crawler(c)
        for i in range(4):
            p.process_item(mention(c, f"r{i}"))
        await p.close_spider()

    asyncio.run(run())
    assert c.stats.get_value("vocwatch/nlp/skipped_on_stop") == 4 and c.stats.get_value("vocwatch/store/inserted") == 4
    assert {m.nlp_model for m in stored(url).values()} == {None}  # for `vocwatch reanalyze`


def test_a_dead_worker_falls_back_to_a_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url, VOCWATCH_NLP_WORKERS=1)

    def broken(workers: int, store_url: str, jobs: list[Job]) -> Future[Any]:
        f: Future[Any] = Future()
        f.set_exception(BrokenProcessPool("worker died"))
        return f

    monkeypatch.setattr(store_stage.worker, "submit_store_jobs", broken)
    monkeypatch.setattr(store_stage.worker, "prestart", lambda workers: None)

    async def run() -> None:
        p = StorePipeline.from_crawler(c)
        p.open_spider()
        p.process_item(mention(c, "r1"))
        await p.close_spider()

    asyncio.run(run())
    assert c.stats.get_value("vocwatch/nlp/worker_failures") == 1 and c.stats.get_value("vocwatch/store/inserted") == 1
    assert stored(url)["r1"].sentiment_label == "positive"


def test_a_worker_that_cannot_reach_the_store_hands_the_writes_back(tmp_path: Path) -> None:
    """A store only this process reaches (here: the worker is sent a path it cannot open, as a
    Mongo server on another network would be): the flush is analysed and stored in this
    process, not counted as rejected."""
    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url, VOCWATCH_NLP_WORKERS=1)

    async def run() -> None:
        p = StorePipeline.from_crawler(c)
        (tmp_path / "a-file").write_text("")
        p.batcher.url = f"sqlite:///{tmp_path}/a-file/s.db"  # what the worker is told: no store can be there
        p.open_spider()
        p.process_item(mention(c, "r1"))
        await p.close_spider()

    asyncio.run(run())
    assert c.stats.get_value("vocwatch/nlp/worker_failures") == 1 and c.stats.get_value("vocwatch/store/inserted") == 1
    assert not c.stats.get_value("vocwatch/dropped/store_rejected")
    assert stored(url)["r1"].sentiment_label == "positive"


def test_a_mention_the_store_refuses_is_dropped_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url)

    class Refusing:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def upsert_mentions(self, ms: list[Mention]) -> Any:
            if any(m.external_id == "bad" for m in ms):
                raise ValueError("refused by the store")
            return self.inner.upsert_mentions(ms)

    async def run() -> None:
        p = StorePipeline.from_crawler(c)
        p.batcher.store = Refusing(p.batcher.store)
        for ext in ("r1", "bad", "r2"):
            p.process_item(mention(c, ext, text=f"Secret text {ext}"))
        await p.close_spider()

    asyncio.run(run())
    s = c.stats
    assert (s.get_value("vocwatch/store/inserted"), s.get_value("vocwatch/dropped/store_rejected")) == (2, 1)
    assert "store rejected mention" in caplog.text and "Secret text" not in caplog.text


def test_with_a_feed_items_come_back_labelled_and_unchanged_ones_are_not_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url, FEEDS={str(tmp_path / "out.jsonl"): {"format": "jsonlines"}})

    async def run() -> list[Mention]:
        p = StorePipeline.from_crawler(c)
        new = mention(c, "n1")
        same = mention(c, "u1")
        same.crawl_status = "unchanged"
        got = await asyncio.gather(p.process_item(new), p.process_item(same))
        await p.close_spider()
        return list(got)

    new, same = asyncio.run(run())
    assert new.sentiment_label == "positive" and same.sentiment_label == "positive" and same.nlp_model
    assert set(stored(url)) == {"n1"} and c.stats.get_value("vocwatch/dropped/already_stored") == 1


def test_jobs_for_the_worker_travel_as_rows_and_hand_back_labels(tmp_path: Path) -> None:
    """What the worker process runs (nlp.worker.store_jobs), here in this process: tuples in,
    counts (and, for a feed, labels) out; an item some stage already labelled keeps its labels."""
    from nlp.analyze import analyze

    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url)
    done = mention(c, "pre")
    done.sentiment_label, done.nlp_model = "negative", "given"
    jobs = [Job(1, "hotel", [as_row(mention(c, "r1")), as_row(done)], labels=True)]
    s = open_store(url)
    try:
        (result,) = run_jobs(s, jobs, analyze)
    finally:
        s.close()
    assert result.inserted == 2 and result.stats["nlp/batches"] == 1 and result.stats["language/en"] == 1
    assert result.labels is not None and result.labels[0][1] == "positive" and result.labels[1][1] == "negative"


def test_a_flush_in_parts_writes_each_part_beside_the_next_ones_analysis(tmp_path: Path) -> None:
    """With a writer thread (as in the worker process), the counts and labels are those of
    the flush written in one go."""
    from concurrent.futures import ThreadPoolExecutor

    from nlp.analyze import analyze

    url = f"sqlite:///{tmp_path}/s.db"
    c = crawler_for(url)
    jobs = [Job(k, None, [as_row(mention(c, f"{k}-{i}")) for i in range(3)], labels=True) for k in range(5)]
    s = open_store(url)
    try:
        with ThreadPoolExecutor(1) as writer:
            results = run_jobs(s, jobs, analyze, writer=writer, parts=3)
    finally:
        s.close()
    assert [r.inserted for r in results] == [3] * 5 and sum(r.stats["nlp/batches"] for r in results) == 5
    assert all(r.labels and r.labels[0][1] == "positive" for r in results)
    assert len(stored(url)) == 15


def test_a_crawl_is_cut_short_by_a_stop_not_by_finishing() -> None:
    """The store's final flush analyses what a finished crawl read; only a stop (a signal,
    or a spider closed with requests still scheduled) stores its backlog unlabelled."""
    from types import SimpleNamespace

    from crawlers.shutdown import crawl_cut_short

    def crawler(*, crawling: bool = True, closing: bool = True, pending: bool = False) -> Any:
        scheduler = SimpleNamespace(has_pending_requests=lambda: pending)
        slot = SimpleNamespace(closing=object() if closing else None, scheduler=scheduler)
        return SimpleNamespace(crawling=crawling, _engine=SimpleNamespace(running=True, _slot=slot))

    assert not crawl_cut_short(crawler(closing=False))  # crawling on
    assert not crawl_cut_short(crawler())  # closing, nothing left to fetch: finished
    assert crawl_cut_short(crawler(pending=True))  # a time or memory limit
    assert crawl_cut_short(crawler(crawling=False))  # a signal
