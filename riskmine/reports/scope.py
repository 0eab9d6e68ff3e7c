"""Which candidates and signals an organisation's report covers (one place, so roles and reports agree).

An organisation's report covers the candidates an organisation of its subtree is responsible for
(``CandidateRisk.organisation``), the candidates holding signals that a station of its subtree
submitted (source ``station:<name>``), and, where asked, the candidates no organisation has taken
on yet. The subtree comes from the organisation tree (``riskmine.review.orgs``), passed in as a resolver by
the callers above the review layer; without one an organisation's subtree is the organisation itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from riskmine.schema import CandidateRisk, Signal
from riskmine.schema.enums import STATION_SOURCE_PREFIX


def organisation_subtree(name: str, resolver: Callable[[str], Iterable[Any]] | None = None) -> frozenset[str]:
    """The names of the organisation and every organisation below it.

    `resolver` maps a name to the names (or objects with a ``name``) of its subtree: the organisation tree's,
    which the callers above the review layer pass in (the API, the report command); without one, or for a name
    the tree does not know, the subtree is the organisation itself.
    """
    names = {name}
    if resolver is not None:
        for item in resolver(name) or ():
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

    def holds_signal(self, signal: Signal, candidate: CandidateRisk | None) -> bool:
        """Whether a signal is the scope's own data, which its forms may count: a station's submission
        (source ``station:<name>``) belongs to that station's subtree only; any other signal to the
        organisation responsible for its candidate, or, for a candidate no organisation has taken on,
        to every scope that includes unassigned candidates."""
        if self.members is None:
            return True
        source = signal.document.source
        if source.startswith(STATION_SOURCE_PREFIX):
            return source in self.station_sources
        if candidate is None:
            return False
        if candidate.organisation is not None:
            return candidate.organisation in self.members
        return self.include_unassigned


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
