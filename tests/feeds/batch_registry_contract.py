"""The backend-independent contract of riskmine.feeds.batches.BatchRegistry.

A backend's tests subclass :class:`BatchRegistryContract` and supply a ``registry`` fixture: a new,
empty registry.
"""

from __future__ import annotations

import threading

import pytest

from riskmine.feeds.batches import BatchRegistry, batch_id, content_sha256


class BatchRegistryContract:
    def test_claim_once_per_station_and_content(self, registry: BatchRegistry) -> None:
        sha = content_sha256(b"a,b\n1,2\n")
        record, created = registry.claim("站A", sha, "csv", filename="a.csv", submitted_by="u1")
        assert created and record.status == "received" and record.id == batch_id("站A", sha)
        again, created_again = registry.claim("站A", sha, "csv", filename="renamed.csv", submitted_by="u2")
        assert not created_again and again.id == record.id and again.filename == "a.csv"
        other, created_other = registry.claim("站B", sha, "csv")
        assert created_other and other.id != record.id

    def test_concurrent_claims_create_one_batch(self, registry: BatchRegistry) -> None:
        results: list[bool] = []
        barrier = threading.Barrier(8)

        def claim() -> None:
            barrier.wait()
            results.append(registry.claim("站A", "f" * 64, "jsonl")[1])

        threads = [threading.Thread(target=claim) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 7 + [True]

    def test_save_get_list_and_a_failed_batch_is_claimed_afresh(self, registry: BatchRegistry) -> None:
        first, _ = registry.claim("站A", "1" * 64, "xlsx")
        first.status, first.accepted, first.rejected = "partial", 4, 1
        first.rejections = [{"row": 5, "field": "差评数", "reason": "row 5: 差评数：'x' 不是整数"}]
        first.form = "ecommerce"
        registry.save(first)
        got = registry.get(first.id)
        assert got is not None and got.status == "partial" and got.rejections == first.rejections
        assert got.form == "ecommerce" and got.accepted == 4
        assert registry.get(first.id, station="站B") is None  # another station's batch is not found

        failed, _ = registry.claim("站A", "2" * 64, "csv")
        failed.status, failed.error = "failed", "StoreError: disk full"
        registry.save(failed)
        retry, created = registry.claim("站A", "2" * 64, "csv")
        assert created and retry.status == "received" and retry.error is None

        records, total = registry.list("站A")
        assert total == 2 and {r.id for r in records} == {first.id, retry.id}
        assert registry.list("站B") == ([], 0)
        assert registry.list(None, limit=1)[1] == 2 and len(registry.list(None, limit=1)[0]) == 1
        registry.discard(retry.id)
        assert registry.get(retry.id) is None
        with pytest.raises(ValueError, match="unknown batch status"):
            first.status = "lost"
            registry.save(first)

    def test_a_batch_is_leased_renewed_and_taken_over_once_its_lease_runs_out(self, registry: BatchRegistry) -> None:
        sha = "3" * 64
        record, created = registry.claim("站A", sha, "csv", lease_seconds=600, submitted_by="u1")
        assert created and record.lease_until is not None and record.attempts == 1
        assert [r.id for r in registry.receiving()] == [record.id]
        assert not registry.claim("站A", sha, "csv")[1]  # leased: busy
        assert registry.renew(record.id, 600)
        assert registry.renew(record.id, -1)  # the receiver died: the lease runs out
        taken, created = registry.claim("站A", sha, "csv", lease_seconds=600, submitted_by="u2")
        assert created and taken.id == record.id and taken.attempts == 2 and taken.submitted_by == "u1"
        assert not registry.claim("站A", sha, "csv")[1]  # the new receiver holds it
        taken.status, taken.accepted = "done", 3
        registry.save(taken)
        done = registry.get(taken.id)
        assert done is not None and done.lease_until is None and done.attempts == 2
        assert registry.receiving() == [] and not registry.renew(taken.id, 600)

    def test_racing_to_take_over_a_stale_batch_one_wins(self, registry: BatchRegistry) -> None:
        record, _ = registry.claim("站A", "4" * 64, "jsonl")
        registry.renew(record.id, -1)
        results: list[bool] = []
        barrier = threading.Barrier(6)

        def claim() -> None:
            barrier.wait()
            results.append(registry.claim("站A", "4" * 64, "jsonl", lease_seconds=600)[1])

        threads = [threading.Thread(target=claim) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 5 + [True]
