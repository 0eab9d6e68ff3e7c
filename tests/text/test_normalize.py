"""Text normalisation: markup, width, script, whitespace, personal data, hashes; linear on hostile input."""

from __future__ import annotations

import time

import pytest

from riskmine.text.normalize import (
    ACCOUNT_MASK,
    BANK_CARD_MASK,
    EMAIL_MASK,
    ID_CARD_MASK,
    PHONE_MASK,
    clean_whitespace,
    compact,
    content_hash,
    luhn_valid,
    mask_pii,
    normalize_text,
    strip_html,
    to_simplified,
)

# online_shopping_10_cats/online_shopping_10_cats.csv line 51426 (a QQ number posted in a review)
REAL_QQ = "用起来还不错，本人还有几张2000-100 1000-50 东券要的加qq 673946022"
# online_shopping_10_cats/online_shopping_10_cats.csv line 14 (",<色,戒>" book title in ASCII angle brackets)
REAL_ANGLE = "<色,戒>是一本挂羊头卖狗肉的书,本来买回家准备过足读小说瘾,结果是一本短篇集."


def test_traditional_becomes_simplified() -> None:
    assert normalize_text("這個充電寶會冒煙") == "这个充电宝会冒烟"
    assert to_simplified("電熱水器漏電，差點觸電") == "电热水器漏电，差点触电"


def test_simplified_text_is_left_alone_including_phrase_exceptions() -> None:
    # 沈阳 is a place name (not 沉阳); 覆盖 is already simplified
    assert to_simplified("沈阳的覆盖范围") == "沈阳的覆盖范围"


def test_long_traditional_text_is_converted_in_windows_without_losing_characters() -> None:
    text = "這個充電寶會冒煙電線發熱嚴重" * 400  # 5,600 characters, no punctuation
    out = to_simplified(text)
    assert out == "这个充电宝会冒烟电线发热严重" * 400


def test_full_width_becomes_half_width() -> None:
    assert normalize_text("ＡＢＣ１２３，质量！") == "ABC123,质量!"


def test_html_tags_entities_and_scripts_are_stripped() -> None:
    html = '<div><p>充电宝&amp;数据线</p><script>alert("x")</script><style>p{color:red}</style><b>冒烟</b></div>'
    assert normalize_text(html) == "充电宝&数据线\n冒烟"


def test_hostile_html_leaves_no_markup_or_script_body() -> None:
    hostile = (
        '<img src=x onerror="alert(1)"><svg onload=alert(2)><script>steal()</script></svg>'
        "<!-- <script>hidden()</script> -->正文<iframe src=javascript:alert(3)>x</iframe>"
        "<SCRIPT>unclosed() 后面都是脚本"
    )
    out = normalize_text(hostile)
    assert out == "正文"


def test_escaped_markup_is_stripped_too() -> None:
    assert strip_html("&lt;p&gt;转义的段落&lt;/p&gt;").strip() == "转义的段落"


def test_text_with_angle_brackets_that_is_not_html_is_kept() -> None:
    assert strip_html("价格<100元") == "价格<100元"
    assert normalize_text(REAL_ANGLE).startswith("<色,戒>是一本")


def test_emoji_are_kept_and_invisible_controls_removed() -> None:
    out = normalize_text("质量😡太差\u200b\u202e了\x07\ufeff👍🏻")
    assert out == "质量😡太差了👍🏻"


def test_whitespace_is_collapsed_and_lines_kept() -> None:
    assert clean_whitespace("  a \t\u3000 b\r\n\r\n\n c  ") == "a b\nc"
    assert normalize_text("第一行\u3000\u3000第二段\n\n\n第三行") == "第一行 第二段\n第三行"


def test_gbk_round_trip_text_is_unchanged_by_decoding() -> None:
    raw = "电热毯使用时有焦糊味，插头发烫，差点起火。".encode("gbk")
    assert normalize_text(raw.decode("gbk")) == "电热毯使用时有焦糊味,插头发烫,差点起火。"


def test_mojibake_replacement_characters_are_removed() -> None:
    broken = "漏电".encode("gbk").decode("utf-8", errors="replace") + "了"
    assert "\ufffd" not in normalize_text(broken)


