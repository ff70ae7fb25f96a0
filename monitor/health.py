"""Crawl health: every finished or partial run of a source, checked against that source's
own earlier runs, so a site redesign, a block or an outage is noticed within one run.

The checks are pure (a run and its history in, findings out; thresholds from the
``[health]`` table, ``config.model.HealthSettings``); :func:`check_and_record` reads the
history from the store and stores the findings with the run. It runs when the run closes
(``crawlers.extensions.RunRecorder``); the findings become ``crawl_health`` alerts through
the ordinary routes in ``monitor.alerting`` (monitor decides, action delivers).

Why not spidermon's monitors: they are unittest cases over one run's stats with fixed
thresholds from settings (``SPIDERMON_MIN_ITEMS``, ``SPIDERMON_FIELD_COVERAGE_RULES``),
while these checks compare a source with its own history. spidermon's history
(``LocalStorageStatsHistoryCollector``) is a pickle file per spider *name* on the crawling
machine: our spiders are source kinds (many sources share ``hotel_reviews``, every adapter
runs in ``site``) and our runs are crawled on many machines, while the store already holds
every run's counters. Its field coverage is counted on ``item_scraped``, after the
pipelines, so mentions dropped for a lost field (``missing_text``) would never count
against it; ours is counted on the mentions read (``vocwatch/fields/<field>``). Its
results are pass/fail messages delivered by its own actions; ours are stored with the run
and routed, deduped and cooled down like every other alert. What is kept from it is the
shape: monitors decide, actions deliver; thresholds are named settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from statistics import median
from typing import Any

from config.model import HealthSettings
from crawlers.stats import COVERAGE_FIELDS, DROPPED, EXTRACTED, FIELDS
from crawlers.store.base import CrawlRun, HealthFinding, Store

CHECKED_OUTCOMES = ("finished", "partial")
"""Runs that ended normally are checked and form the history; a crashed run says nothing
about the site (its outcome already says ``failed``)."""
PROBLEMS = ("no_items", "items_drop", "fields_lost", "error_ratio", "blocked_ratio", "malformed_ratio", "no_new",
            "session_expired", "sessions_exhausted")
INSERTED = "vocwatch/store/inserted"
PAGES_READ = "vocwatch/pages/read"
BLOCKED = DROPPED + "page_blocked"
MALFORMED = DROPPED + "page_malformed"
ALSO_READ = (DROPPED + "page_needs_browser",)
"""Page drops whose page was read too (counted in ``vocwatch/pages/read``)."""


def _n(stats: dict[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def pages(stats: dict[str, Any]) -> dict[str, Any]:
    """Pages of a run: ``read``, ``blocked``, ``malformed``, ``failed`` (every other page
    drop: HTTP errors, timeouts, refused connections, ...) with ``errors`` by reason, and
    ``total`` fetched."""
    errors = {k.removeprefix(DROPPED): _n(stats, k) for k in sorted(stats)
              if k.startswith(DROPPED + "page_") and k not in (BLOCKED, MALFORMED, *ALSO_READ) and _n(stats, k)}
    out = {"read": _n(stats, PAGES_READ), "blocked": _n(stats, BLOCKED), "malformed": _n(stats, MALFORMED),
           "failed": sum(errors.values()), "errors": errors}
    out["total"] = out["read"] + out["blocked"] + out["malformed"] + out["failed"]
    return out


HEALTH_FIELDS = ("text", "words", *COVERAGE_FIELDS[1:])
"""What field coverage judges: ``text`` is the share of full texts among the mentions read
that are not rating-only (a review with stars and no words has no text to lose, and a
snippet is not a full text), ``words`` the share of mentions read that are not rating-only
(a text selector lost on a rated site turns every review rating-only)."""


def coverage(stats: dict[str, Any]) -> dict[str, float | None] | None:
    """Share of the mentions read that had each field (``HEALTH_FIELDS``); ``None`` for a
    run that read none or predates the field counters. A share that cannot be told is
    None: ``text`` when every mention was rating-only, ``words`` for a run from before
    rating-only mentions were counted (its text share counted them as missing text)."""
    read = _n(stats, EXTRACTED)
    if not read or not all(FIELDS + f in stats for f in COVERAGE_FIELDS):
        return None
    out: dict[str, float | None] = {f: _n(stats, FIELDS + f) / read for f in COVERAGE_FIELDS}
    if FIELDS + "rating_only" in stats:
        worded = read - _n(stats, FIELDS + "rating_only")
        out["text"] = _n(stats, FIELDS + "text") / worded if worded > 0 else None
        out["words"] = worded / read
    else:
        out["words"] = None
    return {f: out[f] for f in HEALTH_FIELDS}


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _runs(n: int) -> str:
    return "the last run" if n == 1 else f"the last {n} runs"


def check_run(run: CrawlRun, history: Sequence[CrawlRun], s: HealthSettings,
              previous: Sequence[HealthFinding] = ()) -> list[HealthFinding]:
    """The findings of ``run`` against ``history`` (the source's earlier finished/partial
    runs, newest first). Every check needs a minimum of history or mentions; see
    ``HealthSettings`` for the thresholds.

    ``previous`` are the findings of the run before (``history[0]``): a source that stopped
    yielding, or a field that was lost, stays a finding for as long as it lasts, judged
    against the figures from before it broke, not against a history that the broken runs
    themselves have since dragged down."""
    stats = run.stats
    who = f"{run.spider} source {run.source_id}"
    # the accounts' findings hold for any outcome: a run with no usable account may read nothing
    found: list[HealthFinding] = session_findings(run, who)
    if run.outcome not in CHECKED_OUTCOMES:
        return found
    before = {f.problem: f for f in previous}

    def add(problem: str, severity: str, what: str, **details: Any) -> None:
        found.append(HealthFinding(run.source_id, problem, severity, f"{who}: {what}", details, run.id,
                                   run.finished_at))

    read = _n(stats, EXTRACTED)
    past = list(history[: s.history_runs])
    past_read = [_n(h.stats, EXTRACTED) for h in past]
    p = pages(stats)
    page_note = f"{p['read']} page(s) read" + (f", {p['total'] - p['read']} failed or refused" if p["total"] > p["read"] else "")

    # a source that stopped yielding
    if read == 0:
        if (was := before.get("no_items")) and was.severity == "critical":
            since = was.details.get("since_run", was.run_id)
            add("no_items", "critical", f"stopped yielding: 0 mentions read ({page_note}), none since run #{since}; "
                f"before that a median of {was.details.get('expected') or 0:g}", observed=0,
                expected=was.details.get("expected"), pages=p, since_run=since)
        elif any(past_read):
            add("no_items", "critical", f"stopped yielding: 0 mentions read ({page_note}); {_runs(len(past))} read a "
                f"median of {median(past_read):g}", observed=0, expected=median(past_read), pages=p, since_run=run.id)
        else:
            add("no_items", "warning", f"no mentions read ({page_note}), and no earlier run read any",
                observed=0, expected=None, pages=p)
    elif len(past) >= s.min_history and (usual := median(past_read)) > 0 and read < s.items_ratio * usual:
        add("items_drop", "warning", f"read {read} mentions, {read / usual:.0%} of the usual {usual:g} "
            f"(median of {_runs(len(past))})", observed=read, expected=usual)

    # field coverage against the history's
    now_cov = coverage(stats) if read >= s.min_mentions else None
    past_cov = [c for h in past if _n(h.stats, EXTRACTED) >= s.min_mentions and (c := coverage(h.stats))]
    still = before["fields_lost"].details if "fields_lost" in before else {}
    if now_cov is not None and (past_cov or still):
        lost, carried = {}, {}
        for f in HEALTH_FIELDS:
            if (now := now_cov[f]) is None:
                continue  # not told this run (every mention rating-only: ``words`` says it)
            if f in still.get("fields", {}):
                was = still["fields"][f][0]  # lost before: judged against the coverage before the loss
                if now < s.coverage_now:
                    carried[f] = [was, round(now, 4)]
            elif (told := [c[f] for c in past_cov if c[f] is not None]) and (was := median(told)) >= s.coverage_was \
                    and now < s.coverage_now:
                lost[f] = [round(was, 4), round(now, 4)]
        if lost or carried:
            if lost:
                since = "since the last run" if len(past_cov) == 1 else \
                    f"against the median of the last {len(past_cov)} runs"
            else:
                since = f"since run #{still.get('since_run', before['fields_lost'].run_id)}"
            both = {f: (lost | carried)[f] for f in HEALTH_FIELDS if f in lost or f in carried}
            listed = ", ".join(f"{f} ({_pct(a)} -> {_pct(b)})" for f, (a, b) in both.items())
            if "words" in both:
                listed += " (words: mentions that are not rating-only; the rest had a rating and no text: " \
                          "a lost text selector, or reviews that turned star-only)"
            add("fields_lost", "critical" if "text" in both or "words" in both else "warning",
                f"fields lost {since}: {listed}",
                fields=both, read=read, since_run=still.get("since_run", run.id) if carried else run.id)

    # blocked / malformed / failed pages
    if p["total"]:
        past_pages = [pages(h.stats) for h in past]
        for problem, key, limit, what in (("error_ratio", "failed", s.error_ratio, "failed"),
                                          ("blocked_ratio", "blocked", s.blocked_ratio, "blocked"),
                                          ("malformed_ratio", "malformed", s.malformed_ratio, "malformed")):
            ratio = p[key] / p["total"]
            if ratio <= limit:
                continue
            usual = median([q[key] / q["total"] for q in past_pages if q["total"]] or [0.0])
            why = "" if key != "failed" else " (" + ", ".join(f"{k}: {v}" for k, v in p["errors"].items()) + ")"
            add(problem, "critical" if ratio >= 1 else "warning",
                f"{p[key]} of {p['total']} pages {what}{why}: {_pct(ratio)}, usually {_pct(usual)}",
                observed=round(ratio, 4), expected=round(usual, 4), pages=p)

    # several runs in a row with nothing new
    streak = [run, *history[: s.stale_runs - 1]]
    if len(streak) == s.stale_runs and all(_n(r.stats, EXTRACTED) and not _n(r.stats, INSERTED) for r in streak):
        add("no_new", "info", f"no new mentions in {s.stale_runs} runs in a row (each read mentions, all already "
            "stored)", runs=[r.id for r in streak])
    return found


ACCOUNT_STATES = "vocwatch/account/states"
ACCOUNTS_EXPIRED = "vocwatch/account/expired_accounts"
ACCOUNTS_EXHAUSTED = "vocwatch/account/exhausted"
ACCOUNTS_NONE_USABLE = "vocwatch/account/none_usable"


def session_findings(run: CrawlRun, who: str) -> list[HealthFinding]:
    """From the account counters of ``crawlers.sessions``: ``session_expired`` while an
    account of the source's site is expired (met a login wall; it needs a new login: this
    run or still, from an earlier one), ``sessions_exhausted`` when every account was
    cooling down or expired and pages were left for the next run. Names, never secrets."""
    stats = run.stats
    states = [s for s in stats.get(ACCOUNT_STATES) or [] if isinstance(s, dict)]
    expired = {(str(s.get("site")), str(s.get("account"))) for s in states if s.get("state") == "expired"}
    expired |= {(str(s.get("site")), str(s.get("account"))) for s in stats.get(ACCOUNTS_EXPIRED) or []
                if isinstance(s, dict)}
    out = []
    exhausted = stats.get(ACCOUNTS_EXHAUSTED) or (stats.get(ACCOUNTS_NONE_USABLE) and states and
                                                  states[0].get("site"))
    if expired:
        sites = sorted({site for site, _ in expired})
        names = ", ".join(f"{site} account {name}" for site, name in sorted(expired))
        verb = "needs" if len(expired) == 1 else "need"
        left = sum(1 for s in states if s.get("state") != "expired")
        out.append(HealthFinding(run.source_id, "session_expired", "critical" if states and not left else "warning",
                                 f"{who}: {names} {verb} a new login (vocwatch login {sites[0]}); "
                                 f"{left} other account(s) of the site left", {
                                     "accounts": [{"site": s, "account": n} for s, n in sorted(expired)],
                                     "accounts_left": left}, run.id, run.finished_at))
    if exhausted:
        waits = [s["until"] for s in states if s.get("state") == "cooling" and s.get("until")]
        when = f"; the first cool-down ends {min(waits)[:16].replace('T', ' ')} UTC" if waits else ""
        kept = len(stats.get("vocwatch/failed_requests") or [])
        out.append(HealthFinding(run.source_id, "sessions_exhausted", "critical",
                                 f"{who}: every {exhausted} account was cooling down or expired; "
                                 f"{kept} page(s) kept for the next run{when}",
                                 {"site": exhausted, "pages_kept": kept, "states": states}, run.id, run.finished_at))
    return out


def history(store: Store, source_id: str, n: int, *, before: int | None = None) -> list[CrawlRun]:
    """The source's ``n`` latest finished/partial runs (before run id ``before``), newest first."""
    runs = [r for outcome in CHECKED_OUTCOMES for r in store.list_runs(source_id=source_id, outcome=outcome,
                                                                         limit=n + 1)]
    return sorted((r for r in runs if before is None or r.id < before), key=lambda r: r.id, reverse=True)[:n]


