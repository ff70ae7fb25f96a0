"""Helpers the Chinese-site adapters share: strict integer fields and query parameters."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


_INT_RE = re.compile(r"\s*-?[0-9]{1,18}\s*")


def as_int(value: Any) -> int | None:
    """An int from an int or an ASCII digit string (APIs mix them); ``None`` otherwise,
    also for "--5", "²" or a 5,000-digit string, which ``int()`` would refuse."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value):
        return int(value)
    return None
