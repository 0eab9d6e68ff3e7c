"""The records that flow through riskmine: RawDocument → Signal → CandidateRisk → Decision."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from riskmine.schema.enums import (
    CandidateStatus,
    DispositionMeasure,
    HarmKind,
    HazardType,
    Population,
    RiskLevel,
    SourceType,
    Tier,
    WarningColor,
)

# Longest text accepted in one document; longer input is rejected with a clear reason.
MAX_TEXT_CHARS = 200_000


def utcnow() -> datetime:
    return datetime.now(UTC)


def stable_id(*parts: str | None, prefix: str = "") -> str:
    """A short, stable hex id from the given parts (None and "" are distinct from text)."""
    h = hashlib.sha1()
    for part in parts:
        h.update(b"\x1f")
        h.update((part if part is not None else "\x00").encode("utf-8"))
    return prefix + h.hexdigest()[:20]


def document_id(source: str, source_id: str | None, url: str | None, text: str) -> str:
    """Stable document id: source + source id, else source + URL, else source + text."""
    if source_id:
        return stable_id(source, "id", source_id, prefix="d")
    if url:
        return stable_id(source, "url", url, prefix="d")
    return stable_id(source, "text", text, prefix="d")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class RawDocument(_Record):
    """One collected text, in the single schema every source is mapped to."""

    id: str = ""
    source: str = Field(min_length=1, description="collector or station name, e.g. 'demo', 'station:jd'")
    source_type: SourceType
    source_id: str | None = None
    url: str | None = None
    title: str | None = None
    text: str = Field(max_length=MAX_TEXT_CHARS)
    published_at: datetime | None = None
    collected_at: datetime = Field(default_factory=utcnow)
    product: str | None = None
    shop: str | None = None
    brand: str | None = None
    enterprise: str | None = None
    price: float | None = None
    rating: float | None = None
    region: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("text is empty")
        return v

    @model_validator(mode="after")
    def _fill_id(self) -> RawDocument:
        if not self.id:
            self.id = document_id(self.source, self.source_id, self.url, self.text)
        return self


class Span(_Record):
    """A character span [start, end) of Signal.normalized_text."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str


class HazardMention(Span):
    hazard: HazardType
    term: str
    in_sense: bool | None = None  # set by the disambiguate stage; None = not judged
    confidence: float | None = None


class EntityMention(_Record):
    """A tagged entity: brand, enterprise, shop, product, standard."""

    kind: str
    name: str
    start: int | None = None
    end: int | None = None
    source: str = "text"  # "text" (found in text) or "meta" (from document hints)


class RegionMention(_Record):
    name: str
    code: str | None = None  # administrative division code
    level: str | None = None  # province / city / county
    province: str | None = None
    city: str | None = None
    source: str = "text"


class Signal(_Record):
    """A processed document: its annotations by the NLP stages and models."""

    id: str
    document: RawDocument
    normalized_text: str = ""
    segmented_text: str = ""  # space-joined tokens (full-text index input)
    content_hash: str | None = None
    duplicate_group: str | None = None  # id of the group's first member
    is_duplicate: bool = False
    noise: list[str] = Field(default_factory=list)  # reasons; empty = clean
    weight: float = 1.0
    product_category: str | None = None
    product_terms: list[str] = Field(default_factory=list)
    hazards: list[HazardMention] = Field(default_factory=list)
    predicted_hazards: list[HazardType] = Field(default_factory=list)  # from the model, no text span
    populations: list[Population] = Field(default_factory=list)
    regions: list[RegionMention] = Field(default_factory=list)
    organisations: list[EntityMention] = Field(default_factory=list)
    standards: list[str] = Field(default_factory=list)
    harm: list[HarmKind] = Field(default_factory=list)
    harm_occurred: bool = False
    is_risk: bool = False
    risk_score: float = 0.0
    risk_level: RiskLevel | None = None
    warning_color: WarningColor | None = None
    evidence: list[Span] = Field(default_factory=list)
    model_versions: dict[str, str] = Field(default_factory=dict)
    processed_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def from_document(cls, doc: RawDocument) -> Signal:
        return cls(id=doc.id, document=doc)

    @property
    def hazard_codes(self) -> list[HazardType]:
        """Distinct hazards mentioned in the text and not ruled out by disambiguation, in order
        of first mention; when the text names none, the model's predicted hazards."""
        seen: dict[HazardType, None] = {}
        for m in self.hazards:
            if m.in_sense is not False and m.end > m.start:
                seen.setdefault(m.hazard, None)
        return list(seen) or list(dict.fromkeys(self.predicted_hazards))

    @property
    def when(self) -> datetime:
        return self.document.published_at or self.document.collected_at


