"""The page object of config-only sources: applies a :class:`config.selectors.SelectorSpec`.

It turns any HTML page (CSS/XPath), JSON body or JS-wrapped body (JSON paths), or JSON
embedded in an HTML page (``json_in``/``state``) into Mentions the way the user's
``[sources.selectors]`` table says, and finds the next page by its rule. Values are only
selected and converted (dates, counts, ratings); nothing is evaluated.

Several matches of one rule give one value: the first match that has a value (after the
field's regex), or every such value joined when the rule says ``join``. One rule for
elements, ``::text``, ``::attr()``, XPath and JSON paths alike; for ``::text`` a match is
one element's own text nodes, so ``p::text`` reads "Hello again" from
``<p>Hello <b>x</b> again</p>`` as it always did.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lxml import etree
from parsel import Selector
from parsel.csstranslator import css2xpath
from parsel.selector import CannotRemoveElementWithoutParent, CannotRemoveElementWithoutRoot

from config.selectors import (
    XPATH,
    FieldRule,
    SelectorSpec,
    Step,
    json_path_matches,
    parse_json_path,
)
from crawlers.items import Mention
from crawlers.processors import normalise_rating, parse_count, plain_text
from spiders.pages.base import MalformedPage, Page, PageObject, well_typed
from spiders.pages.htmltext import element_text, html_text
from spiders.pages.jsdata import js_state, load_js
from spiders.pages.paging import with_query

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)?")
_INDEX_RE = re.compile(r"-?[0-9]{1,18}")
_NAMESPACES = {"re": "http://exslt.org/regular-expressions", "set": "http://exslt.org/sets"}
_TEXT_FIELDS = ("text", "title", "reply_text")


def _flag(value: Any) -> bool:
    """A ``truncated`` rule's value as a flag: it matched something (a "Read more" link's
    text, ``true``, a non-zero number); nothing, "", "false", "0" and 0 are no."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no")
    return bool(value)
_WS_RE = re.compile(r"\s+")


def _apply_regex(value: str | None, rule: FieldRule) -> str | None:
    if value is None or rule.regex is None:
        return value
    m = rule.regex.search(value)
    if m is None:
        return None
    return m.group(1) if m.groups() else m.group(0)


def _pick(values: Iterator[Any], rule: FieldRule) -> Any:
    """One value from a rule's matches: the first that has a value after the regex, or
    (``join``) every such value joined. Numbers pass as numbers unless a regex or a join
    makes text of them."""
    kept: list[Any] = []
    for value in values:
        if value is None or value == "":
            continue
        if rule.regex is not None or rule.join is not None:
            value = _apply_regex(value if isinstance(value, str) else str(value), rule)
            if not value:
                continue
        if rule.template is not None:
            value = rule.template.replace("{}", value if isinstance(value, str) else str(value))
        if rule.join is None:
            return value
        kept.append(value)
    return rule.join.join(kept) if kept else None


# --- HTML ---------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _xpath_of(select: str) -> etree.XPath:
    """The compiled XPath of a CSS or ``xpath:`` rule, returning lxml smart strings so a
    text node knows the element it belongs to."""
    expr = select.removeprefix(XPATH) if select.startswith(XPATH) else css2xpath(select)
    # lxml registers the EXSLT regular-expression functions and the namespaces on every call
    # of an expression compiled with them: only an expression that names a prefix gets them
    # (a third of a field's evaluation on a small item element)
    prefixes = {p for p in _NAMESPACES if f"{p}:" in expr}
    return etree.XPath(expr, namespaces={p: _NAMESPACES[p] for p in prefixes} or None,
                       regexp="re" in prefixes, smart_strings=True)


