"""Page fixtures: a saved page, the clock and zone it is read against, and what its site
adapter is expected to read from it (web-poet style).

A fixture is a folder ``<root>/<site>/<name>/`` (root: ``tests/fixtures/pages``) holding

* ``input.<ext>``: the page's bytes exactly as fetched or found (``html``, ``json``, ``js``,
  ``xml``, ``rss``...), never edited;
* ``meta.json``: ``site`` (the adapter), ``url`` (the page's real URL), ``now`` (the frozen
  fetch time: relative dates like "3 hours ago" resolve against it), ``tz`` (the site's zone
  for local dates), ``encoding`` (the charset the bytes are decoded with, as a crawl decodes
  a page served with that charset), ``origin`` (``repo``, ``path``, ``commit``, ``license``:
  where the page came from) and ``notes``;
* ``output.json``: the expected reading: every mention with each field that is not empty
  (datetimes as ISO-8601 UTC), then ``next_url`` and ``follow_urls``. It is written by the
  adapter (``vocwatch parse --save-fixture`` / ``--freeze-fixtures``) and becomes an
  expectation only once a human has checked it against the page.

:func:`outcomes` compares a fresh reading with ``output.json`` case by case (one case per
field of each mention, plus the mention count, ``next_url`` and ``follow_urls``), so a
change in an adapter shows as the few fields it changed. ``tests/test_fixtures.py`` makes
each case a test; ``vocwatch parse --check-fixtures`` prints the same diffs.
"""

from __future__ import annotations

import codecs
import difflib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawlers.items import MENTION_FIELDS, Mention

FIXTURES_DIR = Path("tests") / "fixtures" / "pages"
"""Where fixtures live, relative to the repository root."""
META_KEYS = ("site", "url", "now", "tz", "encoding", "origin", "notes")
ORIGIN_KEYS = ("repo", "path", "commit", "license")
KEPT_FOR_INDEPENDENT_CHECKS = frozenset({
    # the repositories ../shared/pages came from (its SOURCES.md, staged and "found but not staged")
    "hajekt2/crawler-tripadvisor", "ribicnejc/tripadvisor-scraper", "scrapfly/scrapfly-scrapers",
    "lawrenae/metaagent-gemini", "gosom/google-maps-scraper", "TurnerMooreDavis/yelp_me_find_a_groupon",
    "future-jj/sck", "bo1051767482/dianping", "xudie/mall", "loserjohn/cloud-Store",
    "veryStarters/qtouch-starter", "dataabc/weiboSpider", "gottaegbert/weiboAPI", "zhangfaliang/koa2",
    "TruthLiu/ArticleSpider", "praw-dev/praw", "adbar/trafilatura", "malmstein/yahnac",
    "bensadeh/circumflex", "discourse/discourse_api", "hhursev/recipe-scrapers", "huginn/huginn",
    "tiendung14b/review_crawler", "Giear/bilibili_luncky_lottery", "Dandice/vue-hackernews-2.0",
    "cysgg/vue-project", "superliuliuliu/pythonspider",
    # and two more the project keeps for checking vocwatch independently
    "peterwittek/happycowler", "SJTucker/lending_tree_reviews",
})
"""Repositories no fixture may come from: their pages are kept for checking vocwatch on
pages nobody here has seen (compared case-insensitively, as GitHub names are)."""
_KEPT_LOWER = frozenset(r.lower() for r in KEPT_FOR_INDEPENDENT_CHECKS)
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
"""A fixture's folder name: one path segment, no dot first."""
_COMMIT_RE = re.compile(r"[0-9a-f]{40}")
_REPO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*")
COUNT_CASE, NEXT_CASE, FOLLOW_CASE, META_CASE, OUTPUT_CASE = (
    "len(mentions)", "next_url", "follow_urls", "meta", "output.json")
OTHER_FIELDS = "*"
"""Suffix of the case that a mention has no field beyond those ``output.json`` lists."""
_ABSENT = object()


class FixtureError(ValueError):
    """A fixture folder that cannot be read as one (no input, bad meta.json)."""


# --- values as output.json holds them -------------------------------------------------

