"""Trend exports: rows hand-computed from a small store, read back from every format."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from config import load_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.base import RollupRow
from crawlers.store.sqlite import SQLiteStore
from monitor.export import (
    ExportError,
    export_trends,
    format_for,
    parse_day,
    trend_query,
    trend_rows,
)
from vocwatch.cli import main

CONFIG = """
[store]
url = "sqlite:///{db}"
[[brands]]
id = "b"
name = "Brand B"
[[locations]]
id = "loc"
name = "Loc One"
brand = "b"
category = "hotel"
lat = 31.0
lon = 121.0
region = "east"
role = "competitor"
"""  # "rival" is deliberately absent: its rows have no name/brand/region


def _mention(ext: str, loc: str, src: str, at: datetime, rating: float | None, label: str, score: float,
             reply: str | None, likes: int | None, lang: str, aspects: list[dict[str, Any]], reposts: int | None = None
             ) -> Mention:
    m = Mention(site="s", kind="review", url=f"http://x/{ext}", text=f"t{ext}", external_id=ext, source_id=src,
                location_id=loc, brand="b", published_at=at, crawled_at=at, rating=rating, sentiment_label=label,
                sentiment_score=score, reply_text=reply, likes=likes, reposts=reposts, language=lang, aspects=aspects)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def _asp(aspect: str, label: str, score: float) -> dict[str, Any]:
    return {"aspect": aspect, "sentiment": label, "score": score}


MENTIONS = [
    _mention("a", "loc", "src1", datetime(2026, 10, 30, 23, 0, tzinfo=UTC), 5.0, "positive", 0.8, "谢谢", 3, "zh",
             [_asp("room", "positive", 0.6), _asp("service", "negative", -0.5)]),  # Fri
    _mention("b", "loc", "src1", datetime(2026, 10, 30, 1, 0, tzinfo=UTC), 2.0, "negative", -0.6, None, None, "en",
             [_asp("room", "negative", -0.7)]),
    _mention("c", "loc", "src2", datetime(2026, 11, 2, 8, 0, tzinfo=UTC), None, "neutral", 0.1, None, 1, "zh", []),  # Mon
    _mention("d", "rival", "src3", datetime(2026, 11, 2, 9, 0, tzinfo=UTC), 4.0, "positive", 0.5, "thanks", 0, "zh", [],
             reposts=2),
    _mention("e", "loc", "src1", datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC), 1.0, "negative", -0.9, None, 0, "zh", []),  # Sun
]

HEAD = ["bucket_start", "location_id", "location_name", "brand", "region"]
METRICS = ["mentions", "rated", "avg_rating", "positive", "neutral", "negative", "net_sentiment", "avg_sentiment",
           "response_rate", "engagement", "truncated"]
WEEK_BY_LOCATION = [  # hand-computed from MENTIONS
    ("2026-10-26", "loc", "Loc One", "b", "east", 3, 3, 2.6667, 1, 0, 2, -0.3333, -0.2333, 0.3333, 3, 0),  # a, b, e
    ("2026-11-02", "loc", "Loc One", "b", "east", 1, 0, None, 0, 1, 0, None, 0.1, 0.0, 1, 0),  # c
    ("2026-11-02", "rival", None, None, None, 1, 1, 4.0, 1, 0, 0, 1.0, 0.5, 1.0, 2, 0),  # d
]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[SQLiteStore, Any]:
    db = tmp_path / "t.db"
    (tmp_path / "vocwatch.toml").write_text(CONFIG.format(db=db), encoding="utf-8")
    store = SQLiteStore(str(db))
    store.upsert_mentions(MENTIONS)
    return store, load_config(tmp_path / "vocwatch.toml")


def _rows(store: SQLiteStore, config: Any, bucket: str, groups: list[str], **kw: Any) -> list[tuple[Any, ...]]:
    return list(trend_rows(store, trend_query(bucket, groups, **kw), config.locations))


def test_weekly_by_location_matches_hand_computed_rows(setup: tuple[SQLiteStore, Any]) -> None:
    store, config = setup
    q = trend_query("week", ["location"])
    assert [c for c, _ in q.columns] == HEAD + METRICS
    assert _rows(store, config, "week", ["location"]) == WEEK_BY_LOCATION


def test_buckets_weeks_start_monday_months_on_the_first_utc(setup: tuple[SQLiteStore, Any]) -> None:
    store, config = setup
    assert [(r[0], r[1]) for r in _rows(store, config, "day", [])] == [
        ("2026-10-30", 2), ("2026-11-01", 1), ("2026-11-02", 2)]
    # Sunday 23:59:59 UTC stays in the week that began Monday 26 Oct
    assert [(r[0], r[1]) for r in _rows(store, config, "week", [])] == [("2026-10-26", 3), ("2026-11-02", 2)]
    assert [(r[0], r[1]) for r in _rows(store, config, "month", [])] == [("2026-10-01", 2), ("2026-11-01", 3)]


def test_group_by_location_and_aspect_uses_aspect_sentiment(setup: tuple[SQLiteStore, Any]) -> None:
    store, config = setup
    rows = _rows(store, config, "week", ["aspect", "location"])  # columns in the canonical order anyway
    assert rows == [
        ("2026-10-26", "loc", "Loc One", "b", "east", "room", 2, 2, 3.5, 1, 0, 1, 0.0, -0.05, 0.5, 3, 0),
        ("2026-10-26", "loc", "Loc One", "b", "east", "service", 1, 1, 5.0, 0, 0, 1, -1.0, -0.5, 1.0, 3, 0),
    ]


def test_group_by_sentiment_lang_and_source(setup: tuple[SQLiteStore, Any]) -> None:
    store, config = setup
    q = trend_query("month", ["lang", "sentiment"])
    assert [c for c, _ in q.columns][:3] == ["bucket_start", "sentiment", "lang"]
    assert [r[:4] for r in _rows(store, config, "month", ["lang", "sentiment"])] == [
        ("2026-10-01", "negative", "en", 1), ("2026-10-01", "positive", "zh", 1),
        ("2026-11-01", "negative", "zh", 1), ("2026-11-01", "neutral", "zh", 1), ("2026-11-01", "positive", "zh", 1)]
    assert [r[:3] for r in _rows(store, config, "month", ["source"])] == [
        ("2026-10-01", "src1", 2), ("2026-11-01", "src1", 1), ("2026-11-01", "src2", 1), ("2026-11-01", "src3", 1)]


def test_window_and_location_filter(setup: tuple[SQLiteStore, Any]) -> None:
    store, config = setup
    rows = _rows(store, config, "day", ["location"], since=parse_day("2026-10-31"), until=parse_day("2026-11-02T08:30"),
                 location_ids=["loc"], known_locations=config.locations)
    assert [(r[0], r[1], r[5]) for r in rows] == [("2026-11-01", "loc", 1), ("2026-11-02", "loc", 1)]


# -- formats -------------------------------------------------------------------------
def _clean(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, datetime | pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return v.item() if hasattr(v, "item") else v


def read_back(path: Path, fmt: str) -> list[tuple[Any, ...]]:
    """Rows as tuples, with empty cells as None and dates as ISO text."""
    if fmt == "csv":
        df = pd.read_csv(path, keep_default_na=False, na_values=[""])
    elif fmt == "json":
        df = pd.read_json(path, lines=True, dtype=False)
    elif fmt == "parquet":
        table = pq.read_table(path)
        assert str(table.schema.field("bucket_start").type) == "date32[day]"
        return [tuple(_clean(v) for v in r.values()) for r in table.to_pylist()]
    else:
        ws = openpyxl.load_workbook(path, read_only=True)["trends"]
        rows = list(ws.iter_rows(values_only=True))
        assert list(rows[0]) == HEAD + METRICS
        return [tuple(_clean(v) for v in r) for r in rows[1:]]
    assert list(df.columns) == HEAD + METRICS
    return [tuple(_clean(v) for v in r) for r in df.itertuples(index=False)]


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
def test_every_format_reads_back_the_same_rows(setup: tuple[SQLiteStore, Any], tmp_path: Path, fmt: str) -> None:
    store, config = setup
    out = tmp_path / f"trends.{fmt}"
    result = export_trends(store, trend_query("week", ["location"]), out, fmt, locations=config.locations)
    assert (result.rows, result.path, result.format) == (3, out, fmt)
    back = read_back(out, fmt)
    assert len(back) == len(WEEK_BY_LOCATION)
    for got, want in zip(back, WEEK_BY_LOCATION, strict=True):
        assert got == pytest.approx(want)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_json_is_json_lines_with_nulls(setup: tuple[SQLiteStore, Any], tmp_path: Path) -> None:
    store, config = setup
    export_trends(store, trend_query("week", ["location"]), tmp_path / "t.jsonl", "json", locations=config.locations)
    lines = (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1]) == dict(zip(HEAD + METRICS, WEEK_BY_LOCATION[1], strict=True))
    assert json.loads(lines[1])["avg_rating"] is None


def test_parquet_streams_in_row_groups(setup: tuple[SQLiteStore, Any], tmp_path: Path) -> None:
    store, _ = setup
    out = tmp_path / "t.parquet"
    n = export_trends(store, trend_query("day", ["location"]), out, "parquet", row_group_size=2).rows
    meta = pq.ParquetFile(out).metadata
    assert (n, meta.num_rows, meta.num_row_groups) == (4, 4, 2)


def test_xlsx_continues_on_a_new_sheet_at_the_row_limit(setup: tuple[SQLiteStore, Any], tmp_path: Path) -> None:
    store, _ = setup
    out = tmp_path / "t.xlsx"
    export_trends(store, trend_query("day", ["location"]), out, "xlsx", sheet_rows=3)  # header + 2 rows a sheet
    wb = openpyxl.load_workbook(out, read_only=True)
    assert wb.sheetnames == ["trends", "trends 2"]
    assert [len(list(wb[s].iter_rows())) for s in wb.sheetnames] == [3, 3]
    assert next(wb["trends 2"].iter_rows(values_only=True))[0] == "bucket_start"


class _Broken:
    """A store whose rollup fails after one row, as a dropped connection would."""

    def rollup(self, **kw: Any) -> Iterator[RollupRow]:
        yield RollupRow("2026-11-02", ("loc",), 1, 1, 5.0, 1, 0, 0, 0.5, 1, 0, 0)
        raise OSError("connection lost")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
def test_failed_export_leaves_no_file_and_keeps_the_old_one(tmp_path: Path, fmt: str) -> None:
    fresh, old = tmp_path / f"new.{fmt}", tmp_path / f"old.{fmt}"
    old.write_text("previous export")
    for out in (fresh, old):
        with pytest.raises(OSError, match="connection lost"):
            export_trends(_Broken(), trend_query("week", ["location"]), out, fmt)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == [old.name]
    assert old.read_text() == "previous export"


def test_bad_requests_are_refused(setup: tuple[SQLiteStore, Any], tmp_path: Path) -> None:
    store, config = setup
    with pytest.raises(ExportError, match="unknown group 'city'"):
        trend_query("week", ["location", "city"])
    with pytest.raises(ExportError, match="unknown bucket"):
        trend_query("hour")
    with pytest.raises(ExportError, match="must be before"):
        trend_query("day", since=parse_day("2026-11-02"), until=parse_day("2026-11-02"))
    with pytest.raises(ExportError, match="unknown location 'nowhere'"):
        trend_query("day", location_ids=["loc", "nowhere"], known_locations=config.locations)
    with pytest.raises(ExportError, match="bad date"):
        parse_day("2026-02-30")
    with pytest.raises(ExportError, match="unknown format 'xml'"):
        format_for("t.xml", "xml")
    with pytest.raises(ExportError, match="give --format"):
        format_for("t.txt", None)
    assert (format_for("t.JSONL", None), format_for("t.csv", "parquet")) == ("json", "parquet")
    q = trend_query("week")
    with pytest.raises(ExportError, match="No such file or directory"):
        export_trends(store, q, tmp_path / "missing" / "t.csv", "csv")
    with pytest.raises(ExportError, match="is a directory"):
        export_trends(store, q, tmp_path, "csv")


def test_cli_exports_and_exits_2_on_bad_input(setup: tuple[SQLiteStore, Any], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(tmp_path / "vocwatch.toml")
    out = tmp_path / "t.csv"
    assert main(["export", "trends", "-c", cfg, "--by", "week", "--group", "location", "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 4
    assert main(["export", "trends", "-c", cfg, "--group", "location,aspect", "--location", "loc", "--since",
                 "2026-10-01", "--until", "2026-11-01", "--format", "json", "--out", str(tmp_path / "a.out")]) == 0
    assert len((tmp_path / "a.out").read_text(encoding="utf-8").splitlines()) == 2
    bad = [["--group", "location,city"], ["--format", "xml"], ["--location", "nowhere"],
           ["--since", "2026-11-01", "--until", "2026-10-01"], ["--since", "yesterday"]]
    for extra in bad:
        assert main(["export", "trends", "-c", cfg, "--out", str(tmp_path / "bad.csv"), *extra]) == 2
    assert main(["export", "trends", "-c", cfg, "--out", str(tmp_path / "nodir" / "x.csv")]) == 2
    err = capsys.readouterr().err
    for text in ("unknown group 'city'", "invalid choice: 'xml'", "unknown location 'nowhere'", "must be before",
                 "bad date", "cannot write"):
        assert text in err
    assert not (tmp_path / "bad.csv").exists()


def test_bench_export_runs_on_a_tiny_set(tmp_path: Path) -> None:
    from vocwatch.bench.export import run

    said: list[str] = []
    steps = run(tmp_path, formats=["csv", "parquet"], locations=5, mentions=300, say=said.append)
    assert [(s.grouping, s.step) for s in steps[:3]] == [
        ("location", "rollup only (baseline)"), ("location", "export csv"), ("location", "export parquet")]
    assert len({s.rows for s in steps if s.grouping == "location"}) == 1  # every format wrote every row
    assert "generating" in said[0] and any("peak RSS" in line for line in said)
    run(tmp_path, formats=["json"], say=said.append)
    assert any("reusing" in line for line in said)


def test_export_and_synth_import_without_scrapy() -> None:
    import subprocess
    import sys

    code = ("import sys, monitor.export, vocwatch.synth, vocwatch.bench.export\n"
            "bad = sorted(m for m in sys.modules if m == 'scrapy' or m.startswith(('scrapy.', 'twisted')))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
