"""Small helpers the real-site adapters share: numbers from JSON/strings, a rating with its
scale, and a Mention with the text cleaned and the rating normalised, so every adapter fills
fields the same way."""

from __future__ import annotations

import math
import re
from typing import Any

from crawlers.items import Mention
from crawlers.processors import clean_text, normalise_rating


def number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric string; None for anything else (bools,
    dicts, lists, NaN, infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        result = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (ValueError, OverflowError):
        return None
    return result if math.isfinite(result) else None


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else ``{}``: ``obj(r.get("author")).get("name")``
    reads a nested field without failing where the site sent a string, list or null."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array (other elements skipped); ``[]`` when it is not an array."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def dig(value: Any, *path: str | int) -> Any:
    """``value[path[0]][path[1]]...`` through objects (str keys) and arrays (int indexes);
    None as soon as the shape differs from the one expected."""
    for key in path:
        if isinstance(key, str) and isinstance(value, dict):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return None
    return value


def ident(value: Any) -> str | None:
    """A site id as text: a string or an integer as sent; None for anything else (a
    dict or float id would give every review the same meaningless fingerprint key)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        return str(value)
    return None


def string(value: Any) -> str | None:
    """A string field as sent; None for a number, object, array or null where text belongs."""
    return value if isinstance(value, str) else None


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


MORE_WORDS = frozenset({
    "more", "read more", "see more", "show more", "mer", "les mer", "vis mer", "plus", "lire la suite",
    "voir plus", "mehr", "weiterlesen", "meer", "lees meer", "más", "leer más", "ver más", "mais", "ler mais",
    "altro", "leggi di più", "więcej", "ещё", "еще", "далее", "更多", "展开", "全文", "展开全文", "もっと見る",
    "続きを読む", "더보기", "continue reading", "keep reading", "read the rest", "read full review",
})  # fmt: skip
"""What a "read the rest" control says, lower-cased, in the markets' languages."""
_ELLIPSIS_END = re.compile(r"(?:…|\.\.\.)\s*$")


def says_more(label: Any) -> bool:
    """Whether a link or button label is a "More" control ("Mer", "Plus", "Read more…")."""
    if not isinstance(label, str):
        return False
    return " ".join(label.lower().split()).strip(" .…»›>→+()[]\u00a0") in MORE_WORDS


def ends_cut(text: Any) -> bool:
    """Whether a text ends in an ellipsis ("…" or "..."): how a listing marks a snippet.
    Only a hint (a writer may end on "..."): page objects use it beside the page's own sign
    (a "More" control, a field named as a snippet), never alone on a full-text page."""
    return isinstance(text, str) and bool(_ELLIPSIS_END.search(text))
