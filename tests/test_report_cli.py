"""`riskmine report …` on a store in the test's own RISKMINE_VAR_DIR."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.settings import get_settings
from riskmine.store.factory import open_store
from tests.reports.reportkit import seed


def test_report_commands(tmp_path: Path) -> None:
    from riskmine.review.orgs import add_org
    from riskmine.review.repository import open_review_repository
    from riskmine.review.roles import SystemActor

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    add_org(open_review_repository(settings), "示范中心", "province", None, SystemActor("root", "admin"))
    store = open_store(settings)
    seed(store)
    store.close()
    runner = CliRunner()
    out = tmp_path / "form.xlsx"
    r = runner.invoke(app, ["report", "monthly", "--org", "示范中心", "--period", "2025-03", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "due 2025-03-25, 1 rows" in r.output  # c-kettle belongs to 示范站, outside 示范中心
    assert load_workbook(out).active["A3"].value == "涉及产品"
    r = runner.invoke(app, ["report", "immediate", "c-fire", "--out-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "immediate-c-fire.docx").exists()
    r = runner.invoke(app, ["report", "immediate", "c-fire", "--format", "pdf", "--out-dir", str(tmp_path)])
    assert r.exit_code == 0 and (tmp_path / "immediate-c-fire.pdf").read_bytes().startswith(b"%PDF")
    pdf = tmp_path / "form.pdf"
    r = runner.invoke(
        app, ["report", "monthly", "--org", "示范中心", "--period", "2025-03", "--format", "pdf", "--out", str(pdf)]
    )
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")
    target = tmp_path / "t.html"
    r = runner.invoke(
        app, ["report", "thematic", "--category", "充电宝", "--year", "2025", "--format", "html", "--out", str(target)]
    )
    assert r.exit_code == 0, r.output
    assert "专题分析报告" in target.read_text(encoding="utf-8")
    r = runner.invoke(app, ["report", "monthly", "--org", "x", "--period", "2025-13"])
    assert r.exit_code == 2 and "month 13" in r.output


def test_unknown_organisations_and_categories_are_refused_with_the_known_names(tmp_path: Path) -> None:
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    seed(store)
    store.close()
    runner = CliRunner()
    r = runner.invoke(app, ["report", "monthly", "--org", "不存在的站", "--period", "2025-03"])
    assert r.exit_code == 2 and "未知的单位“不存在的站”" in r.output and "示范站" in r.output
    assert not (settings.var_dir / "reports" / "monthly").exists()  # nothing was written
    r = runner.invoke(app, ["report", "immediate", "c-fire", "--org", "不存在的站", "--out-dir", str(tmp_path)])
    assert r.exit_code == 2 and "未知的单位" in r.output
    r = runner.invoke(app, ["report", "thematic", "--category", "不存在的品类", "--year", "2025"])
    assert r.exit_code == 2 and "未知的产品类别“不存在的品类”" in r.output and "充电宝" in r.output
    target = tmp_path / "synonym.html"
    r = runner.invoke(
        app,
        ["report", "thematic", "--category", "移动电源", "--year", "2025", "--format", "html", "--out", str(target)],
    )
    assert r.exit_code == 0, r.output  # a synonym of 充电宝
    assert "充电宝" in target.read_text(encoding="utf-8")


def test_a_county_form_covers_its_stations_through_the_organisation_tree(tmp_path: Path) -> None:
    from riskmine.review.orgs import ensure_demo_orgs
    from riskmine.review.repository import open_review_repository
    from riskmine.review.roles import SystemActor
    from riskmine.store.base import Collection
    from tests.reports.reportkit import make_candidate, station_row

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo_orgs(open_review_repository(settings), SystemActor("root", "admin"))  # 武侯区 → its station
    store = open_store(settings)
    own = station_row("u1", "武侯区产品质量监测站", product="彩虹电热毯", shop="彩虹店")
    other = station_row("u2", "另一监测站")
    store.write(Collection.signals, [own, other])
    store.write(Collection.candidates, [make_candidate("c1", [own, other])])
    store.close()
    out = tmp_path / "form.json"
    r = CliRunner().invoke(
        app,
        [
            "report",
            "monthly",
            "--org",
            "武侯区",
            "--period",
            "2025-03",
            "--form",
            "ecommerce",
            "--format",
            "json",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert [row["cells"]["商品名称"] for row in rows] == ["彩虹电热毯"]  # its station's row, not the other's
