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

``type = "json"`` reads a JSON body (also JSONP, ``var x = {...};`` and other JS-wrapped
bodies, read as data by :mod:`spiders.pages.jsdata`): ``item`` and the fields are JSON paths
(:func:`parse_json_path`: ``$``, ``data.items[*]``, ``reviews[*].text``, ``*.name``,
``actions_summary[0].count``); ``next_page`` is a path to the next URL, or to a cursor when
``next_param`` names the query parameter it goes into. Instead of ``next_page``,
``page_param = "page"`` pages by number until a page has no items. On an HTML page,
``json_in = "script#__NEXT_DATA__"`` (the elements or ``::attr(data-x)`` values holding
JSON) and/or ``state = "window.__INITIAL_STATE__"`` (the literal a script assigns to that
name) read the items from JSON embedded in the page, with JSON paths as for ``type = "json"``.

Several matches of one field: the first one with a value, unless the field says
``join = "..."`` (then all of them, joined). JSON text is kept as text (whitespace tidied);
``html = true`` on a field reads its value as HTML. ``date_format`` (strptime formats,
tried first), ``date_languages`` and ``date_order`` say how the site writes dates.

Everything is checked when the config loads: unknown keys and fields, CSS/XPath syntax,
regexes. Selectors only select; nothing from the page is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from config.loader import ConfigError, _Reader
from config.model import ID_SCOPES

FIELDS = ("text", "title", "author", "author_region", "date", "rating", "likes", "reposts", "comments",
          "url", "permalink", "external_id", "reply_text", "reply_date", "variant", "truncated")
"""Fields a selector can fill; ``date`` and ``reply_date`` become ``published_at``/``reply_at``;
``truncated`` marks the text a snippet the page cut when its rule matches (the item's "Read
more" link in HTML, a flag such as ``isLongText`` in JSON: any value but empty, false, 0);
``permalink`` is the mention's own address on the site (``Mention.permalink``): the item's
link to itself (``a.permalink::attr(href)``, a JSON ``share_url``), or its id put into the
site's pattern with ``template = "https://site.example/reviews/{}"``; resolved against the
page, kept only when it is an absolute http(s) URL. ``url`` stays where it was read from."""
ITEM_KINDS = ("review", "post", "comment")
PAGE_TYPES = ("html", "json")
XPATH = "xpath:"


DATE_ORDERS = ("DMY", "MDY", "YMD")
"""How a site orders day, month and year in numeric dates ("03/04/2021")."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    select: str
    """CSS (``::text``/``::attr(x)`` allowed), ``xpath:EXPR``, or a JSON path."""
    regex: re.Pattern[str] | None = None
    """Keep the first group (or the whole match) of this pattern in each selected value."""
    join: str | None = None
    """Join every match with this string; None: the first match that has a value."""
    html: bool = False
    """Read a selected string as HTML (tags dropped, entities decoded); by default a JSON
    string or an HTML text node/attribute is plain text, so ``a<b and c>d`` stays whole."""
    template: str | None = None
    """Put the value (after ``regex``) into this text at its one ``{}``: a permalink built
    from a review id (``"https://www.trustpilot.com/reviews/{}"``). Nothing else is expanded."""


# --- JSON paths ---------------------------------------------------------------------------
# path  := "$" | ["$" | "$."] step ( "." step | "[" bracket "]" )*     (a path may also start with "[")
# step  := "*" | NAME          NAME: any run of characters but . [ ] (so "0", "-1", "@type")
# bracket := "*" | INTEGER | "'" KEY "'" | '"' KEY '"' | "?" KEY "=" VALUE    (a filter: see Step)
_STEP_RE = re.compile(
    r"""\.(?P<name>[^.\[\]]+)
        |\[(?:(?P<any>\*)|(?P<index>-?\d{1,18})|'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"
             |\?(?P<fkey>[^=\]]+)=(?:'(?P<fsq>[^']*)'|"(?P<fdq>[^"]*)"|(?P<fval>[^\]'"]*)))\]""",
    re.X,
)
_INT_RE = re.compile(r"-?\d{1,18}")


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    """``name`` (a key of an object, or an index of an array when it is an integer),
    ``key`` (a quoted key: objects only), ``index`` (``[N]``: arrays only), ``any``
    (``*``/``[*]``: every element of an array, every value of an object) or ``filter``
    (``[?@type=Review]``: the elements of an array, or the object itself, whose ``@type``
    is ``Review``; a number or boolean compares by its JSON text)."""
    value: str | int | None = None
    equals: str | None = None


