"""``vocwatch parse``'s fixture workflow, through the real command (``run_vocwatch``):
``--save-fixture`` writes input/meta/output, ``--check-fixtures`` prints a diff per field,
``--freeze-fixtures`` writes the output.json a fixture lacks; and the comparison itself
(``vocwatch.fixtures``) on the cases a test run makes of a fixture."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_vocwatch
from vocwatch.fixtures import Fixture, case_list, compare, outcomes

HN = ROOT / "tests" / "fixtures" / "pages" / "hackernews" / "hnreader-xcode7-2015"
HN_META = json.loads((HN / "meta.json").read_text(encoding="utf-8"))
ORIGIN = ["--origin-repo", "rnystrom/HackerNewsReader", "--origin-path", "Hacker News UI Tests/comments.html",
          "--origin-commit", "0e11b86f97429deee3ff3c4d2a787e3493ac3a17", "--license", "none declared"]


def save(tmp_path: Path, *extra: str, name: str = "x", file: Path = HN / "input.html"):  # type: ignore[no-untyped-def]
    return run_vocwatch("parse", str(file), "--site", "hackernews", "--url", HN_META["url"],
                        "--now", HN_META["now"], "--tz", "UTC", "--save-fixture", name,
                        "--fixtures-dir", str(tmp_path), *ORIGIN, "--notes", "a test copy", *extra)


def copy_fixture(tmp_path: Path, name: str = "x") -> Path:
    dest = tmp_path / "hackernews" / name
    shutil.copytree(HN, dest)
    return dest


# --- --save-fixture ------------------------------------------------------------------
def test_save_fixture_writes_input_meta_and_the_reading(tmp_path: Path) -> None:
    proc = save(tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "hackernews" / "x"
    assert sorted(p.name for p in folder.iterdir()) == ["input.html", "meta.json", "output.json"]
    assert (folder / "input.html").read_bytes() == (HN / "input.html").read_bytes()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta == {"site": "hackernews", "url": "https://news.ycombinator.com/item?id=9681697",
                    "now": "2015-06-08T23:30:00Z", "tz": "UTC", "encoding": "utf-8",
                    "origin": {"repo": "rnystrom/HackerNewsReader", "path": "Hacker News UI Tests/comments.html",
                               "commit": "0e11b86f97429deee3ff3c4d2a787e3493ac3a17", "license": "none declared"},
                    "notes": "a test copy"}
    # the same page read with the same frozen time: the committed, hand-checked expectation
    assert json.loads((folder / "output.json").read_text(encoding="utf-8")) == json.loads(
        (HN / "output.json").read_text(encoding="utf-8"))
    out = json.loads((folder / "output.json").read_text(encoding="utf-8"))
    story = out["mentions"][0]
    assert story["published_at"] == "2015-06-08T20:30:00Z" and "reply_text" not in story  # "3 hours ago"; empties left out
    assert out["next_url"] is None and out["follow_urls"] == []
    assert f"wrote fixture {folder}/" in proc.stdout
    assert "70 mentions (post 1, comment 69)" in proc.stdout and "author 70" in proc.stdout
    assert "check output.json against the page" in proc.stdout
    assert "incomplete" not in proc.stdout


def test_save_fixture_refuses_to_overwrite_unless_told(tmp_path: Path) -> None:
    assert save(tmp_path).returncode == 0
    output = tmp_path / "hackernews" / "x" / "output.json"
    output.write_text('{"mentions": []}', encoding="utf-8")  # as if hand-edited since
    proc = save(tmp_path)
    assert proc.returncode == 1 and "already holds a fixture (pass --overwrite" in proc.stderr
    assert output.read_text(encoding="utf-8") == '{"mentions": []}'
    proc = save(tmp_path, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(output.read_text(encoding="utf-8"))["mentions"]) == 70


def test_save_fixture_needs_url_now_and_zone(tmp_path: Path) -> None:
    proc = run_vocwatch("parse", str(HN / "input.html"), "--site", "hackernews", "--save-fixture", "x",
                        "--fixtures-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "--save-fixture needs --url, --now, --tz" in proc.stderr
    assert not (tmp_path / "hackernews").exists()


def test_save_fixture_now_now_freezes_the_clock_and_says_so(tmp_path: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    proc = run_vocwatch("parse", str(HN / "input.html"), "--site", "hackernews", "--url", HN_META["url"],
                        "--now", "now", "--tz", "UTC", "--save-fixture", "x", "--fixtures-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "hackernews" / "x" / "meta.json").read_text(encoding="utf-8"))
    assert datetime.fromisoformat(meta["now"]) >= before
    assert f"frozen at the current time {meta['now']}" in proc.stdout
    # no origin given: written as nulls to fill in, and said
    assert meta["origin"] == {"repo": None, "path": None, "commit": None, "license": None}
    assert "meta.json is incomplete" in proc.stdout and "origin.commit: missing" in proc.stdout


def test_save_fixture_of_a_malformed_page_writes_nothing(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><body>no thread here</body></html>", encoding="utf-8")
    proc = save(tmp_path, file=page)
    assert proc.returncode == 1 and "malformed page, no fixture written" in proc.stderr
    assert not (tmp_path / "hackernews").exists()


def test_save_fixture_rejects_selectors_and_bad_names(tmp_path: Path) -> None:
    proc = save(tmp_path, name="../escape")
    assert proc.returncode == 2 and "fixture name '../escape'" in proc.stderr
    proc = run_vocwatch("parse", str(HN / "input.html"), "--selectors", "docs/selectors/x.toml",
                        "--save-fixture", "x", "--url", "https://x/", "--now", "now", "--tz", "UTC")
    assert proc.returncode == 2 and "site adapter (--site)" in proc.stderr


def test_save_fixture_records_the_charset_it_decoded_with(tmp_path: Path) -> None:
    page = tmp_path / "latin.html"
    text = HN.joinpath("input.html").read_text(encoding="utf-8").replace("<head>", '<head><meta charset="iso-8859-1">', 1)
    page.write_bytes(text.encode("cp1252", errors="xmlcharrefreplace"))  # ’ as byte 0x92: no UTF-8
    proc = save(tmp_path, file=page)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "hackernews" / "x" / "meta.json").read_text(encoding="utf-8"))
    assert meta["encoding"] == "cp1252"  # what browsers and w3lib read "iso-8859-1" as
    proc = save(tmp_path, "--encoding", "utf-8", "--overwrite", file=page)
    meta = json.loads((tmp_path / "hackernews" / "x" / "meta.json").read_text(encoding="utf-8"))
    assert proc.returncode == 0 and meta["encoding"] == "utf-8"


# --- --check-fixtures --------------------------------------------------------------------
def test_check_fixtures_passes_on_the_committed_fixtures() -> None:
    proc = run_vocwatch("parse", "--check-fixtures")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   hackernews/hnreader-xcode7-2015:" in proc.stdout and " 0 failed" in proc.stderr


def test_check_fixtures_prints_a_diff_per_field(tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path)
    data = json.loads((folder / "output.json").read_text(encoding="utf-8"))
    author = data["mentions"][3]["author"]
    data["mentions"][3]["author"] = "somebody"
    data["mentions"][2]["text"] = "An older reading. " + data["mentions"][2]["text"]
    del data["mentions"][1]["published_raw"]  # the reading now has a field output.json lacks
    (folder / "output.json").write_text(json.dumps(data), encoding="utf-8")
    proc = run_vocwatch("parse", "--check-fixtures", str(tmp_path))
    assert proc.returncode == 1
    out = proc.stdout
    assert "FAIL hackernews/x:" in out
    assert 'hackernews/x::mentions[2].text\n    texts differ from character 0 ' in out
    assert "\n    -An older reading. " in out and "\n    +" in out  # a line diff of the two texts
    assert f'hackernews/x::mentions[3].author\n    expected "somebody"\n         got "{author}"' in out
    assert "hackernews/x::mentions[1].*\n    fields that output.json does not have: published_raw" in out
    assert "3 failed" in proc.stderr and "--freeze-fixtures DIR --overwrite" in proc.stderr


def test_check_fixtures_fails_a_fixture_without_expectations(tmp_path: Path) -> None:
    folder = copy_fixture(tmp_path)
    (folder / "output.json").unlink()
    proc = run_vocwatch("parse", "--check-fixtures", str(tmp_path))
    assert proc.returncode == 1
    assert "hackernews/x::output.json\n    no output.json" in proc.stdout and "--freeze-fixtures" in proc.stdout


# --- --freeze-fixtures -----------------------------------------------------------------------
def test_freeze_fixtures_writes_only_what_is_missing(tmp_path: Path) -> None:
    fresh = copy_fixture(tmp_path, "fresh")
    (fresh / "output.json").unlink()
    kept = copy_fixture(tmp_path, "kept")
    (kept / "output.json").write_text('{"mentions": []}', encoding="utf-8")
    broken = tmp_path / "hackernews" / "broken"
    broken.mkdir()
    (broken / "input.html").write_text("<html>not hn</html>", encoding="utf-8")
    (broken / "meta.json").write_text(json.dumps(HN_META), encoding="utf-8")
    proc = run_vocwatch("parse", "--freeze-fixtures", str(tmp_path))
    assert proc.returncode == 1  # one fixture could not be read
    assert "wrote hackernews/fresh: 70 mentions (post 1, comment 69) · text 70" in proc.stdout
    assert "kept  hackernews/kept: has an output.json" in proc.stdout
    assert "error hackernews/broken: MalformedPage" in proc.stdout
    assert (fresh / "output.json").read_text(encoding="utf-8") == (HN / "output.json").read_text(encoding="utf-8")
    assert (kept / "output.json").read_text(encoding="utf-8") == '{"mentions": []}'
    assert not (broken / "output.json").exists()
    proc = run_vocwatch("parse", "--freeze-fixtures", str(kept), "--overwrite")
    assert proc.returncode == 0 and "wrote hackernews/kept" in proc.stdout
    assert (kept / "output.json").read_text(encoding="utf-8") == (HN / "output.json").read_text(encoding="utf-8")


def test_fixture_modes_take_no_file() -> None:
    proc = run_vocwatch("parse", str(HN / "input.html"), "--check-fixtures")
    assert proc.returncode == 2 and "take a folder, no FILE" in proc.stderr
    proc = run_vocwatch("parse")
    assert proc.returncode == 2 and "give a FILE and --site or --selectors" in proc.stderr


# --- the cases a fixture makes (vocwatch.fixtures) ---------------------------------------------
def test_cases_of_a_fixture() -> None:
    cases = case_list(Fixture(HN))
    assert cases[:2] == ["meta", "len(mentions)"]
    assert "mentions[3].author" in cases and "mentions[3].*" in cases and "mentions[0].likes" in cases
    assert "mentions[1].likes" not in cases  # a comment shows no points
    assert cases[-2:] == ["next_url", "follow_urls"]
    assert all(v is None for v in outcomes(Fixture(HN)).values())


def test_compare_reports_count_changes_by_id() -> None:
    expected = {"mentions": [{"external_id": "1", "text": "a"}, {"external_id": "2", "text": "b"}],
                "next_url": None, "follow_urls": []}
    got = {"mentions": [{"external_id": "1", "text": "a"}, {"external_id": "3", "text": "c"},
                        {"external_id": "4", "text": "d"}], "next_url": "https://x/2", "follow_urls": []}
    res = compare(expected, got)
    assert res["len(mentions)"] == "expected 2 mentions, got 3\nnew in the reading: 3, 4\ngone from the reading: 2"
    assert res["mentions[1].external_id"] == 'expected "2"\n     got "3"' and res["mentions[0].text"] is None
    assert res["next_url"] == 'expected null\n     got "https://x/2"'
    short = compare(expected, {"mentions": [{"external_id": "1", "text": "a"}], "next_url": None, "follow_urls": []})
    assert short["mentions[1].text"] == short["mentions[1].*"] == "the reading has only 1 mentions"
    missing = compare(expected, {"mentions": [{"external_id": "1"}, {"external_id": "2", "text": "b"}],
                                 "next_url": None, "follow_urls": []})
    assert missing["mentions[0].text"] == 'expected "a"\n     got (absent)'


@pytest.mark.parametrize(("change", "problem"), [
    ({"origin": {"repo": "a/b", "path": "p", "commit": "abc", "license": "MIT"}}, "origin.commit: 'abc' is not a full 40-hex commit"),
    ({"tz": "Mars/Olympus"}, "tz: 'Mars/Olympus' is not an IANA zone"),
    ({"site": "nope"}, "site: 'nope' has no adapter"),
    ({"now": "yesterday"}, "now: 'yesterday' is not an ISO-8601 time"),
    ({"encoding": "klingon"}, "encoding: 'klingon' is no charset Python knows"),
    ({"notes": ""}, "notes: empty"),
    ({"url": "file:///tmp/x.html"}, "url: 'file:///tmp/x.html' is not an http(s) URL"),
])
def test_meta_problems(tmp_path: Path, change: dict, problem: str) -> None:  # type: ignore[type-arg]
    folder = copy_fixture(tmp_path)
    (folder / "meta.json").write_text(json.dumps(HN_META | change), encoding="utf-8")
    res = outcomes(Fixture(folder))
    assert problem in (res["meta"] or "")
