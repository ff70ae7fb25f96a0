"""Date parsing benchmark: the fast paths, the dateparser path, and bare dateparser.

``parse_datetime`` reads the common forms (ISO 8601, epochs, numeric layouts, Chinese,
English) with precompiled patterns and hands only dates in other languages' words to
dateparser. This prints what that costs, per 10,000 dates, each row as a ratio to a
baseline measured in the same run: stdlib ``datetime.fromisoformat`` on ISO strings, the
least any date parser can cost. Rows:

- ``parse_datetime`` on the common forms (and how many of them reached dateparser: none
  should);
- ``parse_datetime`` on other languages' forms, without and with a ``languages`` hint,
  and the same dates again (answers cached: a page repeats "vor 3 Tagen");
- bare ``dateparser.parse`` (its defaults: language detection over all its locales) on
  the same two sets, which is what calling dateparser first would cost.

The dates are generated from templates with seeded numbers, so caches see what a crawl
shows them (the same shapes, other numbers). dateparser rows are timed on at most
``slow`` dates and scaled to 10,000.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PER = 10_000

# (template, site zone, language hint); {d} day, {m} month, {y} year, {n} small count, {h}:{mi} clock
FAST_FORMS: tuple[tuple[str, str, str], ...] = (
    ("{y}-{m:02}-{d:02}T{h:02}:{mi:02}:00Z", "UTC", "en"),
    ("{y}-{m:02}-{d:02}T{h:02}:{mi:02}:00+08:00", "Asia/Shanghai", "zh"),
    ("{epoch}", "UTC", "en"),
    ("{epoch}000", "UTC", "en"),
    ("{y}-{m:02}-{d:02} {h:02}:{mi:02}", "Asia/Shanghai", "zh"),
    ("{m}月{d}日", "Asia/Shanghai", "zh"),
    ("{y}年{m}月{d}日 {h}:{mi:02}", "Asia/Shanghai", "zh"),
    ("{n}分钟前", "Asia/Shanghai", "zh"),
    ("昨天 {h:02}:{mi:02}", "Asia/Shanghai", "zh"),
    ("刚刚", "Asia/Shanghai", "zh"),
    ("{month} {d}, {y}", "America/New_York", "en"),
    ("{n} days ago", "America/New_York", "en"),
    ("Today at {h12}:{mi:02} PM", "America/New_York", "en"),
    ("Yesterday, {h:02}:{mi:02}", "Europe/London", "en"),
    ("{d:02}.{m:02}.{y}", "Europe/Berlin", "de"),
    ("Thu, {d:02} Nov {y} {h:02}:{mi:02}:00 +0000", "UTC", "en"),
)
LOCALE_FORMS: tuple[tuple[str, str, str], ...] = (
    ("{d}. September {y}", "Europe/Berlin", "de"),
    ("vor {n} Tagen", "Europe/Berlin", "de"),
    ("Gestern, {h:02}:{mi:02}", "Europe/Berlin", "de"),
    ("il y a {n} jours", "Europe/Paris", "fr"),
    ("{d} septembre {y}", "Europe/Paris", "fr"),
    ("hace {n} días", "Europe/Madrid", "es"),
    ("{n} giorni fa", "Europe/Rome", "it"),
    ("{n} dagen geleden", "Europe/Amsterdam", "nl"),
    ("{n} дня назад", "Europe/Moscow", "ru"),
    ("{d} марта {y}", "Europe/Moscow", "ru"),
    ("{n}時間前", "Asia/Tokyo", "ja"),
    ("{n}일 전", "Asia/Seoul", "ko"),
    ("há {n} dias", "America/Sao_Paulo", "pt"),
    ("{n} dni temu", "Europe/Warsaw", "pl"),
    ("{n} gün önce", "Europe/Istanbul", "tr"),
    ("for {n} dager siden", "Europe/Oslo", "nb"),
)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def dates(forms: Sequence[tuple[str, str, str]], n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """``n`` (text, zone, language) drawn round-robin from ``forms`` with seeded numbers."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        template, tz, lang = forms[i % len(forms)]
        d, m, y = rnd.randint(1, 28), rnd.randint(1, 12), rnd.randint(2015, 2025)
        h, mi = rnd.randint(0, 9), rnd.randint(0, 59)  # before NOW's 10:00 in every zone's "today"
        out.append((template.format(d=d, m=m, y=y, h=h, mi=mi, h12=rnd.randint(1, 4), n=rnd.randint(2, 29),
                                    month=_MONTHS[m - 1], epoch=rnd.randint(1_500_000_000, 1_750_000_000)),
                    tz, lang))
    return out


