"""The HTML digest in real headless Chromium (Debian's /usr/bin/chromium via Playwright), as a
mail client without a content policy would show it: the chain's hostile reviews and alert
title must stay text (no script runs, no handler fires), every link is http(s).
``VOCWATCH_SCREENSHOTS=<folder>`` saves digest.png there."""

from __future__ import annotations

import os
from pathlib import Path

from config import load_config
from crawlers.store import open_store
from monitor.digest import render_html
from monitor.digest_send import collect, select
from tests.browser import CHROMIUM, CHROMIUM_ARGS, sync_api
from tests.dashboard_data import NOW, XSS_SCRIPT
from tests.digests_data import write_digest_chain


def test_the_html_digest_in_chromium_runs_nothing_and_links_only_http(tmp_path: Path) -> None:
    cfg, _ = write_digest_chain(tmp_path, dashboard_url="https://voc.example.com")
    config = load_config(cfg)
    store = open_store(config.store_url)
    try:
        html = render_html(collect(config, store, select(config, name="shanghai-weekly")[0], now=NOW))
    finally:
        store.close()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: route.abort())  # nothing may load: no image, no beacon
            page.set_content(html, wait_until="load")
            assert page.evaluate("window.__xss") is None and page.evaluate("typeof alert === 'function'")
            assert page.locator("script, img, iframe, [onerror]").count() == 0
            text = page.inner_text("body")
            assert XSS_SCRIPT in text  # shown as the words the reviewer typed
            assert "Spike at Bund <img src=x onerror=alert(1)>" in text
            rows = page.locator("table tr")
            assert rows.count() == 4  # the header and the region's three own locations
            colour = "el => getComputedStyle(el).color"
            lotus = page.locator("table tr", has_text="Lotus Shanghai").locator("td")
            assert lotus.nth(2).inner_text() == "-0.7" and lotus.nth(2).evaluate(colour) == "rgb(176, 0, 32)"
            bund = page.locator("table tr", has_text="Harbor Bund").locator("td")
            assert bund.nth(2).inner_text() == "+0.6" and bund.nth(2).evaluate(colour) == "rgb(27, 127, 59)"
            assert bund.nth(6).evaluate(colour) == "rgb(0, 0, 0)"  # a change in volume is neither good nor bad
            hrefs = page.eval_on_selector_all("a", "links => links.map(a => [a.href, a.rel])")
            assert hrefs and all(h.startswith("https://") and rel == "noopener noreferrer" for h, rel in hrefs)
            assert "https://reviews.example/harbor-sh-bund/5" in {h for h, _ in hrefs}
            if os.environ.get("VOCWATCH_SCREENSHOTS"):
                folder = Path(os.environ["VOCWATCH_SCREENSHOTS"])
                folder.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(folder / "digest.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
