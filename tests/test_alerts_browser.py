"""The alerts view in real headless Chromium (Debian's /usr/bin/chromium via Playwright): the
list in scope with its filters in the hash, an incident page, and the closed loop from the
page (acknowledge, assign, note with hostile text, resolve), plus the scope probes of the
writes from a page of another location. ``VOCWATCH_SCREENSHOTS=<folder>`` saves incident.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor import incidents
from tests import browser as shared_browser
from tests.alerts_data import HOSTILE_NOTE, HOSTILE_QUOTE, HOSTILE_TITLE, serve_alerts
from tests.dashboard_data import PUDONG_SECRET, XSS_SCRIPT, Chain

browser, page = shared_browser.browser, shared_browser.page  # the fixtures: Chromium, a checked page


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_alerts(tmp_path_factory.mktemp("alerts")) as c:
        yield c


def login(page: Any, chain: Chain, who: str, hash_: str) -> None:
    page.goto(chain.base_url + "/")
    page.fill("#token", chain.tokens[who])
    page.click("#login button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")
    # a fresh load of the hash: the default view loading meanwhile cannot overwrite our status line
    page.evaluate(f"location.hash = {hash_!r}")
    page.reload()


def row_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("#alert-table tr.alert-row", "rs => rs.map(r => r.dataset.id)")


def test_list_incident_and_the_closed_loop(page: Any, chain: Chain) -> None:
    login(page, chain, "location", "#/alerts")
    page.wait_for_selector("#alerts-list:not([hidden]) tr.alert-row")
    assert row_ids(page) == ["bund-spike", "bund-health"]
    assert page.text_content("#alert-table a.alert-link") == HOSTILE_TITLE  # markup shown as text
    assert "Waiting for acknowledgement" in page.text_content("#alert-times")
    # a filter goes into the hash, so the link and a reload keep it
    page.select_option("#alert-kind", "crawl_health")
    page.wait_for_function("() => location.hash === '#/alerts?kind=crawl_health'")
    page.wait_for_function("() => document.querySelectorAll('#alert-table tr.alert-row').length === 1")
    assert row_ids(page) == ["bund-health"]
    page.reload()
    page.wait_for_selector("#alerts-list:not([hidden]) tr.alert-row")
    assert row_ids(page) == ["bund-health"] and page.input_value("#alert-kind") == "crawl_health"
    page.select_option("#alert-kind", "")
    page.wait_for_function("() => document.querySelectorAll('#alert-table tr.alert-row').length === 2")

    # the incident page
    page.click("#alert-table tr[data-id=bund-spike] a.alert-link")
    page.wait_for_selector("#alert-incident:not([hidden])")
    assert page.evaluate("location.hash") == "#/alerts/bund-spike"
    assert page.text_content("#incident-title") == HOSTILE_TITLE
    texts = page.eval_on_selector_all("#incident-mentions .text", "ns => ns.map(n => n.textContent)")
    assert texts == [HOSTILE_QUOTE, f"Awful {XSS_SCRIPT}"]
    links = page.eval_on_selector_all("#incident-mentions a", "as => as.map(a => a.href)")
    assert links == ["https://reviews.example/harbor-sh-bund/0"]  # the javascript: one is not a link
    assert page.is_visible("#incident-ack") and page.is_visible("#incident-resolve")
    assert page.text_content("#incident-state") == "notified"

    page.click("#incident-ack")
    page.wait_for_selector("#incident-state:has-text('acknowledged')")
    assert not page.is_visible("#incident-ack") and page.is_visible("#incident-resolve")
    page.fill("#incident-assignee", "Front office")
    page.click("#incident-assign button[type=submit]")
    page.wait_for_selector("#incident-unassign:not([hidden])")
    assert "Front office" in page.text_content("#incident-times")
    page.fill("#incident-note-text", HOSTILE_NOTE)
    page.click("#incident-note button[type=submit]")
    page.wait_for_selector("#incident-history .note-text")
    assert page.text_content("#incident-history .note-text") == HOSTILE_NOTE
    assert page.input_value("#incident-note-text") == ""
    whats = page.eval_on_selector_all("#incident-history .what", "ns => ns.map(n => n.textContent)")
    assert whats == ["acknowledged (was notified)", "assigned to Front office", "note"]
    assert "test location" in page.text_content("#incident-history .actor")
    assert page.get_attribute("#incident-links a", "href") == "#/location/harbor-sh-bund"
    assert "top terms" in page.text_content("#incident-details") and "noisy (5), <script> (2)" in page.text_content("#incident-details")
    # nothing scraped or typed became markup
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('#view-alerts img, #view-alerts b, #view-alerts script').length") == 0
    if os.environ.get("VOCWATCH_SCREENSHOTS"):
        folder = Path(os.environ["VOCWATCH_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "incident.png"), full_page=True)

    page.click("#incident-resolve")
    page.wait_for_selector("#incident-state:has-text('resolved')")
    assert not page.is_visible("#incident-ack") and not page.is_visible("#incident-resolve")
    page.reload()  # the hash is the page: a reload shows the same incident, as stored
    page.wait_for_selector("#alert-incident:not([hidden])")
    assert page.text_content("#incident-state") == "resolved"
    store = chain.dashboard.store
    assert [e.action for e in incidents.history(store, "bund-spike")] == ["acknowledge", "assign", "note", "resolve"]
    assert store.alerts.get("bund-spike").state == "resolved"
    page.click("#incident-back")
    page.wait_for_selector("#alerts-list:not([hidden]) tr.alert-row")
    assert page.text_content("#alert-table tr[data-id=bund-spike] .assignee") == "Front office"


def test_another_locations_alert_is_neither_shown_nor_writable(page: Any, chain: Chain) -> None:
    login(page, chain, "location", "#/alerts/pudong-share")
    page.wait_for_selector("#status:has-text('You do not have access to that alert.')")
    assert not page.is_visible("#alert-incident") and PUDONG_SECRET not in page.content()
    statuses = page.evaluate("""async () => Promise.all(
        ['acknowledge', 'resolve', 'assign', 'notes'].map(a => fetch('/api/alerts/pudong-share/' + a, {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': VW.me.csrf},
            body: JSON.stringify({assignee: 'me', text: 'mine now'})}).then(r => r.status)))""")
    assert statuses == [403, 403, 403, 403]
    store = chain.dashboard.store
    assert store.alerts.get("pudong-share").state == "new" and incidents.history(store, "pudong-share") == []
    assert store.workflow.get("alert", "pudong-share") is None
