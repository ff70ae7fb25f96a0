"""Detectors on hand-made hourly series: thresholds at their boundaries, seasonality, tiers."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from config.model import AlertSettings
from monitor.detectors import (
    Profile,
    Window,
    binom_sf,
    hour_index,
    nbinom_sf,
    negative_share,
    negative_spike,
    rating_drop,
    seasonal_profile,
    severity,
    t_sf,
    viral_growth,
)

S = AlertSettings()
SAT_EVENING = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # Saturday; window 18:00-21:00
TUE_NIGHT = datetime(2026, 3, 31, 7, 0, tzinfo=UTC)  # Tuesday; window 04:00-07:00


def weekly(pattern, start: datetime, days: int) -> dict[int, float]:  # type: ignore[no-untyped-def]
    """An hourly series with ``pattern(weekday, hour)`` in each hour of the days before ``start``."""
    out = {}
    for h in range(hour_index(start) - 24 * days, hour_index(start)):
        dt = datetime.fromtimestamp(h * 3600, UTC)
        if v := pattern(dt.weekday(), dt.hour):
            out[h] = v
    return out


def busy_weekends(weekday: int, hour: int) -> float:
    """4 an hour on weekend evenings, 1 on weekday evenings, nothing at night."""
    if 17 <= hour <= 22:
        return 4.0 if weekday >= 5 else 1.0
    return 0.0


def with_window(series: dict[int, float], now: datetime, counts: list[int]) -> dict[int, float]:
    """The series plus ``counts`` in the last len(counts) hours before ``now``."""
    out = dict(series)
    for i, c in enumerate(reversed(counts)):
        out[hour_index(now) - 1 - i] = c
    return out


def test_window_hours_and_prorated_current_hour() -> None:
    w = Window(datetime(2026, 3, 31, 13, 0, tzinfo=UTC), 3, 28)
    assert [datetime.fromtimestamp(h * 3600, UTC).hour for h in w.window] == [10, 11, 12]
    assert len(w.baseline) == 28 * 24 and w.baseline.stop == w.window.start
    assert [f for _, f in w.fractions()] == [1.0, 1.0, 1.0]
    half = Window(datetime(2026, 3, 31, 13, 30, tzinfo=UTC), 3, 28)
    assert [f for _, f in half.fractions()] == [1.0, 1.0, 0.5]


def test_tail_probabilities() -> None:
    # Binomial(4, 0.5): P(X >= 3) = (4 + 1) / 16
    assert binom_sf(3, 4, 0.5) == pytest.approx(5 / 16)
    assert binom_sf(0, 4, 0.5) == 1.0 and binom_sf(5, 4, 0.5) == 0.0
    # a huge size is Poisson: P(X >= 2 | mean 1) = 1 - 2/e
    assert nbinom_sf(2, 1.0, 1e9) == pytest.approx(1 - 2 / math.e, rel=1e-5)
    # overdispersion makes a high count less surprising; tiny tails stay exact (no 1 - cdf)
    assert nbinom_sf(20, 2.0, 1.0) > nbinom_sf(20, 2.0, 1e9)
    assert 0 < nbinom_sf(60, 1.0, 1e9) < 1e-60


@pytest.mark.parametrize(("p", "tier"), [(1e-5, "info"), (1.01e-5, None), (1e-6, "warning"), (1e-9, "critical"), (0.5, None)])
def test_severity_tiers_at_their_boundaries(p: float, tier: str | None) -> None:
    assert severity(p, S) == tier


def test_busy_saturday_evening_is_not_a_spike_but_the_same_count_on_a_quiet_tuesday_night_is() -> None:
    history = weekly(busy_weekends, TUE_NIGHT - timedelta(hours=3), 28)
    profile = seasonal_profile(history, range(min(history), hour_index(TUE_NIGHT)))
    assert profile.hod[20] > 3 * profile.hod[4] and profile.dow[5] > profile.dow[1]
    sat = with_window({h: v for h, v in history.items() if h < hour_index(SAT_EVENING) - 3}, SAT_EVENING, [4, 4, 4])
    assert negative_spike(sat, profile, now=SAT_EVENING, s=S) is None
    tue = with_window(history, TUE_NIGHT, [4, 4, 4])
    f = negative_spike(tue, profile, now=TUE_NIGHT, s=S)
    assert f is not None and f.observed == 12 and f.expected < 1 and f.severity == "critical"
    assert f.details()["ratio"] > 12 and f.details()["window_hours"] == 3


def test_minimum_count() -> None:
    now, quiet = TUE_NIGHT, {}
    assert negative_spike(with_window(quiet, now, [1, 1, 2]), Profile(), now=now, s=S) is None  # 4 < 5
    f = negative_spike(with_window(quiet, now, [1, 2, 2]), Profile(), now=now, s=S)
    assert f is not None and f.observed == 5
    assert negative_spike(with_window(quiet, now, [1, 2, 2]), Profile(), now=now, s=replace(S, min_count=6)) is None


def test_minimum_ratio_to_expected() -> None:
    now = TUE_NIGHT
    flat = weekly(lambda d, h: 1.0, now - timedelta(hours=3), 28)  # 1 an hour: expects 3.0 in 3 h
    loose = replace(S, p_info=0.4, p_warning=0.2, p_critical=0.1)
    assert negative_spike(with_window(flat, now, [2, 2, 2]), Profile(), now=now, s=loose) is None  # 6 < 2 x 3.0007
    f = negative_spike(with_window(flat, now, [2, 2, 2]), Profile(), now=now, s=replace(loose, min_ratio=1.99))
    assert f is not None and f.expected == pytest.approx(3.0, abs=0.01)
    assert negative_spike(with_window(flat, now, [2, 3, 2]), Profile(), now=now, s=S) is None  # ratio ok, p not


def test_negative_share_jump() -> None:
    now = TUE_NIGHT
    mentions = weekly(lambda d, h: 5.0, now - timedelta(hours=24), 28)
    negative = weekly(lambda d, h: 1.0, now - timedelta(hours=24), 28)  # 20% negative
    n24 = with_window(mentions, now, [5] * 24)  # 120 mentions in the window

    def neg24(k: int) -> dict[int, float]:
        return with_window(negative, now, [k // 24 + (1 if i < k % 24 else 0) for i in range(24)])

    # baseline (672 + 0.5) / (3360 + 1) = 0.20009, so the bar is 40.009%
    f = negative_share(n24, neg24(49), now=now, s=S)  # 40.8%
    assert f is not None and f.observed == pytest.approx(49 / 120) and f.expected == pytest.approx(0.2, abs=0.001)
    assert f.extra == {"mentions": 120, "negative": 49}
    assert negative_share(n24, neg24(48), now=now, s=S) is None  # 40.0% < 40.009%
    few = with_window(mentions, now, [0] * 15 + [1] * 9)
    assert negative_share(few, neg24(9), now=now, s=S) is None  # 9 mentions < share_min_mentions


def test_rating_drop() -> None:
    now = TUE_NIGHT
    rated = weekly(lambda d, h: 2.0, now - timedelta(hours=72), 28)
    rsum = {h: 8.0 for h in rated}  # 4.0 average
    rsq = {h: 34.0 for h in rated}  # ratings 3 and 5: sd 1.0
    hours = 20

    def window(mean: float) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
        return (with_window(rated, now, [2] * hours), with_window(rsum, now, [2 * mean] * hours),
                with_window(rsq, now, [2 * mean * mean] * hours))

    f = rating_drop(*window(3.0), now=now, s=S)  # 40 ratings at 3.0, t = 1 / (1 / sqrt(40))
    assert f is not None and f.observed == pytest.approx(3.0) and f.expected == pytest.approx(4.0)
    assert f.magnitude == pytest.approx(1.0) and f.severity == "warning"
    assert rating_drop(*window(3.3), now=now, s=S) is None  # 0.7 < rating_drop 0.75
    hours = 2  # 4 ratings < rating_min_rated
    assert rating_drop(*window(1.0), now=now, s=S) is None


@pytest.mark.parametrize(("now", "before", "tier"), [
    (300, None, None),        # first sighting: nothing to compare with
    (300, 100, "info"),       # +200, 3x
    (299, 100, None),         # +199
    (500, 300, None),         # +200 but only 1.67x
    (1000, 0, "warning"),     # +1000 = 5 x min growth
    (5000, 0, "critical"),    # +5000 = 25 x
])
def test_viral_growth(now: int, before: int | None, tier: str | None) -> None:
    assert viral_growth(now, before, s=S) == tier


@pytest.mark.parametrize(("t", "df", "tail"), [
    (12.706, 1, 0.025), (3.182, 3, 0.025), (2.228, 10, 0.025), (2.764, 10, 0.01), (4.501, 5, 0.0032),
    (0.0, 4, 0.5), (-2.228, 10, 0.975),
])
def test_t_tail_matches_the_tables(t: float, df: int, tail: float) -> None:
    # critical values from a printed Student-t table (two-sided 5% and 2%, ...)
    assert t_sf(t, df) == pytest.approx(tail, rel=2e-3, abs=1e-4)


def test_t_far_tail_is_not_flattened() -> None:
    # 8 ratings three stars below a baseline with sd 0.5: t = 17, far beyond any normal
    # approximation's reach; the exact tail is about 3e-7 (a warning, not noise)
    assert 1e-7 < t_sf(16.97, 7) < 1e-6
