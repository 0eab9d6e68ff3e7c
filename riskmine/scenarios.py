"""Scenario evaluation: realistic streams with planted stories, run through the whole system.

A scenario is a stream of documents over several weeks:

* **background**: real texts from the shared data sets (e-commerce reviews from
  online_shopping_10_cats, news headlines from THUCNews_titles; see
  ``riskmine.settings.shared_data_dir()``), each given a publication time in the
  scenario and a province hint at random;
* **planted stories**, written as realistic Chinese reviews, complaints and news:
  an *emerging rising trend* (electric blankets smoking and scorching, a few reports
  at first, then more each week), a *regional cluster* (water heaters giving shocks,
  all in one province), an *industry-wide problem* (power banks swelling and catching
  fire, across several brands) and a *loud one-off* (one furious rice-cooker
  complaint copied across many sites) that should not reach the review tier.

The stream is fed step by step (one day or one week at a time, ``now`` advancing)
through ingest into the store, the configured NLP pipeline and the incremental
candidate refresh. After each step the review and immediate tiers are read. The
report gives, per planted story, whether and when it reached the review (or
immediate) tier and the days from its first planted signal to detection, and the
number of review-tier candidates per week that match no planted story. Those "false"
candidates may be genuine complaints in the real background data: the report lists
their titles so that a reader can judge.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from riskmine.knowledge_graph.evidence import CHINA_TZ
from riskmine.knowledge_graph.priority import PriorityConfig
from riskmine.pipeline import Pipeline
from riskmine.schema import CandidateRisk, RawDocument, SourceType, Tier
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings, shared_data_dir
from riskmine.store.base import Collection, Store
from riskmine.submission import Submission

REVIEWS_FILE = Path("online_shopping_10_cats") / "online_shopping_10_cats.csv"
NEWS_FILE = Path("THUCNews_titles") / "dev.txt"
PROVINCES = (
    "广东省",
    "浙江省",
    "江苏省",
    "山东省",
    "河南省",
    "四川省",
    "湖北省",
    "福建省",
    "河北省",
    "湖南省",
    "上海市",
    "北京市",
)
# Review categories of online_shopping_10_cats mapped to a product name a shopper would write.
REVIEW_PRODUCTS = {
    "平板": "平板电脑",
    "手机": "手机",
    "热水器": "热水器",
    "计算机": "笔记本电脑",
    "洗发水": "洗发水",
    "衣服": "衣服",
}
MATCH_SHARE = 0.5  # a candidate matches a story when at least this share of its signals are the story's


class ScenarioError(RiskmineError, ValueError):
    """The scenario cannot be built (missing or unreadable data set, bad parameters)."""

    code = "scenario_invalid"
    status = 400


@dataclass(frozen=True)
class ScenarioConfig:
    weeks: int = 12
    background_per_week: int = 250
    step_days: int = 7
    seed: int = 7
    start: datetime = datetime(2026, 3, 2, tzinfo=CHINA_TZ)  # a Monday
    review_top_n: int = 10
    data_dir: Path | None = None


@dataclass
class PlantedStory:
    name: str
    kind: str  # rising_trend | regional | industry_wide | loud_one_off
    should_review: bool
    documents: list[RawDocument] = field(default_factory=list)

    @property
    def first_time(self) -> datetime:
        return min(d.published_at or d.collected_at for d in self.documents)


@dataclass
class StoryResult:
    name: str
    kind: str
    should_review: bool
    planted_documents: int
    first_planted: str
    detected_at: str | None = None
    days_to_detection: float | None = None
    tier: str | None = None
    candidate_key: str | None = None

    @property
    def correct(self) -> bool:
        return (self.detected_at is not None) == self.should_review


@dataclass
class ScenarioReport:
    config: dict[str, Any]
    documents: int
    signals: int
    stories: list[StoryResult]
    false_review_per_week: list[int]
    false_review_titles: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        weeks = max(1, len(self.false_review_per_week))
        return {
            "config": self.config,
            "documents": self.documents,
            "signals": self.signals,
            "stories": [{**s.__dict__, "correct": s.correct} for s in self.stories],
            "planted_found": sum(1 for s in self.stories if s.should_review and s.detected_at),
            "planted_expected": sum(1 for s in self.stories if s.should_review),
            "loud_one_off_in_review": any(s.kind == "loud_one_off" and s.detected_at for s in self.stories),
            "false_review_per_week": self.false_review_per_week,
            "false_review_mean_per_week": round(sum(self.false_review_per_week) / weeks, 2),
            "false_review_titles": self.false_review_titles,
            "seconds": round(self.seconds, 1),
        }


# --------------------------------------------------------------------------- background


def _read_reviews(path: Path) -> list[tuple[str, str]]:
    """(product, review) rows of the usable review categories; malformed rows are skipped, a bad file named."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = [
                (REVIEW_PRODUCTS[r["cat"]], r["review"].strip())
                for r in csv.DictReader(fh)
                if r.get("cat") in REVIEW_PRODUCTS and (r.get("review") or "").strip()
            ]
    except (OSError, UnicodeDecodeError, csv.Error, KeyError) as exc:
        raise ScenarioError(f"cannot read the review data set {path}: {exc}") from exc
    if not rows:
        raise ScenarioError(f"{path} holds no usable reviews (expected columns cat,label,review)")
    return rows


