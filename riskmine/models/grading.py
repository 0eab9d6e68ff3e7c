"""Risk grading by the rule table in grading.toml (method and sources: GRADING.md).

severity of the worst plausible injury (per hazard) × likelihood proxy → EU Safety
Gate risk (low / medium / high / serious), raised for vulnerable populations and for
harm that occurred, set to the top for a death → riskmine risk level and warning colour.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from riskmine.schema import HarmKind, HazardType, Population, RiskLevel, SourceType, WarningColor
from riskmine.schema.errors import RiskmineError

DEFAULT_RULES_FILE = Path(__file__).resolve().parent / "grading.toml"
LADDER = ("low", "medium", "high", "serious")
BANDS = ("unlikely", "possible", "likely")


class GradingRulesError(RiskmineError, ValueError):
    code = "grading_rules_invalid"
    status = 500


@dataclass(frozen=True)
class Severity:
    base: int
    hospital: int | None = None


@dataclass(frozen=True)
class GradingRules:
    version: str
    severity: dict[HazardType, Severity]
    likely_sources: frozenset[SourceType]
    possible_sources: frozenset[SourceType]
    possible_min_score: float
    possible_min_mentions: int
    matrix: dict[str, tuple[str, str, str, str]]
    populations: frozenset[Population]
    population_steps: int
    harm_steps: int
    death_level: str
    outcome: dict[str, tuple[RiskLevel, WarningColor]]
    path: Path | None = None


@dataclass(frozen=True)
class Grade:
    """A grading result with the reasons that produced it."""

    safety_gate_risk: str
    risk_level: RiskLevel
    warning_color: WarningColor
    severity: int
    hazard: HazardType
    likelihood: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _err(path: Path, message: str) -> GradingRulesError:
    return GradingRulesError(f"{path}: {message}")


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _err(path, f"missing table [{key}]")
    return value


def _enum_list(values: Any, enum: Any, where: str, path: Path) -> frozenset[Any]:
    if not isinstance(values, list):
        raise _err(path, f"{where} must be a list")
    try:
        return frozenset(enum(v) for v in values)
    except ValueError as exc:
        raise _err(path, f"{where}: {exc}") from None


def _int(value: Any, where: str, path: Path, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _err(path, f"{where} must be an integer from {lo} to {hi}, got {value!r}")
    return value


def parse_rules(data: dict[str, Any], path: Path) -> GradingRules:
    """Validate a decoded rule table; every problem names the key."""
    if tuple(data.get("ladder", LADDER)) != LADDER:
        raise _err(path, f"ladder must be {list(LADDER)}")

    sev_table = _table(data, "severity", path)
    severity: dict[HazardType, Severity] = {}
    for key, entry in sev_table.items():
        try:
            hazard = HazardType(key)
        except ValueError:
            raise _err(path, f"[severity] has unknown hazard {key!r}") from None
        if not isinstance(entry, dict) or "base" not in entry:
            raise _err(path, f"[severity] {key} must be a table with `base`")
        base = _int(entry["base"], f"[severity] {key}.base", path, 1, 4)
        hospital = entry.get("hospital")
        if hospital is not None:
            hospital = _int(hospital, f"[severity] {key}.hospital", path, base, 4)
        severity[hazard] = Severity(base, hospital)
    missing = [h.value for h in HazardType if h not in severity]
    if missing:
        raise _err(path, f"[severity] has no entry for {', '.join(missing)}")

    lk = _table(data, "likelihood", path)
    if tuple(lk.get("bands", BANDS)) != BANDS:
        raise _err(path, f"[likelihood] bands must be {list(BANDS)}")
    score = lk.get("possible_min_score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
        raise _err(path, f"[likelihood] possible_min_score must be a number in [0, 1], got {score!r}")

    mx = _table(data, "matrix", path)
    matrix: dict[str, tuple[str, str, str, str]] = {}
    for band in BANDS:
        row = mx.get(band)
        if not isinstance(row, list) or len(row) != 4 or any(r not in LADDER for r in row):
            raise _err(path, f"[matrix] {band} must list 4 of {', '.join(LADDER)} (severity 1-4)")
        matrix[band] = (row[0], row[1], row[2], row[3])
    for sev in range(4):
        column = [LADDER.index(matrix[b][sev]) for b in BANDS]
        if column != sorted(column):
            raise _err(path, f"[matrix] severity {sev + 1}: risk must not fall as likelihood rises")

    rs = _table(data, "raise", path)
    if rs.get("death_level") not in LADDER:
        raise _err(path, f"[raise] death_level must be one of {', '.join(LADDER)}")

    oc = _table(data, "outcome", path)
    outcome: dict[str, tuple[RiskLevel, WarningColor]] = {}
    for risk in LADDER:
        entry = oc.get(risk)
        if not isinstance(entry, dict):
            raise _err(path, f"[outcome] has no entry for {risk!r}")
        try:
            outcome[risk] = (RiskLevel(str(entry.get("level"))), WarningColor(str(entry.get("color"))))
        except ValueError as exc:
            raise _err(path, f"[outcome] {risk}: {exc}") from None

    return GradingRules(
        version=str(data.get("version", "")),
        severity=severity,
        likely_sources=_enum_list(lk.get("likely_sources", []), SourceType, "[likelihood] likely_sources", path),
        possible_sources=_enum_list(lk.get("possible_sources", []), SourceType, "[likelihood] possible_sources", path),
        possible_min_score=float(score),
        possible_min_mentions=_int(
            lk.get("possible_min_mentions"), "[likelihood] possible_min_mentions", path, 1, 1000
        ),
        matrix=matrix,
        populations=_enum_list(rs.get("populations", []), Population, "[raise] populations", path),
        population_steps=_int(rs.get("population_steps", 1), "[raise] population_steps", path, 0, 3),
        harm_steps=_int(rs.get("harm_steps", 1), "[raise] harm_steps", path, 0, 3),
        death_level=str(rs["death_level"]),
        outcome=outcome,
        path=path,
    )


def load_rules(path: Path | None = None) -> GradingRules:
    """Read and validate a rule table (default: grading.toml beside this module)."""
    path = Path(path) if path is not None else DEFAULT_RULES_FILE
    if path == DEFAULT_RULES_FILE:
        return _default_rules()
    return _read_rules(path)


def _read_rules(path: Path) -> GradingRules:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GradingRulesError(f"cannot read grading rules {path}: {exc}") from exc
    return parse_rules(data, path)


@lru_cache(maxsize=1)
def _default_rules() -> GradingRules:
    return _read_rules(DEFAULT_RULES_FILE)


def likelihood(
    rules: GradingRules, *, risk_score: float, mentions: int, source_type: SourceType | None
) -> tuple[str, str]:
    """The likelihood band and the reason for it."""
    if source_type in rules.likely_sources:
        return "likely", f"source is {source_type}"
    if source_type in rules.possible_sources:
        return "possible", f"source is {source_type}"
    if risk_score >= rules.possible_min_score:
        return "possible", f"risk score {risk_score:.2f} ≥ {rules.possible_min_score:.2f}"
    if mentions >= rules.possible_min_mentions:
        return "possible", f"{mentions} hazard mentions"
    return "unlikely", "a single unconfirmed report"


def grade(
    hazards: Iterable[HazardType],
    *,
    rules: GradingRules | None = None,
    harm: Iterable[HarmKind] = (),
    harm_occurred: bool = False,
    populations: Iterable[Population] = (),
    risk_score: float = 0.0,
    mentions: int = 0,
    source_type: SourceType | None = None,
) -> Grade:
    """Grade one risk by the rule table (hazards empty: graded as `other`)."""
    rules = rules or load_rules()
    harm_kinds = set(harm)
    codes = list(dict.fromkeys(hazards)) or [HazardType.other]
    hospital = HarmKind.hospital in harm_kinds

    def sev(code: HazardType) -> int:
        s = rules.severity[code]
        return s.hospital if hospital and s.hospital is not None else s.base

    worst = max(codes, key=lambda c: (sev(c), -codes.index(c)))
    severity = sev(worst)
    reasons = [f"{worst.value}: severity {severity}" + (" (hospital treatment reported)" if hospital else "")]

    band, why = likelihood(rules, risk_score=risk_score, mentions=mentions, source_type=source_type)
    reasons.append(f"likelihood {band}: {why}")
    step = LADDER.index(rules.matrix[band][severity - 1])
    reasons.append(f"matrix: {LADDER[step]}")

    exposed = sorted(p.value for p in set(populations) & rules.populations)
    if exposed and rules.population_steps:
        step += rules.population_steps
        reasons.append(f"+{rules.population_steps} for vulnerable population ({', '.join(exposed)})")
    if (harm_occurred or harm_kinds) and rules.harm_steps:
        step += rules.harm_steps
        kinds = ", ".join(sorted(h.value for h in harm_kinds)) or "reported"
        reasons.append(f"+{rules.harm_steps} for harm that occurred ({kinds})")
    step = min(step, len(LADDER) - 1)
    if HarmKind.death in harm_kinds:
        step = max(step, LADDER.index(rules.death_level))
        reasons.append(f"death reported: {rules.death_level}")

    risk = LADDER[step]
    level, color = rules.outcome[risk]
    return Grade(risk, level, color, severity, worst, band, tuple(reasons))
