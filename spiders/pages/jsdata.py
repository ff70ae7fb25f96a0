"""Read data out of JavaScript-wrapped responses without ever running them.

Chinese sites (and pages saved from them) serve their JSON wrapped: JSONP ``cb({...})``,
XSSI guards (``)]}'``, ``while(1);``), ``export const x = {...}``, ``module.exports = {...}``,
``let x = {...};`` and object literals with unquoted keys, single quotes and trailing
commas. The wrapper is stripped with anchored patterns and the literal is parsed as data
by chompjs (a C tokenizer that never evaluates). Anything that is not an object or array
literal, such as ``alert(1)``, is rejected; a call or function *inside* a literal
(``{a: alert(1)}``) comes back as the string ``"alert(1)"``, never as its result.
"""

from __future__ import annotations

import json
import re
from typing import Any

import chompjs

from spiders.pages.base import MalformedPage

__all__ = ["js_assignments", "js_state", "load_js"]

_XSSI_RE = re.compile(r"""\)\]\}'\s*,?|while\s*\(\s*1\s*\)\s*;|for\s*\(\s*;\s*;\s*\)\s*;""")
_COMMENT_RE = re.compile(r"\s*(?://[^\n]*|/\*.*?\*/)", re.S)
_NAME = r"[A-Za-z_$][\w$]*"
_ASSIGN_RE = re.compile(
    rf"""(?:export\s+default
        |export\s+(?:const|let|var)\s+{_NAME}\s*=
        |(?:module\.)?exports(?:\.{_NAME})?\s*=
        |(?:const|let|var)\s+{_NAME}\s*=
        |(?:window|self|globalThis)(?:\.{_NAME})+\s*=
        )\s*""",
    re.X,
)
_JSONP_RE = re.compile(rf"{_NAME}(?:\.{_NAME})*\s*\(\s*")
_DECL_RE = re.compile(rf"^[ \t]*(?:export\s+)?(?:const|let|var)\s+({_NAME})\s*=\s*(?=[\[{{])", re.M)


def _skip_comments(text: str, pos: int = 0) -> int:
    while m := _COMMENT_RE.match(text, pos):
        pos = m.end()
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _literal(text: str, pos: int, what: str) -> Any:
    """Parse the object/array literal starting at ``text[pos]`` (chompjs reads only the
    first literal and ignores what follows, e.g. ``;`` or ``export default x``)."""
    if pos >= len(text) or text[pos] not in "{[":
        raise MalformedPage(f"{what}: no object or array literal where data was expected")
    try:
        return chompjs.parse_js_object(text[pos:])
    except ValueError as exc:
        raise MalformedPage(f"{what}: unreadable JS literal: {exc}") from None
    except RecursionError:
        raise MalformedPage(f"{what}: JS literal nested too deeply to read") from None


def load_js(text: str, what: str = "response") -> Any:
    """The one data value of a JSON, JSONP, XSSI-guarded or JS-wrapped response.

    Plain JSON goes through ``json`` (exact, fast); the rest through the wrapper patterns
    and chompjs. Raises :class:`MalformedPage` when no object/array literal is found.
    """
    text = text.lstrip("\ufeff")
    pos = _skip_comments(text)
    if m := _XSSI_RE.match(text, pos):
        pos = _skip_comments(text, m.end())
    body = text[pos:]
    if body[:1] in "{[":
        try:
            return json.loads(body)
        except ValueError:
            pass  # a JS literal or trailing script: parsed below
        except RecursionError:
            raise MalformedPage(f"{what}: JSON nested too deeply to read") from None
    if (m := _ASSIGN_RE.match(text, pos)) or (m := _JSONP_RE.match(text, pos)):
        pos = m.end()
    return _literal(text, _skip_comments(text, pos), what)


def js_assignments(text: str, what: str = "script") -> dict[str, Any]:
    """Every top-level ``[export] let|const|var NAME = {...}|[...]`` of a script, by name.

    Saved fixtures sometimes hold several API responses in one file (one ``let`` each);
    values that are not literals (``let x = f()``) are not matched, so never run.
    """
    return {m.group(1): _literal(text, m.end(), f"{what}: {m.group(1)}") for m in _DECL_RE.finditer(text)}


_GLOBAL_PREFIX_RE = re.compile(r"^(?:window|self|globalThis)\.")
_STATEMENT_START = frozenset(";{}(),\n")
_JSON_PARSE_RE = re.compile(r"""JSON\.parse\(\s*(?P<q>["'])""")


def _state_re(name: str) -> re.Pattern[str]:
    """``NAME =`` as a statement: ``window.NAME =``, ``window["NAME"] =``, ``var NAME =`` or
    a bare ``NAME =`` (never ``NAME ==``, never a longer name ending in NAME)."""
    bare = _GLOBAL_PREFIX_RE.sub("", name)
    dotted = r"\s*\.\s*".join(re.escape(p) for p in bare.split("."))
    quoted = re.escape(bare)
    return re.compile(
        rf"""(?:(?:window|self|globalThis)\s*(?:\.\s*{dotted}|\[\s*["']{quoted}["']\s*\])
            |(?:(?:var|let|const)\s+)?(?<![\w$.]){dotted})
            \s*=(?!=)\s*""",
        re.X,
    )


def _at_statement_start(text: str, pos: int) -> bool:
    """True when ``text[pos]`` begins a statement: not inside ``"...window.X = {}"`` nor
    after ``//`` (a string or comment that merely mentions the assignment)."""
    i = pos - 1
    while i >= 0 and text[i] in " \t\r":
        i -= 1
    return i < 0 or text[i] in _STATEMENT_START


def _js_string(text: str, pos: int, quote: str) -> str | None:
    """The JS string literal whose opening ``quote`` is at ``text[pos]``, decoded as JSON
    decodes a string (``\\"``, ``\\u00e9``, ``\\n``); None when unterminated or undecodable."""
    i, n = pos + 1, len(text)
    while i < n and text[i] != quote:
        i += 2 if text[i] == "\\" else 1
    if i >= n:
        return None
    body = text[pos + 1 : i]
    if quote == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    try:
        value = json.loads(f'"{body}"')
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def js_state(text: str, name: str, what: str = "script") -> Any:
    """The literal a script assigns to ``name`` (``window.__INITIAL_STATE__ = {...}``,
    ``var ytInitialData = {...};``, ``window["__APOLLO_STATE__"] = {...}``), also when it is
    serialised as ``NAME = JSON.parse("...")``; read as data, never run.

    ``name`` may be written with or without its ``window.`` prefix. The first assignment
    that starts a statement and holds an object or array literal wins. Raises
    :class:`MalformedPage` when there is none (a state built by a function call, as
    Nuxt's ``__NUXT__ = (function(a){...})(1)``, is code, not data: it is not read).
    """
    label = f"{what}: {name}"
    found = False
    for m in _state_re(name).finditer(text):
        if not _at_statement_start(text, m.start()):
            continue
        found = True
        pos = _skip_comments(text, m.end())
        if (jp := _JSON_PARSE_RE.match(text, pos)) is not None:
            inner = _js_string(text, jp.end() - 1, jp.group("q"))
            if inner is not None:
                return load_js(inner, label)
            continue
        if pos < len(text) and text[pos] in "{[":
            return _literal(text, pos, label)
    raise MalformedPage(f"{label}: {'assigned, but not an object or array literal' if found else 'no such assignment'}")
