"""Dashboard API: who am I, my locations, crawl health, and one location against its set."""

from __future__ import annotations

from datetime import UTC
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from crawlers.items import Mention
from crawlers.store.base import MentionQuery
from monitor.dashboard.routes import HTTPError, Request, route
from monitor.metrics import aspect_trend, benchmark, parse_window, trend

MAX_NEGATIVE = 100
"""The most mentions one list of the location page asks for (the inbox pages through more)."""
HIGHLIGHTS = ("positive", "negative")


def iso(dt: Any) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def mention_json(m: Mention) -> dict[str, Any]:
    """A mention as the page shows it; links only for http(s) URLs."""
    link = getattr(m, "permalink", None) or m.url
    return {
        "fingerprint": m.fingerprint, "published_at": iso(m.published_at), "site": m.site, "source_id": m.source_id,
        "location_id": m.location_id, "kind": m.kind, "title": m.title, "text": m.text, "author": m.author,
        "truncated": m.truncated,  # a snippet the site cut: the page shows it marked
        "rating": m.rating, "sentiment_label": m.sentiment_label, "sentiment_score": m.sentiment_score,
        "language": m.language, "aspects": m.aspects, "reply_text": m.reply_text, "reply_at": iso(m.reply_at),
        "url": link if urlsplit(link).scheme in ("http", "https") else None,
        "is_permalink": bool(getattr(m, "permalink", None)),
    }


def location_json(loc: Any) -> dict[str, Any]:
    return {"id": loc.id, "name": loc.name, "brand": loc.brand, "region": loc.region, "category": loc.category}


@route("GET", r"/api/me")
def me(req: Request) -> dict[str, Any]:
    from nlp.aspects import taxonomy

    return {"scope": req.record.scope, "label": req.record.label, "locations": len(req.allowed),
            "admin": req.is_admin, "csrf": req.dashboard.csrf_for(req),
            "kinds": sorted({k for k in ("region", "brand") if req.scope and req.scope.kind in (k, "all")}),
            "aspects": {a.id: {"en": a.label, "zh": a.label_zh} for a in taxonomy(None).aspects}}


@route("GET", r"/api/health")
def health(req: Request) -> dict[str, Any]:
    if not req.is_admin:
        raise HTTPError(HTTPStatus.FORBIDDEN, "crawl health is shown to administrators only (scope all)")
    return {"sources": req.dashboard.health()}


@route("GET", r"/api/locations")
def locations(req: Request) -> dict[str, Any]:
    return {"locations": [location_json(loc) for loc in req.allowed.values()]}


@route("GET", r"/api/locations/([^/]+)/benchmark")
def location_benchmark(req: Request) -> dict[str, Any]:
    (lid,) = req.params
    req.check_location(lid)
    (b,) = benchmark(req.dashboard.config, req.dashboard.store, location_ids=[lid], window=req.window("90d"),
                     now=req.now)
    return b.to_dict()


def _bucket(req: Request) -> str:
    bucket = req.param("bucket", "week")
    if bucket not in ("day", "week", "month"):
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad bucket {bucket!r}: use day, week or month")
    return bucket


@route("GET", r"/api/locations/([^/]+)/trend")
def location_trend(req: Request) -> dict[str, Any]:
    (lid,) = req.params
    req.check_location(lid)
    window = req.window("365d")
    bucket = _bucket(req)
    points = trend(req.dashboard.config, req.dashboard.store, lid, bucket=bucket, window=window, now=req.now)
    return {"location": lid, "bucket": bucket, "window": window, "points": points}


@route("GET", r"/api/locations/([^/]+)/aspect-trend")
def location_aspect_trend(req: Request) -> dict[str, Any]:
    """Net sentiment per aspect and bucket, own beside the set (the small multiples)."""
    (lid,) = req.params
    req.check_location(lid)
    window = req.window("365d")
    bucket = _bucket(req)
    aspects = aspect_trend(req.dashboard.config, req.dashboard.store, lid, bucket=bucket, window=window, now=req.now)
    return {"location": lid, "bucket": bucket, "window": window, "aspects": aspects}


def _latest(req: Request, lid: str, sentiment: str) -> dict[str, Any]:
    """The latest mentions of one label in the window, newest first, from the store's query
    (the filter runs in SQL or Mongo: a location with years of mentions reads only these)."""
    window = req.window("90d")
    limit = req.whole("limit", 20, 1, MAX_NEGATIVE)
    q = MentionQuery(location_ids=(lid,), since=req.now - parse_window(window), until=req.now,
                     sentiments=(sentiment,), limit=limit)
    found = req.dashboard.store.query_mentions(q)
    return {"location": lid, "window": window, "sentiment": sentiment, "mentions": [mention_json(m) for m in found]}


@route("GET", r"/api/locations/([^/]+)/mentions")
def location_mentions(req: Request) -> dict[str, Any]:
    """``?sentiment=positive|negative&limit=&window=``: the highlights beside the complaints."""
    (lid,) = req.params
    req.check_location(lid)
    sentiment = req.param("sentiment", "negative")
    if sentiment not in HIGHLIGHTS:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad sentiment {sentiment!r}: use positive or negative")
    return _latest(req, lid, sentiment)


@route("GET", r"/api/locations/([^/]+)/negative")
def location_negative(req: Request) -> dict[str, Any]:
    """The latest negative mentions (kept for links and scripts made before ``/mentions``)."""
    (lid,) = req.params
    req.check_location(lid)
    return _latest(req, lid, "negative")