def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _empty(value: Any) -> bool:
    """None, "", [], {}, and False (a flag at its default, ``truncated``): what is not listed."""
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def mention_json(m: Mention) -> dict[str, Any]:
    """The fields of ``m`` that are not empty (None, "", [], {}, False), in the Mention's field
    order, as JSON values; ``fields_given_up`` too when the registry had to give some up
    (a wrong-typed value on the page is a change to review like any other)."""
    out = {name: _jsonable(getattr(m, name)) for name in MENTION_FIELDS if not _empty(getattr(m, name))}
    if m.fields_given_up:
        out["fields_given_up"] = list(m.fields_given_up)
    return out


def reading_json(reading: Any) -> dict[str, Any]:
    """A :class:`~spiders.pages.registry.Reading` as ``output.json`` holds it."""
    data = {"mentions": [mention_json(m) for m in reading.mentions],
            "next_url": reading.next_url, "follow_urls": list(reading.follow_urls)}
    return json.loads(json.dumps(data, ensure_ascii=False))  # tuples as lists, like a loaded file


def dumps(data: Any) -> str:
    """JSON as the fixture files are written: readable (UTF-8, indented), one trailing newline."""
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


# --- the fixture folder ------------------------------------------------------------------

def decode(raw: bytes, encoding: str | None) -> tuple[str, str]:
    """(charset used, text) of a page's bytes. With ``encoding``: as a crawl decodes a page
    served with that charset (a byte-order mark still wins). Without: the byte-order mark,
    then the page's own declaration (``<meta charset>``, XML declaration), then UTF-8, and
    the bytes' evidence where that declaration cannot be right
    (:func:`crawlers.charset.evidence_encoding`)."""
    from w3lib.encoding import html_to_unicode

    from crawlers.charset import codec_name, evidence_encoding

    if encoding:
        codecs.lookup(encoding)  # LookupError for a charset Python does not know
        used, text = html_to_unicode(f"text/html; charset={encoding}", raw)
    else:
        used, text = html_to_unicode(None, raw)
        better = evidence_encoding(raw, used)
        if better:
            used, text = html_to_unicode(f"text/html; charset={better}", raw)
    return codec_name(used) or used, text


def parse_now(text: Any) -> datetime:
    """An ISO-8601 time as an aware UTC datetime (UTC when it has no offset)."""
    if not isinstance(text, str):
        raise FixtureError(f"now: {text!r} is not an ISO-8601 time")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise FixtureError(f"now: {text!r} is not an ISO-8601 time") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _zone(name: Any) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise FixtureError(f"tz: {name!r} is not an IANA zone") from None


