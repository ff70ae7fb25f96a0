"""``vocwatch bench dates`` measures what it claims: the common forms it times are read by
the fast paths alone (none reaches dateparser), the other languages' forms are all read,
and each row is quoted against the baseline of the same run. Figures are never asserted."""

from __future__ import annotations

from vocwatch.bench import dates
from vocwatch.cli import main


def test_bench_dates_rows_and_the_fast_path_claim() -> None:
    lines: list[str] = []
    res = dates.run(200, 40, cold=False, say=lines.append)
    assert res["fast_forms_read"] == 200 and res["fast_forms_reaching_dateparser"] == 0
    assert res["locale_forms_read"] == res["locale_forms_read_with_hint"] == 40
    assert [r["what"].split(",")[0] for r in res["rows"]] == [
        "baseline: datetime.fromisoformat"] + ["parse_datetime"] * 4 + ["bare dateparser.parse"] * 2
    assert res["rows"][0]["ratio"] == 1.0
    assert "x baseline" in lines[0] and "0 reached dateparser" in lines[0]


def test_bench_dates_forms_cover_every_template() -> None:
    got = dates.dates(dates.LOCALE_FORMS, len(dates.LOCALE_FORMS))
    assert len({lang for _, _, lang in got}) == 12
    assert all("{" not in text for text, _, _ in dates.dates(dates.FAST_FORMS, 50))


def test_cli_bench_dates(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["bench", "dates", "--dates", "64", "--slow-dates", "16"]) == 0
    out = capsys.readouterr().out
    assert "per 10,000 dates" in out and "cold start" in out
