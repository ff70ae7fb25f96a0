"""Parser robustness figure: every saved real page, mutated deterministically N ways, read
by its adapter (and the selectors engine and the spiders' own page objects).

``python -m vocwatch.bench.mutations --shared ../shared`` (or ``vocwatch bench mutations``)
prints, per reader, the pages tried and what came of them: mentions, a malformed-page drop
(``MalformedPage`` with a reason), a raised Python exception (a bug: it would be a
traceback in a crawl), and pages whose mentions had a field of the wrong type (a dict
where the author belongs, a list where a date belongs).

Mutations are the ones a real crawl meets: bytes flipped in transit, a body cut off at a
random point, JSON values of the wrong type (a dict where a string belongs, a list where a
date belongs, null, numbers as strings), deep nesting, and the wrong body altogether (JSON
given to an HTML adapter, HTML to a JSON one, binary, empty). The same seed gives the same
mutations, so the figure before and after a change is comparable; the property test
``tests/test_parsers_never_raise.py`` reuses them.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from crawlers.items import Mention
from spiders.pages.base import MalformedPage, Page, field_problems

KINDS = ("flip", "truncate", "swap", "deep", "wrong_body")
"""Mutation kinds, applied in turn: variant ``i`` of a page is of kind ``KINDS[i % 5]``."""
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
DIR_SITE = {"schema_org_jsonld": "schema_org"}
"""Saved-page folders (``shared/pages/<folder>``) named otherwise than their adapter."""
HOSTILE: tuple[Any, ...] = (
    {"name": {"nested": [1, 2]}}, [1, "2", None, {"a": []}], None, "12", "3.5", "", " ", "not a date",
    "2026-13-45 25:61", 0, -1, 10**30, -(10**20), 10**400, 1e308, 0.5, True, False, math.nan, math.inf,
    "\x00\ufffd\u202e", "emoji cut \ud83d", "<script>alert(1)</script>", [[[[]]]], {}, [], "1.2万", "Sat Jun 15 11:44:46 +0800 2019",
)
"""Values swapped into JSON: wrong types, numbers as strings, nulls, non-finite numbers."""
WRONG_BODIES: tuple[str, ...] = (
    "", " \n", "null", "[]", "{}", '"a string"', "123", "NaN", '{"data": null}', '{"comments": "x"}',
    '[{"text": {"full": 1}}]', "<html><body><p>hi</p></body></html>", "<?xml version='1.0'?><rss/>",
    "\ufeff", "\x00\x01\x02\xff\xfe", "while(1);", ")]}'", "cb(", "export const x = ;",
)


@dataclass(frozen=True)
class Sample:
    reader: str
    rel: str
    """Where the page came from (``folder/file`` under ``shared/pages``, or ``sandbox:...``)."""
    text: str
    url: str


@dataclass
class Tally:
    pages: int = 0
    mentions: int = 0
    malformed: int = 0
    raised: int = 0
    ill_typed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    """``ExceptionType at file`` -> times, for the pages that raised."""


# --- readers ---------------------------------------------------------------------------


def _registered(name: str) -> Callable[[Page], list[Mention]]:
    from spiders.pages.registry import adapter

    def read(page: Page) -> list[Mention]:
        return adapter(name).read(page).mentions  # next page and follow-ups read too

    return read


def _schema_hotel(page: Page) -> list[Mention]:
    from spiders.pages.schema_hotel import SchemaHotelReviewPage

    po = SchemaHotelReviewPage(page)
    po.next_url()
    return po.mentions()


def _mall(page: Page) -> list[Mention]:
    from spiders.pages.mall import MallCommentsPage

    po = MallCommentsPage(page)
    _ = po.max_page, po.summary
    return po.mentions()


def _weibo_feed(page: Page) -> list[Mention]:
    from spiders.pages.weibo import WeiboFeedPage

    po = WeiboFeedPage(page)
    _ = po.next_cursor
    return po.mentions()


def _forum(page: Page) -> list[Mention]:
    from spiders.pages.forum import ForumListingPage, ForumThreadPage

    listing = ForumListingPage(page)
    listing.follow_urls(), listing.next_url()
    po = ForumThreadPage(page)
    po.next_url()
    return po.mentions()


def _feed(page: Page) -> list[Mention]:
    from spiders.pages.feed import FeedPage

    return FeedPage(page).mentions()


def _selectors(spec_name: str) -> Callable[[Page], list[Mention]]:
    def read(page: Page) -> list[Mention]:
        from spiders.pages.selectors import SelectorPage

        po = SelectorPage(page, selector_specs()[spec_name])
        mentions = po.mentions()
        po.next_url(found_items=bool(mentions))
        return mentions

    return read


def selector_specs() -> dict[str, Any]:
    """Selectors specs the engine is tried with: the shipped vBulletin one (HTML, regex,
    exclude, XPath) and a JSON one over Discourse topics (dotted paths, a cursor)."""
    from config.selectors import FieldRule, SelectorSpec, load_selector_file

    root = Path(__file__).resolve().parents[2]
    json_spec = SelectorSpec(
        item="post_stream.posts", type="json", kind="comment", rating_scale=5.0,
        next_page="post_stream.stream.-1", next_param="after",
        fields=(("text", FieldRule("cooked", html=True)), ("author", FieldRule("username")),
                ("date", FieldRule("created_at")), ("likes", FieldRule("actions_summary.0.count")),
                ("comments", FieldRule("reply_count")), ("external_id", FieldRule("id")),
                ("rating", FieldRule("score")), ("url", FieldRule("post_url")),
                ("title", FieldRule("display_username")), ("reply_date", FieldRule("updated_at")),
                ("variant", FieldRule("user_title", __import__("re").compile(r"(\w+)")))),
    )
    return {"selectors_html": load_selector_file(root / "docs" / "selectors" / "vbulletin4.toml"),
            "selectors_json": json_spec}


def readers() -> dict[str, Callable[[Page], list[Mention]]]:
    """Every page reader a crawl calls, by name: each registered site adapter with its
    pagination rule (so a new adapter is covered by registering it), the selectors engine,
    and the page objects of the other spiders."""
    from spiders.pages.registry import sites

    out: dict[str, Callable[[Page], list[Mention]]] = {name: _registered(name) for name in sites()}
    out.update({"selectors_html": _selectors("selectors_html"), "selectors_json": _selectors("selectors_json"),
                "schema_hotel": _schema_hotel, "mall": _mall, "weibo_feed": _weibo_feed, "forum": _forum,
                "feed": _feed})
    return out


# --- the pages ---------------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # the two saved 2015 European pages


def _sandbox_pages() -> dict[str, list[tuple[str, str]]]:
    """First pages of the sandbox's sites, for the page objects no real saved page fits."""
    from vocwatch.sandbox import generate as gen
    from vocwatch.sandbox import render

    content = gen.generate(1, NOW)
    hotel = next(iter(content.hotels.values()))
    product = next(iter(content.mall.values()))
    feed = next(iter(content.weibo.values()))
    thread = content.forum.threads[0]
    return {
        "schema_hotel": [("sandbox:hotel", render.hotel_page(hotel, 1) or "")],
        "mall": [("sandbox:mall", json.dumps(render.mall_page(product, 1, 10), ensure_ascii=False))],
        "weibo_feed": [("sandbox:weibo", json.dumps(render.weibo_page(feed, None, NOW), ensure_ascii=False))],
        "forum": [("sandbox:forum_search", render.forum_search(content.forum, "harbor")),
                  ("sandbox:forum_thread", render.forum_thread(thread, 1) or "")],
    }


FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pages"
"""The repo's own real-page fixtures (``<site>/<name>/input.*`` + ``meta.json``)."""


def _fixture_pages(names: set[str]) -> dict[str, list[tuple[str, str]]]:
    """The fixture pages of the readers in ``names``, by the site their ``meta.json`` names."""
    out: dict[str, list[tuple[str, str]]] = {}
    for meta_path in sorted(FIXTURES.glob("*/*/meta.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        site = meta.get("site") if isinstance(meta, dict) else None
        if site in names:
            for f in sorted(meta_path.parent.glob("input.*")):
                out.setdefault(site, []).append((f"fixtures/{meta_path.parent.parent.name}/{meta_path.parent.name}/{f.name}",
                                                 _decode(f.read_bytes())))
    return out


def corpus(shared: str | Path) -> list[Sample]:
    """The pages each reader is tried on: a registered adapter reads its own site's saved
    pages (``shared/pages/<site>/``, else the repo's fixtures of that site), the selectors engine the vBulletin thread and the
    Discourse topic, the other page objects sandbox pages plus fitting real ones."""
    pages = Path(shared) / "pages"
    if not pages.is_dir():
        raise FileNotFoundError(f"{pages} is absent (the shared real pages are not checked out)")
    names = set(readers())
    by_reader: dict[str, list[tuple[str, str]]] = {}
    for folder in sorted(p for p in pages.iterdir() if p.is_dir()):
        name = DIR_SITE.get(folder.name, folder.name)
        if name in names:
            by_reader[name] = [(f"{folder.name}/{f.name}", _decode(f.read_bytes())) for f in sorted(folder.iterdir())
                               if f.is_file()]
    for name, pairs in _fixture_pages(names - set(by_reader)).items():
        by_reader[name] = pairs  # sites the shared pages do not cover (forum engines)
    for name, pairs in _sandbox_pages().items():
        by_reader.setdefault(name, []).extend(pairs)

    def real(*rels: str) -> list[tuple[str, str]]:
        return [(r, _decode((pages / r).read_bytes())) for r in rels if (pages / r).is_file()]

    by_reader["selectors_html"] = real("forum_vbulletin/pocketpc.ch.auslieferung.html")
    by_reader["selectors_json"] = real("discourse/topic.json")
    by_reader["schema_hotel"] += real("schema_org_jsonld/allrecipescurated.testhtml")
    by_reader["mall"] += [(f"{rel} (as one productPageComments page)", json.dumps(
        {"maxPage": 100, "comments": json.loads(text)[:60]}, ensure_ascii=False)) for rel, text in real("jd/jd_comments.json")]
    by_reader["feed"] = real("rss/onethingwell.rss", "rss/slickdeals.atom")
    return [Sample(name, rel, text, f"https://{name}.test/{quote(rel.replace(':', '/'))}?page=1&offset=0&id=1")
            for name in sorted(by_reader) for rel, text in by_reader[name]]


# --- mutations ---------------------------------------------------------------------------


def _json_data(text: str) -> Any:
    from spiders.pages.jsdata import load_js

    try:
        return load_js(text)
    except (MalformedPage, RecursionError, ValueError):
        return None


def json_slots(data: Any, limit: int = 50_000) -> list[tuple[Any, Any]]:
    """(container, key) of the first ``limit`` values in ``data``, breadth first."""
    out: list[tuple[Any, Any]] = []
    queue = [data]
    while queue and len(out) < limit:
        node = queue.pop(0) if len(queue) < 64 else queue.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            out.append((node, key))
            if isinstance(value, dict | list):
                queue.append(value)
    return out


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def dumps(data: Any) -> str:
    """``data`` as the JSON body a site would send: UTF-8 text, and a lone surrogate (half
    an emoji) as the ``\\ud83d`` escape, since a body decoded from bytes cannot hold one raw."""
    return _SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(data, ensure_ascii=False))


def _flip(text: str, rng: random.Random) -> str:
    raw = bytearray(text.encode("utf-8"))
    if not raw:
        return "\xff"
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(raw))
        raw[i] ^= rng.randint(1, 255)
    return raw.decode("utf-8", "replace")


