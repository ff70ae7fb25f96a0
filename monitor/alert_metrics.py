"""Time to acknowledge and time to resolve alerts: per location and for a scope.

Pure: the alerts and their recorded events (``monitor.incidents``: acknowledge / resolve
events from the dashboard, the command line and the quiet auto-resolve) go in, figures
come out; ``now`` is an argument.

The rules:
- An alert counts in the window when it was first raised in ``[since, now]``.
- **Time to acknowledge** (TTA): from ``first_seen`` to the first acknowledge event, or to
  the first resolve by a person when nobody acknowledged before it (resolving is the
  strongest acknowledgement). The system's quiet auto-resolve acknowledges nothing.
- **Time to resolve** (TTR): from ``first_seen`` to the first resolve event, by anyone (an
  auto-resolve is when the incident was over; ``auto_resolved`` says how many were).
- Medians over the alerts that have the time; the others are counted as open, with the
  age of the oldest unacknowledged one, so a median of the few that were answered never
  hides the many that were not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from statistics import median
from typing import Any, Protocol

SYSTEM = "system"


class AlertTimes(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def location_id(self) -> str | None: ...
    @property
    def first_seen(self) -> datetime: ...


class StateEvent(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def item_id(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """The figures of one location or one scope over a window; hours."""

    alerts: int
    acknowledged: int
    resolved: int
    auto_resolved: int
    unacknowledged: int
    """Neither acknowledged nor resolved by a person nor auto-resolved yet."""
    median_tta_hours: float | None
    median_ttr_hours: float | None
    oldest_unacknowledged_hours: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AlertClock:
    """One alert's times, hours from ``first_seen`` (None: not yet)."""

    tta_hours: float | None
    ttr_hours: float | None
    auto_resolved: bool


def clocks(alerts: Iterable[AlertTimes], events: Iterable[StateEvent]) -> dict[str, AlertClock]:
    """Each alert's time to acknowledge and to resolve from its events."""
    acks: dict[str, datetime] = {}
    person_resolves: dict[str, datetime] = {}
    resolves: dict[str, tuple[datetime, str]] = {}
    for e in events:
        if e.action == "acknowledge":
            acks[e.item_id] = min(acks.get(e.item_id, e.at), e.at)
        elif e.action == "resolve":
            if e.actor != SYSTEM:
                person_resolves[e.item_id] = min(person_resolves.get(e.item_id, e.at), e.at)
            if e.item_id not in resolves or e.at < resolves[e.item_id][0]:
                resolves[e.item_id] = (e.at, e.actor)
    out = {}
    for a in alerts:
        acked = [t for t in (acks.get(a.id), person_resolves.get(a.id)) if t is not None]
        resolved = resolves.get(a.id)
        out[a.id] = AlertClock(_hours(min(acked), a.first_seen) if acked else None,
                               _hours(resolved[0], a.first_seen) if resolved else None,
                               bool(resolved and resolved[1] == SYSTEM))
    return out


def response_times(alerts: Iterable[AlertTimes], events: Iterable[StateEvent], *, now: datetime,
                   since: datetime) -> tuple[ResponseTimes, dict[str, ResponseTimes]]:
    """The scope's figures (every alert first raised in ``[since, now]``) and each
    location's (alerts without a location, e.g. a brand's, count for the scope only)."""
    picked = [a for a in alerts if since <= a.first_seen <= now]
    times = clocks(picked, events)
    by_loc: Mapping[str, list[AlertTimes]] = defaultdict(list)
    for a in picked:
        if a.location_id:
            by_loc[a.location_id].append(a)  # type: ignore[attr-defined]
    return (_summary(picked, times, now),
            {lid: _summary(rows, times, now) for lid, rows in sorted(by_loc.items())})


def _summary(alerts: list[AlertTimes], times: dict[str, AlertClock], now: datetime) -> ResponseTimes:
    tta = [t.tta_hours for a in alerts if (t := times[a.id]).tta_hours is not None]
    ttr = [t.ttr_hours for a in alerts if (t := times[a.id]).ttr_hours is not None]
    waiting = [a for a in alerts if times[a.id].tta_hours is None and times[a.id].ttr_hours is None]
    return ResponseTimes(
        alerts=len(alerts), acknowledged=len(tta), resolved=len(ttr),
        auto_resolved=sum(times[a.id].auto_resolved for a in alerts), unacknowledged=len(waiting),
        median_tta_hours=_round(median(tta)) if tta else None,
        median_ttr_hours=_round(median(ttr)) if ttr else None,
        oldest_unacknowledged_hours=_round(max(_hours(now, a.first_seen) for a in waiting)) if waiting else None)


def _hours(later: datetime, earlier: datetime) -> float:
    """Hours between two instants; an event stamped before the alert (clocks apart) counts 0."""
    return max(0.0, (later - earlier).total_seconds() / 3600)


def _round(x: float) -> float:
    return round(x, 2)
