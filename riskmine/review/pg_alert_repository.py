"""Subscriptions, the alert outbox and the delivery log in a shared PostgreSQL database (``RISKMINE_DATABASE_URL``),
for several API nodes and senders.

The same tables and queries as the SQLite file (:mod:`riskmine.review.sql_alert_repository`). A claim locks the due
rows it picks (``SELECT ... FOR UPDATE SKIP LOCKED``) and marks them in the same transaction, so senders on any node
never share a delivery and never wait on each other's rows. Text that is ordered or compared is ``COLLATE "C"``
(code-point order, as SQLite sorts).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from riskmine.review.sql_alert_repository import SQLAlertRepository, schema
from riskmine.store.postgres import PostgresDatabase, QmarkConnection

# Append only: each entry upgrades the component by one schema version.
MIGRATIONS = [schema(collate=' COLLATE "C"')]


class PgAlertRepository(SQLAlertRepository):
    """The alert tables in PostgreSQL (implements :class:`~riskmine.review.alert_repository.AlertRepository`)."""

    claim_lock = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.db = PostgresDatabase(url, "alerts", MIGRATIONS, pool_size=pool_size)

    def _connect(self) -> AbstractContextManager[QmarkConnection]:
        return self.db.connect()
