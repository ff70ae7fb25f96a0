"""The review inbox in real headless Chromium (Debian's /usr/bin/chromium via Playwright):
a link from the location page filters it, the filter bar keeps its state in the hash,
assign / status / note are saved, recorded (who, when) and survive a reload, hostile text
stays text, and another location's manager cannot write."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import browser as shared_browser
from tests.dashboard_data import NOW, XSS_IMG, Chain
from tests.inbox_data import BUND, XSS_NOTE, inbox_mentions, serve_inbox

browser, page = shared_browser.browser, shared_browser.page  # the fixtures: Chromium, a checked page


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_inbox(tmp_path_factory.mktemp("inbox")) as c:
        yield c


def login(page: Any, chain: Chain, token: str) -> None:
    page.goto(chain.base_url + "/")
    page.fill("#token", token)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#nav:not([hidden])")


def count_is(page: Any, n: int) -> None:
    page.wait_for_function("n => document.getElementById('inbox-count').textContent.endsWith(' of ' + n)", arg=n)


def bund(pred: Any) -> int:
    return sum(1 for m in inbox_mentions() if m.location_id == BUND and NOW - timedelta(days=90) <= m.published_at
               and pred(m))


def test_filter_assign_status_note_reload_and_history(page: Any, chain: Chain) -> None:
    login(page, chain, chain.tokens["location"])
    # the location page's link: aspect and sentiment in the hash
    page.evaluate("location.hash = '#/inbox?location=harbor-sh-bund&aspect=service&sentiment=negative'")
    neg_service = bund(lambda m: m.sentiment_label == "negative" and any(a["aspect"] == "service" for a in m.aspects))
    count_is(page, neg_service)
    assert page.input_value("#inbox-aspect") == "service" and page.input_value("#inbox-sentiment") == "negative"
    aspect_label = page.eval_on_selector("#inbox-aspect", "s => s.selectedOptions[0].textContent")
    assert aspect_label == "Service and staff"  # the taxonomy's name, never the raw id
    tags = page.eval_on_selector_all("#inbox-list .inbox-aspect", "ts => ts.map(t => t.textContent)")
    assert "Service and staff" in tags and "service" not in tags
    assert page.locator("#inbox-list .inbox-row").count() == min(25, neg_service)

    # the filter bar writes the hash: language zh on top
    page.select_option("#inbox-language", "zh")
    zh = bund(lambda m: m.sentiment_label == "negative" and m.language == "zh"
              and any(a["aspect"] == "service" for a in m.aspects))
    assert 0 < zh < neg_service
    count_is(page, zh)
    assert "language=zh" in page.evaluate("location.hash") and "aspect=service" in page.evaluate("location.hash")
    assert set(page.eval_on_selector_all("#inbox-list .inbox-row .head", "hs => hs.map(h => h.textContent.trim().slice(-2))")) == {"zh"}
    links = page.eval_on_selector_all("#inbox-list .inbox-link", "as => as.map(a => [a.textContent, a.href])")
    assert links and all(t == "page it was read from (trip.example)" and h.startswith("https://trip.example/") for t, h in links)
    export = page.get_attribute("#inbox-export-csv", "href")
    assert export.startswith("/api/export/mentions?") and "format=csv" in export and "language=zh" in export
    assert "aspect=service" in export and "sentiment=negative" in export and "location=harbor-sh-bund" in export

    # assign the first review, set its status, add a hostile note
    row = page.locator("#inbox-list .inbox-row").first
    fp = row.get_attribute("data-fingerprint")
    row.locator(".inbox-assign-to").fill("Front desk")
    row.locator(".inbox-assign").click()
    row = page.locator(f"#inbox-list .inbox-row[data-fingerprint='{fp}']")
    page.wait_for_selector(f".inbox-row[data-fingerprint='{fp}'][data-status='assigned']")
    page.wait_for_selector("#inbox-counts .inbox-count-assigned:text-is('assigned 1')")
    row.locator(".inbox-set-status").select_option("answered")
    page.wait_for_selector(f".inbox-row[data-fingerprint='{fp}'][data-status='answered']")
    page.wait_for_selector("#inbox-counts .inbox-count-answered:text-is('answered 1')")
    assert page.text_content("#inbox-counts .inbox-count-assigned") == "assigned 0"
    row.locator(".inbox-note-text").fill(XSS_NOTE)
    row.locator(".inbox-add-note").click()
    page.wait_for_selector(f".inbox-row[data-fingerprint='{fp}'] .inbox-event[data-action='note']")
    assert row.locator(".inbox-note").first.text_content() == XSS_NOTE
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('#inbox-list img, #inbox-list script').length") == 0

    # reload: the work is stored, the history says who did what when
    page.reload()
    page.wait_for_selector(f".inbox-row[data-fingerprint='{fp}'][data-status='answered']")
    row = page.locator(f"#inbox-list .inbox-row[data-fingerprint='{fp}']")
    assert row.locator(".inbox-assign-to").input_value() == "Front desk"
    assert row.locator(".inbox-set-status").input_value() == "answered"
    assert "marked answered" in row.locator(".inbox-answered").text_content()
    row.locator(".inbox-history summary").click()
    page.wait_for_selector(f".inbox-row[data-fingerprint='{fp}'] .inbox-event")
    events = row.locator(".inbox-event").all_text_contents()
    assert len(events) == 4
    assert all(e.startswith("2026-03-31 12:00 · token:") and " test location · " in e for e in events)
    assert events[0].endswith("note: " + XSS_NOTE)
    assert events[1].endswith("status assigned → answered") and events[3].endswith("assigned to Front desk")
    assert page.evaluate("window.__xss") is None and XSS_IMG in page.text_content("#inbox-list")
    # the assignee is offered for the next review
    assert page.eval_on_selector_all("#inbox-assignees option", "os => os.map(o => o.value)") == ["Front desk"]
    # the header counts the answer: one review answered by status
    page.wait_for_function("document.getElementById('inbox-kpis').textContent.includes('1 marked answered/resolved')")

    # status filter: only that one is answered
    page.select_option("#inbox-status", "answered")
    count_is(page, 1)
    page.click("#inbox-clear")
    count_is(page, bund(lambda m: True))
    if os.environ.get("VOCWATCH_SCREENSHOTS"):
        # a morning's work for the picture (English rows: Debian's Chromium here has no CJK font)
        page.evaluate("location.hash = '#/inbox?sentiment=negative&window=30d&language=en'")
        count_is(page, bund(lambda m: m.sentiment_label == "negative" and m.language == "en"
                            and m.published_at >= NOW - timedelta(days=30)))
        rows = page.eval_on_selector_all("#inbox-list .inbox-row", "rs => rs.map(r => r.dataset.fingerprint)")
        page.evaluate("""async ([a, b, c]) => {
            await VW.post(`/api/mentions/${a}/work`, {assignee: 'Housekeeping'});
            await VW.post(`/api/mentions/${b}/work`, {assignee: 'Front office', status: 'answered'});
            await VW.post(`/api/mentions/${c}/work`, {assignee: 'Restaurant manager'});
            await VW.post(`/api/mentions/${c}/notes`, {text: 'Breakfast staff briefed; guest offered a voucher.'});
            await VW.post(`/api/mentions/${c}/work`, {status: 'resolved'});
        }""", rows[:3])
        page.reload()
        page.wait_for_selector(f".inbox-row[data-fingerprint='{rows[2]}'][data-status='resolved']")
        page.locator(f"#inbox-list .inbox-row[data-fingerprint='{rows[2]}'] .inbox-history summary").click()
        page.wait_for_selector(f".inbox-row[data-fingerprint='{rows[2]}'] .inbox-event")
        folder = Path(os.environ["VOCWATCH_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / "inbox.png"), full_page=True)


def test_another_locations_manager_cannot_write_from_the_page(page: Any, chain: Chain) -> None:
    fp = next(m.fingerprint for m in inbox_mentions() if m.external_id == f"{BUND}-119")  # worked by nobody
    login(page, chain, chain.tokens["pudong"])
    page.evaluate("location.hash = '#/inbox'")
    page.wait_for_selector("#inbox-list .inbox-row")
    assert set(page.eval_on_selector_all("#inbox-list .inbox-loc", "ls => ls.map(l => l.textContent)")) == {"Harbor Pudong"}
    statuses = page.evaluate("""async fp => {
        const out = [];
        for (const [path, body] of [['work', {status: 'resolved'}], ['work', {assignee: 'me'}], ['notes', {text: 'x'}]]) {
            try { await VW.post(`/api/mentions/${fp}/${path}`, body); out.push(200); } catch (e) { out.push(e.status); }
        }
        out.push(await fetch(`/api/mentions/${fp}`).then(r => r.status));
        // without the CSRF header the session may not write at all, even its own review
        out.push(await fetch(`/api/mentions/${fp}/notes`, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                                            body: '{"text": "x"}'}).then(r => r.status));
        return out;
    }""", fp)
    assert statuses == [403, 403, 403, 403, 403]
    assert chain.dashboard.store.workflow.events(item_id=fp) == []


def test_a_review_permalink_is_labelled_as_such_and_only_http_links_are_made(page: Any, chain: Chain) -> None:
    """The label says what the link opens: the review itself (a permalink) or the page it
    was read from. The API only sends http(s) links; the page checks again."""
    import json

    def patch(route: Any) -> None:
        data = route.fetch().json()
        data["mentions"][0].update(url="https://reviews.example/review/1", is_permalink=True)
        data["mentions"][1].update(url="javascript:window.__xss=1", is_permalink=True)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(data))

    page.route("**/api/inbox?*", patch)
    login(page, chain, chain.tokens["location"])
    page.evaluate("location.hash = '#/inbox?window=all'")
    page.wait_for_selector("#inbox-list .inbox-row .inbox-link")
    rows = page.locator("#inbox-list .inbox-row")
    assert rows.nth(0).locator(".inbox-link").text_content() == "open on stayadvisor"
    assert rows.nth(0).locator(".inbox-link").get_attribute("href") == "https://reviews.example/review/1"
    assert rows.nth(1).locator(".inbox-link").count() == 0
    assert rows.nth(2).locator(".inbox-link").text_content().startswith("page it was read from (")
    assert page.get_attribute("#inbox-list .inbox-link", "rel") == "noopener noreferrer nofollow"
