"""The grade stage: risk level and warning colour of each risk signal by the rule table.

The rules (riskmine/models/grading.toml, explained in riskmine/models/GRADING.md)
combine the severity of the worst hazard, a likelihood proxy (source type, risk
score, number of hazard mentions), vulnerable populations, harm that occurred and
deaths. Signals that are not risks get ``risk_level = warning_color = None``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmine.models.grading import Grade, GradingRules, grade, load_rules
from riskmine.nlp.base import StageContext, stage
from riskmine.schema import HazardType, Signal


def signal_hazards(sig: Signal) -> list[HazardType]:
    """The hazard codes a signal is graded on: tagger codes in sense, else the model's."""
    return sig.hazard_codes


def text_mentions(sig: Signal) -> int:
    """Hazard mentions found in the text (not ruled out by disambiguation)."""
    return sum(1 for m in sig.hazards if m.in_sense is not False)


def grade_signal(sig: Signal, rules: GradingRules | None = None) -> Grade | None:
    """The grade of a risk signal, None for a non-risk."""
    if not sig.is_risk:
        return None
    return grade(
        signal_hazards(sig),
        rules=rules,
        harm=sig.harm,
        harm_occurred=sig.harm_occurred,
        populations=sig.populations,
        risk_score=sig.risk_score,
        mentions=text_mentions(sig),
        source_type=sig.document.source_type,
    )


class GradeStage:
    def __init__(self, rules: GradingRules) -> None:
        self.rules = rules

    def __call__(self, batch: list[Signal]) -> list[Signal]:
        for sig in batch:
            result = grade_signal(sig, self.rules)
            sig.risk_level = result.risk_level if result else None
            sig.warning_color = result.warning_color if result else None
        return batch


@stage(
    "grade",
    reads=["is_risk", "risk_score", "hazards", "harm", "harm_occurred", "populations", "document"],
    writes=["risk_level", "warning_color"],
)
def make_grade(ctx: StageContext, *, rules: str | None = None) -> Any:
    """Risk level (high/medium/low) and warning colour (red/orange/yellow/green) of risk signals.

    rules: path of an alternative rule table (default: riskmine/models/grading.toml).
    """
    return GradeStage(load_rules(Path(rules) if rules else None))
