"""The alert repository written once, in SQL that SQLite and PostgreSQL both run.

A backend (:mod:`riskmine.review.sqlite_alert_repository`, :mod:`riskmine.review.pg_alert_repository`) supplies its
tables (its migrations), a connection in a transaction per call (``?`` placeholders, rows read by column name) and
how a claim keeps other senders off the deliveries it picks: SQLite takes the file's write lock first, PostgreSQL
locks the rows it selects and skips those another sender holds. Unique keys with ``ON CONFLICT DO NOTHING`` make
enqueueing and fanning out idempotent in both.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from riskmine.review.alert_repository import AlertEvent, Delivery, DeliveryAttempt, Subscription

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT{C} PRIMARY KEY,
    owner_kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_by TEXT NOT NULL,
    events TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    secret TEXT,
    created_at TEXT{C} NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_creator ON subscriptions(created_by);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT{C} PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    candidate_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT{C} NOT NULL,
    fanned_out_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(fanned_out_at, created_at);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox(created_at);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT{C} PRIMARY KEY,
    event_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT{C} NOT NULL,
    created_at TEXT{C} NOT NULL,
    last_error TEXT,
    sent_at TEXT,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX IF NOT EXISTS deliveries_creator ON deliveries(created_by, created_at);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
"""


def schema(*, collate: str) -> str:
    """The tables, for SQLite (``collate`` "") or PostgreSQL (``' COLLATE "C"'``: text that is ordered or compared
    sorts by code point, as SQLite's does, whatever the database's locale)."""
    return _SCHEMA.format(C=collate)


_DELIVERY_COLUMNS = tuple(c for c in Delivery.__dataclass_fields__ if c != "log")
# A claimed delivery is one a sender holds; its lease ending lets another claim it.
_CLAIMABLE = ("pending", "sending")

# A connection of either driver (sqlite3, or psycopg through riskmine.store.postgres), and a row of it.
Connection = Any
Row = Any


def _insert(conn: Connection, table: str, row: dict[str, Any], *, ignore: bool = False) -> bool:
    """Insert the row; with ``ignore``, nothing when it breaks a unique key. True when it was written."""
    suffix = " ON CONFLICT DO NOTHING" if ignore else ""
    cur = conn.execute(
        f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)}){suffix}", list(row.values())
    )
    return bool(cur.rowcount == 1)


def _subscription(r: Row) -> Subscription:
    fields = {k: r[k] for k in Subscription.__dataclass_fields__}
    return Subscription(**{**fields, "events": tuple(json.loads(r["events"]))})


def _event(r: Row) -> AlertEvent:
    return AlertEvent(
        r["id"], r["key"], r["kind"], r["candidate_id"], json.loads(r["payload"]), r["created_at"], r["fanned_out_at"]
    )


def _attempt(r: Row) -> DeliveryAttempt:
    return DeliveryAttempt(r["delivery_id"], r["attempt"], r["at"], bool(r["ok"]), r["status_code"], r["error"])


