"""Streamed JSON-lines analysis for ``vocwatch analyze``: bad lines are reported, not fatal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from nlp.analyze import analysis_to_dict, analyze

BATCH = 512


@dataclass(slots=True)
class JsonlReport:
    analyzed: int = 0
    skipped: int = 0


def _records(lines: Iterable[str], warn: Callable[[str], None], report: JsonlReport) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            warn(f"line {number}: invalid JSON ({exc}); skipped")
            report.skipped += 1
            continue
        if not isinstance(obj, dict):
            warn(f"line {number}: expected a JSON object, got {type(obj).__name__}; skipped")
            report.skipped += 1
        elif "text" not in obj:
            warn(f"line {number}: no 'text' key; skipped")
            report.skipped += 1
        elif not isinstance(obj.get("text"), str | None):
            warn(f"line {number}: 'text' must be a string, got {type(obj['text']).__name__}; skipped")
            report.skipped += 1
        elif obj.get("lang") is not None and not isinstance(obj["lang"], str):
            warn(f"line {number}: 'lang' must be a string; skipped")
            report.skipped += 1
        elif obj.get("rating") is not None and (isinstance(obj["rating"], bool)
                                                or not isinstance(obj["rating"], int | float)
                                                or not 0 <= obj["rating"] <= 5):
            warn(f"line {number}: 'rating' must be a number from 0 to 5 (stars normalised to 0-5); skipped")
            report.skipped += 1
        else:
            yield obj


def analyze_jsonl(src: IO[str], dst: IO[str], *, domain: str | None = None,
                  warn: Callable[[str], None] = lambda _: None) -> JsonlReport:
    """Read objects with ``text`` (and optional ``lang``, ``id``, ``rating`` on 0-5, which
    the label then takes into account, see ``nlp.rating``) from ``src``; write each
    with ``lang``, ``sentiment``, ``aspects``, ``keywords`` and ``model`` added to ``dst``,
    in batches so memory stays flat on large files."""
    report = JsonlReport()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        results = analyze([o.get("text") for o in batch], langs=[o.get("lang") for o in batch], domain=domain,
                          ratings=[o.get("rating") for o in batch])
        for obj, result in zip(batch, results, strict=True):
            dst.write(json.dumps({**obj, **analysis_to_dict(result)}, ensure_ascii=False) + "\n")
        report.analyzed += len(batch)
        batch.clear()

    for obj in _records(src, warn, report):
        batch.append(obj)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return report
