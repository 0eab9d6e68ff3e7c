"""How records are shown over the API: JSON-ready dicts with links to the related resources."""

from __future__ import annotations

from typing import Any

from riskmine.schema import CandidateRisk, Evidence, RawDocument, Signal

API = "/api/v1"
SUMMARY_TEXT_CHARS = 300


def document_url(document_id: str) -> str:
    return f"{API}/documents/{document_id}"


def signal_url(signal_id: str) -> str:
    return f"{API}/signals/{signal_id}"


def candidate_url(candidate_id: str) -> str:
    return f"{API}/candidates/{candidate_id}"


def document_view(doc: RawDocument) -> dict[str, Any]:
    out = doc.model_dump(mode="json")
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
        "url": doc.url,
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


def signal_detail(sig: Signal) -> dict[str, Any]:
    out = sig.model_dump(mode="json", exclude={"segmented_text"})
    out["hazard_codes"] = [h.value for h in sig.hazard_codes]
    out["document_url"] = document_url(sig.document.id)
    out["links"] = {"self": signal_url(sig.id), "document": document_url(sig.document.id)}
    return out


def candidate_summary(cand: CandidateRisk) -> dict[str, Any]:
    out = cand.model_dump(mode="json", exclude={"evidence", "signal_ids"})
    out["links"] = {"self": candidate_url(cand.id)}
    return out


def evidence_view(ev: Evidence) -> dict[str, Any]:
    out = ev.model_dump(mode="json")
    out["document_url"] = document_url(ev.document_id)
    out["signal_url"] = signal_url(ev.signal_id)
    return out


def candidate_detail(cand: CandidateRisk) -> dict[str, Any]:
    out = cand.model_dump(mode="json", exclude={"evidence"})
    out["evidence"] = [evidence_view(ev) for ev in cand.evidence]
    out["links"] = {"self": candidate_url(cand.id), "signals": [signal_url(s) for s in cand.signal_ids]}
    return out
