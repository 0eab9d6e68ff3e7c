"""Choosing and presenting the signals shown as evidence for a candidate risk.

Evidence is ranked by how informative a signal is to an analyst: harm that
occurred, the classifier's risk score, the weight of its source type (an official
recall or spot check says more than a review), a text long enough to say what
happened but not a wall of text, and recency.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from riskmine.knowledge_graph.hazards import harm_gravity
from riskmine.schema import Evidence, HazardType, Signal, SourceType

CHINA_TZ = timezone(timedelta(hours=8), "CST")

SOURCE_TYPE_WEIGHT: dict[SourceType, float] = {
    SourceType.recall: 1.0,
    SourceType.spot_check: 1.0,
    SourceType.injury_report: 1.0,
    SourceType.government_notice: 0.9,
    SourceType.news: 0.8,
    SourceType.station_report: 0.8,
    SourceType.complaint: 0.7,
    SourceType.public_report: 0.6,
    SourceType.review: 0.4,
}

# Share of the evidence score each property contributes (sums to 1).
EVIDENCE_WEIGHTS: dict[str, float] = {
    "harm": 0.30,
    "risk_score": 0.25,
    "source_type": 0.20,
    "length": 0.10,
    "recency": 0.15,
}
RECENCY_HALF_LIFE_DAYS = 60.0
SNIPPET_BEFORE = 40
SNIPPET_AFTER = 80


def as_china_time(when: datetime) -> datetime:
    """An aware datetime in China Standard Time; naive datetimes are taken as China local time."""
    if when.tzinfo is None:
        return when.replace(tzinfo=CHINA_TZ)
    return when.astimezone(CHINA_TZ)


def length_quality(n_chars: int) -> float:
    """1.0 for texts of 40-800 characters, less for shorter ones and for very long ones."""
    if n_chars < 40:
        return max(0.0, n_chars / 40)
    if n_chars <= 800:
        return 1.0
    return max(0.3, 800 / n_chars)


def recency(when: datetime, now: datetime) -> float:
    """1.0 for a signal from `now`, halving every RECENCY_HALF_LIFE_DAYS (future dates count as now)."""
    age_days = max(0.0, (as_china_time(now) - as_china_time(when)).total_seconds() / 86400)
    return math.pow(0.5, age_days / RECENCY_HALF_LIFE_DAYS)


def signal_text(signal: Signal) -> str:
    """The text spans refer to: the normalized text, or the raw text before normalization."""
    return signal.normalized_text or signal.document.text


def evidence_score(signal: Signal, now: datetime) -> float:
    """How informative the signal is as evidence, in [0, 1]."""
    parts = {
        "harm": harm_gravity(signal.harm, signal.harm_occurred),
        "risk_score": min(1.0, max(0.0, signal.risk_score)),
        "source_type": SOURCE_TYPE_WEIGHT.get(signal.document.source_type, 0.5),
        "length": length_quality(len(signal_text(signal))),
        "recency": recency(signal.when, now),
    }
    return round(sum(EVIDENCE_WEIGHTS[k] * v for k, v in parts.items()), 4)


def _anchor(signal: Signal, hazard: HazardType | None, text_len: int) -> tuple[int, int] | None:
    """The first span supporting `hazard` (else any evidence span), clamped to the text."""
    spans = sorted(
        (m.start, m.end) for m in signal.hazards if m.in_sense is not False and (hazard is None or m.hazard == hazard)
    )
    if not spans:
        spans = sorted((s.start, s.end) for s in signal.evidence)
    for start, end in spans:
        if start < text_len:
            return start, max(start, min(end, text_len))
    return None


def snippet(signal: Signal, hazard: HazardType | None = None) -> str:
    """A window of the text around the first evidence of `hazard`, with "…" where it is cut.

    Nothing is escaped: the API escapes on output.
    """
    text = signal_text(signal)
    anchor = _anchor(signal, hazard, len(text))
    if anchor is None:
        start, end = 0, min(len(text), SNIPPET_BEFORE + SNIPPET_AFTER)
    else:
        start = max(0, anchor[0] - SNIPPET_BEFORE)
        end = min(len(text), anchor[1] + SNIPPET_AFTER)
    body = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def make_evidence(signal: Signal, hazard: HazardType | None, score: float, duplicates: int) -> Evidence:
    doc = signal.document
    return Evidence(
        signal_id=signal.id,
        document_id=doc.id,
        source=doc.source,
        source_type=doc.source_type,
        url=doc.url,
        title=doc.title,
        snippet=snippet(signal, hazard),
        published_at=doc.published_at,
        score=score,
        duplicates=duplicates,
    )