@lru_cache(maxsize=512)
def _text_children_xpath(select: str) -> etree.XPath | None:
    """For a rule ``E/text()`` (what CSS ``::text`` compiles to), the compiled ``E`` alone:
    evaluating it and reading each element's own text nodes off the tree
    (:func:`_text_groups`) is a third cheaper than having lxml build a smart string per
    text node. None for any other rule (a union, no ``/text()`` step at the end)."""
    expr = select.removeprefix(XPATH) if select.startswith(XPATH) else css2xpath(select)
    if not expr.endswith("/text()") or "|" in expr or not (head := expr.removesuffix("/text()")).strip():
        return None
    try:
        prefixes = {p for p in _NAMESPACES if f"{p}:" in head}
        return etree.XPath(head, namespaces={p: _NAMESPACES[p] for p in prefixes} or None,
                           regexp="re" in prefixes)
    except etree.XPathError:
        return None


def _text_groups(node: Selector, elements_of: etree.XPath) -> list[list[str]] | None:
    """The text nodes ``E/text()`` selects, grouped by element as :func:`_grouped` groups
    them, for ``elements_of`` = ``E``; None when this shortcut cannot tell (E selects a
    non-element, or an element inside another one it selects: their text nodes would
    interleave in document order), and the caller takes the general path."""
    root = node.root
    if not hasattr(root, "xpath"):
        return []
    try:
        found = elements_of(root)
    except (etree.XPathError, ValueError, TypeError):
        return None
    if not isinstance(found, list):
        return None
    if any(not isinstance(e, etree._Element) or not isinstance(e.tag, str) for e in found):
        return None
    if len(found) > 1:
        chosen = set(found)
        if any(a in chosen for e in found for a in e.iterancestors()):
            return None
    groups = []
    for e in found:
        parts = [e.text] if e.text else []
        parts += [c.tail for c in e if c.tail]
        if parts:
            groups.append(parts)
    return groups


def _owner(result: Any) -> Any:
    """The element a text node or attribute value belongs to (None for computed strings)."""
    getparent = getattr(result, "getparent", None)
    if getparent is None:
        return None
    parent = getparent()
    if parent is not None and getattr(result, "is_tail", False):
        return parent.getparent()
    return parent


def _results(node: Selector, select: str) -> list[Any]:
    """What a CSS/XPath rule selects in ``node``: elements and smart strings in document
    order; a computed number or boolean as a one-string list."""
    root = node.root
    if not hasattr(root, "xpath"):
        return []
    try:
        result = _xpath_of(select)(root)
    except (etree.XPathError, ValueError, TypeError):
        return []  # an expression lxml cannot evaluate here (validated syntax, odd context)
    if isinstance(result, bool):
        return ["1" if result else "0"]
    if isinstance(result, float | int):
        return [str(result)]  # count(), sum(): "20.0", as parsel gives it
    return result if isinstance(result, list) else [result]


def _grouped(results: list[Any]) -> Iterator[list[str] | etree._Element]:
    """One entry per match: an element, or the strings of one owner (an element's text
    nodes of ``::text``) together."""
    i = 0
    while i < len(results):
        r = results[i]
        if isinstance(r, str):
            owner, parts = _owner(r), [str(r)]
            while owner is not None and i + 1 < len(results) and isinstance(results[i + 1], str) \
                    and _owner(results[i + 1]) is owner:
                i += 1
                parts.append(str(results[i]))
            yield parts
        elif isinstance(r, etree._Element):
            yield r
        i += 1


def _html_matches(node: Selector, select: str, as_html: bool) -> Iterator[str]:
    """The cleaned value of each match of a CSS/XPath rule in ``node``: an element's text
    as a reader sees it; the text nodes of one element (``::text``) together; an attribute
    or computed string as it is (plain text unless the rule says ``html``)."""
    for match in _grouped(_results(node, select)):
        if (value := _cleaned(match, as_html)) is not None:
            yield value


def _cleaned(match: list[str] | etree._Element, as_html: bool) -> str | None:
    """One match's value (see :func:`_html_matches`); None for an element whose text lxml
    cannot hand back."""
    if isinstance(match, list):
        text = " ".join(_WS_RE.sub(" ", p).strip() for p in match)
        return html_text(text) if as_html else plain_text(text)
    try:
        return element_text(match)
    except (TypeError, ValueError):
        return None


