"""Alerts in the dashboard over real HTTP on 127.0.0.1: who sees which incident (the one
scope rule, ``monitor.incidents.visible``), the incident page, the writes with their scope
probes and state conflicts, and the command line and the quiet auto-resolve recording into
the same history. The browser side is in test_alerts_browser.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from config import load_config
from crawlers.store.sqlite import SQLiteStore
from monitor import incidents
from monitor.alerting import run_detectors
from monitor.dashboard.auth import Scope
from tests.alerts_data import (
    HOSTILE_NOTE,
    HOSTILE_QUOTE,
    HOSTILE_TITLE,
    VISIBLE,
    add_alerts,
    alerts,
    serve_alerts,
)
from tests.dashboard_data import NOW, PUDONG_SECRET, SCOPES, Chain, write_chain
from tests.test_dashboard import request
from vocwatch.cli import main


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    """For reads only: the writes' tests each get a fresh chain (``fresh``)."""
    with serve_alerts(tmp_path_factory.mktemp("alerts")) as c:
        yield c


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Chain]:
    with serve_alerts(tmp_path) as c:
        yield c


def get(chain: Chain, path: str, who: str) -> tuple[int, Any]:
    status, _, body = request(chain, path, chain.tokens[who])
    return status, json.loads(body)


def post(chain: Chain, path: str, who: str, body: Any = None) -> tuple[int, Any]:
    status, _, data = request(chain, path, chain.tokens[who], method="POST",
                              data=json.dumps(body or {}).encode(), headers={"Content-Type": "application/json"})
    return status, json.loads(data)


def history(chain: Chain, alert_id: str) -> list[tuple[str, str]]:
    return [(e.action, e.actor) for e in incidents.history(chain.dashboard.store, alert_id)]


def actor(chain: Chain, who: str) -> str:
    [record] = [r for r in chain.dashboard.tokens.records() if r.label == f"test {who}"]
    return f"token:{record.id} test {who}"


# -- who sees what ------------------------------------------------------------------------
@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_the_scope_rule_decides_every_alert(chain: Chain, who: str) -> None:
    config, scope = chain.dashboard.config, Scope.parse(SCOPES[who])
    seen = {a.id for a in alerts() if incidents.visible(a, scope, config)}
    assert seen - {"bund-old"} == VISIBLE[who]
    status, data = get(chain, "/api/alerts", who)
    assert status == 200 and {a["id"] for a in data["alerts"]} == VISIBLE[who]
    for a in alerts():
        status, page = get(chain, f"/api/alerts/{a.id}", who)
        assert status == (200 if a.id in seen else 403), a.id
        if status == 403:
            assert set(page) == {"error", "status"}  # nothing of the alert leaks
    if who == "location":
        assert PUDONG_SECRET not in json.dumps(data)


def test_scope_rule_cases() -> None:
    """The rule on its own: a location's alert, a crawl-health alert by its source's
    location, brand- and region-level alerts by the own locations they cover."""
    from tests.dashboard_data import CONFIG

    config = load_config_text(CONFIG)
    bund, region, brand, admin = (Scope.parse(s) for s in ("location:harbor-sh-bund", "region:shanghai",
                                                           "brand:harbor", "all"))
    [spike] = [a for a in alerts() if a.id == "bund-spike"]
    health = replace(spike, kind="crawl_health", location_id=None,
                     details={"source_id": "harbor-sh-bund/hotel_reviews"})
    assert incidents.alert_locations(health, config) == {"harbor-sh-bund"}
    assert incidents.visible(health, bund, config) and incidents.visible(health, admin, config)
    gone = replace(health, details={"source_id": "removed/source"})
    assert incidents.alert_locations(gone, config) == set() and not incidents.visible(gone, brand, config)
    assert incidents.visible(gone, admin, config)
    lotus_brand = replace(spike, location_id=None, brand="lotus", region=None)  # a brand that is one location
    assert incidents.visible(lotus_brand, Scope.parse("location:lotus-sh"), config)
    assert incidents.visible(lotus_brand, region, config) and not incidents.visible(lotus_brand, brand, config)
    rival = replace(spike, location_id="rival-sh", brand="rival")
    assert [incidents.visible(rival, s, config) for s in (bund, region, brand, admin)] == [False, False, False, True]
    nowhere = replace(spike, location_id=None, brand=None, region=None)
    assert not incidents.visible(nowhere, brand, config) and not incidents.visible(spike, None, config)


def load_config_text(text: str) -> Any:
    import tempfile
    import textwrap

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "vocwatch.toml"
        p.write_text(textwrap.dedent(text).replace("STORE", str(Path(d) / "x.db")), encoding="utf-8")
        return load_config(p)


