"""What the console's statistics panel shows an analyst: Chinese names, the statistic's own name in brackets."""

from __future__ import annotations

import re
from typing import Any

from riskmine.api.console_views import statistic_rows
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{3,}|[a-z]+_[a-z]+")


def test_every_statistic_label_and_method_reads_in_chinese(store: SQLiteStore, seeded: dict[str, Any]) -> None:
    shown = 0
    for cand in store.iterate(Collection.candidates):
        for row in statistic_rows(cand.statistics):
            assert CJK.search(row.label), row.label
            for label, value in row.fields:
                for part in label.split(" · "):
                    assert CJK.search(part), (row.name, label)
                assert not ENGLISH_WORDS.search(value) or CJK.search(value), (row.name, label, value)
                shown += 1
    assert shown > 50


def test_the_experts_names_stay_in_brackets() -> None:
    rows = statistic_rows(
        {
            "ears": {"method": "EARS C2/C3 on daily event counts", "c2": {"signal": True}},
            "prr": {"prr": 3.5, "prr_infinite": False, "chi2": 9.1},
            "immediate": {"rule": "death, or injury/hospital visit from a hazard of severity ≥ 4", "qualifies": True},
        }
    )
    text = {(r.label, k): v for r in rows for k, v in r.fields}
    assert text[("早期异常检测（EARS）", "方法")] == "按日事件数的早期异常检测（EARS C2/C3）"
    assert ("早期异常检测（EARS）", "C2 检验（EARS C2） · 发出信号") in text
    assert text[("比例报告比（PRR）", "比例报告比（PRR）")] == "3.5"
    assert text[("比例报告比（PRR）", "卡方值（χ²）")] == "9.1"
    assert text[("立即处置判定", "判定规则")] == "出现死亡，或严重程度≥4的危害造成受伤、就医"