def test_blank_input_gives_empty_text() -> None:
    assert normalize_text("") == ""
    assert normalize_text(" \n\t\u3000 ") == ""
    assert normalize_text("<p> </p>&nbsp;") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678联系", f"电话{PHONE_MASK}联系"),
        ("电话 138-1234-5678。", f"电话 {PHONE_MASK}。"),
        ("+86 13912345678", PHONE_MASK),
        ("座机010-62345678或(0351)7654321", f"座机{PHONE_MASK}或{PHONE_MASK}"),
        ("身份证11010119900307123X。", f"身份证{ID_CARD_MASK}。"),
        ("身份证号110101199003071234", f"身份证号{ID_CARD_MASK}"),
        ("邮箱 zhang.san@example.com.cn 联系", f"邮箱 {EMAIL_MASK} 联系"),
        ("全角１３８１２３４５６７８", f"全角{PHONE_MASK}"),
        ("微信号：abc_1234x", f"微信号：{ACCOUNT_MASK}"),
    ],
)
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


def test_numbers_that_are_not_personal_data_are_kept() -> None:
    for text in ("价格3999元", "订单号 202301011234567890123", "电池5000毫安", "400-123-4567 客服热线"):
        assert mask_pii(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("卡号6217001234567893转账", f"卡号{BANK_CARD_MASK}转账"),  # 16 digits
        ("退款到6225880123456789017", f"退款到{BANK_CARD_MASK}"),  # 19 digits
        ("卡号 6217 0012 3456 7893。", f"卡号 {BANK_CARD_MASK}。"),  # in groups of four
        ("卡号4111-1111-1111-1111", f"卡号{BANK_CARD_MASK}"),
        ("卡 6212 2612 0200 0000 001 已冻结", f"卡 {BANK_CARD_MASK} 已冻结"),  # 4-4-4-4-3
        ("卡号６２１７００１２３４５６７８９３", f"卡号{BANK_CARD_MASK}"),  # full width
        ("卡号4111111111111111 共3张", f"卡号{BANK_CARD_MASK} 共3张"),
    ],
)
def test_bank_card_numbers_that_pass_the_luhn_check_are_masked(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


def test_numbers_of_card_length_that_fail_the_luhn_check_are_kept() -> None:
    assert not luhn_valid("6217001234567890")
    for text in (
        "订单号6217001234567890",  # 16 digits, Luhn fails
        "运单号 6225880123456789010",  # 19 digits, Luhn fails
        "编号 6217 0012 3456 7890",
        "流水号41111111111111112",  # 17 digits, Luhn fails
        "条码62170012345678930000",  # 22 digits: too long for a card
    ):
        assert mask_pii(text) == text


def test_an_id_card_number_is_masked_as_an_id_card_even_when_it_passes_the_luhn_check() -> None:
    number = next(f"11010119900307{n:04d}" for n in range(10_000) if luhn_valid(f"11010119900307{n:04d}"))
    assert mask_pii(f"身份证{number}") == f"身份证{ID_CARD_MASK}"


def test_real_review_with_qq_number_is_masked() -> None:
    assert mask_pii(REAL_QQ) == f"用起来还不错，本人还有几张2000-100 1000-50 东券要的加qq {ACCOUNT_MASK}"


def test_content_hash_ignores_punctuation_space_and_case() -> None:
    assert content_hash("充电宝冒烟了！！") == content_hash("充电宝 冒烟了。")
    assert content_hash("ABC 电池") == content_hash("abc电池")
    assert content_hash("充电宝冒烟了") != content_hash("充电宝没冒烟")
    # texts with no letters at all are not all the same content
    assert content_hash("👍👍") != content_hash("😡")
    assert compact("好，好！ ok") == "好好ok"


@pytest.mark.parametrize(
    "text",
    [
        "这个充电宝会冒烟，电线发热严重。" * 12500,  # 200k ordinary characters
        "<a " * 66000,  # unclosed tags
        "<!--" * 50000,  # unclosed comments
        "<div " * 40000,
        "a" * 100_000 + "@" * 100_000,  # e-mail-ish
        "1" * 200_000,  # one long digit run
        "qq" * 100_000,
        "&" * 200_000,
    ],
)
def test_very_long_and_hostile_texts_are_linear(text: str) -> None:
    t0 = time.perf_counter()
    out = normalize_text(text)
    content_hash(out)
    assert time.perf_counter() - t0 < 3.0
    assert len(out) <= len(text)
