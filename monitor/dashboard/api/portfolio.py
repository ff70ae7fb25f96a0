"""Dashboard API: the portfolio of a region, brand or chain (``monitor/portfolio.py``).

``GET /api/portfolio?window=90d&category=&region=&brand=&sort=movers&weeks=26``: the own
locations of the token's scope, filtered, ranked worst movers first, with the scope pooled
against its combined competitive sets. A location-scope token is refused (403): one
location has no portfolio, its page is ``/api/locations/<id>/benchmark``. Filters take
only values present in the token's scope (anything else is a 400 listing the ones it
has, so a filter tells nothing about locations outside the scope). ``category`` defaults
to the category most of the filtered locations are in: hotels and cafés are ranked
together only with ``category=all``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from monitor.dashboard.routes import HTTPError, Request, route
from monitor.portfolio import ALL, SORTS, SPARK_WEEKS, default_category, options, portfolio, select


def _choice(req: Request, name: str, allowed: list[tuple[str, int]], extra: tuple[str, ...] = ()) -> str | None:
    value = req.param(name)
    if not value:
        return None
    known = [v for v, _ in allowed]
    if value not in known and value not in extra:
        raise HTTPError(HTTPStatus.BAD_REQUEST,
                        f"bad {name} {value!r}: this token's locations have {', '.join([*extra, *known])}")
    return value


@route("GET", r"/api/portfolio")
def get_portfolio(req: Request) -> dict[str, Any]:
    if req.scope is None or req.scope.kind == "location":
        raise HTTPError(HTTPStatus.FORBIDDEN, "the portfolio is for region, brand and all scopes; "
                                              "a location token sees its location's page")
    scope = list(req.allowed.values())
    window = req.window("90d")
    sort = req.param("sort", "movers")
    if sort not in SORTS:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad sort {sort!r}: use {', '.join(SORTS)}")
    weeks = req.whole("weeks", SPARK_WEEKS, 4, 52)
    brands, regions, categories = (options(scope, a) for a in ("brand", "region", "category"))
    brand = _choice(req, "brand", brands)
    region = _choice(req, "region", regions)
    category = _choice(req, "category", categories, (ALL,))
    pool = select(scope, region=region, brand=brand)
    if category is None:
        category = default_category(pool) or ALL
    chosen = select(pool, category=category)
    config = req.dashboard.config
    p = portfolio(config, req.dashboard.store, [loc.id for loc in chosen], window=window, now=req.now, sort=sort,
                  weeks=weeks)
    out = p.to_dict()
    out["scope"] = req.record.scope
    out["filters"] = {"category": category, "region": region or "", "brand": brand or ""}
    out["options"] = {
        "categories": [{"id": c, "count": n} for c, n in categories],
        "regions": [{"id": r, "count": n} for r, n in regions],
        "brands": [{"id": b, "name": config.brands[b].name if b in config.brands else b, "count": n}
                   for b, n in brands],
    }
    return out
