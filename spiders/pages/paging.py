"""URL helpers for pagination rules, without Scrapy (page objects import no Scrapy)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def with_query(url: str, **params: Any) -> str:
    """``url`` with query parameters set (added or replaced), e.g. a cursor or page number."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items()})
    return urlunsplit(parts._replace(query=urlencode(query)))
