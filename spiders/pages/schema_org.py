"""Zero-config reviews from any page that marks them up with schema.org: ``Review``
items (and ``AggregateRating``) in JSON-LD, microdata or RDFa, read by ``extruct``.

``extruct``'s uniform output turns all three syntaxes into JSON-LD-like dicts, so one
walker finds ``Review`` nodes wherever they nest (``@graph``, ``review`` of a Recipe or
Hotel, lists). A rating without ``bestRating`` is on schema.org's default 1-5 scale.
Dates without a zone use the caller's ``Page.tz``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import extruct

from crawlers.items import Mention
from spiders.pages.base import Page, PageObject
from spiders.pages.registry import site
from spiders.pages.reviewkit import ident, number, review, string

SITE = "schema_org"
_SYNTAXES = ["json-ld", "microdata", "rdfa"]


def _types(node: dict[str, Any]) -> set[str]:
    t = node.get("@type", [])
    return {str(x).rsplit("/", 1)[-1] for x in (t if isinstance(t, list) else [t])}


def _short(key: str) -> str:
    return key.rsplit("/", 1)[-1] if key.startswith(("http://schema.org/", "https://schema.org/")) else key


def _rdfa(nodes: list[Any]) -> list[dict[str, Any]]:
    """RDFa comes out flat (full-IRI keys, ``{"@id": ...}`` links): shorten the keys and
    inline linked nodes (a few levels deep, so cycles end) to look like JSON-LD."""
    by_id = {n["@id"]: n for n in nodes if isinstance(n, dict) and "@id" in n}

    def norm(node: Any, depth: int) -> Any:
        if isinstance(node, list):
            return [norm(x, depth) for x in node]
        if not isinstance(node, dict):
            return node
        if set(node) == {"@id"} and node["@id"] in by_id and depth < 4:
            node = by_id[node["@id"]]
        return {_short(k): norm(v, depth + 1) if k != "@type" else v for k, v in node.items()}

    linked = {v["@id"] for n in by_id.values() for vs in n.values() if isinstance(vs, list)
              for v in vs if isinstance(v, dict) and set(v) == {"@id"}}
    return [norm(n, 0) for n in nodes if isinstance(n, dict) and n.get("@id") not in linked]  # roots only


def _nodes(page: Page) -> Iterator[dict[str, Any]]:
    """Every dict in the page's structured data, depth first, in document order."""
    data = extruct.extract(page.text, base_url=page.url, syntaxes=_SYNTAXES, uniform=True, errors="ignore")
    data["rdfa"] = _rdfa(data.get("rdfa") or [])
    # a syntax extruct could not read (errors="ignore") is missing from its result
    stack: list[Any] = [data.get(s) or [] for s in reversed(_SYNTAXES)]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            yield node
            stack.extend(reversed(list(node.values())))


def _first(value: Any) -> Any:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict) and "@value" in value:  # RDFa literal
        return value["@value"]
    return value


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = _first(value.get("name"))
    return ident(value) if not isinstance(value, float) else None


def _mention(r: dict[str, Any], page: Page) -> Mention:
    rating = _first(r.get("reviewRating"))
    rating = rating if isinstance(rating, dict) else {}
    value = number(_first(rating.get("ratingValue")))
    best = number(_first(rating.get("bestRating"))) or 5.0
    date_raw = string(_first(r.get("datePublished")))
    rid = ident(_first(r.get("identifier"))) or ident(_first(r.get("@id")))
    return review(
        SITE, page.url, _first(r.get("reviewBody")) or _first(r.get("description")) or "",
        rating_raw=value, rating_scale=best, external_id=rid,
        # schema.org's url of the Review (its own page); an @id is a name, not a promise of a page
        permalink=page.permalink(string(_first(r.get("url")))),
        title=_name(r.get("name")) or _name(r.get("headline")), author=_name(r.get("author")),
        published_raw=date_raw, published_at=page.parse_date(date_raw) if date_raw else None,
        language=_first(r.get("inLanguage")) if isinstance(_first(r.get("inLanguage")), str) else None,
    )


@site(SITE, id_scope="url")  # any site's markup: an @id promises nothing beyond its page
class SchemaOrgPage(PageObject):
    def mentions(self) -> list[Mention]:
        """One review per schema.org ``Review`` with a body or a ``reviewRating`` (a rating-only
        review is kept with text ``""``); an HTML page without any yields [], a JSON body is a
        malformed page."""
        page = self.page
        page.require_html("schema.org markup")
        out = [_mention(n, page) for n in _nodes(page) if "Review" in _types(n)]
        return [m for m in out if m.text or m.rating is not None]


def aggregate_ratings(page: Page) -> list[dict[str, float | None]]:
    """Each ``AggregateRating``: value, scale (default 5) and review/rating count."""
    out = []
    for n in _nodes(page):
        if "AggregateRating" in _types(n):
            count = _first(n.get("reviewCount")) or _first(n.get("ratingCount"))
            out.append({"rating": number(_first(n.get("ratingValue"))),
                        "scale": number(_first(n.get("bestRating"))) or 5.0, "count": number(count)})
    return out
