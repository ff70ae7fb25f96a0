"""The review inbox's API over real HTTP: filters, the status filter, paging and counts;
the writes (assign, status, notes) scoped exactly like the reads, recorded, CSRF-guarded;
and the time-to-answer figures at /api/workflow."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from crawlers.items import Mention
from tests.dashboard_data import NOW, Chain
from tests.inbox_data import BUND, PUDONG, TRIP_SITE, TRIP_SOURCE, call, inbox_mentions, serve_inbox

WINDOW = timedelta(days=90)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """A fresh chain per test: the writes of one test must not leak into another's counts."""
    with serve_inbox(tmp_path) as c:
        yield c


def expected(pred: Any = lambda m: True, locations: tuple[str, ...] = (BUND,), window: timedelta = WINDOW) -> list[Mention]:
    """The mentions the inbox should list, newest first, computed from the test data."""
    ms = [m for m in inbox_mentions() if m.location_id in locations and NOW - window <= m.published_at < NOW and pred(m)]
    return sorted(ms, key=lambda m: (-m.published_at.timestamp(), m.fingerprint))


def fps(data: dict[str, Any]) -> list[str]:
    return [m["fingerprint"] for m in data["mentions"]]


def inbox(chain: Chain, who: str = "location", **params: Any) -> dict[str, Any]:
    status, data = call(chain, "/api/inbox?" + urlencode(params, doseq=True), chain.tokens[who])
    assert status == 200, data
    return data


def work(chain: Chain, fp: str, body: dict[str, Any], who: str = "location") -> tuple[int, Any]:
    return call(chain, f"/api/mentions/{fp}/work", chain.tokens[who], body=body)


# -- reading --------------------------------------------------------------------------------
def test_inbox_lists_the_scope_newest_first_with_work_items_and_replies(chain: Chain) -> None:
    data = inbox(chain, limit=1000)
    want = expected()
    assert data["total"] == len(want) == 100 and fps(data) == [m.fingerprint for m in want]
    assert {m["location_id"] for m in data["mentions"]} == {BUND}
    first = data["mentions"][0]
    assert first["work"] == {"status": "new", "assignee": None, "updated_at": None, "updated_by": None,
                             "answered_at": None, "resolved_at": None}
    replied = next(m for m in data["mentions"] if m["reply_text"])
    assert replied["answered"] == {"on_site": True, "by_status": False} and replied["reply_at"]
    assert data["counts"] == {"new": 100, "assigned": 0, "answered": 0, "resolved": 0}
    assert data["facets"]["site"] == [{"value": "stayadvisor", "mentions": 90}, {"value": TRIP_SITE, "mentions": 10}]
    assert [f["value"] for f in data["facets"]["language"]] == ["en", "zh"]
    # a region sees its three own hotels, never the rival in the same city
    region = inbox(chain, "region", limit=1000)
    assert region["total"] == len(expected(locations=(BUND, PUDONG, "lotus-sh")))
    assert {m["location_id"] for m in region["mentions"]} == {BUND, PUDONG, "lotus-sh"}


@pytest.mark.parametrize(("params", "pred"), [
    ({"source": TRIP_SOURCE}, lambda m: m.source_id == TRIP_SOURCE),
    ({"site": "stayadvisor"}, lambda m: m.site == "stayadvisor"),
    ({"min_rating": "4", "max_rating": "4.5"}, lambda m: m.rating is not None and 4 <= m.rating <= 4.5),
    ({"sentiment": "negative"}, lambda m: m.sentiment_label == "negative"),
    ({"sentiment": "negative,neutral"}, lambda m: m.sentiment_label in ("negative", "neutral")),
    ({"aspect": "breakfast"}, lambda m: any(a["aspect"] == "breakfast" for a in m.aspects)),
    ({"aspect": "breakfast", "aspect_sentiment": "negative"},
     lambda m: any(a["aspect"] == "breakfast" and a["sentiment"] == "negative" for a in m.aspects)),
    ({"language": "zh"}, lambda m: m.language == "zh"),
    ({"replied": "yes"}, lambda m: bool(m.reply_text)),
    ({"replied": "no"}, lambda m: not m.reply_text),
    ({"language": "zh", "sentiment": "negative", "replied": "no"},
     lambda m: m.language == "zh" and m.sentiment_label == "negative" and not m.reply_text),
])
def test_each_filter_lists_exactly_the_matching_mentions(chain: Chain, params: dict[str, str], pred: Any) -> None:
    data = inbox(chain, limit=1000, **params)
    want = expected(pred)
    assert 0 < len(want) < 100, "a filter that keeps all or nothing proves nothing"
    assert data["total"] == len(want) and fps(data) == [m.fingerprint for m in want]


