"""Which signals, documents and station batches a user sees: the candidates' organisation scope, by source.

The rule is the candidates' (riskmine.review.orgs, ``Scope.allows``), applied to the one thing a document, its
signal and a station batch carry of an organisation, their source: a record is seen when a candidate built from
it alone would be. So the assessment centre and admins see everything; a station sees its own submissions
(``station:<name>``) only; a user of an organisation in the tree sees the submissions of the stations of its
subtree, and a province (a root of the tree) also what no station of the tree submitted (crawled data, stations
the tree does not know). The API and the console put :meth:`SourceScope.sources` into the store query, so totals
and paging count only what the user sees, and answer a record outside the scope as not found.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from riskmine.review import orgs
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Actor
from riskmine.schema.enums import station_source
from riskmine.store.base import Collection, Store


@dataclass(frozen=True)
class SourceScope:
    """A user's organisation scope over record sources."""

    scope: orgs.Scope
    known: frozenset[str]  # the organisations of the tree (see orgs.Scope.allows)

    @property
    def everything(self) -> bool:
        return self.scope.everything

    def sees(self, source: str | None) -> bool:
        """Whether a record with this source (a document, its signal) is in the scope."""
        return self.everything or (source is not None and self.scope.allows(None, [source], self.known))

    def sees_station(self, station: str) -> bool:
        """Whether the station's batches and submissions are in the scope."""
        return self.sees(station_source(station))

    def sources(self, stored: Iterable[str]) -> list[str] | None:
        """The sources among `stored` the user sees, for a store filter on ``source``; None when the scope is
        everything (no filter). An empty list matches nothing."""
        if self.everything:
            return None
        return sorted(s for s in set(stored) if self.sees(s))


def source_scope(db: ReviewRepository, actor: Actor | None) -> SourceScope:
    """The actor's scope over sources (None, nobody logged in, sees nothing)."""
    scope = orgs.scope_for(db, actor)
    return SourceScope(scope, frozenset() if scope.everything else orgs.known_orgs(db))


def visible_sources(store: Store, db: ReviewRepository, actor: Actor | None) -> list[str] | None:
    """The sources of stored documents the actor sees (None: all of them), for a store filter on ``source``."""
    scoped = source_scope(db, actor)
    if scoped.everything:
        return None
    stored = (b.key for b in store.aggregate(Collection.documents, "source", size=orgs.MAX_KNOWN))
    return scoped.sources(k for k in stored if isinstance(k, str))
