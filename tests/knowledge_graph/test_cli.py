"""`riskmine graph build | show | enterprise` over the tagged demo signals in the configured store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.knowledge_graph.graph import forget_graphs, graph_file, load_graph
from riskmine.settings import get_settings
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.factory import open_store
from tests.knowledge_graph.graphkit import demo_signals

runner = CliRunner()


@pytest.fixture
def stored() -> Iterator[int]:
    forget_graphs()
    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings)
    signals = demo_signals()
    store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
    store.close()
    yield len(signals)
    forget_graphs()


def test_build_prints_counts_and_saves(stored: int) -> None:
    res = runner.invoke(app, ["graph", "build"])
    assert res.exit_code == 0, res.output
    assert f"graph built from {stored} signals" in res.output and "enterprise" in res.output
    kg = load_graph(graph_file(get_settings()))
    assert kg is not None and kg.signal_count == stored


def test_show_an_entity_and_its_neighbourhood(stored: int) -> None:
    res = runner.invoke(app, ["graph", "show", "极充", "--type", "brand", "--depth", "2"])
    assert res.exit_code == 0, res.output
    assert "brand:极充" in res.output and "hazard" in res.output
    as_json = runner.invoke(app, ["graph", "show", "深圳市极充科技有限公司", "--json"])
    assert json.loads(as_json.stdout)["centre"] == "enterprise:极充科技"
    missing = runner.invoke(app, ["graph", "show", "没有这个东西"])
    assert missing.exit_code == 1 and "no entity named" in missing.output
    bad = runner.invoke(app, ["graph", "show", "x", "--type", "person"])
    assert bad.exit_code == 1 and "unknown node type" in bad.output


def test_enterprise_profile(stored: int) -> None:
    res = runner.invoke(app, ["graph", "enterprise", "极充科技股份有限公司"])
    assert res.exit_code == 0, res.output
    assert "深圳市极充科技有限公司" in res.output and "fire" in res.output and "month" in res.output
    failing = runner.invoke(app, ["graph", "enterprise", "开封市淇乐多食品有限公司", "--json"])
    assert json.loads(failing.stdout)["spot_check_failures"] >= 1
    missing = runner.invoke(app, ["graph", "enterprise", "没有这家公司"])
    assert missing.exit_code == 1 and "no enterprise" in missing.output


def test_show_lists_entities_before_signals_and_takes_partial_names(stored: int) -> None:
    res = runner.invoke(app, ["graph", "show", "深圳市极充科技有限公司"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    rows = [line.split("│")[1].strip() for line in res.output.splitlines() if line.count("│") == 4]
    rows = [r for r in rows if r]  # a wrapped cell continues on a row of its own
    assert rows[-1] == "signal" and {"brand", "region"} <= set(rows[:-1])
    city = runner.invoke(app, ["graph", "show", "浙江省台州市", "--json"])
    assert json.loads(city.stdout)["centre"] == "region:331000"
    partial = runner.invoke(app, ["graph", "enterprise", "极充", "--json"])
    assert json.loads(partial.stdout)["name"] == "深圳市极充科技有限公司"
