"""Names of vocwatch's crawl counters, shared by spiders, pipelines, run records and the CLI."""

from __future__ import annotations

from typing import Any

DROPPED = "vocwatch/dropped/"
"""Prefix of every drop counter: ``vocwatch/dropped/<reason>`` (items and pages)."""


def drops(stats: dict[str, Any]) -> dict[str, int]:
    """``reason -> count`` of the drop counters in a stats dict, sorted by reason."""
    return {k.removeprefix(DROPPED): v for k, v in sorted(stats.items()) if k.startswith(DROPPED)}


FIELDS = "vocwatch/fields/"
"""Prefix of the field-coverage counters: ``vocwatch/fields/<field>`` counts the mentions
read (``vocwatch/mentions/extracted``) that had the field; crawl health compares the share
with the source's earlier runs, so a redesign that loses a field is noticed."""
COVERAGE_FIELDS = ("text", "published_at", "rating", "author")
"""The fields whose coverage every run records (each key is written, 0 included, so a run
that recorded coverage is told apart from an older one that did not)."""


def has_field(mention: Any, name: str) -> bool:
    """Whether a mention as read has ``name`` (a rating counts when shown raw or normalised).
    Type-checked rather than truthiness: a parser may hand over a wrong type, never raise here."""
    if name == "rating":
        return isinstance(getattr(mention, "rating", None), int | float) or isinstance(
            getattr(mention, "rating_raw", None), int | float)
    value = getattr(mention, name, None)
    if isinstance(value, str):
        return bool(value.strip())
    return value is not None
