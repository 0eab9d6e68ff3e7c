"""The NLP pipeline: stages wired in the order the configuration lists them."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmine.nlp.base import BoundStage, StageContext, build_stage
from riskmine.schema import RawDocument, Signal


class PipelineConfigError(ValueError):
    code = "pipeline_config"


@dataclass(frozen=True)
class StageSpec:
    name: str
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)


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
        specs.append(StageSpec(str(entry["name"]), bool(entry.get("enabled", True)), dict(entry.get("options", {}))))
    if not specs:
        raise PipelineConfigError(f"{path}: no [[stage]] entries")
    return specs


@dataclass
class Pipeline:
    stages: list[BoundStage]
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_specs(cls, specs: Sequence[StageSpec], ctx: StageContext, disabled: Iterable[str] = ()) -> Pipeline:
        off = set(disabled)
        return cls([build_stage(s.name, ctx, s.options) for s in specs if s.enabled and s.name not in off])

    @classmethod
    def from_settings(cls, settings: Any, store: Any = None, **extras: Any) -> Pipeline:
        ctx = StageContext(settings=settings, store=store, extras=dict(extras))
        return cls.from_specs(load_config(settings.pipeline_file), ctx, settings.disabled)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def run(self, batch: list[Signal]) -> list[Signal]:
        for st in self.stages:
            t0 = time.perf_counter()
            batch = st(batch)
            self.timings[st.name] = self.timings.get(st.name, 0.0) + time.perf_counter() - t0
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
