"""Signal statistics of a candidate risk: trend against its own baseline and disproportionality.

Pure functions over counts. Each test returns a plain dict that names its statistic,
the value, the threshold and the verdict (``signal``), so that the candidate's
``statistics`` explain themselves to an analyst:

* **EARS C2 / C3** (CDC Early Aberration Reporting System) on daily event counts:
  C2 on day t is ``(x_t − μ) / σ`` where μ and σ are the mean and standard deviation
  of the 7 days ending 3 days before t (a 2-day lag keeps the start of an outbreak
  out of its own baseline); alert when C2 > 3. C3 is the sum over day t and the two
  days before of ``max(0, C2 − 1)``; alert when C3 > 2. σ is floored at ``min_sigma``
  (sparse product reports have σ = 0 most weeks; a floor of 1 means a day needs more
  than 3 events over its baseline mean to alert).
* **Poisson rate test**: events in the recent window against the baseline window
  before it, by the exact conditional test for two Poisson rates (given the total
  n, the recent count is Binomial(n, recent_days / (recent_days + baseline_days))
  when the rate is unchanged); signal when p < alpha and the recent count is at
  least ``min_count``. This is the test that catches a slow steady rise.
* **PRR** (proportional reporting ratio, pharmacovigilance): the share of the
  category's events with this hazard over the share of all other categories'
  events with it, with Yates-corrected χ² and n; signal when PRR ≥ 2, χ² ≥ 4, n ≥ 3
  (Evans et al. 2001).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from scipy.stats import binom

from riskmine.knowledge_graph.evidence import as_china_time

EARS_BASELINE_DAYS = 7
EARS_LAG_DAYS = 2
C2_THRESHOLD = 3.0
C3_THRESHOLD = 2.0
C3_DAYS = 3
MIN_SIGMA = 1.0
RECENT_DAYS = 14
BASELINE_DAYS = 56
POISSON_ALPHA = 0.01
POISSON_MIN_COUNT = 3
PRR_MIN = 2.0
CHI2_MIN = 4.0
PRR_MIN_N = 3


def china_date(when: datetime) -> date:
    """The calendar day of a time in China Standard Time."""
    return as_china_time(when).date()


def daily_counts(days: Iterable[date], end: date, length: int) -> list[int]:
    """Counts per day over the `length` days ending on `end` (inclusive), oldest first; other days ignored."""
    if length < 1:
        raise ValueError(f"length must be at least 1, got {length}")
    start = end - timedelta(days=length - 1)
    counts = [0] * length
    for day in days:
        if start <= day <= end:
            counts[(day - start).days] += 1
    return counts


def _mean_sd(values: Sequence[int]) -> tuple[float, float]:
    """Mean and sample standard deviation (n − 1), as EARS uses."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var)


def ears_c2_series(
    counts: Sequence[int],
    *,
    baseline: int = EARS_BASELINE_DAYS,
    lag: int = EARS_LAG_DAYS,
    min_sigma: float = MIN_SIGMA,
) -> list[float | None]:
    """C2 for each day of `counts` (None where the baseline is not complete)."""
    out: list[float | None] = []
    for t, x in enumerate(counts):
        lo, hi = t - lag - baseline, t - lag
        if lo < 0:
            out.append(None)
            continue
        mean, sd = _mean_sd(counts[lo:hi])
        out.append(max(0.0, (x - mean) / max(sd, min_sigma)))
    return out


def ears_c3(c2: Sequence[float | None], *, days: int = C3_DAYS) -> float | None:
    """C3 of the last day: Σ max(0, C2 − 1) over it and the days − 1 before (None if any is missing)."""
    window = list(c2[-days:])
    if len(window) < days or any(v is None for v in window):
        return None
    return sum(max(0.0, v - 1.0) for v in window if v is not None)


def ears_test(counts: Sequence[int], *, min_sigma: float = MIN_SIGMA) -> dict[str, Any]:
    """EARS C2 and C3 on the last day of `counts` (daily counts, oldest first), and whether either alerts.

    Also reports the most recent day within the series on which C2 or C3 alerted
    (``days_since_alert``), so a burst a few days ago stays visible.
    """
    c2 = ears_c2_series(counts, min_sigma=min_sigma)
    c3_series = [ears_c3(c2[: t + 1]) for t in range(len(c2))]
    last_c2 = c2[-1] if c2 else None
    last_c3 = c3_series[-1] if c3_series else None
    alerts = [t for t in range(len(c2)) if _above(c2[t], C2_THRESHOLD) or _above(c3_series[t], C3_THRESHOLD)]
    return {
        "method": "EARS C2/C3 on daily event counts",
        "baseline_days": EARS_BASELINE_DAYS,
        "lag_days": EARS_LAG_DAYS,
        "min_sigma": min_sigma,
        "c2": None if last_c2 is None else round(last_c2, 4),
        "c2_threshold": C2_THRESHOLD,
        "c3": None if last_c3 is None else round(last_c3, 4),
        "c3_threshold": C3_THRESHOLD,
        "days_since_alert": (len(c2) - 1 - alerts[-1]) if alerts else None,
        "signal": _above(last_c2, C2_THRESHOLD) or _above(last_c3, C3_THRESHOLD),
    }


def _above(value: float | None, threshold: float) -> bool:
    return value is not None and value > threshold


