"""The backend-independent contract of riskmine.store.base.Store.

Every backend's tests subclass :class:`StoreContract` and supply a ``make_store``
fixture: a callable that opens a new handle on the same, initially empty storage
(calling it again after ``close()`` reopens what was written).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from riskmine.schema import (
    CandidateRisk,
    CandidateStatus,
    Decision,
    HazardType,
    Population,
    RiskLevel,
    Signal,
    SourceType,
    Tier,
)
from riskmine.store.base import (
    Bucket,
    Collection,
    DuplicatePolicy,
    DuplicateRecordError,
    Range,
    Store,
    StoreError,
    TimeBucket,
    UnknownFieldError,
)
from riskmine.store.fulltext import segment_for_index

from .samples import CST, at, make_signal

S = Collection.signals
HOSTILE_QUERIES = [
    '"',
    '""',
    "'",
    "*",
    "**",
    "(",
    ")(",
    "()",
    ":",
    "^",
    "-",
    "+",
    "NEAR",
    "NEAR(充电宝 冒烟, 2)",
    "AND",
    "OR OR",
    "NOT 充电宝",
    "chars:充电宝",
    "words : 冒烟",
    '充电宝" OR "1"="1',
    "'; DROP TABLE signals; --",
    "1=1; SELECT * FROM sqlite_master",
    "\\",
    "\x00",
    "🔥🔥🔥",
    "充电宝🔥冒烟",
    "！？。，、",
    "{}[]<>|&%$#@~`",
    "a" * 500,
    "充电宝 " * 100,
]


def fetch(store: Store, collection: Collection, record_id: str) -> Any:
    """The stored record, which must exist."""
    got = store.get(collection, record_id)
    assert got is not None, f"{record_id} is not in {collection}"
    return got


def ids(records: list[object] | Iterator[object]) -> list[str]:
    return [r.id for r in records]  # type: ignore[attr-defined]


class StoreContract:
    """Tests every Store backend must pass."""

    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        raise NotImplementedError("a backend's test class supplies make_store")

    @pytest.fixture
    def store(self, make_store: Callable[[], Store]) -> Iterator[Store]:
        s = make_store()
        yield s
        s.close()

    @pytest.fixture
    def loaded(self, store: Store, signals: dict[str, Signal]) -> Store:
        result = store.write(S, list(signals.values()))
        assert result.written == len(signals)
        return store

    def _name_ids(self, signals: dict[str, Signal], *names: str) -> set[str]:
        return {signals[n].id for n in names}

    def _matching(self, store: Store, signals: dict[str, Signal], **query: object) -> set[str]:
        page = store.query(S, limit=1000, **query)  # type: ignore[arg-type]
        assert page.total == len(page.items)
        by_id = {s.id: n for n, s in signals.items()}
        return {by_id[i] for i in ids(page.items)}

    # --- protocol -----------------------------------------------------------------

    def test_implements_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)

    # --- write and get -----------------------------------------------------------

    def test_write_reports_new_records(self, store: Store, signals: dict[str, Signal]) -> None:
        result = store.write(S, list(signals.values()))
        assert (result.written, result.overwritten, result.skipped) == (len(signals), 0, 0)
        assert result.ids == [s.id for s in signals.values()]
        assert store.count(S) == len(signals)

    def test_empty_batch_writes_nothing(self, store: Store) -> None:
        result = store.write(S, [])
        assert (result.written, result.overwritten, result.skipped, result.ids) == (0, 0, 0, [])

    def test_signal_round_trips_exactly(self, loaded: Store, signals: dict[str, Signal]) -> None:
        for signal in signals.values():
            got = loaded.get(S, signal.id)
            assert got == signal
            assert isinstance(got, Signal)
        pb = fetch(loaded, S, signals["powerbank_smoke"].id)
        assert pb.document.published_at.utcoffset() == timedelta(hours=8)
        assert pb.hazards[0].hazard is HazardType.fire
        assert pb.document.meta == {"rating": 1, "tags": ["差评"]}

    def test_candidate_round_trips_exactly(self, store: Store, candidates: dict[str, CandidateRisk]) -> None:
        store.write(Collection.candidates, list(candidates.values()))
        for candidate in candidates.values():
            got = store.get(Collection.candidates, candidate.id)
            assert got == candidate
            assert isinstance(got, CandidateRisk)
        pb = fetch(store, Collection.candidates, candidates["powerbank"].id)
        assert pb.evidence[0].published_at == candidates["powerbank"].evidence[0].published_at
        assert pb.counts_by_region == {"浙江省": 2, "北京市": 1}

    def test_documents_and_decisions_round_trip(
        self, store: Store, signals: dict[str, Signal], decisions: dict[str, Decision]
    ) -> None:
        docs = [s.document for s in signals.values()]
        store.write(Collection.documents, docs)
        store.write(Collection.decisions, list(decisions.values()))
        assert store.get_many(Collection.documents, [d.id for d in docs]) == docs
        assert store.get_many(Collection.decisions, [d.id for d in decisions.values()]) == list(decisions.values())

    def test_get_missing_is_none(self, loaded: Store) -> None:
        assert loaded.get(S, "no-such-id") is None
        assert loaded.get(Collection.candidates, "no-such-id") is None

    def test_get_many_keeps_order_and_drops_missing(self, loaded: Store, signals: dict[str, Signal]) -> None:
        wanted = [signals["toy_choking"].id, "missing", signals["powerbank_smoke"].id, signals["shampoo_allergy"].id]
        got = loaded.get_many(S, wanted)
        assert ids(got) == [wanted[0], wanted[2], wanted[3]]
        assert loaded.get_many(S, []) == []

    def test_get_many_many_ids(self, store: Store) -> None:
        sigs = [
            make_signal(f"充电宝第{i}号样品冒烟", source_id=f"bulk-{i}", published_at=at(2, 1)) for i in range(1200)
        ]
        store.write(S, sigs)
        wanted = [s.id for s in reversed(sigs)]
        assert ids(store.get_many(S, wanted)) == wanted

    def test_writing_a_record_of_the_wrong_type_fails_clearly(self, store: Store, signals: dict[str, Signal]) -> None:
        with pytest.raises(StoreError, match="#1"):
            store.write(S, [signals["powerbank_smoke"], signals["powerbank_smoke"].document])
        assert store.count(S) == 0

    def test_unknown_collection_fails_clearly(self, store: Store) -> None:
        with pytest.raises(StoreError, match="unknown collection"):
            store.count("reviews")  # type: ignore[arg-type]

    # --- duplicate policies ----------------------------------------------------------

    def test_skip_keeps_stored_record(self, loaded: Store, signals: dict[str, Signal]) -> None:
        pb = signals["powerbank_smoke"]
        changed = pb.model_copy(update={"risk_score": 0.1})
        result = loaded.write(S, [changed], DuplicatePolicy.skip)
        assert (result.written, result.overwritten, result.skipped, result.ids) == (0, 0, 1, [])
        assert fetch(loaded, S, pb.id).risk_score == pytest.approx(0.92)

    def test_skip_is_the_default(self, loaded: Store, signals: dict[str, Signal]) -> None:
        result = loaded.write(S, list(signals.values()))
        assert (result.written, result.skipped) == (0, len(signals))
        assert loaded.count(S) == len(signals)

    def test_overwrite_replaces_record_facets_and_text(self, loaded: Store, signals: dict[str, Signal]) -> None:
        pb = signals["powerbank_smoke"]
        text = "移动电源鼓包后爆炸，桌面被烧黑"
        changed = pb.model_copy(
            update={
                "product_category": "移动电源",
                "normalized_text": text,
                "segmented_text": segment_for_index(text),
                "risk_score": 0.99,
            }
        )
        fresh = make_signal("电动车电池充电时起火", source_id="new-1", published_at=at(3, 1), product_category="电动车")
        result = loaded.write(S, [changed, fresh], DuplicatePolicy.overwrite)
        assert (result.written, result.overwritten, result.skipped) == (1, 1, 0)
        assert result.ids == [pb.id, fresh.id]
        assert loaded.get(S, pb.id) == changed
        assert pb.id not in ids(loaded.query(S, filters={"product_category": "充电宝"}).items)
        assert ids(loaded.query(S, filters={"product_category": "移动电源"}).items) == [pb.id]
        assert ids(loaded.query(S, filters={"risk_score": Range(gt=0.95)}).items) == [pb.id]
        assert pb.id not in ids(loaded.query(S, text="冒烟").items)
        assert ids(loaded.query(S, text="鼓包").items) == [pb.id]
        assert loaded.count(S) == len(signals) + 1
        assert {b.key: b.count for b in loaded.aggregate(S, "product_category")}["充电宝"] == 2

    def test_fail_raises_and_writes_nothing_of_the_batch(self, loaded: Store, signals: dict[str, Signal]) -> None:
        pb = signals["powerbank_smoke"]
        fresh = make_signal("电动车电池充电时起火", source_id="new-1", published_at=at(3, 1))
        with pytest.raises(DuplicateRecordError) as err:
            loaded.write(S, [fresh, pb.model_copy(update={"risk_score": 0.0})], DuplicatePolicy.fail)
        assert err.value.ids == [pb.id]
        assert err.value.code == "duplicate_record"
        assert loaded.get(S, fresh.id) is None
        assert loaded.get(S, pb.id) == pb
        assert loaded.count(S) == len(signals)

    def test_fail_writes_new_records(self, store: Store, signals: dict[str, Signal]) -> None:
        result = store.write(S, list(signals.values()), DuplicatePolicy.fail)
        assert result.written == len(signals)

    def test_repeated_ids_within_a_batch(self, store: Store) -> None:
        a1 = make_signal("充电宝冒烟", source_id="x", published_at=at(2, 1), risk_score=0.1)
        a2 = a1.model_copy(update={"risk_score": 0.2})
        a3 = a1.model_copy(update={"risk_score": 0.3})
        b = make_signal("爬行垫甲醛超标", source_id="y", published_at=at(2, 1))
        skipped = store.write(S, [a1, b, a2])
        assert (skipped.written, skipped.skipped, skipped.ids) == (2, 1, [a1.id, b.id])
        assert fetch(store, S, a1.id).risk_score == pytest.approx(0.1)
        over = store.write(S, [a2, a3], DuplicatePolicy.overwrite)
        assert (over.written, over.overwritten, over.ids) == (0, 2, [a1.id])
        assert fetch(store, S, a1.id).risk_score == pytest.approx(0.3)
        c = make_signal("热水器漏电", source_id="z", published_at=at(2, 1))
        with pytest.raises(DuplicateRecordError):
            store.write(S, [c, c], DuplicatePolicy.fail)
        assert store.get(S, c.id) is None

    def test_unknown_policy_fails_clearly(self, store: Store, signals: dict[str, Signal]) -> None:
        with pytest.raises(StoreError, match="policy"):
            store.write(S, list(signals.values()), "upsert")  # type: ignore[arg-type]

    # --- filters ---------------------------------------------------------------------

    def test_filter_scalar(self, loaded: Store, signals: dict[str, Signal]) -> None:
        got = self._matching(loaded, signals, filters={"product_category": "充电宝"})
        assert got == {"powerbank_smoke", "powerbank_dup", "powerbank_news"}
        assert self._matching(loaded, signals, filters={"source_type": SourceType.complaint}) == {"heater_leak"}
        assert self._matching(loaded, signals, filters={"source": "news:samr"}) == {"powerbank_news"}
        pb = signals["powerbank_smoke"]
        assert self._matching(loaded, signals, filters={"document_id": pb.document.id}) == {"powerbank_smoke"}
        assert self._matching(loaded, signals, filters={"duplicate_group": pb.id}) == {"powerbank_dup"}

    def test_filter_list_means_any(self, loaded: Store, signals: dict[str, Signal]) -> None:
        got = self._matching(loaded, signals, filters={"risk_level": ["low", RiskLevel.medium]})
        assert got == {"powerbank_news", "toy_choking", "shampoo_allergy", "heater_elderly"}
        assert self._matching(loaded, signals, filters={"warning_color": ("red",)}) == {
            "powerbank_smoke",
            "powerbank_dup",
            "heater_leak",
        }
        assert self._matching(loaded, signals, filters={"product_category": {"玩具", "洗发水"}}) == {
            "toy_choking",
            "shampoo_allergy",
        }

    def test_empty_list_matches_nothing(self, loaded: Store) -> None:
        assert loaded.query(S, filters={"product_category": []}).total == 0
        assert loaded.count(S, filters={"hazard": []}) == 0
        assert loaded.aggregate(S, "hazard", filters={"hazard": []}) == []

    def test_none_filter_constrains_nothing(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert loaded.count(S, filters={"product_category": None}) == len(signals)

    def test_filters_combine_with_and(self, loaded: Store, signals: dict[str, Signal]) -> None:
        got = self._matching(loaded, signals, filters={"product_category": "充电宝", "source_type": "review"})
        assert got == {"powerbank_smoke", "powerbank_dup"}
        got = self._matching(loaded, signals, filters={"region": "浙江省", "hazard": "fire", "is_duplicate": False})
        assert got == {"powerbank_smoke", "heater_elderly"}

    def test_booleans_compare_as_booleans(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert self._matching(loaded, signals, filters={"is_risk": False}) == {"phone_hype", "iphone_hot"}
        assert loaded.count(S, filters={"is_risk": True}) == 8
        assert self._matching(loaded, signals, filters={"noisy": True}) == {"phone_hype"}
        assert self._matching(loaded, signals, filters={"harm_occurred": True}) == {
            "playmat_formaldehyde",
            "heater_leak",
            "heater_elderly",
        }
        assert self._matching(loaded, signals, filters={"is_duplicate": "true"}) == {"powerbank_dup"}

    def test_multi_valued_fields_match_any_value(self, loaded: Store, signals: dict[str, Signal]) -> None:
        fire = {"powerbank_smoke", "powerbank_dup", "powerbank_news", "heater_elderly"}
        assert self._matching(loaded, signals, filters={"hazard": "fire"}) == fire
        assert self._matching(loaded, signals, filters={"hazard": HazardType.burns}) == {"powerbank_smoke"}
        assert self._matching(loaded, signals, filters={"population": Population.children}) == {
            "playmat_formaldehyde",
            "toy_choking",
        }
        assert self._matching(loaded, signals, filters={"harm": "property_damage"}) == {"heater_elderly"}
        assert self._matching(loaded, signals, filters={"organisation": "可优比"}) == {"playmat_formaldehyde"}
        assert self._matching(loaded, signals, filters={"brand": "Apple"}) == {"iphone_hot"}

    def test_hazards_ruled_out_by_disambiguation_are_not_indexed(
        self, loaded: Store, signals: dict[str, Signal]
    ) -> None:
        assert "phone_hype" not in self._matching(loaded, signals, filters={"hazard": "fire"})

    def test_region_matches_name_code_and_province(self, loaded: Store, signals: dict[str, Signal]) -> None:
        zhejiang = {"powerbank_smoke", "powerbank_dup", "toy_choking", "heater_elderly"}
        assert self._matching(loaded, signals, filters={"region": "杭州市"}) == zhejiang
        assert self._matching(loaded, signals, filters={"region": "330100"}) == zhejiang
        assert self._matching(loaded, signals, filters={"region": "浙江省"}) == zhejiang
        assert self._matching(loaded, signals, filters={"region": ["广东省", "510100"]}) == {
            "playmat_formaldehyde",
            "heater_leak",
        }

    def test_numeric_ranges(self, loaded: Store, signals: dict[str, Signal]) -> None:
        high = {"powerbank_smoke", "powerbank_dup", "playmat_formaldehyde", "heater_leak"}
        assert self._matching(loaded, signals, filters={"risk_score": Range(gte=0.8)}) == high
        assert self._matching(loaded, signals, filters={"risk_score": Range(gt=0.81)}) == high - {
            "playmat_formaldehyde"
        }
        assert self._matching(loaded, signals, filters={"risk_score": Range(gte=0.3, lt=0.6)}) == {
            "shampoo_allergy",
            "iphone_hot",
        }
        assert self._matching(loaded, signals, filters={"risk_score": Range(lte=0.02)}) == {"phone_hype"}
        assert self._matching(loaded, signals, filters={"risk_score": Range(gte="0.9")}) == {
            "powerbank_smoke",
            "powerbank_dup",
        }
        assert loaded.count(S, filters={"risk_score": Range(gte=0.9, lte=0.1)}) == 0

    def test_time_ranges(self, loaded: Store, signals: dict[str, Signal]) -> None:
        february = {"powerbank_smoke", "powerbank_dup", "playmat_formaldehyde", "phone_hype"}
        feb = Range(gte=datetime(2024, 2, 1, tzinfo=CST), lt=datetime(2024, 3, 1, tzinfo=CST))
        assert self._matching(loaded, signals, filters={"time": feb}) == february
        assert self._matching(loaded, signals, filters={"time": Range(gte="2024-02-01", lt="2024-03-01")}) == february
        utc = Range(gte=datetime(2024, 3, 10, 3, tzinfo=UTC))  # 11:00 in China, an hour before toy_choking
        assert self._matching(loaded, signals, filters={"time": utc}) == {"toy_choking", "iphone_hot"}
        assert self._matching(loaded, signals, filters={"time": Range(lt="2024-01-10T00:00:00+08:00")}) == {
            "shampoo_allergy"
        }

    def test_filter_each_collection(
        self,
        store: Store,
        signals: dict[str, Signal],
        candidates: dict[str, CandidateRisk],
        decisions: dict[str, Decision],
    ) -> None:
        store.write(Collection.documents, [s.document for s in signals.values()])
        store.write(Collection.candidates, list(candidates.values()))
        store.write(Collection.decisions, list(decisions.values()))
        docs = store.query(Collection.documents, filters={"brand": "罗马仕"})
        assert ids(docs.items) == [signals["powerbank_smoke"].document.id]
        assert store.count(Collection.documents, filters={"source_type": "news"}) == 1
        assert store.count(Collection.documents, filters={"source": "station:jd"}) == 6

        def cands(**filters: object) -> set[str]:
            page = store.query(Collection.candidates, filters=filters)
            return {c.key for c in page.items}

        assert cands(region="浙江省") == {"充电宝|fire", "玩具|choking"}
        assert cands(tier=Tier.review) == {"爬行垫|chemical", "热水器|electric_shock"}
        assert cands(status="in_review") == {"爬行垫|chemical"}
        assert cands(priority=Range(gte=0.7)) == {"充电宝|fire", "爬行垫|chemical"}
        assert cands(brand="罗马仕", enterprise="深圳市某某电子有限公司") == {"充电宝|fire"}
        assert cands(population="infants") == {"爬行垫|chemical"}
        assert cands(signal_id=signals["powerbank_dup"].id) == {"充电宝|fire"}
        assert cands(signal_count=Range(gt=1)) == {"充电宝|fire"}
        assert cands(hazard="electric_shock", source_type="complaint") == {"热水器|electric_shock"}
        assert cands(warning_color="orange", risk_level="high", product_category="爬行垫") == {"爬行垫|chemical"}

        def decs(**filters: object) -> set[str]:
            return {d.status.value for d in store.query(Collection.decisions, filters=filters).items}

        assert decs(decided_by="analyst.li") == {"in_review", "rejected"}
        assert decs(measure="spot_check") == {"confirmed"}
        assert decs(candidate_id=candidates["toy"].id) == {"rejected"}
        assert decs(status=CandidateStatus.confirmed, risk_level="high", warning_color="red") == {"confirmed"}
        assert decs(time=Range(gte="2024-04-04")) == {"in_review", "rejected"}

    def test_unknown_fields_raise(self, loaded: Store) -> None:
        with pytest.raises(UnknownFieldError, match="colour"):
            loaded.query(S, filters={"colour": "red"})
        with pytest.raises(UnknownFieldError, match="known fields"):
            loaded.query(S, sort="colour")
        with pytest.raises(UnknownFieldError):
            loaded.aggregate(S, "colour")
        with pytest.raises(UnknownFieldError):
            loaded.count(S, filters={"body": "x"})
        with pytest.raises(UnknownFieldError):
            list(loaded.iterate(S, filters={"normalized_text": "x"}))
        with pytest.raises(UnknownFieldError):
            loaded.query(Collection.decisions, filters={"hazard": "fire"})
        with pytest.raises(StoreError):  # UnknownFieldError is a StoreError with a stable code
            loaded.query(S, filters={"colour": "red"})

    def test_invalid_filter_values_fail_clearly(self, loaded: Store) -> None:
        with pytest.raises(StoreError, match="risk_score"):
            loaded.query(S, filters={"risk_score": "high"})
        with pytest.raises(StoreError, match="is_risk"):
            loaded.query(S, filters={"is_risk": "maybe"})
        with pytest.raises(StoreError, match="time"):
            loaded.query(S, filters={"time": Range(gte="last tuesday")})
        with pytest.raises(StoreError):
            loaded.query(S, limit=-1)

    # --- full-text search --------------------------------------------------------------

    def test_chinese_text_search(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert self._matching(loaded, signals, text="冒烟") == {"powerbank_smoke", "powerbank_dup"}
        assert self._matching(loaded, signals, text="起火") == {"powerbank_smoke", "powerbank_dup", "powerbank_news"}
        assert self._matching(loaded, signals, text="充电宝") == {
            "powerbank_smoke",
            "powerbank_dup",
            "powerbank_news",
        }
        assert self._matching(loaded, signals, text="甲醛") == {"playmat_formaldehyde"}
        assert self._matching(loaded, signals, text="过敏") == {"playmat_formaldehyde", "shampoo_allergy"}
        assert self._matching(loaded, signals, text="老人 取暖器") == {"heater_elderly"}

    def test_every_query_word_must_occur(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert self._matching(loaded, signals, text="充电宝 冒烟") == {"powerbank_smoke", "powerbank_dup"}
        assert self._matching(loaded, signals, text="充电宝冒烟") == {"powerbank_smoke", "powerbank_dup"}
        assert self._matching(loaded, signals, text="充电宝冒烟了") == {"powerbank_smoke", "powerbank_dup"}
        assert self._matching(loaded, signals, text="充电宝 漏电") == set()

    def test_text_search_covers_title_product_and_latin(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert self._matching(loaded, signals, text="通报") == {"powerbank_news"}
        assert self._matching(loaded, signals, text="罗马仕") == {"powerbank_smoke"}
        assert self._matching(loaded, signals, text="IPHONE") == {"iphone_hot"}
        assert self._matching(loaded, signals, text="iphone 发烫") == {"iphone_hot"}
        assert self._matching(loaded, signals, text="Wi-Fi") == {"iphone_hot"}

    def test_full_width_text_is_found(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert self._matching(loaded, signals, text="ｉＰｈｏｎｅ") == {"iphone_hot"}

    def test_text_search_on_other_collections(
        self,
        store: Store,
        signals: dict[str, Signal],
        candidates: dict[str, CandidateRisk],
        decisions: dict[str, Decision],
    ) -> None:
        store.write(Collection.documents, [s.document for s in signals.values()])
        store.write(Collection.candidates, list(candidates.values()))
        store.write(Collection.decisions, list(decisions.values()))
        assert ids(store.query(Collection.documents, text="漏电").items) == [signals["heater_leak"].document.id]
        assert [c.key for c in store.query(Collection.candidates, text="冒烟").items] == ["充电宝|fire"]
        assert [c.key for c in store.query(Collection.candidates, text="甲醛").items] == ["爬行垫|chemical"]
        assert [d.id for d in store.query(Collection.decisions, text="证据不足").items] == [decisions["reject_toy"].id]

    def test_rewriting_a_candidate_keeps_its_text_and_member_index_exact(
        self, store: Store, candidates: dict[str, CandidateRisk]
    ) -> None:
        """A refresh rewrites every candidate for its statistics; unchanged text and member ids stay found,
        changed ones follow the new record (issue 18: the SQLite backend rewrites only what changed)."""
        C = Collection.candidates
        store.write(C, list(candidates.values()))
        fire = next(c for c in candidates.values() if c.key == "充电宝|fire")
        assert fire.signal_ids
        restated = fire.model_copy(update={"priority": 0.5, "scope": ["regional"]})
        store.write(C, [restated], DuplicatePolicy.overwrite)
        assert store.get(C, fire.id) == restated
        assert [c.key for c in store.query(C, text="冒烟").items] == ["充电宝|fire"]
        assert ids(store.query(C, filters={"signal_id": fire.signal_ids[0]}).items) == [fire.id]
        assert ids(store.query(C, filters={"scope": "regional"}).items) == [fire.id]
        retitled = restated.model_copy(
            update={"title": "移动电源 · 漏液", "evidence": [], "signal_ids": ["other-1"], "scope": []}
        )
        store.write(C, [retitled], DuplicatePolicy.overwrite)
        assert store.get(C, fire.id) == retitled
        assert store.query(C, text="冒烟").items == [] and ids(store.query(C, text="漏液").items) == [fire.id]
        assert store.query(C, filters={"signal_id": fire.signal_ids[0]}).items == []
        assert ids(store.query(C, filters={"signal_id": "other-1"}).items) == [fire.id]
        assert store.query(C, filters={"scope": "regional"}).items == []

    def test_relevance_order_without_sort(self, store: Store) -> None:
        once = make_signal("充电宝外观不错，用了一周，感觉还行", source_id="r1", published_at=at(3, 1))
        often = make_signal("充电宝冒烟！充电宝发烫！这个充电宝太危险", source_id="r2", published_at=at(1, 1))
        store.write(S, [once, often])
        assert ids(store.query(S, text="充电宝").items) == [often.id, once.id]
        assert ids(store.query(S, text="充电宝", sort="time").items) == [once.id, often.id]

    def test_text_combines_with_filters_sort_and_count(self, loaded: Store, signals: dict[str, Signal]) -> None:
        page = loaded.query(S, text="充电宝", filters={"source_type": "news"})
        assert ids(page.items) == [signals["powerbank_news"].id]
        page = loaded.query(S, text="起火", sort="risk_score", descending=False)
        assert ids(page.items) == [signals[n].id for n in ("powerbank_news", "powerbank_dup", "powerbank_smoke")]
        assert loaded.count(S, text="起火") == 3
        assert loaded.count(S, text="起火", filters={"is_duplicate": False}) == 2

    @pytest.mark.parametrize("q", HOSTILE_QUERIES)
    def test_hostile_queries_never_raise(self, loaded: Store, signals: dict[str, Signal], q: str) -> None:
        page = loaded.query(S, text=q)
        assert page.total == len(page.items) <= len(signals)
        assert loaded.count(S, text=q) == page.total
        loaded.aggregate(S, "hazard", text=q)
        assert loaded.count(S) == len(signals)

    def test_hostile_queries_match_nothing_or_their_words(self, loaded: Store, signals: dict[str, Signal]) -> None:
        for q in ['"', "*", "()", ":", "NEAR(", "🔥🔥", "！？。", "'; DROP TABLE signals; --", "AND", "OR OR"]:
            assert loaded.query(S, text=q).total == 0, q
        powerbank = {"powerbank_smoke", "powerbank_dup", "powerbank_news"}
        assert self._matching(loaded, signals, text="充电宝*") == powerbank
        assert self._matching(loaded, signals, text='"冒烟"') == {"powerbank_smoke", "powerbank_dup"}
        assert self._matching(loaded, signals, text="-充电宝") == powerbank
        assert self._matching(loaded, signals, text="充电宝🔥冒烟") == {"powerbank_smoke", "powerbank_dup"}

    def test_blank_text_means_no_text_condition(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert loaded.query(S, text="").total == len(signals)
        assert loaded.count(S, text="   ") == len(signals)

    # --- sorting and paging ------------------------------------------------------------

    def test_default_order_is_newest_first(self, loaded: Store, signals: dict[str, Signal]) -> None:
        got = ids(loaded.query(S).items)
        expected = [s.id for s in sorted(signals.values(), key=lambda s: s.when, reverse=True)]
        assert got == expected

    def test_sort_by_time_ascending(self, loaded: Store, signals: dict[str, Signal]) -> None:
        got = ids(loaded.query(S, sort="time", descending=False).items)
        assert got == [s.id for s in sorted(signals.values(), key=lambda s: s.when)]

    def test_sort_by_number(self, loaded: Store, signals: dict[str, Signal]) -> None:
        desc = ids(loaded.query(S, sort="risk_score").items)
        assert desc == [s.id for s in sorted(signals.values(), key=lambda s: -s.risk_score)]
        asc = ids(loaded.query(S, sort="risk_score", descending=False, limit=3).items)
        assert asc == [signals[n].id for n in ("phone_hype", "iphone_hot", "shampoo_allergy")]

    def test_sort_ties_broken_by_id(self, store: Store) -> None:
        same = [make_signal("热水器漏电", source_id=f"t{i}", published_at=at(2, 2), risk_score=0.5) for i in range(5)]
        store.write(S, same)
        asc = ids(store.query(S, sort="risk_score", descending=False).items)
        assert asc == sorted(s.id for s in same)
        assert ids(store.query(S, sort="risk_score").items) == sorted((s.id for s in same), reverse=True)
        assert ids(store.query(S, sort="time", descending=False).items) == sorted(s.id for s in same)

    def test_records_lacking_the_sort_field_come_last(self, store: Store, candidates: dict[str, CandidateRisk]) -> None:
        store.write(Collection.candidates, list(candidates.values()))
        for descending in (True, False):
            page = store.query(Collection.candidates, sort="risk_level", descending=descending)
            assert [c.risk_level for c in page.items][:2] == [RiskLevel.high, RiskLevel.high]
            assert {c.key for c in page.items[2:]} == {"热水器|electric_shock", "玩具|choking"}
            tail = store.query(Collection.candidates, sort="risk_level", descending=descending, offset=3, limit=5)
            assert tail.total == 4 and len(tail.items) == 1
            assert tail.items[0].id == page.items[3].id

    def test_sort_candidates_by_priority(self, store: Store, candidates: dict[str, CandidateRisk]) -> None:
        store.write(Collection.candidates, list(candidates.values()))
        page = store.query(Collection.candidates, sort="priority")
        assert [c.key for c in page.items] == [
            "充电宝|fire",
            "爬行垫|chemical",
            "热水器|electric_shock",
            "玩具|choking",
        ]

    def test_sort_by_multi_valued_field(self, loaded: Store, signals: dict[str, Signal]) -> None:
        page = loaded.query(S, sort="hazard", descending=False, filters={"is_risk": True})
        first = page.items[0]
        assert first.id == signals["powerbank_smoke"].id  # "burns" is the smallest hazard code
        assert page.total == len(page.items) == 8

    def test_pagination_totals_and_pages(self, loaded: Store, signals: dict[str, Signal]) -> None:
        seen: list[str] = []
        for offset in range(0, 12, 3):
            page = loaded.query(S, sort="time", descending=False, limit=3, offset=offset)
            assert page.total == len(signals)
            seen.extend(ids(page.items))
        assert seen == [s.id for s in sorted(signals.values(), key=lambda s: s.when)]
        past = loaded.query(S, limit=5, offset=50)
        assert (past.items, past.total) == ([], len(signals))
        assert loaded.query(S, limit=0).total == len(signals)

    def test_pagination_by_field_and_relevance(self, loaded: Store, signals: dict[str, Signal]) -> None:
        full = ids(loaded.query(S, sort="risk_level", descending=False).items)
        paged = [
            i
            for off in range(0, 10, 4)
            for i in ids(loaded.query(S, sort="risk_level", limit=4, offset=off, descending=False).items)
        ]
        assert paged == full
        all_hits = ids(loaded.query(S, text="充电宝").items)
        assert [
            i for off in range(3) for i in ids(loaded.query(S, text="充电宝", limit=1, offset=off).items)
        ] == all_hits

    # --- projection (omit) ------------------------------------------------------------------

    @staticmethod
    def _without(record: Any, omit: tuple[str, ...]) -> Any:
        """The record with the `omit` fields at their defaults: what a read with that projection must return."""
        fields = type(record).model_fields
        return record.model_copy(update={name: fields[name].get_default(call_default_factory=True) for name in omit})

    @pytest.mark.parametrize(
        "query",
        [
            {"sort": "priority"},
            {"sort": "time", "descending": False, "limit": 2, "offset": 1},
            {"text": "充电宝"},
            {"filters": {"hazard": "fire"}, "sort": "signal_count"},
        ],
    )
    def test_omit_returns_the_same_values_as_the_full_record(
        self, store: Store, candidates: dict[str, CandidateRisk], query: dict[str, Any]
    ) -> None:
        store.write(Collection.candidates, list(candidates.values()))
        omit = ("evidence", "signal_ids")
        full = store.query(Collection.candidates, **query)
        light = store.query(Collection.candidates, omit=omit, **query)
        assert light.total == full.total and len(light.items) == len(full.items) > 0
        assert any(c.evidence and c.signal_ids for c in full.items)
        assert [self._without(c, omit) for c in full.items] == light.items
        assert all(c.evidence == [] and c.signal_ids == [] for c in light.items)

    def test_omit_on_signals(self, loaded: Store, signals: dict[str, Signal]) -> None:
        omit = ("segmented_text", "evidence", "organisations", "model_versions")
        full = loaded.query(S, sort="time", limit=100)
        light = loaded.query(S, sort="time", limit=100, omit=omit)
        assert [self._without(s, omit) for s in full.items] == light.items
        assert light.items and all(s.segmented_text == "" for s in light.items)
        assert loaded.query(S, omit=(), limit=100).items == full.items

    def test_iterate_with_omit(self, loaded: Store) -> None:
        omit = ("segmented_text", "model_versions")
        full = list(loaded.iterate(S, filters={"is_risk": True}, batch_size=2))
        light = list(loaded.iterate(S, filters={"is_risk": True}, batch_size=2, omit=omit))
        assert light and [self._without(s, omit) for s in full] == light
        assert any(s.segmented_text for s in full) and all(s.segmented_text == "" for s in light)
        with pytest.raises(StoreError, match="no default"):
            list(loaded.iterate(S, omit=("document",)))

    def test_omit_needs_known_fields_with_defaults(self, loaded: Store) -> None:
        with pytest.raises(UnknownFieldError):
            loaded.query(S, omit=("no_such_field",))
        with pytest.raises(StoreError, match="no default"):
            loaded.query(S, omit=("document",))
        with pytest.raises(StoreError, match="not the string"):
            loaded.query(S, omit="evidence")

    # --- data version ---------------------------------------------------------------------

    def test_data_version_changes_on_every_write(self, store: Store, signals: dict[str, Signal]) -> None:
        seen = [store.data_version(S)]
        other_collection = store.data_version(Collection.candidates)
        store.write(S, list(signals.values()))
        seen.append(store.data_version(S))
        store.query(S, text="充电宝")
        store.count(S)
        assert store.data_version(S) == seen[-1]  # reads change nothing
        pb = signals["powerbank_smoke"]
        store.write(S, [pb.model_copy(update={"risk_score": 0.5})], DuplicatePolicy.overwrite)
        seen.append(store.data_version(S))
        store.delete(S, [pb.id])
        seen.append(store.data_version(S))
        assert len(set(seen)) == len(seen)
        assert store.data_version(Collection.candidates) == other_collection

    def test_data_version_sees_writes_by_another_handle(
        self, make_store: Callable[[], Store], loaded: Store, signals: dict[str, Signal]
    ) -> None:
        before = loaded.data_version(S)
        other = make_store()  # another handle on the same storage, as another process would open
        try:
            assert other.data_version(S) == before
            other.delete(S, [signals["powerbank_smoke"].id])
            assert loaded.data_version(S) != before
        finally:
            other.close()

    # --- count, iterate -------------------------------------------------------------------

    def test_count(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert loaded.count(S) == len(signals)
        assert loaded.count(S, filters={"hazard": "fire"}) == 4
        assert loaded.count(S, filters={"hazard": "fire"}, text="冒烟") == 2
        assert loaded.count(Collection.candidates) == 0

    def test_iterate_in_id_order(self, loaded: Store, signals: dict[str, Signal]) -> None:
        assert ids(loaded.iterate(S, batch_size=3)) == sorted(s.id for s in signals.values())
        assert list(loaded.iterate(S)) == sorted(signals.values(), key=lambda s: s.id)

    def test_iterate_with_filters(self, loaded: Store, signals: dict[str, Signal]) -> None:
        got = ids(loaded.iterate(S, filters={"region": "浙江省"}, batch_size=1))
        assert got == sorted(
            signals[n].id for n in ("powerbank_smoke", "powerbank_dup", "toy_choking", "heater_elderly")
        )
        assert list(loaded.iterate(S, filters={"product_category": []})) == []

    def test_iterate_while_writing(self, loaded: Store, signals: dict[str, Signal]) -> None:
        seen = 0
        for signal in loaded.iterate(S, batch_size=2):
            loaded.write(S, [signal.model_copy(update={"weight": 0.5})], DuplicatePolicy.overwrite)
            seen += 1
        assert seen == len(signals)
        assert all(s.weight == 0.5 for s in loaded.iterate(S))

    # --- aggregations ------------------------------------------------------------------

    def test_aggregate_by_value_most_frequent_first(self, loaded: Store) -> None:
        got = loaded.aggregate(S, "hazard")
        assert got == [
            Bucket("fire", 4),
            Bucket("chemical", 2),
            Bucket("burns", 1),
            Bucket("choking", 1),
            Bucket("electric_shock", 1),
        ]
        assert loaded.aggregate(S, "hazard", size=2) == [Bucket("fire", 4), Bucket("chemical", 2)]
        assert loaded.aggregate(S, "is_risk") == [Bucket("true", 8), Bucket("false", 2)]

    def test_aggregate_with_filters_and_text(self, loaded: Store) -> None:
        assert loaded.aggregate(S, "source_type", filters={"region": "浙江省"}) == [Bucket("review", 4)]
        assert loaded.aggregate(S, "product_category", text="起火") == [Bucket("充电宝", 3)]
        by_level = loaded.aggregate(S, "risk_level", filters={"risk_score": Range(gte=0.5)})
        assert by_level == [Bucket("high", 4), Bucket("medium", 3)]

    def test_aggregate_numbers(self, store: Store, candidates: dict[str, CandidateRisk]) -> None:
        store.write(Collection.candidates, list(candidates.values()))
        assert store.aggregate(Collection.candidates, "signal_count") == [Bucket("1", 3), Bucket("3", 1)]
        assert store.aggregate(Collection.candidates, "tier") == [
            Bucket("review", 2),
            Bucket("immediate", 1),
            Bucket("watch", 1),
        ]
        assert store.aggregate(Collection.candidates, "region", size=1) == [Bucket("浙江省", 2)]

    def test_aggregate_by_month(self, loaded: Store) -> None:
        got = loaded.aggregate(S, None, time_bucket=TimeBucket.month)
        assert got == [Bucket(None, 3, "2024-01"), Bucket(None, 4, "2024-02"), Bucket(None, 3, "2024-03")]

    def test_aggregate_by_iso_week(self, loaded: Store) -> None:
        got = loaded.aggregate(S, None, time_bucket=TimeBucket.week)
        assert [(b.period, b.count) for b in got] == [
            ("2024-W02", 1),
            ("2024-W03", 1),
            ("2024-W05", 1),
            ("2024-W06", 2),
            ("2024-W07", 1),
            ("2024-W08", 1),
            ("2024-W09", 1),
            ("2024-W10", 1),
            ("2024-W11", 1),
        ]
        assert all(b.key is None for b in got)

    def test_aggregate_by_day_with_filters(self, loaded: Store) -> None:
        got = loaded.aggregate(S, None, time_bucket="day", filters={"product_category": "充电宝"})  # type: ignore[arg-type]
        assert got == [Bucket(None, 1, "2024-01-20"), Bucket(None, 1, "2024-02-05"), Bucket(None, 1, "2024-02-06")]

    def test_iso_week_across_the_year_boundary(self, store: Store) -> None:
        late = make_signal("充电宝冒烟", source_id="ny1", published_at=datetime(2024, 12, 30, 12, tzinfo=CST))
        early = make_signal("充电宝起火", source_id="ny2", published_at=datetime(2025, 1, 2, 12, tzinfo=CST))
        store.write(S, [late, early])
        assert store.aggregate(S, None, time_bucket=TimeBucket.week) == [Bucket(None, 2, "2025-W01")]
        assert store.aggregate(S, None, time_bucket=TimeBucket.month) == [
            Bucket(None, 1, "2024-12"),
            Bucket(None, 1, "2025-01"),
        ]

    def test_aggregate_by_period_and_value(self, loaded: Store) -> None:
        got = loaded.aggregate(S, "product_category", time_bucket=TimeBucket.month, filters={"is_risk": True})
        assert [(b.period, b.key, b.count) for b in got] == [
            ("2024-01", "充电宝", 1),
            ("2024-01", "取暖器", 1),
            ("2024-01", "洗发水", 1),
            ("2024-02", "充电宝", 2),
            ("2024-02", "爬行垫", 1),
            ("2024-03", "热水器", 1),
            ("2024-03", "玩具", 1),
        ]
        top = loaded.aggregate(S, "product_category", time_bucket=TimeBucket.month, size=1)
        assert [(b.period, b.key, b.count) for b in top] == [("2024-01", "充电宝", 1), ("2024-02", "充电宝", 2)]

    def test_aggregate_needs_a_field_or_a_bucket(self, loaded: Store) -> None:
        with pytest.raises(StoreError):
            loaded.aggregate(S, None)
        with pytest.raises(StoreError):
            loaded.aggregate(S, "hazard", time_bucket="fortnight")  # type: ignore[arg-type]

    def test_aggregate_on_empty_store(self, store: Store) -> None:
        assert store.aggregate(S, "hazard") == []
        assert store.aggregate(S, None, time_bucket=TimeBucket.week) == []

    # --- delete ----------------------------------------------------------------------------

    def test_delete_removes_record_facets_and_text(self, loaded: Store, signals: dict[str, Signal]) -> None:
        pb = signals["powerbank_smoke"]
        assert loaded.delete(S, [pb.id, "missing"]) == 1
        assert loaded.get(S, pb.id) is None
        assert loaded.count(S) == len(signals) - 1
        assert loaded.count(S, filters={"hazard": "fire"}) == 3
        assert ids(loaded.query(S, text="冒烟").items) == [signals["powerbank_dup"].id]
        assert "burns" not in {b.key for b in loaded.aggregate(S, "hazard")}
        assert pb.id not in ids(loaded.iterate(S))
        assert loaded.delete(S, [pb.id]) == 0
        assert loaded.delete(S, []) == 0
        again = loaded.write(S, [pb])
        assert again.written == 1
        assert loaded.get(S, pb.id) == pb
        assert loaded.count(S, filters={"hazard": "burns"}) == 1

    def test_delete_only_touches_its_collection(
        self, loaded: Store, signals: dict[str, Signal], candidates: dict[str, CandidateRisk]
    ) -> None:
        loaded.write(Collection.documents, [s.document for s in signals.values()])
        pb = signals["powerbank_smoke"]
        assert loaded.delete(Collection.documents, [pb.document.id]) == 1
        assert loaded.get(S, pb.id) == pb

    # --- persistence and threads ---------------------------------------------------------

    def test_persists_across_reopen(
        self, make_store: Callable[[], Store], signals: dict[str, Signal], candidates: dict[str, CandidateRisk]
    ) -> None:
        first = make_store()
        first.write(S, list(signals.values()))
        first.write(Collection.candidates, list(candidates.values()))
        first.close()
        second = make_store()
        try:
            assert second.count(S) == len(signals)
            assert second.get(S, signals["heater_leak"].id) == signals["heater_leak"]
            assert second.count(S, filters={"hazard": "fire"}, text="冒烟") == 2
            assert [c.key for c in second.query(Collection.candidates, sort="priority", limit=1).items] == [
                "充电宝|fire"
            ]
        finally:
            second.close()

    def test_concurrent_readers_and_a_writer(self, loaded: Store, signals: dict[str, Signal]) -> None:
        errors: list[BaseException] = []
        batches = [
            [make_signal(f"充电宝冒烟第{b}批{i}号", source_id=f"w{b}-{i}", published_at=at(2, 10)) for i in range(20)]
            for b in range(10)
        ]

        def writer() -> None:
            try:
                for batch in batches:
                    loaded.write(S, batch)
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        def reader() -> None:
            try:
                for _ in range(15):
                    page = loaded.query(S, filters={"hazard": "fire"}, limit=5)
                    assert page.total == 4
                    n = loaded.count(S, text="冒烟")
                    assert 2 <= n <= 202
                    assert loaded.get(S, signals["toy_choking"].id) == signals["toy_choking"]
                    buckets = loaded.aggregate(S, "product_category")
                    assert buckets[0].count >= 3
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        assert loaded.count(S) == len(signals) + 200
        assert loaded.count(S, text="冒烟") == 202
