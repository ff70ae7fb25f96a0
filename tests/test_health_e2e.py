"""Crawl health end to end: a local site on 127.0.0.1 is redesigned between crawls, and the
very crawl that first sees it stores a finding naming the source and what it lost, and
delivers a ``crawl_health`` alert to a real webhook before the command returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.store import open_store
from tests.alert_receivers import Webhook
from tests.conftest import ONE_HOTEL, crawl_head, local_site, run_vocwatch

SOURCE = "harbor-sh-bund/reviews"
CONFIG = crawl_head(extra="obey_robots = false") + ONE_HOTEL + """
[[sources]]
id = "{source}"
location = "harbor-sh-bund"
kind = "selectors"
url = "{base}/reviews"

[sources.selectors]
item = "div.review"
rating_scale = 10

[sources.selectors.fields]
text = "p.body"
author = "span.author::text"
date = "time::attr(datetime)"
rating = "span.score::text"
external_id = "xpath:@id"

[[channels]]
id = "ops"
url = "json://127.0.0.1:{port}/health"

[[routes]]
channels = ["ops"]
match = {{ kind = "crawl_health" }}
"""


def page(design: str) -> bytes:
    """Six reviews. ``v1``: the markup the selectors were written for; ``v2``: a redesign
    that moved the rating and the date into new elements; ``v3``: one that renamed the
    review element itself."""
    now = datetime.now(UTC)
    cards = []
    for i in range(6):
        when = (now - timedelta(hours=3 * i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = f"<span class='author'>guest{i}</span><p class='body'>Room {i} was clean &amp; quiet.</p>"
        if design == "v1":
            cards.append(f"<div class='review' id='r{i}'>{body}<time datetime='{when}'>{when}</time>"
                         f"<span class='score'>{6 + i % 4}</span></div>")
        elif design == "v2":
            cards.append(f"<div class='review' id='r{i}'>{body}<span class='posted'>{when}</span>"
                         f"<span class='stars' data-score='{6 + i % 4}'></span></div>")
        else:
            cards.append(f"<article class='review-card' id='r{i}'>{body}</article>")
    return f"<html><body><h1>Reviews</h1>{''.join(cards)}</body></html>".encode()


def test_redesign_is_noticed_and_alerted_within_the_run(tmp_path: Path) -> None:
    design = {"now": "v1"}
    db = tmp_path / "h.db"
    cfg = tmp_path / "vocwatch.toml"
    with Webhook() as hook, local_site(lambda path: (200, "text/html; charset=utf-8", page(design["now"]))) as (base, _):
        cfg.write_text(CONFIG.format(db=db, source=SOURCE, base=base, port=hook.port), encoding="utf-8")

        first = run_vocwatch("crawl", "-c", str(cfg), "--quiet")
        assert first.returncode == 0, first.stderr
        assert "health [" not in first.stdout and hook.requests == []

        design["now"] = "v2"  # rating and date moved: the selectors match nothing there
        second = run_vocwatch("crawl", "-c", str(cfg), "--quiet")
        assert second.returncode == 0, second.stderr
        lost = (f"selectors source {SOURCE}: fields lost since the last run: "
                "published_at (100% -> 0%), rating (100% -> 0%)")
        assert f"health [warning] {lost}" in second.stdout
        store = open_store(f"sqlite:///{db}")
        run2 = store.list_runs(source_id=SOURCE, limit=1)[0]
        (finding,) = store.list_health(run_id=run2.id)
        assert (finding.problem, finding.severity, finding.message) == ("fields_lost", "warning", lost)
        assert finding.details["fields"] == {"published_at": [1.0, 0.0], "rating": [1.0, 0.0]}
        # delivered by the crawl command itself, before it returned
        assert len(hook.requests) == 1
        alert = hook.requests[0]["json"]["alert"]
        assert alert["kind"] == "crawl_health" and alert["severity"] == "warning"
        assert alert["location_id"] == "harbor-sh-bund" and alert["title"] == lost
        assert alert["details"]["run_id"] == run2.id and alert["details"]["source_id"] == SOURCE

        design["now"] = "v3"  # the review element renamed: the item selector matches nothing
        third = run_vocwatch("crawl", "-c", str(cfg), "--quiet")
        assert third.returncode == 3, third.stderr  # partial: a page read, no mentions, the cut-off held
        stopped = f"selectors source {SOURCE}: stopped yielding: 0 mentions read (1 page(s) read); "
        assert f"health [critical] {stopped}" in third.stdout
        assert len(hook.requests) == 2
        alert = hook.requests[1]["json"]["alert"]
        assert (alert["kind"], alert["severity"], alert["details"]["problem"]) == ("crawl_health", "critical", "no_items")
        assert SOURCE in alert["title"]
        store.close()

    health = run_vocwatch("health", "-c", str(cfg))
    assert health.returncode == 1  # the latest run has a critical finding
    assert f"critical  no_items: {stopped}" in health.stdout
    runs = run_vocwatch("runs", "-c", str(cfg))
    assert f"health [warning] fields_lost: {lost}" in runs.stdout
    assert f"health [critical] no_items: {stopped}" in runs.stdout


HOTEL = CONFIG.split("[[sources]]")[0] + """
[[sources]]
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "{base}/hotel/reviews"

