"""The incremental cut-off moves only on evidence: the verdict from a run's counters
(crawlers.extensions) and the store picking only runs that advanced (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.extensions import cutoff_blocker, run_outcome
from crawlers.store import open_store
from crawlers.store.mongo import last_successful_query

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
READ = {"vocwatch/cutoff/history": 40, "vocwatch/cutoff/seeds": 1, "vocwatch/cutoff/seed_read": 1,
        "vocwatch/mentions/extracted": 10}


def test_first_page_read_with_mentions_is_evidence() -> None:
    assert cutoff_blocker(READ) is None
    assert run_outcome("finished", READ) == "finished"


def test_first_page_not_read_is_no_evidence() -> None:
    stats = {**READ, "vocwatch/cutoff/seed_read": 0, "vocwatch/mentions/extracted": 0,
             "vocwatch/cutoff/seed_failed": "page_empty"}
    assert cutoff_blocker(stats) == "first page failed: page_empty"
    assert cutoff_blocker({**READ, "vocwatch/cutoff/seed_read": 0}) == "first page never read"
    # read, handed to the page object, found malformed: no evidence either
    assert cutoff_blocker({**READ, "vocwatch/cutoff/seed_failed": "page_malformed"}) == "first page failed: page_malformed"
    assert run_outcome("finished", stats) == "partial"  # never a clean run


def test_no_mentions_from_a_source_that_had_some_is_no_evidence() -> None:
    stats = {**READ, "vocwatch/mentions/extracted": 0}
    assert cutoff_blocker(stats) == "no mentions read, 40 stored from earlier runs"
    assert run_outcome("finished", stats) == "partial"


def test_well_formed_empty_listing_of_a_source_without_history_is_evidence() -> None:
    stats = {**READ, "vocwatch/cutoff/history": 0, "vocwatch/mentions/extracted": 0}
    assert cutoff_blocker(stats) is None
    assert run_outcome("finished", stats) == "finished"


def test_runs_without_evidence_counters_are_judged_as_before() -> None:
    assert cutoff_blocker({}) is None
    assert run_outcome("finished", {"vocwatch/dropped/already_stored": 3}) == "finished"


def test_store_picks_only_runs_that_advanced(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/c.db")
    old = store.start_run("src", "hotel_reviews", T0)  # recorded before the flag existed
    store.finish_run(old, T0 + timedelta(minutes=1), "finished", {"vocwatch/pages/read": 4})
    assert store.last_successful_run("src").id == old  # type: ignore[union-attr]
    good = store.start_run("src", "hotel_reviews", T0 + timedelta(hours=1))
    store.finish_run(good, T0 + timedelta(hours=1, minutes=1), "finished", {"vocwatch/cutoff/advanced": 1})
    assert store.last_successful_run("src").id == good  # type: ignore[union-attr]
    # a run recorded `finished` but not advanced (e.g. written by another tool) never sets the cut-off
    held = store.start_run("src", "hotel_reviews", T0 + timedelta(hours=2))
    store.finish_run(held, T0 + timedelta(hours=2, minutes=1), "finished",
                     {"vocwatch/cutoff/advanced": 0, "vocwatch/cutoff/why_not": "first page failed: page_empty"})
    partial = store.start_run("src", "hotel_reviews", T0 + timedelta(hours=3))
    store.finish_run(partial, T0 + timedelta(hours=3, minutes=1), "partial", {"vocwatch/cutoff/advanced": 0})
    assert store.last_successful_run("src").id == good  # type: ignore[union-attr]
    store.close()


def test_mongo_query_skips_runs_that_did_not_advance() -> None:
    q = last_successful_query("src")
    assert q == {"source_id": "src", "outcome": "finished", "stats.vocwatch/cutoff/advanced": {"$ne": 0}}
    # {"$ne": 0} also matches documents without the field: older runs count by outcome, as before
