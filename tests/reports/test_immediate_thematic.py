"""Immediate and thematic reports on fixture data: sections, evidence, no invented content, files that open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document

from riskmine.reports.document import Figure, Table, render_docx, render_html
from riskmine.reports.errors import NotEligibleError, NotFoundError
from riskmine.reports.immediate import build_immediate_report, on_candidate_confirmed
from riskmine.reports.monthly import build_monthly_draft
from riskmine.reports.periods import parse_period
from riskmine.reports.scope import report_scope
from riskmine.reports.thematic import build_thematic_report
from riskmine.review import workflow
from riskmine.review.orgs import ensure_demo_orgs
from riskmine.review.roles import SystemActor
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk, CandidateStatus, Decision, RiskLevel
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.reports.reportkit import CST, seed

NOW = datetime(2025, 3, 26, 9, 0, tzinfo=CST)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "store.sqlite3")
    seed(s)
    yield s
    s.close()


def _docx_text(data: bytes) -> str:
    doc = Document(BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_immediate_report(store: SQLiteStore) -> None:
    report = build_immediate_report(store, "c-fire", organisation="示范中心", now=NOW)
    text = _docx_text(render_docx(report))
    assert "重要风险信息及时报告：充电宝起火/冒烟" in text
    assert "已经造成人员伤亡或财产损失（人员受伤1条）" in text
    assert "报送时限" in text and "2025-03-27 09:00前" in text  # no decision: 24 h from now
    assert "实施监督抽查；发布消费提示" in text
    assert "https://shop.example.com/a" in text  # evidence links to its source
    html = render_html(report)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html  # s4's hostile text, escaped


def test_immediate_report_refuses_watch_candidates_and_unknown_ids(store: SQLiteStore) -> None:
    with pytest.raises(NotEligibleError, match="tier 'watch'"):
        build_immediate_report(store, "c-kettle")
    with pytest.raises(NotFoundError):
        build_immediate_report(store, "nope")


def test_hook_writes_files_for_confirmed_immediate_candidates(store: SQLiteStore, tmp_path: Path) -> None:
    fire = store.get(Collection.candidates, "c-fire")
    decision = Decision(
        candidate_id="c-fire", status=CandidateStatus.confirmed, risk_level=RiskLevel.high, decided_by="analyst"
    )
    assert isinstance(fire, CandidateRisk)
    files = on_candidate_confirmed(store, fire, decision, tmp_path)
    assert files is not None and files.docx.exists() and files.html.exists()
    assert files.docx.parent == tmp_path / "reports" / "immediate"
    kettle = store.get(Collection.candidates, "c-kettle")
    assert isinstance(kettle, CandidateRisk)
    assert on_candidate_confirmed(store, kettle, None, tmp_path) is None


def test_every_report_shows_the_decided_grade_not_the_suggestion(store: SQLiteStore, tmp_path: Path) -> None:
    fire = store.get(Collection.candidates, "c-fire")
    assert isinstance(fire, CandidateRisk) and (fire.risk_level, fire.warning_color) == ("high", "red")  # suggested
    store.write(
        Collection.candidates,
        [fire.model_copy(update={"status": CandidateStatus.in_review})],
        DuplicatePolicy.overwrite,
    )
    db = SQLiteReviewRepository(tmp_path / "review.sqlite3")
    ensure_demo_orgs(db, SystemActor("root", "admin"))
    workflow.decide(
        store,
        db,
        "c-fire",
        SystemActor("li", "analyst"),
        status="confirmed",
        risk_level="medium",
        warning_color="yellow",
        rationale="个案，未见扩散",
        now=NOW,
    )
    immediate = _docx_text(render_docx(build_immediate_report(store, "c-fire", now=NOW)))
    assert "风险等级：中风险；预警级别：黄色预警。" in immediate
    monthly = build_monthly_draft(store, parse_period("2025-03"), "general", "示范中心", report_scope(None))
    analysis = str(next(r for r in monthly.rows if r.candidate_ids == ["c-fire"]).cells["信息分析"])
    assert "研判结论：中风险，黄色预警" in analysis
    thematic = build_thematic_report(store, "充电宝", 2025, report_scope(None), now=NOW)
    blocks = [b for s in thematic.sections for b in s.blocks]
    table = next(b for b in blocks if isinstance(b, Table) and b.caption == "候选风险及建议措施")
    assert next(r for r in table.rows if r[0] == fire.title)[1:3] == ["中风险", "已确认"]
    warnings = next(b for b in blocks if isinstance(b, str) and "形成候选风险" in b and "预警" in b)
    assert "黄色预警1项" in warnings and "红色预警" not in warnings


def test_thematic_report_sections_and_figures(store: SQLiteStore) -> None:
    report = build_thematic_report(store, "充电宝", 2025, report_scope(None), organisation="示范中心", now=NOW)
    headings = [s.heading for s in report.sections]
    for expected in (
        "一、产品概况",
        "（一）产品简介",
        "（二）行业概况",
        "（三）主要成分及加工工艺",
        "二、产品质量安全形势分析",
        "（一）一年来国家、本省产品质量监督抽查情况",
        "（六）行业内产品质量潜规则或普遍认同的质量安全风险隐患",
        "（七）行业新业态，新技术，新产品，市场最新动态等带来的苗头性风险",
        "（八）相关产品标准更新、实施中存在的问题",
        "三、产品质量安全因素分析",
        "四、下步工作建议",
    ):
        assert expected in headings
    by_heading = {s.heading: s for s in report.sections}
    # the store holds no recall and no product description: those sections say so and invent nothing
    assert by_heading["（三）一年来国内外、本省召回情况"].blocks == [
        "本系统2025年数据中没有召回信息，本节不作分析，请结合其他资料补充。"
    ]
    spot = by_heading["（一）一年来国家、本省产品质量监督抽查情况"]
    assert "监督抽查信息1条，其中不合格1条" in str(spot.blocks[0]) and "过充保护1条" in str(spot.blocks[0])
    figures = [b for s in report.sections for b in s.blocks if isinstance(b, Figure)]
    assert len(figures) == 3 and not any(f.legend for f in figures)  # Chinese labels, never codes with a key
    assert not any("字体" in note for note in report.notes)
    docx = render_docx(report)
    assert len(Document(BytesIO(docx)).inline_shapes) == 3  # trend, hazards, regions
    appendix = dict(report.appendix())
    trend = next(ids for what, ids in appendix.items() if "各月风险信号数" in what)
    assert trend == ["s1", "s2", "s3", "s4", "s5", "sc1"]  # the risk signals the trend counts, by id
    html = render_html(report)
    assert html.count("<svg") == 3 and "<script>alert" not in html
    assert "附录：各部分所计信号编号" in html


def test_thematic_report_of_an_empty_category(store: SQLiteStore) -> None:
    report = build_thematic_report(store, "不存在的产品", 2025, report_scope(None))
    assert not any(b for s in report.sections for b in s.blocks if not isinstance(b, str))
    texts = [b for s in report.sections for b in s.blocks if isinstance(b, str)]
    assert all("不作分析" in b or "未采集" in b or "尚未" in b for b in texts)
