"""A synthetic but realistic data set: a config with thousands of locations and a SQLite
store with a million mentions, for benchmarks and exports at scale.

Real crawls of that size are neither possible in tests nor redistributable, so the
distributions that matter to metrics are modelled instead: each location has its own
quality, volume, response rate and weak aspect; ratings are J-shaped (many 5s, some 1s);
sentiment and aspect sentiment follow the rating; zh/en by city; volume varies by weekday
and season; engagement is heavy-tailed. Texts are short templates (the NLP fields are
generated, not computed by the models). Everything comes from one ``random.Random(seed)``,
so a seed always gives the same mentions.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from nlp.aspects import CATEGORY_DOMAIN, taxonomy

END = date(2026, 11, 30)
"""Mentions are published in the ``days`` before this date (fixed, so a seed is reproducible)."""

# city, region, lat, lon, share of locations, share of English mentions
CITIES = (
    ("Shanghai", "shanghai", 31.2304, 121.4737, 10, 0.15),
    ("Beijing", "beijing", 39.9042, 116.4074, 9, 0.12),
    ("Guangzhou", "guangzhou", 23.1291, 113.2644, 6, 0.08),
    ("Shenzhen", "shenzhen", 22.5431, 114.0579, 6, 0.10),
    ("Chengdu", "chengdu", 30.5728, 104.0668, 5, 0.05),
    ("Chongqing", "chongqing", 29.5630, 106.5516, 4, 0.04),
    ("Hangzhou", "hangzhou", 30.2741, 120.1551, 4, 0.08),
    ("Wuhan", "wuhan", 30.5928, 114.3055, 4, 0.04),
    ("Xi'an", "xian", 34.3416, 108.9398, 3, 0.08),
    ("Nanjing", "nanjing", 32.0603, 118.7969, 3, 0.05),
    ("Suzhou", "suzhou", 31.2989, 120.5853, 3, 0.06),
    ("Tianjin", "tianjin", 39.3434, 117.3616, 3, 0.04),
    ("Xiamen", "xiamen", 24.4798, 118.0894, 2, 0.08),
    ("Qingdao", "qingdao", 36.0671, 120.3826, 2, 0.06),
    ("Sanya", "sanya", 18.2528, 109.5119, 1.5, 0.15),
    ("Hong Kong", "hongkong", 22.3193, 114.1694, 3, 0.45),
    ("Singapore", "singapore", 1.3521, 103.8198, 2, 0.75),
)
CATEGORIES = {"hotel": 0.35, "restaurant": 0.40, "store": 0.25}
BRANDS = {  # category -> (id, name); the first is the own brand
    "hotel": (("harbor", "Harbor Hotels"), ("lotus", "Lotus Inn"), ("summit", "Summit Suites"),
              ("jade", "Jade Garden Hotels"), ("mariner", "Mariner Stay"), ("bamboo", "Bamboo Lodge")),
    "restaurant": (("beanleaf", "Bean & Leaf"), ("kopi", "Kopi Corner"), ("lanzhou", "Lanzhou Noodle House"),
                   ("redpot", "Red Pot Hotpot"), ("goldendimsum", "Golden Dim Sum"), ("burgerlab", "Burger Lab")),
    "store": (("urbanthread", "Urban Thread"), ("pixel", "Pixel Electronics"), ("greenmart", "Green Mart"),
              ("glow", "Glow Cosmetics"), ("stride", "Stride Sports")),
}
OWN_SHARE = 0.1
RADIUS_KM = {"hotel": 3.0, "restaurant": 1.5, "store": 2.0}
# per category: (source kind, site, mention kind, rating scale or None, share of mentions)
SITES = {
    "hotel": (("hotel_reviews", "stayadvisor", "review", 5.0, 0.45), ("hotel_reviews", "tripbook", "review", 10.0, 0.25),
              ("weibo_feed", "weibo", "post", None, 0.2), ("forum", "travelbbs", "post", None, 0.1)),
    "restaurant": (("mall_comments", "tastemap", "review", 5.0, 0.55), ("mall_comments", "deliverly", "review", 5.0, 0.2),
                   ("weibo_feed", "weibo", "post", None, 0.2), ("rss", "foodblog", "post", None, 0.05)),
    "store": (("mall_comments", "shopmall", "review", 5.0, 0.6), ("weibo_feed", "weibo", "post", None, 0.25),
              ("forum", "shopbbs", "comment", None, 0.15)),
}
BASE_STARS = (0.12, 0.06, 0.10, 0.22, 0.50)
"""J-shaped share of 1..5 stars at average quality."""
LOCAL_HOUR = (0.3, 0.15, 0.1, 0.05, 0.05, 0.1, 0.3, 0.6, 0.9, 1.0, 1.1, 1.2, 1.4, 1.3, 1.1, 1.0, 1.0, 1.1, 1.3,
              1.5, 1.8, 1.9, 1.5, 0.8)
"""Posting activity by local hour (UTC+8): quiet at night, peaks in the evening."""
WEEKDAY = {"hotel": (1.1, 0.9, 0.9, 0.9, 1.0, 1.2, 1.3), "restaurant": (0.8, 0.8, 0.9, 0.9, 1.2, 1.6, 1.5),
           "store": (0.9, 0.9, 0.9, 1.0, 1.1, 1.4, 1.3)}
PHRASES = {
    "zh": {"positive": ("很好", "非常满意", "超出预期"), "neutral": ("一般", "还可以"), "negative": ("很差", "太失望了")},
    "en": {"positive": ("was great", "was excellent"), "neutral": ("was okay", "was average"),
           "negative": ("was terrible", "was disappointing")},
}
OVERALL = {"zh": {"positive": "整体很满意，推荐", "neutral": "还行吧", "negative": "体验很差，不会再来"},
           "en": {"positive": "Loved it, recommended", "neutral": "It was fine", "negative": "Bad experience, never again"}}
REPLY = {"zh": "感谢您的反馈，期待再次光临", "en": "Thank you for your feedback, we hope to welcome you again"}


@dataclass(frozen=True, slots=True)
class SynthResult:
    config: Path
    db: Path
    locations: int
    mentions: int
    seconds: float


@dataclass(slots=True)
class _Loc:
    id: str
    name: str
    brand: str
    category: str
    lat: float
    lon: float
    region: str
    own: bool
    en_share: float
    quality: float
    volume: float
    response_rate: float
    aspect_bias: dict[str, float]


def generate(out: str | Path, *, locations: int = 4000, mentions: int = 1_000_000, seed: int = 1,
             days: int = 730, batch: int = 50_000) -> SynthResult:
    """Write ``out/vocwatch.toml``, ``out/locations.csv`` and ``out/synth.db`` (replaced if present)."""
    if locations < 1 or mentions < 0 or days < 1:
        raise ValueError("need at least 1 location and 1 day, and 0 or more mentions")
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    locs = _locations(rnd, locations)
    db = out / "synth.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)
    _write_config(out, db, locs)
    store = SQLiteStore(str(db))
    try:
        n = store.insert_new(_mentions(rnd, locs, mentions, days), batch=batch)
    finally:
        store.close()
    return SynthResult(out / "vocwatch.toml", db, len(locs), n, time.perf_counter() - started)


def _locations(rnd: random.Random, n: int) -> list[_Loc]:
    """Locations clustered around a few hot spots per city, 10% of them own."""
    hotspots = {c[1]: [(c[2] + rnd.gauss(0, 0.04), c[3] + rnd.gauss(0, 0.05)) for _ in range(rnd.randint(3, 6))]
                for c in CITIES}
    aspect_ids = {cat: [a.id for a in taxonomy(CATEGORY_DOMAIN[cat]).aspects] for cat in CATEGORIES}
    cities = rnd.choices(CITIES, weights=[c[4] for c in CITIES], k=n)
    cats = rnd.choices(list(CATEGORIES), weights=list(CATEGORIES.values()), k=n)
    serial: dict[tuple[str, str], int] = {}
    out = []
    for city, cat in zip(cities, cats, strict=True):
        own = rnd.random() < OWN_SHARE
        brand_id, brand_name = BRANDS[cat][0] if own else rnd.choice(BRANDS[cat][1:])
        key = (brand_id, city[1])
        serial[key] = serial.get(key, 0) + 1
        lat, lon = rnd.choice(hotspots[city[1]])
        weak = rnd.choice(aspect_ids[cat])
        out.append(_Loc(
            id=f"{brand_id}-{city[1]}-{serial[key]:03d}",
            name=f"{brand_name} {city[0]} {serial[key]}",
            brand=brand_id, category=cat,
            lat=round(lat + rnd.gauss(0, 0.012), 5), lon=round(lon + rnd.gauss(0, 0.014), 5),
            region=city[1], own=own,
            en_share=min(0.95, city[5] + (0.1 if cat == "hotel" else 0.0)),
            quality=max(-2.0, min(2.0, rnd.gauss(0.25 if own else 0.0, 0.7))),
            volume=rnd.lognormvariate(0, 0.9),
            response_rate=rnd.betavariate(4, 2) if own else rnd.betavariate(1.2, 3),
            aspect_bias={a: (-0.6 if a == weak else rnd.gauss(0, 0.15)) for a in aspect_ids[cat]},
        ))
    return out


def _write_config(out: Path, db: Path, locs: list[_Loc]) -> None:
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = [
        "# Synthetic data set written by `vocwatch synth`: own locations here, competitors in locations.csv.",
        'location_files = ["locations.csv"]', "",
        "[store]", f"url = {q('sqlite:///' + str(db.resolve()))}", "",
    ]
    for cat in CATEGORIES:
        for bid, name in BRANDS[cat]:
            lines += ["[[brands]]", f"id = {q(bid)}", f"name = {q(name)}", ""]
    own = [loc for loc in locs if loc.own]
    for loc in own:
        lines += ["[[locations]]", f"id = {q(loc.id)}", f"name = {q(loc.name)}", f"brand = {q(loc.brand)}",
                  f"category = {q(loc.category)}", f"lat = {loc.lat}", f"lon = {loc.lon}", f"region = {q(loc.region)}",
                  'role = "own"', f"competitors = {{ radius_km = {RADIUS_KM[loc.category]} }}", ""]
    for loc in own:
        for kind, site, *_ in SITES[loc.category]:
            lines += ["[[sources]]", f"id = {q(f'{loc.id}/{site}')}", f"location = {q(loc.id)}", f"kind = {q(kind)}",
                      f"url = {q(f'https://{site}.example/{loc.id}')}", f"site = {q(site)}", ""]
    (out / "vocwatch.toml").write_text("\n".join(lines), encoding="utf-8")
    with open(out / "locations.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "brand", "category", "lat", "lon", "region", "role"])
        w.writerows([loc.id, loc.name, loc.brand, loc.category, loc.lat, loc.lon, loc.region, "competitor"]
                     for loc in locs if not loc.own)


def _day_weights(category: str, days: int) -> list[float]:
    """Cumulative weights of each day: weekday pattern, season, holidays, slow growth."""
    start = END - timedelta(days=days)
    acc, out = 0.0, []
    for d in range(days):
        day = start + timedelta(days=d)
        doy = day.timetuple().tm_yday
        w = WEEKDAY[category][day.weekday()] * (0.8 + 0.4 * d / days)
        if category == "hotel":
            w *= 1 + 0.35 * math.cos(2 * math.pi * (doy - 200) / 365) + (0.8 if day.month == 10 and day.day <= 7 else 0)
        elif category == "store":
            w *= 1 + (2.0 if (day.month, day.day) == (11, 11) else 0) + (1.0 if (day.month, day.day) == (6, 18) else 0)
        else:
            w *= 1 + 0.1 * math.cos(2 * math.pi * (doy - 30) / 365)
        acc += w
        out.append(acc)
    return out


def _cumulative(weights: list[float] | tuple[float, ...]) -> list[float]:
    acc, out = 0.0, []
    for w in weights:
        acc += w
        out.append(acc)
    return out


def _label(score: float) -> str:
    return "positive" if score > 0.2 else "negative" if score < -0.2 else "neutral"


def _mentions(rnd: random.Random, locs: list[_Loc], total: int, days: int) -> Iterator[Mention]:
    start = datetime(END.year, END.month, END.day, tzinfo=UTC) - timedelta(days=days)
    end = start + timedelta(days=days)
    day_cum = {cat: _day_weights(cat, days) for cat in CATEGORIES}
    hour_cum = _cumulative(LOCAL_HOUR)
    aspects = {cat: {a.id: a for a in taxonomy(CATEGORY_DOMAIN[cat]).aspects} for cat in CATEGORIES}
    counts = [0] * len(locs)
    for i in rnd.choices(range(len(locs)), weights=[loc.volume for loc in locs], k=total):
        counts[i] += 1
    seq = 0
    for loc, count in zip(locs, counts, strict=True):
        if not count:
            continue
        sites = SITES[loc.category]
        stars_cum = _cumulative([p * math.exp(0.9 * loc.quality * (k - 2)) for k, p in enumerate(BASE_STARS)])
        asp = aspects[loc.category]
        asp_ids = list(asp)
        for site, day, hour, star in zip(
            rnd.choices(sites, cum_weights=_cumulative([s[4] for s in sites]), k=count),
            rnd.choices(range(days), cum_weights=day_cum[loc.category], k=count),
            rnd.choices(range(24), cum_weights=hour_cum, k=count),
            rnd.choices((1, 2, 3, 4, 5), cum_weights=stars_cum, k=count),
            strict=True,
        ):
            seq += 1
            _, site_name, kind, scale, _ = site
            published = start + timedelta(days=day, hours=hour - 8, seconds=rnd.randrange(3600))
            score = max(-1.0, min(1.0, (star - 3) * 0.38 + rnd.gauss(0, 0.22)))
            label = _label(score)
            lang = "en" if rnd.random() < loc.en_share else "zh"
            found = dict.fromkeys(rnd.choices(asp_ids, k=rnd.choices((0, 1, 2, 3), cum_weights=(25, 65, 90, 100))[0]))
            aspect_rows = []
            clauses = []
            for a in found:
                a_score = round(max(-1.0, min(1.0, score + loc.aspect_bias[a] + rnd.gauss(0, 0.25))), 3)
                a_label = _label(a_score)
                aspect_rows.append({"aspect": a, "sentiment": a_label, "score": a_score})
                phrase = rnd.choice(PHRASES[lang][a_label])
                clauses.append(f"{asp[a].zh[0]}{phrase}" if lang == "zh" else f"The {asp[a].label.lower()} {phrase}")
            text = ("，" if lang == "zh" else ". ").join(clauses) if clauses else OVERALL[lang][label]
            rated = scale is not None
            replied = rated and rnd.random() < loc.response_rate * (1.4 if label == "negative" else 1.0)
            posted = kind != "review"
            m = Mention(
                site=site_name, kind=kind, url=f"https://{site_name}.example/{loc.id}/{seq}", text=text,
                external_id=str(seq), source_id=f"{loc.id}/{site_name}", location_id=loc.id, brand=loc.brand,
                author=f"u_{rnd.getrandbits(64):016x}",
                rating_raw=star * scale / 5 if rated else None, rating_scale=scale, rating=float(star) if rated else None,
                published_at=published, crawled_at=min(end, published + timedelta(seconds=rnd.randrange(3600, 72 * 3600))),
                language=lang,
                likes=int(rnd.paretovariate(1.1 if posted else 1.4)) - 1,
                reposts=int(rnd.paretovariate(1.5)) - 1 if posted else None,
                comments=int(rnd.paretovariate(1.3)) - 1 if posted else None,
                reply_text=REPLY[lang] if replied else None,
                reply_at=published + timedelta(seconds=int(rnd.expovariate(1 / 30) * 3600)) if replied else None,
                sentiment_label=label, sentiment_score=round(score, 3), aspects=aspect_rows, nlp_model="synth-1",
            )
            # every datetime is whole seconds, as stored, so the hash matches the stored record
            m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
            yield m
