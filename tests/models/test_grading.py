from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from riskmine.models.grading import DEFAULT_RULES_FILE, GradingRulesError, grade, load_rules, parse_rules
from riskmine.schema import HarmKind, HazardType, Population, RiskLevel, SourceType, WarningColor


def _data() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))


def test_bundled_rules_cover_every_hazard() -> None:
    rules = load_rules()
    assert set(rules.severity) == set(HazardType)
    assert rules.severity[HazardType.electric_shock].base == 4
    assert rules.severity[HazardType.choking].hospital == 4
    assert rules.outcome["serious"] == (RiskLevel.high, WarningColor.red)
    assert load_rules() is rules  # parsed once


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["severity"].pop("fire"), r"\[severity\] has no entry for fire"),
        (lambda d: d["severity"].update(lava={"base": 4}), r"\[severity\] has unknown hazard 'lava'"),
        (lambda d: d["severity"]["fire"].update(base=5), r"\[severity\] fire.base must be an integer from 1 to 4"),
        (lambda d: d["severity"]["burns"].update(hospital=1), r"burns.hospital must be an integer from 2 to 4"),
        (lambda d: d["matrix"].update(likely=["low", "low", "low"]), r"\[matrix\] likely must list 4"),
        (
            lambda d: d["matrix"].update(likely=["low", "low", "low", "low"]),
            r"severity 3: risk must not fall as likelihood rises",
        ),
        (lambda d: d["likelihood"].update(possible_min_score=2), r"possible_min_score must be a number in \[0, 1\]"),
        (lambda d: d["likelihood"].update(likely_sources=["blog"]), r"likely_sources: 'blog' is not a valid"),
        (lambda d: d["raise"].update(death_level="fatal"), r"death_level must be one of"),
        (lambda d: d["outcome"]["high"].update(color="purple"), r"\[outcome\] high: 'purple' is not a valid"),
        (lambda d: d.pop("outcome"), r"missing table \[outcome\]"),
    ],
)
def test_invalid_rule_tables_name_the_key(change: Any, message: str) -> None:
    data = _data()
    change(data)
    with pytest.raises(GradingRulesError, match=message):
        parse_rules(data, Path("rules.toml"))


def test_unreadable_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("severity = [", encoding="utf-8")
    with pytest.raises(GradingRulesError, match="cannot read grading rules"):
        load_rules(path)


def test_severity_times_likelihood() -> None:
    # fire (4) in one unconfirmed review: unlikely → medium
    g = grade([HazardType.fire], risk_score=0.6, mentions=1, source_type=SourceType.review)
    assert (g.safety_gate_risk, g.risk_level, g.warning_color) == ("medium", RiskLevel.medium, WarningColor.yellow)
    assert g.likelihood == "unlikely" and g.severity == 4
    # a confident model score makes it possible → high
    g = grade([HazardType.fire], risk_score=0.9, mentions=1, source_type=SourceType.review)
    assert (g.safety_gate_risk, g.warning_color) == ("high", WarningColor.orange)
    # two mentions do as well
    assert grade([HazardType.fire], risk_score=0.5, mentions=2).likelihood == "possible"
    # a recall is likely → serious
    g = grade([HazardType.fire], source_type=SourceType.recall)
    assert (g.safety_gate_risk, g.warning_color) == ("serious", WarningColor.red)


def test_worst_hazard_and_hospital_severity() -> None:
    g = grade([HazardType.burns, HazardType.electric_shock], risk_score=0.9)
    assert g.hazard is HazardType.electric_shock and g.severity == 4
    plain = grade([HazardType.burns], risk_score=0.9)
    hospital = grade([HazardType.burns], risk_score=0.9, harm=[HarmKind.hospital])
    assert plain.severity == 2 and hospital.severity == 3
    assert "hospital treatment reported" in hospital.reasons[0]


def test_raises_for_populations_harm_and_death() -> None:
    base = grade([HazardType.injuries], risk_score=0.9)
    assert base.safety_gate_risk == "low"
    child = grade([HazardType.injuries], risk_score=0.9, populations=[Population.children])
    assert child.safety_gate_risk == "medium"
    both = grade(
        [HazardType.injuries], risk_score=0.9, populations=[Population.children, Population.elderly], harm_occurred=True
    )
    assert both.safety_gate_risk == "high"  # one step per rule, not per population
    assert any("children, elderly" in r for r in both.reasons)
    death = grade([HazardType.other], risk_score=0.5, harm=[HarmKind.death])
    assert (death.safety_gate_risk, death.risk_level, death.warning_color) == (
        "serious",
        RiskLevel.high,
        WarningColor.red,
    )
    capped = grade([HazardType.fire], source_type=SourceType.recall, populations=[Population.infants])
    assert capped.safety_gate_risk == "serious"


def test_no_hazard_is_graded_as_other() -> None:
    g = grade([], risk_score=0.95)
    assert g.hazard is HazardType.other and g.severity == 1
    assert g.risk_level is RiskLevel.low and g.warning_color is WarningColor.green
