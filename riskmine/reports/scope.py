"""Which candidates and signals an organisation's report covers (one place, so roles and reports agree).

An organisation's report covers the candidates an organisation of its subtree is responsible for
(``CandidateRisk.organisation``), the candidates holding signals that a station of its subtree
submitted (source ``station:<name>``), and, where asked, the candidates no organisation has taken
on yet. The subtree comes from the organisation tree (``riskmine.review.orgs``) when it offers one;
until then an organisation's subtree is the organisation itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from riskmine.schema import CandidateRisk, Signal

STATION_SOURCE_PREFIX = "station:"


def _tree_subtree() -> Callable[[str], Iterable[str]] | None:
    """The organisation tree's subtree function, when riskmine.review.orgs provides one."""
    try:
        module = importlib.import_module("riskmine.review.orgs")
    except ImportError:
        return None
    for name in ("subtree_names", "subtree"):
        func = getattr(module, name, None)
        if callable(func):
            return func
    return None


def organisation_subtree(name: str, resolver: Callable[[str], Iterable[Any]] | None = None) -> frozenset[str]:
    """The names of the organisation and every organisation below it.

    `resolver` maps a name to the names (or objects with a ``name``) of its subtree; by default the
    organisation tree's, where it exists and knows the name, else just the organisation itself.
    """
    resolve = resolver or _tree_subtree()
    names = {name}
    if resolve is not None:
        try:
            found = resolve(name)
        except (KeyError, LookupError, TypeError, ValueError):
            found = ()
        for item in found or ():
            item_name = item if isinstance(item, str) else getattr(item, "name", None)
            if item_name:
                names.add(str(item_name))
    return frozenset(names)


@dataclass(frozen=True)
class ReportScope:
    """The organisations a report speaks for; `members` None means every organisation."""

    organisation: str | None
    members: frozenset[str] | None
    include_unassigned: bool = True

    @property
    def station_sources(self) -> frozenset[str]:
        return frozenset(STATION_SOURCE_PREFIX + m for m in self.members or ())

    def covers_candidate(self, candidate: CandidateRisk, signals: Iterable[Signal] = ()) -> bool:
        """Whether the report covers the candidate (given the member signals that are being reported)."""
        if self.members is None:
            return True
        if candidate.organisation is not None and candidate.organisation in self.members:
            return True
        sources = self.station_sources
        if any(s.document.source in sources for s in signals):
            return True
        return candidate.organisation is None and self.include_unassigned

    def covers_signal(self, signal: Signal, candidate: CandidateRisk | None) -> bool:
        """Whether a signal counts in the report: its station is in scope, or it belongs to a covered candidate."""
        if self.members is None or signal.document.source in self.station_sources:
            return True
        return candidate is not None and self.covers_candidate(candidate)


def report_scope(
    organisation: str | None,
    *,
    include_unassigned: bool = True,
    resolver: Callable[[str], Iterable[Any]] | None = None,
) -> ReportScope:
    """The scope of a report for `organisation` (None: everything, e.g. the assessment centre's own overview)."""
    if organisation is None or not organisation.strip():
        return ReportScope(None, None, True)
    name = organisation.strip()
    return ReportScope(name, organisation_subtree(name, resolver), include_unassigned)
