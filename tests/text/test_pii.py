"""Personal data masked in every stored field of a document: text fields, url, meta at any depth."""

from __future__ import annotations

import json

from riskmine.schema import RawDocument, SourceType
from riskmine.schema.urls import web_url
from riskmine.text.normalize import BANK_CARD_MASK, EMAIL_MASK, ID_CARD_MASK, PHONE_MASK
from riskmine.text.pii import PRIVATE_META_KEYS, mask_document, mask_url, mask_value

PHONE = "13812345678"
EMAIL = "zhang.san@example.com"
ID_CARD = "11010119900307123X"
CARD = "6217001234567893"
RAW = (PHONE, "138-1234-5678", EMAIL, ID_CARD, CARD)


def leaked(document: RawDocument) -> list[str]:
    dumped = document.model_dump_json()
    return [raw for raw in (*RAW, EMAIL.replace("@", "%40")) if raw in dumped]


def pii_document() -> RawDocument:
    return RawDocument(
        source="jd",
        source_type=SourceType.review,
        source_id="a1",
        url=f"https://shop.example/u/{PHONE}/item?tel={PHONE}&mail={EMAIL.replace('@', '%40')}&id=7#{EMAIL}",
        title=f"联系{PHONE}",
        text=f"充电宝冒烟，退款卡号{CARD}，身份证{ID_CARD}",
        product=f"充电宝 客服{PHONE}",
        shop=f"小王数码 {EMAIL}",
        brand=f"某牌 {PHONE}",
        enterprise="某公司 138-1234-5678",
        region=f"杭州 {PHONE}",
        meta={
            "buyer": {"phone": PHONE, "emails": [EMAIL, "无"], "card": int(CARD)},
            "mobile": int(PHONE),
            "mobile_from_xlsx": float(PHONE),
            "note": f"身份证{ID_CARD}",
            "count": 3,
            "ok": True,
        },
    )


def test_every_stored_field_is_masked_and_the_id_is_kept() -> None:
    doc = pii_document()
    masked = mask_document(doc)
    assert leaked(doc) and leaked(masked) == []
    assert masked.id == doc.id  # a document sent again is still a duplicate
    assert masked.title == f"联系{PHONE_MASK}"
    assert masked.text == f"充电宝冒烟，退款卡号{BANK_CARD_MASK}，身份证{ID_CARD_MASK}"
    assert masked.product == f"充电宝 客服{PHONE_MASK}"
    assert masked.shop == f"小王数码 {EMAIL_MASK}"
    assert (masked.brand, masked.enterprise, masked.region) == (
        f"某牌 {PHONE_MASK}",
        f"某公司 {PHONE_MASK}",
        f"杭州 {PHONE_MASK}",
    )
    assert masked.meta == {
        "buyer": {"phone": PHONE_MASK, "emails": [EMAIL_MASK, "无"], "card": BANK_CARD_MASK},
        "mobile": PHONE_MASK,
        "mobile_from_xlsx": PHONE_MASK,
        "note": f"身份证{ID_CARD_MASK}",
        "count": 3,
        "ok": True,
    }
    json.dumps(masked.meta)


def test_a_url_with_personal_data_stays_a_valid_web_address() -> None:
    url = pii_document().url
    assert url is not None
    masked = mask_url(url)
    assert web_url(masked) == masked
    assert masked.startswith("https://shop.example/u/%5B")
    assert "&id=7" in masked
    assert not any(raw in masked for raw in (PHONE, EMAIL, EMAIL.replace("@", "%40")))
    # a user name holding personal data is dropped, the address kept
    assert mask_url(f"https://{PHONE}:secret@shop.example/x") == "https://shop.example/x"


def test_a_document_without_personal_data_is_left_as_it_is() -> None:
    doc = RawDocument(
        source="jd",
        source_type=SourceType.review,
        url="https://shop.example/item/100012345678?sku=2&q=%E5%85%85",
        text="充电宝冒烟",
        product="充电宝 20000毫安",
        meta={"order": "202301011234567890123", "price": 99},
    )
    assert mask_document(doc) is doc
    assert mask_value([1, 2.5, None, "a"]) == [1, 2.5, None, "a"]


def test_a_reporters_private_contact_is_kept_for_admins() -> None:
    doc = RawDocument(
        source="public",
        source_type=SourceType.public_report,
        text="充电宝起火",
        meta={"contact": PHONE, "link": f"https://a.example/?tel={PHONE}"},
    )
    masked = mask_document(doc)
    assert masked.meta == {"contact": PHONE, "link": f"https://a.example/?tel={PHONE_MASK}"}
    assert "contact" in PRIVATE_META_KEYS  # riskmine.api.views hides these keys from all but admins
