"""The shortcuts of text normalisation (issue 18) answer exactly as the plain steps they skip.

Each optimised step is pinned against the plain version it replaces, on real reviews and on
crafted edge cases: NFKC after folding full-width characters, the traditional-character test,
the whitespace precheck, and the personal-data precheck that skips the masking patterns.
"""

from __future__ import annotations

import csv
import random
import re
import unicodedata

import pytest

from riskmine.settings import shared_data_dir
from riskmine.text import normalize as N
from riskmine.text.normalize import (
    PHONE_MASK,
    _traditional_chars,
    clean_whitespace,
    has_traditional,
    mask_pii,
    nfkc,
    normalize_text,
)

DATA = shared_data_dir()
SOURCES = (
    ("online_shopping_10_cats/online_shopping_10_cats.csv", "review"),
    ("waimai_10k/waimai_10k.csv", "review"),
    ("ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv", "review"),
)
needs_data = pytest.mark.skipif(
    not all((DATA / rel).is_file() for rel, _ in SOURCES), reason="the shared data sets are not available"
)


def _real(step: int = 4) -> list[str]:
    texts: list[str] = []
    for rel, field in SOURCES:
        with (DATA / rel).open(encoding="utf-8-sig", newline="") as f:
            texts.extend(r[field] for r in csv.DictReader(f) if (r[field] or "").strip())
    return texts[::step]


# ---------------------------------------------------------------- the plain versions (before issue 18)


def plain_clean_whitespace(text: str) -> str:
    text = N._LINE_BREAK_RE.sub("\n", text)
    text = N._INVISIBLE_RE.sub("", text)
    text = N._SPACES_RE.sub(" ", text)
    text = N._NEWLINES_RE.sub("\n", text)
    return text.strip()


def plain_mask_pii(text: str) -> str:
    """mask_pii without any precheck: every pattern searched on the folded text."""
    folded = text.translate(N._FOLD)
    spans: list[tuple[int, int, str]] = []
    for pattern, mask in N._PII_PATTERNS:
        spans.extend((m.start(), m.end(), mask) for m in pattern.finditer(folded))
    spans.extend((start, end, N.BANK_CARD_MASK) for start, end in N._bank_cards(folded))
    spans.extend((m.start(1), m.end(1), N.ACCOUNT_MASK) for m in N._ACCOUNT_RE.finditer(folded))
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    pos = 0
    for start, end, mask in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(mask)
        pos = end
    out.append(text[pos:])
    return "".join(out)


PII_CASES = [
    "电话13812345678，邮箱abc@qq.com",
    "手机 138 1234 5678 ，身份证11010519491231002X",
    "身份证号11010519491231002x。",
    "ｔｅｌ：１３８１２３４５６７８",
    "１３８-１２３４-５６７８ 找我",
    "+86 138-1234-5678 加qq 673946022 微信号：abc_123",
    "加ＱＱ６７３９４６０２２",
    "加Ｑｑ：６７３９４６０２２",
    "ＷＥＣＨＡＴ：ａｂｃ＿１２３４",
    "weıxin abc_1234",  # a dotless i: re's IGNORECASE takes it for an i
    "WeChat：Ab-12345",
    "v信 12345678",
    "Ｖ信:１２３４５６７８",
    "邮箱：ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    "john.doe＠example.com",
    "卡号6222 0200 0000 0000 004",
    "卡号６２２２０２０００００００００００４",
    "座机(010)62345678",
    "座机０１０－６２３４５６７８",
    "订单号 123456789012345678 已发货",
    "1２3４5678901",
    "１３８１２３４５６７８",
    "价格999元，买了3件",
    "扣扣 12345",
    "企鹅号：abcde1",
    "\u3000１３８\u3000１２３４\u3000５６７８",
]


def test_nfkc_equals_unicodedatas_on_crafted_text() -> None:
    cases = [
        "Ａ\u0301", "ｅ\u0308\u0323", "ﬁ，ﾊﾟﾝ①㈱", "\u3000全角　空格", "한국어 한", "Å\u030a", "～！＠＃",
        "ｶﾞ", "\uff21\u0300\u0316", "°C ℃ Ⅻ ½", "",
    ]  # fmt: skip
    rng = random.Random(3)
    alphabet = "".join(chr(c) for c in (*range(0xFF01, 0xFF5F), 0x3000, 0x301, 0x308, 0x323, 0x316, 0x1100, 0x1161))
    cases += ["".join(rng.choice(alphabet + "漏电a") for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    for text in cases:
        assert nfkc(text) == unicodedata.normalize("NFKC", text), repr(text)


@needs_data
def test_the_shortcuts_answer_as_the_plain_steps_on_real_reviews() -> None:
    traditional = _traditional_chars()
    for raw in _real():
        assert nfkc(raw) == unicodedata.normalize("NFKC", raw), raw
        assert has_traditional(raw) == (not traditional.isdisjoint(raw)), raw
        assert clean_whitespace(raw) == plain_clean_whitespace(raw), raw
        assert mask_pii(raw) == plain_mask_pii(raw), raw
        text = normalize_text(raw, mask=False)
        assert mask_pii(text) == plain_mask_pii(text), text


def test_traditional_characters_beyond_the_basic_plane_are_found() -> None:
    astral = sorted(c for c in _traditional_chars() if c > "\uffff")
    plain = sorted(c for c in _traditional_chars() if c <= "\uffff")
    assert astral and plain
    for c in (astral[0], astral[-1], plain[0], plain[-1]):
        assert has_traditional(f"好的{c}。") and has_traditional(c)
    assert not has_traditional("简体字，𠮷野家，😀")


def test_whitespace_precheck_keeps_every_change() -> None:
    cases = [
        " a  b ", "a\tb", "a\r\nb", "a \n b", "a\n\n\nb", "a\u2028b", "a\x85b", "a\u200bb", "a\ufeffb",
        "a\u00a0b", "a\u3000b", "a\x0cb", "a\xadb", "a\u3164b", "a\ufe0fb", "\n a", "a\n", "a b\nc", "正常 的 文本",
    ]  # fmt: skip
    rng = random.Random(4)
    alphabet = " \n\t\r\u2028\x85\u200b\u00a0\u3164\ufe0fab好"
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))) for _ in range(5000)]
    for text in cases:
        assert clean_whitespace(text) == plain_clean_whitespace(text), repr(text)


def test_the_personal_data_precheck_never_skips_what_a_pattern_masks() -> None:
    for text in PII_CASES:
        assert mask_pii(text) == plain_mask_pii(text), text
        assert mask_pii(normalize_text(text, mask=False)) == plain_mask_pii(normalize_text(text, mask=False)), text
    assert PHONE_MASK in mask_pii("ｔｅｌ：１３８１２３４５６７８")
    assert mask_pii("weıxin abc_1234") != "weıxin abc_1234"
    # random strings over the characters the patterns look at, in both widths
    rng = random.Random(9)
    alphabet = "0123456789０１２３４５６７８９ -@＠.．qQｑＱwWxXｗｘvVeEiıInNcChHaAtT信微扣企鹅号:：()（）+Xx漏"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        assert mask_pii(text) == plain_mask_pii(text), repr(text)


def test_texts_without_a_hint_are_not_searched() -> None:
    assert not N._may_hold_pii("价格999元，很好用，推荐！")
    assert N._may_hold_pii("价格9999元")
    for text in PII_CASES:
        if plain_mask_pii(text) != text:
            assert N._may_hold_pii(text), text
    assert re.search(N._PII_FIRST_RE, "ｑ")
