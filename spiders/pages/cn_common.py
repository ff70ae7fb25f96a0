"""Helpers the Chinese-site adapters share: strict integer fields and query parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit


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
