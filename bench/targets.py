"""The targets the benchmarks measure against, collected as they run and printed together at the end of
``python -m bench`` (``make bench``): each target beside its measured figure, the ratio, met or not, and the
load average when it was measured (a busy machine makes a figure worth less)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    label: str
    value: float
    goal: float
    unit: str
    higher_is_better: bool
    load: float

    @property
    def met(self) -> bool:
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    @property
    def ratio(self) -> float:
        """Measured over goal, oriented so that ≥ 1 means met."""
        if self.higher_is_better:
            return self.value / self.goal if self.goal else float("inf")
        return self.goal / self.value if self.value else float("inf")


MEASURED: list[Measured] = []


def record(label: str, value: float, goal: float, *, unit: str = "", higher_is_better: bool = True) -> None:
    """Keep one measured figure against its target (printed by :func:`summary`)."""
    MEASURED.append(Measured(label, value, goal, unit, higher_is_better, os.getloadavg()[0]))


def summary() -> str:
    """The targets measured in this run, one line each."""
    if not MEASURED:
        return ""
    lines = [f"{'target':<58}{'measured':>12}{'goal':>12}{'ratio':>8}  {'':<8}load"]
    for m in MEASURED:
        sign = "≥" if m.higher_is_better else "≤"
        lines.append(
            f"{m.label:<58}{m.value:>10.2f}{m.unit:<2}{sign:>3}{m.goal:>7.2f}{m.unit:<2}{m.ratio:>8.2f}"
            f"  {'met' if m.met else 'NOT met':<8}{m.load:.1f}"
        )
    return "\n".join(lines)
