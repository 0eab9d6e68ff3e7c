"""The records of the review state: organisations, comments, objections, advisories and audit events.

They are plain frozen dataclasses with ISO-8601 UTC timestamps as text, so every repository backend
(:mod:`riskmine.review.repository`) stores and returns the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from riskmine.review.roles import Role


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """An aware datetime as ISO-8601 in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class OrgLevel(StrEnum):
    province = "province"
    city = "city"
    county = "county"
    station = "station"


@dataclass(frozen=True)
class Org:
    name: str
    level: OrgLevel
    parent: str | None
    created_at: str

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level.value, "parent": self.parent, "created_at": self.created_at}


@dataclass(frozen=True)
class Comment:
    id: str
    candidate_id: str
    author: str
    text: str
    created_at: str

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Objection:
    """A producer's or seller's objection to a decision (Sichuan 第二十一条), tracked to an answer."""

    id: str
    candidate_id: str
    decision_id: str
    objector: str
    objector_kind: str
    text: str
    received_at: str
    deadline: str
    recorded_by: str
    status: str  # open | answered
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    # when the objector received the result, which starts the 15 days; None: not recorded (then from the decision)
    result_received_at: str | None = None

    @property
    def deadline_basis(self) -> str:
        """What the deadline was counted from: ``result_received`` (the day recorded) or ``decision`` (unknown)."""
        return "decision" if self.result_received_at is None else "result_received"

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Advisory:
    id: str
    candidate_id: str
    kind: str
    title: str
    body: str
    status: str  # draft | published
    organisation: str | None
    drafted_by: str
    drafted_at: str
    approved_by: str | None
    published_at: str | None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


def to_json(value: Any) -> str | None:
    """A before/after value of the audit log as JSON text (pydantic models dumped in JSON mode)."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class AuditFields:
    """Who did what to which target, and when (ISO-8601 UTC text)."""

    at: str
    actor: str
    actor_role: str | None
    action: str
    target_kind: str
    target_id: str | None


@dataclass(frozen=True)
class AuditEntry(AuditFields):
    """One event to append to the audit log (before and after already as JSON text)."""

    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class AuditEvent(AuditFields):
    """One recorded change or export, as read back (``seq`` orders the log)."""

    seq: int = 0
    before: Any = None
    after: Any = None

    def public(self) -> dict[str, Any]:
        return {"seq": self.seq} | {k: v for k, v in self.__dict__.items() if k != "seq"}


@dataclass(frozen=True)
class AuditQuery:
    """Which audit events to read: every given field must match; ``since``/``until`` bound ``at`` (ISO text)."""

    actor: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class User:
    """An authenticated principal. `via` says how it authenticated: password, token, cookie or api_key."""

    id: str
    username: str
    role: Role
    organisation: str | None = None
    via: str = "password"
    api_key_id: str | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "role": self.role.value,
            "organisation": self.organisation,
            "via": self.via,
        }


@dataclass(frozen=True)
class ApiKey:
    id: str
    user_id: str
    name: str
    created_at: str
    revoked: bool
    last_used_at: str | None


@dataclass(frozen=True)
class LoginThrottle:
    """The failed logins counted against one account or one client (``key``: ``account:<name>`` or
    ``client:<address>``): how many since the count was last reset, the last one, and until when further
    attempts are refused (ISO-8601 UTC text; None when not locked). The rules are in riskmine.review.login_guard."""

    key: str
    failures: int
    last_failure_at: str
    locked_until: str | None = None
