"""The dashboard chain (tests/dashboard_data.py) with more sites for the location page:
Harbor Bund and its rival also on "tripnote" (Bund trails there, on check-in), Bund alone
on "weibo" (posts without ratings), the rival alone on "maps", and hostile positive text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from config import load_config
from crawlers.items import Mention, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from monitor.dashboard.auth import Scope, TokenFile
from monitor.dashboard.server import Dashboard, make_server
from tests.dashboard_data import NOW, SCOPES, XSS_IMG, Chain, write_chain

BUND = "harbor-sh-bund"
PRAISE = f"Lovely staff & great views {XSS_IMG}"
"""Bund's newest positive mention (5/5), with markup in it."""


def _m(lid: str, site: str, day: int, n: int, *, rating: float | None, label: str, aspect: tuple[str, str] | None,
       replied: bool = False, text: str | None = None, also: tuple[str, str] | None = None) -> Mention:
    m = Mention(site=site, kind="review" if rating is not None else "post", url=f"https://{site}.example/{lid}/{day}/{n}",
                text=text or f"{site} {lid} day {day} #{n}", external_id=f"{site}-{lid}-{day}-{n}",
                source_id=f"{lid}/{site}", location_id=lid, brand=lid.split("-")[0],
                published_at=NOW - timedelta(days=day, hours=1 + n), crawled_at=NOW, rating=rating,
                sentiment_label=label, sentiment_score=0.6 if label == "positive" else -0.6,
                reply_text="Thanks" if replied else None,
                aspects=[{"aspect": x[0], "sentiment": x[1], "score": 0.0} for x in (aspect, also) if x])
    m.fingerprint = mention_fingerprint(m)
    return m


def extra_mentions() -> list[Mention]:
    out = []
    for day in range(0, 80, 4):  # 20 on tripnote: check-in complaints, every 4th day, 2.0 or 3.0
        out.append(_m(BUND, "tripnote", day, 0, rating=2.0 if day % 8 else 3.0, label="negative",
                      aspect=("checkin", "negative")))
    for day in range(0, 75, 5):  # 15 for the rival there, 4.5, answered
        out.append(_m("rival-sh", "tripnote", day, 0, rating=4.5, label="positive", aspect=("checkin", "positive"),
                      replied=True))
    for i, day in enumerate(range(1, 60, 6)):  # 10 posts on weibo, no ratings, the room and one more aspect praised
        out.append(_m(BUND, "weibo", day, 0, rating=None, label="positive", aspect=("room", "positive"),
                      also=(("wifi", "noise", "value")[i % 3], "positive")))
    for day in range(0, 50, 10):  # 5 for the rival on maps only
        out.append(_m("rival-sh", "maps", day, 0, rating=5.0, label="positive", aspect=None))
    out.append(_m(BUND, "tripnote", 0, 1, rating=5.0, label="positive", aspect=("service", "positive"), text=PRAISE))
    return out


@contextmanager
def serve_location_chain(root: Path) -> Iterator[Chain]:
    """``serve_chain`` of dashboard_data with the mentions above added to its store."""
    cfg_path, db = write_chain(root)
    store = SQLiteStore(f"sqlite:///{db}")
    store.upsert_mentions(extra_mentions())
    config = load_config(cfg_path)
    tokens_file = TokenFile(root / "tokens.json")
    tokens = {name: tokens_file.create(Scope.parse(scope), f"test {name}")[0] for name, scope in SCOPES.items()}
    dashboard = Dashboard(config, store, tokens_file, clock=lambda: NOW)
    server = make_server(dashboard, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Chain(root, cfg_path, tokens_file.path, tokens, f"http://127.0.0.1:{server.server_address[1]}", dashboard)
    finally:
        server.shutdown()
        server.server_close()
        store.close()
