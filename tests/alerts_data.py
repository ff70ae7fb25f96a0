"""Alerts for the dashboard chain (``tests/dashboard_data.py``): one or more per scope, of
every kind, in every state, with hostile quoted text and a recorded history.

Who sees what (``monitor.incidents.visible``):

========================  ==========================================  =====================
alert                     about                                       seen by
========================  ==========================================  =====================
``bund-spike``            harbor-sh-bund, notified, hostile quotes     location, region, brand, admin
``bund-health``           crawl health of Bund's source               location, region, brand, admin
``pudong-share``          harbor-sh-pudong, new, critical              pudong, region, brand, admin
``bj-rating``             harbor-bj, acknowledged                      brand, admin
``lotus-breakfast``       lotus-sh, resolved (ack 1 h, resolve 10 h)   region, admin
``harbor-brand``          the whole harbor brand (no location)         brand, admin
``harbor-shanghai``       harbor in shanghai (no location)             region, brand, admin
``rival-health``          crawl health of the rival's source           admin
``bund-old``              harbor-sh-bund, 200 days ago, auto-resolved  (outside 90 days)
========================  ==========================================  =====================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawlers.store.alerts import Alert
from crawlers.store.base import Store
from monitor import incidents
from tests.dashboard_data import NOW, PUDONG_SECRET, XSS_IMG, XSS_SCRIPT, Chain, serve_chain

HOSTILE_TITLE = 'Spike at Harbor Bund <img src=x onerror="window.__xss=1">'
HOSTILE_QUOTE = f"Terrible. {XSS_IMG}"
HOSTILE_NOTE = f'Called the guest back {XSS_SCRIPT} <b>ok</b> & "done"'

VISIBLE = {
    "location": {"bund-spike", "bund-health"},
    "pudong": {"pudong-share"},
    "region": {"bund-spike", "bund-health", "pudong-share", "lotus-breakfast", "harbor-shanghai"},
    "brand": {"bund-spike", "bund-health", "pudong-share", "bj-rating", "harbor-brand", "harbor-shanghai"},
    "admin": {"bund-spike", "bund-health", "pudong-share", "bj-rating", "lotus-breakfast", "harbor-brand",
              "harbor-shanghai", "rival-health"},
}
"""Alert ids each token of ``dashboard_data.SCOPES`` sees in the default 90-day window."""


def _alert(aid: str, kind: str, severity: str, location: str | None, brand: str | None, region: str | None,
           hours_ago: float, *, aspect: str | None = None, title: str = "", summary: str = "",
           mentions: list[dict[str, Any]] | None = None, details: dict[str, Any] | None = None,
           last_hours_ago: float | None = None) -> Alert:
    first = NOW - timedelta(hours=hours_ago)
    last = NOW - timedelta(hours=hours_ago if last_hours_ago is None else last_hours_ago)
    return Alert(id=aid, kind=kind, severity=severity, state="new", location_id=location, brand=brand, region=region,
                 aspect=aspect, title=title or f"{kind} at {location or brand}", summary=summary or f"{aid} summary",
                 details={"observed": 9, "expected": 2.0, **(details or {})}, mentions=mentions or [],
                 first_seen=first, last_seen=last)


def alerts() -> list[Alert]:
    return [
        _alert("bund-spike", "negative_spike", "warning", "harbor-sh-bund", "harbor", "shanghai", 5,
               last_hours_ago=1, title=HOSTILE_TITLE,
               summary=f"9 negative mentions in the last 24 h at Harbor Bund.\nFirst: {HOSTILE_QUOTE}",
               details={"top_terms": [["noisy", 5], ["<script>", 2]]},
               mentions=[{"url": "https://reviews.example/harbor-sh-bund/0", "text": HOSTILE_QUOTE,
                          "published_at": (NOW - timedelta(hours=5)).isoformat(), "engagement": 3,
                          "source_id": "harbor-sh-bund/hotel_reviews", "why": "first"},
                         {"url": "javascript:window.__xss=1", "text": f"Awful {XSS_SCRIPT}",
                          "published_at": (NOW - timedelta(hours=4)).isoformat(), "engagement": 40,
                          "source_id": "harbor-sh-bund/hotel_reviews", "why": "most engaged"}]),
        _alert("bund-health", "crawl_health", "warning", "harbor-sh-bund", "harbor", "shanghai", 2,
               details={"source_id": "harbor-sh-bund/hotel_reviews", "problem": "fields_lost",
                        "fingerprint": "harbor-sh-bund/hotel_reviews|fields_lost"}),
        _alert("pudong-share", "negative_share", "critical", "harbor-sh-pudong", "harbor", "shanghai", 8,
               summary=f"Negative share 60% at Harbor Pudong. {PUDONG_SECRET}",
               mentions=[{"url": "https://reviews.example/harbor-sh-pudong/0", "text": PUDONG_SECRET,
                          "published_at": (NOW - timedelta(hours=8)).isoformat(), "engagement": 0,
                          "source_id": "harbor-sh-pudong/hotel_reviews", "why": "first"}]),
        _alert("bj-rating", "rating_drop", "info", "harbor-bj", "harbor", "beijing", 30),
        _alert("lotus-breakfast", "negative_spike", "warning", "lotus-sh", "lotus", "shanghai", 72, aspect="breakfast"),
        _alert("harbor-brand", "negative_spike", "warning", None, "harbor", None, 12),
        _alert("harbor-shanghai", "negative_share", "info", None, "harbor", "shanghai", 20),
        _alert("rival-health", "crawl_health", "critical", "rival-sh", "rival", "shanghai", 1,
               details={"source_id": "rival-sh/hotel_reviews", "problem": "no_items",
                        "fingerprint": "rival-sh/hotel_reviews|no_items"}),
        _alert("bund-old", "negative_spike", "info", "harbor-sh-bund", "harbor", "shanghai", 200 * 24),
    ]


def add_alerts(store: Store) -> None:
    """Save the alerts and give some a history, through the same calls the dashboard and
    the command line make (so the events are the ones those write)."""
    for a in alerts():
        store.alerts.save(a)
    store.alerts.mark_notified("bund-spike", 1)
    h = timedelta(hours=1)
    incidents.set_state(store, "bj-rating", "acknowledged", actor="cli:ops", now=NOW - 28 * h)
    incidents.set_state(store, "lotus-breakfast", "acknowledged", actor="token:abc Lotus GM", now=NOW - 71 * h)
    incidents.set_state(store, "lotus-breakfast", "resolved", actor="token:abc Lotus GM", now=NOW - 62 * h)
    incidents.resolve_quiet(store, NOW - 150 * 24 * h, now=NOW - 190 * 24 * h, cooldown_hours=48)


@contextmanager
def serve_alerts(root: Path) -> Iterator[Chain]:
    """The dashboard chain (``serve_chain``) with these alerts in its store."""
    with serve_chain(root) as chain:
        add_alerts(chain.dashboard.store)
        yield chain
