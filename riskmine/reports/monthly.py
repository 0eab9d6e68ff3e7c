"""The monthly report form (报送表): a draft built from candidates and signals, editable before export.

Two layouts, in the seeds' exact columns (their definitions live with the station feed readers in
:mod:`riskmine.feeds.forms`, so what we write is what a station upload is read as):

* general (Shanghai 2020 附件2 行业组织、检验检测机构; Shanxi 2023 附件1): one row per candidate risk
  with signals in the period; 信息分析 and 初步建议 are drafted from the candidate's statistics,
  suggested measures and latest decision;
* e-commerce (Shanghai 2020 附件2 电商平台): one row per product and shop with negative reviews in
  the period; 差评数 counts the reviews rated 2 or lower or judged a risk, 评论数 every review of the
  product collected in the period; 关键词 is the one a station submitted, else (said in the notes)
  the system's product category.

Both count each event once (a re-sent document or a flagged duplicate is one event), each event in
one row, and only the reporting organisation's own data and its subtree's (:func:`form_slices`).

A :class:`MonthlyDraft` is plain JSON: the API and the CLI return it, a person edits the cells, the
header (填报单位, 填报时间) and the footer (填报人, 联系电话), and sends it back to be rendered
(:mod:`riskmine.reports.monthly_render`). :func:`parse_draft` checks an edited draft and names the
row and column of anything wrong.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskmine.feeds.forms import ECOMMERCE, ECOMMERCE_COLUMNS, GENERAL, GENERAL_COLUMNS
from riskmine.reports.errors import DraftError, ReportError
from riskmine.reports.gather import (
    CandidateSlice,
    candidates_in_window,
    distinct_events,
    enterprise_counts,
    event_key,
    region_counts,
)
from riskmine.reports.labels import (
    COLOUR_LABELS,
    HARM_LABELS,
    LEVEL_LABELS,
    MEASURE_LABELS,
    MONTHLY_NOTES,
    POPULATION_LABELS,
    SCOPE_LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    UNKNOWN_REGION,
    hazard_label,
    label,
)
from riskmine.reports.periods import CST, ReportPeriod, monthly_period, parse_period
from riskmine.reports.scope import ReportScope
from riskmine.schema import Signal, SourceType
from riskmine.store.base import Collection, Range, Store

FormName = Literal["general", "ecommerce"]
FORM_COLUMNS: dict[str, tuple[str, ...]] = {GENERAL: GENERAL_COLUMNS, ECOMMERCE: ECOMMERCE_COLUMNS}
FORM_TITLES: dict[str, tuple[str, str]] = {
    GENERAL: ("产品质量安全风险信息报送表", "（行业组织、检验检测机构）"),
    ECOMMERCE: ("产品质量安全风险信息报送表", "（电商平台）"),
}
# Columns holding whole numbers / prices; every other column holds text.
INTEGER_COLUMNS = frozenset({"涉及企业数量", "序号", "差评数", "评论数"})
NUMBER_COLUMNS = frozenset({"商品价格"})
MAX_CELL_CHARS = 5_000
MAX_ROWS = 5_000
NEGATIVE_RATING = 2.0  # ratings at or below this are 差评
_SNIPPET_CHARS = 80
_TOP = 5
# what separates the terms of a submitted 评论关键词 cell
_TERM_SEPARATORS = re.compile(r"[、，,;；/／|｜\s]+")

CellValue = str | int | float | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MonthlyRow(_Model):
    """One row of the form: its cells by column, and what it was drafted from."""

    cells: dict[str, CellValue]
    candidate_ids: list[str] = Field(default_factory=list)
    signal_ids: list[str] = Field(default_factory=list)


class MonthlyDraft(_Model):
    """An editable monthly report form."""

    form: FormName
    title: str
    subtitle: str = ""
    organisation: str = Field(description="填报单位")
    filled_at: date = Field(description="填报时间")
    filled_by: str = Field("", description="填报人")
    phone: str = Field("", description="联系电话")
    period: str = Field(description="the month the period ends in, e.g. 2025-03")
    period_start: date
    period_end: date
    due: date
    columns: list[str]
    rows: list[MonthlyRow] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def form_columns(form: str) -> tuple[str, ...]:
    try:
        return FORM_COLUMNS[form]
    except KeyError:
        raise ReportError(f"unknown form {form!r}; the forms are: general, ecommerce") from None


# ----------------------------------------------------------------------------- drafting


def build_monthly_draft(
    store: Store,
    period: ReportPeriod,
    form: str,
    organisation: str,
    scope: ReportScope,
    *,
    filled_at: date | None = None,
    filled_by: str = "",
    phone: str = "",
) -> MonthlyDraft:
    """The draft form of `organisation` for `period`, from confirmed and pending candidates in `scope`.

    A form counts each event once and in one row, and only the scope's own data (see :func:`form_slices`).
    """
    columns = form_columns(form)
    tally = form_slices(candidates_in_window(store, period.start, period.end, scope), scope)
    notes: list[str] = []
    if not period.calendar_complete:
        notes.append(MONTHLY_NOTES["holidays"].format(year=period.due.year))
    if form == GENERAL:
        rows = [_general_row(piece, period, tally.also.get(piece.candidate.id, [])) for piece in tally.pieces]
        if tally.shared:
            notes.append(MONTHLY_NOTES["shared"].format(n=tally.shared))
    else:
        rows = _ecommerce_rows(store, tally, period, scope)
        if tally.skipped:
            notes.append(MONTHLY_NOTES["no_product"].format(n=tally.skipped))
        if tally.categorised:
            numbers = "、".join(str(n) for n in sorted(tally.categorised))
            notes.append(MONTHLY_NOTES["keywords"].format(rows=numbers))
    if tally.duplicates:
        notes.append(MONTHLY_NOTES["duplicates"].format(n=len(tally.duplicates)))
    if not rows:
        notes.append(MONTHLY_NOTES["empty"])
    title, subtitle = FORM_TITLES[form]
    return MonthlyDraft(
        form=form,
        title=title,
        subtitle=subtitle,
        organisation=organisation,
        filled_at=filled_at or datetime.now(CST).date(),
        filled_by=filled_by,
        phone=phone,
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        due=period.due,
        columns=list(columns),
        rows=rows,
        notes=notes,
    )


@dataclass
class FormTally:
    """What a form is drafted from: per candidate, the events it counts; and what the notes report."""

    pieces: list[CandidateSlice] = field(default_factory=list)
    # candidate id of a row -> candidates whose every event that row already counts
    also: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    duplicates: set[str] = field(default_factory=set)  # ids of signals not counted: another copy of the event is
    shared: int = 0  # events that several candidates hold, counted in the first row only
    skipped: int = 0  # 差评 without a product name (e-commerce form)
    categorised: list[int] = field(default_factory=list)  # 序号 of rows whose 关键词 is the normalised category


def form_slices(pieces: Sequence[CandidateSlice], scope: ReportScope) -> FormTally:
    """The candidates' signals as a form counts them, highest priority first.

    * only the scope's own data (:meth:`ReportScope.holds_signal`): a station's submissions count in
      the forms of its own subtree, not in those of an organisation that shares a candidate with it;
    * each event once: re-sent documents and flagged duplicates (the dedup stage's duplicate groups)
      are one event;
    * each event in one row: an event several candidates hold counts in the row of the first
      (highest priority); a candidate left with no event of its own adds no row, and is named in
      the ``candidate_ids`` of the row that counts its events.
    """
    tally = FormTally()
    counted: dict[str, str] = {}  # event -> candidate whose row counts it
    for piece in pieces:
        c = piece.candidate
        own = [s for s in piece.in_window if scope.holds_signal(s, c)]
        events = distinct_events(own)
        tally.duplicates.update({s.id for s in own} - {s.id for s in events})
        fresh = [s for s in events if event_key(s) not in counted]
        tally.shared += len(events) - len(fresh)
        if not fresh:
            if events:
                tally.also[counted[event_key(events[0])]].append(c.id)
            continue
        counted.update((event_key(s), c.id) for s in fresh)
        history = distinct_events(s for s in piece.signals if scope.holds_signal(s, c))
        tally.pieces.append(CandidateSlice(c, piece.decision, history, fresh))
    return tally


def _join(items: Iterable[str], sep: str = "、") -> str:
    return sep.join(dict.fromkeys(i for i in items if i))


def _counted(counts: Counter[str], labels: dict[str, str] | None = None, top: int = _TOP) -> str:
    parts = [f"{label(labels, k) if labels else k}{n}条" for k, n in counts.most_common(top)]
    rest = len(counts) - top
    return "、".join(parts) + (f"等{len(counts)}类" if rest > 0 else "")


def _snippet(signal: Signal) -> str:
    text = " ".join((signal.normalized_text or signal.document.text).split())
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"


def _products(piece: CandidateSlice) -> str:
    category = piece.candidate.product_category
    named = Counter(s.document.product for s in piece.in_window if s.document.product)
    if category:
        return category
    return _join(p for p, _ in named.most_common(3)) or "未分类产品"


def _content(piece: CandidateSlice, period: ReportPeriod) -> str:
    c, window = piece.candidate, piece.in_window
    product = c.product_category or "相关产品"
    sources = Counter(s.document.source_type.value for s in window)
    harm = Counter(h.value for s in window for h in s.harm)
    text = (
        f"{period.start:%Y年%m月%d日}至{period.end:%Y年%m月%d日}，监测到{product}"
        f"“{hazard_label(c.hazard)}”相关风险信息{len(window)}条（{_counted(sources, SOURCE_TYPE_LABELS)}）"
    )
    if harm:
        text += f"，其中报告{_counted(harm, HARM_LABELS)}"
    brands = _join(c.brands[:_TOP])
    if brands:
        text += f"，涉及品牌{brands}"
    top = sorted(window, key=lambda s: (-s.risk_score, s.id))[:2]
    examples = "；".join(f"“{_snippet(s)}”" for s in top)
    return f"{text}。典型信息：{examples}。"


def _statistics_text(statistics: dict[str, Any]) -> list[str]:
    """Sentences for the tests a candidate's statistics carry (riskmine.knowledge_graph.statistics):
    the trend tests, disproportionality (PRR) and the regional test, each with its value, threshold and verdict."""
    out: list[str] = []
    trend = statistics.get("trend") or {}
    ears, poisson = trend.get("ears") or {}, trend.get("poisson") or {}
    if ears:
        verdict = "预警" if ears.get("signal") else "未预警"
        out.append(
            f"EARS C2={_number(ears.get('c2'))}（阈值{_number(ears.get('c2_threshold'))}）、"
            f"C3={_number(ears.get('c3'))}（阈值{_number(ears.get('c3_threshold'))}），{verdict}"
        )
    if poisson:
        verdict = "显著上升" if poisson.get("signal") else "未见显著上升"
        out.append(
            f"近{poisson.get('recent_days')}天{poisson.get('recent')}起、"
            f"基线期{poisson.get('baseline_days')}天{poisson.get('baseline')}起，"
            f"率比{_number(poisson.get('rate_ratio'))}，泊松检验p={_number(poisson.get('p_value'))}"
            f"（α={_number(poisson.get('alpha'))}），{verdict}"
        )
    prr = statistics.get("disproportionality") or {}
    if prr.get("prr") is not None:
        verdict = "构成比例失衡信号" if prr.get("signal") else "未构成比例失衡信号"
        out.append(
            f"比例报告比PRR={_number(prr.get('prr'))}、χ²={_number(prr.get('chi2_yates'))}、n={prr.get('n')}"
            f"（阈值PRR≥2、χ²≥4、n≥3），{verdict}"
        )
    regional = (statistics.get("scope") or {}).get("regional") or {}
    if regional.get("signal") and regional.get("province"):
        out.append(
            f"{regional['province']}占{_number(regional.get('observed_share'))}"
            f"（预期{_number(regional.get('expected_share'))}，二项检验p={_number(regional.get('p_value'))}），区域集中"
        )
    return out


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _previous_count(piece: CandidateSlice, period: ReportPeriod) -> int:
    """Member signals in the period before `period`."""
    year, month = (period.year - 1, 12) if period.month == 1 else (period.year, period.month - 1)
    previous = monthly_period(year, month)
    return sum(1 for s in piece.signals if previous.contains(s.when))


def _analysis(piece: CandidateSlice, period: ReportPeriod) -> str:
    c, window = piece.candidate, piece.in_window
    regions = region_counts(window)
    regions.pop(UNKNOWN_REGION, None)
    sentences = [f"本期信息{len(window)}条，累计{len(piece.signals)}条"]
    previous = _previous_count(piece, period)
    if previous:
        change = (len(window) - previous) / previous
        sentences.append(f"上一期{previous}条，环比{'增长' if change >= 0 else '下降'}{abs(change):.0%}")
    else:
        sentences.append("上一期无相关信息")
    if regions:
        sentences.append(f"地域分布：{_counted(regions)}")
    populations = _join(label(POPULATION_LABELS, p) for p in c.populations)
    if populations:
        sentences.append(f"涉及{populations}等重点人群")
    harmed = sum(1 for s in window if s.harm_occurred)
    if harmed:
        sentences.append(f"{harmed}条信息报告已造成伤害或损失")
    if c.scope:
        sentences.append(f"影响范围：{_join(label(SCOPE_LABELS, s) for s in c.scope)}")
    sentences.extend(_statistics_text(c.statistics))
    judged = "研判结论" if c.decided is not None else "系统初判"
    grading = _join((label(LEVEL_LABELS, c.grade.risk_level), label(COLOUR_LABELS, c.grade.warning_color)), "，")
    if grading:
        sentences.append(f"{judged}：{grading}")
    sentences.append(f"状态：{label(STATUS_LABELS, c.status)}")
    return "；".join(sentences) + "。"


def _suggestion(piece: CandidateSlice) -> str:
    decided = piece.decision.measures if piece.decision else []
    measures = decided or piece.candidate.suggested_measures
    if not measures:
        return "暂无建议措施，建议持续监测、跟踪研判。"
    text = "建议" + "；".join(label(MEASURE_LABELS, m) for m in measures)
    if piece.decision and piece.decision.rationale.strip():
        text += f"（研判意见：{piece.decision.rationale.strip()}）"
    return text + "。"


def _sources(window: Sequence[Signal]) -> str:
    by_type = Counter(s.document.source_type.value for s in window)
    names = Counter(s.document.source for s in window)
    text = _counted(by_type, SOURCE_TYPE_LABELS)
    text += f"；来源：{_join(n for n, _ in names.most_common(3))}"
    urls = [s.document.url for s in sorted(window, key=lambda s: -s.risk_score) if s.document.url]
    if urls:
        text += f"；链接：{' '.join(list(dict.fromkeys(urls))[:3])}"
    return text


def _general_row(piece: CandidateSlice, period: ReportPeriod, also: Sequence[str] = ()) -> MonthlyRow:
    window = piece.in_window
    regions = region_counts(window)
    regions.pop(UNKNOWN_REGION, None)
    cells: dict[str, CellValue] = {
        "涉及产品": _products(piece),
        "涉及企业数量": len(enterprise_counts(window)),
        "涉及区域": _join(r for r, _ in regions.most_common()) or UNKNOWN_REGION,
        "风险信息内容": _content(piece, period),
        "信息分析": _analysis(piece, period),
        "初步建议": _suggestion(piece),
        "信息来源": _sources(window),
    }
    return MonthlyRow(cells=cells, candidate_ids=[piece.candidate.id, *also], signal_ids=piece.signal_ids)


# ----------------------------------------------------------------------------- e-commerce rows


def is_review(signal: Signal) -> bool:
    return signal.document.source_type is SourceType.review


def is_negative(signal: Signal) -> bool:
    """A 差评: rated 2 or lower, or judged a risk."""
    rating = signal.document.rating
    return (rating is not None and rating <= NEGATIVE_RATING) or signal.is_risk


def _station_counts(signal: Signal) -> tuple[int, int] | None:
    """(差评数, 评论数) of an e-commerce station's form row, which reports counts, not reviews."""
    meta = signal.document.meta
    if meta.get("form") != ECOMMERCE:
        return None
    negative, reviews = meta.get("negative_reviews"), meta.get("reviews")
    if not isinstance(negative, int) and not isinstance(reviews, int):
        return None
    return (negative if isinstance(negative, int) else 0, reviews if isinstance(reviews, int) else 0)


def _submitted_keyword(signal: Signal) -> str:
    """The 关键词 a station submitted on its e-commerce form row ('' for anything else)."""
    meta = signal.document.meta
    keyword = meta.get("keyword") if meta.get("form") == ECOMMERCE else None
    return keyword.strip() if isinstance(keyword, str) else ""


def _all_reviews(store: Store, product: str, shop: str | None, period: ReportPeriod) -> list[Signal]:
    """Every review of the product (in the shop) collected in the period."""
    filters = {
        "source_type": SourceType.review.value,
        "product": product,
        "time": Range(gte=period.start_at, lt=period.end_before),
    }
    return [
        s
        for s in store.iterate(Collection.signals, filters=filters)
        if s.document.product == product and (s.document.shop or None) == shop and period.contains(s.when)
    ]


def _comment_keywords(signals: Iterable[Signal], hazards: Iterable[str]) -> str:
    """The terms of the reviews and of the stations' 评论关键词 cells, each once, most frequent first."""
    terms: Counter[str] = Counter()
    for s in signals:
        found = {m.term.strip() for m in s.hazards if m.in_sense is not False and m.term.strip()}
        station = s.document.meta.get("comment_keywords")
        if isinstance(station, str):
            found.update(t for t in _TERM_SEPARATORS.split(station) if t)
        terms.update(found)
    if terms:
        return _join(t for t, _ in terms.most_common(_TOP))
    return _join(hazard_label(h) for h in hazards)


def _ecommerce_rows(store: Store, tally: FormTally, period: ReportPeriod, scope: ReportScope) -> list[MonthlyRow]:
    """One row per product and shop; `tally` gives each event to one candidate, so to one row."""
    groups: dict[tuple[str, str | None], list[Signal]] = defaultdict(list)
    owners: dict[tuple[str, str | None], dict[str, CandidateSlice]] = defaultdict(dict)
    for piece in tally.pieces:
        for s in piece.in_window:
            if not (is_review(s) and is_negative(s)) and _station_counts(s) is None:
                continue
            if not s.document.product:
                tally.skipped += 1
                continue
            key = (s.document.product, s.document.shop or None)
            groups[key].append(s)
            owners[key][piece.candidate.id] = piece
    rows: list[tuple[MonthlyRow, bool]] = []
    for (product, shop), signals in groups.items():
        candidates = list(owners[(product, shop)].values())
        station_rows = [c for c in (_station_counts(s) for s in signals) if c is not None]
        # the product's reviews that are the scope's data, each event once (the row's own first)
        collected = [
            s
            for s in _all_reviews(store, product, shop, period)
            if any(scope.holds_signal(s, p.candidate) for p in candidates)
        ]
        reviews = distinct_events([*(s for s in signals if is_review(s)), *collected])
        tally.duplicates.update({s.id for s in collected} - {s.id for s in reviews})
        negative_reviews = [s for s in reviews if is_negative(s)]
        negative = len(negative_reviews) + sum(n for n, _ in station_rows)
        total = len(reviews) + sum(t for _, t in station_rows)
        everything = [*signals, *(s for s in reviews if all(s.id != x.id for x in signals))]
        regions = Counter(s.document.region for s in everything if s.document.region)
        prices = [s.document.price for s in sorted(everything, key=lambda s: s.when) if s.document.price is not None]
        urls = [s.document.url for s in everything if s.document.url]
        submitted = _join(_submitted_keyword(s) for s in signals)
        category = _join(p.candidate.product_category or "" for p in candidates)
        cells: dict[str, CellValue] = {
            "序号": 0,
            "关键词": submitted or category or product,
            "评论关键词": _comment_keywords(
                [*signals, *negative_reviews], (p.candidate.hazard or "other" for p in candidates)
            ),
            "时间采集范围": period.range_text,
            "差评数": negative,
            "评论数": max(total, negative),
            "店铺名称": shop or "",
            "商品名称": product,
            "商品地址": urls[0] if urls else "",
            "商品价格": prices[-1] if prices else None,
            "公司所在区域": regions.most_common(1)[0][0] if regions else "",
        }
        ids = list(dict.fromkeys([*(s.id for s in signals), *(s.id for s in negative_reviews)]))
        row = MonthlyRow(cells=cells, candidate_ids=[p.candidate.id for p in candidates], signal_ids=ids)
        rows.append((row, not submitted and bool(category)))
    rows.sort(key=lambda r: (-int(r[0].cells["差评数"] or 0), str(r[0].cells["商品名称"]), str(r[0].cells["店铺名称"])))
    for number, (row, categorised) in enumerate(rows, start=1):
        row.cells["序号"] = number
        if categorised:
            tally.categorised.append(number)
    return [row for row, _ in rows]


# ----------------------------------------------------------------------------- edited drafts


def _clean_text(value: str, where: str) -> str:
    if len(value) > MAX_CELL_CHARS:
        raise DraftError(f"{where}: {len(value)} characters, more than the {MAX_CELL_CHARS} a cell may hold")
    # control characters other than tab and newline have no place in a form cell (and break XLSX)
    return "".join(ch for ch in value if ch in "\t\n" or (ord(ch) >= 32 and ord(ch) != 127))


def _check_cell(column: str, value: CellValue, where: str) -> CellValue:
    if value is None:
        return None
    if isinstance(value, bool):
        raise DraftError(f"{where}: {value!r} is not a valid value")
    if column in INTEGER_COLUMNS:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or value < 0:
            raise DraftError(f"{where}: {value!r} is not a whole number of 0 or more")
        return value
    if column in NUMBER_COLUMNS:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = float(value.strip().lstrip("¥￥"))
            except ValueError:
                raise DraftError(f"{where}: {value!r} is not a price") from None
        if not isinstance(value, int | float) or value < 0 or value != value or value == float("inf"):
            raise DraftError(f"{where}: {value!r} is not a price of 0 or more")
        return float(value)
    return _clean_text(str(value), where)


def parse_draft(data: Any) -> MonthlyDraft:
    """An edited draft, checked: known form, its exact columns, cells of the right kind, sizes bounded.

    Raises DraftError naming the row and column (rows count from 1, as on the form).
    """
    if not isinstance(data, dict):
        raise DraftError("the draft must be a JSON object as returned by the monthly draft endpoint")
    rows = data.get("rows")
    if isinstance(rows, list) and len(rows) > MAX_ROWS:
        raise DraftError(f"the draft has {len(rows)} rows; a form holds at most {MAX_ROWS}")
    try:
        draft = MonthlyDraft.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first.get("loc", ()))
        where = _location(loc)
        raise DraftError(f"{where}: {first.get('msg')}") from None
    columns = form_columns(draft.form)
    if tuple(draft.columns) != columns:
        raise DraftError(f"columns must be exactly {', '.join(columns)} for the {draft.form} form")
    for field_name in ("title", "subtitle", "organisation", "filled_by", "phone"):
        setattr(draft, field_name, _clean_text(getattr(draft, field_name), field_name))
    try:
        parse_period(draft.period)
    except ReportError as exc:
        raise DraftError(f"period: {exc}") from None
    for number, row in enumerate(draft.rows, start=1):
        unknown = [c for c in row.cells if c not in columns]
        if unknown:
            raise DraftError(f"row {number}: unknown column {unknown[0]!r}; the columns are {', '.join(columns)}")
        row.cells = {c: _check_cell(c, row.cells.get(c), f"row {number}, column {c}") for c in columns}
    return draft


def _location(loc: list[Any]) -> str:
    if len(loc) >= 2 and loc[0] == "rows" and isinstance(loc[1], int):
        rest = " ".join(str(x) for x in loc[2:])
        return f"row {loc[1] + 1}" + (f", {rest}" if rest else "")
    return " ".join(str(x) for x in loc) or "draft"
