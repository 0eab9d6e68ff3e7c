"""Choosing the uncertain band and combining scores (no transformer needed)."""

from __future__ import annotations

import numpy as np

from riskmine.models.encoder.cascade import Band, choose_band, combine, decide


def test_band_routes_at_most_share_and_improves_f1() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.3).astype(np.int8)
    base = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, 0.2, n), 0, 1)
    transformer = np.where(y == 1, 0.9, 0.1)  # a perfect second opinion
    band = choose_band(y, base, 0.5, transformer, 0.5, max_share=0.10)
    routed = band.contains(base)
    assert 0 < routed.sum() <= 40
    assert band.low <= 0.5 <= band.high
    base_f1 = 2 * ((base >= 0.5) & (y == 1)).sum() / ((base >= 0.5).sum() + y.sum())
    assert band.dev_f1 > base_f1
    pred = decide(base, 0.5, band, routed, transformer[routed], 0.5)
    assert np.array_equal(pred[routed], y[routed].astype(bool))


def test_combine_keeps_band_inside_its_bounds() -> None:
    band = Band(0.3, 0.6, 0.1, 0.0)
    base = np.array([0.1, 0.35, 0.5, 0.9])
    routed = band.contains(base)
    out = combine(base, band, routed, np.array([1.0, 0.0]))
    assert out.tolist() == [0.1, 0.6, 0.3, 0.9]
