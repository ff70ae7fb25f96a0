"""Exports, streamed into CSV, JSON Lines, Parquet or Excel: trends (one tidy row per
(bucket, group) from a single ``Store.rollup`` query) and mentions (one row per mention
matching a ``MentionQuery``, read a page at a time, with its workflow state).

Rows are never collected: the rollup cursor or the mention pages feed the writer row by
row (Parquet in row groups of ``row_group_size``), so memory stays flat whatever the store
holds. Files are written beside the target under a temporary name and renamed at the end,
so a failed export never leaves a half-written file. Scraped text is hostile: in CSV and
Excel a cell that a spreadsheet would run as a formula gets a leading apostrophe
(:func:`guard_formula`). Pure of the CLI (``vocwatch export trends`` / ``mentions``).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from config.model import Location
from crawlers.items import Mention
from crawlers.store.base import BUCKETS, MentionQuery, RollupRow, Store
from nlp.keywords import mention_keywords

GROUPS: dict[str, str] = {"location": "location_id", "source": "source_id", "aspect": "aspect",
                          "sentiment": "sentiment_label", "lang": "language"}
"""``--group`` names -> rollup keys; columns come out in this order whatever order is asked."""
GROUP_COLUMNS: dict[str, tuple[str, ...]] = {
    "location": ("location_id", "location_name", "brand", "region"), "source": ("source_id",),
    "aspect": ("aspect",), "sentiment": ("sentiment",), "lang": ("lang",)}
METRIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("mentions", "int"), ("rated", "int"), ("avg_rating", "float"), ("positive", "int"), ("neutral", "int"),
    ("negative", "int"), ("net_sentiment", "float"), ("avg_sentiment", "float"), ("response_rate", "float"),
    ("engagement", "int"), ("truncated", "int"))
FORMATS: dict[str, tuple[str, ...]] = {"csv": (".csv",), "json": (".json", ".jsonl"), "parquet": (".parquet",),
                                       "xlsx": (".xlsx",)}
"""Formats and the file suffixes that imply them."""
EXCEL_MAX_ROWS = 1_048_576
"""Rows per Excel sheet, header included; longer exports continue on sheets ``trends 2``, ..."""


class ExportError(ValueError):
    """A bad export request (unknown group, format or location, empty window, unwritable path)."""


@dataclass(frozen=True, slots=True)
class TrendQuery:
    """What to export; build it with :func:`trend_query`, which validates."""

    bucket: str
    groups: tuple[str, ...]
    since: datetime | None = None
    until: datetime | None = None
    location_ids: tuple[str, ...] | None = None

    @property
    def columns(self) -> list[tuple[str, str]]:
        """``(name, type)`` of every column; type is ``date``, ``str``, ``int`` or ``float``."""
        return [("bucket_start", "date"), *((c, "str") for g in self.groups for c in GROUP_COLUMNS[g]), *METRIC_COLUMNS]


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    format: str
    rows: int


def trend_query(bucket: str, groups: Iterable[str] = (), *, since: datetime | None = None,
                until: datetime | None = None, location_ids: Iterable[str] | None = None,
                known_locations: Mapping[str, Location] | None = None) -> TrendQuery:
    """Check a request before any query runs; raise :class:`ExportError` naming the problem."""
    if bucket not in BUCKETS:
        raise ExportError(f"unknown bucket {bucket!r}; one of {', '.join(BUCKETS)}")
    asked = list(groups)
    bad = [g for g in asked if g not in GROUPS]
    if bad:
        raise ExportError(f"unknown group {bad[0]!r}; one of {', '.join(GROUPS)}")
    if since is not None and until is not None and since >= until:
        raise ExportError(f"since {since:%Y-%m-%d %H:%M} must be before until {until:%Y-%m-%d %H:%M}")
    ids = tuple(dict.fromkeys(location_ids)) if location_ids is not None else None
    if ids is not None and known_locations is not None:
        unknown = [i for i in ids if i not in known_locations]
        if unknown:
            raise ExportError(f"unknown location {unknown[0]!r} (not in the configuration)")
    return TrendQuery(bucket, tuple(g for g in GROUPS if g in asked), since, until, ids)


def parse_day(text: str) -> datetime:
    """``YYYY-MM-DD`` (00:00 UTC) or an ISO datetime (naive = UTC) as an aware UTC datetime."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(f"bad date {text!r}: use YYYY-MM-DD or an ISO datetime") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_for(out: str | Path, fmt: str | None) -> str:
    """The format asked for (``jsonl`` is a name for ``json``, JSON Lines), else the one
    the file suffix implies."""
    if fmt == "jsonl":
        fmt = "json"
    if fmt is not None:
        if fmt not in FORMATS:
            raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(out).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    raise ExportError(f"cannot tell the format from {str(out)!r}; give --format ({', '.join(FORMATS)})")


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def trend_rows(store: Store, query: TrendQuery, locations: Mapping[str, Location]) -> Iterator[tuple[Any, ...]]:
    """The export's rows, in :attr:`TrendQuery.columns` order, streamed from one rollup query."""
    rollup = store.rollup(bucket=query.bucket, group_by=[GROUPS[g] for g in query.groups], since=query.since,
                          until=query.until, location_ids=query.location_ids)
    loc_pos = query.groups.index("location") if "location" in query.groups else None
    for r in rollup:
        keys: tuple[Any, ...] = r.keys
        if loc_pos is not None:
            loc = locations.get(keys[loc_pos])
            info = (loc.name, loc.brand, loc.region) if loc else (None, None, None)
            keys = (*keys[:loc_pos + 1], *info, *keys[loc_pos + 1:])
        yield (r.bucket, *keys, *_metrics(r))


