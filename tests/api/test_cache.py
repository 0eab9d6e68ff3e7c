"""The response cache: single flight, invalidation by the store's data version, ETag and 304."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.cache import ResponseCache, make_entry
from riskmine.review.users import UserStore
from riskmine.schema import CandidateRisk
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import another_handle


def test_concurrent_misses_compute_once() -> None:
    cache = ResponseCache()
    calls = 0
    started = threading.Event()
    release = threading.Event()

    def compute() -> bytes:
        nonlocal calls
        calls += 1
        started.set()
        release.wait(5)
        return b"body"

    got: list[bytes] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", compute).body)) for _ in range(8)]
    threads[0].start()
    assert started.wait(5)
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)  # the others are waiting on the first one's flight
    release.set()
    for t in threads:
        t.join(5)
    assert got == [b"body"] * 8
    assert calls == 1
    assert cache.get("k", compute).body == b"body" and calls == 1


def test_a_failed_computation_is_shared_but_not_cached() -> None:
    cache = ResponseCache()

    def fail() -> bytes:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.get("k", fail)
    assert len(cache) == 0
    assert cache.get("k", lambda: b"ok").body == b"ok"


def test_least_recently_used_entries_go_first() -> None:
    cache = ResponseCache(max_entries=2)
    cache.get("a", lambda: b"a")
    cache.get("b", lambda: b"b")
    cache.get("a", lambda: b"x")  # a is used again
    cache.get("c", lambda: b"c")
    assert cache.get("a", lambda: b"new a").body == b"a"
    assert cache.get("b", lambda: b"new b").body == b"new b"


def test_etag_is_a_hash_of_the_body() -> None:
    assert make_entry(b"x").etag == make_entry(b"x").etag != make_entry(b"y").etag
    assert make_entry(b"x").etag.startswith('"')


def test_queue_api_is_cached_until_a_write(reader: TestClient, store: SQLiteStore, seeded: dict[str, Any]) -> None:
    first = reader.get("/api/v1/candidates")
    assert first.status_code == 200 and first.json()["items"]
    cache = reader.app.state.riskmine.responses  # type: ignore[attr-defined]
    again = reader.get("/api/v1/candidates")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert cache.hits >= 1
    not_modified = reader.get("/api/v1/candidates", headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    cand: CandidateRisk = seeded["candidates"][0]
    store.write(Collection.candidates, [cand.model_copy(update={"title": "改过的标题"})], policy="overwrite")  # type: ignore[arg-type]
    after = reader.get("/api/v1/candidates", headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]
    assert "改过的标题" in [c["title"] for c in after.json()["items"]]


def test_a_write_by_another_process_invalidates(reader: TestClient, store: SQLiteStore, seeded: dict[str, Any]) -> None:
    first = reader.get("/api/v1/candidates").json()
    other = another_handle(store)  # another connection on the same data, as another process would open
    try:
        other.delete(Collection.candidates, [first["items"][0]["id"]])
    finally:
        other.close()
    after = reader.get("/api/v1/candidates").json()
    assert after["total"] == first["total"] - 1


def test_signal_search_is_cached_until_a_write(reader: TestClient, store: SQLiteStore, seeded: dict[str, Any]) -> None:
    cache = reader.app.state.riskmine.responses  # type: ignore[attr-defined]
    params = {"q": "充电宝", "limit": 5}
    first = reader.get("/api/v1/signals", params=params)
    assert first.status_code == 200 and first.json()["total"] >= 1
    hits = cache.hits
    again = reader.get("/api/v1/signals", params=params)
    assert again.content == first.content and cache.hits == hits + 1
    assert (
        reader.get("/api/v1/signals", params=params, headers={"If-None-Match": first.headers["etag"]}).status_code
        == 304
    )
    signal = store.get(Collection.signals, first.json()["items"][0]["id"])
    store.delete(Collection.signals, [signal.id])  # type: ignore[union-attr]
    after = reader.get("/api/v1/signals", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.json()["total"] == first.json()["total"] - 1


def test_cached_searches_are_not_shared_across_scopes(
    client: TestClient, users: UserStore, store: SQLiteStore, seeded: dict[str, Any]
) -> None:
    from tests.api.test_scope import A, B, station_logins, user_login

    analyst = user_login(client, users, "analyst", None, "centre-analyst")
    stations = station_logins(client, users, uploads=2)

    def sources(headers: dict[str, str]) -> set[str]:
        r = client.get("/api/v1/signals", params={"limit": 200}, headers=headers)
        assert r.status_code == 200, r.text
        return {item["source"] for item in r.json()["items"]}

    everything = sources(analyst)  # computed first and cached: the stations must not get it
    assert {f"station:{A}", f"station:{B}"} < everything
    assert sources(stations[A]) == {f"station:{A}"}
    assert sources(stations[B]) == {f"station:{B}"}
    assert sources(analyst) == everything