def test_window_and_location_filters(chain: Chain) -> None:
    data = inbox(chain, "region", limit=1000, window="30d", location="lotus-sh")
    want = expected(locations=("lotus-sh",), window=timedelta(days=30))
    assert data["total"] == len(want) == 30 and fps(data) == [m.fingerprint for m in want]
    assert inbox(chain, window="all")["total"] == 130  # 120 days of stayadvisor + 10 trip reviews
    assert call(chain, "/api/inbox?location=lotus-sh", chain.tokens["location"])[0] == 403
    assert call(chain, "/api/inbox?location=rival-sh", chain.tokens["admin"])[0] == 403  # a competitor: no inbox
    assert call(chain, "/api/inbox?location=nowhere", chain.tokens["admin"])[0] == 404
    for bad in ("limit=0", "limit=%C2%B2", "offset=-1", "min_rating=6", "status=open", "sentiment=angry", "replied=maybe",
                "window=forever", "unassigned=maybe"):
        assert call(chain, "/api/inbox?" + bad, chain.tokens["location"])[0] == 400, bad


def test_paging_covers_the_total_without_overlap(chain: Chain) -> None:
    seen: list[str] = []
    for offset in range(0, 100, 30):
        page = inbox(chain, limit=30, offset=offset)
        assert page["total"] == 100 and page["offset"] == offset and page["limit"] == 30
        seen += fps(page)
    assert seen == [m.fingerprint for m in expected()]
    assert inbox(chain, limit=30, offset=120)["mentions"] == []


def test_status_and_assignee_filters_combine_with_the_query(chain: Chain) -> None:
    negatives = [m.fingerprint for m in expected(lambda m: m.sentiment_label == "negative")]
    a, b, c, d = negatives[:4]
    assert work(chain, a, {"assignee": "Front desk"})[0] == 200  # new -> assigned
    assert work(chain, b, {"assignee": "Housekeeping", "status": "answered"})[0] == 200
    assert work(chain, c, {"status": "resolved"})[0] == 200  # resolved by nobody in particular
    assert work(chain, d, {"assignee": "Front desk"})[0] == 200
    assert work(chain, d, {"unassign": True})[0] == 200  # still assigned, now to nobody

    data = inbox(chain, sentiment="negative", limit=1000)
    assert data["counts"] == {"new": len(negatives) - 4, "assigned": 2, "answered": 1, "resolved": 1}
    assert set(fps(inbox(chain, sentiment="negative", status="assigned"))) == {a, d}
    assert fps(inbox(chain, status="answered,resolved")) == [m for m in negatives[:4] if m in (b, c)]
    new = fps(inbox(chain, sentiment="negative", status="new", limit=1000))
    assert len(new) == len(negatives) - 4 and not {a, b, c, d} & set(new)
    assert inbox(chain, status="new")["total"] == 96
    assert fps(inbox(chain, assignee="Front  desk ")) == [a]  # spaces as apply_change keeps them
    unassigned = fps(inbox(chain, unassigned="yes", limit=1000))
    assert len(unassigned) == 98 and a not in unassigned and b not in unassigned and d in unassigned
    assert fps(inbox(chain, status="new,assigned", assignee="Front desk")) == [a]
    assert inbox(chain, status="resolved", replied="yes", sentiment="positive")["total"] == 0
    assert data["assignees"] == ["Front desk", "Housekeeping"]
    # the export reads the same query as the page
    from monitor.dashboard.api.inbox import inbox_query
    from monitor.dashboard.routes import Request

    req = Request(chain.dashboard, chain.dashboard.tokens.find(chain.tokens["location"]), "GET", "/api/export/mentions",
                  query={"status": ["assigned"], "sentiment": ["negative"]})
    q = inbox_query(req, limit=1000)
    assert {m.fingerprint for m in chain.dashboard.store.query_mentions(q)} == {a, d}
    # a filtered row carries its work item
    row = next(m for m in data["mentions"] if m["fingerprint"] == b)
    assert row["work"]["status"] == "answered" and row["work"]["assignee"] == "Housekeeping"
    assert row["answered"]["by_status"] is True
    # another location's assignees are not offered to this one
    work(chain, expected(locations=(PUDONG,))[0].fingerprint, {"assignee": "Pudong concierge"}, "pudong")
    assert inbox(chain)["assignees"] == ["Front desk", "Housekeeping"]
    assert "Pudong concierge" in inbox(chain, "region")["assignees"]


