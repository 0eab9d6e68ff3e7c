"""Shared pieces of the API tests: a small keyword pipeline, seed documents, test constants.

The NLP pipeline here is a real :class:`Pipeline` with one keyword stage, so the API tests
stay fast and deterministic; the configured pipeline runs in test_api_full_pipeline.py (slow).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from riskmine.nlp.base import BoundStage
from riskmine.pipeline import Pipeline
from riskmine.schema import HarmKind, HazardMention, HazardType, RawDocument, RiskLevel, Signal, SourceType
from riskmine.store.sqlite import SQLiteStore

CST = timezone(timedelta(hours=8))
TEST_SECRET = "test-secret-for-api-tests-0123456789abcdef"
PASSWORD = "correct-horse-battery"

HAZARD_TERMS: dict[str, HazardType] = {
    "起火": HazardType.fire,
    "自燃": HazardType.fire,
    "爆炸": HazardType.fire,
    "漏电": HazardType.electric_shock,
    "烫伤": HazardType.burns,
}
CATEGORY_TERMS: dict[str, str] = {"充电宝": "充电宝", "电热水壶": "电热水壶", "电动车": "电动自行车"}


def _find_all(text: str, term: str) -> list[int]:
    out, i = [], text.find(term)
    while i >= 0:
        out.append(i)
        i = text.find(term, i + len(term))
    return out


def keyword_stage(batch: list[Signal]) -> list[Signal]:
    """Hazard terms, product category, harm and a risk judgement from fixed keyword lists."""
    for s in batch:
        text = s.document.text
        s.normalized_text = text
        s.hazards = sorted(
            (
                HazardMention(start=i, end=i + len(term), text=term, hazard=hazard, term=term)
                for term, hazard in HAZARD_TERMS.items()
                for i in _find_all(text, term)
            ),
            key=lambda m: m.start,
        )
        s.product_category = next((cat for term, cat in CATEGORY_TERMS.items() if term in text), None)
        s.harm = [HarmKind.injury] if "受伤" in text else []
        s.harm_occurred = bool(s.harm)
        s.is_risk = bool(s.hazards)
        s.risk_score = 0.9 if s.is_risk else 0.05
        s.risk_level = (RiskLevel.high if s.harm else RiskLevel.medium) if s.is_risk else None
    return batch


def keyword_pipeline(settings: Any = None, store: Any = None) -> Pipeline:
    return Pipeline([BoundStage("keywords", ("document",), ("hazards", "is_risk"), keyword_stage)])


def doc(
    sid: str,
    text: str,
    *,
    days: float,
    source_type: SourceType = SourceType.review,
    url: str | None = None,
    title: str | None = None,
    region: str | None = None,
) -> RawDocument:
    return RawDocument(
        source="test",
        source_type=source_type,
        source_id=sid,
        url=url if url is not None else f"https://shop.example.com/item/{sid}",
        title=title,
        text=text,
        published_at=datetime(2024, 5, 1, 9, 0, tzinfo=CST) + timedelta(days=days),
        region=region,
    )


HOSTILE_TEXT = "充电宝充电时突然自燃<script>alert(1)</script>，<img src=x onerror=alert(2)>吓死了"

SEED_DOCUMENTS = [
    doc("r1", "这个充电宝充电时外壳很烫，晚上突然起火了，差点烧到床单。", days=0),
    doc("n1", "多地报告某品牌充电宝起火，消费者质疑质量。", days=7, source_type=SourceType.news, title="充电宝起火"),
    doc("c1", HOSTILE_TEXT, days=8, source_type=SourceType.complaint, url="javascript:alert(3)"),
    doc("i1", "电热水壶漏电，孩子触碰后受伤送医。", days=3, source_type=SourceType.injury_report, region="广东"),
    doc("i2", "电热水壶底座漏电，手一碰就麻。", days=10, source_type=SourceType.complaint),
    doc("ok1", "质量很好，物流很快，充电速度也不错。", days=2),
    doc("ok2", "衣服尺码合适，颜色好看。", days=4),
]


def another_handle(store: Any) -> Any:
    """A second, independent handle on the data of the test's store, as another process would open it."""
    reopen = getattr(store, "reopen", None)
    return reopen() if reopen is not None else SQLiteStore(store.path)
