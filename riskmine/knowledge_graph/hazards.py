"""Hazard severity, harm gravity and display labels used when ranking candidate risks.

Severity is the grading rules' (riskmine/models/grading.toml): the EU Safety Gate
class 1-4 of the worst plausible injury, with the upper end of a hazard's range
used where a hospital visit was reported. Class 4 is the high-severity class used
when deciding the immediate tier.
"""

from __future__ import annotations

from collections.abc import Iterable

from riskmine.models.grading import load_rules
from riskmine.schema import HarmKind, HazardType
from riskmine.schema.labels import HAZARD_LABELS, UNKNOWN_HAZARD_LABEL

MAX_SEVERITY = 4
HIGH_SEVERITY = 4  # injury or a hospital visit from a hazard of this class is reported at once

# Gravity of the harm a report says occurred, 0-1.
HARM_GRAVITY: dict[HarmKind, float] = {
    HarmKind.death: 1.0,
    HarmKind.hospital: 0.8,
    HarmKind.injury: 0.7,
    HarmKind.property_damage: 0.4,
}
UNSTATED_HARM = 0.5  # harm_occurred set without a kind of harm


def severity(hazard: HazardType | None, *, hospital: bool = False) -> int:
    """Severity class 1-4 by the grading rules; a risk signal with no hazard code counts as `other`."""
    rule = load_rules().severity[hazard if hazard is not None else HazardType.other]
    return rule.hospital if hospital and rule.hospital is not None else rule.base


def harm_gravity(harms: Iterable[HarmKind], occurred: bool = False) -> float:
    """Gravity of the gravest harm reported; UNSTATED_HARM when harm occurred of no stated kind; else 0."""
    gravity = max((HARM_GRAVITY.get(h, 0.0) for h in harms), default=0.0)
    return UNSTATED_HARM if gravity == 0.0 and occurred else gravity


def hazard_label(hazard: HazardType | None) -> str:
    """Chinese label with the code, e.g. "起火/冒烟 (fire)"."""
    if hazard is None:
        return UNKNOWN_HAZARD_LABEL
    return f"{HAZARD_LABELS.get(hazard, hazard.value)} ({hazard.value})"