def parse_json_path(path: str) -> tuple[Step, ...]:
    """The steps of a JSON path; ValueError saying what is wrong.

    ``$`` is the root (a top-level array's elements are then the items), ``a.b`` or
    ``$.a.b`` a key path, ``posts.0`` or ``posts[0]`` an element (``-1``: the last),
    ``reviews[*]``/``reviews.*`` every element, ``*.name`` the ``name`` of every value,
    ``["og.title"]`` a key that holds a dot, ``@graph[?@type=Review]`` the elements whose
    ``@type`` is ``Review``.
    """
    if not isinstance(path, str) or not path.strip():
        raise ValueError("empty JSON path")
    rest = path
    if rest == "$":
        return ()
    if rest.startswith("$"):
        rest = rest[1:]
        if not rest.startswith((".", "[")):
            raise ValueError("after '$' comes '.' or '['")
    elif not rest.startswith("["):
        rest = "." + rest
    steps: list[Step] = []
    pos = 0
    while pos < len(rest):
        m = _STEP_RE.match(rest, pos)
        if m is None:
            at = rest[pos:pos + 12]
            raise ValueError(f"cannot read {at!r} (steps are .key, .*, [N], [*], ['key'], [?key=value])")
        if (name := m.group("name")) is not None:
            steps.append(Step("any") if name == "*" else Step("name", name))
        elif m.group("any"):
            steps.append(Step("any"))
        elif (index := m.group("index")) is not None:
            steps.append(Step("index", int(index)))
        elif (fkey := m.group("fkey")) is not None:
            value = next(v for v in (m.group("fsq"), m.group("fdq"), m.group("fval")) if v is not None)
            steps.append(Step("filter", fkey.strip(), value if m.group("fval") is None else value.strip()))
        else:
            steps.append(Step("key", m.group("sq") if m.group("sq") is not None else m.group("dq")))
        pos = m.end()
    return tuple(steps)


def _holds(node: object, step: Step) -> bool:
    """``node`` is an object whose ``step.value`` key equals ``step.equals`` (or, for a
    list such as ``"@type": ["Review", "Thing"]``, holds it)."""
    if not isinstance(node, dict) or step.value not in node:
        return False
    have = node[step.value]
    values = have if isinstance(have, list) else [have]
    return any(_json_text(v) == step.equals for v in values)


def _json_text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def json_path_matches(data: object, steps: tuple[Step, ...]) -> list[object]:
    """Every value the path reaches, in document order (missing keys reach nothing)."""
    found = [data]
    for step in steps:
        nxt: list[object] = []
        for node in found:
            if step.kind == "filter":
                nxt.extend(n for n in (node if isinstance(node, list) else [node]) if _holds(n, step))
            elif step.kind == "any":
                if isinstance(node, dict):
                    nxt.extend(node.values())
                elif isinstance(node, list):
                    nxt.extend(node)
            elif isinstance(node, dict):
                if step.kind in ("name", "key") and step.value in node:
                    nxt.append(node[step.value])
                elif step.kind == "index" and str(step.value) in node:
                    nxt.append(node[str(step.value)])
            elif isinstance(node, list) and step.kind in ("name", "index"):
                i = step.value
                if isinstance(i, str) and _INT_RE.fullmatch(i):
                    i = int(i)
                if isinstance(i, int) and -len(node) <= i < len(node):
                    nxt.append(node[i])
        found = nxt
    return found


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
    json_in: str | None = None
    """On an HTML page: CSS/XPath of the elements (or ``::attr``/``::text`` values) whose
    text is JSON or a JS literal; item and fields are then JSON paths into it."""
    state: str | None = None
    """The name a script assigns the data to (``window.__INITIAL_STATE__``): items come
    from that literal, in the page's scripts (or the ``json_in`` texts, or a JS body)."""
    date_format: tuple[str, ...] = ()
    """strptime formats tried first on ``date``/``reply_date`` (then the general parser)."""
    date_languages: tuple[str, ...] = ()
    """Languages the site writes dates in (dateparser codes: ``de``, ``fr``, ``zh``)."""
    date_order: str | None = None
    """Order of day, month, year in all-numeric dates ("03/04/2021"): ``DMY``, ``MDY`` or ``YMD``."""

    @property
    def reads_json(self) -> bool:
        """True when item, fields and next_page are JSON paths (a JSON body or embedded JSON)."""
        return self.type == "json" or self.json_in is not None or self.state is not None


