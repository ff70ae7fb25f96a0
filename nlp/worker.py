"""Run ``analyze`` in worker processes, so text analysis uses another core.

A crawl's reactor thread parses pages and talks to sockets; a CPU-bound analysis
*thread* beside it would hold the GIL and make every socket call wait for it (measured
with ``vocwatch bench crawl``: full pipeline 0.39x of a bare parse in a thread). Worker
processes avoid that. One pool per process, shared by every crawler in it, started with
``spawn`` (never ``fork``: the parent runs a reactor and threads), warmed up on start.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from nlp.analyze import Analysis, analyze

_pools: dict[int, ProcessPoolExecutor] = {}
_lock = threading.Lock()


def default_workers() -> int:
    """One worker process where there is a second core, none (in-thread) otherwise."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


def _warm_up() -> None:
    """Load models and dictionaries before the first batch arrives."""
    analyze(["房间很干净", "The room was clean."])


def analyze_batch(texts: Sequence[str | None], langs: Sequence[str | None] | None,
                  domain: str | None) -> list[Analysis]:
    return analyze(texts, langs=langs, domain=domain)


def pool(workers: int) -> ProcessPoolExecutor:
    """The process-wide pool of ``workers`` processes (created on first use)."""
    with _lock:
        if workers not in _pools:
            _pools[workers] = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up)
        return _pools[workers]


def submit(workers: int, texts: Sequence[str | None], langs: Sequence[str | None] | None,
           domain: str | None) -> Future[list[Analysis]]:
    return pool(workers).submit(analyze_batch, list(texts), list(langs) if langs is not None else None, domain)


def discard(workers: int) -> None:
    """Drop a pool whose worker died (BrokenProcessPool); the next call starts a new one."""
    with _lock:
        broken = _pools.pop(workers, None)
    if broken is not None:
        broken.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for p in pools:
        p.shutdown(wait=True)