def _html_matches_raw(node: Selector, select: str) -> Iterator[str]:
    """Each match's text untouched (a ``<script>``'s JSON, a ``data-*`` attribute's)."""
    for match in _grouped(_results(node, select)):
        text = "".join(match) if isinstance(match, list) else "".join(match.itertext())
        if text.strip():
            yield text


def _script_text(script: Selector) -> str:
    root = script.root
    return "".join(root.itertext()) if isinstance(root, etree._Element) else ""


def _html_value(node: Selector, rule: FieldRule) -> str | None:
    if rule.regex is None and rule.join is None and rule.template is None:
        # the usual rule: the first match with a value, taken as it is (what _pick does
        # then), without the generators around each match
        if (elements_of := _text_children_xpath(rule.select)) is not None \
                and (groups := _text_groups(node, elements_of)) is not None:
            for parts in groups:
                if value := _cleaned(parts, rule.html):
                    return value
            return None
        for match in _grouped(_results(node, rule.select)):
            if value := _cleaned(match, rule.html):
                return value
        return None
    value = _pick(_html_matches(node, rule.select, rule.html), rule)
    return value or None


def _html_nodes(node: Selector, select: str) -> list[Selector]:
    return list(node.xpath(select.removeprefix(XPATH)) if select.startswith(XPATH) else node.css(select))


# --- JSON ---------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _steps(path: str) -> tuple[Step, ...]:
    return parse_json_path(path)


@lru_cache(maxsize=512)
def _container(path: str) -> tuple[Step, ...]:
    """The path without its trailing ``[*]``/filter steps: where the items would be."""
    steps = _steps(path)
    while steps and steps[-1].kind in ("any", "filter"):
        steps = steps[:-1]
    return steps


def _path_matches(data: Any, path: str) -> list[Any]:
    """Every match of a JSON path; an array reached stands for its elements."""
    out: list[Any] = []
    for found in json_path_matches(data, _steps(path)):
        if isinstance(found, list):
            out.extend(found)
        else:
            out.append(found)
    return out