def _metrics(r: RollupRow) -> tuple[Any, ...]:
    return (r.mentions, r.rated, _ratio(r.rating_sum, r.rated), r.positive, r.neutral, r.negative,
            _ratio(r.positive - r.negative, r.positive + r.negative), _ratio(r.sentiment_sum, r.scored),
            _ratio(r.replied, r.mentions), r.engagement, r.truncated)


def export_trends(store: Store, query: TrendQuery, out: str | Path, fmt: str | None = None, *,
                  locations: Mapping[str, Location] | None = None, row_group_size: int = 10_000,
                  sheet_rows: int = EXCEL_MAX_ROWS) -> ExportResult:
    """Write the trend rows to ``out`` atomically, as ``fmt`` or what its suffix implies;
    ``sheet_rows`` (header included) caps an Excel sheet, ``row_group_size`` a Parquet row group."""
    fmt = format_for(out, fmt)
    out = _target(out)
    n = _atomic(out, lambda fh: write_rows(fh, fmt, query.columns, trend_rows(store, query, locations or {}),
                                           sheet="trends", row_group_size=row_group_size, sheet_rows=sheet_rows))
    return ExportResult(out, fmt, n)


def _target(out: str | Path) -> Path:
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"cannot write {out}: it is a directory")
    return out


def _atomic(out: Path, write: Callable[[BinaryIO], int]) -> int:
    """``write`` into a temporary file beside ``out``, renamed over it only when complete."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            n = write(fh)
        tmp.chmod(0o644)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


# -- mention exports --------------------------------------------------------------------
MENTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("published_at", "datetime"), ("location_id", "str"), ("location_name", "str"), ("brand", "str"),
    ("region", "str"), ("role", "str"), ("source_id", "str"), ("site", "str"), ("kind", "str"), ("url", "str"),
    ("permalink", "str"), ("external_id", "str"), ("title", "str"), ("text", "str"), ("truncated", "bool"),
    ("language", "str"), ("rating", "float"), ("rating_raw", "float"), ("rating_scale", "float"),
    ("sentiment", "str"), ("sentiment_score", "float"), ("aspects", "aspects"), ("keywords", "strlist"),
    ("author", "str"), ("author_region", "str"), ("likes", "int"), ("reposts", "int"), ("comments", "int"),
    ("replied", "bool"), ("reply_text", "str"), ("reply_at", "datetime"), ("variant", "str"),
    ("status", "str"), ("assignee", "str"), ("status_updated_at", "datetime"), ("status_updated_by", "str"),
    ("answered_at", "datetime"), ("resolved_at", "datetime"), ("crawled_at", "datetime"), ("nlp_model", "str"),
    ("fingerprint", "str"))
"""Columns of ``vocwatch export mentions``: what was scraped as it was stored (``author`` is
the stored handle, a pseudonym unless pseudonymisation is off; the pseudonymisation key never
leaves the store), the location's names from the configuration, and the workflow state
(``status`` ``new`` when nobody has worked on it). Times are UTC."""
SENTIMENT_FILTERS = ("positive", "neutral", "negative", "unlabelled")
PAGE = 500
"""Mentions read per store query while exporting (memory holds one page)."""
OLDEST = datetime(1900, 1, 1, tzinfo=UTC)
"""A lower bound older than any published date: selects exactly the dated mentions."""


def mention_query(*, location_ids: Iterable[str] | None = None, since: datetime | None = None,
                  until: datetime | None = None, sources: Iterable[str] | None = None,
                  sites: Iterable[str] | None = None, sentiments: Iterable[str] | None = None,
                  languages: Iterable[str] | None = None, aspect: str | None = None,
                  aspect_sentiment: str | None = None, min_rating: float | None = None,
                  max_rating: float | None = None, has_reply: bool | None = None,
                  known_locations: Mapping[str, Location] | None = None) -> MentionQuery:
    """A :class:`MentionQuery` for an export, checked before any query runs (``ExportError``
    names the problem). No location = every location in ``known_locations`` when given."""
    if since is not None and until is not None and since >= until:
        raise ExportError(f"since {since:%Y-%m-%d %H:%M} must be before until {until:%Y-%m-%d %H:%M}")
    ids = tuple(dict.fromkeys(location_ids)) if location_ids else None
    if known_locations is not None:
        unknown = [i for i in ids or () if i not in known_locations]
        if unknown:
            raise ExportError(f"unknown location {unknown[0]!r} (not in the configuration)")
        ids = ids or tuple(known_locations)
    labels = tuple(dict.fromkeys(sentiments)) if sentiments else None
    bad = [x for x in labels or () if x not in SENTIMENT_FILTERS]
    if bad:
        raise ExportError(f"unknown sentiment {bad[0]!r}; one of {', '.join(SENTIMENT_FILTERS)}")
    if aspect_sentiment is not None and aspect_sentiment not in SENTIMENT_FILTERS[:3]:
        raise ExportError(f"unknown aspect sentiment {aspect_sentiment!r}; one of {', '.join(SENTIMENT_FILTERS[:3])}")
    if aspect_sentiment is not None and aspect is None:
        raise ExportError("an aspect sentiment needs an aspect")
    for name, value in (("min rating", min_rating), ("max rating", max_rating)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= 5):
            raise ExportError(f"{name} must be a number from 0 to 5 (ratings are normalised to 0-5)")
    if min_rating is not None and max_rating is not None and min_rating > max_rating:
        raise ExportError(f"min rating {min_rating:g} is above max rating {max_rating:g}")

    def tup(values: Iterable[str] | None) -> tuple[str, ...] | None:
        return tuple(dict.fromkeys(values)) if values else None

    return MentionQuery(location_ids=ids, since=since, until=until, source_ids=tup(sources), sites=tup(sites),
                        sentiments=labels, languages=tup(languages), aspect=aspect or None,
                        aspect_sentiment=aspect_sentiment, min_rating=min_rating, max_rating=max_rating,
                        has_reply=has_reply)


def iter_matching(store: Store, query: MentionQuery, page: int = PAGE) -> Iterator[Mention]:
    """Every mention matching ``query`` (its limit and offset ignored), one page in memory.

    Read location by location, newest first, paging on the published time rather than
    on an offset (an offset query reads and sorts everything before it again: quadratic
    on a large store): each next page asks for mentions older than the last one seen;
    mentions sharing that second are read by an offset within the second. Mentions
    without a date come after a location's dated ones (only when no window is asked)."""
    locations: Iterable[tuple[str, ...] | None] = (
        [(lid,) for lid in query.location_ids] if query.location_ids is not None else [None])
    for lids in locations:
        base = replace(query, location_ids=lids, limit=page, offset=0)
        dated = replace(base, since=query.since or OLDEST)
        yield from _dated(store, dated, page)
        if query.since is None and query.until is None:  # then the undated ones, last in the store's order
            skip = store.count_matching(dated)
            while True:
                rows = [m for m in store.query_mentions(replace(base, offset=skip)) if m.published_at is None]
                yield from rows
                if len(rows) < page:
                    break
                skip += page


