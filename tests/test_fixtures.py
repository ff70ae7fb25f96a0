"""Every page fixture under tests/fixtures/pages, one test per field.

Each fixture folder (``<site>/<name>/`` with ``input.<ext>``, ``meta.json``,
``output.json``; see ``vocwatch/fixtures.py``) is read again through
``registry.adapter(site).read(Page(...))`` with its frozen time, zone and charset, and
compared with its ``output.json`` case by case: ``<site>/<name>::len(mentions)``,
``::mentions[3].author`` for every field output.json holds, ``::mentions[3].*`` (the
reading has no field output.json lacks: a field an adapter starts filling is a change to
review too), ``::next_url``, ``::follow_urls``, and ``::meta`` (meta.json complete: where
the page came from and how to read it).

A fixture without output.json fails (``::output.json``): an expectation nobody wrote must
not pass. Write it with ``vocwatch parse --freeze-fixtures tests/fixtures/pages/<site>/<name>``
and check every value against the page. After an adapter change you meant, regenerate with
``--overwrite`` and read the diff (``git diff tests/fixtures``) before committing it.
"""

from __future__ import annotations

from functools import cache

import pytest

from tests.conftest import ROOT
from vocwatch.fixtures import Fixture, case_list, discover, outcomes

FIXTURES = ROOT / "tests" / "fixtures" / "pages"


@cache
def _outcomes(fixture: Fixture) -> dict[str, str | None]:
    """Each fixture's page is read once per test session, whatever its number of cases."""
    return outcomes(fixture)


CASES = [pytest.param(fixture, case, id=f"{fixture.id}::{case}")
         for fixture in discover(FIXTURES) for case in case_list(fixture)]


@pytest.mark.parametrize(("fixture", "case"), CASES)
def test_fixture(fixture: Fixture, case: str) -> None:
    results = _outcomes(fixture)
    if case not in results:  # output.json changed since collection
        pytest.fail(f"{fixture.id}::{case}: no such case any more; run the tests again", pytrace=False)
    message = results[case]
    if message:
        pytest.fail(f"{fixture.id}::{case}\n{message}", pytrace=False)


def test_fixtures_are_found() -> None:
    """The folder exists and holds fixtures: a moved folder must not make every case vanish."""
    assert len(discover(FIXTURES)) >= 2


def test_a_fixture_from_a_repository_kept_for_independent_checks_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    folder = tmp_path / "hackernews" / "kept"
    folder.mkdir(parents=True)
    (folder / "input.html").write_text("<html></html>", encoding="utf-8")
    meta = {"site": "hackernews", "url": "https://news.ycombinator.com/item?id=1", "now": "2015-08-01T00:00:00Z",
            "tz": "UTC", "encoding": "utf-8", "notes": "a page from a kept repository",
            "origin": {"repo": "Malmstein/Yahnac", "path": "x.html", "commit": "f" * 40, "license": "Apache-2.0"}}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    assert any("kept for independent checks" in p for p in Fixture(folder).meta_problems())
