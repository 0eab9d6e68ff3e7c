from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.models.corpus import (
    CORPUS_ENV,
    CorpusError,
    default_corpus_path,
    load_corpus,
)
from riskmine.schema import HazardType, SourceType
from tests.models.corpus_factory import corpus_rows, write_jsonl


def test_loads_rows_with_their_splits_and_labels(corpus_file: Path) -> None:
    corpus = load_corpus(corpus_file)
    rows = corpus_rows()
    assert len(corpus) == len(rows)
    assert len(corpus.train) + len(corpus.dev) + len(corpus.test) == len(rows)
    assert len(corpus.dev) == sum(r["split"] == "dev" for r in rows)
    first = corpus.examples[0]
    assert first.text == rows[0]["text"]
    assert first.hazards == (HazardType.fire,)
    assert first.source_type is SourceType.review
    assert first.is_risk is True


def test_summary_counts_risks_hazards_and_feedback(corpus_file: Path) -> None:
    summary = load_corpus(corpus_file).summary()
    train_rows = [r for r in corpus_rows() if r["split"] == "train"]
    assert summary["train"]["examples"] == len(train_rows)
    assert summary["train"]["risk"] == sum(r["is_risk"] for r in train_rows)
    assert summary["train"]["hazards"]["fire"] == sum("fire" in r["hazards"] for r in train_rows)
    assert summary["feedback"] == {"path": None, "added": 0, "corrected": 0}
    assert summary["leaked_texts"] == 0


def test_extra_fields_are_ignored_and_optional_ones_default(write_corpus: Callable[..., Path]) -> None:
    path = write_corpus(
        [{"id": "a1", "text": "插线板冒烟了", "is_risk": True, "split": "train", "note": "查过原文", "source": "x"}]
    )
    (example,) = load_corpus(path).examples
    assert example.hazards == ()
    assert example.harm_occurred is False
    assert example.source_type is None
    assert example.synthetic is False


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {"id": "x", "text": "漏电", "is_risk": "yes", "split": "train"},
            "line 2: field 'is_risk' must be true or false",
        ),
        ({"id": "x", "text": "漏电", "is_risk": True}, "line 2: missing field(s) 'split'"),
        ({"id": "x", "text": "漏电", "is_risk": True, "split": "valid"}, "line 2: field 'split' must be one of"),
        ({"id": "x", "text": "  ", "is_risk": True, "split": "dev"}, "line 2: field 'text' must be a non-empty string"),
        (
            {"id": "x", "text": "漏电", "is_risk": True, "split": "dev", "hazards": ["shock"]},
            "line 2: field 'hazards' has unknown code 'shock'",
        ),
        (
            {"id": "x", "text": "漏电", "is_risk": True, "split": "dev", "source_type": "forum"},
            "line 2: field 'source_type' has unknown value 'forum'",
        ),
        ({"id": "ok", "text": "重复", "is_risk": False, "split": "dev"}, "line 2: field 'id' 'ok' repeats line 1"),
        (["not", "an", "object"], "line 2: expected a JSON object"),
    ],
)
def test_invalid_rows_are_named_by_line_and_field(
    write_corpus: Callable[..., Path], row: object, expected: str
) -> None:
    good = {"id": "ok", "text": "物流很快", "is_risk": False, "split": "train"}
    path = write_corpus([good, row])
    with pytest.raises(CorpusError) as info:
        load_corpus(path)
    assert expected in str(info.value)
    assert len(info.value.errors) == 1


def test_bad_json_and_several_errors_are_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"id": "a", "text": "好", "is_risk": false, "split": "train"}\n'
        '{"id": "b", "text": "坏", "is_risk": true, "split": "train"\n'
        "\n"
        '{"id": "c", "text": "漏电", "is_risk": 1, "split": "train"}\n',
        encoding="utf-8",
    )
    with pytest.raises(CorpusError) as info:
        load_corpus(path)
    assert info.value.errors[0].startswith("labels.jsonl line 2: not valid JSON")
    assert "line 4: field 'is_risk'" in info.value.errors[1]
    assert "2 invalid row(s)" in str(info.value)


def test_missing_corpus_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=f"labelled corpus not found: .*nothere.jsonl .*{CORPUS_ENV}"):
        load_corpus(tmp_path / "nothere.jsonl")


