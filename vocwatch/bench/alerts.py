"""Alert replay benchmark: a simulated month, hour by hour, through ``run_detectors``.

Ordinary mentions follow the hour-of-day and weekday patterns of ``vocwatch.synth``
(Poisson counts per hour, each location with its own volume and negative share) after a
28-day history; into the month go bursts of negative mentions about one aspect at known
times and locations (one on a quiet night, one on a busy Saturday evening) and one post
whose engagement takes off. After each simulated hourly crawl the detectors run as of that
hour. Printed: bursts injected, bursts alerted and after how long, alerts that no burst
explains (false alarms on ordinary days), and the detector time per run next to the bare
day rollup of the baseline period (the query every metric starts from).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from config.loader import build_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from monitor.alerting import run_detectors
from vocwatch.synth import BRANDS, LOCAL_HOUR, WEEKDAY

START = datetime(2026, 10, 1, tzinfo=UTC)
"""First replayed hour; the history is the 28 days before it."""
HISTORY_DAYS = 28
ASPECTS = {"hotel": ("cleanliness", "service", "room", "noise"), "restaurant": ("food", "service", "hygiene", "price"),
           "store": ("product", "service", "delivery", "price")}
TERMS = {"cleanliness": ["不干净", "床单"], "service": ["态度差", "前台"], "room": ["房间小", "隔音"],
         "noise": ["吵", "装修"], "food": ["难吃", "凉了"], "hygiene": ["蟑螂", "拉肚子"], "price": ["太贵", "宰客"],
         "product": ["质量差", "假货"], "delivery": ["发货慢", "破损"]}
_HOUR_MEAN = sum(LOCAL_HOUR) / 24


@dataclass(frozen=True, slots=True)
class Burst:
    location_id: str
    aspect: str
    start: datetime
    hours: int
    count: int


@dataclass(slots=True)
class _Loc:
    id: str
    brand: str
    category: str
    per_day: float
    negative_share: float


def _locations(rnd: random.Random, n: int) -> list[_Loc]:
    cats = ("hotel", "restaurant", "store")
    return [_Loc(f"own-{i:03d}", BRANDS[cats[i % 3]][0][0], cats[i % 3], min(60.0, 6 * rnd.lognormvariate(0, 0.7)),
                 rnd.uniform(0.08, 0.3)) for i in range(n)]


def _config(locs: list[_Loc], db: Path):  # type: ignore[no-untyped-def]
    brands = sorted({loc.brand for loc in locs})
    return build_config({
        "store": {"url": f"sqlite:///{db}"},
        "brands": [{"id": b} for b in brands],
        "locations": [{"id": loc.id, "name": f"Own {loc.id}", "brand": loc.brand, "category": loc.category,
                       "lat": 31.0, "lon": 121.0, "region": "shanghai", "role": "own"} for loc in locs],
    }, db.parent / "vocwatch.toml")


def _rate(loc: _Loc, hour: datetime) -> float:
    """Expected mentions in this UTC hour (local time UTC+8)."""
    local = hour + timedelta(hours=8)
    week = WEEKDAY[loc.category]
    return loc.per_day / 24 * LOCAL_HOUR[local.hour] / _HOUR_MEAN * week[local.weekday()] / (sum(week) / 7)


def _poisson(rnd: random.Random, lam: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-lam)
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1


class _Maker:
    def __init__(self, rnd: random.Random) -> None:
        self.rnd, self.seq = rnd, 0

    def mention(self, loc: _Loc, published: datetime, negative: bool, aspect: str | None = None,
                likes: int = 0) -> Mention:
        rnd = self.rnd
        self.seq += 1
        aspect = aspect or rnd.choice(ASPECTS[loc.category])
        label = "negative" if negative else rnd.choice(("positive", "positive", "neutral"))
        m = Mention(site="weibo", kind="post", url=f"https://weibo.example/{loc.id}/{self.seq}",
                    text=f"{aspect} {label} #{self.seq}", external_id=str(self.seq), source_id=f"{loc.id}/weibo",
                    location_id=loc.id, brand=loc.brand, published_at=published, crawled_at=published,
                    rating=float(rnd.choice((1, 2)) if negative else rnd.choice((4, 5))), rating_scale=5.0,
                    likes=likes or rnd.randrange(5), sentiment_label=label, language="zh",
                    sentiment_score=-0.6 if negative else 0.5,
                    aspects=[{"aspect": aspect, "sentiment": label, "score": -0.6 if negative else 0.5}],
                    keywords=list(TERMS[aspect]) if negative else [])
        m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
        return m


def _ordinary(maker: _Maker, locs: list[_Loc], hour: datetime) -> list[Mention]:
    out = []
    for loc in locs:
        for _ in range(_poisson(maker.rnd, _rate(loc, hour))):
            published = hour + timedelta(seconds=maker.rnd.randrange(3600))
            out.append(maker.mention(loc, published, maker.rnd.random() < loc.negative_share))
    return out


def _bursts(rnd: random.Random, locs: list[_Loc], days: int) -> list[Burst]:
    """Eight bursts on distinct days: one at 04:00 local on a Tuesday (quiet), one at 20:00
    local on a Saturday (busy) at the busiest location, the rest at random hours."""
    day_pool = rnd.sample(range(1, days - 1), min(8, days - 2))
    out = []
    for i, d in enumerate(day_pool):
        day = START + timedelta(days=d)
        if i == 0:
            day += timedelta(days=(1 - (day + timedelta(hours=8)).weekday()) % 7)  # a Tuesday (local)
            start, loc = day.replace(hour=0) - timedelta(hours=4), rnd.choice(locs)  # 04:00 local
            size = 6
        elif i == 1:
            day += timedelta(days=(5 - (day + timedelta(hours=8)).weekday()) % 7)
            start, loc = day.replace(hour=12), max(locs, key=lambda x: x.per_day)  # 20:00 local
            size = 14
        else:
            start, loc = day.replace(hour=rnd.randrange(24)), rnd.choice(locs)
            size = rnd.randint(7, 14)
        out.append(Burst(loc.id, rnd.choice(ASPECTS[loc.category]), start, 3, size))
    return out


def run(*, locations: int = 200, days: int = 30, seed: int = 7, directory: str | Path = "data/bench-alerts",
        say: Callable[[str], Any] = print) -> dict[str, Any]:
    rnd = random.Random(seed)
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    db = (out_dir / "replay.db").resolve()
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    locs = _locations(rnd, locations)
    by_id = {loc.id: loc for loc in locs}
    config = _config(locs, db)
    maker = _Maker(rnd)
    store = SQLiteStore(str(db))
    history = [m for h in range(HISTORY_DAYS * 24)
               for m in _ordinary(maker, locs, START - timedelta(days=HISTORY_DAYS) + timedelta(hours=h))]
    store.insert_new(history)
    bursts = _bursts(rnd, locs, days)
    viral_loc = rnd.choice(locs)
    viral_start = START + timedelta(days=days // 2, hours=5)
    viral = maker.mention(viral_loc, viral_start + timedelta(minutes=10), negative=True, likes=3)
    viral_curve = (3, 12, 60, 400, 2500, 9000, 15000)
    say(f"alert replay: {locations} own locations, {HISTORY_DAYS} days of history ({len(history):,} mentions), "
        f"then {days} days hour by hour")
    run_times: list[float] = []
    base_times: list[float] = []
    alerted: dict[str, datetime] = {}
    for h in range(days * 24):
        hour = START + timedelta(hours=h)
        batch = _ordinary(maker, locs, hour)
        for b in bursts:
            if b.start <= hour < b.start + timedelta(hours=b.hours):
                per_hour = b.count // b.hours + (1 if hour - b.start < timedelta(hours=b.count % b.hours) else 0)
                batch += [maker.mention(by_id[b.location_id], hour + timedelta(seconds=rnd.randrange(3600)), True,
                                        b.aspect) for _ in range(per_hour)]
        step = int((hour - viral_start) / timedelta(hours=1))
        if 0 <= step < len(viral_curve):
            viral.likes = viral_curve[step]
            viral.content_hash = mention_content_hash(viral)
            store.upsert_mentions([viral])
        store.insert_new(batch)
        now = hour + timedelta(hours=1)  # the crawl at the end of the hour
        t0 = time.perf_counter()
        sum(1 for _ in store.rollup(bucket="day", group_by=("location_id",), since=now - timedelta(days=HISTORY_DAYS)))
        base_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for a in run_detectors(config, store, now=now):
            alerted.setdefault(a.id, now)
        run_times.append(time.perf_counter() - t0)
    every = store.alerts.list(limit=100_000)
    store.close()
    return _report(config, bursts, every, viral, viral_start, run_times, base_times, say)


def _report(config, bursts, every, viral, viral_start, run_times, base_times, say) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    matched: set[str] = set()
    rows = []
    for b in bursts:
        brand = config.locations[b.location_id].brand
        hits = [a for a in every if a.kind != "viral_post"
                and (a.location_id == b.location_id or (a.location_id is None and a.brand == brand))
                and b.start <= a.first_seen <= b.start + timedelta(hours=b.hours + 24)]
        matched.update(a.id for a in hits)
        first = min(hits, key=lambda a: a.first_seen) if hits else None
        delay = (first.first_seen - b.start).total_seconds() / 3600 if first else None
        rows.append({"location": b.location_id, "aspect": b.aspect, "start": b.start.isoformat(), "count": b.count,
                     "alerted": first is not None, "delay_hours": delay,
                     "kind": first.kind if first else None, "severity": first.severity if first else None,
                     "aspect_named": bool(first and (first.aspect == b.aspect or any(
                         t == b.aspect for t, _ in first.details.get("top_aspects", [])[:1])))})
    viral_hits = [a for a in every if a.kind == "viral_post" and a.details.get("fingerprint") == viral.fingerprint]
    matched.update(a.id for a in viral_hits)
    false = [a for a in every if a.id not in matched]
    out = {"bursts": len(bursts), "bursts_alerted": sum(r["alerted"] for r in rows), "burst_rows": rows,
           "viral_alerted": bool(viral_hits),
           "viral_delay_hours": (min(a.first_seen for a in viral_hits) - viral_start).total_seconds() / 3600
           if viral_hits else None,
           "false_alarms": len(false), "false_alarm_titles": [a.title for a in false],
           "runs": len(run_times), "run_ms_median": round(1000 * statistics.median(run_times), 1),
           "run_ms_max": round(1000 * max(run_times), 1),
           "baseline_ms_median": round(1000 * statistics.median(base_times), 1)}
    say(f"bursts injected: {out['bursts']}, alerted: {out['bursts_alerted']}")
    for r in rows:
        when = f"after {r['delay_hours']:.1f} h as {r['kind']} ({r['severity']})" if r["alerted"] else "MISSED"
        say(f"  {r['start'][:16]} {r['location']} {r['aspect']:<12} {r['count']:>3} negative in 3 h: {when}"
            f"{', top aspect named' if r['aspect_named'] else ''}")
    say(f"viral post: {'alerted after ' + format(out['viral_delay_hours'], '.1f') + ' h' if viral_hits else 'MISSED'}")
    say(f"alerts no injection explains (false alarms on ordinary days): {out['false_alarms']}")
    for t in out["false_alarm_titles"][:10]:
        say(f"  {t}")
    say(f"detector run per simulated crawl: median {out['run_ms_median']} ms, max {out['run_ms_max']} ms over "
        f"{out['runs']} runs; baseline day rollup of {HISTORY_DAYS} days: median {out['baseline_ms_median']} ms")
    return out
