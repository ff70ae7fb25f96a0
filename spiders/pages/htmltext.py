"""Text of an HTML fragment as a browser lays it out, before ``clean_text``.

In HTML a newline inside a text node is a space; ``clean_text`` keeps source newlines
(right for plain-text APIs), so hard-wrapped HTML would gain false line breaks. Here runs
of whitespace collapse to one space everywhere except inside ``<pre>``.
"""

from __future__ import annotations

import re

from crawlers.processors import clean_text

_PRE_RE = re.compile(r"(<pre\b.*?</pre\s*>)", re.I | re.S)
_WS_RE = re.compile(r"\s+")


def html_text(fragment: str | None) -> str:
    """Cleaned text of an HTML fragment with HTML whitespace rules applied ("" for
    anything but a string: a JSON field may hold an object where HTML belongs)."""
    if not fragment or not isinstance(fragment, str):
        return ""
    parts = _PRE_RE.split(fragment)
    return clean_text("".join(p if i % 2 else _WS_RE.sub(" ", p) for i, p in enumerate(parts)))
