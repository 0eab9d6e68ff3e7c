"""The stage contract and registry.

A stage is a small named component: a batch of :class:`Signal` in, the same batch
out (possibly with fields filled in). Stages never call each other; each declares
the Signal fields it reads and writes. A factory registered with :func:`stage`
builds one from a :class:`StageContext` and its options; defaults are declared in
the factory's signature, where it is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from riskmine.schema import Signal


@dataclass
class StageContext:
    """What a stage may need at construction: settings and, optionally, the store."""

    settings: Any = None
    store: Any = None  # riskmine.store.base.Store | None (None when analysing without storing)
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
        raise KeyError(f"unknown stage {name!r}; registered stages: {', '.join(sorted(regs))}")
    reg = regs[name]
    fn = reg.factory(ctx, **(options or {}))
    return BoundStage(reg.name, reg.reads, reg.writes, fn)


def _load_builtin_stages() -> None:
    # Importing the modules registers their stages.
    import riskmine.nlp.stages  # noqa: F401
