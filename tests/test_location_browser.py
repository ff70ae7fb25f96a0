"""The location page in real headless Chromium: per-site table, rating distribution, trend
per aspect, positive highlights, labelled KPI changes, and an aspect click opening the inbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import browser as shared_browser
from tests.dashboard_data import NOW, XSS_IMG, Chain
from tests.location_data import BUND, PRAISE, serve_location_chain

browser, page = shared_browser.browser, shared_browser.page  # the fixtures: Chromium, a checked page


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_location_chain(tmp_path_factory.mktemp("loc")) as c:
        yield c


def open_bund(page: Any, chain: Chain) -> None:
    page.goto(chain.base_url + "/")
    page.fill("#token", chain.tokens["location"])
    page.click("#login button[type=submit]")
    page.wait_for_selector("#content:not([hidden])")
    page.wait_for_selector("#positive .mention")


def texts(page: Any, selector: str) -> list[str]:
    return page.eval_on_selector_all(selector, "ns => ns.map(n => n.textContent)")


def test_location_page_panels(page: Any, chain: Chain) -> None:
    open_bund(page, chain)
    # KPI changes say what they compare with; the gap to the set is its own, labelled line
    index = page.locator("#kpi-index")
    assert index.locator(".change").text_content().startswith("vs previous 90 days: ")
    assert index.locator(".set").text_content().startswith("set: ")
    assert index.locator(".gap").text_content().startswith("gap to set: ")
    # a change in volume is neither good nor bad; a rating change is
    mentions_change = page.locator("#kpi-mentions .change span")
    assert mentions_change.get_attribute("class") == "neutral"
    assert page.locator("#kpi-mentions .gap").count() == 0
    assert page.locator("#kpi-rating .change span").get_attribute("class") in ("up", "down", "neutral")
    assert page.locator("#kpi-response .gap").text_content().endswith(" pts")

    # per site: own busiest first, the rival's site last; Bund trails on tripnote
    rows = page.eval_on_selector_all("#platforms tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert [r[0] for r in rows] == ["stayadvisor", "tripnote", "weibo", "maps"]
    trip = rows[1]
    assert trip[1:6] == ["21", "15", "2.62", "4.50", "−1.88"] and trip[-1] == "2 / 2"
    assert page.get_attribute("#platforms tbody tr:nth-child(2) td:nth-child(6)", "class") == "num gap down"
    assert rows[3][1] == "0" and rows[3][-1] == "–"
    assert "absent" in page.get_attribute("#platforms tbody tr:nth-child(4)", "class")

    # rating distribution: five rows, own and set bars
    assert page.locator("#stars-chart rect.own-bar").count() == 5 and page.locator("#stars-chart rect.set-bar").count() == 5
    assert texts(page, "#stars-chart .star-label") == ["5 ★", "4 ★", "3 ★", "2 ★", "1 ★"]

    # trend per aspect: a tile for each of the six most mentioned aspects, named, with own and set lines
    tiles = page.locator("#aspect-trend .aspect-tile")
    assert tiles.count() == 6
    names = texts(page, "#aspect-trend .tile-head strong")
    assert names[:4] == ["Service and staff", "breakfast", "Check-in and check-out", "Room"]
    assert page.locator("#aspect-trend path.own-line").count() == 6
    assert page.get_attribute("#aspect-trend .aspect-tile[data-aspect=checkin] path.set-line", "d").startswith("M")
    # the seventh (value: 3 mentions, after noise by name) on asking
    assert "Value and price" not in names
    page.click("#aspect-trend .more-aspects:text-is('All 7 aspects')")
    assert tiles.count() == 7 and texts(page, "#aspect-trend .tile-head strong")[-1] == "Value and price"
    page.click("#aspect-trend .more-aspects")
    assert tiles.count() == 6

    # aspect names, never ids, anywhere on the page
    body = page.text_content("#view-location")
    assert "Check-in and check-out" in page.text_content("#aspect-chart")
    assert "checkin" not in body and "Service and staff" in body

    # highlights beside complaints, each with its label and its rating
    pos_heads = texts(page, "#positive .head")
    assert "positive" in pos_heads[0] and "rating 5.0/5" in pos_heads[0]
    assert texts(page, "#positive .text")[0] == PRAISE
    assert "no rating" in pos_heads[1]  # the weibo post
    neg_heads = texts(page, "#negative .head")
    assert all("negative" in h and ("rating " in h or "no rating" in h) for h in neg_heads)
    assert page.locator("#negative .mention").count() == 10
    assert page.get_by_text(PRAISE).is_visible()
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('#view-location img').length") == 0

    # another window: the labels follow it
    page.select_option("#window", "30d")
    page.wait_for_selector("#kpi-index .change:has-text('vs previous 30 days')")

    if os.environ.get("VOCWATCH_SCREENSHOTS"):
        page.select_option("#window", "90d")
        page.wait_for_selector("#kpi-index .change:has-text('vs previous 90 days')")
        out = Path(os.environ["VOCWATCH_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / "location.png"), full_page=True)


def test_clicking_an_aspect_opens_the_inbox_filtered(page: Any, chain: Chain) -> None:
    open_bund(page, chain)
    want = f"#/inbox?location={BUND}&aspect=checkin"
    page.click("#aspect-chart .aspect-row[data-aspect=checkin] .aspect-label")
    page.wait_for_function(f"location.hash === {want!r}")
    page.wait_for_selector("#view-inbox:not([hidden])")
    assert page.is_hidden("#view-location")
    page.goto(chain.base_url + f"/#/location/{BUND}")
    page.wait_for_selector("#aspect-trend .aspect-tile[data-aspect=room]")
    page.click("#aspect-trend .aspect-tile[data-aspect=room]")
    page.wait_for_function(f"location.hash === '#/inbox?location={BUND}&aspect=room'")
    # by keyboard too: a tile is focusable and Enter follows it
    page.goto(chain.base_url + f"/#/location/{BUND}")
    page.wait_for_selector("#aspect-trend .aspect-tile[data-aspect=service]")
    page.focus("#aspect-trend .aspect-tile[data-aspect=service]")
    page.keyboard.press("Enter")
    page.wait_for_function(f"location.hash === '#/inbox?location={BUND}&aspect=service'")
    # a site's reviews, from the per-site table (not for a site the location is absent from)
    page.goto(chain.base_url + f"/#/location/{BUND}")
    page.wait_for_selector("#platforms a.site")
    assert texts(page, "#platforms a.site") == ["stayadvisor", "tripnote", "weibo"]
    page.click("#platforms a.site:text-is('tripnote')")
    page.wait_for_function(f"location.hash === '#/inbox?location={BUND}&site=tripnote'")
    # every complaint of the location, from the list's heading
    page.goto(chain.base_url + f"/#/location/{BUND}")
    page.wait_for_selector("#negative .mention")
    page.click("#negative-more")
    page.wait_for_function(f"location.hash === '#/inbox?location={BUND}&sentiment=negative'")
    # and an aspect chip of a listed mention
    page.goto(chain.base_url + f"/#/location/{BUND}")
    page.wait_for_selector("#positive .chip")
    page.click("#positive .mention:first-child .chip")
    page.wait_for_function(f"location.hash === '#/inbox?location={BUND}&aspect=service'")


def test_aspect_names_follow_the_browser_language(browser: Any, chain: Chain) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    try:
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        open_bund(pg, chain)
        names = texts(pg, "#aspect-trend .tile-head strong")
        assert "入住退房" in names and "服务" in names and "房间" in names
        assert "入住退房" in pg.text_content("#aspect-chart") and "Check-in" not in pg.text_content("#view-location")
        assert not errors
    finally:
        context.close()


def test_html_report_draws_its_trend_lines_unfilled(page: Any, chain: Chain) -> None:
    """The computed style, not only the markup: the polylines' fill is none, their stroke set."""
    from monitor.benchmark_report import to_html
    from monitor.metrics import benchmark, trends

    config, store = chain.dashboard.config, chain.dashboard.store
    bs = benchmark(config, store, location_ids=[BUND], now=NOW)
    html = to_html(bs, trends(config, store, [BUND], now=NOW), title=f"report {XSS_IMG}")
    page.set_content(html)
    styles = page.eval_on_selector_all("polyline", "ps => ps.map(p => [getComputedStyle(p).fill, getComputedStyle(p).stroke])")
    assert len(styles) >= 2
    assert all(fill == "none" and stroke not in ("none", "") for fill, stroke in styles), styles
    assert page.eval_on_selector("rect.own", "r => getComputedStyle(r).fill") == "rgb(31, 119, 180)"
    assert page.evaluate("window.__xss") is None
