"""Parsers never raise, end to end: a crawl with the real CLI over real HTTP on 127.0.0.1
meets a JSON body where an HTML adapter expects a page, and a mutated real page (a dict
where the nickname belongs, a list where the date belongs). The first is a malformed-page
drop with its reason, the second is read with those fields left empty, nothing prints a
Python traceback, and the other sources' mentions are stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawlers.store import open_store
from spiders.pages.jsdata import load_js
from tests.conftest import ONE_HOTEL, crawl_head, local_site, run_vocwatch, shared_path

CONFIG = crawl_head(timeout=None) + ONE_HOTEL + """
[[sources]]
id = "zhihu-json"
location = "harbor-sh-bund"
kind = "site"
site = "zhihu"
url = "{base}/question/50903751"

[[sources]]
id = "eleme-mutated"
location = "harbor-sh-bund"
kind = "site"
site = "eleme"
url = "{base}/restapi/ugc/v3/restaurants/1/ratings?offset=0&limit=20"

[[sources]]
id = "discourse-ok"
location = "harbor-sh-bund"
kind = "site"
site = "discourse"
url = "{base}/t/57.json"

[[sources]]
id = "hotel-json"
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{base}/hotels/h1/reviews"
"""


def _mutated_eleme() -> dict[str, Any]:
    """The saved Ele.me ratings with every nickname an object, every other date a list and
    every third text ending in half an emoji (a lone ``\\ud83d`` escape, which no store
    can encode)."""
    data = load_js(shared_path("pages", "eleme", "comment.js").read_text("utf-8"))
    for i, rating in enumerate(data["comments"]):
        rating["username"] = {"nick": rating["username"], "vip": True}
        if i % 2:
            rating["rated_at"] = [rating["rated_at"]]
        if i % 3 == 0 and rating["rating_text"]:
            rating["rating_text"] += "\ud83d"
    return data


def test_json_body_and_mutated_page_are_drops_or_mentions_never_tracebacks(tmp_path: Path) -> None:
    eleme = _mutated_eleme()
    topic = shared_path("pages", "discourse", "topic.json").read_bytes()

    def respond(path: str) -> tuple[int, str, bytes]:
        route = urlsplit(path).path
        if route == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        if route in ("/question/50903751", "/hotels/h1/reviews"):  # HTML readers answered with JSON
            return 200, "application/json", json.dumps({"data": [{"content": "<p>an answer</p>"}]}).encode()
        if route.endswith("/ratings"):
            body = eleme if "offset=0" in path else {"comments": []}
            return 200, "application/json; charset=utf-8", json.dumps(body).encode()  # \\uXXXX escapes
        if route == "/t/57.json":
            return 200, "application/json; charset=utf-8", topic
        return 404, "text/plain", b"not here"

    cfg = tmp_path / "v.toml"
    with local_site(respond) as (base, _hits):
        cfg.write_text(CONFIG.format(db=tmp_path / "s.db", base=base), encoding="utf-8")
        proc = run_vocwatch("crawl", "-c", str(cfg))
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "malformed page http://127.0.0.1" in proc.stderr and "not a Zhihu question page" in proc.stderr

    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        runs = {r.source_id: r for r in store.list_runs()}
        zhihu = runs["zhihu-json"]
        assert zhihu.outcome != "finished"  # a page it could not read is never a clean run
        assert zhihu.stats["vocwatch/dropped/page_malformed"] == 1
        assert not [k for k in zhihu.stats if k.startswith("spider_exceptions/")]
        hotel = runs["hotel-json"]  # the spiders' own page objects too
        assert hotel.outcome != "finished" and hotel.stats["vocwatch/dropped/page_malformed"] == 1
        assert "a JSON body where a hotel review page expects an HTML page" in proc.stderr

        # every rating is stored, the star-only ones too (rating-only reviews, text "")
        with_text = {str(r["order_id"]) for r in eleme["comments"] if r["rating_text"] or r.get("rating") is not None}
        stored = {m.external_id: m for m in store.iter_mentions() if m.source_id == "eleme-mutated"}
        assert set(stored) == with_text and any(not m.text for m in stored.values())
        assert all(m.author is None for m in stored.values())  # a dict is not a nickname
        halves = {str(r["order_id"]) for r in eleme["comments"] if r["rating_text"].endswith("\ud83d")}
        assert halves and all(stored[k].text.endswith("\ufffd") for k in halves)
        dated = {str(r["order_id"]) for r in eleme["comments"] if isinstance(r["rated_at"], str)}
        assert {k for k, m in stored.items() if m.published_at is not None} == dated & with_text
        assert not [k for k in runs["eleme-mutated"].stats if "parser_error" in k or k.startswith("spider_exc")]

        assert store.count_mentions(source_id="discourse-ok") == 4
        assert runs["discourse-ok"].outcome == "finished"
    finally:
        store.close()


BUGGY = """
import sys
from crawlers.items import Mention
from spiders.pages import registry
from spiders.pages.base import PageObject

class Buggy(PageObject):
    def mentions(self):
        if self.page.url.endswith("/boom"):
            return {}["a page object's bug"]  # KeyError: what the safety net is for
        return [Mention(site="buggy", kind="review", url=self.page.url, external_id="1",
                        text="Quiet room, kind staff.")]

registry.site("buggy")(Buggy)
from vocwatch.cli import main
sys.exit(main(sys.argv[1:]))
"""

BUGGY_CONFIG = """
[store]
url = "sqlite:///{db}"

[crawl]
delay = 0
retries = 0
""" + ONE_HOTEL + """
[[sources]]
id = "boom"
location = "harbor-sh-bund"
kind = "site"
site = "buggy"
url = "{base}/boom"

[[sources]]
id = "fine"
location = "harbor-sh-bund"
kind = "site"
site = "buggy"
url = "{base}/fine"
"""


def test_an_adapter_that_raises_costs_one_counted_page_not_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    def respond(path: str) -> tuple[int, str, bytes]:
        if path == "/robots.txt":
            return 200, "text/plain", b"User-agent: *\nAllow: /\n"
        return 200, "text/html; charset=utf-8", b"<html><body><p>a review page</p></body></html>"

    cfg = tmp_path / "v.toml"
    with local_site(respond) as (base, _hits):
        cfg.write_text(BUGGY_CONFIG.format(db=tmp_path / "s.db", base=base), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-c", BUGGY, "crawl", "-c", str(cfg)], cwd=ROOT,
                              capture_output=True, text=True, timeout=180)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stderr.splitlines() if "page parser error" in ln]
    assert "WARNING" in line and f"{base}/boom: KeyError:" in line
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        runs = {r.source_id: r for r in store.list_runs()}
        assert runs["boom"].stats["vocwatch/dropped/page_parser_error"] == 1
        assert runs["boom"].outcome != "finished"
        assert not [k for k in runs["boom"].stats if k.startswith("spider_exceptions/")]
        assert store.count_mentions(source_id="fine") == 1 and runs["fine"].outcome == "finished"
    finally:
        store.close()
