"""Signals for the graph tests: real demo-corpus documents tagged by the real normalize and tag stages."""

from __future__ import annotations

import json
from functools import lru_cache

from riskmine.pipeline import Pipeline
from riskmine.schema import RawDocument, Signal, SourceType
from riskmine.settings import BUNDLED_DEMO, Settings

DEMO = BUNDLED_DEMO
ALL_STAGES = ("normalize", "denoise", "dedup", "segment", "tag", "disambiguate", "classify", "grade")


@lru_cache(maxsize=1)
def _tagged() -> tuple[Signal, ...]:
    docs = [RawDocument(**json.loads(line)) for line in DEMO.read_text(encoding="utf-8").splitlines() if line.strip()]
    # every document naming a brand or an enterprise, every one that is not a review, and some reviews
    named = {d.id for d in docs if d.brand or d.enterprise or d.source_type is not SourceType.review}
    picked = [d for d in docs if d.id in named] + [d for d in docs if d.id not in named][:150]
    settings = Settings(disabled_stages=",".join(s for s in ALL_STAGES if s not in ("normalize", "tag")))
    signals = Pipeline.from_settings(settings).process(picked)
    for s in signals:  # the classifier is off here: a named hazard makes a risk signal
        s.is_risk = bool(s.hazard_codes)
    return tuple(signals)


def demo_signals() -> list[Signal]:
    """Fresh copies of the tagged demo signals (tests may change them)."""
    return [s.model_copy(deep=True) for s in _tagged()]
