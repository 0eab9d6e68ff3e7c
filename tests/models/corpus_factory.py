"""A small labelled corpus of realistic Chinese texts in the labels.jsonl format (for tests/models)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# (template, hazards, harm_occurred, products); {p} is replaced by each product in turn.
RISK_TEMPLATES: list[tuple[str, list[str], bool, list[str]]] = [
    (
        "{p}充电的时候突然冒烟起火，幸好人在旁边，太吓人了",
        ["fire"],
        False,
        ["充电宝", "电动车电池", "插线板", "电热毯"],
    ),
    (
        "用了不到一个月{p}就烧焦了，插头都熔化了，差点着火",
        ["fire"],
        False,
        ["电暖器", "插线板", "充电器", "电热毯"],
    ),
    (
        "{p}放在床头充电半夜爆炸了，把被子烧了一个大洞",
        ["fire"],
        True,
        ["充电宝", "手机", "平衡车", "电动牙刷"],
    ),
    (
        "{p}外壳漏电，摸上去手麻麻的，不敢再用了",
        ["electric_shock"],
        False,
        ["电热水器", "吹风机", "电水壶", "洗衣机"],
    ),
    (
        "洗澡的时候{p}漏电，被电了一下，浑身发麻",
        ["electric_shock"],
        True,
        ["电热水器", "浴霸", "热水器", "电吹风"],
    ),
    (
        "{p}插上电源后金属部分带电，用电笔一测就亮，有触电危险",
        ["electric_shock"],
        False,
        ["电饭煲", "电磁炉", "台灯", "电风扇"],
    ),
    (
        "{p}一股刺鼻的味道，甲醛肯定超标，穿了两天皮肤过敏起红疹",
        ["chemical"],
        True,
        ["儿童睡衣", "羽绒服", "床单", "内衣"],
    ),
    (
        "打开包装{p}气味特别大，熏得眼睛疼，怀疑含有有毒物质",
        ["chemical"],
        False,
        ["地板", "床垫", "衣柜", "儿童书桌"],
    ),
    (
        "{p}用了以后头皮又痒又红，过敏了，成分肯定有问题",
        ["chemical"],
        True,
        ["洗发水", "染发剂", "护发素", "沐浴露"],
    ),
    (
        "{p}打开就发霉了，孩子吃了以后拉肚子",
        ["microbiological"],
        True,
        ["面包", "蛋糕", "月饼", "饼干"],
    ),
    (
        "{p}里面有虫子，已经变质发臭了，还在卖",
        ["microbiological"],
        False,
        ["大米", "坚果", "牛奶", "水果"],
    ),
    (
        "吃了这家的{p}上吐下泻，去医院挂了急诊",
        ["microbiological"],
        True,
        ["外卖盒饭", "凉皮", "寿司", "熟食"],
    ),
    (
        "{p}边缘非常锋利，孩子玩的时候把手划破了，流了很多血",
        ["injuries"],
        True,
        ["儿童玩具", "积木", "玩具车", "文具盒"],
    ),
    (
        "{p}用了两天螺丝松动，突然断裂，人摔在地上",
        ["injuries"],
        True,
        ["折叠椅", "儿童滑板车", "梯子", "健身器材"],
    ),
    (
        "{p}的零件有很多毛刺，很容易割伤手，质量太差",
        ["injuries"],
        False,
        ["儿童玩具", "收纳箱", "晾衣架", "剪刀"],
    ),
]

SAFE_TEMPLATES: list[str] = [
    "{p}物流很快，包装完好，用起来很顺手",
    "{p}颜色和图片上不一样，有点失望",
    "客服态度很差，{p}发错了型号，换货折腾了一周",
    "{p}性价比很高，推荐大家购买",
    "价格比超市贵了二十块，{p}质量一般般",
    "{p}续航一般，一天要充一次电，其他还行",
    "{p}销量火爆，抢了好几次才买到，很满意",
    "{p}外观漂亮，做工精细，朋友都说好看",
    "给家里老人买的{p}，操作简单，老人会用",
    "{p}尺码偏小，建议买大一号",
    "发货太慢了，等了十天才收到{p}",
    "{p}和描述一致，五星好评",
    "第二次购买{p}了，一如既往的好",
    "{p}的说明书写得不清楚，研究了半天才会用",
    "{p}声音有点大，不过能接受",
    "京东自营的{p}，正品有保障，下次还来",
]
SAFE_PRODUCTS = ["手机", "充电宝", "洗发水", "电热水器", "儿童玩具", "面包", "床垫", "羽绒服", "吹风机", "折叠椅"]


def corpus_rows() -> list[dict[str, Any]]:
    """About 60 risk and 160 non-risk rows; every fifth row in dev, the next in test, the rest in train."""
    rows: list[dict[str, Any]] = []
    for t, (template, hazards, harm, products) in enumerate(RISK_TEMPLATES):
        for j, product in enumerate(products):
            rows.append(
                {
                    "id": f"risk-{t}-{j}",
                    "text": template.format(p=product),
                    "source_type": "review",
                    "is_risk": True,
                    "hazards": hazards,
                    "harm_occurred": harm,
                    "product_category": product,
                    "dataset": "tests",
                    "file": "conftest.py",
                    "row": len(rows),
                    "synthetic": True,
                }
            )
    for t, template in enumerate(SAFE_TEMPLATES):
        for j, product in enumerate(SAFE_PRODUCTS):
            rows.append(
                {
                    "id": f"safe-{t}-{j}",
                    "text": template.format(p=product),
                    "source_type": "review",
                    "is_risk": False,
                    "hazards": [],
                    "harm_occurred": False,
                    "product_category": product,
                    "dataset": "tests",
                    "file": "conftest.py",
                    "row": len(rows),
                    "synthetic": True,
                }
            )
    for i, row in enumerate(rows):
        row["split"] = ("dev", "test", "train", "train", "train")[i % 5]
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path
