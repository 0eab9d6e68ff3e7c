"""The thematic analysis report (专题分析报告) of one product category and year.

Follows the seed template (Shanxi 2023 附件2; Shanghai 2020 附件3): 一、产品概况 (产品简介, 行业概况,
主要成分及加工工艺), 二、产品质量安全形势分析 (eight points: spot checks, monitoring, recalls,
complaints, public opinion and warnings, hidden rules, new-format risks, standards),
三、产品质量安全因素分析, 四、下步工作建议. Every section is filled from the signals and candidates in
the store; where the store holds nothing for a point the section says so and nothing is made up.
Every table and figure lists the signals it counts (the appendix), and charts show the monthly
trend, the hazards and the regions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time

from riskmine.reports.charts import bar_chart, barh_chart
from riskmine.reports.document import Figure, ReportDocument, Section, Table
from riskmine.reports.errors import ReportError
from riskmine.reports.gather import (
    candidates_in_window,
    enterprise_counts,
    region_counts,
    signal_enterprises,
    signal_regions,
)
from riskmine.reports.labels import (
    COLOUR_LABELS,
    HARM_LABELS,
    LEVEL_LABELS,
    MEASURE_LABELS,
    POPULATION_LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    UNKNOWN_REGION,
    hazard_label,
    label,
)
from riskmine.reports.periods import CST, china_date
from riskmine.reports.scope import ReportScope
from riskmine.schema import CandidateRisk, Signal, SourceType
from riskmine.store.base import Collection, Range, Store

NO_DATA = "本系统{year}年数据中没有{what}，本节不作分析，请结合其他资料补充。"
TOP = 10
_SNIPPET_CHARS = 90
HIDDEN_RULE_TERMS = ("潜规则", "行业惯例", "行业通病", "普遍存在", "心照不宣", "虚标", "以次充好")
NEW_FORMAT_TERMS = ("直播", "直播间", "跨境", "社区团购", "二手", "网红", "新技术", "新产品", "新材料", "定制")
MONITORING_TYPES = (SourceType.station_report, SourceType.injury_report)
COMPLAINT_TYPES = (SourceType.complaint, SourceType.public_report)
OPINION_TYPES = (SourceType.news, SourceType.government_notice, SourceType.review)


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime.combine(date(year, 1, 1), time.min, CST), datetime.combine(date(year + 1, 1, 1), time.min, CST)


def _snippet(s: Signal) -> str:
    text = " ".join((s.normalized_text or s.document.text).split())
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"


def _ids(signals: Iterable[Signal]) -> list[str]:
    return sorted({s.id for s in signals})


def _counted(counts: Counter[str], fmt: Callable[[str], str] = str, top: int = TOP) -> str:
    return "、".join(f"{fmt(k)}{n}条" for k, n in counts.most_common(top))


def _of_type(signals: Sequence[Signal], types: Iterable[SourceType]) -> list[Signal]:
    wanted = set(types)
    return [s for s in signals if s.document.source_type in wanted]


def _mentions(signals: Sequence[Signal], terms: Sequence[str]) -> list[tuple[Signal, list[str]]]:
    out = []
    for s in signals:
        text = s.normalized_text or s.document.text
        found = [t for t in terms if t in text]
        if found:
            out.append((s, found))
    return out


def _is_failure(s: Signal) -> bool:
    verdict = s.document.meta.get("verdict")
    if isinstance(verdict, str):
        return "不合格" in verdict
    return "不合格" in (s.document.title or "") or "不合格" in s.document.text


class _Builder:
    def __init__(self, category: str, year: int, signals: list[Signal], candidates: list[CandidateRisk]) -> None:
        self.category, self.year, self.signals, self.candidates = category, year, signals, candidates
        self.risky = [s for s in signals if s.is_risk]

    def no_data(self, what: str) -> str:
        return NO_DATA.format(year=self.year, what=what)

    def examples(self, signals: Sequence[Signal], n: int = 3) -> str:
        top = sorted(signals, key=lambda s: (-s.risk_score, s.id))[:n]
        return "；".join(f"“{_snippet(s)}”（{s.document.source}，{china_date(s.when)}）" for s in top)

    # --- charts -------------------------------------------------------------------------------------------

    def trend_figure(self) -> Figure | None:
        if not self.signals:
            return None
        months = [f"{self.year}-{m:02d}" for m in range(1, 13)]
        counts = Counter(china_date(s.when).strftime("%Y-%m") for s in self.risky)
        chart = bar_chart(
            [f"{int(m[5:])}月" for m in months],
            [counts.get(m, 0) for m in months],
            title=f"{self.year}年风险信号月度趋势",
            xlabel="月份",
            ylabel="条数",
        )
        return Figure(f"{self.year}年各月风险信号数（共{len(self.risky)}条）", chart.png, chart.svg, _ids(self.risky))

    def hazard_figure(self, hazards: Counter[str], by_hazard: dict[str, list[Signal]]) -> Figure | None:
        if not hazards:
            return None
        top = hazards.most_common(TOP)
        chart = barh_chart([hazard_label(h) for h, _ in top], [n for _, n in top], title="危害类型分布")
        counted = [s for h, _ in top for s in by_hazard[h]]
        return Figure("风险信号的危害类型分布", chart.png, chart.svg, _ids(counted))

    def region_figure(self) -> Figure | None:
        counts: Counter[str] = Counter()
        members: dict[str, list[Signal]] = defaultdict(list)
        for s in self.risky:
            for name in signal_regions(s):
                counts[name] += 1
                members[name].append(s)
        if not counts:
            return None
        top = counts.most_common(TOP)
        chart = barh_chart([name for name, _ in top], [n for _, n in top], title="地区分布")
        counted = [s for name, _ in top for s in members[name]]
        return Figure("风险信号的地区分布（省级，前10）", chart.png, chart.svg, _ids(counted))

    # --- sections ------------------------------------------------------------------------------------------

    def overview(self) -> list[Section]:
        products = Counter(s.document.product for s in self.signals if s.document.product)
        intro = [self.no_data("产品简介（特点、用途）资料")]
        if products:
            intro.append(
                f"年内采集到{self.category}相关信息{len(self.signals)}条，涉及商品{len(products)}种，"
                f"信息较多的有：{_counted(products, top=5)}。"
            )
        industry: list[str | Table | Figure] = []
        enterprises = enterprise_counts(self.signals)
        brands = Counter(o.name for s in self.signals for o in s.organisations if o.kind == "brand" and o.name)
        brands.update(s.document.brand for s in self.signals if s.document.brand)
        if enterprises or brands:
            if enterprises:
                industry.append(f"信息涉及生产经营企业{len(enterprises)}家。")
                rows = [[e, str(n)] for e, n in enterprises.most_common(TOP)]
                ids = _ids(
                    s for s in self.signals if set(signal_enterprises(s)) & set(dict(enterprises.most_common(TOP)))
                )
                industry.append(Table("信息涉及企业（前10）", ["企业", "信息条数"], rows, ids))
            if brands:
                industry.append(f"涉及品牌：{_counted(brands)}。")
        else:
            industry.append(self.no_data("该类产品的企业、品牌分布信息"))
        industry.append("产业分布、市场占有率等行业数据本系统未采集，需结合统计资料补充。")
        region = self.region_figure()
        if region:
            industry.append(region)
        return [
            Section("一、产品概况", level=1),
            Section("（一）产品简介", level=2, blocks=list(intro), signal_ids=_ids(self.signals) if products else []),
            Section("（二）行业概况", level=2, blocks=industry),
            Section("（三）主要成分及加工工艺", level=2, blocks=[self.no_data("产品成分和加工工艺资料")]),
        ]

    def spot_checks(self) -> Section:
        checks = _of_type(self.signals, [SourceType.spot_check])
        heading = "（一）一年来国家、本省产品质量监督抽查情况"
        if not checks:
            return Section(heading, 2, [self.no_data("监督抽查信息")])
        failed = [s for s in checks if _is_failure(s)]
        items = Counter(str(s.document.meta.get("test_item")) for s in failed if s.document.meta.get("test_item"))
        blocks: list[str | Table | Figure] = [
            f"年内采集监督抽查信息{len(checks)}条，其中不合格{len(failed)}条。"
            + (f"不合格项目主要为：{_counted(items)}。" if items else "")
        ]
        if failed:
            rows = [
                [
                    str(china_date(s.when)),
                    s.document.product or "—",
                    s.document.enterprise or "—",
                    str(s.document.meta.get("test_item") or "—"),
                    str(s.document.meta.get("authority") or s.document.source),
                ]
                for s in sorted(failed, key=lambda s: s.when)[:30]
            ]
            blocks.append(
                Table("监督抽查不合格信息", ["日期", "产品", "生产企业", "不合格项目", "发布单位"], rows, _ids(failed))
            )
        return Section(heading, 2, blocks, _ids(checks))

    def typed(self, heading: str, types: Sequence[SourceType], what: str) -> Section:
        found = _of_type(self.signals, types)
        if not found:
            return Section(heading, 2, [self.no_data(what)])
        risky = [s for s in found if s.is_risk]
        by_type = Counter(s.document.source_type.value for s in found)
        hazards = Counter(h.value for s in risky for h in s.hazard_codes)
        harm = Counter(h.value for s in risky for h in s.harm)
        kinds = _counted(by_type, lambda k: label(SOURCE_TYPE_LABELS, k))
        text = f"年内采集{what}{len(found)}条（{kinds}），其中判定为风险信息{len(risky)}条"
        if hazards:
            text += f"，主要反映{_counted(hazards, hazard_label, 5)}"
        if harm:
            text += f"；报告{_counted(harm, lambda k: label(HARM_LABELS, k))}"
        blocks: list[str | Table | Figure] = [text + "。"]
        if risky:
            blocks.append(f"典型信息：{self.examples(risky)}。")
        return Section(heading, 2, blocks, _ids(found))

    def opinion(self) -> Section:
        section = self.typed(
            "（五）一年来国内外舆情与风险预警情况", OPINION_TYPES, "舆情信息（新闻、政府通报、电商评论）"
        )
        colours = Counter(c.grade.warning_color.value for c in self.candidates if c.grade.warning_color)
        if colours:
            section.blocks.append(
                f"系统就{self.category}形成候选风险{len(self.candidates)}项，其中预警级别："
                + "、".join(f"{label(COLOUR_LABELS, k)}{n}项" for k, n in colours.most_common())
                + "。"
            )
        return section

    def keyword_section(self, heading: str, terms: Sequence[str], what: str) -> Section:
        hits = _mentions(self.signals, terms)
        if not hits:
            return Section(heading, 2, [self.no_data(f"提及{what}的信息（检索词：{'、'.join(terms)}）")])
        words = Counter(t for _, found in hits for t in found)
        blocks: list[str | Table | Figure] = [
            f"年内有{len(hits)}条信息提及{what}（{_counted(words)}）。典型信息：{self.examples([s for s, _ in hits])}。"
        ]
        return Section(heading, 2, blocks, _ids(s for s, _ in hits))

    def standards(self) -> Section:
        heading = "（八）相关产品标准更新、实施中存在的问题"
        cited = [s for s in self.signals if s.standards]
        if not cited:
            return Section(heading, 2, [self.no_data("引用产品标准的信息")])
        counts = Counter(std for s in cited for std in dict.fromkeys(s.standards))
        rows = [[std, str(n)] for std, n in counts.most_common(TOP)]
        return Section(
            heading,
            2,
            [
                f"年内有{len(cited)}条信息引用了产品标准。",
                Table("信息引用的标准", ["标准", "信息条数"], rows, _ids(cited)),
            ],
            _ids(cited),
        )

    def situation(self) -> list[Section]:
        head = Section("二、产品质量安全形势分析", level=1)
        trend = self.trend_figure()
        if trend:
            sources = Counter(s.document.source_type.value for s in self.signals)
            head.blocks.extend(
                [
                    f"{self.year}年共采集{self.category}相关信息{len(self.signals)}条"
                    f"（{_counted(sources, lambda k: label(SOURCE_TYPE_LABELS, k))}），"
                    f"其中判定为风险信息{len(self.risky)}条。",
                    trend,
                ]
            )
            head.signal_ids = _ids(self.signals)
        return [
            head,
            self.spot_checks(),
            self.typed(
                "（二）一年来国家、本省产品风险监测情况", MONITORING_TYPES, "风险监测信息（监测站报送、伤害监测）"
            ),
            self.typed("（三）一年来国内外、本省召回情况", [SourceType.recall], "召回信息"),
            self.typed("（四）一年来消费者投诉反映的质量安全问题", COMPLAINT_TYPES, "消费者投诉和举报信息"),
            self.opinion(),
            self.keyword_section(
                "（六）行业内产品质量潜规则或普遍认同的质量安全风险隐患", HIDDEN_RULE_TERMS, "行业潜规则"
            ),
            self.keyword_section(
                "（七）行业新业态，新技术，新产品，市场最新动态等带来的苗头性风险",
                NEW_FORMAT_TERMS,
                "新业态、新技术、新产品",
            ),
            self.standards(),
        ]

    def factors(self) -> list[Section]:
        by_hazard: dict[str, list[Signal]] = defaultdict(list)
        for s in self.risky:
            for h in s.hazard_codes:
                by_hazard[h.value].append(s)
        hazards = Counter({h: len(v) for h, v in by_hazard.items()})
        causes: list[str | Table | Figure] = []
        if hazards:
            causes.append(f"风险信息反映的危害类型为：{_counted(hazards, hazard_label)}。")
            figure = self.hazard_figure(hazards, by_hazard)
            if figure:
                causes.append(figure)
            enterprises = enterprise_counts(self.risky)
            if enterprises:
                causes.append(f"风险信息较集中的企业：{_counted(enterprises, top=5)}。")
            causes.append("产业政策、原材料价格、企业装备和质量保障体系等内外部因素本系统未采集，需结合调研补充。")
        else:
            causes.append(self.no_data("风险信息"))
        rows = []
        for code, members in sorted(by_hazard.items(), key=lambda kv: -len(kv[1])):
            harm = Counter(k.value for s in members for k in s.harm)
            populations = Counter(p.value for s in members for p in s.populations)
            regions = region_counts(members)
            regions.pop(UNKNOWN_REGION, None)
            rows.append(
                [
                    hazard_label(code),
                    str(len(members)),
                    _counted(harm, lambda k: label(HARM_LABELS, k)) or "—",
                    "、".join(label(POPULATION_LABELS, p) for p, _ in populations.most_common()) or "—",
                    "、".join(r for r, _ in regions.most_common(3)) or "—",
                    _snippet(max(members, key=lambda s: (s.risk_score, s.id))),
                ]
            )
        sources: list[str | Table | Figure] = (
            [
                Table(
                    "风险因素的来源及危害",
                    ["危害类型", "信息条数", "已发生伤害", "涉及人群", "主要地区", "典型信息"],
                    rows,
                    _ids(self.risky),
                )
            ]
            if rows
            else [self.no_data("风险信息")]
        )
        return [
            Section("三、产品质量安全因素分析", level=1),
            Section("（一）质量问题原因分析", 2, causes, _ids(self.risky) if hazards else []),
            Section("（二）风险因素的来源及危害", 2, sources),
        ]

    def suggestions(self) -> list[Section]:
        blocks: list[str | Table | Figure] = []
        measures: Counter[str] = Counter()
        for c in self.candidates:
            measures.update(m.value for m in c.suggested_measures)
        if self.candidates:
            rows = [
                [
                    c.title,
                    label(LEVEL_LABELS, c.grade.risk_level) or "—",
                    label(STATUS_LABELS, c.status),
                    str(c.signal_count),
                    "；".join(label(MEASURE_LABELS, m) for m in c.suggested_measures) or "—",
                ]
                for c in self.candidates[:TOP]
            ]
            ids = sorted({i for c in self.candidates[:TOP] for i in c.signal_ids})
            blocks.append(f"系统就{self.category}形成候选风险{len(self.candidates)}项，按优先级排列如下。")
            blocks.append(
                Table("候选风险及建议措施", ["候选风险", "风险等级", "状态", "信号数", "建议措施"], rows, ids)
            )
        if measures:
            blocks.append(
                "根据候选风险的研判，建议："
                + "；".join(f"{label(MEASURE_LABELS, m)}（{n}项风险）" for m, n in measures.most_common())
                + "。"
            )
        else:
            blocks.append(
                "本系统尚未就该类产品形成建议措施；模板所列方向（实施监督抽查、组织执法检查、开展专项整治）请结合研判结论确定。"
            )
        return [Section("四、下步工作建议", level=1, blocks=blocks)]


def build_thematic_report(
    store: Store,
    category: str,
    year: int,
    scope: ReportScope,
    *,
    organisation: str | None = None,
    now: datetime | None = None,
) -> ReportDocument:
    """The thematic report of `category` for `year` from the signals and candidates in `scope`."""
    category = (category or "").strip()
    if not category:
        raise ReportError("name a product category, e.g. 充电宝")
    if not 1900 < year < 2200:
        raise ReportError(f"year {year} is out of range")
    start, end = _year_bounds(year)
    pieces = candidates_in_window(store, start.date(), date(year, 12, 31), scope, product_category=category)
    owner: dict[str, CandidateRisk] = {}
    for piece in pieces:
        for s in piece.signals:
            owner.setdefault(s.id, piece.candidate)
    filters = {"product_category": category, "time": Range(gte=start, lt=end), "is_duplicate": False}
    signals = [
        s
        for s in store.iterate(Collection.signals, filters=filters)
        if china_date(s.when).year == year and scope.covers_signal(s, owner.get(s.id))
    ]
    signals.sort(key=lambda s: (s.when, s.id))
    builder = _Builder(category, year, signals, [p.candidate for p in pieces])
    sections = [*builder.overview(), *builder.situation(), *builder.factors(), *builder.suggestions()]
    meta = [
        ("产品类别", category),
        ("报告年度", f"{year}年"),
        ("统计范围", f"{year}-01-01至{year}-12-31（信号{len(signals)}条，已排除重复信息）"),
        ("编制单位", organisation or scope.organisation or "—"),
        ("生成时间", (now or datetime.now(CST)).astimezone(CST).strftime("%Y-%m-%d %H:%M")),
    ]
    notes = ["本报告由系统根据采集数据生成初稿，各节中标明“未采集”的内容需编制单位补充。"]
    return ReportDocument(
        title=f"{year}年{category}产品质量安全形势专题分析报告", meta=meta, sections=sections, notes=notes
    )
