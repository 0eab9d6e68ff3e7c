from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.nlp.base import StageContext, build_stage, registered, stage
from riskmine.pipeline import Pipeline, PipelineConfigError, StageSpec, load_config
from riskmine.schema import RawDocument, Signal
from riskmine.settings import DEFAULT_PIPELINE_FILE, Settings, get_settings


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
    pipe = Pipeline.from_specs(specs, StageContext(get_settings()))
    [sig] = pipe.process([_doc("abc")])
    assert sig.normalized_text == "ABC!"
    assert sig.noise == ["seen:ABC!"]
    assert pipe.names == ["test_upper", "test_mark"]
    assert set(pipe.timings) == {"test_upper", "test_mark"}


def test_a_stage_can_be_switched_off_by_name_or_in_config() -> None:
    specs = [StageSpec("test_upper"), StageSpec("test_mark")]
    assert Pipeline.from_specs(specs, StageContext(get_settings()), disabled={"test_mark"}).names == ["test_upper"]
    specs_off = [StageSpec("test_upper", enabled=False), StageSpec("test_mark")]
    assert Pipeline.from_specs(specs_off, StageContext(get_settings())).names == ["test_mark"]


def test_unknown_stage_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match=r"unknown stage 'nope'.*test_upper"):
        build_stage("nope", StageContext(get_settings()))


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


@stage("test_sneaky", reads=["normalized_text"], writes=["noise"])
def _make_sneaky(ctx: StageContext) -> object:
    def run(batch: list[Signal]) -> list[Signal]:
        for s in batch:
            s.weight = 0.5  # not declared
        return batch

    return run


def test_a_stage_naming_a_field_that_does_not_exist_is_refused_when_registered() -> None:
    from riskmine.nlp.base import StageContractError

    with pytest.raises(StageContractError, match=r"'risk_scor', which is not a Signal field"):
        stage("test_typo", reads=["risk_scor"], writes=[])(_make_mark)
    with pytest.raises(StageContractError, match=r"'document\.body', which is not a field of document"):
        stage("test_typo", reads=["document.body"], writes=[])(_make_mark)


def test_reads_nothing_earlier_writes_are_reported() -> None:
    ctx = StageContext(get_settings())
    pipe = Pipeline.from_specs([StageSpec("test_mark"), StageSpec("test_upper")], ctx)
    assert pipe.analyze().problems == ["stage 'test_mark' reads 'normalized_text', which no earlier stage writes"]
    assert Pipeline.from_specs([StageSpec("test_upper"), StageSpec("test_mark")], ctx).analyze().problems == []


def test_the_configured_pipeline_reads_only_what_is_written_before() -> None:
    from riskmine.pipeline import analyze_stages

    regs = registered()
    analysis = analyze_stages([regs[s.name] for s in load_config(DEFAULT_PIPELINE_FILE) if s.enabled])
    assert analysis.problems == []
    assert [row["name"] for row in analysis.stages][:2] == ["normalize", "denoise"]


def test_an_undeclared_write_is_caught_when_contracts_are_checked() -> None:
    from riskmine.nlp.base import StageContractError

    pipe = Pipeline.from_specs([StageSpec("test_upper"), StageSpec("test_sneaky")], StageContext(get_settings()))
    assert pipe.process([_doc("abc")])[0].weight == 0.5  # unchecked by default (it copies every signal)
    pipe.check_contracts = True
    with pytest.raises(StageContractError, match="stage 'test_sneaky' wrote weight of signal"):
        pipe.process([_doc("abc")])


@pytest.mark.slow
def test_every_configured_stage_writes_only_what_it_declares(tmp_path: Path) -> None:
    pipe = Pipeline.from_settings(Settings(var_dir=tmp_path / "var"), None)
    pipe.check_contracts = True
    docs = [
        RawDocument(
            source="t", source_type="review", title="投訴", text="客服电话13812345678，这个充电宝充电时冒烟起火"
        ),
        RawDocument(source="t", source_type="station_report", text="婴儿推车刹车失灵;侧翻", product="婴儿推车"),
        RawDocument(source="t", source_type="news", text="<p>某品牌电动自行车电池起火，致1人烧伤</p>"),
        RawDocument(source="t", source_type="review", text="好评好评好评好评好评好评好评好评"),
    ]
    out = pipe.process(docs)
    assert [s.is_risk for s in out] == [True, True, True, False]
    assert "[电话]" in out[0].document.text  # normalize masks the stored text, which it declares


def test_a_bad_option_names_the_stage_the_file_and_the_options_it_takes(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.toml"
    config.write_text('[[stage]]\nname = "test_upper"\noptions = { sufix = "!" }\n', encoding="utf-8")
    with pytest.raises(PipelineConfigError) as err:
        Pipeline.from_specs(load_config(config), StageContext(get_settings()))
    message = str(err.value)
    assert str(config) in message and "'test_upper' has no option 'sufix'" in message and "suffix" in message
    config.write_text('[[stage]]\nname = "test_upper"\noptions = "!"\n', encoding="utf-8")
    with pytest.raises(PipelineConfigError, match="options must be a table"):
        load_config(config)
    config.write_text('[[stage]]\nname = "tset_upper"\n', encoding="utf-8")
    with pytest.raises(PipelineConfigError, match=r"pipeline.toml: unknown stage 'tset_upper'"):
        Pipeline.from_specs(load_config(config), StageContext(get_settings()))