def test_list_filters_order_assignee_and_times(chain: Chain) -> None:
    status, data = get(chain, "/api/alerts", "admin")
    last = [a["last_seen"] for a in data["alerts"]]
    assert last == sorted(last, reverse=True)  # newest activity first
    assert data["total"] == 8 and data["window"] == "90d"
    ids = lambda q: [a["id"] for a in get(chain, "/api/alerts?" + q, "admin")[1]["alerts"]]  # noqa: E731
    assert ids("state=acknowledged") == ["bj-rating"]
    assert set(ids("state=open")) == VISIBLE["admin"] - {"lotus-breakfast"}
    assert ids("kind=crawl_health") == ["rival-health", "bund-health"]
    assert ids("severity=critical") == ["rival-health", "pudong-share"]
    assert ids("location=harbor-sh-bund") == ["bund-spike", "bund-health"]
    assert ids("window=all&location=harbor-sh-bund") == ["bund-spike", "bund-health", "bund-old"]
    assert ids("window=7d") == [i for i in ids("") if i != "bund-old"]
    assert ids("limit=2") == ids("")[:2]
    row = next(a for a in data["alerts"] if a["id"] == "bund-spike")
    assert row["title"] == HOSTILE_TITLE and row["location_name"] == "Harbor Bund" and row["assignee"] is None
    times = data["times"]["scope"]
    # bj-rating acknowledged after 2 h, lotus-breakfast after 1 h and resolved after 10 h
    assert (times["alerts"], times["acknowledged"], times["resolved"]) == (8, 2, 1)
    assert (times["median_tta_hours"], times["median_ttr_hours"]) == (1.5, 10.0)
    assert times["unacknowledged"] == 6 and times["oldest_unacknowledged_hours"] == 20.0
    per = {t["location_id"]: t for t in data["times"]["locations"]}
    assert per["lotus-sh"]["median_ttr_hours"] == 10.0 and per["harbor-bj"]["median_tta_hours"] == 2.0
    status, old = get(chain, "/api/alerts?window=all&location=harbor-sh-bund", "location")
    assert status == 200 and old["times"]["scope"]["auto_resolved"] == 1  # the old one, resolved by the system


@pytest.mark.parametrize(("query", "status"), [
    ("state=snoozed", 400), ("kind=spam", 400), ("severity=huge", 400), ("window=5x", 400), ("limit=%C2%B2", 400),
    ("limit=0", 400), ("location=harbor-sh-pudong", 403), ("location=nowhere", 404), ("location=rival-sh", 403)])
def test_list_refuses_bad_filters(chain: Chain, query: str, status: int) -> None:
    code, data = get(chain, "/api/alerts?" + query, "location")
    assert code == status and data["error"]


def test_incident_page_has_the_alert_its_quotes_and_history(chain: Chain) -> None:
    status, page = get(chain, "/api/alerts/bund-spike", "location")
    assert status == 200
    assert page["title"] == HOSTILE_TITLE and HOSTILE_QUOTE in page["summary"]
    assert page["mentions"][0]["text"] == HOSTILE_QUOTE
    assert [m["url"] for m in page["mentions"]] == ["https://reviews.example/harbor-sh-bund/0", None]  # no javascript:
    assert page["moves"] == {"acknowledge": True, "resolve": True} and page["state"] == "notified"
    assert page["details"]["top_terms"] == [["noisy", 5], ["<script>", 2]]
    status, page = get(chain, "/api/alerts/lotus-breakfast", "admin")
    assert [h["action"] for h in page["history"]] == ["acknowledge", "resolve"]
    assert page["history"][0]["actor"] == "token:abc Lotus GM" and page["history"][0]["at"] == "2026-03-28T13:00:00Z"
    assert page["moves"] == {"acknowledge": False, "resolve": False}
    assert page["times"] == {"tta_hours": 1.0, "ttr_hours": 10.0, "auto_resolved": False}
    status, page = get(chain, "/api/alerts/nope", "admin")
    assert status == 404


# -- writes -------------------------------------------------------------------------------
WRITES = [("acknowledge", {}), ("resolve", {}), ("assign", {"assignee": "Front office"}),
          ("assign", {"unassign": True}), ("notes", {"text": "not mine"})]


@pytest.mark.parametrize(("who", "alert_id"), [("location", "pudong-share"), ("location", "harbor-brand"),
                                               ("pudong", "bund-spike"), ("region", "bj-rating"),
                                               ("brand", "lotus-breakfast"), ("brand", "rival-health")])