class SQLAlertRepository:
    """Subscriptions, the outbox and the delivery log, in SQL (a backend subclasses it; implements
    :class:`~riskmine.review.alert_repository.AlertRepository`)."""

    # ends the claim's SELECT (PostgreSQL: lock the rows picked, skip those another sender holds)
    claim_lock = ""

    def _connect(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        raise NotImplementedError

    def _begin_claim(self, db: Connection) -> None:
        """Whatever must precede the claim's SELECT so that no other sender claims the same rows."""
        return None

    def close(self) -> None:
        return None  # no connection is held between calls (or the process's pool holds them)

    # subscriptions

    def add_subscription(self, subscription: Subscription) -> None:
        row = {k: getattr(subscription, k) for k in Subscription.__dataclass_fields__}
        row["events"] = json.dumps(list(subscription.events))
        with self._connect() as c:
            _insert(c, "subscriptions", row)

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        with self._connect() as c:
            r = c.execute("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)).fetchone()
        return _subscription(r) if r else None

    def subscriptions(self, *, created_by: str | None = None, event: str | None = None) -> list[Subscription]:
        where, args = "", []
        if created_by is not None:
            where, args = " WHERE created_by = ?", [created_by]
        with self._connect() as c:
            rows = c.execute("SELECT * FROM subscriptions" + where + " ORDER BY created_at, id", args).fetchall()
        found = [_subscription(r) for r in rows]
        return [s for s in found if event is None or event in s.events]

    def delete_subscription(self, subscription_id: str) -> bool:
        with self._connect() as c:
            return bool(c.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,)).rowcount == 1)

    # the outbox

    def enqueue(self, event: AlertEvent) -> bool:
        row = {k: getattr(event, k) for k in AlertEvent.__dataclass_fields__}
        row["payload"] = json.dumps(event.payload, ensure_ascii=False)
        with self._connect() as c:
            return _insert(c, "outbox", row, ignore=True)

    def unfanned(self, limit: int) -> list[AlertEvent]:
        with self._connect() as c:
            rows = c.execute(
                "SELECT * FROM outbox WHERE fanned_out_at IS NULL ORDER BY created_at, id LIMIT ?", (limit,)
            ).fetchall()
        return [_event(r) for r in rows]

    def mark_fanned_out(self, event_id: str, at: str) -> None:
        with self._connect() as c:
            c.execute("UPDATE outbox SET fanned_out_at = ? WHERE id = ? AND fanned_out_at IS NULL", (at, event_id))

    def events_between(self, start: str, end: str) -> list[AlertEvent]:
        with self._connect() as c:
            rows = c.execute(
                "SELECT * FROM outbox WHERE created_at >= ? AND created_at < ? ORDER BY created_at, id", (start, end)
            ).fetchall()
        return [_event(r) for r in rows]

    # deliveries

    def add_delivery(self, delivery: Delivery) -> bool:
        row = {k: getattr(delivery, k) for k in _DELIVERY_COLUMNS}
        with self._connect() as c:
            return _insert(c, "deliveries", row, ignore=True)

    def claim_due(self, now: str, lease_until: str, limit: int) -> list[Delivery]:
        with self._connect() as c:
            self._begin_claim(c)  # the select and the claim are one step for every process
            rows = c.execute(
                "SELECT * FROM deliveries WHERE status IN (?, ?) AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?" + self.claim_lock,
                (*_CLAIMABLE, now, limit),
            ).fetchall()
            if rows:
                c.execute(
                    "UPDATE deliveries SET status = 'sending', next_attempt_at = ?"
                    f" WHERE id IN ({', '.join('?' for _ in rows)})",
                    [lease_until, *(r["id"] for r in rows)],
                )
        return [Delivery(**{k: r[k] for k in _DELIVERY_COLUMNS}) for r in rows]

    def record_attempt(self, attempt: DeliveryAttempt, *, status: str, next_attempt_at: str | None) -> None:
        with self._connect() as c:
            _insert(
                c,
                "delivery_attempts",
                {
                    "delivery_id": attempt.delivery_id,
                    "attempt": attempt.attempt,
                    "at": attempt.at,
                    "ok": int(attempt.ok),
                    "status_code": attempt.status_code,
                    "error": attempt.error,
                },
            )
            c.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, last_error = ?,"
                " next_attempt_at = COALESCE(?, next_attempt_at), sent_at = CASE WHEN ? = 1 THEN ? ELSE sent_at END"
                " WHERE id = ?",
                (
                    status,
                    attempt.attempt,
                    attempt.error,
                    next_attempt_at,
                    int(attempt.ok),
                    attempt.at,
                    attempt.delivery_id,
                ),
            )

    def _with_log(self, c: Connection, rows: list[Row]) -> list[Delivery]:
        out = []
        for r in rows:
            log = c.execute(
                "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt", (r["id"],)
            ).fetchall()
            out.append(Delivery(**{k: r[k] for k in _DELIVERY_COLUMNS}, log=[_attempt(a) for a in log]))
        return out

    def deliveries(
        self, *, created_by: str | None = None, status: str | None = None, limit: int, offset: int
    ) -> tuple[list[Delivery], int]:
        given = {k: v for k, v in (("created_by", created_by), ("status", status)) if v is not None}
        clause = (" WHERE " + " AND ".join(f"{k} = ?" for k in given)) if given else ""
        args: list[Any] = list(given.values())
        with self._connect() as c:
            total = int(c.execute("SELECT COUNT(*) AS n FROM deliveries" + clause, args).fetchone()["n"])
            rows = c.execute(
                "SELECT * FROM deliveries" + clause + " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
            return self._with_log(c, rows), total

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with self._connect() as c:
            r = c.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            return self._with_log(c, [r])[0] if r else None
