"""The deliveries table's contract (``crawlers.store.deliveries``), the same on every backend
(``any_store``: SQLite for real, MongoDB through mongomock, a real server when
``VOCWATCH_TEST_MONGO_URL`` is set): dedupe, backoff and due, supersede, the rate window
with the claims in flight, lease expiry, unrouted records and listing; then processes and
threads racing for a channel's last slot (SQLite), and the two Mongo claims interleaved at
their worst point."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from config.model import RateLimit
from crawlers.store import open_store
from crawlers.store.deliveries import Claim, DeliveryKey, DeliveryTable
from monitor.delivery import deliveries, notify, retry_pending
from tests.alert_receivers import T0, Alert, Webhook
from tests.conftest import ROOT
from tests.test_delivery import hook_config

LEASE = timedelta(minutes=10)
RECHECK = timedelta(minutes=1)
TWO_AN_HOUR = RateLimit(2, 3600, "2/h")


def key(alert_id: str = "a1", version: int = 1, channel: str = "hook") -> DeliveryKey:
    return DeliveryKey(alert_id, version, channel)


def claim(table: DeliveryTable, k: DeliveryKey, now: Any, limit: RateLimit | None = None) -> Claim:
    return table.claim(k, now, rate_limit=limit, lease=LEASE, recheck=RECHECK)


def sent(table: DeliveryTable, k: DeliveryKey, attempts: int, at: Any) -> None:
    table.record(k, "sent", attempts=attempts, now=at, sent_at=at)


def test_a_sent_delivery_is_a_duplicate(any_store) -> None:  # type: ignore[no-untyped-def]
    table = any_store.deliveries
    assert claim(table, key(), T0) == Claim("claimed", 1, T0 + LEASE)
    assert claim(table, key(), T0) == Claim("pending", 1, T0 + LEASE)  # claimed by someone: leased
    sent(table, key(), 1, T0)
    assert claim(table, key(), T0 + timedelta(hours=1)) == Claim("duplicate", 1)
    assert claim(table, key(version=2), T0) == Claim("claimed", 1, T0 + LEASE)  # another version is another send
    assert claim(table, key(channel="mail"), T0).status == "claimed"
    assert table.due(T0 + timedelta(days=1)) == [key(channel="mail"), key(version=2)]  # their leases ran out


def test_a_failed_delivery_backs_off_until_due_then_gives_up(any_store) -> None:  # type: ignore[no-untyped-def]
    table = any_store.deliveries
    claim(table, key(), T0)
    table.record(key(), "failed", attempts=1, now=T0, error="HTTP 500", next_attempt_at=T0 + timedelta(minutes=1))
    assert table.due(T0 + timedelta(seconds=59)) == []
    assert claim(table, key(), T0 + timedelta(seconds=30)) == Claim("pending", 1, T0 + timedelta(minutes=1))
    assert table.due(T0 + timedelta(minutes=1)) == [key()]
    assert claim(table, key(), T0 + timedelta(minutes=1)) == Claim("claimed", 2, T0 + timedelta(minutes=11))
    table.record(key(), "failed", attempts=2, now=T0 + timedelta(minutes=1), error="HTTP 500",
                 next_attempt_at=None)  # the last attempt: failed for good
    assert table.due(T0 + timedelta(days=1)) == []
    assert claim(table, key(), T0 + timedelta(days=1)) == Claim("failed", 2)
    [row] = table.list()
    assert (row.status, row.attempts, row.last_error, row.next_attempt_at) == ("failed", 2, "HTTP 500", None)

    claim(table, key("a2"), T0)
    table.record(key("a2"), "failed", attempts=1, now=T0, error="HTTP 500", next_attempt_at=T0 + RECHECK)
    table.give_up(key("a2"), "given up: channel no longer configured", T0 + RECHECK)
    assert table.due(T0 + timedelta(days=1)) == []
    assert claim(table, key("a2"), T0 + timedelta(days=1)) == Claim("failed", 1)
    assert next(r for r in table.list() if r.alert_id == "a2").last_error == "given up: channel no longer configured"


def test_a_newer_version_supersedes_the_waiting_older_ones(any_store) -> None:  # type: ignore[no-untyped-def]
    table = any_store.deliveries
    claim(table, key(), T0)
    table.record(key(), "failed", attempts=1, now=T0, error="down", next_attempt_at=T0 + RECHECK)
    sent(table, key(channel="mail"), 1, T0)  # the other channel's v1 went out: stays sent
    assert claim(table, key(version=2), T0 + timedelta(seconds=10)).status == "claimed"
    statuses = {(r.version, r.channel): r.status for r in table.list()}
    assert statuses == {(1, "hook"): "superseded", (2, "hook"): "sending", (1, "mail"): "sent"}
    assert claim(table, key(), T0 + timedelta(hours=1)) == Claim("superseded", 1)
    assert table.due(T0 + timedelta(hours=1)) == [key(version=2)]
    table.supersede(key(version=2), T0 + timedelta(hours=1))
    assert table.due(T0 + timedelta(hours=1)) == []


def test_the_rate_window_counts_sends_and_claims_in_flight(any_store) -> None:  # type: ignore[no-untyped-def]
    table = any_store.deliveries
    assert claim(table, key("a1"), T0, TWO_AN_HOUR).status == "claimed"
    assert claim(table, key("a2"), T0, TWO_AN_HOUR).status == "claimed"
    # both slots are held by sends not yet recorded: look again shortly
    assert claim(table, key("a3"), T0, TWO_AN_HOUR) == Claim("rate_limited", 0, T0 + RECHECK)
    sent(table, key("a1"), 1, T0)
    sent(table, key("a2"), 1, T0 + timedelta(minutes=5))
    # now sends fill it: room when the oldest leaves the window
    assert claim(table, key("a3"), T0 + timedelta(minutes=10), TWO_AN_HOUR) == \
        Claim("rate_limited", 0, T0 + timedelta(hours=1))
    assert [r.status for r in table.list() if r.alert_id == "a3"] == ["rate_limited"]
    assert table.due(T0 + timedelta(minutes=59)) == []
    assert table.due(T0 + timedelta(hours=1)) == [key("a3")]
    assert claim(table, key("a3"), T0 + timedelta(hours=1), TWO_AN_HOUR) == \
        Claim("claimed", 1, T0 + timedelta(hours=1) + LEASE)
    assert claim(table, key("a4"), T0 + timedelta(hours=1), TWO_AN_HOUR) == \
        Claim("rate_limited", 0, T0 + timedelta(hours=1, minutes=5))
    # another channel has its own window; no limit, no window
    assert claim(table, key("a4", channel="mail"), T0 + timedelta(hours=1), TWO_AN_HOUR).status == "claimed"
    assert claim(table, key("a5"), T0 + timedelta(hours=1)).status == "claimed"


def test_a_failed_or_superseded_claim_frees_its_slot(any_store) -> None:  # type: ignore[no-untyped-def]
    table = any_store.deliveries
    one = RateLimit(1, 3600, "1/h")
    assert claim(table, key("a1"), T0, one).status == "claimed"
    assert claim(table, key("a2"), T0, one).status == "rate_limited"
    table.record(key("a1"), "failed", attempts=1, now=T0, error="down", next_attempt_at=T0 + RECHECK)
    assert claim(table, key("a2"), T0 + RECHECK, one).status == "claimed"  # a failed send takes no slot
    # a2 v2 replaces the v1 still in flight, and its slot with it
    assert claim(table, key("a2", 2), T0 + RECHECK, one).status == "claimed"
    assert claim(table, key("a1"), T0 + RECHECK, one).status == "rate_limited"


def test_an_expired_lease_is_claimed_again(any_store) -> None:  # type: ignore[no-untyped-def]
    """A process that claimed a send and died: after the lease, the send is due, claimable
    again (a new attempt), and no longer holds its slot meanwhile."""
    table = any_store.deliveries
    one = RateLimit(1, 3600, "1/h")
    assert claim(table, key("a1"), T0, one).status == "claimed"
    assert claim(table, key("a1"), T0 + timedelta(minutes=5), one) == Claim("pending", 1, T0 + LEASE)
    assert claim(table, key("a2"), T0 + timedelta(minutes=5), one) == \
        Claim("rate_limited", 0, T0 + timedelta(minutes=6))
    assert table.due(T0 + LEASE) == [key("a2"), key("a1")]  # the rate-limited one fell due first
    assert claim(table, key("a1"), T0 + LEASE, one) == Claim("claimed", 2, T0 + 2 * LEASE)
    assert claim(table, key("a2"), T0 + LEASE, one).status == "rate_limited"  # a1's new claim holds it


def test_unrouted_records_and_the_listing(any_store) -> None:  # type: ignore[no-untyped-def]
    table = any_store.deliveries
    table.record(key("a1", 1, "-"), "unrouted", attempts=0, now=T0, error="no route (v1)")
    table.record(key("a1", 2, "-"), "unrouted", attempts=0, now=T0 + timedelta(hours=1), error="no route (v2)")
    table.record(key("a2", 1, "-"), "unrouted", attempts=0, now=T0, error="no route for a2")
    sent(table, key("a3"), 1, T0 + timedelta(minutes=30, microseconds=123456))
    assert table.unrouted(["a1", "a3", "nope"]) == {"a1": "no route (v2)"}
    assert table.unrouted([]) == {}
    rows = table.list()
    assert [(r.alert_id, r.version, r.channel) for r in rows] == [("a1", 2, "-"), ("a3", 1, "hook"),
                                                                  ("a1", 1, "-"), ("a2", 1, "-")]
    a3 = rows[1]
    assert (a3.status, a3.attempts, a3.last_error, a3.next_attempt_at) == ("sent", 1, None, None)
    assert a3.sent_at == a3.updated_at == T0 + timedelta(minutes=30)  # to the second, aware UTC
    assert a3.key == key("a3") and a3.sent_at is not None and a3.sent_at.utcoffset() == timedelta(0)
    assert table.due(T0 + timedelta(days=1)) == []  # unrouted is never retried


def test_notify_and_retry_work_on_every_backend(any_store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """monitor.delivery end to end on the store it is given, to a real webhook."""
    with Webhook(statuses=[500]) as hook:
        config = hook_config(tmp_path, hook.port, rate_limit="1/h")
        [failed] = notify(config, any_store, [Alert()], now=T0)
        assert (failed.status, failed.next_attempt_at) == ("failed", T0 + RECHECK)
        [retried] = retry_pending(config, any_store, [Alert()], now=T0 + RECHECK)
        assert (retried.status, retried.attempts) == ("sent", 2)
        assert [r.status for r in notify(config, any_store, [Alert(), Alert(id="a2")], now=T0 + 2 * RECHECK)] == \
            ["duplicate", "rate_limited"]
    assert len(hook.requests) == 2
    assert {(r.alert_id, r.status) for r in deliveries(any_store)} == {("a1", "sent"), ("a2", "rate_limited")}


# -- races ------------------------------------------------------------------------------------
CHANNELS = [f"ch{i}" for i in range(20)]
_RACER = """
import os, sys, time
from datetime import timedelta
from config.model import RateLimit
from crawlers.store import open_store
from crawlers.store.deliveries import DeliveryKey
from tests.alert_receivers import T0
url, go, alert_id, *channels = sys.argv[1:]
table = open_store(url).deliveries
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
for channel in channels:
    c = table.claim(DeliveryKey(alert_id, 1, channel), T0, rate_limit=RateLimit(2, 3600, "2/h"),
                    lease=timedelta(minutes=10), recheck=timedelta(minutes=1))
    print(channel, c.status, flush=True)