# -- one mention, its log, the writes ---------------------------------------------------------
def test_assign_status_and_notes_are_recorded_with_who_and_when(chain: Chain) -> None:
    fp = expected()[0].fingerprint
    status, data = work(chain, fp, {"assignee": "  Front   desk "})
    assert status == 200 and data["work"]["status"] == "assigned" and data["work"]["assignee"] == "Front desk"
    actor = data["work"]["updated_by"]
    assert actor.startswith("token:") and actor.endswith("test location") and data["work"]["updated_at"] == "2026-03-31T12:00:00Z"
    status, data = work(chain, fp, {"status": "answered"})
    assert data["work"]["answered_at"] == "2026-03-31T12:00:00Z" and data["answered"] == {"on_site": True, "by_status": True}
    chain.dashboard.clock = lambda: NOW + timedelta(hours=5)
    work(chain, fp, {"status": "resolved"})
    status, data = work(chain, fp, {"status": "assigned"})  # re-opened: the first answer and resolution stay
    assert data["work"]["status"] == "assigned" and data["work"]["answered_at"] == "2026-03-31T12:00:00Z"
    assert data["work"]["resolved_at"] == "2026-03-31T17:00:00Z"
    status, data = call(chain, f"/api/mentions/{fp}/notes", chain.tokens["location"], body={"text": " called the guest "})
    assert status == 200
    assert work(chain, fp, {"status": "assigned"})[1]["events"] == data["events"]  # no change, no event

    status, one = call(chain, f"/api/mentions/{fp}", chain.tokens["location"])
    assert status == 200 and one["fingerprint"] == fp and one["text"] == expected()[0].text
    log = [(e["action"], e["detail"], e["at"], e["actor"]) for e in one["events"]]
    t0, t5 = "2026-03-31T12:00:00Z", "2026-03-31T17:00:00Z"
    assert log == [
        ("note", {"text": "called the guest"}, t5, actor),
        ("status", {"from": "resolved", "to": "assigned"}, t5, actor),
        ("status", {"from": "answered", "to": "resolved"}, t5, actor),
        ("status", {"from": "assigned", "to": "answered"}, t0, actor),
        ("status", {"from": "new", "to": "assigned"}, t0, actor),
        ("assign", {"from": None, "assignee": "Front desk"}, t0, actor),
    ]


@pytest.mark.parametrize("body", [
    {}, {"status": "done"}, {"status": 3}, {"assignee": 7}, {"assignee": "   "}, {"assignee": "x" * 121},
    {"unassign": "yes"}, {"unassign": True, "assignee": "Front desk"}, {"colour": "red"},
])
def test_bad_work_bodies_are_400_and_record_nothing(chain: Chain, body: dict[str, Any]) -> None:
    fp = expected()[0].fingerprint
    assert work(chain, fp, body)[0] == 400
    assert chain.dashboard.store.workflow.events(item_id=fp) == []