def check_and_record(store: Store, source_id: str, run_id: int, s: HealthSettings) -> list[HealthFinding]:
    """Check a closed run of ``source_id`` against its history and store its findings with
    it (replacing earlier ones); returns them. Nothing when checks are off or the run is
    not one that is checked."""
    if not s.enabled:
        return []
    run = next((r for r in store.list_runs(source_id=source_id, limit=20) if r.id == run_id), None)
    if run is None:
        return []
    past = history(store, source_id, max(s.history_runs, s.stale_runs - 1), before=run_id)
    findings = check_run(run, past, s, store.list_health(run_id=past[0].id) if past else ())
    for f in findings:
        f.found_at = f.found_at or datetime.now(UTC)
    store.record_health(run_id, findings)
    return findings


def latest(store: Store, source_ids: Sequence[str], runs: int = 1) -> dict[str, list[tuple[CrawlRun, list[HealthFinding]]]]:
    """Per source: its ``runs`` latest checked runs, newest first, each with its findings
    (an empty list: healthy), for ``vocwatch health`` and the dashboard."""
    out: dict[str, list[tuple[CrawlRun, list[HealthFinding]]]] = {}
    for sid in source_ids:
        out[sid] = [(r, store.list_health(run_id=r.id)) for r in history(store, sid, runs)]
    return out