def _dated(store: Store, q: MentionQuery, page: int) -> Iterator[Mention]:
    until = q.until
    while True:
        rows = store.query_mentions(replace(q, until=until))
        yield from rows
        if len(rows) < page:
            return
        last = rows[-1].published_at
        assert last is not None  # q.since is set: every row has a date
        second = last.replace(microsecond=0)
        # that second, within the asked window (a window's ends may fall inside a second)
        end = second + timedelta(seconds=1)
        tie = replace(q, since=max(second, q.since) if q.since else second,
                      until=min(end, until) if until is not None else end)
        seen = sum(1 for m in rows if m.published_at is not None and tie.since <= m.published_at < tie.until)
        while True:  # the rest of the last second, by offset within it
            more = store.query_mentions(replace(tie, offset=seen))
            yield from more
            seen += len(more)
            if len(more) < page:
                break
        until = second


def mention_rows(store: Store, query: MentionQuery, locations: Mapping[str, Location] | None = None,
                 page: int = PAGE) -> Iterator[tuple[Any, ...]]:
    """The export's rows in :data:`MENTION_COLUMNS` order, with each page's workflow state."""
    locations = locations or {}
    batch: list[Mention] = []

    def flush() -> Iterator[tuple[Any, ...]]:
        work = store.workflow.get_many("mention", [m.fingerprint for m in batch])
        for m in batch:
            yield _mention_row(m, locations.get(m.location_id), work.get(m.fingerprint))
        batch.clear()

    for m in iter_matching(store, query, page):
        batch.append(m)
        if len(batch) >= page:
            yield from flush()
    if batch:
        yield from flush()


