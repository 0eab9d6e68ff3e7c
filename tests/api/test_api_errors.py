"""The error envelope, request-size limits and framework errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.filters import MAX_OFFSET
from riskmine.api.payload import MAX_JSON_DEPTH


def assert_error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def test_unknown_route_is_404_with_envelope(client: TestClient) -> None:
    err = assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert "/docs" in err["message"]


def test_wrong_method_is_405(client: TestClient) -> None:
    assert_error(client.delete("/api/v1/signals"), 405, "method_not_allowed")


def test_validation_error_names_the_parameter(reader: TestClient) -> None:
    err = assert_error(reader.get("/api/v1/signals", params={"limit": 201}), 422, "invalid_request")
    assert "limit" in err["message"]
    assert err["details"][0]["field"] == "limit"


def test_declared_content_length_over_limit_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_upload_bytes=1000)
    body = json.dumps([{"text": "充电宝起火" * 100, "source_type": "review"}])
    assert len(body.encode()) > 1000
    r = client.post("/api/v1/documents", content=body, headers={"Content-Type": "application/json"})
    err = assert_error(r, 413, "payload_too_large")
    assert err["details"] == [{"limit_bytes": 1000}]


def test_streamed_body_over_limit_is_413(make_client: Callable[..., TestClient], login: Any) -> None:
    client = make_client(max_upload_bytes=1000)
    headers = {**login("analyst", via=client), "Content-Type": "application/x-ndjson"}

    def chunks() -> Iterator[bytes]:
        for i in range(50):
            yield (json.dumps({"text": f"第{i}条 充电宝起火", "source_type": "review"}) + "\n").encode()

    r = client.post("/api/v1/analyze", content=chunks(), headers=headers)
    assert_error(r, 413, "payload_too_large")


def test_body_under_limit_passes(make_client: Callable[..., TestClient], login: Any) -> None:
    client = make_client(max_upload_bytes=10_000)
    r = client.post("/api/v1/analyze", json=[{"id": "a", "text": "充电宝起火"}], headers=login("analyst", via=client))
    assert r.status_code == 200, r.text


def test_invalid_json_body_is_400(client: TestClient, login: Any) -> None:
    r = client.post("/api/v1/documents", content=b"[{not json", headers={**login(), "Content-Type": "application/json"})
    err = assert_error(r, 400, "invalid_json")
    assert "line 1" in err["message"]


def test_unsupported_media_type_is_415(client: TestClient, login: Any) -> None:
    r = client.post("/api/v1/documents", content=b"text=x", headers={**login(), "Content-Type": "text/plain"})
    err = assert_error(r, 415, "unsupported_media_type")
    assert "application/x-ndjson" in err["message"]


def test_non_utf8_body_is_400(client: TestClient, login: Any) -> None:
    r = client.post(
        "/api/v1/documents",
        content='[{"text": "充电宝起火"}]'.encode("gbk"),
        headers={**login(), "Content-Type": "application/json"},
    )
    assert_error(r, 400, "invalid_encoding")


def test_empty_batch_is_422(client: TestClient, login: Any) -> None:
    r = client.post("/api/v1/documents", json=[], headers=login())
    assert_error(r, 422, "empty_batch")


def test_console_404_is_an_html_page(reader: TestClient) -> None:
    r = reader.get("/candidates/does-not-exist", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "未找到" in r.text
    assert "does-not-exist" in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]  # no scripts at all
    assert r.headers["x-frame-options"] == "DENY"


OFFSET_ROUTES = [
    "/api/v1/advisories",
    "/api/v1/audit",
    "/api/v1/stations/x/batches",
    "/api/v1/signals",
    "/api/v1/candidates",
    "/api/v1/enterprises",
]


@pytest.mark.parametrize("path", OFFSET_ROUTES)
def test_an_offset_past_the_bound_is_422_not_500(client: TestClient, login: Any, path: str) -> None:
    headers = login("admin")
    err = assert_error(client.get(path, params={"offset": 2**63}, headers=headers), 422, "invalid_request")
    assert "offset" in err["message"]
    assert client.get(path, params={"offset": MAX_OFFSET}, headers=headers).status_code == 200
    assert_error(client.get(path, params={"offset": MAX_OFFSET + 1}, headers=headers), 422, "invalid_request")


@pytest.mark.parametrize("path", ["/api/v1/analyze", "/api/v1/documents"])
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_deeply_nested_json_body_is_422(client: TestClient, login: Any, path: str, depth: int) -> None:
    body = "[" * depth + "]" * depth
    r = client.post(path, content=body.encode(), headers={**login(), "Content-Type": "application/json"})
    err = assert_error(r, 422, "too_deep")
    assert f"{MAX_JSON_DEPTH}" in err["message"]
    assert "nesting" in err["message"]
