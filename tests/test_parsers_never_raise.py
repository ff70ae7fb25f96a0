"""Parsers never raise: every page reader a crawl calls (each registered site adapter with
its pagination rule, the selectors engine, the other spiders' page objects), given a
mutated real page or the wrong body altogether, returns well-typed mentions or raises
``MalformedPage`` with a reason. Nothing else, ever: any other exception is a traceback in
a crawl and a page lost for a reason nobody counted.

The readers come from ``vocwatch.bench.mutations.readers()``, which iterates the site
registry, so a new adapter is covered as soon as it registers. The page objects are
called directly, not through the spider's safety net (``SourceSpider.parser_error``).

Hypothesis runs derandomized with no example database, so CI sees the same examples on
every run; ``test_seeded_mutation_sweep`` is the figure ``vocwatch bench mutations``
prints (every saved page mutated 10 ways), asserted to raise nothing.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, field_problems
from spiders.pages.jsdata import load_js
from spiders.pages.registry import sites
from tests.conftest import shared_path
from vocwatch.bench import mutations as mu

READERS = mu.readers()
PROPERTY = settings(max_examples=10, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
MUTATIONS = settings(PROPERTY, max_examples=20)
HTML_CAP = 60_000
"""Hypothesis reads the first this-many characters of a big HTML page (the full pages are
read by the seeded sweep); a cut page is one of the mutations anyway."""
LIST_CAP = 4
"""JSON arrays are cut to this many elements for hypothesis: same shapes, faster reads."""


# --- the pages -------------------------------------------------------------------------


@cache
def _corpus() -> tuple[mu.Sample, ...]:
    return tuple(mu.corpus(shared_path("pages").parent))


def _shrunk(value: Any) -> Any:
    if isinstance(value, list):
        return [_shrunk(v) for v in value[:LIST_CAP]]
    if isinstance(value, dict):
        return {k: _shrunk(v) for k, v in value.items()}
    return value


@cache
def _prepared(name: str) -> tuple[tuple[str, str, Any], ...]:
    """(url, text, parsed JSON or None) of the pages ``name`` is tried on: its own saved
    pages, or, for a reader no saved page fits yet, every other reader's pages."""
    own = [s for s in _corpus() if s.reader == name] or list(_corpus())
    out = []
    for s in own:
        try:
            data = load_js(s.text) if s.text.lstrip()[:1] != "<" else None
        except MalformedPage:
            data = None
        if isinstance(data, dict | list):
            data = _shrunk(data)
            out.append((s.url, mu.dumps(data), data))
        else:
            out.append((s.url, s.text[:HTML_CAP], None))
    return tuple(out)


# --- what every read must satisfy --------------------------------------------------------


def assert_reads(name: str, url: str, text: str) -> None:
    """``READERS[name]`` on ``text``: well-typed mentions, or MalformedPage with a reason.
    Any other exception propagates and fails the test with its traceback."""
    try:
        mentions = READERS[name](Page(url=url, text=text, now=mu.NOW, tz=mu.TZ))
    except MalformedPage as exc:
        assert str(exc).strip(), f"{name}: a MalformedPage must say why"
        return
    assert isinstance(mentions, list), f"{name} returned {type(mentions).__name__}"
    for m in mentions:
        assert isinstance(m, Mention), f"{name} returned a {type(m).__name__}"
        assert field_problems(m) == [], f"{name}: {field_problems(m)} in {m}"


# --- strategies ----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400), st.floats(), st.text(max_size=12),
    st.integers(-(10**6), 10**15).map(str),  # numbers as strings
    st.characters(categories=["Cs"]).map("half an emoji ".__add__),  # a lone surrogate from a JSON escape
    st.sampled_from(mu.HOSTILE),
)
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3)
                           | st.dictionaries(st.text(max_size=6), kids, max_size=3), max_leaves=6)
"""JSON of any type: where the page had a string, a date or a count, the wrong one."""


