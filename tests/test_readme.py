"""README promises: its quick-start config loads, every guide link points at a file that
exists, and the test command CI runs is the one README gives."""

from __future__ import annotations

import re
from pathlib import Path

from config import load_config
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_config_is_valid(tmp_path: Path) -> None:
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (toml,) = re.findall(r"```toml\n(.*?)```", quick, flags=re.S)
    path = tmp_path / "vocwatch.toml"
    path.write_text("\n".join(line[3:] if line.startswith("   ") else line for line in toml.splitlines()),
                    encoding="utf-8")
    config = load_config(path)
    assert [s.site for s in config.sources.values()] == ["tripadvisor"]


def test_every_local_link_resolves() -> None:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for doc in docs:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_ci_runs_the_test_command_readme_gives() -> None:
    assert "make test" in README
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
