"""Texts from the supervisory spot-check records (food_spotcheck_foodmate).

    python scripts/corpus/spotcheck.py --out /tmp/corpus/spot.jsonl --spec /tmp/corpus/spot.txt [--pass-sample 320]

Every 不合格 record becomes a text; a seeded random sample of 合格 records gives negatives.
The text follows the record fields:
``【监督抽查】{物料名称}（{产品分类}）{检测项目} 不合格，检测结果 {检测结果}{单位}，标准 {限量值}，``
``生产商 {生产商}，{发布单位} {发布日期}``.
``--spec`` writes a *proposed* label file (hazard from the test item, see TEST_ITEM_HAZARD);
the annotator reads every failed record against it and corrects it before applying it with
apply_labels.py.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any

from sources import SPOTCHECK, spotcheck_rows

# test item pattern → hazard code; None = a quality-only item (not a safety risk, see GUIDE.md).
TEST_ITEM_HAZARD: tuple[tuple[str, str | None], ...] = (
    (r"菌落总数|大肠菌群|李斯特|沙门|霉菌|酵母|金黄色葡萄球菌", "microbiological"),
    (r"接地|带电部件|泄漏电流|电气强度|电源连接|外部软线|接线端子|内部布线", "electric_shock"),
    (r"非正常工作|发热", "fire"),
    (r"稳定性和机械危险|机械危险", "injuries"),
    (r"泄压", "safety_function_failure"),
    (r"输入功率和电流|^结构", "other"),
    (r"蛋白质|总活性物|干燥减量|色价|净含量|标签", None),
    (r".", "chemical"),  # residues, heavy metals, additives, veterinary drugs, toxins
)

# 产品分类 (first level, or full path for 食品相关产品) → corpus product category.
CATEGORY = {
    "豆及豆制品": "豆制品",
    "水产及其制品": "水产品",
    "蛋及蛋制品": "蛋制品",
    "淀粉及淀粉制品": "淀粉制品",
    "冷冻饮品": "冷冻饮品",
    "食品添加剂": "食品添加剂",
    "食品相关产品-->食品机械设备": "食品机械",
    "食品相关产品-->洗涤剂/消毒剂": "洗涤剂",
}


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def category_of(rec: dict[str, str]) -> str | None:
    path = squash(rec["产品分类"])
    return CATEGORY.get(path) or CATEGORY.get(path.split("-->")[0])


def spot_text(rec: dict[str, str]) -> str:
    name, cls = squash(rec["物料名称"]), squash(rec["产品分类"]).replace("-->", "/")
    producer = squash(rec["生产商"]).strip("/ ") or "未标注"
    issuer, date = squash(rec["发布单位"]), squash(rec["发布日期"])
    if rec["判定"].strip() == "合格":
        return f"【监督抽查】{name}（{cls}）抽检合格，生产商 {producer}，{issuer} {date}"
    item = squash(rec["检测项目"]) or "检验项目"
    parts = [f"【监督抽查】{name}（{cls}）{item} 不合格"]
    result = squash(rec["检测结果"])
    if result:
        unit = squash(rec["单位"])
        parts.append(f"检测结果 {result}{unit if len(unit) <= 12 else ''}")
    limit = squash(rec["限量值"])
    if limit:
        parts.append(f"标准 {limit}")
    parts.append(f"生产商 {producer}")
    parts.append(f"{issuer} {date}")
    return "，".join(parts)


def hazard_of(item: str) -> str | None:
    for pattern, hazard in TEST_ITEM_HAZARD:
        if re.search(pattern, squash(item)):
            return hazard
    return "chemical"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--spec", type=Path, required=True)
    ap.add_argument("--pass-sample", type=int, default=320)
    ap.add_argument("--seed", type=int, default=20240731)
    args = ap.parse_args()
    failed: list[tuple[str, int, dict[str, str]]] = []
    passed: list[tuple[str, int, dict[str, str]]] = []
    for file, row, rec in spotcheck_rows():
        (passed if rec["判定"].strip() == "合格" else failed).append((file, row, rec))
    rng = random.Random(args.seed)
    chosen = failed + sorted(rng.sample(passed, min(args.pass_sample, len(passed))), key=lambda t: (t[0], t[1]))
    batch: list[dict[str, Any]] = []
    spec_lines = []
    for n, (file, row, rec) in enumerate(chosen):
        batch.append(
            {
                "n": n,
                "id": f"{SPOTCHECK}:{file}:{row}",
                "dataset": SPOTCHECK,
                "file": file,
                "row": row,
                "text": spot_text(rec),
                "source_type": "spot_check",
                "category": category_of(rec),
                "key": SPOTCHECK,
                "hits": [],
            }
        )
        if rec["判定"].strip() != "合格":
            hz = hazard_of(rec["检测项目"])
            item = squash(rec["检测项目"])
            spec_lines.append(f"{n} R {hz}  # {item}" if hz else f"{n} N  # quality-only item: {item}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in batch), encoding="utf-8")
    args.spec.write_text("\n".join(spec_lines) + "\n", encoding="utf-8")
    print(f"{len(failed)} failed and {len(chosen) - len(failed)} passed records → {args.out}; proposal → {args.spec}")


if __name__ == "__main__":
    main()