@st.composite
def json_mutation(draw: st.DrawFn, data: Any) -> str:
    """The page's JSON with values of the wrong type: one slot, several, or every value
    of one key name (a dict for every ``nickname``, a list for every ``created_at``), or a
    value nested thousands deep."""
    data = copy.deepcopy(data)
    slots = mu.json_slots(data, limit=5_000)
    if not slots:
        return mu.dumps(draw(json_values))
    how = draw(st.sampled_from(["slots", "key", "deep"]))
    if how == "key":
        keys = sorted({k for c, k in slots if isinstance(c, dict)})
        if keys:
            key, value = draw(st.sampled_from(keys)), draw(json_values)
            for container, k in slots:
                if isinstance(container, dict) and k == key:
                    container[k] = copy.deepcopy(value)
            return mu.dumps(data)
    if how == "deep":
        container, k = draw(st.sampled_from(slots))
        container[k] = "\x00DEEP\x00"
        depth = draw(st.sampled_from([300, 950, 3_000, 60_000]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"comments":[', "]}"),
                                               ('{"data":{"children":[', "]}}")]))
        return mu.dumps(data).replace(json.dumps("\x00DEEP\x00"),
                                                            opener * depth + "1" + closer * depth, 1)
    for _ in range(draw(st.integers(1, 8))):
        container, k = draw(st.sampled_from(slots))
        container[k] = draw(json_values)
    return mu.dumps(data)


_ATTR_RE = re.compile(r'="([^"<>]{0,200})"')
markup_values = st.one_of(
    st.text(max_size=15),
    st.sampled_from(["&#55357;", "&#xD83D;&#xDE00;", "&#56832;&#55357;", "\x01", "\x0c", "&#0;", "&#x110000;"]),
    st.sampled_from(mu.HOSTILE).map(str),
)
"""Attribute values: any text, control characters, references to surrogates (half an emoji)."""


@st.composite
def markup_mutation(draw: st.DrawFn, text: str) -> str:
    """HTML with attribute values swapped (classes, ids, hrefs, dates), or nested deep."""
    if draw(st.booleans()):
        depth = draw(st.sampled_from([300, 3_000, 30_000]))
        at = draw(st.integers(0, len(text)))
        tag = draw(st.sampled_from(["div", "li", "span", "blockquote", "article"]))
        return text[:at] + f"<{tag}>" * depth + "x" + text[at:]
    spans = [m.span(1) for m in _ATTR_RE.finditer(text)]
    if not spans:
        return text
    chosen = sorted(set(draw(st.lists(st.sampled_from(spans), min_size=1, max_size=20))))
    out, last = [], 0
    for start, end in chosen:
        out += [text[last:start], draw(markup_values).replace('"', "'")]
        last = end
    return "".join(out) + text[last:]


@st.composite
def byte_mutation(draw: st.DrawFn, text: str) -> str:
    """Bytes flipped in transit (decoded with replacement, as Scrapy would), or a body cut
    off at any point."""
    raw = bytearray(text.encode("utf-8"))
    if not raw or draw(st.booleans()):
        return text[: draw(st.integers(0, len(text)))]
    for _ in range(draw(st.integers(1, 12))):
        i = draw(st.integers(0, len(raw) - 1))
        raw[i] ^= draw(st.integers(1, 255))
    return raw.decode("utf-8", "replace")


def _wrong_bodies() -> st.SearchStrategy[str]:
    others = st.sampled_from([s.text[:20_000] for s in _corpus()])  # HTML for a JSON reader and back
    return st.one_of(
        st.sampled_from(mu.WRONG_BODIES), st.text(max_size=300),
        st.binary(max_size=400).map(lambda b: b.decode("latin-1")),  # binary
        json_values.map(mu.dumps), others,
    )


# --- the properties --------------------------------------------------------------------------

NAMES = sorted(READERS)


def test_every_registered_adapter_and_page_object_is_tried() -> None:
    assert set(sites()) <= set(NAMES)
    assert {"selectors_html", "selectors_json", "schema_hotel", "mall", "weibo_feed", "forum", "feed"} <= set(NAMES)
    have = {s.reader for s in _corpus()}
    assert set(sites()) <= have, f"no saved page for {sorted(set(sites()) - have)} (they read others' pages)"


