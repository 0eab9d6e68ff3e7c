from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.models.grading import DEFAULT_RULES_FILE, GradingRulesError
from riskmine.nlp.base import StageContext
from riskmine.nlp.grade import grade_signal, make_grade, text_mentions
from riskmine.schema import (
    HarmKind,
    HazardMention,
    HazardType,
    Population,
    RawDocument,
    RiskLevel,
    Signal,
    SourceType,
    WarningColor,
)
from riskmine.settings import get_settings

GRADING_MD = DEFAULT_RULES_FILE.with_name("GRADING.md")


def _signal(
    text: str,
    source_type: SourceType,
    hazards: list[tuple[str, HazardType]],
    *,
    score: float,
    harm: list[HarmKind] | None = None,
    populations: list[Population] | None = None,
    is_risk: bool = True,
) -> Signal:
    sig = Signal.from_document(RawDocument(source="test", source_type=source_type, text=text))
    sig.normalized_text = text
    for term, hazard in hazards:
        start = text.index(term)
        sig.hazards.append(HazardMention(start=start, end=start + len(term), text=term, term=term, hazard=hazard))
    sig.harm = harm or []
    sig.harm_occurred = bool(harm)
    sig.populations = populations or []
    sig.is_risk = is_risk
    sig.risk_score = score
    return sig


# The worked examples of GRADING.md: (text, signal, Safety Gate risk, level, colour)
EXAMPLES = [
    (
        "充电器充电时很烫，怕起火",
        lambda t: _signal(t, SourceType.review, [("起火", HazardType.fire)], score=0.70),
        "medium",
        RiskLevel.medium,
        WarningColor.yellow,
    ),
    (
        "充电宝充电时爆炸起火，把沙发烧了",
        lambda t: _signal(
            t, SourceType.review, [("起火", HazardType.fire)], score=0.97, harm=[HarmKind.property_damage]
        ),
        "serious",
        RiskLevel.high,
        WarningColor.red,
    ),
    (
        "孩子玩这个玩具被划伤了手",
        lambda t: _signal(
            t,
            SourceType.review,
            [("划伤", HazardType.injuries)],
            score=0.90,
            harm=[HarmKind.injury],
            populations=[Population.children],
        ),
        "high",
        RiskLevel.high,
        WarningColor.orange,
    ),
    (
        "宝宝喝了这个奶粉拉肚子住院了",
        lambda t: _signal(
            t,
            SourceType.complaint,
            [("拉肚子", HazardType.microbiological)],
            score=0.95,
            harm=[HarmKind.hospital],
            populations=[Population.infants],
        ),
        "serious",
        RiskLevel.high,
        WarningColor.red,
    ),
    (
        "【监督抽查】粉条 山梨酸 不合格",
        lambda t: _signal(t, SourceType.spot_check, [("山梨酸", HazardType.chemical)], score=0.99),
        "low",
        RiskLevel.low,
        WarningColor.green,
    ),
    (
        "召回：儿童安全座椅卡扣可能失效",
        lambda t: _signal(
            t,
            SourceType.recall,
            [("失效", HazardType.safety_function_failure)],
            score=0.8,
            populations=[Population.children],
        ),
        "serious",
        RiskLevel.high,
        WarningColor.red,
    ),
    (
        "热水器漏电，家中老人洗澡时触电身亡",
        lambda t: _signal(
            t,
            SourceType.news,
            [("漏电", HazardType.electric_shock), ("触电", HazardType.electric_shock)],
            score=0.99,
            harm=[HarmKind.death],
            populations=[Population.elderly],
        ),
        "serious",
        RiskLevel.high,
        WarningColor.red,
    ),
]


@pytest.mark.parametrize(("text", "build", "risk", "level", "color"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_worked_examples_of_grading_md(
    text: str, build: Callable[[str], Signal], risk: str, level: RiskLevel, color: WarningColor
) -> None:
    sig = build(text)
    stage = make_grade(StageContext(get_settings()))
    stage([sig])
    assert (sig.risk_level, sig.warning_color) == (level, color)
    result = grade_signal(sig)
    assert result is not None and result.safety_gate_risk == risk
    doc = GRADING_MD.read_text(encoding="utf-8")
    row = next(line for line in doc.splitlines() if line.startswith(f"| {text}"))
    assert row.rstrip(" |").endswith(f"{risk} → {level.value} / {color.value}")


def test_non_risks_get_no_grade_and_stale_grades_are_cleared() -> None:
    sig = _signal("插线板销量火爆", SourceType.review, [], score=0.1, is_risk=False)
    sig.risk_level, sig.warning_color = RiskLevel.high, WarningColor.red
    make_grade(StageContext(get_settings()))([sig])
    assert sig.risk_level is None and sig.warning_color is None
    assert grade_signal(sig) is None


def test_model_hazards_grade_but_do_not_count_as_text_mentions() -> None:
    sig = _signal("用了这个电热毯以后总觉得不对劲", SourceType.review, [], score=0.6)
    sig.predicted_hazards = [HazardType.electric_shock]
    assert text_mentions(sig) == 0
    result = grade_signal(sig)
    assert result is not None and result.hazard is HazardType.electric_shock and result.likelihood == "unlikely"


def test_ruled_out_mentions_are_not_graded() -> None:
    text = "销量爆炸，热水器很好用"
    sig = _signal(text, SourceType.review, [("爆炸", HazardType.fire)], score=0.6)
    sig.hazards[0].in_sense = False
    result = grade_signal(sig)
    assert result is not None and result.hazard is HazardType.other


def test_alternative_rules_file(tmp_path: Path) -> None:
    rules = DEFAULT_RULES_FILE.read_text(encoding="utf-8").replace(
        'unlikely = ["low", "low", "low", "medium"]', 'unlikely = ["low", "low", "low", "high"]'
    )
    path = tmp_path / "rules.toml"
    path.write_text(rules, encoding="utf-8")
    sig = _signal("充电器充电时很烫，怕起火", SourceType.review, [("起火", HazardType.fire)], score=0.7)
    make_grade(StageContext(get_settings()), rules=str(path))([sig])
    assert sig.warning_color is WarningColor.orange


def test_broken_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[severity]\nfire = { base = 9 }\n", encoding="utf-8")
    with pytest.raises(GradingRulesError, match=r"fire.base must be an integer from 1 to 4"):
        make_grade(StageContext(get_settings()), rules=str(path))


def test_registered_as_the_grade_stage() -> None:
    from riskmine.nlp.base import registered

    reg = registered()["grade"]
    assert reg.factory is make_grade
    assert reg.writes == ("risk_level", "warning_color")