def _read_news(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the news titles {path}: {exc}") from exc
    titles = [line.split("\t")[0].strip() for line in lines if line.strip()]
    if not titles:
        raise ScenarioError(f"{path} holds no news titles")
    return titles


def background_documents(cfg: ScenarioConfig, rng: random.Random) -> list[RawDocument]:
    """Real reviews (80 %) and news headlines (20 %) spread evenly at random over the scenario's weeks."""
    base = cfg.data_dir or shared_data_dir()
    reviews = _read_reviews(base / REVIEWS_FILE)
    news = _read_news(base / NEWS_FILE)
    total = cfg.weeks * cfg.background_per_week
    span = timedelta(weeks=cfg.weeks).total_seconds()
    docs: list[RawDocument] = []
    for i in range(total):
        when = cfg.start + timedelta(seconds=rng.uniform(0, span))
        if rng.random() < 0.8:
            product, text = rng.choice(reviews)
            doc = RawDocument(
                source="scenario:shop",
                source_type=SourceType.review,
                source_id=f"bg-{i}",
                text=text,
                product=product,
                published_at=when,
                region=rng.choice(PROVINCES),
            )
        else:
            title = rng.choice(news)
            doc = RawDocument(
                source=f"scenario:news{rng.randrange(8)}",
                source_type=SourceType.news,
                source_id=f"bg-{i}",
                title=title,
                text=title,
                published_at=when,
            )
        docs.append(doc)
    return docs


# --------------------------------------------------------------------------- planted stories

_BLANKET = (
    "{b}电热毯用了{n}晚，{part}突然冒烟，还有一股烧焦味，床单都烫黄了，吓得赶紧拔了插头。",
    "买的{b}电热毯，开到高档睡着了，半夜闻到焦糊味，{part}已经烧焦了一块，太危险了！",
    "{b}电热毯质量有问题，{part}发烫冒烟，差点起火，家里有老人孩子，不敢再用。",
    "给妈妈买的{b}电热毯，才用{n}天{part}就烧糊了，温控根本不起作用，商家还说是个例。",
)
_BLANKET_PARTS = ("温控器", "插头连接处", "开关", "毯子中间", "线头")
_BLANKET_BRANDS = ("彩虹", "南极人", "北极绒", "")
_HEATER = (
    "住在{city}，{b}热水器装了{n}个月，洗澡时手碰到花洒被电了一下，手麻麻的，物业说是热水器漏电。",
    "{city}的{b}电热水器漏电！洗澡的时候水管带电，孩子被电得直哭，售后三天都不上门。",
    "{b}热水器用着用着漏电保护一直跳，今天洗澡时还是被电到了，{city}这边好几户都这样。",
    "{city}新小区统一装的{b}热水器，邻居家洗澡触电了，我家的试电笔一测出水口也带电。",
)
_HEATER_CITIES = ("广州", "佛山", "东莞", "深圳", "中山")
_HEATER_BRANDS = ("万和", "樱花", "万家乐", "")
_POWERBANK = (
    "{b}充电宝充了一晚上，早上发现鼓包了，外壳烫得不行，还有焦味，不敢再用了。",
    "{b}移动电源在包里突然冒烟，拿出来的时候已经烫手，差点起火，电池肯定有问题。",
    "用了{n}个月的{b}充电宝，充电时自燃了，桌子烧黑了一块，幸亏人在旁边。",
    "【消费提醒】多名消费者反映{b}充电宝充电时鼓包起火，涉事批次电芯存在缺陷，记者联系厂家未获回应。",
)
_POWERBANK_BRANDS = ("罗马仕", "小米", "安克", "倍思", "品胜", "酷态科")
_RICE_COOKER = (
    "我真的气炸了！！！这个{b}电饭煲盖子边上烫得要命，我手背直接被烫红了一大片，客服踢皮球，商家不理人，"
    "说什么正常现象？？？我要投诉到底！！！大家千万别买！！！千万别买！！！"
)


def _doc(
    sid: str,
    text: str,
    when: datetime,
    *,
    source_type: SourceType = SourceType.review,
    source: str = "scenario:shop",
    region: str | None = None,
    product: str | None = None,
    title: str | None = None,
) -> RawDocument:
    return RawDocument(
        source=source,
        source_type=source_type,
        source_id=sid,
        text=text,
        title=title,
        published_at=when,
        region=region,
        product=product,
    )


def _fill(rng: random.Random, template: str, **choices: Sequence[str]) -> str:
    return template.format(n=rng.randint(2, 9), **{k: rng.choice(v) for k, v in choices.items()})


def planted_stories(cfg: ScenarioConfig, rng: random.Random) -> list[PlantedStory]:
    """The four planted stories, placed in the second half of the scenario (the first half is baseline)."""
    weeks = cfg.weeks
    onset = max(1, weeks // 2)
    day = timedelta(days=1)

    def at(week: int, offset_days: float) -> datetime:
        return cfg.start + timedelta(weeks=week) + offset_days * day + timedelta(hours=rng.uniform(8, 22))

    rising = PlantedStory("electric blankets smoking (rising)", "rising_trend", True)
    for k, week in enumerate(range(onset, weeks)):
        for j in range(1 + 2 * k):  # 1, 3, 5, 7 … reports a week
            text = _fill(rng, rng.choice(_BLANKET), b=_BLANKET_BRANDS, part=_BLANKET_PARTS)
            rising.documents.append(
                _doc(f"rise-{week}-{j}", text, at(week, rng.uniform(0, 6.9)), region=rng.choice(PROVINCES))
            )

    regional = PlantedStory("water heaters shocking in 广东 (regional)", "regional", True)
    for week in range(onset - 1, weeks):
        for j in range(2):
            text = _fill(rng, rng.choice(_HEATER), b=_HEATER_BRANDS, city=_HEATER_CITIES)
            regional.documents.append(
                _doc(
                    f"reg-{week}-{j}",
                    text,
                    at(week, rng.uniform(0, 6.9)),
                    source_type=rng.choice([SourceType.review, SourceType.complaint]),
                    region="广东省",
                    product="热水器",
                )
            )

    industry = PlantedStory("power banks swelling across brands (industry-wide)", "industry_wide", True)
    for week in range(onset - 2, weeks):
        for j in range(2):
            template = rng.choice(_POWERBANK)
            is_news = template.startswith("【")
            industry.documents.append(
                _doc(
                    f"ind-{week}-{j}",
                    _fill(rng, template, b=_POWERBANK_BRANDS),
                    at(week, rng.uniform(0, 6.9)),
                    source_type=SourceType.news if is_news else SourceType.review,
                    source=f"scenario:news{rng.randrange(8)}" if is_news else "scenario:shop",
                    region=rng.choice(PROVINCES),
                )
            )

    loud = PlantedStory("one furious rice-cooker complaint, copied (loud one-off)", "loud_one_off", False)
    text = _RICE_COOKER.format(b="某品牌")
    when = at(onset + 1, 2)
    for j in range(8):  # the same rant re-posted on many sites within two days
        loud.documents.append(
            _doc(
                f"loud-{j}",
                text if j == 0 else f"{text}（转自网友投诉）",
                when + timedelta(hours=5 * j),
                source_type=SourceType.complaint,
                source=f"scenario:forum{j}",
            )
        )
    return [rising, regional, industry, loud]


# --------------------------------------------------------------------------- running


def _story_of(cand: CandidateRisk, story_ids: dict[str, str]) -> str | None:
    """The story whose documents make up at least MATCH_SHARE of the candidate's signals, if any."""
    counts: dict[str, int] = {}
    for sid in cand.signal_ids:
        story = story_ids.get(sid)
        if story is not None:
            counts[story] = counts.get(story, 0) + 1
    if not counts or not cand.signal_ids:
        return None
    story, n = max(counts.items(), key=lambda kv: kv[1])
    return story if n / len(cand.signal_ids) >= MATCH_SHARE else None


def run_scenario(
    store: Store,
    pipeline: Pipeline,
    cfg: ScenarioConfig | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    settings: Settings,
) -> ScenarioReport:
    """Build the scenario's stream, feed it step by step through ingest, the pipeline and the refresh; report.

    ``settings`` say where the scenario's graph is kept (give the scenario its own var dir).
    """
    cfg = cfg or ScenarioConfig()
    if cfg.weeks < 4:
        raise ScenarioError(f"a scenario needs at least 4 weeks (a baseline and the stories), got {cfg.weeks}")
    if cfg.step_days < 1 or cfg.background_per_week < 0:
        raise ScenarioError("step_days must be at least 1 and background_per_week 0 or more")
    t0 = time.perf_counter()
    rng = random.Random(cfg.seed)
    stories = planted_stories(cfg, rng)
    documents = background_documents(cfg, rng) + [d for s in stories for d in s.documents]
    story_ids = {d.id: s.name for s in stories for d in s.documents}
    results = {
        s.name: StoryResult(
            s.name, s.kind, s.should_review, len(s.documents), s.first_time.astimezone(CHINA_TZ).isoformat()
        )
        for s in stories
    }
    first_times = {s.name: s.first_time for s in stories}
    submission = Submission(store, pipeline, priority=PriorityConfig(review_top_n=cfg.review_top_n), settings=settings)
    documents.sort(key=lambda d: (d.published_at or d.collected_at, d.id))
    end = cfg.start + timedelta(weeks=cfg.weeks)
    step = timedelta(days=cfg.step_days)
    false_per_week: dict[int, set[str]] = {}
    false_titles: dict[str, str] = {}
    signals = 0
    cursor, i = cfg.start, 0
    while cursor < end:
        now = min(cursor + step, end)
        batch: list[RawDocument] = []
        while i < len(documents) and (documents[i].published_at or documents[i].collected_at) < now:
            batch.append(documents[i])
            i += 1
        if batch:
            submission.documents(batch, process=False)
            signals += submission.process([d.id for d in batch], now=now).processed
        week = int((now - cfg.start - timedelta(seconds=1)) / timedelta(weeks=1))
        reviewed = store.iterate(Collection.candidates, filters={"tier": [Tier.review.value, Tier.immediate.value]})
        for cand in reviewed:
            story = _story_of(cand, story_ids)
            if story is None:
                if cand.tier == Tier.review:
                    false_per_week.setdefault(week, set()).add(cand.key)
                    false_titles[cand.key] = cand.title
                continue
            result = results[story]
            if result.detected_at is None:
                result.detected_at = now.astimezone(CHINA_TZ).isoformat()
                result.days_to_detection = round((now - first_times[story]).total_seconds() / 86400, 1)
                result.tier, result.candidate_key = cand.tier.value, cand.key
        if progress:
            progress(f"{now.date()}: {len(batch)} documents, {i}/{len(documents)} fed")
        cursor = now
    return ScenarioReport(
        config={k: str(v) if isinstance(v, Path | datetime) else v for k, v in cfg.__dict__.items()},
        documents=len(documents),
        signals=signals,
        stories=list(results.values()),
        false_review_per_week=[len(false_per_week.get(w, set())) for w in range(cfg.weeks)],
        false_review_titles=sorted(false_titles.values()),
        seconds=time.perf_counter() - t0,
    )