def _check_css_or_xpath(value: str) -> str | None:
    """The syntax check of a CSS/XPath rule, cached (a config of many sources repeats its
    rules, and each check parses a document)."""
    return _css_or_xpath_problem(value) if isinstance(value, str) else _css_or_xpath_problem.__wrapped__(value)


@lru_cache(maxsize=4096)
def _css_or_xpath_problem(value: str) -> str | None:
    from parsel import Selector

    try:
        if value.startswith(XPATH):
            Selector(text="<html></html>").xpath(value.removeprefix(XPATH))
        else:
            Selector(text="<html></html>").css(value)
    except Exception as exc:  # parsel raises several types (ValueError, SelectorSyntaxError, ExpressionError)
        return f"bad selector {value!r}: {exc}"
    return None


_CSS_PSEUDO_RE = re.compile(r"::(?:text|attr\()")


def _check_path(value: str) -> str | None:
    if _CSS_PSEUDO_RE.search(value):
        return (f"bad JSON path {value!r}: a CSS selector where a JSON path goes (with type = \"json\", "
                "json_in or state, item and fields are JSON paths such as 'reviews[*]' or 'author.name')")
    try:
        parse_json_path(value)
    except ValueError as exc:
        return f"bad JSON path {value!r}: {exc}; e.g. '$', 'data.items[*]', 'posts[0].id', 'reviews[*].text'"
    return None


_STATE_NAME_RE = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")


def _check_state(value: str) -> str | None:
    if not _STATE_NAME_RE.fullmatch(value):
        return f"bad name {value!r}: a JS variable like 'window.__INITIAL_STATE__' or 'ytInitialData'"
    return None


def _check_date_format(value: object) -> str | None:
    """The dates parser's own check (``crawlers.locale_dates.date_options``): what loads
    here is what every date is later read with."""
    from crawlers.locale_dates import date_options

    if isinstance(value, str) and "%" not in value:
        return f"expected a strptime format like '%d.%m.%Y %H:%M', got {value!r}"
    try:
        date_options(formats=value)  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)
    return None


def _check_language(value: object) -> str | None:
    from crawlers.locale_dates import date_options

    try:
        date_options(languages=value)  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)
    return None


def _str_list(r: _Reader, name: str, check: Callable[[object], str | None]) -> tuple[str, ...]:
    """A string or an array of strings, each checked (``date_format = "%d.%m.%Y"`` or a list)."""
    raw = r.get(name, (str, list), [])
    values = [raw] if isinstance(raw, str) else raw
    for i, value in enumerate(values):
        if problem := check(value):
            r.fail(name if isinstance(raw, str) else f"{name}[{i}]", problem)
    return tuple(values)


def _check_template(value: str) -> str | None:
    if value.count("{}") != 1 or value.replace("{}", "").count("{") or value.replace("{}", "").count("}"):
        return f"bad template {value!r}: it takes the value at exactly one {{}} and no other braces"
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
    json_in = r.get("json_in", str, None, check=_check_css_or_xpath)
    if json_in is not None and page_type == "json":
        r.fail("json_in", "reads JSON inside an HTML page; with type = \"json\" the body itself is the JSON")
    state = r.get("state", str, None, check=_check_state)
    reads_json = page_type == "json" or json_in is not None or state is not None
    check = _check_path if reads_json else _check_css_or_xpath
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
        join = fr.get("join", str, None)
        as_html = fr.get("html", bool, False)
        template = fr.get("template", str, None, check=_check_template)
        fr.done()
        fields[name] = FieldRule(select, re.compile(regex) if regex else None, join, as_html, template)
    fields_r.done()
    if "text" not in fields:
        fields_r.fail("", "a 'text' field is required")
    exclude = r.get("exclude", list, [])
    if exclude and reads_json:
        r.fail("exclude", "removes elements of an HTML item; items read from JSON have none")
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
        json_in=json_in,
        state=state,
        date_format=_str_list(r, "date_format", _check_date_format),
        date_languages=_str_list(r, "date_languages", _check_language),
        date_order=r.get("date_order", str, None,
                         check=lambda v: None if v in DATE_ORDERS else f"must be one of: {', '.join(DATE_ORDERS)}"),
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
