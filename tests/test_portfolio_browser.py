"""The portfolio view in real headless Chromium (Debian's /usr/bin/chromium, Playwright): the
region and brand managers land on it, rows in worst-movers order, filters that never mix
hotels and cafés unless asked, state in the hash, drill-down to the location page, and a
location token that has no portfolio. ``VOCWATCH_SCREENSHOTS=docs`` saves docs/portfolio.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import browser as shared_browser
from tests.dashboard_data import Chain
from tests.portfolio_data import CAFE_NAME, serve_portfolio

browser, page = shared_browser.browser, shared_browser.page  # the fixtures: Chromium, a checked page

REGION_HOTELS = ["harbor-sh-pudong", "lotus-sh", "harbor-sh-bund", "harbor-sh-new"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_portfolio(tmp_path_factory.mktemp("pchain")) as c:
        yield c


def login(page: Any, chain: Chain, who: str) -> None:
    page.goto(chain.base_url + "/")
    page.fill("#token", chain.tokens[who])
    page.click("#login button[type=submit]")
    page.wait_for_selector("#dash:not([hidden])")


def row_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("#pf-table tbody tr.pf-row", "rs => rs.map(r => r.dataset.id)")


def until(page: Any, script: str, arg: Any = None, tries: int = 200) -> None:
    """Poll ``script`` (a function of ``arg``) until it is true. Not wait_for_function: that
    evaluates its predicate with eval(), which the page's CSP refuses (as it should)."""
    for _ in range(tries):
        if page.evaluate(script, arg):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {script} ({arg!r})")


def wait_rows(page: Any, ids: list[str]) -> None:
    until(page, "ids => JSON.stringify([...document.querySelectorAll('#pf-table tbody tr.pf-row')]"
                ".map(r => r.dataset.id)) === JSON.stringify(ids)", ids)


def wait_count(page: Any, n: int) -> None:
    until(page, "n => document.querySelectorAll('#pf-table tbody tr.pf-row').length === n", n)