def _truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(len(text))] if text else ""


def _swap(text: str, rng: random.Random) -> str:
    """JSON values of the wrong type: one value, or every value of one key name (a dict
    for every ``nickname``, a list for every ``created_at``); HTML gets its attribute
    values swapped instead."""
    data = _json_data(text)
    if not isinstance(data, dict | list):
        return _swap_attrs(text, rng)
    slots = json_slots(data)
    if not slots:
        return dumps(rng.choice(HOSTILE))
    keys = sorted({k for c, k in slots if isinstance(c, dict)})
    if keys and rng.random() < 0.6:
        key, value = rng.choice(keys), rng.choice(HOSTILE)
        for container, k in slots:
            if isinstance(container, dict) and k == key:
                container[k] = value
    else:
        for _ in range(rng.randint(1, 20)):
            container, k = rng.choice(slots)
            container[k] = rng.choice(HOSTILE)
    return dumps(data)


def _swap_attrs(text: str, rng: random.Random) -> str:
    values = [m.span(1) for m in re.finditer(r'="([^"<>]{0,200})"', text[:2_000_000])]
    if not values:
        return _flip(text, rng)
    out, last = [], 0
    for start, end in sorted(rng.sample(values, min(len(values), rng.randint(1, 50)))):
        value = str(rng.choice(HOSTILE)).replace('"', "'")
        out += [text[last:start], _SURROGATE_RE.sub(lambda m: f"&#x{ord(m.group()):x};", value)]
        last = end
    return "".join(out) + text[last:]


