"""The stage contract and registry.

A stage is a small named component: a batch of :class:`Signal` in, the same batch
out (possibly with fields filled in). Stages never call each other; each declares
the Signal fields it reads and writes. A factory registered with :func:`stage`
builds one from a :class:`StageContext` and its options; defaults are declared in
the factory's signature, where it is registered.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from riskmine.schema import RawDocument, Signal
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings
from riskmine.store.base import Store

# What a stage may name in reads and writes: a Signal field, or a field of its document ("document.text").
SIGNAL_FIELDS = frozenset(Signal.model_fields)
DOCUMENT_FIELDS = frozenset(RawDocument.model_fields)
# What every signal holds before the first stage runs (Signal.from_document).
INPUT_FIELDS = frozenset({"id", "document"})


class StageContractError(RiskmineError, ValueError):
    """A stage's declared contract is wrong (a field that does not exist) or was broken (an undeclared write)."""

    code = "stage_contract"
    status = 500


class UnknownStageError(RiskmineError, KeyError):
    """No stage is registered under the name asked for; the message lists the registered ones."""

    code = "unknown_stage"
    status = 400

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class StageOptionsError(RiskmineError, ValueError):
    """An option given to a stage is not one its factory takes."""

    code = "stage_options"
    status = 400


def field_root(name: str) -> str:
    """The Signal field a declared name lives in: ``document.text`` → ``document``."""
    return name.split(".", 1)[0]


def check_field(stage_name: str, name: str) -> None:
    root, _, sub = name.partition(".")
    if root not in SIGNAL_FIELDS:
        raise StageContractError(f"stage {stage_name!r} names {name!r}, which is not a Signal field")
    if sub and (root != "document" or sub not in DOCUMENT_FIELDS):
        raise StageContractError(f"stage {stage_name!r} names {name!r}, which is not a field of {root}")


@dataclass
class StageContext:
    """What a stage may need at construction: the settings and, optionally, the store."""

    settings: Settings
    store: Store | None = None  # None when analysing without storing
    extras: dict[str, Any] = field(default_factory=dict)


class Stage(Protocol):
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]

    def __call__(self, batch: list[Signal]) -> list[Signal]: ...


BatchFn = Callable[[list[Signal]], list[Signal]]
StageFactory = Callable[..., BatchFn]


@dataclass(frozen=True)
class Registration:
    name: str
    factory: StageFactory
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    doc: str


_REGISTRY: dict[str, Registration] = {}


def stage(name: str, *, reads: Sequence[str], writes: Sequence[str]) -> Callable[[StageFactory], StageFactory]:
    """Register a stage factory `factory(ctx: StageContext, **options) -> callable(batch)`.

    The factory's return value may be any callable over a batch; it is wrapped so
    that it carries the stage's name, reads and writes.
    """

    def register(factory: StageFactory) -> StageFactory:
        if name in _REGISTRY and _REGISTRY[name].factory is not factory:
            raise ValueError(f"stage {name!r} is registered twice")
        for declared in (*reads, *writes):
            check_field(name, declared)
        _REGISTRY[name] = Registration(name, factory, tuple(reads), tuple(writes), (factory.__doc__ or "").strip())
        return factory

    return register


@dataclass
class BoundStage:
    name: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    fn: BatchFn

    def __call__(self, batch: list[Signal]) -> list[Signal]:
        return self.fn(batch)


def registered() -> dict[str, Registration]:
    _load_builtin_stages()
    return dict(_REGISTRY)


def build_stage(name: str, ctx: StageContext, options: dict[str, Any] | None = None) -> BoundStage:
    regs = registered()
    if name not in regs:
        raise UnknownStageError(f"unknown stage {name!r}; registered stages: {', '.join(sorted(regs))}")
    reg = regs[name]
    check_options(reg, options or {})
    fn = reg.factory(ctx, **(options or {}))
    return BoundStage(reg.name, reg.reads, reg.writes, fn)


def stage_options(reg: Registration) -> dict[str, inspect.Parameter]:
    """The options a stage's factory takes (its keyword parameters after the context)."""
    params = list(inspect.signature(reg.factory).parameters.values())[1:]
    return {p.name: p for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def check_options(reg: Registration, options: dict[str, Any]) -> None:
    """Refuse options the stage does not take, naming the ones it does."""
    known = stage_options(reg)
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(f"{n} (default {p.default!r})" for n, p in known.items()) or "no options"
        raise StageOptionsError(f"stage {reg.name!r} has no option {', '.join(map(repr, unknown))}; it takes {takes}")


def _load_builtin_stages() -> None:
    # Importing the modules registers their stages.
    import riskmine.nlp.stages  # noqa: F401