[[channels]]
id = "ops"
url = "json://127.0.0.1:{port}/health"

[[routes]]
channels = ["ops"]
match = {{ severity = ["warning", "critical"] }}
"""


def hotel_page(redesigned: bool) -> bytes:
    """Five review cards with schema.org JSON-LD; the redesign drops the JSON-LD and moves
    the card's score and date into elements the page object does not know."""
    now = datetime.now(UTC)
    cards, ld = [], []
    for i in range(5):
        when = (now - timedelta(hours=2 * i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta = (f"<div class='new-meta' data-when='{when}'>{8 - i % 3}/10</div>" if redesigned else
                f"<div class='review-meta'><time datetime='{when}'>{when}</time> <span class='score'>{8 - i % 3}/10</span></div>")
        cards.append(f"<article class='review' data-review-id='h{i}'><span class='reviewer'>guest{i}</span>{meta}"
                     f"<div class='review-body'>Stay {i}: friendly staff, quiet room.</div></article>")
        ld.append({"@type": "Review", "identifier": f"h{i}", "datePublished": when, "author": {"name": f"guest{i}"},
                   "reviewRating": {"ratingValue": 8 - i % 3, "bestRating": 10}})


    head = "" if redesigned else ("<script type='application/ld+json'>"
                                  + json.dumps({"@type": "Hotel", "name": "Harbor", "review": ld}) + "</script>")
    return f"<html><head>{head}</head><body>{''.join(cards)}</body></html>".encode()


def test_a_hotel_site_losing_its_rating_and_date_alerts_within_the_second_run(tmp_path: Path) -> None:
    redesigned = {"now": False}
    db, cfg = tmp_path / "h.db", tmp_path / "vocwatch.toml"
    with Webhook() as hook, local_site(lambda path: (200, "text/html; charset=utf-8",
                                                     hotel_page(redesigned["now"]))) as (base, _):
        cfg.write_text(HOTEL.format(db=db, base=base, port=hook.port), encoding="utf-8")
        assert run_vocwatch("crawl", "-c", str(cfg), "--quiet").returncode == 0
        redesigned["now"] = True
        second = run_vocwatch("crawl", "-c", str(cfg), "--quiet")
        lost = ("hotel_reviews source harbor-sh-bund/hotel_reviews: fields lost since the last run: "
                "published_at (100% -> 0%), rating (100% -> 0%)")
        assert second.returncode == 0 and f"health [warning] {lost}" in second.stdout
        assert [r["json"]["alert"]["title"] for r in hook.requests] == [lost]