def poisson_rate_test(
    recent: int,
    baseline: int,
    *,
    recent_days: int = RECENT_DAYS,
    baseline_days: int = BASELINE_DAYS,
    alpha: float = POISSON_ALPHA,
    min_count: int = POISSON_MIN_COUNT,
) -> dict[str, Any]:
    """Exact one-sided test that the recent daily rate exceeds the baseline rate.

    p = P(X ≥ recent) for X ~ Binomial(recent + baseline, recent_days / (recent_days + baseline_days)).
    """
    if recent < 0 or baseline < 0:
        raise ValueError(f"counts must be 0 or more, got recent={recent}, baseline={baseline}")
    if recent_days < 1 or baseline_days < 1:
        raise ValueError("window lengths must be at least one day")
    n = recent + baseline
    share = recent_days / (recent_days + baseline_days)
    p_value = float(binom.sf(recent - 1, n, share)) if n > 0 else 1.0
    expected = baseline * recent_days / baseline_days
    return {
        "method": "exact conditional Poisson rate test, recent window vs baseline window",
        "recent_days": recent_days,
        "baseline_days": baseline_days,
        "recent": recent,
        "baseline": baseline,
        "expected": round(expected, 4),
        "rate_ratio": round((recent / recent_days) / ((baseline + 0.5) / baseline_days), 4),
        "p_value": round(p_value, 6),
        "alpha": alpha,
        "min_count": min_count,
        "signal": p_value < alpha and recent >= min_count,
    }


def prr_test(a: int, b: int, c: int, d: int) -> dict[str, Any]:
    """PRR of a hazard in a category from the 2×2 table of events.

    a: this category, this hazard; b: this category, other hazards;
    c: other categories, this hazard; d: other categories, other hazards.
    PRR = (a / (a + b)) / (c / (c + d)), infinite when c is 0 and a > 0 (reported as None);
    χ² with Yates' correction.
    """
    for name, v in (("a", a), ("b", b), ("c", c), ("d", d)):
        if v < 0:
            raise ValueError(f"cell {name} must be 0 or more, got {v}")
    prr: float | None
    if a + b == 0 or c + d == 0:
        prr = None
    elif c == 0:
        prr = math.inf if a > 0 else None
    else:
        prr = (a / (a + b)) / (c / (c + d))
    chi2 = yates_chi2(a, b, c, d)
    signal = prr is not None and prr >= PRR_MIN and chi2 >= CHI2_MIN and a >= PRR_MIN_N
    return {
        "method": "proportional reporting ratio of the hazard in the category vs all other categories",
        "table": {"a": a, "b": b, "c": c, "d": d},
        "prr": None if prr is None or math.isinf(prr) else round(prr, 4),
        "prr_infinite": prr is not None and math.isinf(prr),
        "chi2_yates": round(chi2, 4),
        "n": a,
        "thresholds": {"prr": PRR_MIN, "chi2": CHI2_MIN, "n": PRR_MIN_N},
        "signal": signal,
    }


def yates_chi2(a: int, b: int, c: int, d: int) -> float:
    """Pearson's χ² with Yates' continuity correction for a 2×2 table (0 when a margin is empty)."""
    n = a + b + c + d
    rows, cols = (a + b, c + d), (a + c, b + d)
    if n == 0 or 0 in rows or 0 in cols:
        return 0.0
    diff = max(0.0, abs(a * d - b * c) - n / 2)
    return n * diff * diff / (rows[0] * rows[1] * cols[0] * cols[1])


def binomial_concentration_test(
    k: int, n: int, share: float, *, alpha: float = POISSON_ALPHA, min_count: int = POISSON_MIN_COUNT
) -> dict[str, Any]:
    """Whether k of n events in one group exceed what the group's share of all events predicts.

    One-sided exact binomial test p = P(X ≥ k), X ~ Binomial(n, share).
    """
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], got {share}")
    p_value = float(binom.sf(k - 1, n, share)) if n > 0 else 1.0
    return {
        "method": "exact one-sided binomial test of the group's count vs its share of all signals",
        "k": k,
        "n": n,
        "expected_share": round(share, 4),
        "observed_share": round(k / n, 4) if n else 0.0,
        "p_value": round(p_value, 6),
        "alpha": alpha,
        "min_count": min_count,
        "signal": p_value < alpha and k >= min_count,
    }


def trend_statistics(day_counts: Mapping[str, int], today: date) -> dict[str, Any]:
    """EARS and Poisson tests for daily event counts keyed by ISO date, as of `today`."""
    total_days = RECENT_DAYS + BASELINE_DAYS
    # counted per day, not per event: a candidate at 1M signals has 10⁵ events on a few hundred days (issue 18)
    counts = [0] * total_days
    start = today - timedelta(days=total_days - 1)
    for key, count in day_counts.items():
        day = date.fromisoformat(key)
        if start <= day <= today:
            counts[(day - start).days] += count
    recent = sum(counts[-RECENT_DAYS:])
    baseline = sum(counts[:BASELINE_DAYS])
    ears = ears_test(counts[-(EARS_BASELINE_DAYS + EARS_LAG_DAYS + C3_DAYS + RECENT_DAYS) :])
    poisson = poisson_rate_test(recent, baseline)
    return {"ears": ears, "poisson": poisson, "rising": bool(ears["signal"] or poisson["signal"])}
