"""The page object of config-only sources: applies a :class:`config.selectors.SelectorSpec`.

It turns any HTML page (CSS/XPath) or JSON body (dotted paths) into Mentions the way the
user's ``[sources.selectors]`` table says, and finds the next page by its rule. Values are
only selected and converted (dates, counts, ratings); nothing is evaluated.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from parsel import Selector
from parsel.selector import CannotRemoveElementWithoutParent, CannotRemoveElementWithoutRoot

from config.selectors import XPATH, FieldRule, SelectorSpec
from crawlers.items import Mention
from crawlers.processors import clean_text, normalise_rating, parse_count
from spiders.pages.base import MalformedPage, Page, PageObject, well_typed
from spiders.pages.htmltext import html_text
from spiders.pages.paging import with_query

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_INDEX_RE = re.compile(r"-?[0-9]{1,18}")


def _apply_regex(value: str | None, rule: FieldRule) -> str | None:
    if value is None or rule.regex is None:
        return value
    m = rule.regex.search(value)
    if m is None:
        return None
    return m.group(1) if m.groups() else m.group(0)


def _html_value(node: Selector, rule: FieldRule) -> str | None:
    found = node.xpath(rule.select.removeprefix(XPATH)) if rule.select.startswith(XPATH) else node.css(rule.select)
    if not found:
        return None
    if isinstance(found[0].root, str):  # text nodes, attributes, string() results
        value = clean_text(" ".join(" ".join(str(r.root).split()) for r in found if isinstance(r.root, str)))
    else:
        value = html_text(found[0].get())
    return _apply_regex(value or None, rule)


def _path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and _INDEX_RE.fullmatch(part) and -len(data) <= int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _json_value(item: Any, rule: FieldRule) -> str | int | float | None:
    """The value at the rule's path: a string or number as sent (a regex applies to its
    text); None where the path ends in an object, array, bool or nothing, because no
    field of a mention is an object (a dict nickname is not a name)."""
    value = _path(item, rule.select)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if rule.regex is None else _apply_regex(str(value), rule)


def _drop(node: Selector) -> None:
    """Remove an excluded node; one the page nests oddly (a text node, the root) stays."""
    with contextlib.suppress(CannotRemoveElementWithoutRoot, CannotRemoveElementWithoutParent):
        node.drop()


class SelectorPage(PageObject):
    def __init__(self, page: Page, spec: SelectorSpec) -> None:
        self.page, self.spec = page, spec
        if spec.type == "html":
            page.require_html("an HTML selectors source")
        self.data: Any = page.json() if spec.type == "json" else None

    def _items(self) -> list[Any]:
        if self.spec.type == "json":
            found = _path(self.data, self.spec.item)
            if found is None:
                raise MalformedPage(f"{self.page.url}: no {self.spec.item!r} in the JSON")
            return found if isinstance(found, list) else [found]
        sel, item = self.page.selector, self.spec.item
        return list(sel.xpath(item.removeprefix(XPATH)) if item.startswith(XPATH) else sel.css(item))

    def mentions(self) -> list[Mention]:
        out = []
        for item in self._items():
            values = self._values(item)
            if not values.get("text") and values.get("rating") in (None, ""):
                continue  # neither a body nor a rating (an ad, a deleted post): not a mention
            m = well_typed(self._mention(values))
            if m.text or m.rating is not None:  # a rating-only review is kept with text ""
                out.append(m)
        return out

    def _values(self, item: Any) -> dict[str, Any]:
        if self.spec.type == "json":
            values = {name: _json_value(item, rule) for name, rule in self.spec.fields}
            for name in ("text", "title", "reply_text"):
                if isinstance(values.get(name), str):
                    values[name] = html_text(values[name])
            return values
        if not isinstance(item, Selector) or isinstance(item.root, str):
            return {}  # the item selector matched text, not elements: nothing to read fields from
        for css in self.spec.exclude:
            for node in item.xpath(css.removeprefix(XPATH)) if css.startswith(XPATH) else item.css(css):
                _drop(node)
        return {name: _html_value(item, rule) for name, rule in self.spec.fields}

    def _mention(self, v: dict[str, Any]) -> Mention:
        page, scale = self.page, self.spec.rating_scale
        rating_text = None if v.get("rating") is None else str(v["rating"])[:64]
        number = _NUMBER_RE.search(rating_text or "")
        url = v.get("url")
        ext = v.get("external_id")
        date, reply_date = v.get("date"), v.get("reply_date")
        return Mention(
            site="", kind=self.spec.kind,
            url=page.urljoin(str(url)) if url else page.url,
            external_id=None if ext in (None, "") else str(ext),
            text=str(v.get("text") or ""),
            title=v.get("title") or None,
            author=None if v.get("author") is None else str(v["author"]),
            author_region=v.get("author_region") or None,
            rating_raw=float(number.group(0).replace(",", ".")) if number else None,
            rating_scale=scale,
            rating=normalise_rating(rating_text, scale) if rating_text else None,
            published_raw=None if date is None else str(date),
            published_at=page.parse_date(date),
            likes=parse_count(v.get("likes")),
            reposts=parse_count(v.get("reposts")),
            comments=parse_count(v.get("comments")),
            reply_text=v.get("reply_text") or None,
            reply_at=page.parse_date(reply_date),
            variant=v.get("variant") or None,
        )

    def next_url(self, found_items: bool = True) -> str | None:
        """The next page by the spec's rule: a selected link or cursor (``next_page``, into
        ``next_param`` when set), or this page's ``page_param`` + 1 while pages have items."""
        spec = self.spec
        if spec.page_param:
            if not found_items:
                return None
            current = dict(parse_qsl(urlsplit(self.page.url).query)).get(spec.page_param, "1")
            number = int(current) + 1 if _INDEX_RE.fullmatch(current) and not current.startswith("-") else 2
            return with_query(self.page.url, **{spec.page_param: number})
        if not spec.next_page:
            return None
        rule = FieldRule(spec.next_page)
        value = _json_value(self.data, rule) if spec.type == "json" else _html_value(self.page.selector, rule)
        if value in (None, "", 0):
            return None
        if spec.next_param:
            return with_query(self.page.url, **{spec.next_param: value})
        return self.page.urljoin(str(value))
