"""The CLI's conventions, the same in every command: global options before or after the
command, Scrapy's meaning of ``-s``, repeatable id options checked with "did you mean",
``-`` for standard output, ``--version``, grouped help, quiet on a closed pipe."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vocwatch.cli import check_ids, main, scrapy_settings

CONFIG = textwrap.dedent("""
    [store]
    url = "sqlite:///STORE"

    [[brands]]
    id = "harbor"

    [[locations]]
    id = "harbor-bund"
    name = "Harbor Bund"
    brand = "harbor"
    category = "hotel"
    lat = 31.24
    lon = 121.49
    region = "shanghai"
    role = "own"
    competitors = { radius_km = 0.5 }

    [[locations]]
    id = "rival-far"
    name = "Rival Far"
    brand = "harbor"
    category = "hotel"
    lat = 39.9
    lon = 116.4
    region = "beijing"
    role = "competitor"

    [[sources]]
    location = "harbor-bund"
    kind = "hotel_reviews"
    url = "https://reviews.example/harbor-bund"
""")


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "vocwatch.toml"
    path.write_text(CONFIG.replace("STORE", str(tmp_path / "conv.db")), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own exits (--help, --version, usage errors)
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_global_options_go_before_or_after_the_command(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = run(capsys, "-c", str(cfg), "check")
    after = run(capsys, "check", "-c", str(cfg))
    assert before[0] == after[0] == 0
    assert before[1] == after[1] and f"{cfg}: OK" in before[1]
    # given in both places, the one after the command wins (it is the more specific)
    code, out, _ = run(capsys, "-c", "/nowhere.toml", "check", "--config", str(cfg))
    assert code == 0 and f"{cfg}: OK" in out


def test_version_and_grouped_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("vocwatch ")
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for group in ("getting started:", "crawling:", "results:", "maintenance:"):
        assert group in out
    assert out.index("getting started:") < out.index("  demo ") < out.index("crawling:")
    assert "before or after the command" in out


def test_crawl_s_sets_a_scrapy_setting_as_in_scrapy(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scrapy_settings(["DOWNLOAD_DELAY=0", "USER_AGENT=a=b"]) == {"DOWNLOAD_DELAY": "0", "USER_AGENT": "a=b"}
    code, out, err = run(capsys, "crawl", "-c", str(cfg), "-s", "harbor-bund/hotel_reviews")
    assert code == 2 and out == ""
    assert "bad -s 'harbor-bund/hotel_reviews': use NAME=VALUE, a Scrapy setting (the source is --source ID)" in err


def test_unknown_ids_are_rejected_everywhere_with_did_you_mean(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for args, option in ((["alerts", "list", "--location", "harbor-bnd"], "--location"),
                         (["runs", "--source", "harbor-bund/hotel_review"], "--source"),
                         (["health", "--source", "harbor-bund/hotel_review"], "--source"),
                         (["crawl", "--source", "harbor-bund/hotel_review"], "--source"),
                         (["benchmark", "--location", "harbor-bnd"], "--location")):
        code, out, err = run(capsys, *args, "-c", str(cfg))
        assert code == 2 and out == "", (args, out, err)
        assert f"{option} '" in err and "did you mean 'harbor-bund" in err, (args, err)
    with pytest.raises(Exception, match="known: a, b"):
        check_ids("--x", ["c"], ["a", "b"])


def test_id_options_repeat_and_take_comma_lists(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "alerts", "list", "-c", str(cfg), "--location", "harbor-bund,rival-far",
                         "--location", "harbor-bund")
    assert code == 0 and out.strip() == "no alerts", err


def test_check_warns_when_a_competitive_set_comes_out_empty(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "-c", str(cfg))
    assert code == 0  # a warning, not an error: competitors may be added later
    assert "harbor-bund: the competitive set is empty (radius 0.5 km catches no competitor" in err


def test_dash_means_standard_output(cfg: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "export", "trends", "-c", str(cfg), "--format", "csv", "--out", "-")
    assert code == 0, err
    assert out.splitlines()[0].startswith("bucket_start,") and not (tmp_path / "-").exists()
    assert "-> standard output" in err
    code, out, err = run(capsys, "export", "trends", "-c", str(cfg), "--out", "-")
    assert code == 2 and "give --format" in err
    code, out, _ = run(capsys, "benchmark", "-c", str(cfg), "--format", "json", "--out", "-")
    assert code == 0 and out.lstrip().startswith("[")


def test_a_closed_pipe_is_quiet() -> None:
    """``vocwatch --help | head -1``: no BrokenPipeError traceback on stderr."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from vocwatch.cli import main; "
                             "sys.exit(main(['bench', '--help']))"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away before the writer is done
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_every_config_problem_is_reported_at_once_with_did_you_mean(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from config import load_config
    from config.loader import ConfigErrors

    bad = (CONFIG.replace('region = "shanghai"\n', 'regoin = "shanghai"\n', 1)
           .replace('kind = "hotel_reviews"', 'kind = "hotel_reviews"\nshedule = "every 1h"')
           .replace('[store]', '[crawl]\ndelay = "fast"\n\n[store]'))
    bad += '\n[[sources]]\nlocation = "rival-far"\nkind = "rss"\nurl = "nope"\n'
    path = tmp_path / "bad.toml"
    path.write_text(bad.replace("STORE", str(tmp_path / "x.db")), encoding="utf-8")
    with pytest.raises(ConfigErrors) as err:
        load_config(path)
    keys = [e.key for e in err.value.errors]
    assert keys[:2] == ["crawl.delay", "locations[0].region"]
    # the broken location's own source is not reported again as "unknown location"
    assert not any(e.key.startswith("sources[0]") for e in err.value.errors)
    assert "sources[1].url" in keys
    code, out, msg = run(capsys, "check", "-c", str(path))
    assert code == 2 and out == ""
    assert f"vocwatch: invalid configuration, {len(keys)} problems:" in msg
    assert "found 'regoin': a misspelling?" in err.value.errors[1].problem
    assert all(str(path) in line for line in msg.splitlines()[1:])


def test_an_unknown_key_names_the_one_meant(tmp_path: Path) -> None:
    from config import ConfigError, load_config

    path = tmp_path / "typo.toml"
    path.write_text("[crawl]\ndelai = 1.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crawl\.delai: unknown key \(did you mean 'delay'\?"):
        load_config(path)
