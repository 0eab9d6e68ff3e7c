"""Long commands show progress on stderr when it is a terminal, and nothing when it is not (stdout carries only
the results)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from riskmine import cli
from riskmine.schema import RawDocument, Signal
from riskmine.settings import get_settings
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.factory import open_store


@pytest.fixture
def three_signals() -> None:
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    try:
        signals = [
            Signal(
                id=f"s{i}",
                document=RawDocument(id=f"s{i}", source="t", source_type="review", text=f"充电宝冒烟 {i}"),
                is_risk=i != 2,
            )
            for i in range(3)
        ]
        store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
    finally:
        store.close()


def test_export_signals_piped_prints_only_the_result(three_signals: None, tmp_path: Path) -> None:
    target = tmp_path / "risks.jsonl"
    result = CliRunner().invoke(cli.app, ["export-signals", "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "".join(result.output.split()) == f"2signalswrittento{target}"  # rich may wrap a long path
    assert [json.loads(line)["id"] for line in target.read_text(encoding="utf-8").splitlines()] == ["s0", "s1"]


def test_export_signals_on_a_terminal_shows_a_bar(
    three_signals: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, force_terminal=True, width=120))
    result = CliRunner().invoke(cli.app, ["export-signals", "--out", str(tmp_path / "all.jsonl"), "--all"])
    assert result.exit_code == 0, result.output
    assert "export signals" in screen.getvalue() and "3/3" in screen.getvalue()