@dataclass(frozen=True)
class Fixture:
    """One fixture folder."""

    path: Path

    @property
    def id(self) -> str:
        """``<site>/<name>``: the folder and its parent, as test ids show it."""
        return f"{self.path.parent.name}/{self.path.name}"

    @property
    def meta_path(self) -> Path:
        return self.path / "meta.json"

    @property
    def output_path(self) -> Path:
        return self.path / "output.json"

    @property
    def input_path(self) -> Path:
        inputs = sorted(p for p in self.path.glob("input.*") if p.is_file())
        if len(inputs) != 1:
            raise FixtureError(f"{self.path}: {'no input.<ext> file' if not inputs else 'several input files: ' + ', '.join(p.name for p in inputs)}")
        return inputs[0]

    def meta(self) -> dict[str, Any]:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FixtureError(f"{self.path}: no meta.json") from None
        except (OSError, ValueError) as exc:
            raise FixtureError(f"{self.meta_path}: {exc}") from None
        if not isinstance(meta, dict):
            raise FixtureError(f"{self.meta_path}: not a JSON object")
        return meta

    def meta_problems(self) -> list[str]:
        """What meta.json lacks or gets wrong (empty when complete): a fixture says where
        its page came from and how to read it, or nobody can check it later."""
        try:
            meta = self.meta()
        except FixtureError as exc:
            return [str(exc)]
        problems = [f"{key}: missing" for key in META_KEYS if key not in meta]
        if "site" in meta:
            from spiders.pages.registry import sites

            if meta["site"] not in sites():
                problems.append(f"site: {meta['site']!r} has no adapter")
        if "url" in meta and not (isinstance(meta["url"], str) and re.match(r"https?://[^/\s]+", meta["url"])):
            problems.append(f"url: {meta['url']!r} is not an http(s) URL")
        for key, check in (("now", parse_now), ("tz", _zone)):
            if key in meta:
                try:
                    check(meta[key])
                except FixtureError as exc:
                    problems.append(str(exc))
        if "encoding" in meta:
            try:
                codecs.lookup(meta["encoding"])
            except (LookupError, TypeError):
                problems.append(f"encoding: {meta['encoding']!r} is no charset Python knows")
        origin = meta.get("origin")
        if "origin" in meta and not isinstance(origin, dict):
            problems.append("origin: not an object with repo, path, commit, license")
        elif isinstance(origin, dict):
            for key in ORIGIN_KEYS:
                if not (isinstance(origin.get(key), str) and origin[key].strip()):
                    problems.append(f"origin.{key}: missing")
            if isinstance(origin.get("repo"), str) and origin["repo"] and not _REPO_RE.fullmatch(origin["repo"]):
                problems.append(f"origin.repo: {origin['repo']!r} is not owner/name")
            if isinstance(origin.get("repo"), str) and origin["repo"].lower() in _KEPT_LOWER:
                problems.append(f"origin.repo: {origin['repo']} is kept for independent checks; no fixture may come from it")
            if isinstance(origin.get("commit"), str) and origin["commit"] and not _COMMIT_RE.fullmatch(origin["commit"]):
                problems.append(f"origin.commit: {origin['commit']!r} is not a full 40-hex commit")
        if "notes" in meta and not (isinstance(meta["notes"], str) and meta["notes"].strip()):
            problems.append("notes: empty (say what the page is, its era and language, anything odd)")
        try:
            self.input_path  # noqa: B018 (raises when there is not exactly one input)
        except FixtureError as exc:
            problems.append(str(exc))
        return problems

    def page(self) -> Any:
        """The saved page as the adapter meets it in a crawl: its URL, its bytes decoded
        with the meta's charset, the frozen fetch time and the site's zone."""
        from spiders.pages.base import Page

        meta = self.meta()
        for key in ("site", "url", "now", "tz", "encoding"):
            if not isinstance(meta.get(key), str):
                raise FixtureError(f"{self.meta_path}: {key} missing")
        try:
            _, text = decode(self.input_path.read_bytes(), meta["encoding"])
        except LookupError:
            raise FixtureError(f"encoding: {meta['encoding']!r} is no charset Python knows") from None
        return Page(url=meta["url"], text=text, now=parse_now(meta["now"]), tz=_zone(meta["tz"]))

    def read(self) -> Any:
        """The page read by its site's adapter (one page object: mentions, next_url,
        follow_urls). Raises MalformedPage, or FixtureError for a broken folder."""
        from spiders.pages.registry import adapter

        page = self.page()
        try:
            site_adapter = adapter(self.meta()["site"])
        except KeyError as exc:
            raise FixtureError(str(exc.args[0])) from None
        return site_adapter.read(page)

    def expected(self) -> dict[str, Any] | None:
        """``output.json`` (None when there is none yet); FixtureError when it is not of
        the shape :func:`reading_json` writes."""
        try:
            data = json.loads(self.output_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise FixtureError(f"{self.output_path}: {exc}") from None
        if not (isinstance(data, dict) and isinstance(data.get("mentions"), list)
                and all(isinstance(m, dict) for m in data["mentions"])
                and isinstance(data.get("follow_urls", []), list)):
            raise FixtureError(f"{self.output_path}: not {{\"mentions\": [{{...}}], \"next_url\", \"follow_urls\"}}")
        return data

    def freeze_command(self) -> str:
        try:
            where = self.path.resolve().relative_to(Path.cwd())
        except ValueError:
            where = self.path
        return f"vocwatch parse --freeze-fixtures {where}"


def discover(root: Path) -> list[Fixture]:
    """Every fixture folder at or under ``root`` (a folder holding a meta.json, an
    output.json or an input.* file), sorted by path."""
    root = Path(root)
    if not root.is_dir():
        return []
    marks = [p.parent for p in root.rglob("*") if p.is_file()
             and (p.name in ("meta.json", "output.json") or p.name.startswith("input."))]
    return [Fixture(d) for d in sorted(set(marks))]


# --- comparing a reading with output.json -----------------------------------------------

def case_ids(expected: dict[str, Any]) -> list[str]:
    """The cases ``expected`` makes: the mention count, each field of each mention, that
    no mention has a field beyond those (``mentions[i].*``), next_url and follow_urls."""
    ids = [COUNT_CASE]
    for i, m in enumerate(expected["mentions"]):
        ids += [f"mentions[{i}].{name}" for name in m] + [f"mentions[{i}].{OTHER_FIELDS}"]
    return [*ids, NEXT_CASE, FOLLOW_CASE]


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, ensure_ascii=False)


