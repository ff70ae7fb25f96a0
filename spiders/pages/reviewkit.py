"""Small helpers the real-site adapters share: numbers from JSON/strings, a rating with its
scale, and a Mention with the text cleaned and the rating normalised, so every adapter fills
fields the same way."""

from __future__ import annotations

from typing import Any

from crawlers.items import Mention
from crawlers.processors import clean_text, normalise_rating


def number(value: Any) -> float | None:
    """A float from a JSON number or numeric string; None for anything else (bools too)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def rating_fields(raw: Any, scale: float) -> dict[str, float | None]:
    """``rating_raw``/``rating_scale``/``rating`` for a numeric score on ``scale`` (all None if absent)."""
    value = number(raw)
    if value is None:
        return {"rating_raw": None, "rating_scale": None, "rating": None}
    return {"rating_raw": value, "rating_scale": scale, "rating": normalise_rating(value, scale)}


def review(site: str, url: str, text: Any, *, rating_raw: float | None = None,
           rating_scale: float | None = None, **fields: Any) -> Mention:
    """A ``review`` Mention with text/title/reply/region cleaned and ``rating`` filled.

    Cleaning here (the clean pipeline does it again, idempotently) lets tests and
    ``vocwatch parse`` see the stored form straight from the adapter.
    """
    for name in ("title", "reply_text", "author_region", "variant", "author"):
        if isinstance(fields.get(name), str):
            fields[name] = clean_text(fields[name]) or None
    scale = rating_scale if rating_raw is not None else None
    return Mention(
        site=site, kind=fields.pop("kind", "review"), url=url, text=clean_text(text),
        rating_raw=rating_raw, rating_scale=scale,
        rating=normalise_rating(rating_raw, scale) if rating_raw is not None else None,
        **fields,
    )