def _scalar(value: Any) -> str | int | float | None:
    """A string or a finite number; None for an object, array, bool or null: no field of a
    mention is an object (a dict nickname is not a name)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_value(item: Any, rule: FieldRule) -> str | int | float | None:
    """The rule's value in ``item``: a string (tidied as plain text, or read as HTML with
    ``html = true``) or a number as sent; see :func:`_pick` for several matches."""
    def values() -> Iterator[Any]:
        for found in _path_matches(item, rule.select):
            value = _scalar(found)
            if isinstance(value, str):
                value = html_text(value) if rule.html else plain_text(value)
            yield value
    return _pick(values(), rule)


def _drop(node: Selector) -> None:
    """Remove an excluded node; one the page nests oddly (a text node, the root) stays."""
    with contextlib.suppress(CannotRemoveElementWithoutRoot, CannotRemoveElementWithoutParent):
        node.drop()


class SelectorPage(PageObject):
    """One page read by a user's :class:`SelectorSpec` (not registered: it needs a spec)."""

    def __init__(self, page: Page, spec: SelectorSpec) -> None:
        self.page, self.spec = page, spec
        if spec.type == "html":
            page.require_html("an HTML selectors source")
        self.docs: list[Any] = self._documents() if spec.reads_json else []

    # --- where the JSON is ----------------------------------------------------------------
    def _documents(self) -> list[Any]:
        """The JSON values the paths run on: the body (``type = "json"``: JSON, JSONP or a JS
        literal; ``state`` picks a named assignment in it), or the embedded JSON of an HTML
        page (each ``json_in`` match that reads, or the first ``<script>`` assigning ``state``)."""
        spec, url = self.spec, self.page.url
        if spec.type == "json":
            body = self.page.text
            return [js_state(body, spec.state, url) if spec.state else load_js(body, url)]
        if spec.json_in is not None:
            texts = list(_html_matches_raw(self.page.selector, spec.json_in))
            what = f"{url}: json_in {spec.json_in!r}"
            if not texts:
                raise MalformedPage(f"{what} matches nothing")
        else:
            texts = [t for t in (_script_text(s) for s in self.page.selector.xpath("//script[not(@src)]")) if t]
            what = f"{url}: state {spec.state!r}"
            if not texts:
                raise MalformedPage(f"{what}: the page has no inline <script>")
        docs, problems = [], []
        for text in texts:
            try:
                docs.append(js_state(text, spec.state, what) if spec.state else load_js(text, what))
            except MalformedPage as exc:
                problems.append(str(exc))
            if spec.state and docs:
                break  # the page's state: one assignment
        if not docs:
            if len(problems) == 1:
                raise MalformedPage(problems[0])
            found = "no inline <script> assigns it" if spec.state else "no readable JSON"
            raise MalformedPage(f"{what}: {found} ({len(texts)} read)")
        return docs

    def _items(self) -> list[Any]:
        if self.spec.reads_json:
            found = [item for doc in self.docs for item in _path_matches(doc, self.spec.item)]
            if not found and not any(json_path_matches(doc, _container(self.spec.item)) for doc in self.docs):
                raise MalformedPage(f"{self.page.url}: no {self.spec.item!r} in the JSON")
            return found  # [] for an empty list: a page with no items (the last page), not a broken one
        return _html_nodes(self.page.selector, self.spec.item)

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
        if self.spec.reads_json:
            values = {name: any(_flag(v) for v in _path_matches(item, rule.select)) if name == "truncated"
                      else _json_value(item, rule) for name, rule in self.spec.fields}  # a flag may be a JSON bool
            for name in _TEXT_FIELDS:
                if values.get(name) is not None and not isinstance(values[name], str):
                    values[name] = plain_text(str(values[name]))
            return values
        if not isinstance(item, Selector) or isinstance(item.root, str):
            return {}  # the item selector matched text, not elements: nothing to read fields from
        for css in self.spec.exclude:
            for node in _html_nodes(item, css):
                _drop(node)
        return {name: _html_value(item, rule) for name, rule in self.spec.fields}

    def _date(self, raw: Any) -> datetime | None:
        """A date value read with the spec's hints: ``date_format`` tried first, then the
        general parser in ``date_languages`` with ``date_order`` (validated at load)."""
        spec = self.spec
        return self.page.parse_date(raw, formats=spec.date_format or None, languages=spec.date_languages or None,
                                    order=spec.date_order)

    def _mention(self, v: dict[str, Any]) -> Mention:
        page, scale = self.page, self.spec.rating_scale
        rating_text = None if v.get("rating") is None else str(v["rating"])[:64]
        number = _NUMBER_RE.search(rating_text or "")
        url = v.get("url")
        ext = v.get("external_id")
        link = v.get("permalink")
        date, reply_date = v.get("date"), v.get("reply_date")
        return Mention(
            site="", kind=self.spec.kind,
            url=page.urljoin(str(url)) if url else page.url,
            permalink=page.permalink(str(link)) if link not in (None, "") else None,
            external_id=None if ext in (None, "") else str(ext),
            text=str(v.get("text") or ""),
            title=v.get("title") or None,
            author=None if v.get("author") is None else str(v["author"]),
            author_region=v.get("author_region") or None,
            rating_raw=float(number.group(0).replace(",", ".")) if number else None,
            rating_scale=scale,
            rating=normalise_rating(rating_text, scale) if rating_text else None,
            published_raw=None if date is None else str(date),
            published_at=self._date(date),
            likes=parse_count(v.get("likes")),
            reposts=parse_count(v.get("reposts")),
            comments=parse_count(v.get("comments")),
            reply_text=v.get("reply_text") or None,
            reply_at=self._date(reply_date),
            variant=v.get("variant") or None,
            truncated=_flag(v.get("truncated")),
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
        if spec.reads_json:
            value = next((v for doc in self.docs if (v := _json_value(doc, rule)) not in (None, "")), None)
        else:
            value = _html_value(self.page.selector, rule)
        if value in (None, "", 0):
            return None
        if spec.next_param:
            return with_query(self.page.url, **{spec.next_param: value})
        return self.page.urljoin(str(value))
