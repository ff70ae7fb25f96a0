"""Is a fetched page whole? Pure checks on status, bytes and text, no Scrapy.

A page that answers 200 but is empty, cut off mid-document or not text at all must
never be read as "a listing with no reviews": that is how a broken first page used to
end a run ``finished`` with 0 stored and move the incremental cut-off past reviews it
never read. :func:`page_problem` names what is wrong (the reason becomes
``vocwatch/dropped/<reason>`` once retries are spent); ``SourceSpider.checked`` asks it
for every page before any page object sees the page.

Truncation is judged on the document, not on HTTP framing (Scrapy already fails a body
shorter than its ``Content-Length`` or a chunked body cut before its last chunk with
``ResponseDataLossError``): a server that sends a cut-off document with a matching
length, or ends the body by closing the connection, is caught here. The checks are
deliberately narrow, so a whole page is never called truncated:

- HTML that opened ``<html>`` or ``<body>`` and closes neither (fragments that never
  opened them are not judged);
- an RSS/Atom/XML document whose root element ``<rss>``/``<feed>``/``<rdf:RDF>`` is never
  closed;
- JSON (or JSONP ``callback({...})``) that stops parsing because the input ran out:
  ``json`` fails at the very end or inside a string that never ends. JSON that is broken
  in the middle is a malformed page, the page object's business.
"""

from __future__ import annotations

import json
import re

PAGE_EMPTY = "page_empty"
PAGE_TRUNCATED = "page_truncated"
PAGE_WRONG_TYPE = "page_wrong_type"
PAGE_REDIRECT_LOOP = "page_redirect_loop"
PAGE_PROBLEMS = (PAGE_EMPTY, PAGE_TRUNCATED, PAGE_WRONG_TYPE, PAGE_REDIRECT_LOOP)
"""Reasons a page is a failed page: retried, then dropped as ``vocwatch/dropped/<reason>``."""

_HTML_OPEN = re.compile(r"<(html|body)[\s>]", re.I)
_HTML_CLOSE = re.compile(r"</(html|body)\s*>", re.I)
_FEED_ROOT = re.compile(r"<(rss|feed|rdf:RDF)[\s>]", re.I)
_NUMBER_PREFIX = re.compile(r"-?\d*\.?\d*(?:[eE][+-]?\d*)?")
_JSONP = re.compile(r"^\s*[A-Za-z_$][\w$.]*\s*\(")


def page_problem(status: int, body: bytes, text: str | None) -> str | None:
    """Why a 2xx page cannot be read as a whole page, or None when it can.

    ``text`` is the decoded body, or None when the response is not text (an image, a
    binary download) where a page was expected. Statuses other than 2xx are left to
    block/HTTP-error handling."""
    if not 200 <= status < 300:
        return None
    if not body.strip():
        return PAGE_EMPTY
    if text is None:
        return PAGE_WRONG_TYPE
    if is_truncated(text):
        return PAGE_TRUNCATED
    return None


def is_truncated(text: str) -> bool:
    """Whether the document visibly stops before its end (see the module docstring)."""
    head = text.lstrip()[:1]
    if head in ("{", "["):
        return json_truncated(text)
    if _JSONP.match(text):
        return jsonp_truncated(text)
    if _HTML_OPEN.search(text):
        return not _HTML_CLOSE.search(text)
    if head == "<" and (root := _FEED_ROOT.search(text)):
        return re.search(rf"</{re.escape(root.group(1))}\s*>", text, re.I) is None
    return False


def json_truncated(text: str) -> bool:
    """True when ``text`` is JSON that ends before the parser got to its end."""
    body = text.strip()
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Unterminated string"):
            return True
        rest = body[exc.pos:]  # where the parser stopped: nothing, or a literal cut short
        return not rest or any(word.startswith(rest) for word in ("true", "false", "null")) \
            or _NUMBER_PREFIX.fullmatch(rest) is not None
    except ValueError:
        return False
    return False


def jsonp_truncated(text: str) -> bool:
    """True when a JSONP body ``name(...)`` lost its end: no closing parenthesis, or the
    JSON inside stops early."""
    body = text.strip().removesuffix(";").rstrip()
    if not body.endswith(")"):
        return True
    inner = _JSONP.sub("", body, count=1)[:-1]
    return inner.lstrip()[:1] in ("{", "[") and json_truncated(inner)