@pytest.mark.parametrize("name", NAMES)
@MUTATIONS
@given(data=st.data())
def test_mutated_real_pages_give_mentions_or_a_malformed_page(name: str, data: st.DataObject) -> None:
    url, text, parsed = data.draw(st.sampled_from(_prepared(name)), label="page")
    mutation: Callable[..., st.SearchStrategy[str]] = data.draw(
        st.sampled_from([byte_mutation, json_mutation if parsed is not None else markup_mutation]), label="how")
    body = data.draw(mutation(parsed if mutation is json_mutation else text), label="body")
    assert_reads(name, url, body)


@pytest.mark.parametrize("name", NAMES)
@PROPERTY
@given(data=st.data())
def test_the_wrong_body_type_gives_mentions_or_a_malformed_page(name: str, data: st.DataObject) -> None:
    url = _prepared(name)[0][0]
    assert_reads(name, url, data.draw(_wrong_bodies(), label="body"))


def test_seeded_mutation_sweep_raises_nothing() -> None:
    """Every saved page, full size, mutated 10 ways (``vocwatch bench mutations``)."""
    raised, ill_typed, reads = [], [], 0
    for sample in _corpus():
        for kind, text in mu.variants(sample, 10, seed=0):
            outcome = mu.read(READERS[sample.reader], text, sample.url)
            reads += 1
            if outcome.status == "raised":
                raised.append(f"{sample.reader} on {kind} {sample.rel}: {outcome.detail}")
            if outcome.problems:
                ill_typed.append(f"{sample.reader} on {kind} {sample.rel}: {outcome.problems}")
    assert reads >= 400
    assert raised == [] and ill_typed == []


def test_bench_mutations_prints_the_figure(capsys: pytest.CaptureFixture[str]) -> None:
    shared = shared_path("pages").parent
    assert mu.main(["--shared", str(shared), "--variants", "1"]) == 0  # 1: something raised
    out = capsys.readouterr().out
    assert "reader" in out and "raised" in out and "ill-typed" in out
    total = next(line for line in out.splitlines() if line.startswith("total")).split()
    assert int(total[1]) == len(_corpus()) and total[4] == "0"


# --- the selectors engine with any spec a config can hold ---------------------------------

_HTML_SELECT = ["li.postbit", "li.postbit, li.postbitlegacy", "xpath://li", "xpath://text()", "xpath:count(//li)",
                "xpath:string(//title)", "xpath:boolean(.)", "xpath:.", "xpath:@id", "blockquote.postcontent", "*",
                "a::attr(href)", "a.postcounter::attr(href)", "title::text", "::text", "xpath:.//dl/dd[1]", "dd",
                "xpath:string(.//*[contains(@class, 'username')])"]
_JSON_SELECT = ["post_stream.posts", "post_stream", "post_stream.posts.0", "post_stream.stream", "cooked", "username",
                "id", "created_at", "actions_summary.0.count", "actions_summary", "0", "-1", "x.y.z"]
_REGEXES = ["(\\d+)", "post_(\\d+)", "x*", "(?P<a>.)", "^$", "(a)|(b)", "(.)(.)"]