def test_bad_notes_are_400(chain: Chain) -> None:
    fp = expected()[0].fingerprint
    for body in ({}, {"text": ""}, {"text": "  "}, {"text": 5}, {"text": "x" * 2001}):
        assert call(chain, f"/api/mentions/{fp}/notes", chain.tokens["location"], body=body)[0] == 400, body
    assert chain.dashboard.store.workflow.events(item_id=fp) == []


def test_writes_are_scoped_like_reads_and_refusals_record_nothing(chain: Chain) -> None:
    bund = expected()[0].fingerprint
    rival = next(m.fingerprint for m in inbox_mentions() if m.location_id == "rival-sh")
    wf = chain.dashboard.store.workflow
    # a store manager of Pudong: cannot read, assign, set the status of, or note the Bund's review
    for path, body in ((f"/api/mentions/{bund}", None), (f"/api/mentions/{bund}/work", {"assignee": "me"}),
                       (f"/api/mentions/{bund}/work", {"status": "resolved"}),
                       (f"/api/mentions/{bund}/notes", {"text": "sneaky"})):
        status, data = call(chain, path, chain.tokens["pudong"], body=body)
        assert status == 403 and "outside" in data["error"], path
        assert "text" not in data
    # nobody works a competitor's review, not even an administrator
    for who in ("location", "region", "admin"):
        assert call(chain, f"/api/mentions/{rival}", chain.tokens[who])[0] == 403
        assert work(chain, rival, {"status": "resolved"}, who)[0] == 403
    assert wf.get("mention", bund) is None and wf.get("mention", rival) is None
    assert wf.events() == []
    # unknown fingerprints are 404 for every verb
    for path, body in (("/api/mentions/nope", None), ("/api/mentions/nope/work", {"status": "resolved"}),
                       ("/api/mentions/nope/notes", {"text": "x"})):
        assert call(chain, path, chain.tokens["admin"], body=body)[0] == 404
    # the region and the brand that hold the Bund may
    assert work(chain, bund, {"status": "answered"}, "region")[0] == 200
    assert work(chain, bund, {"status": "resolved"}, "brand")[0] == 200
    actors = [e.actor for e in wf.events(item_id=bund)]
    assert len(actors) == 2 and actors[0].endswith("test brand") and actors[1].endswith("test region")


def _login(chain: Chain, token: str) -> str:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    data = f"token={token}".encode()
    req = urllib.request.Request(chain.base_url + "/login", data=data, method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": chain.base_url})
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=10)
    except urllib.error.HTTPError as e:
        return e.headers["Set-Cookie"].split(";")[0]
    raise AssertionError("login did not redirect")


def test_a_session_write_without_the_csrf_token_is_refused_and_not_recorded(chain: Chain) -> None:
    fp = expected()[0].fingerprint
    cookie = _login(chain, chain.tokens["location"])
    status, _ = call(chain, f"/api/mentions/{fp}/work", body={"status": "resolved"}, headers={"Cookie": cookie})
    assert status == 403
    status, _ = call(chain, f"/api/mentions/{fp}/notes", body={"text": "x"}, headers={"Cookie": cookie})
    assert status == 403
    assert chain.dashboard.store.workflow.events(item_id=fp) == []
    status, me = call(chain, "/api/me", headers={"Cookie": cookie})
    status, data = call(chain, f"/api/mentions/{fp}/work", body={"status": "resolved"},
                        headers={"Cookie": cookie, "X-CSRF-Token": me["csrf"]})
    assert status == 200 and data["work"]["status"] == "resolved"


