"""A small hotel chain for the dashboard tests: two own brands in two regions, rivals,
four months of mentions, hostile review text, and one token per kind of scope."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from config import load_config
from crawlers.items import Mention, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from monitor.dashboard.auth import Scope, TokenFile
from monitor.dashboard.server import Dashboard, make_server

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=1</script>"
PUDONG_SECRET = "Pudong-only complaint: lift broken"
RIVAL_NAME = 'Rival <b>Grand</b> & "Co"'

CONFIG = f"""
[store]
url = "sqlite:///STORE"

[[brands]]
id = "harbor"
name = "Harbor Hotels"

[[brands]]
id = "lotus"
name = "Lotus Inns"

[[brands]]
id = "rival"
name = "Rival Group"

[[locations]]
id = "harbor-sh-bund"
name = "Harbor Bund"
brand = "harbor"
category = "hotel"
lat = 31.2400
lon = 121.4900
region = "shanghai"
role = "own"
competitors = {{ radius_km = 5.0 }}

[[locations]]
id = "harbor-sh-pudong"
name = "Harbor Pudong"
brand = "harbor"
category = "hotel"
lat = 31.2300
lon = 121.5200
region = "shanghai"
role = "own"
competitors = {{ radius_km = 5.0 }}

[[locations]]
id = "harbor-bj"
name = "Harbor Beijing"
brand = "harbor"
category = "hotel"
lat = 39.9000
lon = 116.4000
region = "beijing"
role = "own"
competitors = {{ radius_km = 5.0 }}

[[locations]]
id = "lotus-sh"
name = "Lotus Shanghai"
brand = "lotus"
category = "hotel"
lat = 31.2500
lon = 121.4800
region = "shanghai"
role = "own"
competitors = ["rival-sh"]

[[locations]]
id = "rival-sh"
name = '{RIVAL_NAME}'
brand = "rival"
category = "hotel"
lat = 31.2450
lon = 121.4950
region = "shanghai"
role = "competitor"

[[locations]]
id = "rival-bj"
name = "Rival Beijing"
brand = "rival"
category = "hotel"
lat = 39.9050
lon = 116.4050
region = "beijing"
role = "competitor"

[[sources]]
location = "harbor-sh-bund"
kind = "hotel_reviews"
url = "https://reviews.example/harbor-sh-bund"

[[sources]]
location = "rival-sh"
kind = "hotel_reviews"
url = "https://reviews.example/rival-sh"

[[sources]]
location = "harbor-bj"
kind = "rss"
url = "https://feeds.example/harbor-bj"
"""

SCOPES = {"location": "location:harbor-sh-bund", "region": "region:shanghai", "brand": "brand:harbor",
          "pudong": "location:harbor-sh-pudong", "admin": "all"}
HEALTH_XSS = f"fields lost since the last run: rating (100% -> 0%) {XSS_IMG}"
"""A crawl-health message with markup in it: the dashboard must show it as text."""


def _mentions() -> list[Mention]:
    """One mention a day for 120 days per location; own locations a little better than
    rivals, Bund weak on breakfast; the two newest Bund complaints carry hostile HTML."""
    quality = {"harbor-sh-bund": 4.2, "harbor-sh-pudong": 3.9, "harbor-bj": 4.0, "lotus-sh": 3.6,
               "rival-sh": 3.8, "rival-bj": 3.5}
    out = []
    for lid, base in quality.items():
        for day in range(120):
            when = NOW - timedelta(days=day, hours=2)
            negative = day % 5 == 0
            rating = max(1.0, min(5.0, base + ((day * 7) % 5 - 2) * 0.3 - (2.0 if negative else 0.0)))
            aspect = ("breakfast", "negative" if lid == "harbor-sh-bund" and day % 2 else "positive")
            text = f"{lid} day {day}: {'noisy room, slow check-in' if negative else 'great stay'}"
            if lid == "harbor-sh-bund" and day == 0:
                text = f"Terrible. {XSS_IMG}"
            elif lid == "harbor-sh-bund" and day == 5:
                text = f"Awful {XSS_SCRIPT} & <b>bold</b>"
            elif lid == "harbor-sh-pudong" and day == 0:
                text = PUDONG_SECRET
            m = Mention(site="stayadvisor", kind="review", url=f"https://reviews.example/{lid}/{day}", text=text,
                        external_id=f"{lid}-{day}", source_id=f"{lid}/hotel_reviews", location_id=lid,
                        brand=lid.split("-")[0], published_at=when, crawled_at=NOW, rating=round(rating, 2),
                        sentiment_label="negative" if negative else "positive",
                        sentiment_score=-0.7 if negative else 0.6,
                        reply_text="Thank you for your feedback." if day % 3 == 0 else None,
                        aspects=[{"aspect": aspect[0], "sentiment": aspect[1], "score": 0.0},
                                 {"aspect": "service", "sentiment": "negative" if negative else "positive",
                                  "score": 0.0}])
            m.fingerprint = mention_fingerprint(m)
            out.append(m)
    return out


@dataclass
class Chain:
    dir: Path
    config_path: Path
    tokens_path: Path
    tokens: dict[str, str]
    base_url: str
    dashboard: Dashboard


def write_chain(root: Path) -> tuple[Path, Path]:
    """The config file and a filled store under ``root``."""
    db = root / "chain.db"
    cfg = root / "vocwatch.toml"
    cfg.write_text(textwrap.dedent(CONFIG).replace("STORE", str(db)), encoding="utf-8")
    store = SQLiteStore(f"sqlite:///{db}")
    store.upsert_mentions(_mentions())
    _crawl_health(store)
    store.close()
    return cfg, db


def _crawl_health(store: SQLiteStore) -> None:
    """Runs with crawl-health findings: Bund lost its ratings, the rival's source stopped
    yielding; the Beijing feed is healthy."""
    from crawlers.store.base import HealthFinding

    for sid, findings in (("harbor-sh-bund/hotel_reviews", [("fields_lost", "warning", HEALTH_XSS)]),
                          ("rival-sh/hotel_reviews", [("no_items", "critical", "stopped yielding: 0 mentions read")]),
                          ("harbor-bj/rss", [])):
        rid = store.start_run(sid, sid.split("/")[1], NOW - timedelta(hours=1))
        store.finish_run(rid, NOW - timedelta(minutes=59), "finished", {})
        store.record_health(rid, [HealthFinding(sid, p, sev, f"hotel_reviews source {sid}: {msg}", {}, rid,
                                                NOW - timedelta(minutes=59)) for p, sev, msg in findings])


@contextmanager
def serve_chain(root: Path) -> Iterator[Chain]:
    """The dashboard over the chain on 127.0.0.1 (a free port), one token per scope."""
    cfg_path, db = write_chain(root)
    config = load_config(cfg_path)
    tokens_file = TokenFile(root / "tokens.json")
    tokens = {name: tokens_file.create(Scope.parse(scope), f"test {name}")[0] for name, scope in SCOPES.items()}
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
