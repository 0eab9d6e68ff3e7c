from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from riskmine.schema import (
    MAX_TEXT_CHARS,
    Decision,
    HazardMention,
    HazardType,
    RawDocument,
    Signal,
    SourceType,
    document_id,
)


def test_document_id_is_stable_and_prefers_source_id_then_url() -> None:
    a = RawDocument(source="jd", source_type="review", source_id="123", text="充电宝冒烟")
    b = RawDocument(source="jd", source_type="review", source_id="123", text="另一段文字")
    assert a.id == b.id == document_id("jd", "123", None, "x")
    c = RawDocument(source="jd", source_type="news", url="https://e.cn/a", text="t")
    d = RawDocument(source="jd", source_type="news", url="https://e.cn/a", text="u")
    assert c.id == d.id and c.id != a.id
    e = RawDocument(source="jd", source_type="review", text="同一段文字")
    f = RawDocument(source="jd", source_type="review", text="同一段文字")
    g = RawDocument(source="tb", source_type="review", text="同一段文字")
    assert e.id == f.id != g.id


def test_document_rejects_blank_text_unknown_fields_and_huge_text() -> None:
    with pytest.raises(ValidationError, match="text is empty"):
        RawDocument(source="s", source_type="review", text="  \n ")
    with pytest.raises(ValidationError, match="extra"):
        RawDocument(source="s", source_type="review", text="ok", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RawDocument(source="s", source_type="review", text="字" * (MAX_TEXT_CHARS + 1))
    with pytest.raises(ValidationError):
        RawDocument(source="s", source_type="tweet", text="ok")  # type: ignore[arg-type]


def test_signal_hazard_codes_skip_mentions_ruled_out_and_keep_order() -> None:
    doc = RawDocument(source="s", source_type=SourceType.review, text="漏电保护器买来装上了，充电宝冒烟")
    sig = Signal.from_document(doc)
    sig.hazards = [
        HazardMention(start=0, end=2, text="漏电", term="漏电", hazard=HazardType.electric_shock, in_sense=False),
        HazardMention(start=13, end=15, text="冒烟", term="冒烟", hazard=HazardType.fire, in_sense=True),
        HazardMention(start=13, end=15, text="冒烟", term="冒烟", hazard=HazardType.fire),
    ]
    assert sig.hazard_codes == [HazardType.fire]
    assert sig.when == doc.collected_at
    published = datetime(2026, 5, 1, tzinfo=UTC)
    doc2 = doc.model_copy(update={"published_at": published})
    assert Signal.from_document(doc2).when == published


def test_signal_round_trips_through_json() -> None:
    doc = RawDocument(
        source="s", source_type="news", title="标题", text="正文", published_at="2026-01-02T03:04:05+08:00"
    )
    sig = Signal.from_document(doc)
    sig.is_risk = True
    sig.risk_score = 0.93
    again = Signal.model_validate_json(sig.model_dump_json())
    assert again == sig
    assert again.document.published_at is not None and again.document.published_at.utcoffset() is not None


def test_decision_gets_an_id() -> None:
    d = Decision(candidate_id="c1", status="confirmed", decided_by="analyst")
    assert d.id.startswith("x") and len(d.id) > 10