def _deep(text: str, rng: random.Random) -> str:
    depth = rng.choice((200, 900, 5_000, 100_000))
    data = _json_data(text)
    if isinstance(data, dict | list) and (slots := json_slots(data)):
        container, k = rng.choice(slots)
        container[k] = "\x00DEEP\x00"
        opener = rng.choice(("[", '{"a":', '{"comments":[', '{"c":{"data":{"children":['))
        closer = {"[": "]", '{"a":': "}", '{"comments":[': "]}", '{"c":{"data":{"children":[': "]}}}"}[opener]
        return dumps(data).replace(json.dumps("\x00DEEP\x00"), opener * depth + "1" + closer * depth, 1)
    at = text.find("<body")
    at = text.find(">", at) + 1 if at >= 0 else rng.randrange(len(text) + 1)
    tag = rng.choice(("div", "li", "span", "blockquote"))
    return text[:at] + f"<{tag}>" * depth + "x" + f"</{tag}>" * depth + text[at:]


def _wrong_body(text: str, rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return rng.choice(WRONG_BODIES)
    if kind == 1:
        return rng.randbytes(rng.choice((16, 4096))).decode("latin-1")  # binary
    if kind == 2:  # the other kind of document: JSON for HTML, HTML for JSON
        if text.lstrip()[:1] == "<":
            return dumps({"html": text[:500], "items": [{"text": text[:200], "author": {"name": "x"}}]})
        return f"<html><body><pre>{text[:5000]}</pre></body></html>"
    return text.encode("utf-8").decode("latin-1")  # decoded with the wrong charset


_MUTATORS: dict[str, Callable[[str, random.Random], str]] = {
    "flip": _flip, "truncate": _truncate, "swap": _swap, "deep": _deep, "wrong_body": _wrong_body}


def mutate(text: str, kind: str, rng: random.Random) -> str:
    """``text`` mutated one way of ``kind`` (see :data:`KINDS`), drawn from ``rng``."""
    return _MUTATORS[kind](text, rng)


def variants(sample: Sample, n: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """``n`` deterministic (kind, mutated text) variants of ``sample``'s page."""
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        rng = random.Random(f"{seed}:{sample.reader}:{sample.rel}:{i}")
        yield kind, mutate(sample.text, kind, rng)


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: str
    """``"mentions"``, ``"malformed"`` or ``"raised"``."""
    mentions: int = 0
    detail: str = ""
    """The MalformedPage reason, or the exception type and message."""
    problems: tuple[str, ...] = ()
    """Fields of the wrong type in the mentions (``author: dict``)."""


def read(reader: Callable[[Page], list[Mention]], text: str, url: str) -> Outcome:
    """What ``reader`` makes of ``text``; any exception but MalformedPage is ``raised``."""
    page = Page(url=url, text=text, now=NOW, tz=TZ)
    try:
        mentions = reader(page)
    except MalformedPage as exc:
        return Outcome("malformed", detail=str(exc))
    except Exception as exc:  # the point of the figure: what an adapter should never do
        return Outcome("raised", detail=f"{type(exc).__name__}: {str(exc)[:200]}")
    problems: list[str] = []
    if not isinstance(mentions, list):
        problems.append(f"returned {type(mentions).__name__}")
        mentions = list(mentions) if isinstance(mentions, tuple) else []
    for m in mentions:
        problems += field_problems(m) if isinstance(m, Mention) else [f"item {type(m).__name__}"]
    return Outcome("mentions", len(mentions), problems=tuple(sorted(set(problems))))


def run(shared: str | Path, n: int = 10, seed: int = 0, say: Callable[[str], Any] = print) -> dict[str, Tally]:
    """Read every saved page ``n`` ways mutated; print and return the tally per reader."""
    from crawlers.processors import clean_text  # noqa: F401  (imported once, outside the timing of reads)

    samples = corpus(shared)
    all_readers = readers()
    tallies: dict[str, Tally] = {}
    for sample in samples:
        tally = tallies.setdefault(sample.reader, Tally())
        for _kind, text in variants(sample, n, seed):
            outcome = read(all_readers[sample.reader], text, sample.url)
            tally.pages += 1
            tally.mentions += outcome.mentions
            tally.malformed += outcome.status == "malformed"
            tally.ill_typed += bool(outcome.problems)
            if outcome.status == "raised":
                tally.raised += 1
                key = f"{outcome.detail.split(':', 1)[0]} on {sample.rel}"
                tally.errors[key] = tally.errors.get(key, 0) + 1
    say(format_table(tallies, n, seed))
    return tallies


def format_table(tallies: dict[str, Tally], n: int, seed: int) -> str:
    width = max([len(k) for k in tallies] + [6])
    lines = [f"mutated real pages: each saved page {n} ways (seed {seed}; kinds {', '.join(KINDS)})",
             f"{'reader':<{width}}  {'pages':>5}  {'mentions':>8}  {'malformed':>9}  {'raised':>6}  {'ill-typed':>9}"]
    total = Tally()
    for name in sorted(tallies):
        t = tallies[name]
        lines.append(f"{name:<{width}}  {t.pages:>5}  {t.mentions:>8}  {t.malformed:>9}  {t.raised:>6}  {t.ill_typed:>9}")
        for attr in ("pages", "mentions", "malformed", "raised", "ill_typed"):
            setattr(total, attr, getattr(total, attr) + getattr(t, attr))
    lines.append(f"{'total':<{width}}  {total.pages:>5}  {total.mentions:>8}  {total.malformed:>9}  "
                 f"{total.raised:>6}  {total.ill_typed:>9}")
    errors = [f"  {name}: {err} x{times}" for name in sorted(tallies) for err, times in sorted(tallies[name].errors.items())]
    if errors:
        lines += ["raised:", *errors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vocwatch.bench.mutations", description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", default="../shared", help="directory holding pages/ (the saved real pages)")
    p.add_argument("-n", "--variants", type=int, default=10, help="mutations per saved page")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        tallies = run(args.shared, args.variants, args.seed)
    except FileNotFoundError as exc:
        print(f"vocwatch bench mutations: {exc}", file=sys.stderr)
        return 2
    return 1 if any(t.raised for t in tallies.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