def _time(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best of ``repeat`` runs, in seconds (the least disturbed one on a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cold_start(python: str = sys.executable) -> dict[str, float]:
    """Seconds to a first German date in a fresh process (imports dateparser, loads the
    languages) against a first ISO date in another fresh process."""
    code = ("import time; t = time.perf_counter(); from datetime import datetime, UTC; "
            "from crawlers.processors import parse_datetime; "
            "parse_datetime({!r}, now=datetime(2026, 11, 23, tzinfo=UTC), tz='Europe/Berlin'); "
            "print(time.perf_counter() - t)")
    out = {}
    for name, raw in (("fast_s", "2024-03-05T12:30:00Z"), ("dateparser_s", "vor 3 Tagen")):
        res = subprocess.run([python, "-c", code.format(raw)], capture_output=True, text=True, check=True)
        out[name] = round(float(res.stdout.strip().splitlines()[-1]), 3)
    return out


def run(n: int = PER, slow: int = 1000, *, cold: bool = True, say: Callable[[str], Any] = print) -> dict[str, Any]:
    import dateparser

    from crawlers import locale_dates
    from crawlers.processors import parse_datetime

    fast = dates(FAST_FORMS, n)
    local = dates(LOCALE_FORMS, min(n, slow), seed=1)
    fast_slow = fast[: min(n, slow)]
    iso = [datetime(2015 + i % 11, 1 + i % 12, 1 + i % 28, i % 24, i % 60, tzinfo=UTC).isoformat() for i in range(n)]

    reached = 0
    real = locale_dates.parse_localized

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal reached
        reached += 1
        return real(*args, **kwargs)

    def ours(items: list[tuple[str, str, str]], hint: bool) -> Callable[[], list[Any]]:
        return lambda: [parse_datetime(s, now=NOW, tz=tz, languages=lang if hint else None) for s, tz, lang in items]

    def bare(items: list[tuple[str, str, str]]) -> Callable[[], list[Any]]:
        return lambda: [dateparser.parse(s) for s, _, _ in items]

    def cold_cache(fn: Callable[[], Any]) -> Callable[[], Any]:
        """``fn`` with parse_datetime's cache of dateparser answers emptied first: the
        dates differ, as on a crawl (the cache is shown apart, in its own row)."""
        return lambda: (locale_dates._read.cache_clear(), fn())

    # warm-up on other dates: imports, locale data, dateparser's own caches
    warm = dates(LOCALE_FORMS, min(n, slow), seed=2)
    ours(warm, True)(), ours(warm, False)(), bare(warm[:50])(), ours(fast[:200], False)()
    locale_dates.parse_localized = counting
    try:
        fast_read = sum(r is not None for r in ours(fast, False)())
        fast_reached = reached
    finally:
        locale_dates.parse_localized = real
    locale_dates._read.cache_clear()
    local_read = sum(r is not None for r in ours(local, False)())
    locale_dates._read.cache_clear()
    local_hint_read = sum(r is not None for r in ours(local, True)())

    base = _time(lambda: [datetime.fromisoformat(s) for s in iso])
    rows = [("baseline: datetime.fromisoformat, ISO 8601", n, base)]
    rows.append(("parse_datetime, common forms (fast paths)", n, _time(ours(fast, False))))
    rows.append(("parse_datetime, other languages, no hint", len(local), _time(cold_cache(ours(local, False)), 1)))
    rows.append(("parse_datetime, other languages, languages hint", len(local),
                 _time(cold_cache(ours(local, True)), 1)))
    ours(local, True)()
    rows.append(("parse_datetime, the same dates again (cached)", len(local), _time(ours(local, True))))
    rows.append(("bare dateparser.parse, common forms", len(fast_slow), _time(bare(fast_slow), 1)))
    rows.append(("bare dateparser.parse, other languages", len(local), _time(bare(local), 1)))

    base_per, fast_per = base / n * PER, rows[1][2] / n * PER
    out: dict[str, Any] = {"n": n, "slow_n": len(local), "rows": [], "fast_forms_read": fast_read,
                           "fast_forms_reaching_dateparser": fast_reached, "locale_forms_read": local_read,
                           "locale_forms_read_with_hint": local_hint_read}
    for name, count, seconds in rows:
        per = seconds / count * PER
        out["rows"].append({"what": name, "timed_on": count, "ms_per_10k": round(per * 1000, 1),
                            "ratio": round(per / base_per, 1) if base_per else None,
                            "vs_fast_path": round(per / fast_per, 2) if fast_per and seconds is not base else None})
    if cold:
        out["cold_start"] = cold_start()
    say(format_result(out))
    return out


def format_result(res: dict[str, Any]) -> str:
    head = f"{'dates':50} {'timed on':>8} {'ms / 10k':>10} {'x baseline':>10} {'x fast path':>11}"
    lines = [f"date parsing, per {PER:,} dates, one core (best of 3 for the fast rows, 1 run for dateparser's)",
             head, "-" * len(head)]
    lines += [f"{r['what']:50} {r['timed_on']:>8,} {r['ms_per_10k']:>10,.1f} {str(r['ratio']) + 'x':>10} "
              f"{'-' if r['vs_fast_path'] is None else str(r['vs_fast_path']) + 'x':>11}" for r in res["rows"]]
    lines += ["", f"common forms read: {res['fast_forms_read']:,} of {res['n']:,}, of which "
                  f"{res['fast_forms_reaching_dateparser']} reached dateparser",
              f"other languages read: {res['locale_forms_read']:,} of {res['slow_n']:,} without a hint, "
              f"{res['locale_forms_read_with_hint']:,} with the site's languages hint"]
    if "cold_start" in res:
        c = res["cold_start"]
        lines.append(f"cold start, fresh process: first ISO date {c['fast_s']:.3f} s, first German date "
                     f"{c['dateparser_s']:.3f} s (imports dateparser, loads its languages)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dates", type=int, default=PER, help="dates per fast row")
    ap.add_argument("--slow-dates", type=int, default=1000, help="dates per dateparser row (scaled to 10k)")
    ap.add_argument("--no-cold", action="store_true", help="skip the fresh-process cold start")
    args = ap.parse_args(argv)
    run(args.dates, args.slow_dates, cold=not args.no_cold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