def test_region_manager_lands_on_the_portfolio_filters_and_drills_down(page: Any, chain: Chain) -> None:
    login(page, chain, "region")
    page.wait_for_selector("#pf-content:not([hidden])")
    assert page.is_visible("#nav-portfolio") and page.get_attribute("#nav-portfolio", "class") == "active"
    # hotels only by default, worst mover first, the new hotel without an index last
    assert row_ids(page) == REGION_HOTELS
    assert page.input_value("#pf-category") == "hotel"
    assert page.eval_on_selector_all("#pf-category option", "os => os.map(o => o.value)") == ["all", "hotel",
                                                                                               "restaurant"]
    assert not page.is_visible("#pf-region")  # one region in scope: no region filter
    assert page.eval_on_selector_all("#pf-brand option", "os => os.map(o => o.textContent)") == [
        "all brands", "Harbor Hotels (4)", "Lotus Inns (1)"]
    first = page.locator("#pf-table tbody tr.pf-row").first
    change = first.locator("td").nth(3).locator(".pf-change")
    assert change.get_attribute("class") == "pf-change down" and change.text_content().startswith("▼ -")
    assert first.locator("td.pf-rank").text_content() == "2 / 2was 1"  # second of two, first before
    assert first.locator("td.pf-rank .pf-was").get_attribute("class") == "pf-was pf-change down"
    last = page.locator("#pf-table tbody tr.pf-row").last
    assert last.locator("td.pf-index").text_content() == "too few reviews"
    # the sparklines are lines (fill none, also against the stylesheet), one per row
    assert page.locator("#pf-table svg.pf-spark").count() == 4
    d = page.get_attribute("#pf-table tr.pf-row:first-child path.pf-spark-line", "d")
    assert d.startswith("M") and d.count("L") >= 10
    assert page.eval_on_selector("#pf-table path.pf-spark-line", "p => getComputedStyle(p).fill") == "none"
    # the rollup: seven cards, every change labelled with what it is compared with
    cards = page.locator("#pf-kpis .kpi")
    assert cards.count() == 7
    assert page.locator("#pf-kpis .pf-delta").count() == 6
    assert all(t.startswith("vs previous 90 days: ") for t in page.eval_on_selector_all(
        "#pf-kpis .pf-delta", "ds => ds.map(d => d.textContent)"))
    assert "combined sets" in cards.nth(0).text_content() and "1 distinct rival" in cards.nth(1).text_content()
    mentions = page.locator("#pf-kpis .kpi").nth(5).locator(".pf-change")
    assert "up" not in mentions.get_attribute("class") and "down" not in mentions.get_attribute("class")

    # the café only when asked; its name (markup characters) is text
    page.select_option("#pf-category", "restaurant")
    wait_rows(page, ["harbor-sh-cafe"])
    assert "category=restaurant" in page.evaluate("location.hash")
    assert page.text_content("#pf-table .pf-name") == CAFE_NAME
    assert page.evaluate("document.querySelectorAll('#pf-table i').length") == 0
    page.select_option("#pf-category", "all")
    wait_count(page, 5)
    assert page.text_content("#pf-table tr[data-id=harbor-sh-cafe] .pf-where") == "shanghai · harbor · restaurant · complaints"
    assert page.get_attribute("#pf-table tr[data-id=harbor-sh-cafe] a.pf-complaints", "href") == (
        "#/inbox?location=harbor-sh-cafe&sentiment=negative")
    # window and order are in the hash too, and survive a reload
    page.select_option("#pf-window", "30d")
    page.wait_for_selector("#pf-meta:has-text('last 30 days')")
    page.select_option("#pf-sort", "index")
    page.wait_for_selector("#pf-table-title:has-text('lowest reputation index first')")
    assert page.evaluate("location.hash") == "#/portfolio?category=all&window=30d&sort=index"
    page.reload()
    page.wait_for_selector("#pf-table-title:has-text('lowest reputation index first')")
    assert page.input_value("#pf-window") == "30d" and page.input_value("#pf-category") == "all"
    assert len(row_ids(page)) == 5 and row_ids(page)[-1] == "harbor-sh-new"
    assert "vs previous 30 days: " in page.text_content("#pf-kpis")

    # drill down: the name opens the location page
    page.click("#pf-table tr[data-id=harbor-sh-pudong] a.pf-name")
    page.wait_for_selector("#loc-name:text-is('Harbor Pudong')")
    assert page.evaluate("location.hash") == "#/location/harbor-sh-pudong"
    assert page.is_visible("#view-location") and not page.is_visible("#view-portfolio")
    page.go_back()
    page.wait_for_selector("#pf-content:not([hidden])")
    assert page.evaluate("window.__xss") is None


def test_brand_office_filters_by_region_and_saves_the_screenshot(page: Any, chain: Chain) -> None:
    login(page, chain, "brand")
    page.wait_for_selector("#pf-content:not([hidden])")
    assert row_ids(page) == ["harbor-sh-pudong", "harbor-sh-bund", "harbor-bj", "harbor-sh-new"]
    assert not page.is_visible("#pf-brand")  # one brand in scope
    assert page.eval_on_selector_all("#pf-region option", "os => os.map(o => o.value)") == ["", "beijing",
                                                                                             "shanghai"]
    page.select_option("#pf-region", "beijing")
    wait_rows(page, ["harbor-bj"])
    rise = page.locator("#pf-table tr.pf-row .pf-change").first
    assert rise.get_attribute("class") == "pf-change up" and rise.text_content().startswith("▲ +")
    assert "Portfolio: brand harbor" in page.text_content("#pf-title")
    # a window the select does not list (typed into the hash) is added to it, not shown blank
    page.evaluate("location.hash = '#/portfolio?region=beijing&window=12w'")
    page.wait_for_selector("#pf-meta:has-text('last 12 weeks')")
    assert page.input_value("#pf-window") == "12w"

    folder = os.environ.get("VOCWATCH_SCREENSHOTS")
    if folder:
        page.evaluate("location.hash = '#/portfolio?category=all'")
        wait_count(page, 5)
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / "portfolio.png"), full_page=True)


def test_a_location_token_has_no_portfolio(page: Any, chain: Chain) -> None:
    login(page, chain, "location")
    page.wait_for_selector("#content:not([hidden])")  # straight to its one location
    assert not page.is_visible("#nav-portfolio")
    page.evaluate("location.hash = '#/portfolio'")
    page.wait_for_selector("#status:has-text('You do not have access to that.')")
    assert not page.is_visible("#pf-content")
    assert page.evaluate("fetch('/api/portfolio').then(r => r.status)") == 403