def test_writes_outside_the_scope_are_403_and_change_nothing(fresh: Chain, who: str, alert_id: str) -> None:
    store = fresh.dashboard.store
    before = (store.alerts.get(alert_id), incidents.history(store, alert_id), store.workflow.get("alert", alert_id))
    for action, body in WRITES:
        status, data = post(fresh, f"/api/alerts/{alert_id}/{action}", who, body)
        assert status == 403, (action, data)
        assert alert_id in data["error"] and set(data) == {"error", "status"}
    assert (store.alerts.get(alert_id), incidents.history(store, alert_id),
            store.workflow.get("alert", alert_id)) == before
    status, _ = post(fresh, "/api/alerts/nope/acknowledge", who)
    assert status == 404


def test_acknowledge_assign_note_resolve_are_recorded_and_forward_only(fresh: Chain) -> None:
    me = actor(fresh, "location")
    status, page = post(fresh, "/api/alerts/bund-spike/acknowledge", "location")
    assert status == 200 and page["state"] == "acknowledged"
    assert page["moves"] == {"acknowledge": False, "resolve": True}
    status, page = post(fresh, "/api/alerts/bund-spike/acknowledge", "location")  # again: no change, no record
    assert status == 200 and history(fresh, "bund-spike") == [("acknowledge", me)]
    status, page = post(fresh, "/api/alerts/bund-spike/assign", "location", {"assignee": "  Front   office "})
    assert status == 200 and page["assignee"] == "Front office" and page["work"]["updated_by"] == me
    status, page = post(fresh, "/api/alerts/bund-spike/notes", "location", {"text": HOSTILE_NOTE})
    assert status == 200 and page["history"][-1]["detail"] == {"text": HOSTILE_NOTE}
    status, page = post(fresh, "/api/alerts/bund-spike/assign", "region", {"unassign": True})
    assert status == 200 and page["assignee"] is None
    status, page = post(fresh, "/api/alerts/bund-spike/resolve", "region")
    assert status == 200 and page["state"] == "resolved"
    assert [h["action"] for h in page["history"]] == ["acknowledge", "assign", "note", "assign", "resolve"]
    assert [h["actor"] for h in page["history"]][-2:] == [actor(fresh, "region")] * 2
    assert page["history"][-1]["at"] == "2026-03-31T12:00:00Z" and page["history"][-1]["detail"] == {
        "from": "acknowledged", "to": "resolved"}
    # backwards: 409 with the reason, nothing recorded
    status, data = post(fresh, "/api/alerts/bund-spike/acknowledge", "location")
    assert status == 409 and data["error"] == "alert bund-spike is resolved; it cannot become acknowledged"
    assert len(history(fresh, "bund-spike")) == 5
    _, listed = get(fresh, "/api/alerts?state=resolved", "location")
    assert [a["id"] for a in listed["alerts"]] == ["bund-spike"]
    assert listed["times"]["scope"]["median_ttr_hours"] == 5.0  # first seen 5 h before NOW


def test_resolving_unacknowledged_counts_as_acknowledged(fresh: Chain) -> None:
    status, page = post(fresh, "/api/alerts/pudong-share/resolve", "pudong")
    assert status == 200 and page["times"] == {"tta_hours": 8.0, "ttr_hours": 8.0, "auto_resolved": False}
    assert page["history"][0]["detail"] == {"from": "new", "to": "resolved"}


@pytest.mark.parametrize(("action", "body", "problem"), [
    ("assign", {}, "'assignee' must be text"), ("assign", {"assignee": 5}, "'assignee' must be text"),
    ("assign", {"assignee": "x" * 121}, "'assignee' must be text of 1 to 120"),
    ("assign", {"assignee": "   "}, "'assignee' must be text"),
    ("assign", {"unassign": "yes"}, "'unassign' must be true or false"),
    ("assign", {"unassign": True, "assignee": "Ops"}, "not both"),
    ("notes", {}, "'text' must be text"), ("notes", {"text": "x" * 2001}, "1 to 2000"),
    ("notes", {"text": " \n "}, "'text' must be text")])
def test_bad_write_bodies_are_400_and_record_nothing(fresh: Chain, action: str, body: Any, problem: str) -> None:
    status, data = post(fresh, f"/api/alerts/bund-spike/{action}", "location", body)
    assert status == 400 and problem in data["error"]
    assert history(fresh, "bund-spike") == [] and fresh.dashboard.store.workflow.get("alert", "bund-spike") is None


