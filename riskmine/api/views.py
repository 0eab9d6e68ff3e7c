"""How records are shown over the API: JSON-ready dicts with links to the related resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskmine.review.deadlines import current_deadline
from riskmine.schema import CandidateRisk, Evidence, RawDocument, Signal
from riskmine.schema.urls import web_url
from riskmine.text.pii import PRIVATE_META_KEYS

API = "/api/v1"
SUMMARY_TEXT_CHARS = 300


def document_url(document_id: str) -> str:
    return f"{API}/documents/{document_id}"


def signal_url(signal_id: str) -> str:
    return f"{API}/signals/{signal_id}"


def candidate_url(candidate_id: str) -> str:
    return f"{API}/candidates/{candidate_id}"


def _without_private_meta(document: dict[str, Any]) -> dict[str, Any]:
    """Leave out the meta keys that hold a person's data (a public reporter's contact): shown to admins only."""
    meta = document.get("meta")
    if isinstance(meta, dict) and PRIVATE_META_KEYS & meta.keys():
        document["meta"] = {k: v for k, v in meta.items() if k not in PRIVATE_META_KEYS}
    return document


def document_view(doc: RawDocument, *, show_private: bool = False) -> dict[str, Any]:
    out = doc.model_dump(mode="json")
    out["url"] = web_url(doc.url)
    if not show_private:
        _without_private_meta(out)
    out["links"] = {"self": document_url(doc.id), "signal": signal_url(doc.id)}
    return out


def signal_summary(sig: Signal) -> dict[str, Any]:
    doc = sig.document
    text = sig.normalized_text or doc.text
    return {
        "id": sig.id,
        "document_id": doc.id,
        "document_url": document_url(doc.id),
        "source": doc.source,
        "source_type": doc.source_type.value,
        "url": web_url(doc.url),
        "title": doc.title,
        "text": text[:SUMMARY_TEXT_CHARS],
        "text_truncated": len(text) > SUMMARY_TEXT_CHARS,
        "published_at": doc.published_at.isoformat() if doc.published_at else None,
        "product": doc.product,
        "brand": doc.brand,
        "product_category": sig.product_category,
        "hazards": [h.value for h in sig.hazard_codes],
        "populations": [p.value for p in sig.populations],
        "regions": [r.name for r in sig.regions],
        "harm": [h.value for h in sig.harm],
        "harm_occurred": sig.harm_occurred,
        "is_risk": sig.is_risk,
        "risk_score": sig.risk_score,
        "risk_level": sig.risk_level.value if sig.risk_level else None,
        "warning_color": sig.warning_color.value if sig.warning_color else None,
        "is_duplicate": sig.is_duplicate,
        "duplicate_group": sig.duplicate_group,
        "noise": list(sig.noise),
        "links": {"self": signal_url(sig.id), "document": document_url(doc.id)},
    }


def signal_detail(sig: Signal, *, show_private: bool = False) -> dict[str, Any]:
    out = sig.model_dump(mode="json", exclude={"segmented_text"})
    out["document"]["url"] = web_url(sig.document.url)
    if not show_private:
        _without_private_meta(out["document"])
    out["hazard_codes"] = [h.value for h in sig.hazard_codes]
    out["document_url"] = document_url(sig.document.id)
    out["links"] = {"self": signal_url(sig.id), "document": document_url(sig.document.id)}
    return out


# Bulky statistics inputs (daily counts, cause tallies, raw inputs, priority weights) are in the
# candidate's detail only: a queue page of 50 candidates stays small and quick to serialise.
SUMMARY_STATISTICS_LEFT_OUT = frozenset({"daily_events", "causes", "inputs", "priority"})


def graded(cand: CandidateRisk, out: dict[str, Any]) -> dict[str, Any]:
    """`out` (a candidate's JSON) with its grade (the decided level and colour once decided) as
    risk_level / warning_color, and the model's suggestion beside it as `suggested`."""
    out.update(cand.grade.model_dump(mode="json"))
    out["suggested"] = cand.suggested.model_dump(mode="json")
    return out


def deadline_view(cand: CandidateRisk, now: datetime | None = None) -> dict[str, Any] | None:
    """The deadline running for the candidate (riskmine.review.deadlines): kind, due_at, and the hours left
    while it runs or overdue once passed; None when none runs."""
    running = current_deadline(cand)
    return running.public(now or datetime.now(UTC)) if running else None


def candidate_summary(cand: CandidateRisk) -> dict[str, Any]:
    out = graded(cand, cand.model_dump(mode="json", exclude={"evidence", "signal_ids", "statistics"}))
    out["statistics"] = {
        name: value for name, value in cand.statistics.items() if name not in SUMMARY_STATISTICS_LEFT_OUT
    }
    out["deadline"] = deadline_view(cand)
    out["links"] = {"self": candidate_url(cand.id), "detail": candidate_url(cand.id)}
    return out


def evidence_view(ev: Evidence) -> dict[str, Any]:
    out = ev.model_dump(mode="json")
    out["url"] = web_url(ev.url)
    out["document_url"] = document_url(ev.document_id)
    out["signal_url"] = signal_url(ev.signal_id)
    return out


def factor_breakdown(cand: CandidateRisk) -> list[dict[str, Any]]:
    """Each priority factor with its value, weight and share of the priority (unweighted factors last)."""
    weights: dict[str, float] = cand.statistics.get("priority", {}).get("weights", {})
    total = sum(weights.values()) or 1.0
    rows = [
        {
            "factor": name,
            "value": value,
            "weight": weights.get(name),
            "contribution": round(weights[name] * value / total, 4) if name in weights else None,
        }
        for name, value in cand.factors.items()
    ]
    return sorted(rows, key=lambda r: (r["contribution"] is None, -(r["contribution"] or 0.0), r["factor"]))


def candidate_detail(cand: CandidateRisk) -> dict[str, Any]:
    """The candidate with its statistics, factor breakdown and evidence, each linking to its source."""
    out = graded(cand, cand.model_dump(mode="json", exclude={"evidence"}))
    out["factor_breakdown"] = factor_breakdown(cand)
    out["evidence"] = [evidence_view(ev) for ev in cand.evidence]
    out["deadline"] = deadline_view(cand)
    out["links"] = {"self": candidate_url(cand.id), "signals": [signal_url(s) for s in cand.signal_ids]}
    return out
