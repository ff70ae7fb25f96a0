"""Snippets are not full texts (issue 12, item 5): a text the page itself cuts is flagged
``Mention.truncated`` by its adapter, counted through the pipelines, stored (a snippet never
replaces a stored full text, a full text replaces a snippet), exported and shown marked; and
where the site serves the full text (TripAdvisor's ``ExpandedUserReviews`` fragment) the
crawl fetches it through ``PageObject.expand_urls``."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store import open_store
from tests.conftest import ONE_HOTEL, crawl_head, local_site, run_vocwatch

NOW = datetime.now(UTC).replace(microsecond=0)

# -- a TripAdvisor-like site on 127.0.0.1 ------------------------------------------------------
LISTING = "/Hotel_Review-g190502-d206868-Reviews-Harbor_Hotel-Shanghai.html"
FRAGMENT = "/ExpandedUserReviews-g190502-d206868"
FULL = {
    "501": "The room was quiet and the bed was excellent. Breakfast had fresh fruit, good coffee and "
           "eggs made to order. The staff at the desk remembered our names on the second day.",
    "502": "Check-in took forty minutes & nobody apologised. The air conditioning rattled all night "
           "and the window would not close. We asked twice to move rooms; no answer.",
    "503": "Short and complete: lovely view.",
}
CUT = {"501": FULL["501"][:60] + "...", "502": FULL["502"][:50] + "..."}
"""The listing's snippets: the first words and "...", with a "More" control."""
STARS = {"501": 5, "502": 1, "503": 4}


def _card(rid: str, text: str, *, expanded: bool) -> str:
    """One review card in the markup of TripAdvisor's 2015 pages (listing ``reviewSelector``
    cards, the fragment's ``expanded_review_`` ones)."""
    day = (NOW - timedelta(days=int(rid) - 499)).strftime("%B %d, %Y")
    more = "" if expanded or rid not in CUT else (
        '<span class="partnerRvw"><span class="taLnk hvrIE6 moreLink ulBlueLinks" onclick="ta.call('
        f"'ta.servlet.Reviews.expandReviews',event,this,'review_{rid}', '1', 2247);\">More&nbsp;</span></span>")
    box = f'id="expanded_review_{rid}"' if expanded else f'id="review_{rid}" class="reviewSelector"'
    return (f'<div {box}><div class="member_info"><span class="scrname">guest {rid}</span></div>'
            f'<div class="quote"><span class="noQuotes">Stay {rid}</span></div>'
            f'<div class="rating reviewItemInline"><span class="rate"><img class="rating_s_fill" '
            f'alt="{STARS[rid]} of 5 stars"></span><span class="ratingDate">Reviewed {day}</span></div>'
            f'<div class="entry"><p class="partial_entry">{html.escape(text)}{more}</p></div></div>\n')


def listing_page() -> bytes:
    cards = "".join(_card(rid, CUT.get(rid, FULL[rid]), expanded=False) for rid in FULL)
    return f"<html><head><title>Harbor Hotel</title></head><body>{cards}</body></html>".encode()


def fragment_page(rids: list[str]) -> bytes:
    return "".join(_card(rid, FULL[rid], expanded=True) for rid in rids if rid in FULL).encode()


