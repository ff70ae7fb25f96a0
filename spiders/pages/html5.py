"""Pages read with an HTML5 parser (lexbor, through selectolax) instead of lxml.

Forum posts are user markup: one post with a stray ``</div>`` or an unclosed ``<div>`` makes
lxml close or extend the post list around it, and selectors relative to the list miss or
merge posts. An HTML5 tree builder recovers the way browsers do, so what a reader sees is
what the page object reads.

The price of the HTML5 algorithm is that nesting costs time: each new element looks at
the open elements, so a document nested N levels deep takes about N² steps (100,000 empty
``<div>``s: most of a minute). No page a site serves is nested more than a few hundred
levels; :func:`html5_tree` refuses one nested beyond :data:`MAX_DEPTH` as malformed
before parsing it.
"""

from __future__ import annotations

import re

from parsel import Selector
from selectolax.lexbor import LexborHTMLParser, LexborNode

from spiders.pages.base import MalformedPage, Page, html_selector

MAX_DEPTH = 3_000
"""Open elements a page may nest (counting only elements that must be closed explicitly)."""
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
_SELF_CLOSING = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "tbody", "thead", "tfoot", "colgroup",
    "caption", "rb", "rt", "rp", "rtc", "html", "head", "body", "script", "style", "textarea", "title", "noscript",
})
"""Void elements, elements HTML closes implicitly (an old page's unclosed ``<p>``/``<li>``
must not count as nesting) and raw-text ones."""


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """How deep ``text``'s explicitly closed elements nest, counted up to ``limit`` + 1
    (a cheap tag scan, not a parse: unbalanced close tags only lower the count)."""
    depth = deepest = 0
    for m in _TAG_RE.finditer(text):
        name = m.group(2).lower()
        if name in _SELF_CLOSING or m.group(3):
            continue
        if m.group(1):
            depth = max(depth - 1, 0)
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                break
    return deepest


def html5_tree(page: Page, what: str) -> LexborHTMLParser:
    """``page`` parsed by lexbor; MalformedPage for a JSON body where ``what`` reads HTML
    and for a document nested deeper than :data:`MAX_DEPTH`."""
    page.require_html(what)
    if nesting_depth(page.text) > MAX_DEPTH:
        raise MalformedPage(f"{page.url}: elements nested more than {MAX_DEPTH} deep; no {what} is")
    return LexborHTMLParser(page.text)


def html5_selector(page: Page, what: str) -> Selector:
    """``page`` parsed by the HTML5 rules (:func:`html5_tree`) and handed to parsel, for
    page objects written with CSS/XPath: lxml parses lexbor's serialisation, which is
    well formed, so it cannot re-nest it (characters lxml cannot hand back are cleaned as
    for every page, :func:`~spiders.pages.base.html_selector`)."""
    return html_selector(html5_tree(page, what).html or "")


def own_text(node: LexborNode | None) -> str:
    """The text directly inside ``node`` (a lexbor tree node), not inside its child
    elements, whitespace collapsed: a name or label beside the markup around it."""
    if node is None:
        return ""
    parts, child = [], node.child
    while child is not None:
        if child.is_text_node:
            parts.append(child.text_content or "")
        child = child.next
    return " ".join(" ".join(parts).split())
