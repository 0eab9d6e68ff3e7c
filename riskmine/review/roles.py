"""The roles, and which roles may do what: the one place they are defined (the API's checks use these sets).

* admin: everything;
* analyst: reviews, assigns, comments, decides, merges and splits candidates, drafts advisories, records objections;
* publisher: approves (publishes) advisories; reads like an analyst;
* station: sees its own organisation's submissions and their outcomes;
* viewer: reads candidates and decisions of its organisation's subtree;
* api_consumer: published advisories only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from riskmine.schema.enums import station_source


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    publisher = "publisher"
    station = "station"
    viewer = "viewer"
    api_consumer = "api_consumer"  # published information only


ADMIN, ANALYST, PUBLISHER = Role.admin, Role.analyst, Role.publisher
STATION, VIEWER, API_CONSUMER = Role.station, Role.viewer, Role.api_consumer

ALL_ROLES = frozenset(Role)
# Submit documents and station uploads.
WRITER_ROLES = frozenset({ADMIN, ANALYST, STATION})
# Read signals, candidates and documents; an api_consumer reads published advisories only.
READER_ROLES = ALL_ROLES - {API_CONSUMER}
# Decide, assign, transition, merge, split, comment, draft advisories, record and answer objections.
REVIEWER_ROLES = frozenset({ADMIN, ANALYST})
# Approve an advisory for publication (Sichuan 第七条: nothing is published without approval).
PUBLISHER_ROLES = frozenset({ADMIN, PUBLISHER})
# Read candidates, decisions, comments, objections and the overdue list (within their scope).
REVIEW_READER_ROLES = frozenset({ADMIN, ANALYST, PUBLISHER, STATION, VIEWER})
# Staff of the regulator: they read internal bulletins.
INTERNAL_ROLES = frozenset({ADMIN, ANALYST, PUBLISHER, VIEWER})
# Read the audit log.
AUDIT_ROLES = frozenset({ADMIN})
# Export decisions as labels for the models.
FEEDBACK_ROLES = frozenset({ADMIN, ANALYST})


def role_name(role: object) -> str:
    """The role's name whether it is a str enum or a plain string."""
    value = getattr(role, "value", role)
    return str(value)


def may_write(role: object) -> bool:
    """Whether the role may submit documents and station batches, by password, token or API key alike
    (a key carries its owner's role)."""
    return role_name(role) in WRITER_ROLES


def submission_source(actor: Actor, requested: str | None = None) -> tuple[str, bool]:
    """The source of the documents an actor submits, and whether it is fixed.

    A station's documents always come from the station itself, ``station:<organisation or username>``: the
    server sets it from the station's identity and replaces any source named in the request or in the rows
    (fixed), so that no station writes as another. An analyst or admin names the sources (that is their job):
    ``requested``, else ``api:<username>``, is only the default for rows that name none.
    """
    if role_name(actor.role) == STATION:
        return station_source(actor.organisation or actor.username), True
    return requested or f"api:{actor.username}", False


class Actor(Protocol):
    """Who does a review action: riskmine.review.users.User fits, so does :class:`SystemActor`."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> Any: ...

    @property
    def organisation(self) -> str | None: ...


@dataclass(frozen=True)
class SystemActor:
    """An actor outside the API, e.g. the command line (recorded in the audit log under its name)."""

    username: str
    role: str = ADMIN
    organisation: str | None = None
