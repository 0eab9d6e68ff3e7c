"""Build the bundled demo corpus, riskmine/data/demo/demo.jsonl, and its README.

Real review texts and spot-check records from the shared data sets are mixed with
the hand-written documents in riskmine/data/demo/written/*.jsonl. Products, shops, prices,
ratings, regions and dates are assigned to the real texts (which carry none) from
riskmine/data/demo/catalog.json, and every document records where it came from in
meta.provenance. Everything random is seeded, per document, so a re-run writes the
same bytes.

    .venv/bin/python scripts/demo/build_demo_corpus.py            # rewrite the corpus
    .venv/bin/python scripts/demo/build_demo_corpus.py --check    # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from riskmine.schema import RawDocument, SourceType
from riskmine.settings import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "riskmine" / "data" / "demo"
DEFAULT_DATA_DIR = shared_data_dir()
SEED = "riskmine-demo-2026"
CST = timezone(timedelta(hours=8))
END = date(2026, 11, 15)  # a Sunday: the window is ISO weeks 2026-W21 to 2026-W46
WEEKS = 26
START = END - timedelta(days=WEEKS * 7 - 1)
DEMO_URL = "https://demo.riskmine.invalid"

OSC = "online_shopping_10_cats"
FEWCLUE = "fewclue_eprstmt"
WAIMAI = "waimai_10k"
HOTEL = "ChnSentiCorp_htl_all"
SPOTCHECK = "food_spotcheck_foodmate"

# How many real reviews to draw per category as background, and the negative share.
OSC_SAMPLE = {
    "平板": 170,
    "手机": 170,
    "计算机": 150,
    "水果": 150,
    "衣服": 170,
    "蒙牛": 120,
    "书籍": 60,
    "洗发水": 140,
    "热水器": 80,  # positives only: every negative 热水器 review is taken as well (there are 100)
}
OSC_CATEGORY = {"蒙牛": "乳制品"}  # dataset category → catalog category
NEGATIVE_SHARE = 0.6
FEWCLUE_SAMPLE = {"充电宝": 60, "耳机": 90, "手机配件": 50, "智能穿戴": 30}
FEWCLUE_PRODUCT = [
    ("充电宝", re.compile("充电宝|移动电源")),
    ("耳机", re.compile("耳机")),
    ("智能穿戴", re.compile("手环|手表|体脂秤|体重秤")),
    ("手机配件", re.compile("数据线|充电线|钢化膜|贴膜|手机壳|保护壳|充电器|充电头")),
]
FEWCLUE_FILES = [  # read in this order; a sentence seen in an earlier file is not taken again
    "train_0.json", "train_1.json", "train_2.json", "train_3.json", "train_4.json", "dev_0.json", "dev_1.json",
    "dev_2.json", "dev_3.json", "dev_4.json", "test_public.json", "test.json", "unlabeled.json",
]  # fmt: skip
WAIMAI_SAMPLE = 120
WAIMAI_ILLNESS = re.compile("拉肚子|吃坏|腹泻|肠炎|食物中毒")
WAIMAI_ILLNESS_MAX = 20
HOTEL_SAMPLE = 90
SPOTCHECK_PASS_NOTICES = 40

# Real 洗发水 reviews reporting an allergic reaction (story 5), rather than a plain itch or dandruff.
SHAMPOO_ALLERGY = re.compile(
    "过敏|红肿|红胀|发红(?!包)|起疹|疹子|起包|长包|刺痛|皮炎|流脓|流黄水|红疙瘩|眼睛.{0,3}(红|疼)|头皮.{0,4}(肿|疼|痛)"
)
SHAMPOO_NOT_ALLERGY = re.compile("扯的头皮疼|万一过敏了怎么办|消毒液")  # read by hand: no reaction reported


@dataclass(frozen=True)
class Pick:
    """A real text chosen by hand, found by the start of its text."""

    dataset: str
    starts: str
    role: str
    category: str
    story: str | None = None
    week: int | None = None


PICKS = [
    # real hazard reports outside the planted stories
    Pick(OSC, "华为P9 在充电时，金属后背漏电", "background_hazard", "手机"),
    Pick(OSC, "1，屏幕中间有一个明显亮点", "background_hazard", "计算机"),
    Pick(OSC, "散热整体还可以，就是触摸板有些热呀", "background_hazard", "计算机"),
    Pick(OSC, "垃圾死，没买多久卡槽旁边就翘角了", "background_hazard", "手机"),
    Pick(OSC, "质量相当差，非常水！才用一两个月，充电差点导致爆炸", "background_hazard", "手机"),
    Pick(OSC, "说真的真的很差劲，充电发烫的要爆炸了一样", "background_hazard", "手机"),
    Pick(FEWCLUE, "太可怕了，头烧掉了。", "background_hazard", "手机配件"),
    Pick(FEWCLUE, "大家注意了，在商城买的这个线用了两个月左右", "background_hazard", "手机配件"),
    Pick(FEWCLUE, "第一次差评、商城快递也太不负责了", "background_hazard", "充电宝"),
    Pick(HOTEL, "这次住的丽晶，实在是令人气愤", "background_hazard", "酒店服务"),
    # a real power-bank report that belongs to story 1
    Pick(FEWCLUE, "充电时会发热，充上10％就烫的像要爆炸了", "story", "充电宝", "power_bank_fire", 44),
    # hazard words in texts that report no hazard
    Pick(OSC, "这么一个平庸的作品，怎么炒得这么火爆", "false_alarm", "书籍"),
    Pick(OSC, "烂到爆炸，系统超慢", "false_alarm", "平板"),
    Pick(OSC, "618买的，可能太过火爆", "false_alarm", "水果"),
    Pick(OSC, "618太火爆，京东的神速变成了龟速", "false_alarm", "水果"),
    Pick(OSC, "真的是垃圾到爆炸", "false_alarm", "水果"),
    Pick(OSC, "物流一如既往地快，即使在618这么火爆的日子", "false_alarm", "洗发水"),
    Pick(OSC, "蒙牛你这回火爆了", "false_alarm", "乳制品"),
    Pick(OSC, "经典的弹力牛仔库,爆款肯定有他的理由", "false_alarm", "衣服"),
    Pick(OSC, "等等了一个星期 运都没运过来就被签收了", "false_alarm", "衣服"),
    Pick(OSC, "隐藏分区占的少，而且可以格式化", "false_alarm", "计算机"),
    Pick(OSC, "拿回来装系统，装到一半机器响个不停", "false_alarm", "计算机"),
    Pick(OSC, "装上了，一切都还好。防电墙有了，就是没有防漏电开关", "false_alarm", "热水器"),
    Pick(OSC, "我的头皮上有红色小疙瘩", "false_alarm", "洗发水"),
    Pick(FEWCLUE, "我晕死，什么情况，这才买多久，现在一充电好大的声音出来", "background_hazard", "手机"),
    Pick(FEWCLUE, "昨天买的时候是749元，今天降价一百元", "false_alarm", "耳机"),
    Pick(FEWCLUE, "耳机音质爆炸爆炸类型", "false_alarm", "耳机"),
]

WRITTEN_SOURCES = {
    SourceType.review: "demo:shop-reviews",
    SourceType.complaint: "demo:consumer-complaints",
    SourceType.recall: "demo:recall-notices",
    SourceType.spot_check: "demo:spot-check-notices",
    SourceType.injury_report: "demo:injury-monitoring",
    SourceType.government_notice: "demo:gov-notices",
    SourceType.station_report: "station:demo",
    SourceType.public_report: "demo:public-reports",
}
OUTLETS = {  # invented news outlets
    "青禾消费网": "qinghe",
    "晨风新闻": "chenfeng",
    "澄江晚报": "chengjiang",
    "鹭岛生活报": "ludao",
    "云帆资讯": "yunfan",
    "北原日报": "beiyuan",
}
WRITTEN_KEYS = {
    "key", "story", "role", "category", "source_type", "source", "outlet", "week", "date", "title", "text",
    "product", "brand", "shop", "enterprise", "region", "price", "rating",
}  # fmt: skip
STORIES = {
    "power_bank_fire": "充电宝充电时冒烟、鼓包、起火，多品牌，最近 6 周上升",
    "crawling_mat_formaldehyde": "儿童爬行垫甲醛超标，集中在浙江省台州市",
    "ebike_helmet_cracking": "电动自行车头盔外壳开裂、卡扣断裂，多品牌，含召回",
    "water_heater_shock": "电热水器漏电、麻手",
    "shampoo_allergy": "洗发水致头皮过敏、红肿（真实评论为主）",
    "toy_small_parts": "婴儿摇铃/毛绒玩具小零件脱落，误吞误吸送医（应进入 immediate 层）",
    "loud_one_off": "一条情绪激烈的长投诉，仅此一条（不应排在前面）",
}
PROVINCE_SHORT = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市", "广西": "广西壮族自治区",
    "内蒙古": "内蒙古自治区", "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区", "西藏": "西藏自治区",
}  # fmt: skip


class CorpusError(Exception):
    """A problem with the inputs, with what to do about it."""


@dataclass
class Doc:
    source: str
    source_type: SourceType
    source_id: str
    text: str
    published_at: datetime
    category: str | None
    role: str
    story: str | None = None
    url: str | None = None
    title: str | None = None
    product: str | None = None
    shop: str | None = None
    brand: str | None = None
    enterprise: str | None = None
    price: float | None = None
    rating: float | None = None
    region: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    assigned: list[str] = field(default_factory=list)
    extra_meta: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "source": self.source,
            "source_type": self.source_type.value,
            "source_id": self.source_id,
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "published_at": self.published_at.isoformat(),
            "product": self.product,
            "shop": self.shop,
            "brand": self.brand,
            "enterprise": self.enterprise,
            "price": self.price,
            "rating": self.rating,
            "region": self.region,
        }
        rec = {k: v for k, v in rec.items() if v is not None}
        meta: dict[str, Any] = {"provenance": self.provenance}
        if self.assigned:
            meta["assigned"] = self.assigned
        meta.update(self.extra_meta)
        meta["demo"] = {"category": self.category, "role": self.role, "story": self.story}
        rec["meta"] = meta
        return rec


# ---------------------------------------------------------------- randomness


def rng_for(*parts: object) -> random.Random:
    """A generator seeded by the document's identity, so documents do not depend on each other."""
    digest = hashlib.sha256("\x1f".join([SEED, *map(str, parts)]).encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def stable_index(name: str, n: int) -> int:
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest()[:8], 16) % n


