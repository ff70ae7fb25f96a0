"""The ``vocwatch`` command. Sits on top of everything; nothing imports it."""


from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from config import Config, ConfigError

USAGE = """vocwatch harvests unsolicited feedback about your locations and their competitors
(review sites, forums, social feeds), tags it with language, sentiment and aspects, and
benchmarks each location against the competitors around it.

Start with `vocwatch demo` (no setup: local sandbox sites), then `vocwatch check -c
vocwatch.toml` and `vocwatch crawl -c vocwatch.toml` on your own configuration."""

COMMAND_GROUPS = (
    ("getting started", ("demo", "check", "sandbox")),
    ("crawling", ("crawl", "scrapy", "schedule", "worker", "runs", "health", "login", "sessions", "parse")),
    ("results", ("benchmark", "export", "alerts", "digest", "serve", "token")),
    ("maintenance", ("store", "reanalyze", "analyze", "synth", "bench")),
)
"""How ``vocwatch --help`` lists the commands: by what a user wants to do, not A-Z."""
HELP_FOOTER = """Global options (-c/--config, --store) go before or after the command.
`vocwatch COMMAND --help` explains a command; README.md has the whole guide."""


def _grouped_commands(sub: argparse._SubParsersAction) -> str:  # type: ignore[type-arg]
    """The epilog listing every command under its group (a command in no group is listed
    under "other", so none is ever missing from the help)."""
    import textwrap

    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    grouped = [name for _, names in COMMAND_GROUPS for name in names]
    groups = [(title, [n for n in names if n in helps]) for title, names in COMMAND_GROUPS]
    groups.append(("other", [n for n in helps if n not in grouped]))
    lines = []
    for title, names in groups:
        if not names:
            continue
        lines.append(f"{title}:")
        for n in names:
            wrapped = textwrap.wrap(helps[n], 64) or [""]
            lines.append(f"  {n:<12} {wrapped[0]}")
            lines += [f"  {'':<12} {w}" for w in wrapped[1:]]
        lines.append("")
    return "\n".join(lines) + "\n" + HELP_FOOTER

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo" / "vocwatch.toml"
DEMO_WINDOW = "365d"  # the sandbox's reviews span months: the demo benchmarks a year
DEFAULT_CONFIG = "vocwatch.toml"


CONFIG_HELP = ("configuration file (default: $VOCWATCH_CONFIG, else ./vocwatch.toml, else the [vocwatch] config "
               "of the nearest scrapy.cfg); paths in it are relative to its folder")
STORE_HELP = ("store URL, overrides the config and $VOCWATCH_STORE_URL; a relative path is relative to here "
              "(sqlite:///file.db or a file path; mongodb://... via the environment)")


def _global_args(p: argparse.ArgumentParser) -> None:
    """The options every command takes, on the top-level parser (``vocwatch -c F runs``)."""
    p.add_argument("--config", "-c", default=None, help=CONFIG_HELP)  # None: config.locate.find_config
    p.add_argument("--store", default=None, help=STORE_HELP)


def _config_arg(p: argparse.ArgumentParser) -> None:
    """The same options after the command (``vocwatch runs -c F``): SUPPRESS keeps a value
    given before the command when none is given after it."""
    p.add_argument("--config", "-c", default=argparse.SUPPRESS, help=CONFIG_HELP)
    p.add_argument("--store", default=argparse.SUPPRESS, help=STORE_HELP)


def _ids(values: Sequence[str] | None) -> list[str]:
    """``--location a b --location c,d`` as ``[a, b, c, d]``: every id option is repeatable,
    takes several values and comma lists, the same way in every command."""
    return [v.strip() for vs in values or () for v in vs.split(",") if v.strip()]