class Evidence(_Record):
    """One signal shown as evidence for a candidate, linking back to its source."""

    signal_id: str
    document_id: str
    source: str
    source_type: SourceType
    url: str | None = None
    title: str | None = None
    snippet: str
    published_at: datetime | None = None
    score: float = 0.0
    duplicates: int = 0  # other members of its duplicate group


class Grade(_Record):
    """A risk level and warning colour: the model's suggestion for a candidate, or an analyst's decision."""

    risk_level: RiskLevel | None = None
    warning_color: WarningColor | None = None


class CandidateRisk(_Record):
    """A cluster of linked signals proposed to analysts."""

    id: str
    key: str  # grouping key, e.g. "充电宝|fire"
    title: str
    product_category: str | None = None
    hazard: HazardType | None = None
    signal_ids: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    signal_count: int = 0
    event_count: int = 0  # distinct duplicate groups
    counts_by_source_type: dict[str, int] = Field(default_factory=dict)
    counts_by_region: dict[str, int] = Field(default_factory=dict)
    places: list[str] = Field(default_factory=list)  # cities and counties its signals name, most named first
    counts_by_week: dict[str, int] = Field(default_factory=dict)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    brands: list[str] = Field(default_factory=list)
    enterprises: list[str] = Field(default_factory=list)
    populations: list[Population] = Field(default_factory=list)
    harm_count: int = 0
    priority: float = 0.0
    factors: dict[str, float] = Field(default_factory=dict)
    tier: Tier = Tier.watch
    # the model's suggestion, recomputed by every refresh; what outputs show is `grade`
    risk_level: RiskLevel | None = None
    warning_color: WarningColor | None = None
    # statistics of the candidate: trend test, disproportionality (PRR), scope tests; each a dict
    # naming its statistic, value, threshold and verdict
    statistics: dict[str, Any] = Field(default_factory=dict)
    scope: list[str] = Field(default_factory=list)  # "industry_wide", "regional", "systemic"
    suggested_measures: list[DispositionMeasure] = Field(default_factory=list)
    # review state, owned by the review workflow and kept when candidates are refreshed
    status: CandidateStatus = CandidateStatus.new
    assignee: str | None = None
    organisation: str | None = None  # organisation responsible for the candidate
    merged_into: str | None = None
    decision_id: str | None = None  # latest decision
    decided: Grade | None = None  # the latest decision's level and colour; set with decision_id by record_decision
    due_at: datetime | None = None  # deadline of the current step (e.g. 24 h for the immediate tier)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def suggested(self) -> Grade:
        """The model's suggested level and colour."""
        return Grade(risk_level=self.risk_level, warning_color=self.warning_color)

    @property
    def grade(self) -> Grade:
        """The level and colour every output shows: the latest decision's once a candidate has one (a
        rejection without them grades nothing), the model's suggestion before."""
        return self.decided if self.decided is not None else self.suggested

    def record_decision(self, decision: Decision) -> None:
        """Make `decision` the candidate's latest: its level and colour become the candidate's grade."""
        self.decision_id = decision.id
        self.decided = Grade(risk_level=decision.risk_level, warning_color=decision.warning_color)


# CandidateRisk fields the review workflow owns: a candidate refresh keeps their stored values.
CANDIDATE_REVIEW_FIELDS = (
    "status",
    "assignee",
    "organisation",
    "merged_into",
    "decision_id",
    "decided",
    "due_at",
    "created_at",
)


class Decision(_Record):
    """An analyst's decision on a candidate risk."""

    id: str = ""
    candidate_id: str
    status: CandidateStatus
    risk_level: RiskLevel | None = None
    warning_color: WarningColor | None = None
    measures: list[DispositionMeasure] = Field(default_factory=list)
    rationale: str = ""
    decided_by: str
    decided_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _fill_id(self) -> Decision:
        if not self.id:
            self.id = stable_id(self.candidate_id, self.decided_by, self.decided_at.isoformat(), prefix="x")
        return self
