"""`riskmine report …` on a store in the test's own RISKMINE_VAR_DIR."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.settings import get_settings
from riskmine.store.factory import open_store
from tests.reports.reportkit import seed


def test_report_commands(tmp_path: Path) -> None:
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
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
    target = tmp_path / "t.html"
    r = runner.invoke(
        app, ["report", "thematic", "--category", "充电宝", "--year", "2025", "--format", "html", "--out", str(target)]
    )
    assert r.exit_code == 0, r.output
    assert "专题分析报告" in target.read_text(encoding="utf-8")
    r = runner.invoke(app, ["report", "monthly", "--org", "x", "--period", "2025-13"])
    assert r.exit_code == 2 and "month 13" in r.output
