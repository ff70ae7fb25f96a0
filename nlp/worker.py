"""Run ``analyze`` in worker processes, so text analysis uses another core.

A crawl's reactor thread parses pages and talks to sockets; a CPU-bound analysis
*thread* beside it would hold the GIL and make every socket call wait for it (measured
with ``vocwatch bench crawl``: full pipeline 0.39x of a bare parse in a thread). Worker
processes avoid that. One pool per process, shared by every crawler in it, started with
``spawn`` (never ``fork``: the parent runs a reactor and threads), warmed up on start.

The crawl's store stage hands each flush to :func:`store_jobs` here (``pipelines.store``):
the worker analyses the mentions and upserts them itself, into the store it opens by URL
(once per worker), and sends back only counts. The crawl process then neither builds rows
nor copies labels: both hold a GIL, and the crawl process's is the one a crawl waits for.

A worker dies with its parent: a crawl killed with SIGKILL (or by the OOM killer) runs no
cleanup, and the worker, blocked on a queue whose write end it holds itself, would live on
with its models loaded (~180 MB each). See :func:`_init_worker`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from nlp.analyze import Analysis, analyze

_pools: dict[int, ProcessPoolExecutor] = {}
_lock = threading.Lock()
logger = logging.getLogger(__name__)

PARENT_CHECK_EVERY = 0.5
"""Seconds between the worker's checks that its parent is still alive."""
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def default_workers() -> int:
    """One worker process where there is a second core, none (in-thread) otherwise."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


def _warm_up() -> None:
    """Load models and dictionaries before the first batch arrives, then freeze them out
    of the garbage collector's sight: they live as long as the worker, and every full
    collection would walk them again (``gc.freeze``: up to a third more short texts a second,
    ``vocwatch bench nlp``)."""
    # BATCH_MIN texts a language, so that the batch scorer's tables are built now too
    # (``nlp.batch_score``: ~0.6 s for zh), not by the first real batch
    zh = ["房间很干净", "服务很好", "早餐一般", "位置不错", "隔音太差", "前台热情", "价格偏贵", "床很舒服"]
    en = ["The room was clean.", "Staff were rude.", "Great breakfast!", "Noisy street.", "Fair price.",
          "Comfy bed.", "Slow check-in.", "Lovely view."]
    analyze(zh + en, langs=["zh"] * len(zh) + ["en"] * len(en))
    gc.collect()
    gc.freeze()


def _init_worker(parent_pid: int, by_main_thread: bool) -> None:
    """Tie this worker's life to its parent's, then warm up.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``). The
    kernel means the parent *thread* that spawned the worker, so it is set only when the
    pool was started by the parent's main thread (a crawl's reactor), whose end is the
    process's end. A watchdog thread covers the rest: other systems, a pool started by
    another thread, and a parent that died before ``prctl`` ran (then ``getppid`` has
    already changed)."""
    if by_main_thread and sys.platform.startswith("linux"):
        _set_parent_death_signal(signal.SIGKILL)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="vocwatch-parent-watch", daemon=True).start()
    _warm_up()


def _set_parent_death_signal(sig: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)`` through libc; False where it is unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            logger.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
            return False
    except (OSError, AttributeError) as exc:
        logger.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
        return False
    return True


def _watch_parent(parent_pid: int, every: float = PARENT_CHECK_EVERY) -> None:
    """Exit this process at once when its parent is gone (it is re-parented, so
    ``getppid`` changes): nobody is left to read its results."""
    while os.getppid() == parent_pid:
        time.sleep(every)
    os._exit(1)


def analyze_batch(texts: Sequence[str | None], langs: Sequence[str | None] | None,
                  domain: str | None, ratings: Sequence[float | None] | None = None) -> list[Analysis]:
    return analyze(texts, langs=langs, domain=domain, ratings=ratings)


_stores: dict[str, Any] = {}
"""The stores this worker opened, by URL (a worker process only)."""
_writer: ThreadPoolExecutor | None = None
"""The worker's one store-writing thread: a flush's writes overlap its analysis."""
WRITE_PARTS = 4
"""Runs a flush is analysed and written in (``pipelines.batch.run_jobs``)."""


def store_jobs(store_url: str, jobs: list[Any]) -> list[Any]:
    """In the worker: analyse and store one flush (``pipelines.batch.run_jobs``) into the
    store at ``store_url``, opened on first use and kept for the worker's life."""
    from crawlers.store import open_store
    from pipelines.batch import run_jobs

    global _writer
    store = _stores.get(store_url)
    if store is None:
        store = _stores[store_url] = open_store(store_url)
    if _writer is None:
        _writer = ThreadPoolExecutor(1, thread_name_prefix="vocwatch-store-writer")
    return run_jobs(store, jobs, analyze, writer=_writer, parts=WRITE_PARTS)


def submit_store_jobs(workers: int, store_url: str, jobs: list[Any]) -> Future[list[Any]]:
    """:func:`store_jobs` in the pool."""
    return pool(workers).submit(store_jobs, store_url, jobs)


def pool(workers: int) -> ProcessPoolExecutor:
    """The process-wide pool of ``workers`` processes (created on first use)."""
    with _lock:
        if workers not in _pools:
            # the workers are spawned by the thread that submits first: this one
            by_main = threading.current_thread() is threading.main_thread()
            _pools[workers] = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(os.getpid(), by_main))
        return _pools[workers]


def submit(workers: int, texts: Sequence[str | None], langs: Sequence[str | None] | None,
           domain: str | None, ratings: Sequence[float | None] | None = None) -> Future[list[Analysis]]:
    """``analyze(texts, langs=, domain=, ratings=)`` in the pool (``ratings``: 0-5 or ``None`` each)."""
    return pool(workers).submit(analyze_batch, list(texts), list(langs) if langs is not None else None, domain,
                                list(ratings) if ratings is not None else None)


def _ready() -> None:
    """A no-op task: its submission starts the pool's processes."""


def prestart(workers: int) -> None:
    """Start the pool's worker processes now, so that they load their models while a crawl's
    first pages download rather than after its first batch is waiting. Never raises: a pool
    that cannot start fails its first real batch, which the caller handles."""
    if workers <= 0:
        return
    try:
        pool(workers).submit(_ready)
    except Exception as exc:  # BrokenProcessPool, a spawn failure: the first batch reports it
        logger.debug("could not start the NLP worker pool early: %s", exc)


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
