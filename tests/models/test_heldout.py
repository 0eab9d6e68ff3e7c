"""Leave-one-source-out evaluation and thresholds per source type chosen on out-of-source scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from riskmine.models.baseline import train_baseline
from riskmine.models.corpus import load_corpus, parse_example
from riskmine.models.heldout import (
    SERVED,
    SYNTHETIC_GROUP,
    VARIANTS,
    choose_source_thresholds,
    fit_source_thresholds,
    group_of,
    held_out_table,
    out_of_source_predictions,
    source_group_folds,
)
from tests.models.corpus_factory import corpus_rows, write_jsonl

GROUPS = ("shop-reviews", "forum", "headlines")


def grouped_rows() -> list[dict[str, Any]]:
    """The test corpus as three real-looking sources (and a few synthetic rows that only ever train)."""
    rows = corpus_rows()
    for i, row in enumerate(rows):
        group = GROUPS[i % 3]
        row.update(dataset=group, synthetic=i % 17 == 0, source_type="news" if group == "headlines" else "review")
        if row["synthetic"]:
            row["id"] = f"syn:{i}"
    return rows


def examples(rows: list[dict[str, Any]]) -> list[Any]:
    return [parse_example(r, f"row {i}") for i, r in enumerate(rows)]


def test_groups_and_folds() -> None:
    ex = examples(grouped_rows())
    assert {group_of(e) for e in ex} == {*GROUPS, SYNTHETIC_GROUP}
    folds = source_group_folds(ex, 2)
    assert sorted(g for f in folds for g in f) == sorted(GROUPS)
    assert len(folds) == 2
    assert sorted(map(tuple, source_group_folds(ex, 10))) == sorted((g,) for g in GROUPS)


def test_leave_one_source_out_scores_each_group_with_a_model_that_never_saw_it() -> None:
    ex = examples(grouped_rows())
    oos = out_of_source_predictions(ex)
    assert oos.preds.risk.shape == (len(ex),)
    for group in GROUPS:
        m = oos.mask(group)
        assert m.any()
        # the same texts scored by a model trained with their group differ: the scores are really out of source
    full = train_baseline([e for e in ex], (), None)
    assert not np.allclose(full.score_texts([e.text for e in ex]), oos.preds.risk)
    table = held_out_table(oos)
    assert set(table["groups"]) == set(GROUPS)  # synthetic texts are never a test group
    for row in table["groups"].values():
        assert set(VARIANTS) <= set(row)
        fig = row[SERVED]
        assert 0.0 <= fig["f1"] <= 1.0 and fig["texts"] > 0
    assert set(table["summary"]) == set(VARIANTS)


def test_a_groups_thresholds_do_not_depend_on_its_own_labels() -> None:
    rows = grouped_rows()
    ex = examples(rows)
    oos = out_of_source_predictions(ex)
    before = held_out_table(oos)["groups"]["forum"]["thresholds"]
    flipped = [
        parse_example({**r, "is_risk": not r["is_risk"], "hazards": [] if r["is_risk"] else ["other"]}, "x")
        if r["dataset"] == "forum" and not r["synthetic"]
        else parse_example(r, "x")
        for r in rows
    ]
    oos.examples = flipped  # same scores, the held-out group's labels flipped
    assert held_out_table(oos)["groups"]["forum"]["thresholds"] == before


def test_source_thresholds_need_two_groups_and_both_classes() -> None:
    y = np.array([1, 0] * 10 + [1, 0] * 10)
    scores = np.linspace(0, 1, 40)
    types = ["review"] * 20 + ["news"] * 20
    groups = ["a"] * 10 + ["b"] * 10 + ["c"] * 20
    _, per, notes = choose_source_thresholds(y, scores, types, groups)
    assert "review" in per and "news" not in per
    assert "1 source group" in notes["news"]


def test_training_sets_source_thresholds(tmp_path: Path) -> None:
    ex = examples(grouped_rows())
    train = [e for e in ex if e.split != "test"]
    model = train_baseline(train, ())
    per = fit_source_thresholds(model, train, folds=3)
    assert model.source_thresholds == per
    assert model.info()["source_thresholds"] == per
    assert "folds of source groups" in model.source_threshold_notes["*"]


@pytest.mark.slow
def test_cli_held_out_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskmine.cli import app

    monkeypatch.setenv("RISKMINE_VAR_DIR", str(tmp_path / "var"))
    corpus = write_jsonl(tmp_path / "labels.jsonl", grouped_rows())
    out = tmp_path / "loso.json"
    result = CliRunner().invoke(
        app, ["models", "evaluate", "--held-out", "source", "--corpus", str(corpus), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "leave-one-source-out" in result.output and "forum" in result.output
    table = json.loads(out.read_text(encoding="utf-8"))
    assert set(table["groups"]) == set(GROUPS)
    assert table["corpus"]["texts"] == len(load_corpus(corpus))
    bad = CliRunner().invoke(app, ["models", "evaluate", "--held-out", "split", "--corpus", str(corpus)])
    assert bad.exit_code == 2 and "--held-out must be 'source'" in bad.output
