"""Helpers the Chinese-site adapters share: dates against the page clock, counts, query URLs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crawlers.processors import normalise_rating, parse_datetime
from spiders.pages.base import Page


def page_dt(page: Page, raw: Any) -> datetime | None:
    """``raw`` resolved to UTC against the page's fetch time and zone (relative forms too)."""
    return parse_datetime(raw, now=page.now, tz=page.tz) if raw not in (None, "") else None


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def as_int(value: Any) -> int | None:
    """An int from an int or a digit string (APIs mix them); ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def rating_fields(raw: Any, scale: float) -> dict[str, float | None]:
    """``rating_raw``/``rating_scale``/``rating`` for a numeric score on ``scale`` (all None if absent)."""
    value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    if value is None and isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            value = None
    if value is None:
        return {"rating_raw": None, "rating_scale": None, "rating": None}
    return {"rating_raw": value, "rating_scale": scale, "rating": normalise_rating(value, scale)}
