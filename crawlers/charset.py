"""Which charset a page's bytes are really in, when the declared one is wrong.

Scrapy decodes a page header-first (``w3lib.encoding.html_to_unicode``): a GBK page
served with ``charset=utf-8`` becomes replacement characters, and one served with
``charset=iso-8859-1`` becomes mojibake that decodes "cleanly", because a single-byte
charset accepts any bytes. :func:`evidence_encoding` looks at the bytes instead, in this
order of trust:

1. a byte-order mark: authoritative, and Scrapy already honours it (nothing to do);
2. the document's own declaration (``<meta charset>``, ``http-equiv``, the XML
   declaration), when the bytes decode in it;
3. UTF-8, when the bytes are valid UTF-8 with multi-byte characters (text in any other
   charset is valid UTF-8 only by a rare accident);
4. byte statistics (charset_normalizer's best guess), when the bytes decode in it.

A charset is replaced only on evidence: the declared one fails to decode (more than a
stray byte or two: a UTF-8 page with one broken byte stays UTF-8), or it is single-byte
while the bytes decode strictly in a multi-byte charset offered by 2-4. A Latin-1 page
with a Latin-1 header ("café, naïve") stays Latin-1: its accented letters followed by
spaces or punctuation are not valid GBK/Big5/UTF-8, and the statistics name a
single-byte charset for it.
"""

from __future__ import annotations

import codecs

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

STRAY_ERRORS = 0.01
"""Decoding errors, as a share of the non-ASCII characters decoded, that a multi-byte
declared charset may show and still be trusted (a few broken bytes on a real page)."""


def codec_name(encoding: str | None) -> str | None:
    """Python's canonical name of a charset label (``"GB2312"`` -> ``"gb2312"``), or None
    when Python has no such codec."""
    if not encoding:
        return None
    try:
        return codecs.lookup(resolve_encoding(encoding) or encoding).name
    except LookupError:
        return None


def is_multibyte(encoding: str) -> bool:
    """Whether characters take several bytes in ``encoding`` (UTF-8, GBK, Big5,
    Shift_JIS, EUC-KR...), unlike Latin-1/Windows-125x, which accept any byte."""
    try:
        return len("中".encode(encoding)) > 1
    except (UnicodeError, LookupError):
        return False


def decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeError, LookupError):
        return False
    return True


def _mostly_decodes(body: bytes, encoding: str) -> bool:
    """True when decoding shows at most a stray broken byte or two (see STRAY_ERRORS)."""
    text = body.decode(encoding, errors="replace")
    errors = text.count("\ufffd")
    decoded = sum(1 for ch in text if ord(ch) > 127) - errors
    return decoded > 0 and errors <= max(1, STRAY_ERRORS * decoded)


def statistical_guess(body: bytes) -> str | None:
    """charset_normalizer's best guess for the bytes, or None when it has none.

    Single-byte charsets are hard to tell apart on a short text (a French sentence comes
    out as Baltic cp1257): when the best guess is single-byte and Windows-1252, the web's
    default single-byte charset, is among the plausible ones, Windows-1252 is taken."""
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return None
    if not is_multibyte(best.encoding) and any(m.encoding == "cp1252" for m in matches):
        return "cp1252"
    return best.encoding


def evidence_encoding(body: bytes, used: str) -> str | None:
    """The charset the bytes show when ``used`` (what the page was decoded with) is
    wrong for them, else None. See the module docstring for the order of evidence."""
    if read_bom(body)[0] is not None or body.isascii():
        return None
    used = codec_name(used) or used
    fits = decodes(body, used)
    multibyte = is_multibyte(used)
    if fits and multibyte and (used == "utf-8" or not decodes(body, "utf-8")):
        return None
    if not fits and multibyte and _mostly_decodes(body, used):
        return None
    for guess in (lambda: html_body_declared_encoding(body), lambda: "utf-8", lambda: statistical_guess(body)):
        candidate = codec_name(guess())
        if candidate is None or candidate == used or not decodes(body, candidate):
            continue
        if is_multibyte(candidate) or not fits:
            return candidate
    return None
