"""The served decision's cost: the baseline alone vs the baseline with the decision layer (stated-hazard rule).

Measured in this run on the dev texts as served (normalised), one thread, medians of 5 passes, each pass
starting with no cached word segmentation. Printed: texts/s of the stated-hazard rule alone, of the model's
``predict`` and of ``decide`` (predict + thresholds + rule), and the ratio decide / predict, with the load
average. The serving baseline is trained first if there is none (seconds). The test split is never touched.

Run: ``python -m bench decision_speed``.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence


def _median_seconds(fn: Callable[[], object], repeats: int, before: Callable[[], None]) -> float:
    times = []
    for _ in range(repeats):
        before()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> None:
    from threadpoolctl import threadpool_limits

    from riskmine.models.corpus import as_served, load_corpus
    from riskmine.models.decision import decide
    from riskmine.models.registry import MODEL_NAME, ensure_model, load_serving
    from riskmine.models.stated_hazard import stated_hazards_batch
    from riskmine.settings import get_settings
    from riskmine.text.tokenize import clear_cache

    settings = get_settings()
    ensure_model(settings, name=MODEL_NAME)
    model = load_serving(settings, MODEL_NAME)
    dev = as_served(load_corpus(settings=settings).dev)
    texts = [e.text for e in dev]
    types = [e.source_type.value if e.source_type else None for e in dev]
    repeats = 5
    with threadpool_limits(limits=1):
        model.predict(texts[:8])
        stated_hazards_batch(texts[:8], types[:8])
        rules = _median_seconds(lambda: stated_hazards_batch(texts, types), repeats, lambda: None)
        predict = _median_seconds(lambda: model.predict(texts), repeats, clear_cache)
        decided = _median_seconds(lambda: decide(model, texts, types), repeats, clear_cache)
    n = len(texts)
    print(f"load average {os.getloadavg()[0]:.2f}; {n} dev texts; one thread; medians of {repeats} passes")
    print(f"stated-hazard rule alone: {n / rules:,.0f} texts/s")
    print(f"{model.name} predict:       {n / predict:,.0f} texts/s")
    print(f"predict + decision layer:   {n / decided:,.0f} texts/s")
    print(f"ratio (decision / predict): {predict / decided:.3f}")