def _mention_row(m: Mention, loc: Location | None, w: Any) -> tuple[Any, ...]:
    return (m.published_at, m.location_id, loc.name if loc else None, m.brand or (loc.brand if loc else None),
            loc.region if loc else None, loc.role if loc else None, m.source_id or None, m.site, m.kind, m.url,
            m.permalink, m.external_id, m.title, m.text, m.truncated, m.language, m.rating,
            m.rating_raw, m.rating_scale, m.sentiment_label, m.sentiment_score, m.aspects,
            mention_keywords(m.text, m.language, m.keywords), m.author,
            m.author_region, m.likes, m.reposts, m.comments, bool(m.reply_text), m.reply_text, m.reply_at, m.variant,
            w.status if w else "new", w.assignee if w else None, w.updated_at if w else None,
            w.updated_by if w else None, w.answered_at if w else None, w.resolved_at if w else None,
            m.crawled_at, m.nlp_model, m.fingerprint)


def export_mentions(store: Store, query: MentionQuery, out: str | Path, fmt: str | None = None, *,
                    locations: Mapping[str, Location] | None = None, stdout: BinaryIO | None = None,
                    row_group_size: int = 10_000, sheet_rows: int = EXCEL_MAX_ROWS) -> ExportResult:
    """Write the mentions matching ``query`` to ``out`` (``-``: ``stdout``, default the
    process's standard output) as ``fmt`` or what the suffix implies; a file is written
    atomically. CSV and JSON Lines go to standard output as they are read; Parquet and
    Excel files are only readable whole, so they are built in a temporary file first."""
    if str(out) == "-":
        if fmt is None:
            raise ExportError("give --format when writing to standard output (-)")
        fmt = format_for(out, fmt)
        sink = stdout if stdout is not None else sys.stdout.buffer
        n = write_mentions(store, query, sink, fmt, locations=locations, row_group_size=row_group_size,
                           sheet_rows=sheet_rows)
        sink.flush()
        return ExportResult(Path("-"), fmt, n)
    fmt = format_for(out, fmt)
    target = _target(out)
    n = _atomic(target, lambda fh: write_mentions(store, query, fh, fmt, locations=locations,
                                                  row_group_size=row_group_size, sheet_rows=sheet_rows))
    return ExportResult(target, fmt, n)