def check_ids(option: str, ids: Sequence[str], known: Sequence[str], what: str = "") -> list[str]:
    """``ids`` if each is one of ``known``; else an error naming the unknown one with a
    "did you mean" and (for short lists) the known ones, the same in every command."""
    import difflib

    for i in ids:
        if i not in known:
            close = difflib.get_close_matches(i, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listed = f"; known: {', '.join(known)}" if len(known) <= 12 else f" ({len(known)} known)"
            raise argparse.ArgumentTypeError(f"{option} {i!r} is not {what or 'a known id'}{hint}{listed}")
    return list(ids)


def _location_arg(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--location", action="extend", nargs="+", metavar="ID", help=help + " (repeatable; comma lists too)")


def _load(args: argparse.Namespace, path: str | Path | None = None) -> Config:
    """The config file, with ``--store`` (when given) replacing its store URL. Its secrets
    are remembered, so that no log line or message of this process shows them."""
    from config.locate import open_config, store_notice
    from config.redact import remember

    config = open_config(path or args.config, store=getattr(args, "store", None))
    remember(config.secrets)
    if not getattr(args, "quiet", False) and (notice := store_notice(config)):  # from elsewhere: say which one
        print(f"vocwatch: {notice}", file=sys.stderr)
    return config


class _ProgressPrinter:
    """One status line on a terminal (rewritten in place), a line every few seconds otherwise."""

    def __init__(self, stream=sys.stderr, every: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        self.stream, self.every, self.last = stream, every, -1e9
        self.tty = stream.isatty()

    def __call__(self, p) -> None:  # type: ignore[no-untyped-def]
        line = (f"[{p.elapsed:5.1f}s] sources {p.done}/{p.sources} done · {p.pages} pages · "
                f"{p.extracted} mentions read · {p.stored} stored · {p.dropped} dropped")
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
            self.stream.flush()
        elif p.elapsed - self.last >= self.every or p.done == p.sources:
            self.stream.write(line + "\n")
            self.last = p.elapsed

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


EXIT_OK = 0
EXIT_FAILED = 1
"""At least one source failed: its crawl did not start, crashed, read no page, was killed."""
EXIT_USAGE = 2
"""Invalid configuration or command line: nothing was crawled."""
EXIT_PARTIAL = 3
"""No source failed, but at least one was partial (some pages or writes failed)."""
EXIT_INTERRUPTED = 130
"""The crawl was interrupted (SIGINT/SIGTERM), as shells report 128 + SIGINT."""


CRAWL_EXIT_CODES = """exit codes:
  0    every source finished cleanly
  1    at least one source failed (did not start, crashed, read no page, was killed)
  2    invalid configuration or command line: nothing crawled
  3    none failed, but at least one source was partial (some pages or writes failed)
  130  interrupted"""


def crawl_exit_code(outcomes: Sequence[str]) -> int:
    """The exit code of ``vocwatch crawl`` for its sources' outcomes: 0 only when every one
    finished cleanly; any outcome other than ``finished``, ``partial`` and ``interrupted``
    (``failed``, ``killed``, one added later) counts as a failure."""
    if "interrupted" in outcomes:
        return EXIT_INTERRUPTED
    if any(o not in ("finished", "partial") for o in outcomes):
        return EXIT_FAILED
    return EXIT_PARTIAL if "partial" in outcomes else EXIT_OK


def _print_results(results) -> None:  # type: ignore[no-untyped-def]
    width = max((len(r.source_id) for r in results), default=10)
    print(f"\n{'source':<{width}}  {'outcome':<11} {'pages':>5} {'stored':>6}  dropped (reason: count)")
    for r in results:
        stats = r.run.stats if r.run else {}
        stored = stats.get("vocwatch/store/inserted", 0) + stats.get("vocwatch/store/updated", 0)
        drops = _counts(r.drops) or "-"
        if r.error:
            drops = f"error: {r.error}"
        print(f"{r.source_id:<{width}}  {r.outcome:<11} {stats.get('vocwatch/pages/read', 0):>5} {stored:>6}  {drops}")
    _print_problems(results)


def _print_problems(results) -> None:  # type: ignore[no-untyped-def]
    """One line per source that did not finish cleanly: its outcome and why."""
    bad = [r for r in results if r.outcome != "finished"]
    if not bad:
        return
    print(f"\n{len(bad)} of {len(results)} source(s) did not finish cleanly:")
    for r in bad:
        print(f"  {r.outcome} {r.source_id}: {r.why or 'no reason recorded'}")


def _crawl(config: Config, source_ids: Sequence[str] | None, log_level: str, quiet: bool = False,  # type: ignore[no-untyped-def]
           job: str | None = None, extra_settings: dict[str, str] | None = None):
    from crawlers.runner import crawl_sources

    check_ids("--source", source_ids or [], list(config.sources), "a configured source id")
    sources = [config.sources[s] for s in source_ids] if source_ids else None
    printer = None if quiet else _ProgressPrinter()
    settings: dict[str, object] = {"LOG_LEVEL": log_level, **(extra_settings or {})}
    if config.distributed.enabled:  # every source on its shared Redis queue
        from crawlers.distributed.crawl import crawl_settings

        settings.update(crawl_settings(config.distributed, job_id=job, worker_id=os.environ.get("VOCWATCH_WORKER_ID")))
    elif job:
        raise ConfigError(config.path, "distributed", "--job needs [distributed] redis_url or VOCWATCH_REDIS_URL")
    results = crawl_sources(config, sources, settings=settings, on_progress=printer)
    if printer:
        printer.close()
    return results


def _crawl_health(config: Config, results) -> None:  # type: ignore[no-untyped-def]
    """After a crawl: print the crawl-health findings of its runs and deliver them as
    ``crawl_health`` alerts through the routes (``monitor.alerting.notify_health``)."""
    from crawlers.store import open_store
    from monitor.alerting import AlertStoreError, notify_health

    run_ids = [r.run.id for r in results if r.run]
    store = open_store(config.store_url)
    try:
        findings = [f for rid in run_ids for f in store.list_health(run_id=rid)]
        for f in findings:
            print(f"health [{f.severity}] {f.message}")
        if findings:
            try:
                _, sent = notify_health(config, store, run_ids, now=datetime.now(UTC))
            except (AlertStoreError, ConfigError) as exc:
                print(f"vocwatch crawl: crawl-health alerts not delivered: {exc}", file=sys.stderr)
                return
            for r in sent:
                print(f"health alert {r.alert_id} v{r.version} -> {r.channel}: {r.status}"
                      + (f" ({r.error})" if r.error else ""), file=sys.stderr)
    finally:
        store.close()


def scrapy_settings(pairs: Sequence[str]) -> dict[str, str]:
    """``-s NAME=VALUE`` pairs as Scrapy takes them (values stay text; Scrapy's getters convert)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            hint = " (the source is --source ID)" if not sep else ""
            raise argparse.ArgumentTypeError(f"bad -s {pair!r}: use NAME=VALUE, a Scrapy setting{hint}")
        out[name.strip()] = value
    return out


def cmd_crawl(args: argparse.Namespace) -> int:
    config = _load(args)
    if args.job and len(args.source or []) != 1:
        raise argparse.ArgumentTypeError("--job crawls exactly one --source")
    extra = scrapy_settings(args.settings)
    results = _crawl(config, args.source, args.log_level, args.quiet, job=args.job, extra_settings=extra)
    _print_results(results)
    if args.job and all(r.outcome == "running" for r in results):
        return EXIT_OK  # this worker left the job's run to the others still on it
    _crawl_health(config, results)
    return crawl_exit_code([r.outcome for r in results])


def cmd_worker(args: argparse.Namespace) -> int:
    from crawlers.distributed.worker import Worker

    config = _load(args)
    if not config.distributed.enabled:
        raise ConfigError(config.path, "distributed", "vocwatch worker needs [distributed] redis_url "
                          "or VOCWATCH_REDIS_URL")
    worker = Worker(config, processes=args.processes, once=args.once, exit_when_idle=args.exit_when_idle,
                    log_level=args.log_level)
    return worker.run()


def cmd_benchmark(args: argparse.Namespace) -> int:
    from crawlers.store import open_store
    from monitor import benchmark_report as views
    from monitor.metrics import benchmark, parse_window, trends

    config = _load(args)
    try:
        parse_window(args.window)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    now = _benchmark_end(args.until)
    own = sorted(config.own_locations(), key=lambda loc: (loc.region, loc.category, loc.id))
    if args.location:
        for lid in _ids(args.location):
            if lid in config.locations and not config.locations[lid].is_own:
                raise argparse.ArgumentTypeError(f"--location {lid!r} is a competitor location; benchmarks are "
                                                 f"for own locations: {', '.join(loc.id for loc in own[:12])}")
        wanted = check_ids("--location", _ids(args.location), [loc.id for loc in own], "an own location id")
        own = [config.locations[lid] for lid in wanted]
    elif args.brand or args.region:
        field, value = ("brand", args.brand) if args.brand else ("region", args.region)
        own = [loc for loc in own if getattr(loc, field) == value]
        if not own:
            known = sorted({getattr(loc, field) for loc in config.own_locations()})
            raise argparse.ArgumentTypeError(f"no own locations with {field} {value!r}; known: {', '.join(known)}")
    ids = [loc.id for loc in own]
    store = open_store(config.store_url)
    try:
        results = benchmark(config, store, location_ids=ids, window=args.window, now=now)
        if args.format == "html":
            text = views.to_html(results, trends(config, store, ids, window="365d", now=now),
                                 title=f"vocwatch benchmark, last {args.window}")
        else:
            text = {"table": views.format_table, "json": views.to_json, "csv": views.to_csv}[args.format](results)
    finally:
        store.close()
    if results and views.is_empty(results):
        print(f"vocwatch benchmark: no mentions in the window ({args.window} up to {now:%Y-%m-%d %H:%M} UTC)",
              file=sys.stderr)
    if args.out and args.out != "-":
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"vocwatch benchmark: {len(results)} location(s) written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _benchmark_end(until: str | None) -> datetime:
    """The end of the benchmark window: now, or 00:00 UTC of the given day (exclusive, as
    ``--until`` is in every command: ``--until 2026-04-01`` covers March 31 whole)."""
    now = datetime.now(UTC)
    if not until:
        return now
    try:
        day = datetime.strptime(until, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --until {until!r}: use a date YYYY-MM-DD") from None
    if day.date() > now.date() + timedelta(days=1):
        raise argparse.ArgumentTypeError(f"bad --until {until!r}: it is in the future (today is {now:%Y-%m-%d} UTC; "
                                         "--until is exclusive, so tomorrow's date includes today)")
    return min(now, day)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in counts.items())


def _run_record(run) -> dict:  # type: ignore[no-untyped-def]
    """One crawl run as plain data: what ``vocwatch runs`` prints and ``--json`` emits."""
    from crawlers.stale import RUN_ERROR
    from crawlers.stats import balance, item_drops, page_drops, warnings

    stats, b = run.stats, balance(run.stats)
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id, "source": run.source_id, "spider": run.spider,
        "started_at": run.started_at.isoformat(), "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "took_seconds": round(took, 1) if took is not None else None, "outcome": run.outcome,
        "pages": stats.get("vocwatch/pages/read", 0), "read": b.read, "stored": b.inserted, "updated": b.updated,
        "unchanged": b.unchanged, "dropped": b.dropped, "drops": item_drops(stats), "page_drops": page_drops(stats),
        "warnings": warnings(stats),
        "balance": None if run.outcome == "running" else
        {"read": b.read, "accounted": b.accounted, "unaccounted": b.unaccounted, "closes": b.closes},
        "error": stats.get(RUN_ERROR),
    }


RUNS_HEADER = (f"{'run':<6} {'started (UTC)':<19} {'took':>7}  {'outcome':<11} {'source':<36} "
               f"{'pages':>5} {'read':>5} {'stored':>6} {'updated':>7} {'unchanged':>9} {'dropped':>7}  balance")


def _run_line(r: dict) -> str:
    took = f"{r['took_seconds']:.1f}s" if r["took_seconds"] is not None else "-"
    bal = r["balance"]
    check = "-" if bal is None else "ok" if bal["closes"] else f"OFF by {bal['unaccounted']}"
    return (f"#{r['id']:<5} {r['started_at'][:19].replace('T', ' '):<19} {took:>7}  {r['outcome']:<11} {r['source']:<36} "
            f"{r['pages']:>5} {r['read']:>5} {r['stored']:>6} {r['updated']:>7} {r['unchanged']:>9} {r['dropped']:>7}  {check}")


def _run_details(r: dict) -> list[str]:
    """The lines printed under a run: drops by reason, warnings, a balance that does not close."""
    lines = []
    if r["error"]:
        lines.append(f"error: {r['error']}")
    if r["drops"]:
        lines.append(f"dropped: {_counts(r['drops'])}")
    if r["page_drops"]:
        lines.append(f"pages dropped: {_counts(r['page_drops'])}")
    if r["warnings"]:
        lines.append(f"warnings: {_counts(r['warnings'])}")
    bal = r["balance"]
    if bal is not None and not bal["closes"]:
        lines.append(f"does not balance: read {bal['read']} but stored + updated + unchanged + dropped = "
                     f"{bal['accounted']} ({bal['unaccounted']} unaccounted)")
    lines += [f"health [{f['severity']}] {f['problem']}: {f['message']}" for f in r.get("health", ())]
    return lines


def cmd_login(args: argparse.Namespace) -> int:
    from vocwatch.login import LoginOptions, main_login

    return main_login(LoginOptions(
        site=args.site, account=args.account, url=args.url or "", done_when=args.done_when or "",
        headless=args.headless, qr_terminal=args.qr_terminal, timeout=args.timeout,
        screenshot=Path(args.screenshot) if args.screenshot else None,
        chromium=args.chromium_path, qr_selector=args.qr_selector or ""))


def cmd_runs(args: argparse.Namespace) -> int:
    import json

    from crawlers.store import open_store

    config = _load(args)
    if args.source:
        check_ids("--source", [args.source], list(config.sources), "a configured source id")
    store = open_store(config.store_url)
    try:
        records = [_run_record(run) for run in store.list_runs(source_id=args.source, limit=args.limit)]
        for r in records:
            r["health"] = _run_health(store, r["id"])
    finally:
        store.close()
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return 0
    if not records:
        print("no crawl runs" + (f" of {args.source}" if args.source else ""))
        return 0
    print(RUNS_HEADER)
    for r in records:
        print(_run_line(r))
        for line in _run_details(r):
            print("       " + line)
    return 0


def cmd_store(args: argparse.Namespace) -> int:
    from crawlers.store import open_store
    from spiders.scopes import scope_of_stored

    config = _load(args)
    store = open_store(config.store_url)
    try:
        r = store.migrate_ids(scope_of_stored(config), dry_run=args.dry_run)
    finally:
        store.close()
    verb = "would re-key" if args.dry_run else "re-keyed"
    print(f"{r.checked} stored mentions with a site id: {verb} {r.rekeyed}, merged {r.merged} duplicates, "
          f"{r.unchanged} unchanged, {r.unknown_source} left as they are (source not in {config.path})")
    return 0


def _run_health(store, run_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    """The crawl-health findings of one run, as plain data (``vocwatch runs`` prints them under the run)."""
    return [{"severity": f.severity, "problem": f.problem, "message": f.message}
            for f in store.list_health(run_id=run_id)]


def cmd_health(args: argparse.Namespace) -> int:
    """``vocwatch health``: each source's latest checked runs and their crawl-health findings.
    Exit 1 when a listed source's latest run has a critical finding."""
    from crawlers.store import open_store
    from monitor.health import latest

    config = _load(args)
    if args.source:
        check_ids("--source", [args.source], list(config.sources), "a configured source id")
    if args.limit < 1:
        raise argparse.ArgumentTypeError(f"--limit must be at least 1, got {args.limit}")
    ids = [args.source] if args.source else list(config.sources)
    store = open_store(config.store_url)
    try:
        per_source = latest(store, ids, args.limit)
    finally:
        store.close()
    critical = False
    width = max((len(i) for i in ids), default=10)
    print(f"{'source':<{width}}  {'run':<7} {'finished':<17}  {'severity':<8}  problem: what changed")
    for sid in ids:
        runs = per_source[sid]
        if not runs:
            print(f"{sid:<{width}}  {'-':<7} {'-':<17}  {'-':<8}  no finished or partial run yet")
            continue
        for i, (run, findings) in enumerate(runs):
            at = f"{run.finished_at:%Y-%m-%d %H:%M}Z" if run.finished_at else "-"
            head = f"{sid:<{width}}  #{run.id:<6} {at:<17}"
            if not findings:
                print(f"{head}  {'ok':<8}  -")
            for f in findings:
                print(f"{head}  {f.severity:<8}  {f.problem}: {f.message}")
                critical |= i == 0 and f.severity == "critical"
    return 1 if critical else 0


def cmd_sessions(args: argparse.Namespace) -> int:
    """``vocwatch sessions status``: per configured ``[sessions.<site>]``, each account found
    in the environment / ``$VOCWATCH_SECRETS_DIR`` with its state in the store (``ok``,
    ``cooling`` until when, ``expired``), why, and where it was read from; accounts the store
    remembers but no longer present are listed as ``gone``. Names only: no secret is printed.
    Exit 1 when a site that is ``required`` has no usable account."""
    from crawlers.sessions import load_accounts
    from crawlers.store import open_store

    config = _load(args)
    sites = [args.site] if args.site else sorted(config.sessions)
    if args.site and args.site not in config.sessions:
        raise argparse.ArgumentTypeError(f"no [sessions.{args.site}] in {config.path}; configured: "
                                         f"{', '.join(sorted(config.sessions)) or 'none'}")
    store = open_store(config.store_url)
    now = datetime.now(UTC)
    bad = False
    try:
        print(f"{'site':<12} {'account':<16} {'state':<8} {'until (UTC)':<17} {'reason':<12} from")
        for site in sites:
            accounts = {a.name: a for a in load_accounts(site)}
            states = {s.name: s for s in store.identities.list(kind="account", site=site)}
            usable = 0
            for name in sorted(set(accounts) | set(states)):
                st = states.get(name)
                state = "ok" if st is None or st.usable(now) else st.state  # a cool-down that is over: ok
                if name not in accounts:
                    state = "gone"
                usable += state == "ok"
                until = f"{st.until:%Y-%m-%d %H:%M}" if st and st.until and state == "cooling" else "-"
                reason = (st.reason if st and state != "ok" else "") or "-"
                origin = accounts[name].origin if name in accounts else "-"
                print(f"{site:<12} {name:<16} {state:<8} {until:<17} {reason:<12} {origin}")
            if not accounts and not states:
                print(f"{site:<12} {'-':<16} {'none':<8} {'-':<17} {'-':<12} no account found")
            bad |= config.sessions[site].required and usable == 0
    finally:
        store.close()
    return 1 if bad else 0


def cmd_check(args: argparse.Namespace) -> int:
    from config.redact import mask_url
    from monitor.alerting import unrouted

    config = _load(args)
    pool = ""
    if config.crawl.proxies != "none":  # read now, so a missing variable or a world-readable file fails here
        from crawlers.proxies import load_proxies

        pool = (f"; proxy pool ({config.crawl.proxies}, {config.crawl.proxy_rotation}): "
                + ", ".join(f"{p.name}={p.address}" for p in load_proxies(config)))
    print(f"{config.path}: OK — {len(config.brands)} brands, {len(config.locations)} locations "
          f"({len(config.own_locations())} own), {len(config.sources)} sources, {len(config.channels)} alert channels, "
          f"{len(config.routes)} routes; store {mask_url(config.store_url)}{pool}")
    _warn_unrouted(unrouted(config, "critical"))
    _warn_empty_sets(config)
    if config.sessions:  # the secrets are read (and their permissions checked) as a crawl would
        from crawlers.sessions import load_accounts

        for site in sorted(config.sessions):
            n = len(load_accounts(site))
            print(f"  sessions.{site}: {n} account(s)" + ("" if n else " — none found (required)"
                                                           if config.sessions[site].required else " — none found"))
    return 0


def _warn_empty_sets(config: Config, shown: int = 10) -> None:
    """A warning per own location whose competitive set comes out empty (a radius that
    catches no rival, a category nobody else has): its benchmark would compare with nothing."""
    from monitor.compset import competitive_sets

    own = [loc.id for loc in config.own_locations()]
    empty = [lid for lid, members in competitive_sets(config, own).items()
             if not members and config.locations[lid].competitors]  # a set asked for, found empty
    for lid in empty[:shown]:
        loc = config.locations[lid]
        rule = loc.competitors
        how = f"radius {rule.radius_km:g} km" if getattr(rule, "radius_km", None) else "its competitor list"
        print(f"vocwatch check: warning: {lid}: the competitive set is empty ({how} catches no competitor "
              f"location of category {loc.category!r}); its benchmark compares with nothing", file=sys.stderr)
    if len(empty) > shown:
        print(f"vocwatch check: warning: {len(empty) - shown} more own locations with an empty competitive set",
              file=sys.stderr)


def _warn_unrouted(gaps: list[tuple[str, tuple[str, ...]]], shown: int = 10) -> None:
    """One stderr line per set of kinds that no route delivers when critical, naming the
    locations (``brand:ID`` for brand-wide alerts) it applies to. A warning, not an error:
    a config may be checked before its routes are written."""
    by_kinds: dict[tuple[str, ...], list[str]] = {}
    for scope, kinds in gaps:
        by_kinds.setdefault(kinds, []).append(scope)
    for kinds, scopes in by_kinds.items():
        names = ", ".join(scopes[:shown]) + (f" and {len(scopes) - shown} more" if len(scopes) > shown else "")
        print(f"vocwatch check: warning: a critical {'/'.join(kinds)} alert would reach nobody (no route to a "
              f"channel) for {names}", file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    from config.redact import mask_url
    from crawlers.store import open_store
    from monitor.benchmark_report import format_table
    from monitor.metrics import benchmark
    from vocwatch.sandbox import Sandbox

    with Sandbox() as sandbox:
        os.environ["VOCWATCH_SANDBOX"] = sandbox.base_url
        config = _load(args, DEMO_CONFIG)
        print(f"vocwatch demo: sandbox sites at {sandbox.base_url}, store {mask_url(config.store_url)}",
              file=sys.stderr)
        print(f"crawling {len(config.sources)} sources for {len(config.locations)} locations ...", file=sys.stderr)
        results = _crawl(config, None, args.log_level)
    _print_results(results)
    store = open_store(config.store_url)
    try:
        print(f"\nStored mentions: {store.count_mentions()}\n")
        print(format_table(benchmark(config, store, window=DEMO_WINDOW)), end="")
    finally:
        store.close()
    print(f"\nThe store is kept at {mask_url(config.store_url)}; try: vocwatch benchmark -c {DEMO_CONFIG} "
          f"--store {mask_url(config.store_url)} --window {DEMO_WINDOW} [--format html --out report.html]")
    # not crawl_exit_code: the sandbox serves a cut-off page on purpose, so one source is
    # always partial (and says why above); the demo fails only when a source failed
    return 0 if all(r.outcome in ("finished", "partial") for r in results) else 1


def cmd_reanalyze(args: argparse.Namespace) -> int:
    from crawlers.reanalyze import reanalyze
    from crawlers.store import open_store

    config = _load(args)
    store = open_store(config.store_url)
    try:
        r = reanalyze(config, store, everything=args.all)
    finally:
        store.close()
    print(f"vocwatch reanalyze: {r.examined} mentions examined, {r.reanalyzed} re-labelled, "
          f"{r.current} already current, in {r.seconds:.1f} s")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from nlp.jsonl import analyze_jsonl

    def warn(message: str) -> None:
        print(f"vocwatch analyze: {args.input}: {message}", file=sys.stderr)

    try:
        src = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        print(f"vocwatch analyze: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2
    with src, (sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")) as dst:
        report = analyze_jsonl(src, dst, domain=args.domain, warn=warn)
    print(f"vocwatch analyze: {report.analyzed} analysed, {report.skipped} skipped", file=sys.stderr)
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    import time

    from vocwatch.sandbox import Sandbox

    with Sandbox(port=args.port) as sandbox:
        print(f"sandbox sites at {sandbox.base_url} (Ctrl-C to stop); "
              f"export VOCWATCH_SANDBOX={sandbox.base_url} to crawl them with config/demo/vocwatch.toml")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


SCRAPY_SETTINGS = "config.settings"


def cmd_scrapy(args: argparse.Namespace) -> int:
    """``vocwatch scrapy ARGS``: ``scrapy ARGS`` with vocwatch's settings module as the
    project (``SCRAPY_SETTINGS_MODULE``), so ``crawl``, ``list`` and ``check`` work in any
    folder, a ``vocwatch.toml`` beside you or named by ``-a config=`` / ``$VOCWATCH_CONFIG``."""
    from scrapy.cmdline import execute

    os.environ["SCRAPY_SETTINGS_MODULE"] = SCRAPY_SETTINGS
    try:
        execute(["scrapy", *args.scrapy_args])
    except SystemExit as exc:  # scrapy's execute always ends in sys.exit
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def cmd_export_trends(args: argparse.Namespace) -> int:
    from crawlers.store import open_store
    from monitor.export import ExportError, export_trends, format_for, parse_day, trend_query

    try:
        config = _load(args)
        fmt = format_for(args.out, {"jsonl": "json"}.get(args.format, args.format))
        query = trend_query(args.by, [g.strip() for gs in args.group or [] for g in gs.split(",") if g.strip()],
                            since=parse_day(args.since) if args.since else None,
                            until=parse_day(args.until) if args.until else None,
                            location_ids=_ids(args.location) or None, known_locations=config.locations)
        store = open_store(config.store_url)
        try:
            with _output_file(args.out, fmt) as out:
                result = export_trends(store, query, out, fmt, locations=config.locations)
        finally:
            store.close()
    except ExportError as exc:
        print(f"vocwatch export: {exc}", file=sys.stderr)
        return 2
    where = "standard output" if args.out == "-" else result.path
    print(f"vocwatch export: {result.rows} rows -> {where} ({result.format})", file=sys.stderr)
    return 0


def cmd_export_mentions(args: argparse.Namespace) -> int:
    from crawlers.store import open_store
    from monitor.export import ExportError, export_mentions, format_for, mention_query, parse_day
    from monitor.metrics import parse_window

    try:
        config = _load(args)
        if args.out != "-":
            format_for(args.out, args.format)  # a bad format or suffix is refused before the store is opened
        since = parse_day(args.since) if args.since else None
        until = parse_day(args.until) if args.until else None
        if args.window:
            if since is not None:
                raise ExportError("give --window or --since, not both (--until may end the window)")
            try:
                width = parse_window(args.window)
            except ValueError as exc:
                raise ExportError(str(exc)) from None
            until = until or datetime.now(UTC)
            since = until - width
        lids = check_ids("--location", _ids(args.location), list(config.locations), "a configured location")
        sources = check_ids("--source", _ids(args.source), list(config.sources), "a configured source")
        query = mention_query(location_ids=lids, since=since, until=until,
                              sources=sources, sites=_ids(args.site),
                              sentiments=_ids(args.sentiment), languages=_ids(args.language),
                              aspect=args.aspect, aspect_sentiment=args.aspect_sentiment,
                              min_rating=args.min_rating, max_rating=args.max_rating,
                              has_reply=None if args.replied is None else args.replied == "yes",
                              known_locations=config.locations)
        store = open_store(config.store_url)
        try:
            result = export_mentions(store, query, args.out, args.format, locations=config.locations)
        finally:
            store.close()
    except ExportError as exc:
        print(f"vocwatch export: {exc}", file=sys.stderr)
        return 2
    where = "standard output" if args.out == "-" else str(result.path)
    print(f"vocwatch export: {result.rows} mentions -> {where} ({result.format})", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _output_file(out: str, fmt: str) -> Iterator[str]:
    """``out``, or for ``-`` a temporary file copied to standard output when the export is
    complete (parquet and xlsx need a seekable file; a failed export writes nothing)."""
    if out != "-":
        yield out
        return
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vocwatch-export-") as tmp:
        path = str(Path(tmp) / f"export.{fmt}")
        yield path
        with open(path, "rb") as f:
            shutil.copyfileobj(f, sys.stdout.buffer)
        sys.stdout.buffer.flush()


def cmd_synth(args: argparse.Namespace) -> int:
    from vocwatch.synth import generate

    try:
        r = generate(args.out, locations=args.locations, mentions=args.mentions, seed=args.seed, days=args.days)
    except ValueError as exc:
        print(f"vocwatch synth: {exc}", file=sys.stderr)
        return 2
    print(f"vocwatch synth: {r.mentions:,} mentions for {r.locations:,} locations in {r.seconds:.1f} s: "
          f"{r.config}, {r.db}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    results: dict[str, object] = {}
    if args.what in ("nlp", "all"):
        from vocwatch.bench import nlp

        shared = Path(args.shared)
        results["nlp"] = res = nlp.run(shared, baselines=not args.no_baselines)
        print(nlp.format_result(res, shared), flush=True)
    if args.what in ("crawl", "all"):
        from vocwatch.bench import crawl

        if args.what == "all":
            print()
        results["crawl"] = res = crawl.run(args.pages, args.chains, args.rounds, tuple(args.crawl_modes),
                                           say=lambda line: print(line, file=sys.stderr, flush=True))
        print(crawl.format_result(res))
    if args.what == "alerts":
        from vocwatch.bench import alerts

        results["alerts"] = alerts.run(locations=args.alert_locations, days=args.days, seed=args.alert_seed,
                                       directory=args.alert_dir)
    if args.what in ("metrics", "export", "export-mentions"):
        from vocwatch.bench import export, metrics

        synth = {"locations": args.locations, "mentions": args.mentions, "seed": args.seed}
        if args.what == "metrics":
            results["metrics"] = metrics.run(args.dir, window=args.window, growth=args.growth,
                                             growth_dir=args.growth_dir, rounds=args.rounds, **synth)
        elif args.what == "export":
            results["export"] = export.run(args.dir, formats=args.formats, **synth)
        else:
            results["export-mentions"] = export.run_mentions(args.dir, formats=args.formats, **synth)
    if args.what == "scale":
        from vocwatch.bench import scale

        results["scale"] = scale.run(args.scale_dir, locations=args.locations, sources=args.sources, seed=args.seed,
                                     mentions=args.scale_mentions, enqueue=args.enqueue, watch=args.watch)
    if args.what == "distributed":
        from vocwatch.bench import distributed

        return distributed.main([])
    if args.what == "faults":
        from vocwatch.bench import faults

        return faults.main([arg for o in args.only for arg in ("--only", o)])
    if args.what == "dates":
        from vocwatch.bench import dates

        results["dates"] = dates.run(args.dates, args.slow_dates)
    if args.what == "mutations":
        from vocwatch.bench import mutations

        try:
            tallies = mutations.run(args.shared, n=args.variants)
        except FileNotFoundError as exc:
            print(f"vocwatch bench mutations: {exc}", file=sys.stderr)
            return 2
        results["mutations"] = {name: vars(t) for name, t in tallies.items()}
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from crawlers.store import open_store
    from monitor.dashboard.auth import TokenFile, default_tokens_path
    from monitor.dashboard.server import Dashboard, make_server

    config = _load(args)
    tokens = TokenFile(default_tokens_path(config.store_url, config.path.parent))
    if not tokens.records():
        print(f"vocwatch serve: no tokens in {tokens.path}; create one with: vocwatch token create --scope ...",
              file=sys.stderr)
    store = open_store(config.store_url)
    try:
        server = make_server(Dashboard(config, store, tokens, secure_cookies=args.secure_cookies), args.host, args.port)
    except OSError as exc:
        store.close()
        print(f"vocwatch serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"vocwatch dashboard on http://{host}:{port}/ (tokens: {tokens.path}; Ctrl-C to stop)", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from monitor.dashboard.auth import Scope, ScopeError, TokenFile, default_tokens_path

    config = _load(args)
    tokens = TokenFile(default_tokens_path(config.store_url, config.path.parent))
    if args.token_command == "list":
        records = tokens.records()
        if records:
            print(f"{'id':<8}  {'created (UTC)':<20}  {'scope':<32} label")
        for r in records:
            print(f"{r.id:<8}  {r.created_at:<20}  {r.scope:<32} {r.label}")
        print(f"{len(records)} token(s) in {tokens.path}", file=sys.stderr)
        return 0
    if args.token_command == "revoke":
        if not tokens.revoke(args.id):
            raise argparse.ArgumentTypeError(f"no token with id {args.id!r} in {tokens.path} (see: vocwatch token list)")
        print(f"vocwatch token: revoked {args.id}", file=sys.stderr)
        return 0
    try:
        scope = Scope.parse(args.scope)
        scope.validate(config)
    except ScopeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    token, record = tokens.create(scope, args.label or "")
    print(token)
    print(f"vocwatch token: created {record.id} for {record.scope} in {tokens.path}; "
          "the token is shown only this once", file=sys.stderr)
    return 0


def _alerts_test(config: Config, channel_id: str) -> int:
    """``vocwatch alerts test CHANNEL``: a sample alert with hostile text through one channel."""
    from monitor.delivery import sample_alert, send_test

    alert = sample_alert(config, datetime.now(UTC))
    result = send_test(config, channel_id, alert)
    channel = config.channels[channel_id]
    if result.error:
        print(f"vocwatch alerts test: {channel_id}: FAILED after {result.seconds:.3f} s: {result.error}",
              file=sys.stderr)
        return 1
    print(f"vocwatch alerts test: {channel_id}: sent sample alert {alert.id} ({channel.format}) "
          f"in {result.seconds:.3f} s")
    return 0


def cmd_schedule(args: argparse.Namespace) -> int:
    import signal
    import threading

    from crawlers.distributed import RedisUnavailable
    from crawlers.store import open_store
    from monitor.scheduler import CrawlScheduler, last_runs, plan, upcoming

    config = _load(args)
    if args.schedule_command == "status":
        return _schedule_status(config)
    if args.schedule_command == "run":
        logging.getLogger().setLevel(args.log_level)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            scheduler = CrawlScheduler(config)
        except RedisUnavailable as exc:
            print(f"vocwatch schedule run: {exc}", file=sys.stderr)
            return 1
        scheduler.start()
        stop.wait()
        scheduler.stop()
        return 0
    store = open_store(config.store_url)
    try:
        jobs = plan(config, store.schedule_state, datetime.now(UTC))
        runs = last_runs(store, [j.source.id for j in jobs]) if args.schedule_command == "list" else {}
    finally:
        store.close()
    tz = ZoneInfo(config.crawl.timezone)
    zone = config.crawl.timezone  # one zone per listing, the config's, named in the header
    if args.schedule_command == "next":
        print(f"{'when (' + zone + ')':<20} {'source':<36} location")
        for when, job in upcoming(jobs, args.n):
            print(f"{when.astimezone(tz):%Y-%m-%d %H:%M:%S}  {job.source.id:<36} {job.source.location}")
        return 0
    print(f"times in {zone}")
    print(f"{'source':<36} {'location':<24} {'trigger':<24} {'next run':<20} last outcome")
    for job in jobs:
        run = runs[job.source.id]
        last = f"{run.outcome} {run.started_at.astimezone(tz):%Y-%m-%d %H:%M}" if run else "never crawled"
        trigger = job.schedule + (" (default)" if job.is_default else "")
        print(f"{job.source.id:<36} {job.source.location:<24} {trigger:<24} "
              f"{job.next_run.astimezone(tz):%Y-%m-%d %H:%M:%S}  {last}")
    return 0


def _schedule_status(config: Config) -> int:
    """``schedule status``: who leads (holder, fence, TTL left) and the job queue's counts."""
    from crawlers.distributed import RedisUnavailable, redis_client
    from crawlers.distributed.jobs import JobQueue
    from crawlers.distributed.leader import LeaderLock

    if not config.distributed.enabled:
        print("[distributed] is off: `schedule run` spawns its crawls on this machine, no leader lock")
        return 0
    try:
        redis = redis_client(config.distributed)
    except RedisUnavailable as exc:
        print(f"vocwatch schedule status: {exc}", file=sys.stderr)
        return 1
    try:
        lock = LeaderLock(redis, config.distributed, holder="status")
        info = lock.status()
        counts = JobQueue(redis, config.distributed).counts()
        last = lock.last_fence()
    finally:
        redis.close()
    if info:
        print(f"leader: {info.holder}  fence {info.fence}  lock expires in {info.ttl_seconds:.1f} s "
              "unless renewed")
    else:
        print(f"leader: none (the last fence handed out was {last}); a standing-by scheduler takes "
              f"over within {config.distributed.leader_ttl_seconds / 3:.1f} s")
    print("jobs: " + "  ".join(f"{state} {n}" for state, n in counts.items()))
    return 0


def _parse_now(text: str | None) -> datetime:
    """``--now``: an ISO datetime (UTC when it has no offset), default the clock."""
    if not text:
        return datetime.now(UTC)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --now {text!r}: use an ISO datetime like 2026-11-30T12:00") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


ALERTS_HEADER = f"{'id':<16}  {'severity':<8} {'state':<12} {'kind':<14} {'last seen (UTC)':<17}  title"


def _alert_lines(alerts, nobody: dict[str, str] | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    nobody = nobody or {}
    return [f"{a.id:<16}  {a.severity:<8} {a.state:<12} {a.kind:<14} {a.last_seen:%Y-%m-%d %H:%M}Z  {a.title}"
            + (f"  [reached nobody: {nobody[a.id]}]" if a.id in nobody else "") for a in alerts]


def _warn_undelivered(found, results) -> None:  # type: ignore[no-untyped-def]
    """A line on stderr for each critical alert of this check that no channel has: routed to
    nobody (an error in the routes), or every send failed or waits (retried later)."""
    for a in found:
        if a.severity != "critical":
            continue
        mine = [r for r in results if r.alert_id == a.id and r.version == a.version]
        if any(r.status in ("sent", "duplicate") for r in mine):
            continue
        if not mine:  # not asked to deliver (--no-notify)
            continue
        unrouted = next((r for r in mine if r.status == "unrouted"), None)
        if unrouted:
            print(f"vocwatch alerts: warning: critical alert {a.id} v{a.version} was delivered to nobody: "
                  f"{unrouted.error}; add a [[routes]] entry that matches it", file=sys.stderr)
        else:
            print(f"vocwatch alerts: warning: critical alert {a.id} v{a.version} has reached nobody yet: "
                  + ", ".join(f"{r.channel} {r.status}" for r in mine) + " (retried by the next check)",
                  file=sys.stderr)


def cmd_alerts(args: argparse.Namespace) -> int:
    import json

    from crawlers.store import open_store
    from monitor.alerting import AlertStoreError, check_and_notify, run_detectors

    config = _load(args)
    if args.alerts_command == "test":
        return _alerts_test(config, args.channel)
    try:
        if args.alerts_command == "check":
            store = open_store(config.store_url)
            try:
                now = _parse_now(args.now)
                if args.no_notify:
                    found, results = run_detectors(config, store, now=now), []
                else:
                    found, results = check_and_notify(config, store, now=now)
            finally:
                store.close()
            for a in found:
                print(f"[{a.severity}] {a.title}  (id {a.id}, version {a.version})\n  " + a.summary.replace("\n", "\n  "))
            for r in results:
                print(f"delivery: {r.alert_id} v{r.version} -> {r.channel}: {r.status}"
                      + (f" ({r.error})" if r.error else ""), file=sys.stderr)
            print(f"vocwatch alerts: {len(found)} new or updated alert(s)", file=sys.stderr)
            _warn_undelivered(found, results)
            return 0
        store = open_store(config.store_url)
        try:
            if args.alerts_command == "list":
                from crawlers.store import open_store
                from monitor.delivery import unrouted_alerts

                lids = check_ids("--location", _ids(args.location), list(config.locations), "a location id")
                rows = [a for lid in (lids or [None]) for a in store.alerts.list(state=args.state, location_id=lid,
                                                                              limit=args.limit)]
                rows = sorted(rows, key=lambda a: a.last_seen, reverse=True)[:args.limit]
                nobody = unrouted_alerts(store, [a.id for a in rows])
                if args.format == "json":
                    print(json.dumps([a.to_dict() | {"reached_nobody": nobody.get(a.id)} for a in rows],
                                     ensure_ascii=False, indent=1))
                else:
                    print("\n".join([ALERTS_HEADER, *_alert_lines(rows, nobody)]) if rows else "no alerts")
                return 0
            from monitor.incidents import cli_actor, set_state

            state = {"ack": "acknowledged", "acknowledge": "acknowledged", "resolve": "resolved"}[args.alerts_command]
            # recorded in the audit log like the dashboard's writes: the incident's history and its
            # times to acknowledge / resolve are complete whoever acted
            alert, moved = set_state(store, args.id, state, actor=cli_actor(), now=_parse_now(args.now))
            print(f"vocwatch alerts: {alert.id} is {alert.state}" + ("" if moved else " (already)"), file=sys.stderr)
            return 0
        finally:
            store.close()
    except AlertStoreError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_parse(args: argparse.Namespace) -> int:
    """Print the mentions of one saved page as JSON lines: an adapter checked by eye or
    piped to ``jq``, no crawl and no store. With ``--save-fixture`` the page becomes a
    fixture folder instead; ``--check-fixtures`` / ``--freeze-fixtures`` work on those."""
    import json

    from spiders.pages.base import MalformedPage, Page
    from spiders.pages.registry import adapter, sites
    from vocwatch.fixtures import decode

    if args.check_fixtures is not None or args.freeze_fixtures is not None:
        if args.file or args.site or args.selectors or args.save_fixture or (
                args.check_fixtures is not None and args.freeze_fixtures is not None):
            raise argparse.ArgumentTypeError("parse: --check-fixtures and --freeze-fixtures take a folder, "
                                             "no FILE, --site or --save-fixture, and not each other")
        if args.check_fixtures is not None:
            return _check_fixtures(Path(args.check_fixtures))
        return _freeze_fixtures(Path(args.freeze_fixtures), overwrite=args.overwrite)
    if not args.file or not (args.site or args.selectors):
        raise argparse.ArgumentTypeError("parse: give a FILE and --site or --selectors "
                                         "(or --check-fixtures / --freeze-fixtures [DIR])")
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"parse: cannot read {path}: {exc.strerror}") from None
    if args.save_fixture:
        return _save_fixture(args, path, raw)
    now = _parse_now(args.now)
    try:
        tz = ZoneInfo(args.tz or "Asia/Shanghai")
    except (ValueError, KeyError) as exc:
        raise argparse.ArgumentTypeError(f"parse: bad --tz: {exc}") from None
    if args.selectors:
        from config.selectors import load_selector_file
        from spiders.pages.selectors import SelectorPage

        spec = load_selector_file(args.selectors)

        def read(page: Page) -> list:  # type: ignore[type-arg]
            return SelectorPage(page, spec).mentions()
    else:
        try:
            read = adapter(args.site)
        except KeyError:
            print(f"vocwatch parse: unknown site {args.site!r}; known sites: {', '.join(sites())}", file=sys.stderr)
            return 2
    try:
        encoding, text = decode(raw, args.encoding)
    except LookupError:
        raise argparse.ArgumentTypeError(f"parse: --encoding {args.encoding!r} is no charset Python knows") from None
    page = Page(url=args.url or path.resolve().as_uri(), text=text, now=now, tz=tz)
    try:
        mentions = read(page)
    except MalformedPage as exc:
        print(f"vocwatch parse: {path}: malformed page: {exc}", file=sys.stderr)
        return 1
    for m in mentions:
        row = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in m.to_dict().items()}
        print(json.dumps(row, ensure_ascii=False))
    cut = sum(1 for m in mentions if m.truncated)
    snippets = f", {cut} of them snippets the page cut (truncated)" if cut else ""
    print(f"vocwatch parse: {len(mentions)} mentions from {path} (decoded as {encoding}{snippets})", file=sys.stderr)
    return 0


CHECK_REMINDER = ("check output.json against the page before you commit it: its values are what the adapter "
                  "read, and an expectation nobody checked only proves the adapter still does what it did")


def _save_fixture(args: argparse.Namespace, path: Path, raw: bytes) -> int:
    """``parse FILE --site S --save-fixture NAME``: input, meta.json (the frozen time, zone
    and charset, where the page came from) and output.json (the reading) in one folder."""
    from spiders.pages.base import MalformedPage
    from spiders.pages.registry import sites
    from vocwatch.fixtures import (
        FIXTURES_DIR,
        NAME_RE,
        Fixture,
        FixtureError,
        decode,
        summary,
        write_fixture,
    )

    if args.selectors:
        raise argparse.ArgumentTypeError("parse: --save-fixture reads the page with a site adapter (--site), "
                                         "not a selectors file")
    if args.site not in sites():
        print(f"vocwatch parse: unknown site {args.site!r}; known sites: {', '.join(sites())}", file=sys.stderr)
        return 2
    if not NAME_RE.fullmatch(args.save_fixture):
        raise argparse.ArgumentTypeError(f"parse: fixture name {args.save_fixture!r}: letters, digits, '.', '_' "
                                         "and '-', one folder name")
    missing = [opt for opt, value in (("--url", args.url), ("--now", args.now), ("--tz", args.tz)) if not value]
    if missing:
        raise argparse.ArgumentTypeError(
            f"parse: --save-fixture needs {', '.join(missing)}: a fixture freezes the page's real URL, the time "
            "it was fetched (relative dates like '3 hours ago' resolve against it; '--now now' takes the clock) "
            "and the site's zone")
    clock = args.now == "now"
    now = _parse_now(None if clock else args.now)
    try:
        ZoneInfo(args.tz)
    except (ValueError, KeyError) as exc:
        raise argparse.ArgumentTypeError(f"parse: bad --tz: {exc}") from None
    try:
        encoding, _ = decode(raw, args.encoding)
    except LookupError:
        raise argparse.ArgumentTypeError(f"parse: --encoding {args.encoding!r} is no charset Python knows") from None
    meta = {"site": args.site, "url": args.url, "now": now.isoformat().replace("+00:00", "Z"), "tz": args.tz,
            "encoding": encoding,
            "origin": {"repo": args.origin_repo, "path": args.origin_path, "commit": args.origin_commit,
                       "license": args.license},
            "notes": args.notes or ""}
    folder = Path(args.fixtures_dir or FIXTURES_DIR) / args.site / args.save_fixture
    ext = path.suffix.lstrip(".") or ("json" if raw.lstrip()[:1] in (b"{", b"[") else "html")
    try:
        data = write_fixture(folder, raw=raw, ext=ext, meta=meta, overwrite=args.overwrite)
    except FileExistsError as exc:
        print(f"vocwatch parse: {exc}", file=sys.stderr)
        return 1
    except FixtureError as exc:
        raise argparse.ArgumentTypeError(f"parse: {exc}") from None
    except MalformedPage as exc:
        print(f"vocwatch parse: {path}: malformed page, no fixture written: {exc}", file=sys.stderr)
        return 1
    fixture = Fixture(folder)
    print(f"vocwatch parse: wrote fixture {folder}/")
    print(f"  {fixture.input_path.name}: {len(raw)} bytes, as given")
    print(f"  meta.json: site {args.site}, url {args.url}, now {meta['now']}, tz {args.tz}, encoding {encoding}")
    print(f"  output.json: {summary(data)}")
    if clock:
        print(f"  now: no fetch time given, the fixture is frozen at the current time {meta['now']}")
    problems = fixture.meta_problems()
    if problems:
        print("  meta.json is incomplete, its fixture test fails until it is filled in: " + "; ".join(problems)
              + " (--origin-repo, --origin-path, --origin-commit, --license, --notes)")
    print(CHECK_REMINDER)
    return 0


def _check_fixtures(root: Path) -> int:
    """``parse --check-fixtures [DIR]``: every fixture under DIR read again and compared
    with its output.json, field by field, as ``tests/test_fixtures.py`` does."""
    from vocwatch.fixtures import discover, outcomes

    fixtures = discover(root)
    if not fixtures:
        print(f"vocwatch parse: no fixtures under {root}", file=sys.stderr)
        return 1
    cases = failed = 0
    for fixture in fixtures:
        results = outcomes(fixture)
        bad = {case: msg for case, msg in results.items() if msg}
        cases, failed = cases + len(results), failed + len(bad)
        print(f"{'ok  ' if not bad else 'FAIL'} {fixture.id}: {len(results) - len(bad)}/{len(results)} cases")
        for case, msg in bad.items():
            print(f"  {fixture.id}::{case}\n    " + msg.replace("\n", "\n    "))
    print(f"vocwatch parse: {len(fixtures)} fixtures, {cases} cases, {failed} failed"
          + ("; after a change you meant, regenerate with `vocwatch parse --freeze-fixtures DIR --overwrite` "
             "and check the diff" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def _freeze_fixtures(root: Path, *, overwrite: bool) -> int:
    """``parse --freeze-fixtures [DIR]``: output.json written for every fixture under DIR
    that has none (all of them with ``--overwrite``), a line each for the human to check."""
    from spiders.pages.base import MalformedPage
    from vocwatch.fixtures import FixtureError, discover, freeze, summary

    fixtures = discover(root)
    if not fixtures:
        print(f"vocwatch parse: no fixtures under {root}", file=sys.stderr)
        return 1
    errors = written = 0
    for fixture in fixtures:
        try:
            data = freeze(fixture, overwrite=overwrite)
        except (MalformedPage, FixtureError) as exc:
            errors += 1
            print(f"error {fixture.id}: {type(exc).__name__}: {exc}")
            continue
        if data is None:
            print(f"kept  {fixture.id}: has an output.json (--overwrite to rewrite it)")
            continue
        written += 1
        problems = fixture.meta_problems()
        print(f"wrote {fixture.id}: {summary(data)}"
              + (f"\n      meta.json incomplete: {'; '.join(problems)}" if problems else ""))
    print(f"vocwatch parse: {written} output.json written, {errors} fixtures unreadable", file=sys.stderr)
    if written:
        print(CHECK_REMINDER, file=sys.stderr)
    return 1 if errors else 0


# -- digests (issue 14, item 5): `vocwatch digest list|send` ---------------------------------
def cmd_digest(args: argparse.Namespace) -> int:
    """``digest list``: the configured digests and their next slot; ``digest send``: the
    digests of the latest slot at or before ``--now``, each channel at most once per slot
    (``--dry-run``: print the text version, send and record nothing)."""
    from crawlers.store import open_store
    from monitor.digest import latest_slot, period_at, render_text
    from monitor.digest_send import collect, deliver

    config = _load(args)
    if args.digest_command == "list":
        if not config.digests:
            print("no digests configured ([[digests]])")
            return 0
        now = _parse_now(getattr(args, "now", None))
        from monitor.scheduler import digest_trigger

        for d in config.digests:
            nxt = digest_trigger(d).get_next_fire_time(None, now)
            last = period_at(d, now)
            when = f"{d.every}" + (f" {d.day}" if d.every == "weekly" else "") + f" {d.hour:02d}:00 {d.timezone}"
            print(f"{d.name:<32} {d.scope:<28} {when:<30} -> {', '.join(d.channels)}  next "
                  f"{nxt.astimezone(ZoneInfo(d.timezone)):%Y-%m-%d %H:%M %Z}  last covered "
                  f"{last.start:%Y-%m-%d}..{last.end - timedelta(days=1):%Y-%m-%d} (slot {latest_slot(d, now):%Y-%m-%d %H:%M}Z)")
        return 0
    if not config.digests:
        raise argparse.ArgumentTypeError("no digests configured: add a [[digests]] entry (scope, channels)")
    names = check_ids("--name", _ids(args.name), [d.name for d in config.digests], "a configured digest")
    scopes = check_ids("--scope", _ids(args.scope), list(dict.fromkeys(d.scope for d in config.digests)),
                       "the scope of a configured digest")
    chosen = [d for d in config.digests if (not names or d.name in names) and (not scopes or d.scope in scopes)]
    now = _parse_now(args.now)
    failed = 0
    store = open_store(config.store_url)
    try:
        for d in chosen:
            digest = collect(config, store, d, now=now)
            if args.dry_run:
                print(render_text(digest))
                continue
            for r in deliver(config, store, digest, d.channels, now=now):
                failed += r.status == "failed"
                note = {"duplicate": " (already sent for this period)",
                        "pending": f" (retry due {r.next_attempt_at:%Y-%m-%d %H:%M}Z)" if r.next_attempt_at else "",
                        "rate_limited": f" (the channel's rate limit: at {r.next_attempt_at:%Y-%m-%d %H:%M}Z)"
                        if r.next_attempt_at else ""}.get(r.status, "")
                print(f"digest {d.name} ({digest.period.start:%Y-%m-%d}..{digest.period.last_day:%Y-%m-%d}) -> "
                      f"{r.channel}: {r.status}{note}" + (f": {r.error}" if r.error else ""))
    finally:
        store.close()
    return 1 if failed else 0


def _digest_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("digest", help="periodic digests per scope ([[digests]]): list them, send one now")
    dsub = p.add_subparsers(dest="digest_command", required=True)
    d = dsub.add_parser("list", help="the configured digests, their schedule and next slot")
    _config_arg(d)
    d.add_argument("--now", help="ISO datetime to plan from (default: now; UTC without an offset)")
    d.set_defaults(func=cmd_digest)
    d = dsub.add_parser("send", help="send the digests of the latest slot at or before --now (each channel once "
                        "per slot: a re-run of the same period sends nothing)")
    _config_arg(d)
    which = d.add_mutually_exclusive_group()
    which.add_argument("--name", action="extend", nargs="+", metavar="NAME",
                       help="only the digests of these names (repeatable; comma lists too)")
    which.add_argument("--scope", action="extend", nargs="+", metavar="SCOPE",
                       help="only the digests of these scopes: location:ID, region:R, brand:B, all (repeatable)")
    d.add_argument("--dry-run", action="store_true", help="print the text version; send and record nothing")
    d.add_argument("--now", help="ISO datetime to send as of (default: now; UTC without an offset)")
    d.set_defaults(func=cmd_digest)


def build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("vocwatch")
    except PackageNotFoundError:  # run from a checkout that was never installed
        ours = "unknown (not installed)"
    parser = argparse.ArgumentParser(prog="vocwatch", description=USAGE,
                                     usage="vocwatch [--version] [-c CONFIG] [--store URL] COMMAND [options]",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vocwatch {ours}")
    _global_args(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS,
                                prog="vocwatch")

    p = sub.add_parser("demo", help="serve the sandbox sites, crawl them all, print own vs competitors")
    p.add_argument("--store", default=argparse.SUPPRESS, help="store URL (default: the demo config's data/vocwatch-demo.db)")
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("crawl", help="crawl configured sources now", epilog=CRAWL_EXIT_CODES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _config_arg(p)
    p.add_argument("--source", action="append", help="source id (repeatable; default: all)")
    p.add_argument("-s", "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                   help="set a Scrapy setting for these crawls, as `scrapy crawl -s` does (repeatable)")
    p.add_argument("--log-level", default="WARNING")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line")
    p.add_argument("--job", help=argparse.SUPPRESS)  # plumbing: vocwatch worker's crawl of one job
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("worker", help="take crawl jobs from Redis ([distributed]) and crawl them, until SIGTERM")
    _config_arg(p)
    p.add_argument("--processes", type=int, default=1, help="crawls at once (default 1)")
    p.add_argument("--once", action="store_true", help="crawl one job (take or join it), then exit")
    p.add_argument("--exit-when-idle", type=float, default=None, metavar="SECONDS",
                   help="exit after this long without a job to crawl")
    p.add_argument("--log-level", default="INFO", help="the worker's log level; its crawls log warnings")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("benchmark", help="metrics per own location against its competitive set, with deltas")
    _config_arg(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--location", action="extend", nargs="+", metavar="ID",
                       help="only these own location ids (repeatable; comma lists too)")
    which.add_argument("--brand", help="only own locations of this brand id")
    which.add_argument("--region", help="only own locations in this region")
    p.add_argument("--window", default="90d", help="window length: 30d, 12w, 6m (=180d) or 1y (default 90d); "
                   "deltas compare with the window before it")
    p.add_argument("--until", help="end day YYYY-MM-DD (UTC), exclusive: the window ends at 00:00 that day (default: now)")
    p.add_argument("--format", choices=["table", "json", "csv", "html"], default="table")
    p.add_argument("--out", help="write to this file (default, or -: standard output)")
    p.set_defaults(func=cmd_benchmark)

    from vocwatch.login import CHROMIUM, DEFAULT_ACCOUNT, DEFAULT_TIMEOUT, sites_help

    p = sub.add_parser("login", help="log in to a site once in Chromium (QR code in the terminal on a "
                       "server) and keep the session in $VOCWATCH_SECRETS_DIR",
                       epilog=sites_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("site", help="a built-in site (weibo, weibo_cn, dianping, taobao, tmall, jd, zhihu) "
                   "or any name with --url and --done-when")
    p.add_argument("--account", default=DEFAULT_ACCOUNT,
                   help=f"the account's name: sessions/<site>/<account>.json (default {DEFAULT_ACCOUNT})")
    p.add_argument("--url", help="the login page (overrides the built-in one)")
    p.add_argument("--done-when", metavar="SIGNAL",
                   help="what shows the login is done: cookie:NAME, url:PATTERN or css:SELECTOR")
    p.add_argument("--headless", action="store_true",
                   help="no window even with a display: the QR code goes to the terminal")
    p.add_argument("--qr-terminal", action="store_true", help="print the QR code in the terminal with a window too")
    p.add_argument("--screenshot", metavar="FILE", help="save the QR code's screenshot there (PNG, mode 0600)")
    p.add_argument("--qr-selector", metavar="CSS", help="the QR code element, when the search does not find it")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds to wait for the login (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--chromium-path", default=os.environ.get("VOCWATCH_CHROMIUM_PATH", CHROMIUM),
                   help=f"the Chromium binary (default $VOCWATCH_CHROMIUM_PATH or {CHROMIUM})")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("runs", help="recent crawl runs: outcome, items read/stored/dropped by reason, balance")
    _config_arg(p)
    p.add_argument("--source", help="only this source id")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--json", action="store_true", help="print the runs as a JSON array")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("store", help="maintain the store")
    store_sub = p.add_subparsers(dest="store_command", required=True)
    p = store_sub.add_parser("migrate-ids", help="recompute stored mentions' fingerprints with their sources' "
                             "id scopes, merging duplicates (after an upgrade; safe to repeat)")
    _config_arg(p)
    p.add_argument("--dry-run", action="store_true", help="only count what would change")
    p.set_defaults(func=cmd_store)
    p = sub.add_parser("health", help="crawl health: each source's latest runs checked against its history")
    _config_arg(p)
    p.add_argument("--source", help="only this source id")
    p.add_argument("--limit", type=int, default=1, help="checked runs shown per source, newest first (default 1)")
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("sessions", help="logged-in accounts of the sites that need them ([sessions.<site>])")
    sessions_sub = p.add_subparsers(dest="sessions_command", required=True)
    p = sessions_sub.add_parser("status", help="accounts per site: ok / cooling until / expired, why (no secrets)")
    _config_arg(p)
    p.add_argument("--site", help="only this site")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("check", help="validate a configuration file")
    _config_arg(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("reanalyze", help="re-label stored mentions with the current NLP models (after an upgrade)")
    _config_arg(p)
    p.add_argument("--all", action="store_true", help="every mention, not only those an older model labelled")
    p.set_defaults(func=cmd_reanalyze)

    p = sub.add_parser("analyze", help="language, sentiment, aspects and keywords for a JSON-lines file")
    p.add_argument("--in", dest="input", required=True, help="input .jsonl: one object per line with 'text' (optional 'lang', 'id', 'rating' on 0-5); - for stdin")
    p.add_argument("--out", required=True, help="output .jsonl (- for stdout): each input object plus lang, sentiment, aspects, keywords, model")
    p.add_argument("--domain", choices=["hotel", "restaurant", "ecommerce"], help="aspect taxonomy (default: all)")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("bench", help="benchmarks: NLP accuracy/throughput/cold start, crawl throughput vs plain Scrapy")
    p.add_argument("what", choices=["nlp", "crawl", "all", "metrics", "export", "export-mentions", "alerts",
                                     "mutations", "faults", "scale", "distributed", "dates"],
                   nargs="?", default="all",
                   help="all = nlp + crawl; metrics, export (trends) and export-mentions run on a large synthetic set (see --dir); "
                        "alerts replays a simulated month through the detectors; mutations reads every saved "
                        "real page (--shared) mutated --variants ways with every adapter; faults crawls a "
                        "misbehaving local site with the real CLI (--only NAME picks faults); scale times "
                        "config load, scheduler start, memory, ticks, Redis enqueue and the metrics queries "
                        "at --locations x --sources schedules; dates times parse_datetime's fast paths, its "
                        "dateparser path and bare dateparser per 10k dates against datetime.fromisoformat")
    p.add_argument("--shared", default="../shared", help="directory holding datasets/ (accuracy tables skipped without it) and pages/ (mutations)")
    p.add_argument("--no-baselines", action="store_true", help="skip SnowNLP/VADER (slow)")
    p.add_argument("--pages", type=int, default=2000, help="crawl: HTML review pages on the local site (10 reviews each)")
    p.add_argument("--chains", type=int, default=40, help="crawl: serial page chains (one source each) the pages form")
    p.add_argument("--crawl-modes", nargs="+", choices=["plain", "full", "bare", "thread"], default=["plain", "full"],
                   help="crawl: plain Scrapy (baseline), full vocwatch crawl, bare (no item pipelines), thread (NLP in a thread)")
    p.add_argument("--rounds", type=int, default=3, help="crawl: rounds of interleaved crawls, one per mode (medians "
                   "reported); metrics: runs of each all-locations figure (the fastest counts)")
    p.add_argument("--dir", default="data/synth", help="metrics/export: synthetic set to reuse or create")
    p.add_argument("--locations", type=int, default=4000, help="metrics/export: locations when generating")
    p.add_argument("--mentions", type=int, default=1_000_000, help="metrics/export: mentions when generating")
    p.add_argument("--seed", type=int, default=1, help="metrics/export: seed when generating")
    p.add_argument("--window", default="90d", help="metrics: benchmark window")
    p.add_argument("--growth", type=int, nargs="+", default=[], metavar="LOCATIONS",
                   help="metrics: also time sets of these many locations (same mentions per location as "
                        "--locations/--mentions) and print how the metrics grow against the rollup, e.g. "
                        "--growth 1000 2000 4000 8000")
    p.add_argument("--growth-dir", help="metrics: where the --growth sets are kept, one folder per count "
                                        "(default: synth-growth beside --dir)")
    p.add_argument("--formats", nargs="+", choices=["csv", "json", "parquet", "xlsx"],
                   default=["csv", "json", "parquet", "xlsx"], help="export: formats to time")
    p.add_argument("--alert-locations", type=int, default=200, help="alerts: own locations watched")
    p.add_argument("--days", type=int, default=30, help="alerts: days replayed (after a 28-day history)")
    p.add_argument("--alert-seed", type=int, default=7, help="alerts: seed")
    p.add_argument("--alert-dir", default="data/bench-alerts", help="alerts: where the replay's SQLite file goes")
    p.add_argument("--variants", type=int, default=10, help="mutations: mutated variants of each saved page")
    p.add_argument("--only", action="append", default=[], help="faults: only faults whose name contains this")
    p.add_argument("--sources", type=int, default=30, help="scale: sources per location (with --locations)")
    p.add_argument("--scale-dir", default="data/bench-scale", help="scale: where the synthetic config goes")
    p.add_argument("--scale-mentions", type=int, default=20_000, help="scale: mentions for the metrics queries")
    p.add_argument("--enqueue", type=int, default=20_000, help="scale: jobs enqueued into Redis")
    p.add_argument("--watch", type=float, default=5.0, help="scale: seconds of ticks watched after a cold start")
    p.add_argument("--dates", type=int, default=10_000, help="dates: dates per fast-path row")
    p.add_argument("--slow-dates", type=int, default=1000,
                   help="dates: dates per dateparser row (slow; figures scaled to 10k)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("serve", help="the managers' web dashboard and its JSON API")
    _config_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark the session cookie Secure (when served over HTTPS behind a proxy)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="dashboard access tokens (stored hashed in $VOCWATCH_TOKENS_FILE)")
    tsub = p.add_subparsers(dest="token_command", required=True)
    t = tsub.add_parser("create", help="create a token and print it once")
    _config_arg(t)
    t.add_argument("--scope", required=True, help="location:ID, region:REGION or brand:BRAND (own locations only), "
                   "or all (administrators: every own location and crawl health)")
    t.add_argument("--label", help="who or what the token is for, shown by 'token list'")
    t.set_defaults(func=cmd_token)
    t = tsub.add_parser("list", help="token ids, scopes and labels (never the tokens)")
    _config_arg(t)
    t.set_defaults(func=cmd_token)
    t = tsub.add_parser("revoke", help="delete a token by its id; its sessions end at once")
    _config_arg(t)
    t.add_argument("id", help="token id from 'token list'")
    t.set_defaults(func=cmd_token)


    p = sub.add_parser("schedule", help="crawl every source on its schedule, one process per crawl")
    ssub = p.add_subparsers(dest="schedule_command", required=True)
    s = ssub.add_parser("run", help="run the scheduler in the foreground until SIGTERM or Ctrl-C")
    _config_arg(s)
    s.add_argument("--log-level", default="INFO")
    s.set_defaults(func=cmd_schedule)
    s = ssub.add_parser("list", help="jobs: source, location, trigger, next run, last outcome")
    _config_arg(s)
    s.set_defaults(func=cmd_schedule)
    s = ssub.add_parser("status", help="distributed: who leads (holder, fence, TTL left), jobs ready/active/done")
    _config_arg(s)
    s.set_defaults(func=cmd_schedule)
    s = ssub.add_parser("next", help="the next planned crawls with their times")
    _config_arg(s)
    s.add_argument("--n", type=int, default=10, help="how many (default 10)")
    s.set_defaults(func=cmd_schedule)

    p = sub.add_parser("sandbox", help="serve the local sandbox review sites for exploring")
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765, which the demo config expects)")
    p.set_defaults(func=cmd_sandbox)

    p = sub.add_parser("scrapy", help="run a Scrapy command on vocwatch's spiders from any folder, no scrapy.cfg "
                       "needed (vocwatch scrapy crawl hotel_reviews -a source=ID -O out.jsonl)", add_help=False)
    p.add_argument("scrapy_args", nargs=argparse.REMAINDER, help="the scrapy command and its options")
    p.set_defaults(func=cmd_scrapy)

    p = sub.add_parser("export", help="export data from the store (trends, mentions)")
    export_sub = p.add_subparsers(dest="export_command", required=True)
    p = export_sub.add_parser("trends", help="tidy trend rows per day/week/month and group, as csv/json/parquet/xlsx")
    _config_arg(p)
    p.add_argument("--by", choices=["day", "week", "month"], default="week", help="bucket (UTC; weeks start Monday)")
    p.add_argument("--group", action="append", metavar="KEYS",
                   help="comma-separated, any of location,source,aspect,sentiment,lang (repeatable)")
    p.add_argument("--since", help="first day, YYYY-MM-DD (UTC), inclusive")
    p.add_argument("--until", help="end day, YYYY-MM-DD (UTC), exclusive")
    _location_arg(p, "only these location ids")
    p.add_argument("--format", choices=["csv", "json", "jsonl", "parquet", "xlsx"],
                   help="json and jsonl are both JSON Lines (default: from the --out suffix)")
    p.add_argument("--out", required=True, help="output file (written to a temporary name, renamed when complete); "
                   "- for standard output (give --format)")
    p.set_defaults(func=cmd_export_trends)
    p = export_sub.add_parser("mentions", help="the mentions themselves, filtered, with their workflow status, "
                                               "as csv/jsonl/parquet/xlsx (streamed)")
    _config_arg(p)
    _location_arg(p, "only these location ids (default: every configured one)")
    p.add_argument("--source", action="extend", nargs="+", metavar="ID", help="only these source ids (repeatable; comma lists too)")
    p.add_argument("--site", action="extend", nargs="+", metavar="SITE", help="only these sites, e.g. stayadvisor (repeatable)")
    p.add_argument("--sentiment", action="extend", nargs="+", metavar="LABEL",
                   help="positive, neutral, negative, unlabelled (repeatable; comma lists too)")
    p.add_argument("--aspect", help="only mentions naming this aspect id (e.g. breakfast)")
    p.add_argument("--aspect-sentiment", choices=["positive", "neutral", "negative"],
                   help="with --aspect: only where that aspect has this sentiment")
    p.add_argument("--language", action="extend", nargs="+", metavar="CODE", help="only these languages: zh, en, ... (repeatable)")
    p.add_argument("--min-rating", type=float, help="lowest rating, 0-5 inclusive (excludes unrated mentions)")
    p.add_argument("--max-rating", type=float, help="highest rating, 0-5 inclusive (excludes unrated mentions)")
    p.add_argument("--replied", choices=["yes", "no"], help="only mentions with (or without) an owner reply")
    p.add_argument("--window", help="the last 30d, 12w, 6m, 1y (up to --until or now)")
    p.add_argument("--since", help="first day, YYYY-MM-DD (UTC), inclusive")
    p.add_argument("--until", help="end day, YYYY-MM-DD (UTC), exclusive")
    p.add_argument("--format", choices=["csv", "json", "jsonl", "parquet", "xlsx"],
                   help="json and jsonl are both JSON Lines (default: from the --out suffix)")
    p.add_argument("--out", required=True, help="output file (written to a temporary name, renamed when complete); "
                   "- for standard output (give --format)")
    p.set_defaults(func=cmd_export_mentions)

    p = sub.add_parser("synth", help="write a synthetic config + SQLite store of realistic mentions")
    p.add_argument("--out", required=True, help="directory for vocwatch.toml, locations.csv, synth.db")
    p.add_argument("--locations", type=int, default=4000)
    p.add_argument("--mentions", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--days", type=int, default=730)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("alerts", help="spike alerts: check now, list, acknowledge, resolve")
    asub = p.add_subparsers(dest="alerts_command", required=True)
    a = asub.add_parser("check", help="run the detectors over the store now; store and print new/updated alerts")
    _config_arg(a)
    a.add_argument("--now", help="ISO datetime to detect as of (default: now; UTC without an offset)")
    a.add_argument("--no-notify", action="store_true", help="only detect and store; deliver nothing")
    a.set_defaults(func=cmd_alerts)
    a = asub.add_parser("test", help="send a sample alert (with hostile text) through one channel now")
    _config_arg(a)
    a.add_argument("channel", help="channel id from [[channels]]")
    a.set_defaults(func=cmd_alerts)
    a = asub.add_parser("list", help="stored alerts, newest activity first")
    _config_arg(a)
    a.add_argument("--state", choices=["new", "notified", "acknowledged", "resolved"])
    _location_arg(a, "only alerts of these location ids")
    a.add_argument("--limit", type=int, default=100)
    a.add_argument("--format", choices=["table", "json"], default="table")
    a.set_defaults(func=cmd_alerts)
    for name, aliases, what in (("acknowledge", ["ack"], "acknowledge: no more notifications for this incident"),
                                ("resolve", [], "mark the incident resolved")):
        a = asub.add_parser(name, aliases=aliases, help=what + " (recorded as cli:<your login> in its history)")
        _config_arg(a)
        a.add_argument("id", help="alert id from 'alerts list'")
        a.add_argument("--now", help="ISO datetime to record the action at (default: now; UTC without an offset)")
        a.set_defaults(func=cmd_alerts)
    _digest_parser(sub)  # digests (issue 14, item 5)


    p = sub.add_parser("parse", help="print the mentions a saved page holds, as JSON lines (no crawl, no store); "
                       "save it as a fixture, check or freeze fixtures",
                       epilog="fixtures: 'parse FILE --site S --url U --now T --tz Z --save-fixture NAME' writes "
                       "tests/fixtures/pages/S/NAME/{input.EXT,meta.json,output.json}; 'parse --check-fixtures' "
                       "compares every fixture with its output.json field by field; 'parse --freeze-fixtures' "
                       "writes the output.json of fixtures that have none (--overwrite: all of them)")
    p.add_argument("file", nargs="?", help="a saved page or API response")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--site", help="site adapter name (an unknown name lists the known ones)")
    how.add_argument("--selectors", metavar="CONFIG", help="TOML file with a [selectors] table (see docs/selectors/)")
    p.add_argument("--url", help="the page's URL, for relative links and ids (default: the file's file:// URL)")
    p.add_argument("--now", help="fetch time, ISO 8601, for relative dates like '5分钟前' (default: now; UTC without an offset)")
    p.add_argument("--tz", help="the site's zone for dates without an offset (default Asia/Shanghai)")
    p.add_argument("--encoding", help="charset to decode FILE with (default: its byte-order mark, <meta charset> or "
                   "XML declaration, else UTF-8, else what the bytes show)")
    fx = p.add_argument_group("fixtures")
    fx.add_argument("--save-fixture", metavar="NAME", help="write FILE, its frozen time/zone/charset/origin and the "
                    "reading as fixture NAME (needs --site, --url, --now, --tz)")
    fx.add_argument("--fixtures-dir", metavar="DIR", help="where fixtures live (default tests/fixtures/pages)")
    fx.add_argument("--overwrite", action="store_true", help="replace an existing fixture / output.json")
    fx.add_argument("--origin-repo", metavar="OWNER/NAME", help="the public repository the page came from")
    fx.add_argument("--origin-path", metavar="PATH", help="its path in that repository")
    fx.add_argument("--origin-commit", metavar="SHA", help="the full 40-hex commit it was copied from")
    fx.add_argument("--license", help="the repository's license ('none declared' when it has none)")
    fx.add_argument("--notes", help="what the page is: era, language, anything odd")
    fx.add_argument("--check-fixtures", nargs="?", const="tests/fixtures/pages", metavar="DIR",
                    help="read every fixture under DIR (default tests/fixtures/pages) and print a diff per field "
                    "that no longer matches its output.json; exit 1 on any")
    fx.add_argument("--freeze-fixtures", nargs="?", const="tests/fixtures/pages", metavar="DIR",
                    help="write output.json for every fixture under DIR that has none (with --overwrite: for all), "
                    "a line each to check by reading the page")
    p.set_defaults(func=cmd_parse)

    parser.epilog = _grouped_commands(sub)
    return parser


LOG_LEVEL_ENV = "VOCWATCH_LOG_LEVEL"
"""Log level of the commands that are not crawls (default WARNING); crawls take ``--log-level``."""


def _setup_logging(args: argparse.Namespace) -> None:
    """Every log record of the process scrubbed of secrets (``config.redact``): ours, Scrapy's
    and third-party DEBUG output (apprise, urllib3, pymongo) alike."""
    from config.redact import install_log_scrubbing, remember, url_secrets

    install_log_scrubbing()
    if getattr(args, "store", None):  # before the config is read: a load error may quote it
        remember(url_secrets(args.store, tokenish=False))
    if args.command not in ("crawl", "demo"):  # crawls log through Scrapy's own root handler
        level = os.environ.get(LOG_LEVEL_ENV, "WARNING").upper()
        known = level in logging.getLevelNamesMapping()
        logging.basicConfig(level=level if known else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        if not known:
            logging.getLogger("vocwatch").warning("ignoring %s=%s: not a log level", LOG_LEVEL_ENV, level)


def main(argv: Sequence[str] | None = None) -> int:
    from config.redact import redact

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["scrapy"]:  # passed through whole: Scrapy parses and logs on its own
        return cmd_scrapy(argparse.Namespace(scrapy_args=argv[1:]))
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, a usage error: argparse has said why
        return exc.code if isinstance(exc.code, int) else 2
    _setup_logging(args)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # `vocwatch runs | head`: the reader has what it wanted; no traceback, and no second
        # error when Python flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe
    except ConfigError as exc:
        problems = getattr(exc, "errors", [exc])
        if len(problems) == 1:
            print(f"vocwatch: invalid configuration: {redact(str(exc))}", file=sys.stderr)
        else:
            print(f"vocwatch: invalid configuration, {len(problems)} problems:", file=sys.stderr)
            for e in problems:
                print(f"  {redact(str(e))}", file=sys.stderr)
        return 2
    except argparse.ArgumentTypeError as exc:
        print(f"vocwatch: {redact(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
