"""Text of an HTML fragment as a browser lays it out, before ``clean_text``.

In HTML a newline inside a text node is a space; ``clean_text`` keeps source newlines
(right for plain-text APIs), so hard-wrapped HTML would gain false line breaks. Here runs
of whitespace collapse to one space everywhere except inside ``<pre>``.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from crawlers.processors import (
    _CELL_TAGS,
    _DROP_CONTENT_TAGS,
    _HTML_TAGS,
    _LINE_BREAK_TAGS,
    clean_text,
)
from crawlers.processors import _tidy as tidy

_PRE_RE = re.compile(r"(<pre\b.*?</pre\s*>)", re.I | re.S)
_WS_RE = re.compile(r"\s+")


def html_text(fragment: str | None) -> str:
    """Cleaned text of an HTML fragment with HTML whitespace rules applied ("" for
    anything but a string: a JSON field may hold an object where HTML belongs)."""
    if not fragment or not isinstance(fragment, str):
        return ""
    parts = _PRE_RE.split(fragment)
    return clean_text("".join(p if i % 2 else _WS_RE.sub(" ", p) for i, p in enumerate(parts)))


# --- the same text read off a parsed element ----------------------------------------------

_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr", "basefont", "frame", "keygen"})
"""Elements lxml's HTML serialiser writes without an end tag."""
_FAST_TAGS = _HTML_TAGS - _DROP_CONTENT_TAGS - {"pre", "img", "textarea", "plaintext", "xmp", "listing"}
"""Elements :func:`element_text` lays out itself; any other one in the tree (``<pre>``,
``<img>``'s alt, scripts, custom elements) sends it to the serialise-and-tokenise path."""
_SAFE_ATTR_NAME_RE = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]{0,63}")


class _Unusual(Exception):
    """The tree holds something :func:`element_text` leaves to :func:`html_text`."""


def _check_attrs(el: Any) -> None:
    """Attributes the tokeniser reads as :func:`_walk` assumes: a tag it recognises
    (bounded, plainly named and quoted values) with no ``<pre`` inside."""
    for name, value in el.items():
        if len(value) + 5 * value.count("&") > 4000 or "<" in value or '"' in value \
                or not _SAFE_ATTR_NAME_RE.fullmatch(name):
            raise _Unusual


def _walk(el: Any, parts: list[str], ws: Any) -> None:
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            if tag is not etree.Comment:
                raise _Unusual  # a processing instruction or an entity reference
        else:
            if tag not in _FAST_TAGS:
                raise _Unusual
            if child.attrib:
                _check_attrs(child)
            mark = "\n" if tag in _LINE_BREAK_TAGS else " " if tag in _CELL_TAGS else ""
            parts.append(mark)
            if child.text:
                parts.append(ws(" ", child.text))
            _walk(child, parts, ws)
            if tag not in _VOID:
                parts.append(mark)
        if child.tail:
            parts.append(ws(" ", child.tail))


def element_text(el: Any) -> str:
    """``html_text(etree.tostring(el, method="html", with_tail=False))`` without the
    round trip: the same text (line breaks at block elements, a space at table cells,
    HTML whitespace collapsed, comments dropped), read by walking the parsed element
    instead of serialising it and tokenising the markup again with regexes. A tree
    holding anything it does not lay out itself (see ``_FAST_TAGS``, odd attributes)
    takes the serialising path, so the output is the same for every element."""
    try:
        tag = el.tag
        if not isinstance(tag, str) or tag not in _FAST_TAGS:
            raise _Unusual
        if el.attrib:
            _check_attrs(el)
        ws = _WS_RE.sub
        mark = "\n" if tag in _LINE_BREAK_TAGS else " " if tag in _CELL_TAGS else ""
        parts = [mark]
        if el.text:
            parts.append(ws(" ", el.text))
        _walk(el, parts, ws)
        if tag not in _VOID:
            parts.append(mark)
    except (_Unusual, RecursionError):
        return html_text(etree.tostring(el, method="html", encoding="unicode", with_tail=False))
    return tidy("".join(parts))