def describe(expected: Any, got: Any) -> str:
    """A readable difference of two values: a line diff for long or multi-line texts
    (with where they first differ), else both values."""
    if isinstance(expected, str) and isinstance(got, str) and (
            max(len(expected), len(got)) > 70 or "\n" in expected + got):
        at = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b),
                  min(len(expected), len(got)))
        lines = list(difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected", "got",
                                          lineterm="", n=1))
        head = (f"texts differ from character {at} (expected {len(expected)} characters, got {len(got)}): "
                f"expected {_show(expected[max(0, at - 20):at + 30])}, got {_show(got[max(0, at - 20):at + 30])}")
        lines = [line if len(line) <= 240 else line[:240] + "…" for line in lines[2:]]
        return "\n".join([head, *lines[:40], *(["…"] if len(lines) > 40 else [])])
    return f"expected {_show(expected)}\n     got {_show(got)}"


def _key(m: dict[str, Any]) -> str:
    return str(m.get("external_id") or f"{m.get('kind')}:{str(m.get('text', ''))[:30]!r}")


def _count_message(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> str | None:
    if len(expected) == len(got):
        return None
    exp, now = Counter(map(_key, expected)), Counter(map(_key, got))
    new, gone = list((now - exp).elements()), list((exp - now).elements())
    return "\n".join([f"expected {len(expected)} mentions, got {len(got)}",
                      *([f"new in the reading: {', '.join(new[:20])}"] if new else []),
                      *([f"gone from the reading: {', '.join(gone[:20])}"] if gone else [])])


def compare(expected: dict[str, Any], got: dict[str, Any]) -> dict[str, str | None]:
    """Each case of :func:`case_ids` ``(expected)`` with what is wrong in ``got`` (a
    :func:`reading_json`), None when it matches."""
    out: dict[str, str | None] = {COUNT_CASE: _count_message(expected["mentions"], got["mentions"])}
    for i, exp in enumerate(expected["mentions"]):
        have = got["mentions"][i] if i < len(got["mentions"]) else None
        for name, value in exp.items():
            case = f"mentions[{i}].{name}"
            if have is None:
                out[case] = f"the reading has only {len(got['mentions'])} mentions"
            else:
                value_got = have.get(name, _ABSENT)
                out[case] = None if value_got == value else describe(value, value_got)
        case = f"mentions[{i}].{OTHER_FIELDS}"
        extra = {k: v for k, v in (have or {}).items() if k not in exp}
        if have is None:
            out[case] = f"the reading has only {len(got['mentions'])} mentions"
        elif extra:  # a field the adapter now fills: a change to review like any other
            out[case] = "fields that output.json does not have: " + "; ".join(
                f"{k} = {_show(v)[:200]}" for k, v in extra.items())
        else:
            out[case] = None
    for case in (NEXT_CASE, FOLLOW_CASE):
        exp_value, got_value = expected.get(case, [] if case == FOLLOW_CASE else None), got[case]
        out[case] = None if exp_value == got_value else describe(exp_value, got_value)
    return out


def outcomes(fixture: Fixture) -> dict[str, str | None]:
    """Every case of ``fixture`` (``meta``, then those of its output.json, or the single
    ``output.json`` case when it has none) with its failure message, None when it passes.
    A page that cannot be read fails every case with the reason."""
    from spiders.pages.base import MalformedPage

    problems = fixture.meta_problems()
    out: dict[str, str | None] = {META_CASE: "; ".join(problems) if problems else None}
    try:
        expected = fixture.expected()
    except FixtureError as exc:
        return out | {OUTPUT_CASE: str(exc)}
    if expected is None:
        return out | {OUTPUT_CASE: f"no output.json: an expected reading must be written and checked by "
                                   f"reading the page: run `{fixture.freeze_command()}`, then read the page"}
    try:
        got = reading_json(fixture.read())
    except (MalformedPage, FixtureError) as exc:
        why = f"the page could not be read: {type(exc).__name__}: {exc}"
        return out | dict.fromkeys(case_ids(expected), why)
    return out | compare(expected, got)


def case_list(fixture: Fixture) -> list[str]:
    """The case names of ``fixture`` without reading its page (what a test run collects)."""
    try:
        expected = fixture.expected()
    except FixtureError:
        return [META_CASE, OUTPUT_CASE]
    return [META_CASE, *(case_ids(expected) if expected is not None else [OUTPUT_CASE])]


# --- writing fixtures ----------------------------------------------------------------------

def summary(data: dict[str, Any]) -> str:
    """One line on an expected reading, for the human who checks it: the mentions by kind,
    how many have each field filled, and the navigation."""
    mentions = data["mentions"]
    kinds = Counter(m.get("kind") for m in mentions)
    filled = Counter(name for m in mentions for name in m if name not in ("site", "kind", "url"))
    parts = [f"{len(mentions)} mentions" + (f" ({', '.join(f'{k} {n}' for k, n in kinds.items())})" if kinds else "")]
    parts += [f"{name} {n}" for name, n in filled.items()]
    parts += [f"next_url {'set' if data.get('next_url') else 'none'}", f"follow_urls {len(data.get('follow_urls') or [])}"]
    return " · ".join(parts)


def write_fixture(folder: Path, *, raw: bytes, ext: str, meta: dict[str, Any], overwrite: bool = False) -> dict[str, Any]:
    """A new fixture folder: the input bytes, ``meta`` and the reading written as the
    expected output. The page is read before anything is written (a page the adapter
    cannot read leaves no folder behind). Refuses an existing fixture unless
    ``overwrite``. Returns the expected output written."""
    folder = Path(folder)
    exists = (folder / "meta.json").exists() or (folder / "output.json").exists() or any(folder.glob("input.*"))
    if exists and not overwrite:
        raise FileExistsError(f"{folder} already holds a fixture (pass --overwrite to replace it)")
    staged = Fixture(folder)
    ext = ext.lstrip(".").lower() or "html"
    if not re.fullmatch(r"[a-z0-9]{1,10}", ext):
        raise FixtureError(f"input extension {ext!r}: letters and digits only")
    reading = _read_staged(raw, meta)
    data = reading_json(reading)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("input.*"):
        old.unlink()
    (folder / f"input.{ext}").write_bytes(raw)
    staged.meta_path.write_text(dumps(meta), encoding="utf-8")
    staged.output_path.write_text(dumps(data), encoding="utf-8")
    return data


def _read_staged(raw: bytes, meta: dict[str, Any]) -> Any:
    from spiders.pages.base import Page
    from spiders.pages.registry import adapter

    _, text = decode(raw, meta["encoding"])
    page = Page(url=meta["url"], text=text, now=parse_now(meta["now"]), tz=_zone(meta["tz"]))
    return adapter(meta["site"]).read(page)


def freeze(fixture: Fixture, *, overwrite: bool = False) -> dict[str, Any] | None:
    """Write ``fixture``'s output.json from its reading, when it has none (or always,
    with ``overwrite``). Returns what was written, None when it was left alone. Raises
    MalformedPage or FixtureError (nothing written)."""
    if fixture.output_path.exists() and not overwrite:
        return None
    data = reading_json(fixture.read())
    fixture.output_path.write_text(dumps(data), encoding="utf-8")
    return data
