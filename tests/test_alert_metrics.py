"""Time to acknowledge / time to resolve (``monitor.alert_metrics``): the rules in isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from monitor.alert_metrics import clocks, response_times

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


class A(NamedTuple):
    id: str
    location_id: str | None
    first_seen: datetime


class E(NamedTuple):
    at: datetime
    actor: str
    action: str
    item_id: str


def test_first_acknowledge_and_first_resolve_count() -> None:
    alerts = [A("a", "x", NOW - 10 * H)]
    events = [E(NOW - 6 * H, "token:2", "acknowledge", "a"), E(NOW - 8 * H, "cli:bob", "acknowledge", "a"),
              E(NOW - 1 * H, "token:1", "resolve", "a"), E(NOW - 9 * H, "token:1", "note", "a"),
              E(NOW - 9 * H, "token:1", "acknowledge", "other")]
    c = clocks(alerts, events)["a"]
    assert (c.tta_hours, c.ttr_hours, c.auto_resolved) == (2.0, 9.0, False)


def test_a_person_resolving_acknowledges_the_system_does_not() -> None:
    alerts = [A("p", "x", NOW - 4 * H), A("s", "x", NOW - 4 * H)]
    events = [E(NOW - 3 * H, "token:1", "resolve", "p"), E(NOW - 1 * H, "system", "resolve", "s")]
    c = clocks(alerts, events)
    assert (c["p"].tta_hours, c["p"].ttr_hours, c["p"].auto_resolved) == (1.0, 1.0, False)
    assert (c["s"].tta_hours, c["s"].ttr_hours, c["s"].auto_resolved) == (None, 3.0, True)


def test_an_event_stamped_before_the_alert_counts_zero() -> None:
    c = clocks([A("a", "x", NOW)], [E(NOW - H, "token:1", "acknowledge", "a")])["a"]
    assert c.tta_hours == 0.0 and c.ttr_hours is None


def test_medians_per_location_and_scope_over_the_window() -> None:
    alerts = [A("x1", "x", NOW - 10 * H), A("x2", "x", NOW - 20 * H), A("x3", "x", NOW - 30 * H),
              A("y1", "y", NOW - 5 * H), A("b", None, NOW - 7 * H),  # a brand's: the scope only
              A("old", "x", NOW - 100 * 24 * H), A("future", "x", NOW + H)]
    events = [E(NOW - 9 * H, "t", "acknowledge", "x1"), E(NOW - 17 * H, "t", "acknowledge", "x2"),
              E(NOW - 12 * H, "t", "resolve", "x2"), E(NOW - 4 * H, "t", "acknowledge", "y1"),
              E(NOW - 100 * 24 * H + H, "t", "acknowledge", "old")]
    scope, per = response_times(alerts, events, now=NOW, since=NOW - 90 * 24 * H)
    assert scope.alerts == 5 and scope.acknowledged == 3 and scope.resolved == 1
    assert scope.median_tta_hours == 1.0  # 1, 3, 1
    assert scope.median_ttr_hours == 8.0
    assert scope.unacknowledged == 2 and scope.oldest_unacknowledged_hours == 30.0  # x3 and b
    assert set(per) == {"x", "y"}
    assert (per["x"].alerts, per["x"].median_tta_hours, per["x"].unacknowledged) == (3, 2.0, 1)
    assert (per["y"].median_tta_hours, per["y"].median_ttr_hours, per["y"].oldest_unacknowledged_hours) == (
        1.0, None, None)
    assert per["x"].to_dict()["median_ttr_hours"] == 8.0


def test_nothing_in_the_window() -> None:
    scope, per = response_times([A("old", "x", NOW - 400 * 24 * H)], [], now=NOW, since=NOW - 30 * 24 * H)
    assert per == {} and scope.alerts == 0
    assert (scope.median_tta_hours, scope.median_ttr_hours, scope.oldest_unacknowledged_hours) == (None, None, None)
