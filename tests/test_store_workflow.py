"""One contract on every backend: work items, the audit log, and the mention queries of
the review inbox and mention exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.base import MentionQuery
from crawlers.store.workflow import WorkflowError, WorkItem, apply_change, note_event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def mention(i: int, **kw: Any) -> Mention:
    m = Mention(site=kw.pop("site", "stayadvisor"), kind="review", url=f"https://x.test/r/{i}", text=f"text {i}",
                source_id=kw.pop("source_id", "s1"), location_id=kw.pop("location_id", "a"), external_id=str(i),
                published_at=T0 - timedelta(days=i), **kw)
    m.fingerprint = mention_fingerprint(m)
    m.content_hash = mention_content_hash(m)
    return m


@pytest.fixture
def filled(any_store: Any) -> Any:
    ms = [
        mention(0, rating=5.0, sentiment_label="positive", language="en",
                aspects=[{"aspect": "staff", "sentiment": "positive", "score": 0.8}]),
        mention(1, rating=1.0, sentiment_label="negative", language="zh", reply_text="抱歉",
                aspects=[{"aspect": "breakfast", "sentiment": "negative", "score": -0.7}]),
        mention(2, rating=3.0, sentiment_label="neutral", language="en", location_id="b", source_id="s2", site="yelp"),
        mention(3, sentiment_label=None, language=None),
        mention(4, rating=2.0, sentiment_label="negative", language="en",
                aspects=[{"aspect": "breakfast", "sentiment": "positive", "score": 0.5},
                         {"aspect": "staff", "sentiment": "negative", "score": -0.5}]),
    ]
    any_store.upsert_mentions(ms)
    return any_store


def ids(ms: list[Mention]) -> list[str]:
    return [m.external_id or "" for m in ms]


def test_query_filters_newest_first(filled: Any) -> None:
    q = filled.query_mentions
    assert ids(q(MentionQuery())) == ["0", "1", "2", "3", "4"]
    assert ids(q(MentionQuery(location_ids=("a",)))) == ["0", "1", "3", "4"]
    assert ids(q(MentionQuery(location_ids=()))) == []
    assert ids(q(MentionQuery(sentiments=("negative",)))) == ["1", "4"]
    assert ids(q(MentionQuery(sentiments=("unlabelled", "neutral")))) == ["2", "3"]
    assert ids(q(MentionQuery(languages=("zh",)))) == ["1"]
    assert ids(q(MentionQuery(sites=("yelp",)))) == ["2"]
    assert ids(q(MentionQuery(source_ids=("s2",)))) == ["2"]
    assert ids(q(MentionQuery(min_rating=2.0, max_rating=3.0))) == ["2", "4"]
    assert ids(q(MentionQuery(has_reply=True))) == ["1"]
    assert ids(q(MentionQuery(has_reply=False))) == ["0", "2", "3", "4"]
    assert ids(q(MentionQuery(aspect="breakfast"))) == ["1", "4"]
    assert ids(q(MentionQuery(aspect="staff", aspect_sentiment="negative"))) == ["4"]
    assert ids(q(MentionQuery(since=T0 - timedelta(days=2), until=T0))) == ["1", "2"]
    first = q(MentionQuery(limit=1))[0]
    assert ids(q(MentionQuery(fingerprints=(first.fingerprint,)))) == ["0"]
    assert ids(q(MentionQuery(exclude_fingerprints=(first.fingerprint,)))) == ["1", "2", "3", "4"]
    assert ids(q(MentionQuery(limit=2, offset=2))) == ["2", "3"]
    assert filled.count_matching(MentionQuery(location_ids=("a",), limit=1)) == 4
    assert filled.get_mention(first.fingerprint).external_id == "0"
    assert filled.get_mention("nope") is None


def test_query_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        MentionQuery(limit=10_000)
    with pytest.raises(ValueError):
        MentionQuery(offset=-1)


def test_work_items_and_audit_log(any_store: Any) -> None:
    wf = any_store.workflow
    assert wf.get("mention", "fp1") is None
    item = WorkItem("mention", "fp1", "a")
    item, events = apply_change(item, now=T0, actor="token:1 Ann", assignee="  Front   desk ")
    assert item.status == "assigned" and item.assignee == "Front desk"
    assert [e.action for e in events] == ["assign", "status"]
    wf.save(item, events)
    item, events = apply_change(item, now=T0 + timedelta(hours=2), actor="token:1 Ann", status="answered")
    wf.save(item, events)
    item, events = apply_change(item, now=T0 + timedelta(hours=5), actor="token:2 Bob", status="resolved")
    wf.save(item, events)
    item, events = apply_change(item, now=T0 + timedelta(hours=6), actor="token:2 Bob", status="assigned")
    wf.save(item, events)  # re-opened: the first answer and resolution times stay
    wf.record(note_event(item, now=T0 + timedelta(hours=7), actor="token:2 Bob", text="<b>called</b> the guest"))
    got = wf.get("mention", "fp1")
    assert got.status == "assigned" and got.updated_by == "token:2 Bob"
    assert got.answered_at == T0 + timedelta(hours=2) and got.resolved_at == T0 + timedelta(hours=5)
    log = wf.events(kind="mention", item_id="fp1")
    assert [e.action for e in log] == ["note", "status", "status", "status", "status", "assign"]
    assert log[0].detail == {"text": "<b>called</b> the guest"} and log[0].actor == "token:2 Bob"
    assert log[1].detail == {"from": "resolved", "to": "assigned"}
    assert log[0].id > log[1].id
    assert wf.events(location_ids=["b"]) == []
    assert [i.item_id for i in wf.list("mention", location_ids=["a"], statuses=["assigned"])] == ["fp1"]
    assert wf.list("mention", statuses=["resolved"]) == []
    assert set(wf.get_many("mention", ["fp1", "fp2"])) == {"fp1"}
    assert wf.list("alert") == []


def test_no_change_records_nothing_and_bad_input_is_refused(any_store: Any) -> None:
    item = WorkItem("mention", "fp", "a", status="answered", assignee="Ann")
    same, events = apply_change(item, now=T0, actor="x", status="answered", assignee="Ann")
    assert events == [] and same == item
    with pytest.raises(WorkflowError):
        apply_change(item, now=T0, actor="x", status="done")
    with pytest.raises(WorkflowError):
        apply_change(item, now=T0, actor="x", assignee=" ")
    with pytest.raises(WorkflowError):
        note_event(item, now=T0, actor="x", text="x" * 5000)
    with pytest.raises(WorkflowError):
        any_store.workflow.get("review", "fp")


def test_long_fingerprint_lists_are_not_limited_by_bound_parameters(filled: Any) -> None:
    """An inbox status filter of a large scope sends tens of thousands of fingerprints
    (SQLite binds at most 32,766 parameters per statement)."""
    first = filled.query_mentions(MentionQuery(limit=1))[0].fingerprint
    many = tuple(f"{i:040x}" for i in range(40_000))
    assert ids(filled.query_mentions(MentionQuery(fingerprints=(*many, first)))) == ["0"]
    assert ids(filled.query_mentions(MentionQuery(exclude_fingerprints=(*many, first)))) == ["1", "2", "3", "4"]
    assert filled.count_matching(MentionQuery(exclude_fingerprints=many, location_ids=("a",))) == 4
