"""The backend-independent index specification."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from riskmine.schema import CandidateRisk, Decision, HazardType, RawDocument, Signal, SourceType
from riskmine.store.base import Collection, StoreError, UnknownFieldError
from riskmine.store.fields import (
    INDEXES,
    TIME_FIELD,
    FieldKind,
    InvalidFilterError,
    field_names,
    index_for,
    to_epoch,
)

from .samples import at, make_signal

SIGNALS = INDEXES[Collection.signals]


def values(collection: Collection, name: str, record: object) -> list[object]:
    return list(INDEXES[collection].field(name).values(record))


def test_every_collection_is_indexed_and_fields_extract(
    signals: dict[str, Signal], candidates: dict[str, CandidateRisk], decisions: dict[str, Decision]
) -> None:
    records: dict[Collection, list[object]] = {
        Collection.documents: [s.document for s in signals.values()],
        Collection.signals: list(signals.values()),
        Collection.candidates: list(candidates.values()),
        Collection.decisions: list(decisions.values()),
    }
    assert set(INDEXES) == set(Collection)
    for collection, recs in records.items():
        idx = INDEXES[collection]
        for rec in recs:
            for name, spec in idx.fields.items():
                got = spec.values(rec)
                assert len(got) == len(set(got)), (collection, name)
                assert spec.multi or len(got) <= 1, (collection, name, got)
            assert isinstance(idx.time_of(rec), float)


def test_signal_fields(signals: dict[str, Signal]) -> None:
    pb = signals["powerbank_smoke"]
    facets = set(SIGNALS.facets(pb))
    assert {
        ("source", "station:jd"),
        ("source_type", "review"),
        ("product_category", "充电宝"),
        ("hazard", "fire"),
        ("hazard", "burns"),
        ("region", "杭州市"),
        ("region", "330100"),
        ("region", "浙江省"),
        ("organisation", "罗马仕"),
        ("brand", "罗马仕"),
        ("is_risk", True),
        ("risk_level", "high"),
        ("warning_color", "red"),
        ("is_duplicate", False),
        ("harm_occurred", False),
        ("noisy", False),
        ("risk_score", 0.92),
        ("document_id", pb.document.id),
    } <= facets
    assert values(Collection.signals, "hazard", pb) == ["fire", "burns"]  # distinct, first mention first
    assert values(Collection.signals, "duplicate_group", signals["powerbank_dup"]) == [pb.id]
    assert values(Collection.signals, "population", signals["playmat_formaldehyde"]) == ["infants", "children"]


def test_ruled_out_hazards_and_noise(signals: dict[str, Signal]) -> None:
    hype = signals["phone_hype"]
    assert hype.hazards[0].hazard is HazardType.fire
    assert values(Collection.signals, "hazard", hype) == []
    assert values(Collection.signals, "noisy", hype) == [True]


def test_signal_time_is_published_else_collected() -> None:
    published = make_signal("充电宝冒烟", published_at=at(2, 5))
    collected = make_signal("充电宝冒烟了")
    assert SIGNALS.time_of(published) == at(2, 5).timestamp()
    assert SIGNALS.time_of(collected) == collected.document.collected_at.timestamp()


def test_candidate_time_is_last_seen_else_updated(candidates: dict[str, CandidateRisk]) -> None:
    idx = INDEXES[Collection.candidates]
    pb = candidates["powerbank"]
    assert idx.time(pb) == pb.last_seen
    unseen = pb.model_copy(update={"last_seen": None})
    assert idx.time(unseen) == pb.updated_at


def test_document_and_decision_time(signals: dict[str, Signal], decisions: dict[str, Decision]) -> None:
    doc = signals["heater_leak"].document
    assert INDEXES[Collection.documents].time(doc) == doc.published_at
    undated = RawDocument(source="demo", source_type=SourceType.news, text="取暖器起火", collected_at=at(1, 2))
    assert INDEXES[Collection.documents].time(undated) == at(1, 2)
    dec = decisions["reject_toy"]
    assert INDEXES[Collection.decisions].time(dec) == dec.decided_at


def test_candidate_fields(candidates: dict[str, CandidateRisk]) -> None:
    pb = candidates["powerbank"]
    assert values(Collection.candidates, "region", pb) == ["浙江省", "北京市"]
    assert values(Collection.candidates, "source_type", pb) == ["review", "news"]
    assert values(Collection.candidates, "priority", pb) == [0.91]
    assert values(Collection.candidates, "signal_count", pb) == [3]
    assert values(Collection.candidates, "tier", pb) == ["immediate"]
    assert len(values(Collection.candidates, "signal_id", pb)) == 3


def test_decision_fields(decisions: dict[str, Decision]) -> None:
    dec = decisions["confirm_powerbank"]
    assert values(Collection.decisions, "measure", dec) == ["spot_check", "consumer_advisory"]
    assert values(Collection.decisions, "decided_by", dec) == ["analyst.wang"]


def test_full_text_parts(signals: dict[str, Signal], candidates: dict[str, CandidateRisk]) -> None:
    segmented = SIGNALS.text(signals["powerbank_smoke"])
    assert segmented[1] == (signals["powerbank_smoke"].normalized_text, signals["powerbank_smoke"].segmented_text)
    unsegmented = SIGNALS.text(signals["powerbank_dup"])
    assert unsegmented[1][1] is None
    news = SIGNALS.text(signals["powerbank_news"])
    assert news[0] == ("充电宝质量抽查结果通报", None)
    parts = INDEXES[Collection.candidates].text(candidates["powerbank"])
    assert parts[0] == ("充电宝起火冒烟风险", None)
    assert any(raw and "冒烟" in raw for raw, _ in parts[2:])


def test_unknown_fields_name_the_known_ones() -> None:
    with pytest.raises(UnknownFieldError) as err:
        SIGNALS.field("colour")
    assert "colour" in str(err.value) and "risk_score" in str(err.value) and "time" in str(err.value)
    assert err.value.code == "unknown_field"
    with pytest.raises(UnknownFieldError):
        SIGNALS.field(TIME_FIELD)  # time is a pseudo-field: sort and ranges, not a facet
    assert SIGNALS.spec(TIME_FIELD).kind is FieldKind.time
    assert SIGNALS.check("time") == "time"
    assert field_names("signals")[0] == "time"


def test_unknown_collection() -> None:
    with pytest.raises(StoreError, match="documents, signals, candidates, decisions"):
        index_for("reviews")


def test_coerce_by_kind() -> None:
    assert SIGNALS.field("is_risk").coerce("true") is True
    assert SIGNALS.field("is_risk").coerce("0") is False
    assert SIGNALS.field("is_risk").coerce(1) is True
    assert SIGNALS.field("risk_score").coerce("0.8") == 0.8
    assert SIGNALS.field("risk_score").coerce(1) == 1
    assert SIGNALS.field("hazard").coerce(HazardType.fire) == "fire"
    assert SIGNALS.field("region").coerce(330100) == "330100"
    assert SIGNALS.spec("time").coerce("2024-02-01") == datetime(2024, 2, 1, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("is_risk", "maybe"),
        ("is_risk", 2),
        ("risk_score", "high"),
        ("risk_score", True),
        ("risk_score", float("nan")),
        ("hazard", True),
        ("hazard", {"a": 1}),
        ("time", "yesterday"),
        ("time", True),
    ],
)
def test_coerce_rejects_clearly(name: str, value: object) -> None:
    with pytest.raises(InvalidFilterError, match=name) as err:
        SIGNALS.spec(name).coerce(value)
    assert err.value.code == "invalid_filter"
    assert isinstance(err.value, StoreError)


def test_to_epoch() -> None:
    ref = datetime(2024, 2, 1, tzinfo=UTC).timestamp()
    assert to_epoch("2024-02-01") == ref
    assert to_epoch("2024-02-01T08:00:00+08:00") == ref
    assert to_epoch("2024-02-01T00:00:00Z") == ref
    assert to_epoch(datetime(2024, 2, 1)) == ref  # naive: UTC
    assert to_epoch(datetime(2024, 2, 1, 8, tzinfo=timezone(timedelta(hours=8)))) == ref
    assert to_epoch(date(2024, 2, 1)) == ref
    assert to_epoch(ref) == ref
    with pytest.raises(ValueError):
        to_epoch("02/01/2024")


def test_render_bucket_keys() -> None:
    assert SIGNALS.field("is_risk").render(1) == "true"
    assert SIGNALS.field("is_risk").render(0) == "false"
    assert SIGNALS.field("risk_score").render(3.0) == "3"
    assert SIGNALS.field("risk_score").render(0.85) == "0.85"
    assert SIGNALS.field("hazard").render("fire") == "fire"
    assert SIGNALS.spec("time").render(0.0) == "1970-01-01T00:00:00+00:00"
