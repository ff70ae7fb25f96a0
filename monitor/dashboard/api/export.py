"""Dashboard API: export (see monitor/dashboard/routes.py for how routes are registered).

``GET /api/export/mentions?format=csv|xlsx|jsonl|parquet&<the inbox's filters>``: the
mentions the inbox lists for the same query string (its status and assignee filters
too), as a file (``monitor.export``: the columns and the formula guard of ``vocwatch
export mentions``). The query is the inbox's own (``inbox_query``, over
:meth:`Request.mention_query`), so the export is scoped exactly like the inbox: a location
outside the token's scope is a 403, and without ``location`` only the token's own
locations are read. The inbox's ``limit``/``offset`` are its page, not the export's: every
matching mention is exported, up to :data:`MAX_ROWS`.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from http import HTTPStatus

from monitor.dashboard.api.inbox import inbox_query
from monitor.dashboard.routes import Download, HTTPError, Request, route
from monitor.export import CONTENT_TYPES, SUFFIXES, ExportError, format_for, write_mentions

MAX_ROWS = 100_000
"""The most mentions one dashboard download holds: the answer is built in memory (spilled
to a temporary file while it is written); a larger export is the command line's
(``vocwatch export mentions``), which streams to a file or a pipe."""
FORMATS = ("csv", "xlsx", "jsonl", "parquet")


@route("GET", r"/api/export/mentions")
def export_mentions(req: Request) -> Download:
    fmt_name = req.param("format", "csv")
    if fmt_name not in FORMATS:
        raise HTTPError(HTTPStatus.BAD_REQUEST, f"bad format {fmt_name!r}: use {', '.join(FORMATS)}")
    query = replace(inbox_query(req), limit=0, offset=0)  # the inbox's page does not cut the export
    n = req.dashboard.store.count_matching(query)
    if n > MAX_ROWS:
        raise HTTPError(HTTPStatus.BAD_REQUEST,
                        f"{n:,} mentions match; the dashboard exports at most {MAX_ROWS:,}: narrow the filters "
                        "(window, location, sentiment ...) or use `vocwatch export mentions`")
    try:
        fmt = format_for("-", fmt_name)
    except ExportError as exc:  # pragma: no cover - FORMATS are all known to monitor.export
        raise HTTPError(HTTPStatus.BAD_REQUEST, str(exc)) from None
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as fh:
        write_mentions(req.dashboard.store, query, fh, fmt, locations=req.dashboard.config.locations)  # type: ignore[arg-type]
        fh.seek(0)
        body = fh.read()
    return Download(body, CONTENT_TYPES[fmt], f"mentions-{req.now:%Y%m%d-%H%M}.{SUFFIXES[fmt]}")
