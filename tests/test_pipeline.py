from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.nlp.base import StageContext, build_stage, registered, stage
from riskmine.pipeline import Pipeline, PipelineConfigError, StageSpec, load_config
from riskmine.schema import RawDocument, Signal
from riskmine.settings import DEFAULT_PIPELINE_FILE, Settings


@stage("test_upper", reads=["document.text"], writes=["normalized_text"])
def _make_upper(ctx: StageContext, *, suffix: str = "") -> object:
    def run(batch: list[Signal]) -> list[Signal]:
        for s in batch:
            s.normalized_text = s.document.text.upper() + suffix
        return batch

    return run


@stage("test_mark", reads=["normalized_text"], writes=["noise"])
def _make_mark(ctx: StageContext) -> object:
    def run(batch: list[Signal]) -> list[Signal]:
        for s in batch:
            s.noise.append("seen:" + s.normalized_text)
        return batch

    return run


def _doc(text: str) -> RawDocument:
    return RawDocument(source="t", source_type="review", text=text)


def test_stages_run_in_configured_order_with_options() -> None:
    specs = [StageSpec("test_upper", options={"suffix": "!"}), StageSpec("test_mark")]
    pipe = Pipeline.from_specs(specs, StageContext())
    [sig] = pipe.process([_doc("abc")])
    assert sig.normalized_text == "ABC!"
    assert sig.noise == ["seen:ABC!"]
    assert pipe.names == ["test_upper", "test_mark"]
    assert set(pipe.timings) == {"test_upper", "test_mark"}


def test_a_stage_can_be_switched_off_by_name_or_in_config() -> None:
    specs = [StageSpec("test_upper"), StageSpec("test_mark")]
    assert Pipeline.from_specs(specs, StageContext(), disabled={"test_mark"}).names == ["test_upper"]
    specs_off = [StageSpec("test_upper", enabled=False), StageSpec("test_mark")]
    assert Pipeline.from_specs(specs_off, StageContext()).names == ["test_mark"]


def test_unknown_stage_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown stage 'nope'.*test_upper"):
        build_stage("nope", StageContext())


def test_default_config_lists_only_registered_stages() -> None:
    names = [s.name for s in load_config(DEFAULT_PIPELINE_FILE)]
    assert names[0] == "normalize" and "classify" in names
    assert set(names) <= set(registered())


def test_config_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("[[stage]]\nname = 'a'\ncolour = 1\n", encoding="utf-8")
    with pytest.raises(PipelineConfigError, match="unknown keys"):
        load_config(bad)
    bad.write_text("[[stage]\n", encoding="utf-8")
    with pytest.raises(PipelineConfigError, match="cannot read"):
        load_config(bad)
    bad.write_text("", encoding="utf-8")
    with pytest.raises(PipelineConfigError, match="no \\[\\[stage\\]\\]"):
        load_config(bad)


def test_settings_disable_stages_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMINE_DISABLED_STAGES", "dedup, classify")
    assert Settings().disabled == {"dedup", "classify"}
