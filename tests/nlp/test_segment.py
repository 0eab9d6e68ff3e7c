"""The segment stage: what it writes (the tokenizer itself: tests/text/test_tokenize.py)."""

from __future__ import annotations

import pytest

from riskmine.nlp.base import StageContext, StageOptionsError
from riskmine.nlp.normalize import make_normalize
from riskmine.nlp.segment import make_segment
from riskmine.schema import RawDocument, Signal
from riskmine.settings import get_settings
from riskmine.text import tokenize

# Real reviews, copied with their provenance (online_shopping_10_cats/online_shopping_10_cats.csv, file line).
LEAK = "华为P9 在充电时，金属后背漏电，有麻麻的感觉 以申请退货 现在京东不咋地啊 客服不说话 打电话没人接 服了"  # 12811


def test_stage_writes_space_joined_tokens() -> None:
    ctx = StageContext(get_settings())
    sigs = [Signal.from_document(RawDocument(source="t", source_type="review", text=t)) for t in (LEAK, "冒烟了")]
    out = make_segment(ctx)(make_normalize(ctx)(sigs))
    assert "漏电" in out[0].segmented_text.split(" ")
    assert out[1].segmented_text == "冒烟 了"


def test_stage_falls_back_to_document_text() -> None:
    sig = Signal.from_document(RawDocument(source="t", source_type="review", text="电热毯漏电"))
    [out] = make_segment(StageContext(get_settings()))([sig])
    assert out.segmented_text == "电热毯 漏电"


def test_engine_option() -> None:
    before = tokenize._engine
    try:
        sig = Signal.from_document(RawDocument(source="t", source_type="review", text="电热毯漏电"))
        [out] = make_segment(StageContext(get_settings()), engine="jieba")([sig])
        assert out.segmented_text == "电热毯 漏电" and tokenize.tokenizer().name == "jieba"
        with pytest.raises(StageOptionsError, match="engine must be one of auto, rjieba, jieba"):
            make_segment(StageContext(get_settings()), engine="pkuseg")
    finally:
        tokenize.set_engine(before)
