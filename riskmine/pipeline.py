"""The NLP pipeline: stages wired in the order the configuration lists them."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from riskmine.nlp.base import (
    INPUT_FIELDS,
    BoundStage,
    StageContext,
    StageContractError,
    StageOptionsError,
    UnknownStageError,
    build_stage,
    field_root,
)
from riskmine.schema import RawDocument, Signal
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings
from riskmine.store.base import Store


class PipelineConfigError(RiskmineError, ValueError):
    code = "pipeline_config"
    status = 400


@dataclass(frozen=True)
class StageSpec:
    name: str
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # the configuration file that named the stage (for messages)


@dataclass
class PipelineAnalysis:
    """What each stage reads and writes, in order, and the reads no earlier stage (nor the input) provides."""

    stages: list[dict[str, Any]]
    problems: list[str]


def load_config(path: Path) -> list[StageSpec]:
    """Read the stage list from a TOML file of `[[stage]]` tables."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PipelineConfigError(f"cannot read pipeline configuration {path}: {exc}") from exc
    specs = []
    for i, entry in enumerate(data.get("stage", []), start=1):
        if not isinstance(entry, dict) or "name" not in entry:
            raise PipelineConfigError(f"{path}: stage #{i} has no name")
        unknown = set(entry) - {"name", "enabled", "options"}
        if unknown:
            raise PipelineConfigError(f"{path}: stage {entry['name']!r} has unknown keys {sorted(unknown)}")
        options = entry.get("options", {})
        if not isinstance(options, dict):
            raise PipelineConfigError(f"{path}: stage {entry['name']!r}: options must be a table, got {options!r}")
        specs.append(StageSpec(str(entry["name"]), bool(entry.get("enabled", True)), dict(options), str(path)))
    if not specs:
        raise PipelineConfigError(f"{path}: no [[stage]] entries")
    return specs


class _Declared(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def reads(self) -> tuple[str, ...]: ...
    @property
    def writes(self) -> tuple[str, ...]: ...


def analyze_stages(stages: Sequence[_Declared]) -> PipelineAnalysis:
    """The contracts of stages in this order (built ones, or registrations): reads nothing before provides."""
    written = set(INPUT_FIELDS)
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for st in stages:
        unmet = [r for r in st.reads if field_root(r) not in written]
        problems.extend(f"stage {st.name!r} reads {r!r}, which no earlier stage writes" for r in unmet)
        rows.append({"name": st.name, "reads": list(st.reads), "writes": list(st.writes), "unmet": unmet})
        written |= {field_root(w) for w in st.writes}
    return PipelineAnalysis(rows, problems)


def _build(spec: StageSpec, ctx: StageContext) -> BoundStage:
    where = f"{spec.origin}: " if spec.origin else ""
    try:
        return build_stage(spec.name, ctx, spec.options)
    except (UnknownStageError, StageOptionsError, StageContractError) as exc:
        raise PipelineConfigError(f"{where}{exc}") from None


@dataclass
class Pipeline:
    """Stages run in order over each batch. ``check_contracts`` also checks, after every stage, that it wrote
    no field it did not declare (a test and debugging aid: it copies every signal before each stage)."""

    stages: list[BoundStage]
    timings: dict[str, float] = field(default_factory=dict)
    check_contracts: bool = False

    @classmethod
    def from_specs(cls, specs: Sequence[StageSpec], ctx: StageContext, disabled: Iterable[str] = ()) -> Pipeline:
        off = set(disabled)
        return cls([_build(s, ctx) for s in specs if s.enabled and s.name not in off])

    def analyze(self) -> PipelineAnalysis:
        """Check the declared contracts in order: every read is an input field or written by an earlier stage."""
        return analyze_stages(self.stages)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None, **extras: Any) -> Pipeline:
        ctx = StageContext(settings=settings, store=store, extras=dict(extras))
        return cls.from_specs(load_config(settings.pipeline_file), ctx, settings.disabled)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def run(self, batch: list[Signal]) -> list[Signal]:
        for st in self.stages:
            before = [s.model_dump() for s in batch] if self.check_contracts else None
            t0 = time.perf_counter()
            batch = st(batch)
            self.timings[st.name] = self.timings.get(st.name, 0.0) + time.perf_counter() - t0
            if before is not None:
                _check_writes(st, before, batch)
        return batch

    def process(self, docs: Sequence[RawDocument]) -> list[Signal]:
        return self.run([Signal.from_document(d) for d in docs])

    def process_stream(self, docs: Iterable[RawDocument], batch_size: int = 256) -> Iterator[list[Signal]]:
        batch: list[RawDocument] = []
        for d in docs:
            batch.append(d)
            if len(batch) >= batch_size:
                yield self.process(batch)
                batch = []
        if batch:
            yield self.process(batch)


def _check_writes(st: BoundStage, before: list[dict[str, Any]], batch: list[Signal]) -> None:
    declared = {field_root(w) for w in st.writes}
    if len(batch) != len(before):
        raise StageContractError(f"stage {st.name!r} returned {len(batch)} signals for a batch of {len(before)}")
    for sig, old in zip(batch, before, strict=True):
        new = sig.model_dump()
        changed = sorted(k for k in new if new[k] != old.get(k) and k not in declared)
        if changed:
            raise StageContractError(
                f"stage {st.name!r} wrote {', '.join(changed)} of signal {sig.id!r} without declaring it "
                f"(it declares {', '.join(st.writes) or 'no writes'})"
            )