class Site:
    """The listing, its fragment (answering ``fragment_status``) and robots.txt."""

    def __init__(self) -> None:
        self.fragment_status = 200
        self.robots = "User-agent: *\nAllow: /\n"

    def __call__(self, path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        if parts.path == "/robots.txt":
            return 200, "text/plain", self.robots.encode()
        if parts.path == LISTING:
            return 200, "text/html; charset=utf-8", listing_page()
        if parts.path == FRAGMENT:
            if self.fragment_status != 200:
                return self.fragment_status, "text/html", b"<html><body>Internal error</body></html>"
            rids = parse_qs(parts.query).get("reviews", [""])[0].split(",")
            return 200, "text/html; charset=utf-8", fragment_page(rids)
        return 404, "text/plain", b"not found"


CONFIG = crawl_head(delay=0.05, timeout=None, retries=1) + ONE_HOTEL + """
[[sources]]
location = "harbor-sh-bund"
kind = "site"
site = "tripadvisor"
timezone = "UTC"
url = "{base}""" + LISTING + '"\n'


@pytest.fixture
def ta_site() -> Iterator[tuple[Site, str, list[str]]]:
    site = Site()
    with local_site(site) as (base, hits):
        yield site, base, hits


def _crawl(tmp_path: Path, base: str) -> tuple[dict[str, Mention], dict[str, Any]]:
    cfg = tmp_path / "v.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "s.db", base=base), encoding="utf-8")
    proc = run_vocwatch("crawl", "-c", str(cfg), "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        got = {m.external_id or "": m for m in store.iter_mentions()}
        run = store.list_runs(limit=1)[0]
    finally:
        store.close()
    s = run.stats
    assert s["vocwatch/balance/unaccounted"] == 0, s  # read = stored + updated + unchanged + dropped
    return got, s


def _fragment_hits(hits: list[str]) -> list[str]:
    return [h for h in hits if urlsplit(h).path == FRAGMENT]


def test_crawl_fetches_the_full_texts_of_the_listing_snippets(ta_site: tuple[Site, str, list[str]],
                                                               tmp_path: Path) -> None:
    site, base, hits = ta_site
    got, s = _crawl(tmp_path, base)
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {rid: (FULL[rid], False) for rid in FULL}
    # one fragment request for the page's two snippets, the way the "More" link asks for it
    (frag,) = _fragment_hits(hits)
    q = parse_qs(urlsplit(frag).query)
    assert q["reviews"] == ["501,502"] and q["target"] == ["501"] and q["servlet"] == ["Hotel_Review"]
    assert hits.index("/robots.txt") < hits.index(frag)  # the same politeness: robots.txt read first
    assert (s["vocwatch/expand/requests"], s["vocwatch/expand/expanded"]) == (1, 2)
    assert "vocwatch/expand/failed" not in s and "vocwatch/truncated" not in s
    assert s["vocwatch/store/inserted"] == 3 and s["vocwatch/pages/read"] == 1  # the fragment is not a page read
    assert s["vocwatch/fields/text"] == 3 and s["vocwatch/fields/truncated"] == 0
    assert all(m.sentiment_label for m in got.values())
    # read again: the same full texts are unchanged, not updates
    _, s2 = _crawl(tmp_path, base)
    assert s2["vocwatch/dropped/already_stored"] == 3 and s2.get("vocwatch/store/updated", 0) == 0


def test_a_failed_expansion_stores_the_snippets_flagged_and_a_later_one_updates_them(
        ta_site: tuple[Site, str, list[str]], tmp_path: Path) -> None:
    site, base, hits = ta_site
    site.fragment_status = 500
    got, s = _crawl(tmp_path, base)
    assert len(_fragment_hits(hits)) == 2  # retried like any request (retries = 1), then given up
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {
        "501": (CUT["501"], True), "502": (CUT["502"], True), "503": (FULL["503"], False)}
    assert s["vocwatch/expand/failed"] == 1 and s["vocwatch/expand/missing"] == 2
    assert s["vocwatch/truncated"] == 2 and s["vocwatch/nlp/truncated"] == 2  # analysed, and counted
    assert all(m.sentiment_label for m in got.values())
    assert s["vocwatch/fields/truncated"] == 2 and s["vocwatch/fields/text"] == 1
    assert s["vocwatch/store/inserted"] == 3
    assert not any(k.startswith("vocwatch/dropped/page_") for k in s)  # the listing was read fine
    # the fragment answers again: the stored snippets become full texts, as updates
    site.fragment_status = 200
    got, s = _crawl(tmp_path, base)
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {rid: (FULL[rid], False) for rid in FULL}
    assert s["vocwatch/store/updated"] == 2 and s["vocwatch/dropped/already_stored"] == 1
    assert "vocwatch/store/inserted" not in s or s["vocwatch/store/inserted"] == 0


def test_a_snippet_never_replaces_a_stored_full_text(ta_site: tuple[Site, str, list[str]], tmp_path: Path) -> None:
    site, base, _ = ta_site
    _crawl(tmp_path, base)
    site.fragment_status = 503  # a block-looking status: checked, counted, never stored as a page
    got, s = _crawl(tmp_path, base)
    assert {rid: (m.text, m.truncated) for rid, m in got.items()} == {rid: (FULL[rid], False) for rid in FULL}
    assert s["vocwatch/expand/failed"] == 1
    # the next run's snippets are known: the hash the store took is the snippet's
    got, s = _crawl(tmp_path, base)
    assert {rid: m.text for rid, m in got.items()} == FULL
    assert s["vocwatch/dropped/already_stored"] == 3


def test_robots_txt_applies_to_the_expansion(ta_site: tuple[Site, str, list[str]], tmp_path: Path) -> None:
    site, base, hits = ta_site
    site.robots = "User-agent: *\nDisallow: /ExpandedUserReviews\n"
    got, s = _crawl(tmp_path, base)
    assert _fragment_hits(hits) == []
    assert s["vocwatch/expand/failed"] == 1
    assert sorted(rid for rid, m in got.items() if m.truncated) == ["501", "502"]
