"""The maths of time to answer and time to resolve (monitor/workflow_metrics.py), on
hand-made mentions whose figures are worked out here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.items import Mention
from crawlers.store.workflow import WorkItem
from monitor.workflow_metrics import first_answer_at, is_answered, location_workflow, quantile

NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)
H = timedelta(hours=1)


def mention(fp: str, published: datetime, *, lid: str = "a", label: str = "positive", reply_at: datetime | None = None,
            reply_text: str | None = None) -> Mention:
    return Mention(site="s", kind="review", url=f"https://s.example/{fp}", text="t", location_id=lid, published_at=published,
                   sentiment_label=label, reply_text=reply_text if reply_text is not None else ("ok" if reply_at else None),
                   reply_at=reply_at, fingerprint=fp)


def item(fp: str, status: str, *, answered: datetime | None = None, resolved: datetime | None = None,
         lid: str = "a") -> WorkItem:
    return WorkItem(kind="mention", item_id=fp, location_id=lid, status=status, answered_at=answered, resolved_at=resolved)


@pytest.mark.parametrize(("values", "q", "want"), [
    ([], 0.5, None), ([7.0], 0.9, 7.0), ([1.0, 3.0], 0.5, 2.0), ([4.0, 1.0, 2.0, 3.0], 0.5, 2.5),
    ([float(x) for x in range(1, 11)], 0.9, 9.1),  # (10 - 1) * 0.9 = rank 8.1 -> 9 + 0.1 * (10 - 9)
    ([0.0, 10.0], 1.0, 10.0), ([0.0, 10.0], 0.0, 0.0),
])
def test_quantile_interpolates_between_ranks(values: list[float], q: float, want: float | None) -> None:
    got = quantile(values, q)
    assert got is None if want is None else got == pytest.approx(want)


def test_quantile_refuses_a_q_outside_0_1() -> None:
    with pytest.raises(ValueError):
        quantile([1.0], 1.5)


def test_first_answer_is_the_earlier_of_the_site_reply_and_the_status() -> None:
    p = NOW - 100 * H
    site_first = mention("x", p, reply_at=p + 3 * H)
    assert first_answer_at(site_first, item("x", "answered", answered=p + 10 * H)) == p + 3 * H
    assert first_answer_at(mention("x", p, reply_at=p + 20 * H), item("x", "resolved", answered=p + 10 * H,
                                                                     resolved=p + 30 * H)) == p + 10 * H
    # resolved without ever being answered: the resolution is the answer
    assert first_answer_at(mention("x", p), item("x", "resolved", resolved=p + 8 * H)) == p + 8 * H
    assert first_answer_at(mention("x", p), None) is None
    # a site reply without a date is an answer with no time
    undated = mention("x", p, reply_text="thanks")
    assert is_answered(undated, None) and first_answer_at(undated, None) is None
    # re-opened after an answer: not answered now, whatever answered_at says
    assert not is_answered(mention("x", p), item("x", "assigned", answered=p + H))


def test_per_location_figures_over_a_window() -> None:
    p = NOW - 200 * H
    ms = [
        mention("m1", p, reply_at=p + 2 * H),                                 # site reply: 2 h
        mention("m2", p, label="negative"),                                    # answered by status: 6 h
        mention("m3", p - 50 * H, label="negative"),                           # resolved only: 10 h, resolve 10 h
        mention("m4", p, label="negative", reply_at=p - 1 * H),                # a reply "before" the review: 0 h
        mention("m5", p - 100 * H, label="negative"),                          # unanswered negative, the oldest
        mention("m6", p, label="negative"),                                    # unanswered negative
        mention("m7", p, reply_text="undated thanks"),                         # answered, untimed
        mention("m8", p, label="negative"),                                    # re-opened: unanswered again
        mention("old", SINCE - H, label="negative"),                           # before the window
        mention("new", NOW, label="negative"),                                 # at now: outside [since, now)
        mention("b1", p, lid="b", reply_at=p + 40 * H),
        mention("zz", p, lid="competitor", label="negative"),                  # not asked for
    ]
    items = {
        "m2": item("m2", "answered", answered=p + 6 * H),
        "m3": item("m3", "resolved", resolved=p - 40 * H),
        "m4": item("m4", "resolved", answered=p + 5 * H, resolved=p + 24 * H),
        "m8": item("m8", "assigned", answered=p + 1 * H),
    }
    per, total = location_workflow(ms, items, locations=["a", "b", "c"], since=SINCE, now=NOW)
    a = per["a"].to_dict(NOW)
    assert a["mentions"] == 8 and a["answered"] == 5 and a["answered_share"] == 0.625
    assert a["answered_on_site"] == 3 and a["answered_by_status"] == 3  # m4 is both
    assert a["answer_timed"] == 4  # m1 2 h, m2 6 h, m3 10 h, m4 0 h; m7 has no time
    assert a["median_answer_hours"] == 4.0  # (2 + 6) / 2
    assert a["p90_answer_hours"] == 8.8  # ranks 0 2 6 10: pos 2.7 -> 6 + 0.7 * 4
    assert a["resolved"] == 2 and a["resolve_timed"] == 2
    assert a["median_resolve_hours"] == 17.0 and a["p90_resolve_hours"] == 22.6  # 10 h and 24 h
    assert a["negatives"] == 6 and a["unanswered_negatives"] == 3  # m5, m6, m8
    assert a["oldest_unanswered_negative_hours"] == 300.0  # m5, published 300 h before now
    b = per["b"].to_dict(NOW)
    assert b["mentions"] == 1 and b["median_answer_hours"] == 40.0 and b["unanswered_negatives"] == 0
    c = per["c"].to_dict(NOW)
    assert c["mentions"] == 0 and c["answered_share"] is None and c["median_answer_hours"] is None
    assert c["oldest_unanswered_negative_hours"] is None
    t = total.to_dict(NOW)
    assert t["mentions"] == 9 and t["answer_timed"] == 5
    assert t["median_answer_hours"] == 6.0  # pooled hours 0 2 6 10 40, not a median of medians
    assert "competitor" not in per