def test_session_writes_need_the_csrf_token(fresh: Chain) -> None:
    status, headers, _ = request(fresh, "/login", method="POST", data=f"token={fresh.tokens['location']}".encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = headers["Set-Cookie"].split(";")[0]
    js = {"Content-Type": "application/json", "Cookie": cookie}
    status, _, _ = request(fresh, "/api/alerts/bund-spike/acknowledge", method="POST", data=b"{}", headers=js)
    assert status == 403 and fresh.dashboard.store.alerts.get("bund-spike").state == "notified"
    _, _, me = request(fresh, "/api/me", headers={"Cookie": cookie})
    status, _, _ = request(fresh, "/api/alerts/bund-spike/acknowledge", method="POST", data=b"{}",
                           headers={**js, "X-CSRF-Token": json.loads(me)["csrf"]})
    assert status == 200 and fresh.dashboard.store.alerts.get("bund-spike").state == "acknowledged"


# -- the command line and the system record into the same history ---------------------------
def test_cli_acknowledge_and_resolve_record_the_login_name(fresh: Chain, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOGNAME", "alice")
    cfg = str(fresh.config_path)
    assert main(["alerts", "acknowledge", "--config", cfg, "bund-spike", "--now", "2026-03-31T13:00"]) == 0
    assert main(["alerts", "ack", "--config", cfg, "bund-spike"]) == 0  # the old name; already: nothing recorded
    assert "(already)" in capsys.readouterr().err
    assert main(["alerts", "resolve", "--config", cfg, "bund-spike", "--now", "2026-03-31T15:30"]) == 0
    assert history(fresh, "bund-spike") == [("acknowledge", "cli:alice"), ("resolve", "cli:alice")]
    assert main(["alerts", "ack", "--config", cfg, "bund-spike"]) == 2  # backwards: refused, nothing recorded
    assert "cannot become acknowledged" in capsys.readouterr().err
    assert len(history(fresh, "bund-spike")) == 2
    status, page = get(fresh, "/api/alerts/bund-spike", "location")
    assert status == 200 and page["times"] == {"tta_hours": 6.0, "ttr_hours": 8.5, "auto_resolved": False}
    assert page["history"][0]["actor"] == "cli:alice"


def test_quiet_auto_resolve_is_recorded_as_system(tmp_path: Path) -> None:
    cfg, db = write_chain(tmp_path)
    config = load_config(cfg)
    store = SQLiteStore(f"sqlite:///{db}")
    try:
        add_alerts(store)
        later = NOW + timedelta(days=10)  # every incident quiet for longer than the cooldown
        run_detectors(config, store, now=later)
        for a in alerts():
            assert store.alerts.get(a.id).state == "resolved"
        assert [(e.action, e.actor, e.at) for e in incidents.history(store, "bund-spike")] == [
            ("resolve", "system", later)]
        [event] = incidents.history(store, "bund-spike")
        assert event.detail["from"] == "notified" and "cooldown" in event.detail["reason"]
        # already resolved ones are not resolved (nor recorded) again
        assert [e.actor for e in incidents.history(store, "lotus-breakfast")] == ["token:abc Lotus GM"] * 2
        run_detectors(config, store, now=later + timedelta(days=1))
        assert len(incidents.history(store, "bund-spike")) == 1
    finally:
        store.close()


def test_the_recorded_loop_on_every_store_backend(any_store) -> None:  # type: ignore[no-untyped-def]
    """``monitor.incidents`` over SQLite and MongoDB: the same moves, events and refusals."""
    for a in alerts():
        any_store.alerts.save(a)
    spike = any_store.alerts.get("bund-spike")
    alert, moved = incidents.set_state(any_store, "bund-spike", "acknowledged", actor="cli:bob", now=NOW)
    assert (alert.state, moved) == ("acknowledged", True)
    assert incidents.set_state(any_store, "bund-spike", "acknowledged", actor="cli:eve", now=NOW)[1] is False
    item, events = incidents.assign(any_store, spike, actor="cli:bob", now=NOW, assignee="Housekeeping")
    assert item.assignee == "Housekeeping" and item.status == "new" and [e.action for e in events] == ["assign"]
    assert incidents.assign(any_store, spike, actor="cli:bob", now=NOW, assignee="Housekeeping")[1] == []
    incidents.note(any_store, spike, actor="cli:bob", now=NOW, text=HOSTILE_NOTE)
    with pytest.raises(incidents.AlertStoreError, match="set by the system"):
        incidents.set_state(any_store, "bund-spike", "notified", actor="cli:bob", now=NOW)
    later = NOW + timedelta(days=3)
    quiet = incidents.resolve_quiet(any_store, NOW + timedelta(days=2), now=later, cooldown_hours=48)
    assert {a.id for a in quiet} == {a.id for a in alerts()}  # all quiet, none resolved before
    assert [(e.action, e.actor) for e in incidents.history(any_store, "bund-spike")] == [
        ("acknowledge", "cli:bob"), ("assign", "cli:bob"), ("note", "cli:bob"), ("resolve", "system")]
    assert incidents.history(any_store, "bund-spike")[2].detail == {"text": HOSTILE_NOTE}
    ids = {e.item_id for e in incidents.state_events(any_store, ["bund-spike", "pudong-share"])}
    assert ids == {"bund-spike", "pudong-share"}
