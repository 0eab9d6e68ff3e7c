"""Where alerts live: subscriptions, the outbox of alert events and the delivery log, behind the
:class:`AlertRepository` protocol, and the one place that opens it.

The rules (which events, who is responsible, who may subscribe what) are in :mod:`riskmine.review.alerts`;
sending (SMTP, signed webhooks, retries, the daily digest) in :mod:`riskmine.review.alert_delivery`. A
repository only stores and finds, and makes three steps safe for several processes at once: an event is
enqueued once per key, a delivery is made once per (subscription, event), and a due delivery is claimed by one
sender at a time (a lease: a sender that dies lets it fall due again).

The embedded backend is :class:`~riskmine.review.sqlite_alert_repository.SQLiteAlertRepository`
(``<var_dir>/alerts.sqlite3``); the shared one for several API nodes,
:class:`~riskmine.review.pg_alert_repository.PgAlertRepository` (``RISKMINE_DATABASE_URL``), passes the same
contract suite (``tests/review/alert_repository_contract.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from riskmine.settings import Settings

ALERTS_FILE = "alerts.sqlite3"


@dataclass(frozen=True)
class Subscription:
    """Who is told of which events, how and where. ``owner_kind`` "user" (``owner``: the user's id) or "org"
    (``owner``: an organisation's name); ``channel`` "email", "webhook" or "digest" (one e-mail a day);
    ``target`` the e-mail address or the webhook URL; ``secret`` signs a webhook's bodies."""

    id: str
    owner_kind: str
    owner: str
    created_by: str  # the id of the user who made it (it is theirs to list and delete)
    events: tuple[str, ...]
    channel: str
    target: str
    secret: str | None
    created_at: str

    def public(self) -> dict[str, Any]:
        """The subscription as shown: the secret never is."""
        out = asdict(self)
        out["events"] = list(self.events)
        del out["secret"]
        return out


@dataclass(frozen=True)
class AlertEvent:
    """One thing to tell people about, written to the outbox where it happened. ``key`` is unique: an event
    enqueued twice (a second refresh, a second scan) is the same event and alerts once."""

    id: str
    key: str
    kind: str
    candidate_id: str | None
    payload: dict[str, Any]
    created_at: str
    fanned_out_at: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One message to one subscription: an event's, or a day's digest (``event_id`` "digest:<day>")."""

    id: str
    event_id: str
    subscription_id: str
    created_by: str
    channel: str
    target: str
    subject: str
    body: str
    status: str  # pending | sending | sent | failed
    attempts: int
    next_attempt_at: str
    created_at: str
    last_error: str | None = None
    sent_at: str | None = None
    log: list[DeliveryAttempt] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("body", "log")}
        out["log"] = [a.public() for a in self.log]
        return out


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try at a delivery: when, whether it went through, the HTTP status (webhooks) and the error."""

    delivery_id: str
    attempt: int
    at: str
    ok: bool
    status_code: int | None
    error: str | None

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "delivery_id"}


class AlertRepository(Protocol):
    """Subscriptions, the outbox and the delivery log."""

    # subscriptions

    def add_subscription(self, subscription: Subscription) -> None: ...

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def subscriptions(self, *, created_by: str | None = None, event: str | None = None) -> list[Subscription]:
        """Matching subscriptions (by creator; taking this event kind), oldest first."""
        ...

    def delete_subscription(self, subscription_id: str) -> bool:
        """False when there is no such subscription; its delivery log is kept."""
        ...

    # the outbox

    def enqueue(self, event: AlertEvent) -> bool:
        """Add the event unless one with its key is there already (False: nothing written)."""
        ...

    def unfanned(self, limit: int) -> list[AlertEvent]:
        """Events not yet turned into deliveries, oldest first."""
        ...

    def mark_fanned_out(self, event_id: str, at: str) -> None: ...

    def events_between(self, start: str, end: str) -> list[AlertEvent]:
        """Events created in [start, end), oldest first (the daily digest)."""
        ...

    # deliveries

    def add_delivery(self, delivery: Delivery) -> bool:
        """Add the delivery unless this subscription has one for this event already (False: nothing written)."""
        ...

    def claim_due(self, now: str, lease_until: str, limit: int) -> list[Delivery]:
        """Deliveries pending (or whose sender's lease ran out) and due by ``now``, claimed for one sender until
        ``lease_until``: no other claim returns them meanwhile."""
        ...

    def record_attempt(self, attempt: DeliveryAttempt, *, status: str, next_attempt_at: str | None) -> None:
        """Log the attempt and set the delivery's status (and, while it is retried, when it is due again)."""
        ...

    def deliveries(
        self, *, created_by: str | None = None, status: str | None = None, limit: int, offset: int
    ) -> tuple[list[Delivery], int]:
        """Matching deliveries with their attempt logs, newest first, one page and how many match in all."""
        ...

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    def close(self) -> None: ...


def alert_repository_at(var_dir: Path) -> AlertRepository:
    """The embedded alert repository of a var dir (the review workflow knows its var dir, not the settings)."""
    from riskmine.review.sqlite_alert_repository import SQLiteAlertRepository

    return SQLiteAlertRepository(Path(var_dir) / ALERTS_FILE)


def alert_outbox_of(review: Any) -> AlertRepository:
    """The alert repository beside a review repository (the workflow knows that, not the settings): the same
    PostgreSQL database when the review state lives in one, else the SQLite file of its var dir."""
    url = getattr(review, "database_url", None)
    if url:
        from riskmine.review.pg_alert_repository import PgAlertRepository

        return PgAlertRepository(str(url), pool_size=int(getattr(review, "pool_size", 10)))
    return alert_repository_at(Path(review.var_dir))


def open_alert_repository(settings: Settings) -> AlertRepository:
    """The alert repository the settings name: PostgreSQL when RISKMINE_DATABASE_URL is set, else a SQLite file."""
    if settings.database_url:
        from riskmine.review.pg_alert_repository import PgAlertRepository

        return PgAlertRepository(settings.database_url, pool_size=settings.database_pool_size)
    return alert_repository_at(Path(settings.var_dir))
