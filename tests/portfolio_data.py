"""The dashboard chain (tests/dashboard_data.py) grown into a portfolio: a café among the
Shanghai hotels (the region mixes categories), a new hotel with too few reviews for an
index, a hotel whose reviews turned bad this quarter (the worst mover) and one that got
better, and a rival in several competitive sets (the rollup counts it once)."""

from __future__ import annotations

import textwrap
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
from tests.dashboard_data import CONFIG, NOW, SCOPES, Chain, _crawl_health, _mentions

CAFE_NAME = 'Harbor Café <i>Bund</i> & "Tea"'

EXTRA = f"""
[[locations]]
id = "harbor-sh-cafe"
name = '{CAFE_NAME}'
brand = "harbor"
category = "restaurant"
lat = 31.2410
lon = 121.4890
region = "shanghai"
role = "own"
competitors = {{ radius_km = 3.0 }}

[[locations]]
id = "rival-cafe-sh"
name = "Kopi Rival"
brand = "rival"
category = "restaurant"
lat = 31.2420
lon = 121.4880
region = "shanghai"
role = "competitor"

[[locations]]
id = "harbor-sh-new"
name = "Harbor Jing'an"
brand = "harbor"
category = "hotel"
lat = 31.2280
lon = 121.4550
region = "shanghai"
role = "own"
competitors = {{ radius_km = 5.0 }}
"""

PORTFOLIO_SCOPES = {**SCOPES, "beijing": "region:beijing"}


def _review(lid: str, day: int, n: int, rating: float, label: str, *, replied: bool = False) -> Mention:
    m = Mention(site="stayadvisor", kind="review", url=f"https://reviews.example/{lid}/x{day}-{n}",
                text=f"{lid} extra {day}-{n}: {'awful' if label == 'negative' else 'lovely'}",
                external_id=f"{lid}-x{day}-{n}", source_id=f"{lid}/hotel_reviews", location_id=lid,
                brand=lid.split("-")[0], published_at=NOW - timedelta(days=day, hours=3), crawled_at=NOW,
                rating=rating, sentiment_label=label, sentiment_score=-0.8 if label == "negative" else 0.8,
                reply_text="Thanks." if replied else None,
                aspects=[{"aspect": "service", "sentiment": label, "score": 0.0}])
    m.fingerprint = mention_fingerprint(m)
    return m


def extra_mentions() -> list[Mention]:
    """Pudong: 40 one-star complaints in the last 30 days (the worst mover). Beijing: 30
    five-star reviews in the last 30 days (a riser). The café: a review a day for 100 days,
    its rival too. The new hotel: 5 reviews (no index)."""
    out = [_review("harbor-sh-pudong", d % 30, d, 1.0, "negative") for d in range(40)]
    out += [_review("harbor-bj", d, 0, 5.0, "positive", replied=True) for d in range(30)]
    for lid, base in (("harbor-sh-cafe", 4.4), ("rival-cafe-sh", 3.9)):
        out += [_review(lid, d, 0, round(base + (d % 3 - 1) * 0.4, 2), "negative" if d % 7 == 0 else "positive",
                        replied=d % 2 == 0) for d in range(100)]
    out += [_review("harbor-sh-new", d * 3, 0, 4.0, "positive") for d in range(5)]
    return out


def write_portfolio_chain(root: Path) -> tuple[Path, Path]:
    db = root / "chain.db"
    cfg = root / "vocwatch.toml"
    cfg.write_text((textwrap.dedent(CONFIG) + EXTRA).replace("STORE", str(db)), encoding="utf-8")
    store = SQLiteStore(f"sqlite:///{db}")
    store.upsert_mentions(_mentions() + extra_mentions())
    _crawl_health(store)
    store.close()
    return cfg, db


@contextmanager
def serve_portfolio(root: Path) -> Iterator[Chain]:
    """The dashboard over the grown chain on 127.0.0.1, one token per scope (as serve_chain)."""
    cfg_path, db = write_portfolio_chain(root)
    config = load_config(cfg_path)
    tokens_file = TokenFile(root / "tokens.json")
    tokens = {name: tokens_file.create(Scope.parse(s), f"test {name}")[0] for name, s in PORTFOLIO_SCOPES.items()}
    store = SQLiteStore(f"sqlite:///{db}")
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
