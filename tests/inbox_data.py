"""The dashboard's hotel chain (tests/dashboard_data.py) with what the inbox filters on:
owner replies with dates, a second site and language at the Bund, and hostile notes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from tests.dashboard_data import NOW, Chain, _mentions, serve_chain

BUND = "harbor-sh-bund"
PUDONG = "harbor-sh-pudong"
TRIP_SITE = "trip.example"
TRIP_SOURCE = f"{BUND}/trip"
XSS_NOTE = '<img src=x onerror="window.__xss=1"> call guest back <script>window.__xss=1</script>'


def reply_delay(day: int) -> timedelta:
    """How long after the review the Bund's owner replied on the site (replies on days % 3 == 0)."""
    return timedelta(hours=6 * (day % 7 + 1))


def trip_mentions() -> list[Mention]:
    """Ten Chinese reviews of the Bund on a second site: the odd ones negative, the third
    neutral, every fourth one replied."""
    out = []
    for i in range(10):
        when = NOW - timedelta(days=3 * i + 1, hours=5)
        negative = i % 2 == 1
        m = Mention(site=TRIP_SITE, kind="review", url=f"https://trip.example/hotel/bund?page={i // 5}",
                    text=f"外滩酒店 第{i}条: {'早餐很差' if negative else '服务很好'}", external_id=f"trip-{i}",
                    source_id=TRIP_SOURCE, location_id=BUND, brand="harbor", published_at=when, crawled_at=NOW,
                    rating=2.0 if negative else 4.6, language="zh",
                    sentiment_label="negative" if negative else "neutral" if i == 2 else "positive", sentiment_score=-0.6 if negative else 0.7,
                    reply_text="感谢您的反馈" if i % 4 == 0 else None,
                    reply_at=when + timedelta(hours=30) if i % 4 == 0 else None,
                    aspects=([{"aspect": "food", "sentiment": "negative", "score": -0.5}] if negative else [])
                    + [{"aspect": "service", "sentiment": "negative" if negative else "positive", "score": 0.0}])
        m.fingerprint = mention_fingerprint(m)
        out.append(m)
    return out


def inbox_mentions() -> list[Mention]:
    """Every mention of the chain, English, the Bund's replies dated, plus the trip reviews."""
    out = []
    for m in _mentions():
        m.language = "en"
        if m.location_id == BUND and m.reply_text:
            day = int(m.external_id.rsplit("-", 1)[1])  # type: ignore[union-attr]
            m.reply_at = m.published_at + reply_delay(day)  # type: ignore[operator]
        out.append(m)
    out += trip_mentions()
    for m in out:
        m.content_hash = mention_content_hash(m)
    return out


@contextmanager
def serve_inbox(root: Path) -> Iterator[Chain]:
    """The chain's dashboard with the inbox's mentions stored."""
    with serve_chain(root) as chain:
        chain.dashboard.store.upsert_mentions(inbox_mentions())
        yield chain


def call(chain: Chain, path: str, token: str | None = None, *, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET (or POST with a JSON ``body``) over HTTP; the status and the parsed JSON answer."""
    h = {"Accept": "application/json", **(headers or {})}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.update({"Content-Type": "application/json", "Content-Length": str(len(data))})
    req = urllib.request.Request(chain.base_url + path, data=data, headers=h, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
