"""The normalize stage: what it writes, and what it masks in the stored document (the rules: tests/text)."""

from __future__ import annotations

from riskmine.nlp.base import StageContext
from riskmine.nlp.normalize import make_normalize
from riskmine.schema import RawDocument, Signal
from riskmine.settings import get_settings
from riskmine.text.normalize import (
    PHONE_MASK,
    content_hash,
)

# Real reviews, copied with their provenance (data set, file line).
# online_shopping_10_cats/online_shopping_10_cats.csv line 12811
REAL_LEAK = "华为P9 在充电时，金属后背漏电，有麻麻的感觉 以申请退货 现在京东不咋地啊 客服不说话 打电话没人接 服了"


def _signal(text: str, title: str | None = None) -> Signal:
    return Signal.from_document(RawDocument(source="t", source_type="review", text=text, title=title))


def test_stage_writes_normalized_text_hash_and_masks_stored_text() -> None:
    run = make_normalize(StageContext(get_settings()))
    sig = _signal("<p>這個充電寶會冒煙</p>客服电话13812345678", title="用户投訴 13912345678")
    doc_id = sig.document.id
    [out] = run([sig])
    assert out.normalized_text == f"用户投诉 {PHONE_MASK}\n这个充电宝会冒烟\n客服电话{PHONE_MASK}"
    assert out.content_hash == content_hash(out.normalized_text)
    # the stored text keeps its markup and script but loses the phone numbers; the id stays
    assert out.document.text == f"<p>這個充電寶會冒煙</p>客服电话{PHONE_MASK}"
    assert out.document.title == f"用户投訴 {PHONE_MASK}"
    assert out.document.id == doc_id


def test_stage_can_leave_source_text_unmasked() -> None:
    run = make_normalize(StageContext(get_settings()), mask_source=False)
    [out] = run([_signal("电话13812345678")])
    assert out.document.text == "电话13812345678"
    assert out.normalized_text == f"电话{PHONE_MASK}"


def test_real_review_normalizes() -> None:
    run = make_normalize(StageContext(get_settings()))
    [out] = run([_signal(REAL_LEAK)])
    assert out.normalized_text.startswith("华为P9 在充电时,金属后背漏电,有麻麻的感觉")


def test_a_long_document_is_analysed_by_its_head_and_keeps_all_its_text() -> None:
    sentence = "这款电暖器用了半小时插头就发烫冒烟。"  # 18 characters
    text = sentence * 11_000  # 198,000 characters
    run = make_normalize(StageContext(get_settings()))
    [out] = run([_signal(text)])
    assert len(out.document.text) == len(text)  # the document keeps every character
    assert 20_000 - 500 <= len(out.normalized_text) <= 20_000
    assert out.normalized_text.endswith("。")  # cut at a sentence end
    assert out.content_hash == content_hash(text)  # the hash covers the whole text


def test_the_analysed_head_is_configurable_and_cut_hard_without_a_sentence_end() -> None:
    from riskmine.nlp.normalize import analysed_head

    assert analysed_head("短文本。", 100) == "短文本。"
    assert analysed_head("字" * 1_000, 300) == "字" * 300
    run = make_normalize(StageContext(get_settings()), max_chars=50)
    [out] = run([_signal("好" * 200)])
    assert out.normalized_text == "好" * 50
