"""Site x real pages x fields: the table of what the found-page fixtures prove.

For every registered site: how many fixture pages (tests/fixtures/pages) it has, how many
mentions they hold, how many per-field cases ``tests/test_fixtures.py`` checks on them and
how many of those pass now, and which fields are filled. Run from the repository root:

    python scripts/fixture_table.py [--markdown]
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spiders.pages.registry import sites
from vocwatch.fixtures import discover, outcomes

ROOT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pages"


def main() -> int:
    rows: dict[str, dict[str, object]] = defaultdict(lambda: {"pages": 0, "mentions": 0, "cases": 0, "passed": 0,
                                                             "fields": Counter()})
    for fixture in discover(ROOT):
        site = str(fixture.meta().get("site", "?"))
        row = rows[site]
        expected = fixture.expected() or {"mentions": []}
        results = outcomes(fixture)
        row["pages"] += 1  # type: ignore[operator]
        row["mentions"] += len(expected["mentions"])  # type: ignore[operator]
        row["cases"] += len(results)  # type: ignore[operator]
        row["passed"] += sum(1 for v in results.values() if v is None)  # type: ignore[operator]
        for m in expected["mentions"]:
            row["fields"].update(k for k in m if k not in ("site", "kind", "url"))  # type: ignore[union-attr]
    print("| site | found pages | mentions | field cases | passing | fields filled (mentions) |")
    print("|---|---|---|---|---|---|")
    for site in sorted(set(sites()) | set(rows)):
        r = rows.get(site)
        if r is None:
            print(f"| {site} | 0 | | | | |")
            continue
        fields = ", ".join(f"{k} {n}" for k, n in r["fields"].most_common())  # type: ignore[union-attr]
        print(f"| {site} | {r['pages']} | {r['mentions']} | {r['cases']} | {r['passed']} | {fields} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
