"""The backend-independent contract of riskmine.review.alert_repository.AlertRepository.

A backend's tests subclass :class:`AlertRepositoryContract` and supply a ``make_repo`` fixture: a callable that
opens a new handle on the same, initially empty storage (calling it again reopens what was written).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from riskmine.review.alert_repository import AlertEvent, AlertRepository, Delivery, DeliveryAttempt, Subscription

T0 = "2026-05-01T08:00:00.000000+00:00"
T1 = "2026-05-01T09:00:00.000000+00:00"
T2 = "2026-05-01T10:00:00.000000+00:00"


def subscription(sid: str, created_by: str = "u1", events: tuple[str, ...] = ("objection",)) -> Subscription:
    return Subscription(sid, "user", created_by, created_by, events, "webhook", "https://hooks.example.cn/a", "k", T0)


def event(eid: str, key: str, created_at: str = T0) -> AlertEvent:
    return AlertEvent(eid, key, "objection", "c1", {"title": "充电宝起火", "n": 1}, created_at)


def delivery(did: str, sid: str = "s1", eid: str = "e1", due: str = T0, created_by: str = "u1") -> Delivery:
    return Delivery(
        did, eid, sid, created_by, "webhook", "https://hooks.example.cn/a", "主题", "{}", "pending", 0, due, T0
    )


class AlertRepositoryContract:
    @pytest.fixture
    def repo(self, make_repo: Callable[[], AlertRepository]) -> AlertRepository:
        return make_repo()

    def test_subscriptions_round_trip_filter_and_delete(
        self, repo: AlertRepository, make_repo: Callable[[], AlertRepository]
    ) -> None:
        repo.add_subscription(subscription("s1"))
        repo.add_subscription(subscription("s2", "u2", ("immediate_tier", "deadline_near")))
        again = make_repo()
        assert again.get_subscription("s1") == subscription("s1")
        assert [s.id for s in again.subscriptions()] == ["s1", "s2"]
        assert [s.id for s in again.subscriptions(created_by="u2")] == ["s2"]
        assert [s.id for s in again.subscriptions(event="deadline_near")] == ["s2"]
        assert "secret" not in again.subscriptions()[0].public()
        assert again.delete_subscription("s1") is True
        assert again.delete_subscription("s1") is False
        assert again.get_subscription("s1") is None

    def test_an_event_is_enqueued_once_per_key(self, repo: AlertRepository) -> None:
        assert repo.enqueue(event("e1", "objection:o1")) is True
        assert repo.enqueue(event("e2", "objection:o1")) is False
        assert [e.id for e in repo.unfanned(10)] == ["e1"]
        assert repo.unfanned(10)[0].payload == {"title": "充电宝起火", "n": 1}
        repo.mark_fanned_out("e1", T1)
        assert repo.unfanned(10) == []

    def test_events_between_is_half_open(self, repo: AlertRepository) -> None:
        repo.enqueue(event("e0", "k0", T0))
        repo.enqueue(event("e1", "k1", T1))
        repo.enqueue(event("e2", "k2", T2))
        assert [e.id for e in repo.events_between(T0, T2)] == ["e0", "e1"]

    def test_a_delivery_is_made_once_per_subscription_and_event(self, repo: AlertRepository) -> None:
        assert repo.add_delivery(delivery("d1")) is True
        assert repo.add_delivery(delivery("d2")) is False
        assert repo.add_delivery(delivery("d3", sid="s2")) is True

    def test_claim_takes_due_deliveries_once_until_the_lease_ends(self, repo: AlertRepository) -> None:
        repo.add_delivery(delivery("d1", due=T0))
        repo.add_delivery(delivery("d2", eid="e2", due=T2))
        claimed = repo.claim_due(T1, T2, 10)
        assert [d.id for d in claimed] == ["d1"]
        assert repo.claim_due(T1, T2, 10) == []  # held under the lease
        # the sender died: once the lease is over the delivery is due again (with d2, due by then)
        assert sorted(d.id for d in repo.claim_due(T2, "2026-05-01T11:00:00.000000+00:00", 10)) == ["d1", "d2"]

    def test_concurrent_claims_never_share_a_delivery(
        self, repo: AlertRepository, make_repo: Callable[[], AlertRepository]
    ) -> None:
        for n in range(40):
            repo.add_delivery(delivery(f"d{n:02}", eid=f"e{n}"))
        got: list[str] = []
        lock = threading.Lock()

        def claim() -> None:
            mine = make_repo()
            while batch := mine.claim_due(T1, T2, 3):
                with lock:
                    got.extend(d.id for d in batch)

        threads = [threading.Thread(target=claim) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(got) == [f"d{n:02}" for n in range(40)]

    def test_attempts_are_logged_and_set_the_status(self, repo: AlertRepository) -> None:
        repo.add_delivery(delivery("d1"))
        repo.claim_due(T0, T1, 10)
        repo.record_attempt(DeliveryAttempt("d1", 1, T0, False, 500, "HTTP 500"), status="pending", next_attempt_at=T1)
        assert repo.claim_due(T0, T2, 10) == []
        assert [d.id for d in repo.claim_due(T1, T2, 10)] == ["d1"]
        repo.record_attempt(DeliveryAttempt("d1", 2, T1, True, 200, None), status="sent", next_attempt_at=None)
        found = repo.get_delivery("d1")
        assert found is not None
        assert (found.status, found.attempts, found.sent_at, found.last_error) == ("sent", 2, T1, None)
        assert [(a.attempt, a.ok, a.status_code, a.error) for a in found.log] == [
            (1, False, 500, "HTTP 500"),
            (2, True, 200, None),
        ]
        assert repo.claim_due(T2, T2, 10) == []  # sent: never again

    def test_the_log_pages_by_creator_and_status(self, repo: AlertRepository) -> None:
        repo.add_delivery(delivery("d1", created_by="u1"))
        repo.add_delivery(delivery("d2", eid="e2", created_by="u2"))
        repo.add_delivery(delivery("d3", eid="e3", created_by="u1"))
        items, total = repo.deliveries(created_by="u1", limit=1, offset=0)
        assert total == 2 and len(items) == 1
        items, total = repo.deliveries(limit=10, offset=0)
        assert total == 3
        assert repo.deliveries(status="sent", limit=10, offset=0) == ([], 0)