"""


def _seed_one_slot_left(table: DeliveryTable) -> None:
    for channel in CHANNELS:  # of each channel's two slots, one is taken
        assert claim(table, key("first", channel=channel), T0, TWO_AN_HOUR).status == "claimed"
        sent(table, key("first", channel=channel), 1, T0)


def _one_winner_per_channel(outcomes: list[tuple[str, str]], racers: int) -> None:
    for channel in CHANNELS:
        mine = sorted(status for ch, status in outcomes if ch == channel)
        assert mine == ["claimed"] + ["rate_limited"] * (racers - 1), (channel, mine)


def test_processes_racing_for_the_last_slot_on_sqlite_one_wins(tmp_path: Path) -> None:
    """Six processes claim, each for its own alert, the last slot of each of 20 channels at
    once: on every channel exactly one gets it (``BEGIN IMMEDIATE``)."""
    url = f"sqlite:///{tmp_path / 'v.db'}"
    store = open_store(url)
    _seed_one_slot_left(store.deliveries)
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, url, str(go), f"r{i}", *CHANNELS], cwd=ROOT,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(ROOT)}) for i in range(6)]
    try:
        for p in racers:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr.read()  # type: ignore[union-attr]
        go.touch()
        done = [p.communicate(timeout=60) for p in racers]
    finally:
        for p in racers:
            p.kill()
    assert all(p.returncode == 0 for p in racers), [err for _, err in done]
    _one_winner_per_channel([tuple(line.split()) for out, _ in done for line in out.splitlines()], 6)  # type: ignore[misc]
    assert sum(r.status == "sending" for r in store.deliveries.list()) == len(CHANNELS)
    store.close()


def test_threads_racing_for_the_last_slot_on_one_sqlite_store_one_wins(tmp_path: Path) -> None:
    """The same with eight threads sharing one store (and its connection)."""
    store = open_store(f"sqlite:///{tmp_path / 'v.db'}")
    table = store.deliveries
    _seed_one_slot_left(table)
    start = threading.Barrier(8)
    outcomes: list[tuple[str, str]] = []

    def race(i: int) -> None:
        start.wait()
        for channel in CHANNELS:
            outcomes.append((channel, claim(table, key(f"t{i}", channel=channel), T0, TWO_AN_HOUR).status))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    _one_winner_per_channel(outcomes, 8)
    store.close()


class _Interleave:
    """A collection whose next ``find_one`` lets ``rival`` run right after the read: two Mongo
    claims interleaved at their worst point (between read and conditional write)."""

    def __init__(self, collection: Any, rival: Any) -> None:
        self._c, self._rival = collection, rival

    def find_one(self, *args: Any, **kwargs: Any) -> Any:
        doc = self._c.find_one(*args, **kwargs)
        if self._rival is not None:
            rival, self._rival = self._rival, None
            rival()
        return doc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)


@pytest.fixture
def mongo_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    import mongomock
    import pymongo

    monkeypatch.setattr(pymongo, "MongoClient", mongomock.MongoClient)
    s = open_store("mongodb://127.0.0.1:27017/vocwatch")
    yield s
    s.close()


def test_mongo_claims_interleaved_for_the_last_slot_one_wins(mongo_store) -> None:  # type: ignore[no-untyped-def]
    from crawlers.store.deliveries import MongoDeliveries

    table = mongo_store.deliveries
    other = MongoDeliveries(mongo_store._mentions.database)  # another process on the same database
    assert claim(table, key("first"), T0, TWO_AN_HOUR).status == "claimed"
    sent(table, key("first"), 1, T0)
    sent_rival: list[Claim] = []
    table._windows = _Interleave(table._windows, lambda: sent_rival.append(claim(other, key("r"), T0, TWO_AN_HOUR)))
    mine = claim(table, key("m"), T0, TWO_AN_HOUR)
    assert (sent_rival[0].status, mine.status) == ("claimed", "rate_limited")
    assert mine.next_attempt_at == T0 + timedelta(hours=1)  # when "first" leaves the window


def test_mongo_claims_interleaved_for_one_delivery_one_sends(mongo_store) -> None:  # type: ignore[no-untyped-def]
    from crawlers.store.deliveries import MongoDeliveries

    table = mongo_store.deliveries
    other = MongoDeliveries(mongo_store._mentions.database)
    rival: list[Claim] = []
    table._rows = _Interleave(table._rows, lambda: rival.append(claim(other, key(), T0)))
    assert claim(table, key(), T0) == Claim("pending", 1, T0 + LEASE)  # new: both tried to insert it
    assert rival == [Claim("claimed", 1, T0 + LEASE)]
    table.record(key(), "failed", attempts=1, now=T0, error="down", next_attempt_at=T0 + RECHECK)
    table._rows = _Interleave(table._rows._c, lambda: rival.append(claim(other, key(), T0 + RECHECK)))
    assert claim(table, key(), T0 + RECHECK) == Claim("pending", 2, T0 + RECHECK + LEASE)  # a retry: same
    assert rival[1] == Claim("claimed", 2, T0 + RECHECK + LEASE)
