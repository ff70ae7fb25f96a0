"""Time to answer and time to resolve, per own location: how fast the people behind the
inbox act on what guests write. Pure (the mentions, their work items and ``now`` come in;
no store, no clock), so the maths is tested on its own.

Definitions (README "Review inbox"):

* A mention is **answered** when the site shows an owner reply (``reply_text`` or
  ``reply_at``) or its work item's status is ``answered`` or ``resolved``.
* Its **first answer** is the earliest of the site's ``reply_at`` and the work item's
  ``answered_at`` (the first time someone set it to answered); a mention resolved without
  ever being set to answered counts as answered at its ``resolved_at``.
* **Time to answer** is hours from ``published_at`` to the first answer, over the answered
  mentions whose first answer has a time (a site reply with no date has none: it counts as
  answered but not in the times). **Time to resolve** is hours from ``published_at`` to
  ``resolved_at`` (the first resolution) over the mentions whose status is ``resolved``.
  An answer dated before the review (a site's clock, a reply to an earlier version) is 0 h.
* Median and p90 interpolate linearly between ranks (numpy's default, Excel's
  ``PERCENTILE.INC``). They describe the answered mentions only: a location that answers
  a few reviews fast and ignores the rest shows a low median and a low answered share, so
  read them together.
* **Unanswered negatives**: negative mentions (the sentiment label) in the window that are
  not answered; the oldest one's age at ``now`` is given too.

Window: mentions published in ``[since, now)``, like every window in vocwatch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawlers.items import Mention
from crawlers.store.workflow import WorkItem

ANSWERED_STATUSES = ("answered", "resolved")


def quantile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values``, linear between closest ranks; None if empty."""
    if not values:
        return None
    if not 0 <= q <= 1:
        raise ValueError(f"quantile {q} is outside 0..1")
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def is_answered(m: Mention, item: WorkItem | None) -> bool:
    """The site shows an owner reply, or someone set the status to answered or resolved."""
    return bool(m.reply_text) or m.reply_at is not None or (item is not None and item.status in ANSWERED_STATUSES)


def first_answer_at(m: Mention, item: WorkItem | None) -> datetime | None:
    """When the mention was first answered: the site's reply or the work item's answer,
    whichever came first (a resolution without an answer counts as the answer)."""
    times = [m.reply_at] if m.reply_at is not None else []
    if item is not None:
        marked = item.answered_at or item.resolved_at
        if marked is not None:
            times.append(marked)
    return min(times) if times else None


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


@dataclass(slots=True)
class WorkflowStats:
    """The workflow figures of one location (or of several pooled) over a window."""

    mentions: int = 0
    answered: int = 0
    answered_on_site: int = 0
    """With an owner reply on the site."""
    answered_by_status: int = 0
    """With the status answered or resolved (a mention may be both)."""
    resolved: int = 0
    negatives: int = 0
    unanswered_negatives: int = 0
    oldest_unanswered_negative: datetime | None = None
    answer_hours: list[float] = field(default_factory=list)
    resolve_hours: list[float] = field(default_factory=list)

    def add(self, m: Mention, item: WorkItem | None) -> None:
        self.mentions += 1
        answered = is_answered(m, item)
        negative = m.sentiment_label == "negative"
        self.negatives += negative
        if answered:
            self.answered += 1
            self.answered_on_site += bool(m.reply_text) or m.reply_at is not None
            self.answered_by_status += item is not None and item.status in ANSWERED_STATUSES
            first = first_answer_at(m, item)
            if first is not None and m.published_at is not None:
                self.answer_hours.append(_hours(m.published_at, first))
        elif negative:
            self.unanswered_negatives += 1
            if m.published_at is not None and (self.oldest_unanswered_negative is None
                                               or m.published_at < self.oldest_unanswered_negative):
                self.oldest_unanswered_negative = m.published_at
        if item is not None and item.status == "resolved":
            self.resolved += 1
            if item.resolved_at is not None and m.published_at is not None:
                self.resolve_hours.append(_hours(m.published_at, item.resolved_at))

    def to_dict(self, now: datetime) -> dict[str, Any]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 1)

        oldest = self.oldest_unanswered_negative
        return {
            "mentions": self.mentions, "answered": self.answered, "answered_on_site": self.answered_on_site,
            "answered_by_status": self.answered_by_status,
            "answered_share": round(self.answered / self.mentions, 4) if self.mentions else None,
            "answer_timed": len(self.answer_hours),
            "median_answer_hours": r(quantile(self.answer_hours, 0.5)),
            "p90_answer_hours": r(quantile(self.answer_hours, 0.9)),
            "resolved": self.resolved, "resolve_timed": len(self.resolve_hours),
            "median_resolve_hours": r(quantile(self.resolve_hours, 0.5)),
            "p90_resolve_hours": r(quantile(self.resolve_hours, 0.9)),
            "negatives": self.negatives, "unanswered_negatives": self.unanswered_negatives,
            "oldest_unanswered_negative_hours": None if oldest is None else r(_hours(oldest, now)),
        }


def location_workflow(mentions: Iterable[Mention], items: Mapping[str, WorkItem], *, locations: Iterable[str],
                      since: datetime | None, now: datetime) -> tuple[dict[str, WorkflowStats], WorkflowStats]:
    """Per location (every one in ``locations``, even without mentions) and pooled over all
    of them: the figures of the mentions published in ``[since, now)`` (``since`` None: all
    before ``now``). ``items`` maps a
    fingerprint to its work item (missing = new). Pooled medians are over every mention's
    hours, not a median of the locations' medians."""
    per = {lid: WorkflowStats() for lid in locations}
    total = WorkflowStats()
    for m in mentions:
        stats = per.get(m.location_id)
        if stats is None or m.published_at is None or m.published_at >= now or (since is not None and m.published_at < since):
            continue
        item = items.get(m.fingerprint)
        stats.add(m, item)
        total.add(m, item)
    return per, total