# -- time to answer ----------------------------------------------------------------------------
def test_workflow_endpoint_gives_the_locations_figures(chain: Chain) -> None:
    status, data = call(chain, "/api/workflow?window=90d", chain.tokens["region"])
    assert status == 200 and [r["location_id"] for r in data["locations"]] == [BUND, PUDONG, "lotus-sh"]
    bund = data["locations"][0]
    want = expected()
    replied = [m for m in want if m.reply_text]
    assert bund["mentions"] == 100 and bund["answered"] == len(replied) == bund["answered_on_site"]
    assert bund["answered_share"] == round(len(replied) / 100, 4) and bund["answer_timed"] == len(replied)
    # Pudong's replies carry no date: answered, but not in the times
    pudong = data["locations"][1]
    assert pudong["answered"] == 30 and pudong["answer_timed"] == 0 and pudong["median_answer_hours"] is None
    assert data["total"]["mentions"] == 100 + 90 + 90
    # a status change moves the figures: the newest negative answered 2 h after it was published
    neg = next(m for m in want if m.sentiment_label == "negative" and not m.reply_text)
    chain.dashboard.clock = lambda: neg.published_at + timedelta(hours=2)
    work(chain, neg.fingerprint, {"status": "answered"})
    chain.dashboard.clock = lambda: NOW
    status, after = call(chain, f"/api/workflow?location={BUND}", chain.tokens["location"])
    row = after["locations"][0]
    assert row["answered"] == bund["answered"] + 1 and row["answered_by_status"] == 1
    assert row["unanswered_negatives"] == bund["unanswered_negatives"] - 1
    status, everything = call(chain, "/api/workflow?window=all", chain.tokens["location"])
    assert everything["since"] is None and everything["total"]["mentions"] == 130
    assert call(chain, "/api/workflow?location=harbor-sh-pudong", chain.tokens["location"])[0] == 403
    assert call(chain, "/api/workflow?window=soon", chain.tokens["location"])[0] == 400


# -- the same handlers on every store backend (in process, no HTTP) ---------------------------
def test_inbox_handlers_on_every_backend(any_store: Any, tmp_path: Path) -> None:
    import textwrap

    from config import load_config
    from monitor.dashboard.auth import Scope, TokenFile
    from monitor.dashboard.routes import HTTPError, Request
    from monitor.dashboard.server import Dashboard
    from tests.dashboard_data import CONFIG

    cfg = tmp_path / "vocwatch.toml"
    cfg.write_text(textwrap.dedent(CONFIG).replace("STORE", str(tmp_path / "unused.db")), encoding="utf-8")
    tokens = TokenFile(tmp_path / "tokens.json")
    record = tokens.find(tokens.create(Scope.parse("location:harbor-sh-bund"), "bund")[0])
    any_store.upsert_mentions(inbox_mentions())
    dash = Dashboard(load_config(cfg), any_store, tokens, clock=lambda: NOW)

    def call_(method: str, path: str, query: dict[str, list[str]] | None = None, body: Any = None) -> Any:
        return dash.call(Request(dash, record, method, path, query=query or {}, body=body or {}))  # type: ignore[arg-type]

    negatives = [m.fingerprint for m in expected(lambda m: m.sentiment_label == "negative")]
    call_("POST", f"/api/mentions/{negatives[0]}/work", body={"assignee": "Front desk"})
    call_("POST", f"/api/mentions/{negatives[1]}/work", body={"status": "resolved"})
    call_("POST", f"/api/mentions/{negatives[1]}/notes", body={"text": "done"})
    data = call_("GET", "/api/inbox", {"sentiment": ["negative"], "limit": ["1000"]})
    assert data["total"] == len(negatives)
    assert data["counts"] == {"new": len(negatives) - 2, "assigned": 1, "answered": 0, "resolved": 1}
    assert fps(call_("GET", "/api/inbox", {"status": ["assigned,resolved"]})) == negatives[:2]
    new = call_("GET", "/api/inbox", {"status": ["new"], "limit": ["1000"]})
    assert new["total"] == 98 and not set(negatives[:2]) & set(fps(new))
    one = call_("GET", f"/api/mentions/{negatives[1]}")
    assert [e["action"] for e in one["events"]] == ["note", "status"] and one["work"]["resolved_at"] == "2026-03-31T12:00:00Z"
    w = call_("GET", "/api/workflow", {"window": ["90d"]})
    assert w["total"]["resolved"] == 1 and w["total"]["mentions"] == 100
    rival = next(m.fingerprint for m in inbox_mentions() if m.location_id == "rival-sh")
    with pytest.raises(HTTPError) as refused:
        call_("POST", f"/api/mentions/{rival}/work", body={"status": "resolved"})
    assert refused.value.status == 403 and any_store.workflow.get("mention", rival) is None
