"""Shared fixtures: the sandbox sites on 127.0.0.1 and a way to run the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "config" / "demo" / "vocwatch.toml"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    from vocwatch.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


def run_vocwatch(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vocwatch ARGS`` in a fresh process (a fresh Twisted reactor)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "vocwatch", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared real pages/datasets are not checked out beside the repo")
    return path