def write_mentions(store: Store, query: MentionQuery, fh: BinaryIO, fmt: str, *,
                   locations: Mapping[str, Location] | None = None, row_group_size: int = 10_000,
                   sheet_rows: int = EXCEL_MAX_ROWS) -> int:
    """Stream the matching mentions into the binary file ``fh`` as ``fmt``; returns the row count.
    Parquet and Excel need a seekable file: for a pipe they go through a temporary file."""
    rows = mention_rows(store, query, locations)
    if fmt in ("parquet", "xlsx") and not _seekable(fh):
        with tempfile.TemporaryFile() as tmp:
            n = write_rows(tmp, fmt, MENTION_COLUMNS, rows, sheet="mentions", row_group_size=row_group_size,
                           sheet_rows=sheet_rows)
            tmp.seek(0)
            shutil.copyfileobj(tmp, fh)
        return n
    return write_rows(fh, fmt, MENTION_COLUMNS, rows, sheet="mentions", row_group_size=row_group_size,
                      sheet_rows=sheet_rows)


def _seekable(fh: BinaryIO) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, ValueError, OSError):
        return False


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/x-ndjson; charset=utf-8",
                 "parquet": "application/vnd.apache.parquet",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
SUFFIXES = {"csv": "csv", "json": "jsonl", "parquet": "parquet", "xlsx": "xlsx"}


# -- writers: each streams the rows into a binary file and returns how many it wrote -------
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV injection")."""
EXCEL_MAX_CELL = 32_767
"""Characters an Excel cell holds; a longer text is cut there in .xlsx (only)."""


def guard_formula(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would take it for a formula
    (``=HYPERLINK(..)``, ``+1``, ``-2``, ``@SUM(..)``): CSV and Excel exports only; JSON Lines
    and Parquet keep texts exactly as stored."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_rows(fh: BinaryIO, fmt: str, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]], *,
               sheet: str, row_group_size: int = 10_000, sheet_rows: int = EXCEL_MAX_ROWS) -> int:
    """Stream ``rows`` (values in ``columns`` order; each column's type one of ``date`` (ISO
    day text), ``datetime``, ``str``, ``int``, ``float``, ``bool``, ``strlist``, ``aspects``)."""
    if fmt == "csv":
        return _write_csv(fh, columns, rows)
    if fmt == "json":
        return _write_jsonl(fh, columns, rows)
    if fmt == "parquet":
        return _write_parquet(fh, columns, rows, row_group_size)
    if fmt == "xlsx":
        return _write_xlsx(fh, columns, rows, sheet_rows, sheet)
    raise ExportError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _iso_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aspects_text(aspects: Sequence[Any]) -> str:
    return "; ".join(f"{a.get('aspect')}:{a.get('sentiment')}" for a in aspects if isinstance(a, dict))


def _text_cell(value: Any, kind: str) -> Any:
    """A value as a spreadsheet-like cell (CSV text, Excel): lists joined, texts guarded."""
    if value is None:
        return None
    if kind == "aspects":
        value = _aspects_text(value)
    elif kind == "strlist":
        value = "; ".join(str(v) for v in value)
    if kind in ("str", "aspects", "strlist"):
        return guard_formula(str(value))
    return value


def _text_stream(fh: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=False)


def _release(f: io.TextIOWrapper) -> None:
    """Flush the text layer and hand ``fh`` back unclosed (it may be standard output)."""
    f.flush()
    f.detach()


