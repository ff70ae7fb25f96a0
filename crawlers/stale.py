"""Runs left ``running`` by a crawl process that is gone, closed as ``killed``.

A crawl process killed with SIGKILL (by hand, the OOM killer, a time limit, a reboot) runs
no cleanup, so its run record would read ``running`` forever. Every run therefore records
the process that owns it (:func:`owner_stats`: pid, host, the process's start time), and
:func:`close_stale_runs` closes the runs whose owner is gone. Two callers, one rule: the
next crawl of a source (``crawlers.extensions.RunRecorder``, before it opens its own run)
and the scheduler's janitor (``monitor.scheduler``). A ``killed`` run never moves the
incremental cut-off (only ``finished`` runs do), so the next run re-reads what it missed.

No Scrapy here: the scheduler (``monitor``) uses it too.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Any

from crawlers.store.base import CrawlRun, Store

logger = logging.getLogger(__name__)

KILLED = "killed"
"""Outcome of a run whose crawl process ended without closing it."""
RUN_ERROR = "vocwatch/error"
"""Stats key of the reason a run failed or was closed by someone other than its crawl."""
RUN_PID = "vocwatch/pid"
RUN_HOST = "vocwatch/host"
RUN_PROC_START = "vocwatch/proc_start"
"""The owner's start time in clock ticks since boot (Linux ``/proc/<pid>/stat``), so a pid
reused by a later process is not taken for the run's owner."""
STALE_MARGIN = timedelta(minutes=1)
"""A ``running`` run whose owner cannot be checked (another host, or recorded before runs
named their process) is stale once older than the crawl time limit plus this."""


def owner_stats() -> dict[str, Any]:
    """The stats that name this process as a run's owner."""
    stats: dict[str, Any] = {RUN_PID: os.getpid(), RUN_HOST: socket.gethostname()}
    if (started := _proc_start(os.getpid())) is not None:
        stats[RUN_PROC_START] = started
    return stats


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name; None without procfs."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def _proc_start(pid: int) -> int | None:
    fields = _proc_stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 and fields[19].isdigit() else None


def owner_alive(stats: dict[str, Any]) -> bool | None:
    """Whether the process that owns a run is still alive: True or False when the run was
    recorded on this host, None when that cannot be told (another host, no pid recorded)."""
    pid, host = stats.get(RUN_PID), stats.get(RUN_HOST)
    if not isinstance(pid, int) or host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's process
    fields = _proc_stat(pid)
    if fields is None:
        return True  # no procfs: alive is all that can be said
    if fields[0] in ("Z", "X"):
        return False  # a zombie: dead, only not reaped yet
    recorded = stats.get(RUN_PROC_START)
    return not (isinstance(recorded, int) and _proc_start(pid) != recorded)  # else the pid was reused


def stale_reason(run: CrawlRun, *, now: datetime, older_than: timedelta) -> str | None:
    """Why a ``running`` run is stale (its owner is gone), or None while it may be alive."""
    alive = owner_alive(run.stats)
    if alive is False:
        return f"crawl process {run.stats[RUN_PID]} on {run.stats[RUN_HOST]} ended without closing its run"
    if alive is None and run.started_at < now - older_than:
        where = f"on {run.stats[RUN_HOST]} " if run.stats.get(RUN_HOST) else ""
        return (f"still running {where}after {older_than.total_seconds():g} s (the time limit plus a margin): "
                "its crawl process is gone")
    return None


def close_stale_runs(store: Store, *, now: datetime, older_than: timedelta,
                     source_id: str | None = None) -> list[int]:
    """Close every stale ``running`` run (of ``source_id``, or of all sources) as ``killed``,
    with the reason under ``vocwatch/error`` beside the stats it had; returns their ids.

    ``older_than`` applies only to runs whose owner cannot be checked: the crawl time limit
    plus :data:`STALE_MARGIN`, past which no live crawl can still be running."""
    closed = []
    for run in store.list_runs(source_id=source_id, outcome="running", limit=10_000):
        reason = stale_reason(run, now=now, older_than=older_than)
        if reason is None:
            continue
        store.finish_run(run.id, now, KILLED, {**run.stats, RUN_ERROR: reason})
        closed.append(run.id)
        logger.warning("crawl run %d of %s closed as killed: %s", run.id, run.source_id, reason)
    return closed
