"""The dashboard tests' hotel chain (``tests.dashboard_data``, not edited) with what digests
need on top: channels, ``[[digests]]``, a negative review answered in the workflow, and
open, acknowledged and resolved alerts in and out of the Shanghai region.

The chain's clock is ``NOW`` (Tuesday 2026-03-31 12:00 UTC): a weekly digest due Mondays
at 08:00 Asia/Shanghai (00:00 UTC) last fell due on 2026-03-30 and covers the UTC days
2026-03-23 to 2026-03-29, i.e. each location's mentions of ``day`` 2 to 8 (one a day at
10:00 UTC), of which ``day`` 5 is negative and unanswered by the site."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawlers.items import Mention, mention_fingerprint
from crawlers.store.alerts import Alert
from crawlers.store.sqlite import SQLiteStore
from crawlers.store.workflow import WorkItem, apply_change
from tests.dashboard_data import NOW, XSS_SCRIPT, write_chain

SLOT = datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
"""The weekly digest's latest slot at ``NOW`` (Monday 08:00 in Shanghai)."""
PERIOD_START = datetime(2026, 3, 23, tzinfo=UTC)
HOSTILE_TITLE = 'Spike at Bund <img src=x onerror=alert(1)>\r\nBcc: victim@example.com'
DIGESTS = """
[[channels]]
id = "hook"
url = "json://127.0.0.1:{hook_port}/digest"

{mail}

[[digests]]
name = "shanghai-weekly"
scope = "region:shanghai"
channels = [{channels}]

[[digests]]
scope = "brand:harbor"
channels = ["hook"]
every = "daily"
hour = 9

[[digests]]
name = "bund-monthly"
scope = "location:harbor-sh-bund"
channels = ["hook"]
every = "monthly"
"""


def mention_fp(location_id: str, day: int) -> str:
    """The fingerprint of the chain's mention of ``location_id`` on ``day`` (days before NOW)."""
    m = Mention(site="stayadvisor", kind="review", url=f"https://reviews.example/{location_id}/{day}", text="",
                external_id=f"{location_id}-{day}", source_id=f"{location_id}/hotel_reviews")
    return mention_fingerprint(m)


def alert(aid: str, location: str | None, severity: str, state: str, *, brand: str = "harbor",
          region: str | None = "shanghai", title: str = "") -> Alert:
    return Alert(id=aid, kind="negative_spike", severity=severity, state=state, location_id=location, brand=brand,
                 region=region, aspect=None, title=title or f"{severity} at {location}", summary="", details={},
                 mentions=[], first_seen=NOW - timedelta(hours=5), last_seen=NOW - timedelta(hours=1))


ALERTS = [
    alert("a-bund", "harbor-sh-bund", "warning", "notified", title=HOSTILE_TITLE),
    alert("a-pudong", "harbor-sh-pudong", "critical", "acknowledged"),
    alert("a-lotus", "lotus-sh", "info", "resolved", brand="lotus"),
    alert("a-bj", "harbor-bj", "critical", "new", region="beijing"),
    alert("a-brand", None, "info", "new", region=None),
]
"""In region:shanghai: a-bund (not acknowledged) and a-pudong (acknowledged) are open;
a-lotus is resolved; a-bj is Beijing's; a-brand names no location (brand harbor's)."""


def write_digest_chain(root: Path, *, hook_port: int = 9, mail_url: str | None = None,
                       dashboard_url: str | None = None) -> tuple[Path, Path]:
    """The chain's config with channels and digests, and its store with the workflow and
    alerts above. ``mail_url`` adds a ``mail`` channel the Shanghai digest also goes to;
    ``dashboard_url`` a ``[dashboard] url`` (the digests then link to the dashboard)."""
    cfg, db = write_chain(root)
    mail = f'[[channels]]\nid = "mail"\nurl = "{mail_url}"\n' if mail_url else ""
    channels = '"hook", "mail"' if mail_url else '"hook"'
    dashboard = f'\n[dashboard]\nurl = "{dashboard_url}"\n' if dashboard_url else ""
    cfg.write_text(cfg.read_text(encoding="utf-8")
                   + DIGESTS.format(hook_port=hook_port, mail=mail, channels=channels) + dashboard, encoding="utf-8")
    store = SQLiteStore(f"sqlite:///{db}")
    try:
        # Pudong's day-5 complaint (in the period) was answered from the dashboard
        item = WorkItem("mention", mention_fp("harbor-sh-pudong", 5), "harbor-sh-pudong")
        item, events = apply_change(item, now=NOW - timedelta(days=2), actor="token:t1 test", status="answered")
        store.workflow.save(item, events)
        for a in ALERTS:
            store.alerts.save(a)
        # a newer hostile complaint at Lotus, unanswered, in the period (day 3)
        hostile = Mention(site="stayadvisor", kind="review", url="javascript:alert(1)",
                          text=f"Dirty\r\nSubject: injected {XSS_SCRIPT} | *bold* [x](http://evil.example)",
                          external_id="lotus-hostile", source_id="lotus-sh/hotel_reviews", location_id="lotus-sh",
                          brand="lotus", published_at=NOW - timedelta(days=3, hours=1), crawled_at=NOW, rating=1.0,
                          sentiment_label="negative", sentiment_score=-0.9,
                          aspects=[{"aspect": "cleanliness", "sentiment": "negative", "score": -0.9}])
        store.upsert_mentions([replace(hostile, fingerprint=mention_fingerprint(hostile))])
    finally:
        store.close()
    return cfg, db