@st.composite
def selector_specs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A ``[sources.selectors]`` table that passes config validation, sensible or not
    (odd selectors: text nodes as items, ``count()``, attributes, arrays where text goes)."""
    page_type = draw(st.sampled_from(["html", "json"]))
    pool = _HTML_SELECT if page_type == "html" else _JSON_SELECT
    rule = st.one_of(st.sampled_from(pool),
                     st.fixed_dictionaries({"select": st.sampled_from(pool), "regex": st.sampled_from(_REGEXES)}))
    from config.selectors import FIELDS

    fields = {"text": draw(rule), **draw(st.dictionaries(st.sampled_from(FIELDS), rule, max_size=len(FIELDS)))}
    table: dict[str, Any] = {"type": page_type, "item": draw(st.sampled_from(pool)), "fields": fields}
    if page_type == "html" and draw(st.booleans()):
        table["exclude"] = draw(st.lists(st.sampled_from(_HTML_SELECT), max_size=3))
    if draw(st.booleans()):
        table["rating_scale"] = draw(st.sampled_from([10.0, 5.0, 0.5, 100.0]))
    paging = draw(st.sampled_from(["none", "next", "cursor", "param"]))
    if paging in ("next", "cursor"):
        table["next_page"] = draw(st.sampled_from(pool))
    if paging == "cursor":
        table["next_param"] = "after"
    if paging == "param":
        table["page_param"] = draw(st.sampled_from(["page", "p"]))
    return page_type, table


@PROPERTY
@given(spec=selector_specs(), how=st.sampled_from(["page", "mutated"]), data=st.data())
def test_the_selectors_engine_with_any_valid_spec_gives_mentions_or_a_malformed_page(
        spec: tuple[str, dict[str, Any]], how: str, data: st.DataObject) -> None:
    from config.loader import ConfigError, _Reader
    from config.selectors import read_selector_spec
    from spiders.pages.selectors import SelectorPage

    page_type, table = spec
    try:
        parsed = read_selector_spec(_Reader("spec.toml", "selectors", table))
    except ConfigError:
        return  # refused when the config loads: never reaches a page
    url, text, json_data = _prepared("selectors_json" if page_type == "json" else "selectors_html")[0]
    if how == "mutated":
        text = data.draw(json_mutation(json_data) if json_data is not None else markup_mutation(text))
    try:
        po = SelectorPage(Page(url=url, text=text, now=mu.NOW, tz=mu.TZ), parsed)
        mentions = po.mentions()
        po.next_url(found_items=bool(mentions))
    except MalformedPage as exc:
        assert str(exc).strip()
        return
    assert all(field_problems(m) == [] for m in mentions)


# --- the date parser with any text and any valid hints ----------------------------------

_DATE_WORDS = ["vor", "Tagen", "gestern", "Gestern,", "il y a", "jours", "hier à", "hace", "días", "fa", "giorni",
               "geleden", "назад", "дня", "前", "日", "年", "月", "전", "일", "há", "temu", "önce", "ago", "Today at",
               "Yesterday,", "PM", "Uhr", "um", "März", "September", "mars", "Mart", "CET", "UTC", "+0200", "Z", "T",
               "morgen", "tomorrow", "in", "2018", "27.", "03/04", "14:05", "9:", ":", "-", "/", ".", ",", " ",
               "1763620320", "0", "99", "2026-11-20", "\u200b", "\x00", "<b>", "&amp;", "½", "٣", "०"]
_DATE_HINTS = st.fixed_dictionaries({}, optional={
    "languages": st.sampled_from([None, "de", "fr", ["de", "en"], "ja", "ru", "zh", "el", "nb"]),
    "order": st.sampled_from([None, "DMY", "MDY", "YMD"]),
    "formats": st.sampled_from([None, "%d.%m.%Y", ["%d. %B %Y", "%Y-%m-%d %H:%M"], "%d.%m.", "%H:%M"]),
})
_DATE_TEXT = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(_DATE_WORDS), max_size=8).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_DATE_WORDS), st.integers(-5, 10**6).map(str)), max_size=8).map("".join),
)


@settings(PROPERTY, max_examples=300)
@given(raw=_DATE_TEXT, hints=_DATE_HINTS,
       now=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       tz=st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/Sao_Paulo", "Pacific/Kiritimati", "UTC"]))
def test_parse_datetime_never_raises_and_never_returns_the_future(
        raw: str, hints: dict[str, Any], now: datetime, tz: str) -> None:
    """Any text, any valid hints: None or an aware UTC instant at most a day after ``now``,
    with no exception and no warning (dateparser's included)."""
    from crawlers.processors import parse_datetime

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = parse_datetime(raw, now=now, tz=tz, **hints)
    assert result is None or (result.tzinfo is UTC and result <= now + timedelta(days=1))