def _write_csv(fh: BinaryIO, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]]) -> int:
    kinds = [t for _, t in columns]
    n = 0
    f = _text_stream(fh)
    w = csv.writer(f)
    w.writerow([c for c, _ in columns])
    for row in rows:
        cells = []
        for v, k in zip(row, kinds, strict=True):
            if v is None:
                cells.append(None)
            elif k == "datetime":
                cells.append(_iso_time(v))
            elif k == "bool":
                cells.append("true" if v else "false")
            else:
                cells.append(_text_cell(v, k))
        w.writerow(cells)
        n += 1
    _release(f)
    return n


def _write_jsonl(fh: BinaryIO, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]]) -> int:
    names = [c for c, _ in columns]
    times = [i for i, (_, t) in enumerate(columns) if t == "datetime"]
    n = 0
    f = _text_stream(fh)
    for row in rows:
        if times:
            row = tuple(_iso_time(v) if i in times and v is not None else v for i, v in enumerate(row))
        f.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n")
        n += 1
    _release(f)
    return n


def _write_parquet(fh: BinaryIO, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]],
                   row_group_size: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    aspect = pa.struct([("aspect", pa.string()), ("sentiment", pa.string()), ("score", pa.float64())])
    types = {"date": pa.date32(), "datetime": pa.timestamp("s", tz="UTC"), "str": pa.string(), "int": pa.int64(),
             "float": pa.float64(), "bool": pa.bool_(), "strlist": pa.list_(pa.string()), "aspects": pa.list_(aspect)}
    schema = pa.schema([(c, types[t]) for c, t in columns])

    def array(values: Sequence[Any], kind: str) -> Any:
        if kind == "date":  # ISO day texts
            return pa.array(values, pa.string()).cast(pa.date32())
        if kind == "aspects":
            values = [None if v is None else [{"aspect": a.get("aspect"), "sentiment": a.get("sentiment"),
                                               "score": _number(a.get("score"))} for a in v if isinstance(a, dict)]
                      for v in values]
        return pa.array(values, types[kind])

    n = 0
    with pq.ParquetWriter(fh, schema) as w:
        while chunk := list(itertools.islice(rows, row_group_size)):
            cols = list(zip(*chunk, strict=True))
            arrays = [array(v, t) for v, (_, t) in zip(cols, columns, strict=True)]
            w.write_batch(pa.record_batch(arrays, schema=schema))  # one batch = one row group
            n += len(chunk)
    return n


def _number(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters an xlsx file cannot hold (XML 1.0), as openpyxl's ILLEGAL_CHARACTERS_RE."""


def _write_xlsx(fh: BinaryIO, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]],
                sheet_rows: int, sheet: str = "trends") -> int:
    """Streamed by :class:`monitor.xlsx.XlsxWriter` (why not openpyxl or xlsxwriter: there);
    a new sheet every ``sheet_rows`` rows, each with the header."""
    from monitor.xlsx import XlsxWriter

    header = [c for c, _ in columns]
    kinds = [t for _, t in columns]

    def cell(v: Any, k: str) -> Any:
        if v is None:
            return None
        if k == "date":
            return date.fromisoformat(v)
        if k in ("datetime", "bool", "int", "float"):
            return v
        # control characters cannot be stored in the file format
        return _XLSX_ILLEGAL.sub("\ufffd", _text_cell(v, k))[:EXCEL_MAX_CELL]

    n = 0
    sheets = 0
    with XlsxWriter(fh) as book:
        rows = iter(rows)
        while True:
            sheets += 1
            with book.sheet(sheet if sheets == 1 else f"{sheet} {sheets}") as add:
                add(header)
                for row in itertools.islice(rows, sheet_rows - 1):
                    add([cell(v, k) for v, k in zip(row, kinds, strict=True)])
                    n += 1
                full = n == (sheets * (sheet_rows - 1))
            if not full:
                break
            nxt = next(rows, None)
            if nxt is None:
                break
            rows = itertools.chain([nxt], rows)
    return n
