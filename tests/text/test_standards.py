"""Standard numbers: the prefix-letter check answers texts without one, as the full pattern search would."""

from __future__ import annotations

import random

from riskmine.text.standards import _STANDARD_RE, find_standards


def _searched(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _STANDARD_RE.finditer(text):  # the pattern alone, at every position
        out.append((m.start(), m.end(), f"{m.group(1)} {m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else "")))
    return out


def test_standards_are_found_as_the_full_search_finds_them() -> None:
    text = "依据GB 4943.1-2022和GB/T 18883检测，IEC 60335合格"
    assert [c for _, _, c in find_standards(text)] == ["GB 4943.1-2022", "GB/T 18883", "IEC 60335"]
    assert find_standards(text) == _searched(text)
    rng = random.Random(9)
    parts = ["GB", "GB/T", "QB/T", "DB44/T", "T/CAS", "ISO", "EN", "IEC", "YY", " ", "-", "2020", "4943", "宝", "gb"]
    texts = ["".join(rng.choice(parts) for _ in range(rng.randint(0, 8))) for _ in range(3000)]
    texts += ["", "质量很好，物流很快", "充电宝 3C 认证", "abcGB 1234"]
    for text in texts:
        assert find_standards(text) == _searched(text), text
