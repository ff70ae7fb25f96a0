"""Schedule state contract (``crawlers.store.schedule``), the same assertions on every store
backend (``any_store``): load/save/save_many/keep_only, the fence that keeps a deposed
leader from moving next run times backwards, and a reopened store keeping the state."""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawlers.store import open_store

T0 = datetime(2026, 12, 1, 9, 0, 0, 250_000, tzinfo=UTC)  # milliseconds: what BSON dates keep


def reopened(store: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A new store object over the same data (a restarted scheduler): the same SQLite file
    or MongoDB database; mongomock clients share nothing, so the new one is given the old
    one's in-memory server."""
    client = getattr(store, "_client", None)
    if client is not None and type(client).__module__.startswith("mongomock"):
        import mongomock
        import pymongo

        monkeypatch.setattr(pymongo, "MongoClient", functools.partial(mongomock.MongoClient, _store=client._store))
    return open_store(store.url)


def test_save_load_and_overwrite(any_store: Any) -> None:
    table = any_store.schedule_state
    assert table.load() == {}
    assert table.save("a", "every 1h", T0)
    assert table.save("b", "0 9 * * 1", None)
    assert table.save("a", "every 2h", T0 + timedelta(hours=2))
    state = table.load()
    assert state == {"a": ("every 2h", T0 + timedelta(hours=2), None), "b": ("0 9 * * 1", None, None)}
    assert state["a"].next_run.tzinfo is not None and state["a"].schedule == "every 2h"
    with pytest.raises(ValueError, match="naive"):
        table.save("c", "every 1h", datetime(2026, 12, 1, 9, 0))


def test_save_many_and_keep_only(any_store: Any) -> None:
    table = any_store.schedule_state
    rows = [(f"loc-{i}/site", "every 6h", T0 + timedelta(seconds=i)) for i in range(2_500)]
    assert table.save_many(rows) == 2_500
    assert table.save_many([]) == 0
    state = table.load()
    assert len(state) == 2_500 and state["loc-7/site"].next_run == T0 + timedelta(seconds=7)
    assert table.save_many([("loc-7/site", "every 1h", None), ("new", "every 1m", T0)]) == 2
    assert table.load()["loc-7/site"] == ("every 1h", None, None)
    keep = [r[0] for r in rows[:100]]
    assert table.keep_only(keep) == 2_401
    assert sorted(table.load()) == sorted(keep)
    assert table.keep_only(keep) == 0


def test_fence_refuses_a_lower_token(any_store: Any) -> None:
    table = any_store.schedule_state
    later, earlier = T0 + timedelta(hours=6), T0
    assert table.save("a", "every 6h", earlier, fence=1)
    assert table.save("a", "every 6h", later, fence=2)  # the new leader moves it on
    assert not table.save("a", "every 6h", earlier, fence=1)  # the deposed one cannot move it back
    assert table.load()["a"] == ("every 6h", later, 2)
    assert table.save("a", "every 6h", later + timedelta(hours=6), fence=2)  # the same token writes again

    # in bulk: refused rows are left, the others written, in one call
    assert table.save_many([("a", "every 6h", earlier), ("b", "every 1h", earlier)], fence=1) == 1
    state = table.load()
    assert state["a"] == ("every 6h", later + timedelta(hours=6), 2) and state["b"] == ("every 1h", earlier, 1)
    assert table.save_many([("a", "every 1h", earlier), ("b", "every 1h", later)], fence=3) == 2
    assert {k: v.fence for k, v in table.load().items()} == {"a": 3, "b": 3}

    # a deposed leader cannot forget jobs the current one wrote
    assert table.keep_only([], fence=2) == 0
    assert sorted(table.load()) == ["a", "b"]

    # single-machine mode always writes and keeps the highest token seen
    assert table.save("a", "every 1h", later)
    assert table.load()["a"] == ("every 1h", later, 3)
    assert not table.save("a", "every 1h", earlier, fence=2)
    assert table.keep_only([]) == 2 and table.load() == {}


def test_unfenced_rows_take_any_fence(any_store: Any) -> None:
    """Rows from a single-machine scheduler (or from before the fence existed) are taken
    over by the first leader."""
    table = any_store.schedule_state
    table.save_many([("a", "every 1h", T0), ("b", "every 1h", T0)])
    assert table.save("a", "every 1h", T0 + timedelta(hours=1), fence=1)
    assert table.save_many([("b", "every 1h", T0 + timedelta(hours=1))], fence=1) == 1
    assert {k: v.fence for k, v in table.load().items()} == {"a": 1, "b": 1}


def test_concurrent_leaders_never_move_a_row_backwards(any_store: Any) -> None:
    """Two writers racing, one with the current token writing ever later times, one deposed
    writing earlier ones: whatever the interleaving, the row ends at the current leader's."""
    table = any_store.schedule_state
    table.save("a", "every 1m", T0, fence=1)
    current = [T0 + timedelta(minutes=i) for i in range(1, 101)]
    written: list[bool] = []

    def leader() -> None:
        for t in current:
            written.append(table.save("a", "every 1m", t, fence=2))

    def deposed() -> None:
        for i in range(100):
            table.save("a", "every 1m", T0 - timedelta(minutes=i), fence=1)

    threads = [threading.Thread(target=leader), threading.Thread(target=deposed)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert written == [True] * 100
    assert table.load()["a"] == ("every 1m", current[-1], 2)


def test_restart_keeps_state(any_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    table = any_store.schedule_state
    table.save_many([("a", "every 1h", T0), ("b", "0 9 * * 1", None)], fence=4)
    table.save("c", "every 5m", T0 + timedelta(minutes=5))
    again = reopened(any_store, monkeypatch)
    try:
        assert again.schedule_state.load() == {"a": ("every 1h", T0, 4), "b": ("0 9 * * 1", None, 4),
                                               "c": ("every 5m", T0 + timedelta(minutes=5), None)}
        assert not again.schedule_state.save("a", "every 1h", T0 - timedelta(hours=1), fence=3)
    finally:
        again.close()
