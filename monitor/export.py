"""Trend exports: one tidy row per (bucket, group) from a single ``Store.rollup`` query,
streamed into CSV, JSON Lines, Parquet or Excel.

Rows are never collected: the rollup cursor feeds the writer row by row (Parquet in row
groups of ``row_group_size``), so memory stays flat whatever the store holds. Files are
written beside the target under a temporary name and renamed at the end, so a failed
export never leaves a half-written file. Pure of the CLI (``vocwatch export trends``).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from config.model import Location
from crawlers.store.base import BUCKETS, RollupRow, Store

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
    """The format asked for, else the one the file suffix implies."""
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
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"cannot write {out}: it is a directory")
    columns = query.columns
    writers: dict[str, Callable[[Path, Sequence[tuple[str, str]], Iterator[tuple[Any, ...]]], int]] = {
        "csv": _write_csv, "json": _write_jsonl,
        "parquet": lambda p, c, rows: _write_parquet(p, c, rows, row_group_size),
        "xlsx": lambda p, c, rows: _write_xlsx(p, c, rows, sheet_rows)}
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        n = writers[fmt](tmp, columns, trend_rows(store, query, locations or {}))
        tmp.chmod(0o644)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(out, fmt, n)


# -- writers: each streams the rows and returns how many it wrote ---------------------
def _write_csv(path: Path, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([c for c, _ in columns])
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def _write_jsonl(path: Path, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]]) -> int:
    names = [c for c, _ in columns]
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n")
            n += 1
    return n


def _write_parquet(path: Path, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]],
                   row_group_size: int) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"date": pa.date32(), "str": pa.string(), "int": pa.int64(), "float": pa.float64()}
    schema = pa.schema([(c, types[t]) for c, t in columns])
    n = 0
    with pq.ParquetWriter(path, schema) as w:
        while chunk := list(itertools.islice(rows, row_group_size)):
            cols = list(zip(*chunk, strict=True))
            arrays = [pa.array(cols[0], pa.string()).cast(pa.date32()),
                      *(pa.array(v, types[t]) for v, (_, t) in zip(cols[1:], columns[1:], strict=True))]
            w.write_batch(pa.record_batch(arrays, schema=schema))  # one batch = one row group
            n += len(chunk)
    return n


def _write_xlsx(path: Path, columns: Sequence[tuple[str, str]], rows: Iterator[tuple[Any, ...]],
                sheet_rows: int) -> int:
    from openpyxl import Workbook

    header = [c for c, _ in columns]
    wb = Workbook(write_only=True)  # rows go to a temporary file as they come
    sheets = 1
    ws = wb.create_sheet("trends")
    ws.append(header)
    in_sheet, n = 1, 0
    try:
        for row in rows:
            if in_sheet >= sheet_rows:
                sheets += 1
                ws = wb.create_sheet(f"trends {sheets}")
                ws.append(header)
                in_sheet = 1
            ws.append((date.fromisoformat(row[0]), *row[1:]))
            in_sheet += 1
            n += 1
    except BaseException:
        for sheet in wb.worksheets:  # end each sheet's XML stream (openpyxl drops its temp file at exit)
            sheet.close()
        raise
    wb.save(path)
    return n