def test_feedback_rows_join_train_and_correct_known_ids(corpus_file: Path, tmp_path: Path) -> None:
    base = load_corpus(corpus_file)
    dev_example = base.dev[0]
    feedback = write_jsonl(
        tmp_path / "feedback.jsonl",
        [
            {"id": "fb-1", "text": "电动车在楼道充电时电池起火，烧坏了邻居的门", "is_risk": True, "hazards": ["fire"]},
            {"id": dev_example.id, "text": dev_example.text, "is_risk": not dev_example.is_risk},
        ],
    )
    corpus = load_corpus(corpus_file, feedback=feedback)
    assert len(corpus.train) == len(base.train) + 1
    added = next(e for e in corpus.train if e.id == "fb-1")
    assert added.hazards == (HazardType.fire,)
    corrected = next(e for e in corpus.examples if e.id == dev_example.id)
    assert corrected.split == "dev"
    assert corrected.is_risk is not dev_example.is_risk
    assert corpus.summary()["feedback"]["added"] == 1
    assert corpus.summary()["feedback"]["corrected"] == 1


def test_data_hash_ignores_order_and_follows_labels(write_corpus: Callable[..., Path]) -> None:
    rows = corpus_rows()
    h1 = load_corpus(write_corpus(rows, "a.jsonl")).data_hash()
    h2 = load_corpus(write_corpus(list(reversed(rows)), "b.jsonl")).data_hash()
    assert h1 == h2
    changed = [dict(r) for r in rows]
    changed[0]["is_risk"] = False
    assert load_corpus(write_corpus(changed, "c.jsonl")).data_hash() != h1


def test_leaked_texts_are_counted(write_corpus: Callable[..., Path]) -> None:
    rows = [
        {"id": "a", "text": "插线板冒烟", "is_risk": True, "split": "train"},
        {"id": "b", "text": "插线板冒烟", "is_risk": True, "split": "test"},
        {"id": "c", "text": "物流很快", "is_risk": False, "split": "dev"},
    ]
    assert load_corpus(write_corpus(rows)).leaked_texts() == 1


def test_default_path_prefers_settings_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CORPUS_ENV, raising=False)

    class S:
        corpus_path = tmp_path / "from-settings.jsonl"

    assert default_corpus_path(None).parts[-3:] == ("data", "corpus", "labels")
    assert default_corpus_path(S()) == tmp_path / "from-settings.jsonl"
    monkeypatch.setenv(CORPUS_ENV, str(tmp_path / "env.jsonl"))
    assert default_corpus_path(S()) == tmp_path / "from-settings.jsonl"
    assert default_corpus_path(None) == tmp_path / "env.jsonl"


def test_reads_a_line_of_the_bundled_corpus_format(tmp_path: Path) -> None:
    line = {
        "id": "food_spotcheck_foodmate:x.csv:43",
        "text": (
            "【监督抽查】粉条（淀粉及淀粉制品/淀粉制品）山梨酸及其钾盐（以山梨酸计） 不合格，"
            "检测结果 0.161g/kg，标准 不得使用"
        ),
        "source_type": "spot_check",
        "is_risk": True,
        "hazards": ["chemical"],
        "harm_occurred": False,
        "product_category": "淀粉制品",
        "dataset": "food_spotcheck_foodmate",
        "file": "x.csv",
        "row": 43,
        "synthetic": False,
        "split": "train",
        "note": "山梨酸及其钾盐（以山梨酸计）",
    }
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")
    (example,) = load_corpus(path).examples
    assert example.source_type is SourceType.spot_check
    assert example.row == 43
    assert example.product_category == "淀粉制品"


def test_examples_are_trained_and_measured_on_the_text_the_classify_stage_sees() -> None:
    from riskmine.models.corpus import LabelledExample, as_served
    from riskmine.text.normalize import normalize_text

    raw = "<p>這個充電寶充電時冒煙，客服電話13812345678</p>　ＡＢＣ"
    (served,) = as_served([LabelledExample(id="x1", text=raw, is_risk=True, split="train")])
    assert served.text == normalize_text(raw)
    assert served.text.startswith("这个充电宝充电时冒烟") and "13812345678" not in served.text and "ABC" in served.text
    assert (served.id, served.is_risk, served.split) == ("x1", True, "train")


def test_a_folder_of_shards_reads_in_name_order(tmp_path: Path) -> None:
    from riskmine.models.corpus import read_examples

    folder = tmp_path / "labels"
    folder.mkdir()
    row = {"text": "充电宝冒烟了", "is_risk": True, "hazards": ["fire"], "split": "train"}
    (folder / "b.jsonl").write_text(json.dumps({**row, "id": "b1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "a.jsonl").write_text(json.dumps({**row, "id": "a1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "notes.txt").write_text("not a shard", encoding="utf-8")
    assert [e.id for e in read_examples(folder)] == ["a1", "b1"]
    (folder / "c.jsonl").write_text(json.dumps({**row, "id": "a1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError) as info:
        read_examples(folder)
    assert "c.jsonl line 1: field 'id' 'a1' repeats a.jsonl line 1" in info.value.errors[0]
    with pytest.raises(CorpusError, match="not found"):
        read_examples(tmp_path / "empty-folder-that-is-missing")
