"""Spike detectors: pure functions, hourly series in, findings out, ``now`` passed in.

A series maps an *epoch hour* (``hour_index(dt)``: whole hours since 1970-01-01 UTC) to a
count or sum for one watch (a location, a brand, or a location x aspect). The window of a
detector is its last N hour buckets up to and including the current one, whose expected
count is prorated by the part of the hour already gone; the baseline is the
``baseline_days`` before the window. Formulas are in docs/monitoring.md "Alerts".

No I/O and no clock here, so every threshold can be tested on hand-made series.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from config.model import AlertSettings

SEVERITIES = ("info", "warning", "critical")
LEVEL_PRIOR = 0.5
"""Pseudo-count added to a baseline, so that a watch with no history expects a little, not 0."""
PROFILE_SMOOTHING = 20.0
"""Pseudo-count pulling each hour-of-day / day-of-week factor towards 1 when data is scarce."""
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday

Series = Mapping[int, float]


def hour_index(dt: datetime) -> int:
    """Whole UTC hours since the epoch: the key of an hourly series."""
    return int(dt.timestamp() // 3600)


def hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def total(series: Series, hours: range) -> float:
    """Sum over a range of hours, walking whichever is shorter (series are sparse)."""
    if len(series) < len(hours):
        return sum(v for h, v in series.items() if hours.start <= h < hours.stop)
    return sum(series.get(h, 0.0) for h in hours)


@dataclass(frozen=True, slots=True)
class Profile:
    """Relative activity by UTC hour of day and day of week (mean about 1): expected
    counts are ``level x hod[hour] x dow[weekday]``. Learned from all mentions of many
    locations pooled, because one location's month is too sparse for 168 cells."""

    hod: tuple[float, ...] = (1.0,) * 24
    dow: tuple[float, ...] = (1.0,) * 7

    def weight(self, hour: int) -> float:
        return self.hod[hour % 24] * self.dow[(hour // 24 + _EPOCH_WEEKDAY) % 7]


def seasonal_profile(series: Series, hours: range, smoothing: float = PROFILE_SMOOTHING) -> Profile:
    """Hour-of-day and day-of-week factors of ``series`` over ``hours`` (whole weeks give
    unbiased factors), each shrunk towards 1 by ``smoothing`` pseudo-counts."""
    if not len(hours):
        return Profile()
    hod_sum, hod_n, dow_sum, dow_n = [0.0] * 24, [0] * 24, [0.0] * 7, [0] * 7
    for h in hours:
        c = series.get(h, 0.0)
        d = (h // 24 + _EPOCH_WEEKDAY) % 7
        hod_sum[h % 24] += c
        hod_n[h % 24] += 1
        dow_sum[d] += c
        dow_n[d] += 1
    mean = sum(hod_sum) / len(hours)

    def factors(sums: list[float], ns: list[int]) -> tuple[float, ...]:
        return tuple((s + smoothing) / (n * mean + smoothing) if n else 1.0 for s, n in zip(sums, ns, strict=True))

    return Profile(factors(hod_sum, hod_n), factors(dow_sum, dow_n))


@dataclass(frozen=True, slots=True)
class Window:
    """The hours a detector looks at, as of ``now``: the window and the baseline before it."""

    now: datetime
    hours: int
    baseline_days: int

    @property
    def current(self) -> int:
        """The hour holding the instant just before ``now`` (at 13:00 sharp, 12:00-13:00)."""
        return math.ceil(self.now.timestamp() / 3600) - 1

    @property
    def window(self) -> range:
        return range(self.current - self.hours + 1, self.current + 1)

    @property
    def baseline(self) -> range:
        end = self.current - self.hours + 1
        return range(end - 24 * self.baseline_days, end)

    def fractions(self) -> Iterable[tuple[int, float]]:
        """(hour, share of it inside the window): the current hour only counts as far as ``now``."""
        elapsed = self.now.timestamp() / 3600 - self.current
        for h in self.window:
            yield h, (elapsed if h == self.current else 1.0)


@lru_cache(maxsize=256)
def _weight_sum(profile: Profile, start: int, stop: int) -> float:
    """Profile weight of a baseline: the same for every watch of a run, so computed once."""
    return sum(profile.weight(h) for h in range(start, stop))


def expected_in_window(series: Series, profile: Profile, w: Window) -> float:
    """Seasonal baseline: level = (baseline count + prior) / baseline profile weight;
    expected = level x profile weight of the window hours (current hour prorated)."""
    base_weight = _weight_sum(profile, w.baseline.start, w.baseline.stop)
    level = (total(series, w.baseline) + LEVEL_PRIOR) / base_weight if base_weight else 0.0
    return level * sum(profile.weight(h) * f for h, f in w.fractions())


# -- tail probabilities -------------------------------------------------------------
def _upper_tail(x: int, log_pmf, mean: float, upper: int | None = None) -> float:  # type: ignore[no-untyped-def]
    """P(X >= x) for a unimodal count distribution, summed from x upward when x is above
    the mean (no 1 - cdf cancellation: tiny p-values stay exact), else 1 - P(X < x)."""
    if x <= 0:
        return 1.0
    if x <= mean:
        return max(0.0, 1.0 - sum(math.exp(log_pmf(k)) for k in range(x)))
    acc, k = 0.0, x
    while upper is None or k <= upper:
        term = math.exp(log_pmf(k))
        acc += term
        if term <= acc * 1e-15:
            break
        k += 1
    return min(1.0, acc)


def nbinom_sf(x: int, mean: float, size: float) -> float:
    """P(X >= x) for a negative binomial with this mean and size r (variance mean + mean^2/r)."""
    if mean <= 0:
        return 0.0 if x > 0 else 1.0
    log_p, log_q = math.log(size / (size + mean)), math.log(mean / (size + mean))
    lg_r = math.lgamma(size)

    def log_pmf(k: int) -> float:
        return math.lgamma(k + size) - lg_r - math.lgamma(k + 1) + size * log_p + k * log_q

    return _upper_tail(x, log_pmf, mean)


def binom_sf(x: int, n: int, p: float) -> float:
    """P(X >= x) for X ~ Binomial(n, p)."""
    if x <= 0:
        return 1.0
    if x > n or p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    lp, lq, lgn = math.log(p), math.log1p(-p), math.lgamma(n + 1)

    def log_pmf(k: int) -> float:
        return lgn - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq

    return _upper_tail(x, log_pmf, n * p, upper=n)


def normal_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def t_sf(t: float, df: int) -> float:
    """Student-t upper tail P(T >= t) with ``df`` degrees of freedom, exact (through the
    regularized incomplete beta function): few ratings must not look as sure as many, and
    the far tail matters because the severity tiers live there."""
    x = df / (df + t * t)
    half = 0.5 * _betainc(df / 2, 0.5, x)
    return half if t >= 0 else 1.0 - half


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by Lentz's continued fraction (Numerical
    Recipes 6.4), using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where it converges."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return math.exp(ln_front) * h / a


def severity(p_value: float, s: AlertSettings) -> str | None:
    """The tier a tail probability reaches, or None below ``p_info``."""
    if p_value <= s.p_critical:
        return "critical"
    if p_value <= s.p_warning:
        return "warning"
    if p_value <= s.p_info:
        return "info"
    return None


# -- findings -------------------------------------------------------------------------
@dataclass(slots=True)
class Finding:
    """What one detector found for one watch at one time (before dedupe and persistence)."""

    kind: str
    severity: str
    observed: float
    expected: float
    p_value: float
    window_hours: int
    location_id: str | None = None
    brand: str | None = None
    aspect: str | None = None
    magnitude: float = 0.0
    """The size compared between runs to decide whether an open incident grew materially."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.observed / self.expected if self.expected > 0 else None

    def details(self) -> dict[str, Any]:
        ratio = self.ratio
        return {"observed": round(self.observed, 4), "expected": round(self.expected, 4),
                "ratio": round(ratio, 2) if ratio is not None else None,
                "p_value": float(f"{self.p_value:.3g}"), "window_hours": self.window_hours, **self.extra}


def negative_spike(negative: Series, profile: Profile, *, now: datetime, s: AlertSettings) -> Finding | None:
    """More negative mentions in the window than the seasonal baseline explains:
    observed >= min_count, observed >= min_ratio x expected and the negative-binomial
    tail P(X >= observed) <= p_info."""
    w = Window(now, s.spike_window_hours, s.baseline_days)
    observed = round(total(negative, w.window))
    if observed < s.min_count:
        return None
    expected = expected_in_window(negative, profile, w)
    if observed < s.min_ratio * expected:
        return None
    p = nbinom_sf(observed, expected, s.dispersion)
    tier = severity(p, s)
    if tier is None:
        return None
    return Finding("negative_spike", tier, observed, expected, p, s.spike_window_hours, magnitude=observed)


def negative_share(mentions: Series, negative: Series, *, now: datetime, s: AlertSettings) -> Finding | None:
    """A jump in the share of negative mentions: window share >= baseline share +
    share_jump, with share_min_mentions in the window and the binomial tail
    P(X >= negatives | n, baseline share) <= p_info. The baseline share is smoothed
    with one pseudo-mention at 50%."""
    w = Window(now, s.share_window_hours, s.baseline_days)
    n = round(total(mentions, w.window))
    if n < s.share_min_mentions:
        return None
    neg = round(total(negative, w.window))
    base = (total(negative, w.baseline) + 0.5) / (total(mentions, w.baseline) + 1.0)
    share = neg / n
    if share < base + s.share_jump:
        return None
    p = binom_sf(neg, n, base)
    tier = severity(p, s)
    if tier is None:
        return None
    return Finding("negative_share", tier, share, base, p, s.share_window_hours, magnitude=share,
                   extra={"mentions": n, "negative": neg})


def rating_drop(rated: Series, rating_sum: Series, rating_sq: Series, *, now: datetime,
                s: AlertSettings) -> Finding | None:
    """Average rating in the window at least rating_drop below the baseline average,
    with rating_min_rated ratings in the window; p is the Student-t tail (n - 1 degrees
    of freedom) of t = drop / (sd / sqrt(n)), sd from the baseline (at least 0.5 stars)."""
    w = Window(now, s.rating_window_hours, s.baseline_days)
    n = round(total(rated, w.window))
    base_n = total(rated, w.baseline)
    if n < s.rating_min_rated or base_n < s.rating_min_rated:
        return None
    mean = total(rating_sum, w.window) / n
    base_mean = total(rating_sum, w.baseline) / base_n
    drop = base_mean - mean
    if drop < s.rating_drop:
        return None
    var = max(0.0, total(rating_sq, w.baseline) / base_n - base_mean**2)
    sd = max(math.sqrt(var), 0.5)
    p = t_sf(drop / (sd / math.sqrt(n)), max(1, n - 1))
    tier = severity(p, s)
    if tier is None:
        return None
    return Finding("rating_drop", tier, mean, base_mean, p, s.rating_window_hours, magnitude=drop,
                   extra={"rated": n, "drop": round(drop, 3)})


def viral_growth(engagement: int, previous: int | None, *, s: AlertSettings) -> str | None:
    """The tier of a mention whose likes + reposts + comments grew fast since the previous
    detector run: gained >= viral_min_growth and now >= viral_ratio x before (before
    counted as at least 1). Tiers: info at the minimum, warning at 5x, critical at 25x."""
    if previous is None:
        return None
    gained = engagement - previous
    if gained < s.viral_min_growth or engagement < s.viral_ratio * max(previous, 1):
        return None
    if gained >= 25 * s.viral_min_growth:
        return "critical"
    return "warning" if gained >= 5 * s.viral_min_growth else "info"
