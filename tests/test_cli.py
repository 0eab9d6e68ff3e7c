"""The riskmine CLI end to end on small files: ingest (with rejections), process, status, analyze."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmine.cli import app

runner = CliRunner()


def _write_feed(path: Path) -> None:
    rows = [
        {"source_id": "1", "text": "充电宝充电时冒烟起火，烧坏了桌子", "product": "充电宝", "source_type": "review"},
        {"source_id": "2", "text": "移动电源充电发烫冒烟，吓得赶紧拔掉", "product": "充电宝", "source_type": "review"},
        {"source_id": "3", "text": "快递很快，包装很好", "source_type": "review"},
        {"source_id": "4", "source_type": "review"},
        {"source_id": "5", "text": "好", "source_type": "review", "colour": "red"},
    ]
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{not json\n"
    path.write_text(body, encoding="utf-8")


def test_ingest_lists_rejections_and_twice_adds_nothing(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    _write_feed(feed)
    rejects = tmp_path / "rejects.jsonl"
    first = runner.invoke(app, ["ingest", str(feed), "--source", "t", "--rejects", str(rejects)])
    assert first.exit_code == 2, first.output
    assert "3 accepted" in first.output and "3 rejected" in first.output
    assert "row 4" in first.output or "line 4" in first.output
    assert "colour" in first.output and "不是有效的 JSON" in first.output
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == 3
    assert "candidate risks" in first.output
    second = runner.invoke(app, ["ingest", str(feed), "--source", "t", "--rejects", str(rejects)])
    assert "0 accepted" in second.output and "3 duplicates" in second.output
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "documents" in status.output and "normalize" in status.output


def test_process_and_stages_and_analyze(tmp_path: Path) -> None:
    stages = runner.invoke(app, ["stages"])
    assert stages.exit_code == 0 and "classify" in stages.output
    src = tmp_path / "in.jsonl"
    src.write_text(
        json.dumps({"id": "a", "text": "热水器漏电，洗澡时被电了一下"}, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["analyze", "--in", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    [line] = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["id"] == "a" and line["is_risk"] is True
    missing = runner.invoke(app, ["analyze", "--in", str(tmp_path / "nope.jsonl"), "--out", str(out)])
    assert missing.exit_code == 2 and "no such file" in missing.output
    proc = runner.invoke(app, ["process"])
    assert proc.exit_code == 0 and "nothing to process" in proc.output


def test_without_a_trained_model_processing_stops_with_what_to_do_and_keeps_what_was_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKMINE_MODELS_DIR", str(tmp_path / "no-models"))
    feed = tmp_path / "feed.jsonl"
    _write_feed(feed)
    result = runner.invoke(app, ["ingest", str(feed), "--source", "t"])
    assert result.exit_code == 2
    assert "3 accepted" in result.output and "riskmine models train" in result.output
    assert not (tmp_path / "no-models").exists() or not any((tmp_path / "no-models").rglob("*.joblib"))
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and "3" in status.output


def test_bad_settings_are_refused_before_any_command_naming_each_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from riskmine.settings import get_settings

    monkeypatch.setenv("RISKMINE_STORE", "mongodb")
    monkeypatch.setenv("RISKMINE_BATCH_SIZE", "0")
    get_settings.cache_clear()
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    assert "RISKMINE_STORE" in result.output and "'mongodb'" in result.output
    assert "RISKMINE_BATCH_SIZE" in result.output
