"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
login, charts drawn from the API, scoping in the UI, hostile review text shown as text."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import browser as shared_browser
from tests.conftest import ROOT
from tests.dashboard_data import PUDONG_SECRET, RIVAL_NAME, XSS_IMG, XSS_SCRIPT, Chain, serve_chain

browser, page = shared_browser.browser, shared_browser.page  # the fixtures: Chromium, a checked page


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_chain(tmp_path_factory.mktemp("chain")) as c:
        yield c


def login(page: Any, chain: Chain, token: str) -> None:
    page.goto(chain.base_url + "/")
    page.fill("#token", token)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#content:not([hidden]), #pf-content:not([hidden])")
    if page.is_visible("#pf-content"):  # tokens of many locations land on the portfolio (test_portfolio_browser.py)
        page.click("#nav a[data-view=location]")
    page.wait_for_selector("#content:not([hidden])")


def test_login_dashboard_charts_and_hostile_text(page: Any, chain: Chain, tmp_path: Path) -> None:
    page.goto(chain.base_url + "/")
    page.wait_for_selector("#login:not([hidden])")  # shown once /api/me answers 401
    assert not page.is_visible("#dash")
    page.fill("#token", "vw_wrong")
    page.click("#login button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")

    login(page, chain, chain.tokens["location"])
    assert page.text_content("#loc-name") == "Harbor Bund"
    assert page.eval_on_selector_all("#location option", "os => os.map(o => o.value)") == ["harbor-sh-bund"]
    assert "location:harbor-sh-bund" in page.text_content("#scope")
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly

    # the trend: own and set lines with a point per week that has an index
    page.wait_for_selector("#trend-chart .own-point")
    assert page.locator("#trend-chart .own-point").count() >= 8
    for line in ("own-line", "set-line"):
        d = page.get_attribute(f"#trend-chart path.{line}", "d")
        assert d.startswith("M") and d.count("L") >= 7
    # the aspects: own and set bars; breakfast is a weak aspect
    assert page.locator("#aspect-chart rect.own-bar").count() >= 2
    assert page.locator("#aspect-chart rect.set-bar").count() >= 2
    assert "breakfast" in page.text_content("#aspect-chart")
    assert page.locator("#kpis .kpi").count() == 7
    # competitor names and review text are text, never markup
    assert RIVAL_NAME in page.text_content("#set")
    texts = page.eval_on_selector_all("#negative .text", "ns => ns.map(n => n.textContent)")
    assert texts[0] == f"Terrible. {XSS_IMG}" and XSS_SCRIPT in texts[1]
    assert page.get_by_text(XSS_IMG).is_visible()
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('img, b, #negative script').length") == 0
    srcs = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert srcs[0] == "/static/app.js" and all(s and s.startswith("/static/") for s in srcs)  # no inline script
    links = page.eval_on_selector_all("#negative a", "as => as.map(a => a.href)")
    assert links and all(h.startswith("https://reviews.example/harbor-sh-bund/") for h in links)

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\ndashboard screenshot: {shot}")
    if os.environ.get("VOCWATCH_DOCS_SCREENSHOT"):  # refresh the README's picture on purpose only
        page.screenshot(path=str(ROOT / "docs" / "dashboard.png"))


def test_location_token_cannot_see_another_location(page: Any, chain: Chain) -> None:
    login(page, chain, chain.tokens["location"])
    assert page.eval_on_selector_all("#location option", "os => os.map(o => o.value)") == ["harbor-sh-bund"]
    # the picker offers no other location; asking for one by URL is refused
    page.evaluate("location.hash = 'loc=harbor-sh-pudong'")
    page.wait_for_selector("#status:has-text('You do not have access to that location.')")
    assert not page.is_visible("#content")
    assert PUDONG_SECRET not in page.content()
    statuses = page.evaluate("""async () => Promise.all(
        ['/api/locations/harbor-sh-pudong/negative', '/api/locations/harbor-sh-pudong/benchmark',
         '/api/locations/harbor-bj/trend', '/api/locations/harbor-sh-bund/benchmark']
        .map(u => fetch(u).then(r => r.status)))""")
    assert statuses == [403, 403, 403, 200]
    assert PUDONG_SECRET not in page.content()


def test_region_token_switches_between_its_locations_and_logs_out(page: Any, chain: Chain) -> None:
    login(page, chain, chain.tokens["region"])
    options = page.eval_on_selector_all("#location option", "os => os.map(o => o.value)")
    assert sorted(options) == ["harbor-sh-bund", "harbor-sh-pudong", "lotus-sh"]
    page.select_option("#location", "harbor-sh-pudong")
    page.wait_for_selector("#loc-name:text-is('Harbor Pudong')")
    page.wait_for_selector(f"#negative .text:text-is('{PUDONG_SECRET}')")
    page.click("#logout button")
    page.wait_for_selector("#login:not([hidden])")
    assert page.evaluate("fetch('/api/me').then(r => r.status)") == 401


def test_admin_sees_crawl_health_as_text_and_others_do_not(page: Any, chain: Chain) -> None:
    from tests.dashboard_data import HEALTH_XSS

    login(page, chain, chain.tokens["brand"])
    assert not page.is_visible("#health-panel")  # not an administrator: no section, no request made for it
    page.click("#logout button")
    page.wait_for_selector("#login:not([hidden])")
    login(page, chain, chain.tokens["admin"])
    page.wait_for_selector("#health-panel:not([hidden])")
    rows = page.eval_on_selector_all("#health tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [r[2] for r in rows] == ["critical", "warning", "ok"]
    assert rows[0][0] == f"rival-sh/hotel_reviews (hotel_reviews, {RIVAL_NAME})"
    assert rows[1][3].startswith("fields_lost: hotel_reviews source harbor-sh-bund/hotel_reviews: ")
    assert rows[1][3].endswith(HEALTH_XSS) and rows[1][1] == "#1 2026-03-31 11:01"
    assert page.get_attribute("#health tbody tr:nth-child(1) td:nth-child(3)", "class") == "sev-critical"
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('#health img, #health b').length") == 0
