"""Trend and disproportionality statistics checked against values computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from riskmine.knowledge_graph.statistics import (
    binomial_concentration_test,
    daily_counts,
    ears_c2_series,
    ears_c3,
    ears_test,
    poisson_rate_test,
    prr_test,
    trend_statistics,
    yates_chi2,
)

BASELINE = [1, 2, 1, 2, 1, 2, 1]  # mean 10/7, sample sd sqrt((4·(3/7)² + 3·(4/7)²) / 6) = 0.534522


def test_daily_counts_place_days_in_the_window() -> None:
    end = date(2026, 3, 10)
    days = [date(2026, 3, 10), date(2026, 3, 10), date(2026, 3, 8), date(2026, 3, 1), date(2026, 3, 11)]
    assert daily_counts(days, end, 3) == [1, 0, 2]  # 3-1 is before the window, 3-11 after it
    with pytest.raises(ValueError, match="length"):
        daily_counts(days, end, 0)


def test_ears_c2_uses_a_lagged_seven_day_baseline() -> None:
    counts = [*BASELINE, 0, 0, 8]  # the two lag days (0, 0) stay out of the baseline
    c2 = ears_c2_series(counts, min_sigma=0.2)
    assert c2[:9] == [None] * 9
    assert c2[9] == pytest.approx((8 - 10 / 7) / 0.534522, rel=1e-5)  # 12.294
    floored = ears_c2_series(counts)  # σ floored at 1
    assert floored[9] == pytest.approx(8 - 10 / 7)  # 6.5714
    result = ears_test(counts)
    assert result["c2"] == pytest.approx(6.5714, abs=1e-4)
    assert result["c2_threshold"] == 3.0 and result["signal"] is True
    assert result["days_since_alert"] == 0


def test_ears_c2_stays_quiet_on_a_flat_series() -> None:
    result = ears_test([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2])
    assert result["signal"] is False
    assert result["c2"] == pytest.approx(max(0.0, (2 - 10 / 7) / 1.0), abs=1e-4)  # day 11 against days 2-8
    assert result["days_since_alert"] is None


def test_ears_c3_sums_the_excess_of_three_days_of_c2() -> None:
    assert ears_c3([None, 2.5, 0.5, 3.0]) == pytest.approx(1.5 + 0.0 + 2.0)
    assert ears_c3([2.5, None, 3.0]) is None
    assert ears_c3([3.0]) is None


def test_poisson_rate_test_against_the_baseline_window() -> None:
    # 6 events in 14 days after 4 in 56: X ~ Bin(10, 0.2), P(X ≥ 6) = 0.0063694
    result = poisson_rate_test(6, 4)
    assert result["p_value"] == pytest.approx(0.0063694, abs=1e-6)
    assert result["expected"] == 1.0
    assert result["signal"] is True
    assert poisson_rate_test(2, 0)["signal"] is False  # p = 0.04 and fewer than 3 events
    assert poisson_rate_test(3, 12)["signal"] is False  # same rate as the baseline
    assert poisson_rate_test(0, 0)["p_value"] == 1.0
    with pytest.raises(ValueError, match="0 or more"):
        poisson_rate_test(-1, 3)


def test_prr_with_yates_chi2() -> None:
    result = prr_test(6, 4, 10, 80)
    assert result["prr"] == pytest.approx(5.4)  # (6/10) / (10/90)
    assert result["chi2_yates"] == pytest.approx(15_210_000 / 1_209_600, abs=1e-4)  # 12.5744
    assert result["n"] == 6 and result["signal"] is True
    weak = prr_test(2, 8, 10, 80)  # n below 3
    assert weak["signal"] is False and weak["prr"] == pytest.approx(1.8)
    only_here = prr_test(4, 0, 0, 50)
    assert only_here["prr"] is None and only_here["prr_infinite"] is True and only_here["signal"] is True
    assert prr_test(0, 0, 3, 3)["prr"] is None
    with pytest.raises(ValueError, match="cell c"):
        prr_test(1, 1, -1, 1)


def test_yates_chi2_of_an_empty_margin_is_zero() -> None:
    assert yates_chi2(0, 0, 5, 5) == 0.0
    assert yates_chi2(5, 5, 5, 5) == 0.0  # |ad − bc| = 0 is below the correction


def test_binomial_concentration() -> None:
    result = binomial_concentration_test(5, 6, 0.2)  # P(X ≥ 5), X ~ Bin(6, 0.2) = 0.0016
    assert result["p_value"] == pytest.approx(0.0016)
    assert result["signal"] is True
    assert binomial_concentration_test(2, 10, 0.2)["signal"] is False
    with pytest.raises(ValueError, match="k <= n"):
        binomial_concentration_test(5, 3, 0.2)
    with pytest.raises(ValueError, match="share"):
        binomial_concentration_test(1, 3, 1.5)


def test_trend_statistics_from_daily_event_counts() -> None:
    today = date(2026, 6, 30)
    rising = {"2026-06-20": 2, "2026-06-25": 2, "2026-06-29": 3, "2026-05-01": 1}
    result = trend_statistics(rising, today)
    assert result["poisson"]["recent"] == 7 and result["poisson"]["baseline"] == 1
    assert result["rising"] is True
    steady = {f"2026-{m:02d}-{d:02d}": 1 for m in (4, 5, 6) for d in (3, 13, 23)}
    assert trend_statistics(steady, today)["rising"] is False
