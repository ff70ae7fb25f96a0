"""Config-only sources: a site described by selectors instead of code (``kind = "selectors"``).

A user adds a review site or forum by writing, under the source, which element is one
mention and where each field sits in it, plus how to reach the next page::

    [[sources]]
    location = "harbor-sh-bund"
    kind = "selectors"
    url = "https://forum.example/thread-1.html"
    timezone = "Europe/Zurich"

    [sources.selectors]
    item = "li.postbit"                    # CSS; "xpath:..." for XPath; a dotted path for JSON
    kind = "comment"                       # review | post | comment (default review)
    exclude = [".bbcode_container"]        # removed from each item first (quotes, signatures)
    next_page = "link[rel=next]::attr(href)"
    id_scope = "source"                    # where external_id is unique: global | host | url | source

    [sources.selectors.fields]
    text = "blockquote.postcontent"        # an element: its text as a reader sees it
    author = "a.username::text"
    date = "xpath:.//dl[@class='userstats']/dd[1]"
    external_id = { select = "xpath:@id", regex = "post_(\\d+)" }
    rating = ".score::text"                # with rating_scale = 10 in [sources.selectors]

``type = "json"`` reads a JSON body: ``item`` and the fields are dotted paths
(``post_stream.posts``, ``actions_summary.0.count``); ``next_page`` is a path to the next
URL, or to a cursor when ``next_param`` names the query parameter it goes into. Instead of
``next_page``, ``page_param = "page"`` pages by number until a page has no items.

Everything is checked when the config loads: unknown keys and fields, CSS/XPath syntax,
regexes. Selectors only select; nothing from the page is evaluated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from config.loader import ConfigError, _Reader
from config.model import ID_SCOPES

FIELDS = ("text", "title", "author", "author_region", "date", "rating", "likes", "reposts", "comments",
          "url", "external_id", "reply_text", "reply_date", "variant")
"""Fields a selector can fill; ``date`` and ``reply_date`` become ``published_at``/``reply_at``."""
ITEM_KINDS = ("review", "post", "comment")
PAGE_TYPES = ("html", "json")
XPATH = "xpath:"


@dataclass(frozen=True, slots=True)
class FieldRule:
    select: str
    """CSS (``::text``/``::attr(x)`` allowed), ``xpath:EXPR``, or a dotted JSON path."""
    regex: re.Pattern[str] | None = None
    """Keep the first group (or the whole match) of this pattern in the selected text."""


@dataclass(frozen=True, slots=True)
class SelectorSpec:
    item: str
    fields: tuple[tuple[str, FieldRule], ...]
    """(field name, rule) pairs; a tuple keeps the spec, and so its Source, hashable."""
    type: str = "html"
    kind: str = "review"
    exclude: tuple[str, ...] = ()
    rating_scale: float | None = None
    next_page: str | None = None
    next_param: str | None = None
    page_param: str | None = None
    id_scope: str = "source"
    """Where the site keeps ``external_id`` unique (``crawlers.items.ID_SCOPES``): by
    default only within this source, so two sources whose pages number their items 1, 2, 3
    never overwrite each other; ``global`` when the site's ids are platform-wide."""


def _check_css_or_xpath(value: str) -> str | None:
    from parsel import Selector

    try:
        if value.startswith(XPATH):
            Selector(text="<html></html>").xpath(value.removeprefix(XPATH))
        else:
            Selector(text="<html></html>").css(value)
    except Exception as exc:  # parsel raises several types (ValueError, SelectorSyntaxError, ExpressionError)
        return f"bad selector {value!r}: {exc}"
    return None


def _check_path(value: str) -> str | None:
    if not value or any(not part for part in value.split(".")):
        return f"bad JSON path {value!r}: dotted keys like 'data.items' or 'posts.0.id'"
    return None


def _check_regex(value: str) -> str | None:
    try:
        re.compile(value)
    except re.error as exc:
        return f"bad regex {value!r}: {exc}"
    return None


def read_selector_spec(r: _Reader) -> SelectorSpec:
    """Read and validate a ``[sources.selectors]`` table (``r`` is positioned on it)."""
    page_type = r.get("type", str, "html", check=lambda v: None if v in PAGE_TYPES else f"must be one of: {', '.join(PAGE_TYPES)}")
    check = _check_css_or_xpath if page_type == "html" else _check_path
    item = r.get("item", str, check=check)
    fields_r = _Reader(r.file, r.key("fields"), r.get("fields", dict))
    fields: dict[str, FieldRule] = {}
    for name in list(fields_r.table):
        if name not in FIELDS:
            fields_r.fail(name, f"unknown field (allowed: {', '.join(FIELDS)})")
        raw = fields_r.get(name, (str, dict))
        if isinstance(raw, str):
            if problem := check(raw):
                fields_r.fail(name, problem)
            fields[name] = FieldRule(raw)
            continue
        fr = _Reader(r.file, fields_r.key(name), raw)
        select = fr.get("select", str, check=check)
        regex = fr.get("regex", str, None, check=_check_regex)
        fr.done()
        fields[name] = FieldRule(select, re.compile(regex) if regex else None)
    fields_r.done()
    if "text" not in fields:
        fields_r.fail("", "a 'text' field is required")
    exclude = r.get("exclude", list, [])
    for i, sel in enumerate(exclude):
        if not isinstance(sel, str) or (problem := _check_css_or_xpath(sel)):
            r.fail(f"exclude[{i}]", problem if isinstance(sel, str) else "expected a selector string")
    next_page = r.get("next_page", str, None, check=check)
    page_param = r.get("page_param", str, None)
    if next_page and page_param:
        r.fail("page_param", "give either next_page or page_param, not both")
    spec = SelectorSpec(
        item=item, fields=tuple(fields.items()), type=page_type,
        kind=r.get("kind", str, "review", check=lambda v: None if v in ITEM_KINDS else f"must be one of: {', '.join(ITEM_KINDS)}"),
        exclude=tuple(exclude),
        rating_scale=r.get("rating_scale", float, None, check=lambda v: None if v > 0 else "must be > 0"),
        next_page=next_page,
        next_param=r.get("next_param", str, None),
        page_param=page_param,
        id_scope=r.get("id_scope", str, "source",
                       check=lambda v: None if v in ID_SCOPES else f"must be one of: {', '.join(ID_SCOPES)}"),
    )
    if spec.next_param and not spec.next_page:
        r.fail("next_param", "needs next_page (the path or selector of the cursor)")
    r.done()
    return spec


def load_selector_file(path: str | Path) -> SelectorSpec:
    """A selectors spec from its own TOML file (``vocwatch parse --selectors FILE``): either
    a ``[selectors]`` table or the spec's keys at the top level."""
    import tomllib

    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path, "", f"invalid TOML: {exc}") from None
    if isinstance(raw.get("selectors"), dict):
        return read_selector_spec(_Reader(path, "selectors", raw["selectors"]))
    return read_selector_spec(_Reader(path, "", raw))
