"""The fast path of the cached list views (riskmine.api.fastpath): the same bytes as the normal path, and never for a
caller the normal path would refuse or scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from riskmine.api.fastpath import FastPath
from riskmine.review.users import UserStore
from riskmine.schema import CandidateRisk
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD

QUEUE = "/api/v1/candidates?limit=50"
SEARCH = "/api/v1/signals?q=%E5%85%85%E7%94%B5%E5%AE%9D&limit=5"  # q=充电宝


def written_again(path: str, n: int) -> str:
    """The same query written another way (another raw query string): its first request goes the normal path, which
    answers it from the view's cache entry for the query."""
    return path + "&" * n


def fastpath(client: TestClient) -> FastPath:
    node: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(node, FastPath):
        node = node.app
    return node


def comparable(r: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (in order; the server adds its date, not the app) and body."""
    return r.status_code, [(k, v) for k, v in r.headers.multi_items() if k != "date"], r.content


def served_fast(client: TestClient, path: str, method: str = "GET", **kw: Any) -> tuple[httpx.Response, bool]:
    before = fastpath(client).served
    r = client.request(method, path, **kw)
    return r, fastpath(client).served == before + 1


@pytest.mark.parametrize("path", [QUEUE, SEARCH])
def test_the_fast_path_answers_with_the_normal_paths_bytes(
    reader: TestClient, seeded: dict[str, Any], path: str
) -> None:
    first, fast = served_fast(reader, path)
    assert first.status_code == 200 and not fast  # a query's first request computes it the normal way
    second, fast = served_fast(reader, path)
    assert fast and comparable(second) == comparable(first)
    normal, fast = served_fast(reader, written_again(path, 1))
    assert not fast and comparable(normal) == comparable(first)
    etag = {"If-None-Match": first.headers["etag"]}
    fast_304, fast = served_fast(reader, path, headers=etag)
    assert fast and fast_304.status_code == 304
    normal_304, fast = served_fast(reader, written_again(path, 2), headers=etag)
    assert not fast and comparable(fast_304) == comparable(normal_304)
    assert comparable(served_fast(reader, path, headers={"If-None-Match": '"other"'})[0]) == comparable(first)


def test_a_write_is_seen_at_once(reader: TestClient, store: SQLiteStore, seeded: dict[str, Any]) -> None:
    reader.get(QUEUE)
    before, fast = served_fast(reader, QUEUE)
    assert fast
    cand: CandidateRisk = seeded["candidates"][0]
    store.write(Collection.candidates, [cand.model_copy(update={"title": "改过的标题"})], policy="overwrite")  # type: ignore[arg-type]
    after, fast = served_fast(reader, QUEUE)
    assert not fast and after.headers["etag"] != before.headers["etag"]
    assert "改过的标题" in [c["title"] for c in after.json()["items"]]
    assert served_fast(reader, QUEUE)[1]  # the new version is served fast from then on


def test_a_disabled_user_or_a_revoked_token_is_refused_as_before(
    client: TestClient, users: UserStore, login: Callable[..., dict[str, str]], seeded: dict[str, Any]
) -> None:
    headers = login("analyst", username="soon-disabled")
    client.get(QUEUE, headers=headers)
    assert served_fast(client, QUEUE, headers=headers)[1]
    users.set_disabled("soon-disabled")
    refused, fast = served_fast(client, QUEUE, headers=headers)
    assert refused.status_code == 401 and not fast
    assert refused.json()["error"]["code"] == "invalid_token"

    headers = login("analyst", username="changes-password")
    client.get(SEARCH, headers=headers)
    assert served_fast(client, SEARCH, headers=headers)[1]
    users.set_password("changes-password", PASSWORD + "-new")
    refused, fast = served_fast(client, SEARCH, headers=headers)
    assert refused.status_code == 401 and not fast and refused.json()["error"]["code"] == "token_revoked"


def test_anonymous_bad_credentials_and_non_readers_go_the_normal_way(
    reader: TestClient, login: Callable[..., dict[str, str]], seeded: dict[str, Any]
) -> None:
    reader.get(QUEUE)
    assert served_fast(reader, QUEUE)[1]
    consumer = login("api_consumer")
    for headers, status in (
        ({"Authorization": ""}, 401),
        ({"Authorization": "Bearer not-a-token"}, 401),
        ({"Authorization": "Basic abc"}, 401),
        ({"X-API-Key": "rmk_unknown"}, 401),
        (consumer, 403),
    ):
        r, fast = served_fast(reader, QUEUE, headers=headers)
        assert r.status_code == status and not fast, (headers, r.text)
        assert r.json()["error"]["code"]
    r, fast = served_fast(reader, QUEUE, content=b"x" * 10, headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and not fast  # a request with a body goes the normal way


def test_an_api_key_reader_is_served_like_a_token(reader: TestClient, users: UserStore, seeded: dict[str, Any]) -> None:
    owner = users.get_by_username("reader")
    assert owner is not None
    key = users.create_api_key(owner.id, "console")[1]
    first = reader.get(QUEUE, headers={"X-API-Key": key})
    second, fast = served_fast(reader, QUEUE, headers={"X-API-Key": key})
    assert fast and comparable(second) == comparable(first)


def test_a_scoped_reader_is_never_served_from_the_fast_path(
    client: TestClient, users: UserStore, store: SQLiteStore, seeded: dict[str, Any]
) -> None:
    from tests.api.test_scope import A, B, station_logins, user_login

    analyst = user_login(client, users, "analyst", None, "centre-analyst")
    stations = station_logins(client, users, uploads=2)
    path = "/api/v1/signals?limit=200"
    client.get(path, headers=analyst)
    everything, fast = served_fast(client, path, headers=analyst)
    assert fast and {f"station:{A}", f"station:{B}"} < {i["source"] for i in everything.json()["items"]}
    for station, headers in stations.items():
        for _ in range(2):
            own, fast = served_fast(client, path, headers=headers)
            assert own.status_code == 200 and not fast
            assert {i["source"] for i in own.json()["items"]} == {f"station:{station}"}
        queue, fast = served_fast(client, QUEUE, headers=headers)
        assert queue.status_code == 200 and not fast


def test_other_paths_and_methods_go_the_normal_way(reader: TestClient, seeded: dict[str, Any]) -> None:
    reader.get(QUEUE)
    for method, path in (("GET", "/api/v1/candidates/"), ("HEAD", QUEUE), ("GET", "/health")):
        before = fastpath(reader).served
        reader.request(method, path)
        assert fastpath(reader).served == before, (method, path)
