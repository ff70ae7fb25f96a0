"""``vocwatch benchmark``: every format, hostile names escaped, bad input rejected with exit 2."""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.items import Mention, mention_fingerprint
from crawlers.store.sqlite import SQLiteStore
from vocwatch.cli import main

EVIL = "<script>alert(1)</script>"

CONFIG = f"""
[store]
url = "sqlite:///bench.db"

[[brands]]
id = "harbor"

[[brands]]
id = "rival"

[[locations]]
id = "own-1"
name = "Harbor {EVIL} & Co"
brand = "harbor"
category = "hotel"
lat = 30.0
lon = 120.0
region = "shanghai"
role = "own"
competitors = {{ radius_km = 3 }}

[[locations]]
id = "own-2"
name = "Harbor Quiet"
brand = "harbor"
category = "hotel"
lat = 40.0
lon = 116.0
region = "beijing"
role = "own"

[[locations]]
id = "rival-1"
name = "=HYPERLINK(\\"http://evil\\") {EVIL}"
brand = "rival"
category = "hotel"
lat = 30.01
lon = 120.0
region = "shanghai"
role = "competitor"
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(textwrap.dedent(CONFIG).replace("sqlite:///bench.db", f"sqlite:///{tmp_path}/bench.db"), encoding="utf-8")
    when = datetime.now(UTC) - timedelta(days=2)
    ms = []
    for i in range(24):
        loc = "own-1" if i < 12 else "rival-1"
        m = Mention(site="s", kind="review", url=f"http://x/{i}", text=f"{EVIL} review {i}", external_id=str(i),
                    source_id=f"{loc}/hotel_reviews", location_id=loc, brand="b", published_at=when, crawled_at=when,
                    rating=4.0 if loc == "own-1" else 3.0, sentiment_label="positive" if i % 2 else "negative",
                    aspects=[{"aspect": EVIL, "sentiment": "negative" if loc == "own-1" else "positive", "score": 0.0}])
        m.fingerprint = mention_fingerprint(m)
        ms.append(m)
    store = SQLiteStore(f"sqlite:///{tmp_path}/bench.db")
    store.upsert_mentions(ms)
    store.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["benchmark", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_table_is_readable(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(cfg), "--location", "own-1")
    assert code == 0
    assert f"Harbor {EVIL} & Co [own-1] (hotel, shanghai): last 90d" in out  # plain text: shown as is
    # 12 own 4.0 vs 12 rival 3.0: comp index 133; half positive: net 0
    assert re.search(r"mentions\s+12\s+0\s+\+12\s+12", out), out
    assert re.search(r"rating \(0-5\)\s+4\.00\s+-\s+3\.00\s+133", out), out
    assert "review share 50% · rank in set 1 of 2" in out
    assert "Harbor Quiet" not in out


def test_json_parses(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", str(cfg), "--format", "json", "--window", "4w")
    assert code == 0
    data = json.loads(out)
    assert [d["location"]["id"] for d in data] == ["own-2", "own-1"]  # by region, then id
    own1 = data[1]
    assert own1["window"] == "4w" and own1["current"]["mentions"] == 12
    assert own1["comp_index_rating"] == pytest.approx(400 / 3)
    assert own1["set"][0]["id"] == "rival-1" and own1["set"][0]["distance_km"] == pytest.approx(1.112, abs=0.001)
    assert own1["weakest_aspects"][0]["aspect"] == EVIL and own1["weakest_aspects"][0]["gap"] == -2.0
    assert data[0]["current"]["index_note"] == "too few reviews (n < 10)"


def test_csv_reads_back_and_defuses_formulas(cfg: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "b.csv"
    code, out, err = run(capsys, "-c", str(cfg), "--format", "csv", "--out", str(out_file), "--brand", "harbor")
    assert code == 0 and out == "" and "2 location(s) written" in err
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert [r["location_id"] for r in rows] == ["own-2", "own-1"]
    assert rows[1]["mentions"] == "12" and float(rows[1]["avg_rating"]) == 4.0 and rows[1]["rank"] == "1"
    assert rows[0]["avg_rating"] == "" and rows[0]["set_size"] == "0"
    assert float(rows[1]["review_share"]) == 0.5


def test_html_is_self_contained_and_escaped(cfg: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "b.html"
    code, _, _ = run(capsys, "-c", str(cfg), "--format", "html", "--out", str(out_file), "--region", "shanghai")
    assert code == 0
    page = out_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and ("<polyline" in page or "<circle" in page)
    assert "<script" not in page.lower()  # neither the name nor the aspect label got through raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "=HYPERLINK(&quot;http://evil&quot;)" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from the network
    assert "Harbor Quiet" not in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--location", "ghost"], "--location 'ghost' is not an own location id"),
        (["--location", "rival-1"], "--location 'rival-1' is a competitor location"),
        (["--brand", "rival"], "no own locations with brand 'rival'; known: harbor"),
        (["--region", "mars"], "no own locations with region 'mars'; known: beijing, shanghai"),
        (["--window", "90x"], "bad window '90x'"),
        (["--window=-3d"], "bad window '-3d'"),
        (["--until", "2026-13-01"], "bad --until '2026-13-01': use a date YYYY-MM-DD"),
        (["--until", "2999-01-01"], "bad --until '2999-01-01': it is in the future"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(cfg: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                                message: str) -> None:
    code, out, err = run(capsys, "-c", str(cfg), *args)
    assert code == 2 and out == ""
    assert message in err, err


def test_empty_window_says_so(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-c", str(cfg), "--window", "30d", "--until", "2020-01-31")
    assert code == 0
    assert "no mentions in the window (30d up to 2020-01-31 00:00 UTC)" in err
    assert "no mentions in this window" in out