def at_time(day: date, rng: random.Random) -> datetime:
    return datetime(
        day.year, day.month, day.day, rng.randint(7, 23), rng.randint(0, 59), rng.randint(0, 59), tzinfo=CST
    )


def random_time(rng: random.Random) -> datetime:
    return at_time(START + timedelta(days=rng.randrange(WEEKS * 7)), rng)


def week_time(week: int, rng: random.Random) -> datetime:
    monday = date.fromisocalendar(2026, week, 1)
    days = [monday + timedelta(days=i) for i in range(7) if START <= monday + timedelta(days=i) <= END]
    if not days:
        raise CorpusError(f"ISO week 2026-W{week:02d} lies outside the corpus window {START}..{END}")
    return at_time(rng.choice(days), rng)


# ---------------------------------------------------------------- assigned metadata


@dataclass
class Catalog:
    regions: list[str]
    categories: dict[str, dict[str, Any]]

    @classmethod
    def load(cls, path: Path) -> Catalog:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(list(data["regions"]), dict(data["categories"]))

    def assign(self, doc: Doc, rng: random.Random, *, label: int | None) -> None:
        """Give a real review a plausible product, shop, price, rating and (half the time) region."""
        entry = self.categories.get(doc.category or "")
        if entry is None:
            raise CorpusError(f"catalog.json has no category {doc.category!r} (needed for {doc.source_id})")
        doc.product = rng.choice(entry["products"])
        doc.shop = rng.choice(entry["shops"])
        lo, hi = entry["price"]
        doc.price = float(max(lo, int(rng.uniform(lo, hi)) // 10 * 10 + 9))
        doc.assigned = ["product", "shop", "price", "published_at"]
        if label is not None:
            doc.rating = float(rng.choice([4, 5]) if label == 1 else rng.choice([1, 2]))
            doc.assigned.append("rating")
        if rng.random() < 0.5:
            doc.region = self.regions[stable_index(doc.shop, len(self.regions))]
            doc.assigned.append("region")


# ---------------------------------------------------------------- real data readers


@dataclass(frozen=True)
class Row:
    dataset: str
    file: str  # path relative to the data directory
    row: int  # 1-based data row (CSV: header excluded; JSON lines: line number)
    text: str
    label: int | None
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def source_id(self) -> str:
        return f"{self.file}#{self.row}"


def clean(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split())


def read_csv(data_dir: Path, dataset: str, name: str, text_field: str) -> list[Row]:
    path = data_dir / dataset / name
    if not path.is_file():
        raise CorpusError(f"missing data file {path}: pass --data-dir pointing at the shared data")
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=1):
            text = clean(rec.get(text_field) or "")
            if len(text) >= 2:
                label = rec.get("label")
                rows.append(
                    Row(dataset, f"{dataset}/{name}", i, text, int(label) if label in ("0", "1") else None, rec)
                )
    return rows


def read_fewclue(data_dir: Path) -> list[Row]:
    rows, seen = [], set()
    labels = {"Positive": 1, "Negative": 0}
    for name in FEWCLUE_FILES:
        path = data_dir / FEWCLUE / name
        if not path.is_file():
            raise CorpusError(f"missing data file {path}: pass --data-dir pointing at the shared data")
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            rec = json.loads(line)
            text = clean(rec.get("sentence", ""))
            if len(text) >= 2 and text not in seen:
                seen.add(text)
                rows.append(Row(FEWCLUE, f"{FEWCLUE}/{name}", i, text, labels.get(rec.get("label", ""))))
    return rows


def sample(rows: list[Row], n: int, name: str) -> list[Row]:
    rng = rng_for("sample", name)
    return rng.sample(rows, min(n, len(rows)))


def sample_balanced(rows: list[Row], n: int, name: str) -> list[Row]:
    neg = [r for r in rows if r.label == 0]
    pos = [r for r in rows if r.label != 0]
    n_neg = min(len(neg), round(n * NEGATIVE_SHARE))
    return sample(neg, n_neg, name + ":neg") + sample(pos, n - n_neg, name + ":pos")


# ---------------------------------------------------------------- building


class Builder:
    def __init__(self, data_dir: Path, demo_dir: Path) -> None:
        if not data_dir.is_dir():
            raise CorpusError(f"shared data not found at {data_dir}: pass --data-dir")
        self.data_dir = data_dir
        self.demo_dir = demo_dir
        self.catalog = Catalog.load(demo_dir / "catalog.json")
        self.docs: list[Doc] = []
        self.taken: set[str] = set()

    def add_real(
        self,
        row: Row,
        *,
        category: str,
        role: str,
        story: str | None = None,
        week: int | None = None,
        source_type: SourceType = SourceType.review,
    ) -> None:
        if row.source_id in self.taken:
            return
        self.taken.add(row.source_id)
        rng = rng_for(row.source_id)
        doc = Doc(
            source=f"demo:{row.dataset}",
            source_type=source_type,
            source_id=row.source_id,
            text=row.text,
            published_at=week_time(week, rng) if week else random_time(rng),
            category=category,
            role=role,
            story=story,
            provenance={"dataset": row.dataset, "file": row.file, "row": row.row},
        )
        if row.label is not None:
            doc.provenance["label"] = row.label
        self.catalog.assign(doc, rng, label=row.label)
        self.docs.append(doc)

    def build(self) -> list[Doc]:
        self.add_written()  # first: mistakes in the hand-written files show before the data sets are read
        osc = read_csv(self.data_dir, OSC, f"{OSC}.csv", "review")
        fewclue = read_fewclue(self.data_dir)
        waimai = read_csv(self.data_dir, WAIMAI, f"{WAIMAI}.csv", "review")
        hotel = read_csv(self.data_dir, HOTEL, f"{HOTEL}.csv", "review")
        by_dataset = {OSC: osc, FEWCLUE: fewclue, WAIMAI: waimai, HOTEL: hotel}

        self.add_picks(by_dataset)
        self.add_shampoo_story(osc)
        self.add_reviews(osc, fewclue, waimai, hotel)
        self.add_spot_checks()
        self.docs.sort(key=lambda d: (d.published_at, d.source, d.source_id))
        return self.docs

    def add_picks(self, by_dataset: dict[str, list[Row]]) -> None:
        for pick in PICKS:
            matches = [r for r in by_dataset[pick.dataset] if r.text.startswith(pick.starts)]
            if not matches:
                raise CorpusError(f"hand-picked text not found in {pick.dataset}: {pick.starts!r}")
            self.add_real(matches[0], category=pick.category, role=pick.role, story=pick.story, week=pick.week)

    def add_shampoo_story(self, osc: list[Row]) -> None:
        seen: set[str] = set()
        for row in osc:
            if row.fields.get("cat") != "洗发水" or row.text in seen:
                continue
            if SHAMPOO_ALLERGY.search(row.text) and not SHAMPOO_NOT_ALLERGY.search(row.text):
                seen.add(row.text)
                self.add_real(row, category="洗发水", role="story", story="shampoo_allergy")

    def add_reviews(self, osc: list[Row], fewclue: list[Row], waimai: list[Row], hotel: list[Row]) -> None:
        taken_texts = {d.text for d in self.docs}

        def fresh(rows: Iterable[Row]) -> list[Row]:
            out, seen = [], set(taken_texts)
            for r in rows:
                if r.text not in seen:
                    seen.add(r.text)
                    out.append(r)
            return out

        for cat, n in OSC_SAMPLE.items():
            rows = fresh(r for r in osc if r.fields.get("cat") == cat)
            category = OSC_CATEGORY.get(cat, cat)
            if cat == "热水器":
                chosen = [r for r in rows if r.label == 0] + sample([r for r in rows if r.label == 1], n, cat)
            else:
                chosen = sample_balanced(rows, n, cat)
            for row in chosen:
                self.add_real(row, category=category, role="background")

        for category, n in FEWCLUE_SAMPLE.items():
            rows = fresh(r for r in fewclue if fewclue_category(r.text) == category)
            for row in sample(rows, n, f"fewclue:{category}"):
                self.add_real(row, category=category, role="background")

        ill = fresh(r for r in waimai if WAIMAI_ILLNESS.search(r.text))
        for row in sample(ill, WAIMAI_ILLNESS_MAX, "waimai:ill"):
            self.add_real(row, category="外卖餐饮", role="background_hazard")
        for row in sample_balanced(fresh(waimai), WAIMAI_SAMPLE, "waimai"):
            self.add_real(row, category="外卖餐饮", role="background")
        for row in sample_balanced(fresh(hotel), HOTEL_SAMPLE, "hotel"):
            self.add_real(row, category="酒店服务", role="background")

    def add_spot_checks(self) -> None:
        folder = self.data_dir / SPOTCHECK
        files = sorted(folder.glob("*.csv"))
        if not files:
            raise CorpusError(f"no spot-check CSV files in {folder}")
        passed: dict[tuple[str, str, str], list[Row]] = {}
        for path in files:
            for row in read_csv(self.data_dir, SPOTCHECK, path.name, "物料名称"):
                if row.fields.get("判定", "").strip() == "不合格":
                    self.docs.append(spot_check_failure(row))
                else:
                    key = (row.file, row.fields.get("发布单位", ""), row.fields.get("发布日期", ""))
                    passed.setdefault(key, []).append(row)
        groups = [rows for rows in passed.values() if len(rows) >= 3]
        for rows in sample_groups(groups, SPOTCHECK_PASS_NOTICES):
            self.docs.append(spot_check_pass_notice(rows))

    def add_written(self) -> None:
        folder = self.demo_dir / "written"
        files = sorted(folder.glob("*.jsonl"))
        if not files:
            raise CorpusError(f"no written documents in {folder}")
        keys: set[str] = set()
        for path in files:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                where = f"{path.relative_to(self.demo_dir)} line {n}"
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
                doc = written_doc(item, where)
                if doc.source_id in keys:
                    raise CorpusError(f"{where}: key {doc.source_id!r} is used twice")
                keys.add(doc.source_id)
                self.docs.append(doc)


def fewclue_category(text: str) -> str | None:
    for category, pattern in FEWCLUE_PRODUCT:
        if pattern.search(text):
            return category
    return None


def sample_groups(groups: list[list[Row]], n: int) -> list[list[Row]]:
    groups = sorted(groups, key=lambda rows: rows[0].source_id)
    return rng_for("sample", "spotcheck-pass").sample(groups, min(n, len(groups)))


# ---------------------------------------------------------------- spot checks


def authority(field_value: str) -> str:
    m = re.search(r"\(([^)]*)\)", field_value)
    return (m.group(1) if m else field_value).strip() or "市场监管部门"


def authority_province(name: str) -> str | None:
    m = re.match(r"(.+?)市?市场监管(?:局|厅|委员会)", name)
    if not m or name.startswith("国家"):
        return None
    short = m.group(1)
    return PROVINCE_SHORT.get(short, short + "省")


def one_line(value: str | None) -> str:
    """A CSV cell on one line: markup and the line breaks inside names removed."""
    return re.sub(r"<[^>]+>", "", "".join((value or "").split()))


def producer(value: str) -> str | None:
    text = (value or "").strip()
    m = re.search(r"生产者[:：]\s*(\S+)", text)
    if m:
        return m.group(1)
    text = one_line(text)
    return None if text in ("", "/") else text


def spot_check_failure(row: Row) -> Doc:
    f = row.fields
    org = authority(f.get("发布单位", ""))
    name = one_line(f.get("物料名称"))
    top, _, leaf = one_line(f.get("产品分类")).partition("-->")
    made_by = producer(f.get("生产商", ""))
    seller = one_line(f.get("供应商")) or None
    item = one_line(f.get("检测项目")) or "部分"
    unit = one_line(f.get("单位"))
    result, limit = one_line(f.get("检测结果")), one_line(f.get("限量值"))
    note = one_line(f.get("备注"))

    parts = [f"{org}公布监督抽查结果："]
    parts.append(f"标称生产企业为{made_by}的" if made_by else "")
    parts.append(f"{name}（{leaf or top}）")
    parts.append(f"，被抽样单位为{seller}" if seller else "")
    parts.append(f"，经检验，{item}项目不合格")
    if result and limit and re.fullmatch(r"[A-Za-zμ/%]+", unit or "-"):
        parts.append(f"，检验结果为{result}{unit}，标准规定为{limit}")
    parts.append("。")
    if note:
        parts.append(f"备注：{note}。")
    origin = re.search(r"产地[:：]\s*(\S+?[省市])", note)
    rng = rng_for(row.source_id)
    return Doc(
        source=f"demo:{SPOTCHECK}",
        source_type=SourceType.spot_check,
        source_id=row.source_id,
        text="".join(parts),
        title=f"{org}监督抽查不合格产品信息：{name}",
        published_at=random_time(rng),
        category=leaf if top == "食品相关产品" else top,
        role="spot_check_fail",
        product=name,
        shop=seller,
        enterprise=made_by,
        region=origin.group(1) if origin else authority_province(org),
        provenance={
            "dataset": SPOTCHECK,
            "file": row.file,
            "row": row.row,
            "original_date": one_line(f.get("发布日期")),
        },
        assigned=["published_at"],
    )


def spot_check_pass_notice(rows: list[Row]) -> Doc:
    first = rows[0].fields
    org = authority(first.get("发布单位", ""))
    tops = Counter(one_line(r.fields.get("产品分类")).partition("-->")[0] for r in rows)
    top = tops.most_common(1)[0][0]
    items = [
        f"{one_line(r.fields.get('供应商')) or '被抽样单位'}销售的{one_line(r.fields.get('物料名称'))}"
        for r in rows[:8]
    ]
    more = "等" if len(rows) > 8 else ""
    text = (
        f"{org}公布食品安全监督抽检信息：本次抽检{'、'.join(sorted(t for t in tops if t))}等产品{len(rows)}批次，"
        f"所检项目均符合食品安全国家标准，合格{len(rows)}批次。合格产品包括：{'；'.join(items)}{more}。"
    )
    rng = rng_for(rows[0].source_id, "notice")
    return Doc(
        source=f"demo:{SPOTCHECK}",
        source_type=SourceType.spot_check,
        source_id=f"{rows[0].source_id}+{len(rows) - 1}",
        text=text,
        title=f"{org}食品安全监督抽检信息（{len(rows)}批次合格）",
        published_at=random_time(rng),
        category=top,
        role="spot_check_pass",
        region=authority_province(org),
        provenance={
            "dataset": SPOTCHECK,
            "file": rows[0].file,
            "row": rows[0].row,
            "rows": [r.row for r in rows],
            "original_date": one_line(first.get("发布日期")),
        },
        assigned=["published_at"],
    )


# ---------------------------------------------------------------- written documents


def written_doc(item: Any, where: str) -> Doc:
    if not isinstance(item, dict):
        raise CorpusError(f"{where}: expected a JSON object")
    unknown = set(item) - WRITTEN_KEYS
    if unknown:
        raise CorpusError(f"{where}: unknown field(s) {sorted(unknown)}")
    for name in ("key", "source_type", "text"):
        if not item.get(name):
            raise CorpusError(f"{where}: missing {name!r}")
    key = str(item["key"])
    try:
        source_type = SourceType(item["source_type"])
    except ValueError as exc:
        raise CorpusError(f"{where}: unknown source_type {item['source_type']!r}") from exc
    story = item.get("story")
    if story is not None and story not in STORIES:
        raise CorpusError(f"{where}: unknown story {story!r}; known: {', '.join(STORIES)}")
    rng = rng_for("written", key)
    if item.get("date"):
        try:
            published = at_time(date.fromisoformat(item["date"]), rng)
        except ValueError as exc:
            raise CorpusError(f"{where}: date {item['date']!r} is not YYYY-MM-DD") from exc
    elif item.get("week"):
        published = week_time(int(item["week"]), rng)
    else:
        published = random_time(rng)
    if not START <= published.date() <= END:
        raise CorpusError(f"{where}: date {published.date()} lies outside {START}..{END}")

    extra: dict[str, Any] = {}
    if source_type == SourceType.news:
        outlet = item.get("outlet")
        if outlet not in OUTLETS:
            raise CorpusError(f"{where}: news needs an outlet, one of {', '.join(OUTLETS)}")
        source = f"demo:news/{OUTLETS[outlet]}"
        extra["outlet"] = outlet
    else:
        source = item.get("source") or WRITTEN_SOURCES[source_type]
    return Doc(
        source=source,
        source_type=source_type,
        source_id=key,
        url=f"{DEMO_URL}/{source_type.value}/{key}",
        title=item.get("title"),
        text=item["text"],
        published_at=published,
        category=item.get("category"),
        role=item.get("role") or ("story" if story else "background"),
        story=story,
        product=item.get("product"),
        shop=item.get("shop"),
        brand=item.get("brand"),
        enterprise=item.get("enterprise"),
        price=float(item["price"]) if item.get("price") is not None else None,
        rating=float(item["rating"]) if item.get("rating") is not None else None,
        region=item.get("region"),
        provenance={"written": True},
        extra_meta=extra,
    )


# ---------------------------------------------------------------- output


def validate(records: list[dict[str, Any]]) -> None:
    """Every record must load as a RawDocument, and ids must be unique."""
    ids: dict[str, str] = {}
    for rec in records:
        try:
            doc = RawDocument.model_validate(rec)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CorpusError(f"document {rec.get('source_id')} is not a valid RawDocument: {problems}") from exc
        if doc.id in ids:
            raise CorpusError(f"documents {ids[doc.id]} and {rec['source_id']} share the id {doc.id}")
        ids[doc.id] = rec["source_id"]


def render_jsonl(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records)


def table(title: str, counts: Counter[str], header: str) -> list[str]:
    lines = [f"### {title}", "", f"| {header} | documents |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return [*lines, ""]


def render_readme(docs: list[Doc], size_bytes: int) -> str:
    written = [d for d in docs if d.provenance.get("written")]
    real = [d for d in docs if not d.provenance.get("written")]
    story_rows = ["### By story", "", "| story | what | documents | real | by source type |", "|---|---|---:|---:|---|"]
    for story, what in STORIES.items():
        members = [d for d in docs if d.story == story]
        kinds = Counter(d.source_type.value for d in members)
        mix = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
        n_real = sum(1 for d in members if not d.provenance.get("written"))
        story_rows.append(f"| {story} | {what} | {len(members)} | {n_real} | {mix} |")
    story_rows.append("")
    counts_lines = [
        f"**{len(docs)} documents** ({len(real)} real, {len(written)} written), "
        f"{len({d.source_type for d in docs})} source types, {len({d.category for d in docs if d.category})} "
        f"product categories, published {START.isoformat()} to {END.isoformat()} "
        f"(ISO weeks 2026-W21 to 2026-W46), {size_bytes / 1_000_000:.1f} MB.",
        "",
        *table("By source type", Counter(d.source_type.value for d in docs), "source_type"),
        *table("By role", Counter(d.role for d in docs), "role"),
        *story_rows,
        *table("By data set (real documents)", Counter(d.provenance["dataset"] for d in real), "dataset"),
        *table("By product category", Counter(d.category or "（无）" for d in docs), "category (meta.demo.category)"),
    ]
    return README_TEMPLATE.replace("{{COUNTS}}", "\n".join(counts_lines).rstrip() + "\n")


README_TEMPLATE = """# Demo corpus

`demo.jsonl` is the corpus the demo loads: one document per line in the ingest format
(the fields of `RawDocument` in `riskmine/schema/records.py` without `id` and
`collected_at`). It is generated; do not edit it by hand. To change it, edit the
written documents in `written/*.jsonl`, the product catalogue in `catalog.json` or
the generator, then run

    .venv/bin/python scripts/demo/build_demo_corpus.py          # rewrites demo.jsonl and this README
    .venv/bin/python scripts/demo/build_demo_corpus.py --check  # exit 1 if the files are not up to date

The generator reads the shared data sets (default `../shared/data`, or `--data-dir`).
All randomness is seeded per document, so a re-run writes identical bytes.

## What is in it

* **Real texts** from the shared data sets, with their provenance in
  `meta.provenance` = `{"dataset", "file", "row"}` (`row` is the 1-based data row:
  CSV header excluded, or the JSON-lines line number; `label` keeps the data set's
  sentiment label). The publishers did not state a licence: the corpus keeps
  excerpts with their provenance, not whole files.
  * e-commerce reviews from `online_shopping_10_cats` (平板 手机 计算机 水果 衣服 蒙牛→乳制品
    书籍 洗发水 热水器) and `fewclue_eprstmt` (sentences sorted by product keyword into
    充电宝, 耳机, 手机配件, 智能穿戴); food-delivery reviews from `waimai_10k`; hotel reviews
    from `ChnSentiCorp_htl_all`.
  * every 不合格 row of `food_spotcheck_foodmate` as one `spot_check` document, and groups
    of 合格 rows (same authority and date) as pass notices; the text is rendered from the
    record's columns (authority, product, producer, sampled seller, failed test item,
    result and limit where they are clean), `enterprise`, `shop` and `region` come from
    the record. `meta.provenance.original_date` keeps the publication date.
  * Reviews carry no product, shop, price, rating, region or date: those are assigned
    from `catalog.json` (invented shops and generic product names, no brands) and listed
    in `meta.assigned`. The rating follows the data set's sentiment label. Spot-check
    documents keep their real fields but get an assigned date.
* **Written documents** (`meta.provenance = {"written": true}`): news articles,
  complaints, recall and spot-check notices, injury reports, station reports,
  government notices and reviews, written for this corpus in `written/*.jsonl`. Every
  brand, enterprise, shop and news outlet in them is invented; any likeness to a real
  one is chance. Their URLs use the reserved `.invalid` domain.
* `meta.demo` = `{"category", "role", "story"}` is the corpus's answer key, for
  measuring the demo: `role` is `story`, `background` (negative or positive but no
  hazard), `background_hazard` (a real hazard report outside the stories),
  `false_alarm` (a hazard word that reports no hazard: 销量爆炸, 火爆, 音质爆炸,
  漏电保护器 bought as an accessory, …), `spot_check_fail` or `spot_check_pass`.
  Models and stages must not read it.

## The stories the demo must surface

1. **power_bank_fire**: power banks (充电宝/移动电源) swelling, smoking and catching fire
   while charging, across reviews, complaints, news (one article syndicated by four
   outlets with small edits), station reports and a consumer advisory; brands 极充,
   能量方舟, 酷电侠, 闪能; a few early reports, then rising over the last six weeks.
   One real fewclue review («充上10％就烫的像要爆炸了») belongs to it.
2. **crawling_mat_formaldehyde**: formaldehyde (甲醛) in children's crawling mats
   (爬行垫) made in 浙江省台州市, reviews + complaints + a 台州市 spot-check notice + news
   (one syndicated copy) + a station report; infants exposed.
3. **ebike_helmet_cracking**: e-bike helmets (电动自行车头盔) cracking and buckles
   breaking, brands 路盾, 风驰, 安骑, 骑士盔; reviews, complaints (one child injured),
   news (one syndicated copy), a recall notice for 路盾 LD-3 and a test-lab report.
4. **water_heater_shock**: electric water heaters (热水器) leaking current (漏电, 麻手),
   written reviews and complaints mostly about 暖泉 NQ-60/NQ-80. The real 热水器 reviews in
   `online_shopping_10_cats` hold no leak report (only 安全插头, 安全阀 and a wish for a
   防漏电开关, kept as background and false alarm), so this story is written.
5. **shampoo_allergy**: real 洗发水 reviews reporting allergic reactions (过敏, 头皮红肿,
   起疹, 刺痛, 皮炎), chosen by pattern from the data set, plus six written complaints.
   Hundreds more real reviews report only itching (头皮痒); the sampled ones are background.
6. **toy_small_parts**: a baby rattle (乐淘童) whose beads come out and a plush bear whose
   eyes come off: reviews, complaints, three injury reports and news, with hospital
   visits (harm occurred, choking hazard, infants): it belongs in the immediate tier.
7. **loud_one_off**: one very long, very angry complaint about a rice cooker's coating,
   alone: it must not rank high.

Besides: real hazard reports outside the stories (a phone back leaking current, chargers
exploding, food-delivery meals followed by diarrhoea, a hotel bathroom fall), spot-check
failures of food and of commercial kitchen appliances (接地措施, 泄漏电流), and false
alarms, so that the demo is honest about what the pipeline must tell apart.

## Counts

{{COUNTS}}"""


def build(data_dir: Path, demo_dir: Path) -> tuple[str, str]:
    """The corpus (JSON lines) and its README, as text."""
    docs = Builder(data_dir, demo_dir).build()
    records = [d.record() for d in docs]
    validate(records)
    corpus = render_jsonl(records)
    return corpus, render_readme(docs, len(corpus.encode("utf-8")))


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="the shared data sets")
    parser.add_argument("--demo-dir", type=Path, default=DEMO_DIR, help="catalog.json and written/ live here")
    parser.add_argument("--out", type=Path, default=None, help="corpus file (default <demo-dir>/demo.jsonl)")
    parser.add_argument("--readme", type=Path, default=None, help="README file (default <demo-dir>/README.md)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files would change")
    args = parser.parse_args(argv)
    corpus_path = args.out or args.demo_dir / "demo.jsonl"
    readme_path = args.readme or args.demo_dir / "README.md"
    try:
        corpus, readme = build(args.data_dir, args.demo_dir)
    except CorpusError as exc:
        out(f"error: {exc}")
        return 2
    targets = [(corpus_path, corpus), (readme_path, readme)]
    if args.check:
        stale = [str(p) for p, text in targets if not p.is_file() or p.read_text(encoding="utf-8") != text]
        out("up to date" if not stale else f"out of date: {', '.join(stale)}")
        return 1 if stale else 0
    for path, text in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    out(f"wrote {corpus.count(chr(10))} documents to {corpus_path} and {readme_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
