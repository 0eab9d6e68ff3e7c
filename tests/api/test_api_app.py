"""The application as a whole: lifespan-opened store, OpenAPI, unexpected errors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from riskmine.api.app import create_app
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import keyword_pipeline


def test_store_opened_by_lifespan_and_closed_after(settings: Settings, users: UserStore) -> None:
    opened = settings.model_copy(update={"open_analyze": True})  # anonymous analysis, opted in
    app = create_app(opened, users=users, pipeline_factory=keyword_pipeline)
    with TestClient(app) as client:
        assert client.get("/health").json()["store"]["documents"] == 0
        r = client.post("/api/v1/analyze", json=[{"id": "1", "text": "充电宝起火"}])
        assert r.status_code == 200
    assert opened.database.exists()
    assert app.state.riskmine.store is None


def test_health_without_a_store_is_503(settings: Settings, users: UserStore) -> None:
    app = create_app(settings, users=users)
    client = TestClient(app)  # no lifespan: the store was never opened
    r = client.get("/health")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"
    r = client.get("/api/v1/candidates")
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "store_unavailable"


def test_openapi_and_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ("/api/v1/documents", "/api/v1/signals", "/api/v1/candidates/{candidate_id}", "/api/v1/analyze"):
        assert path in spec["paths"]
    assert "/" not in spec["paths"]  # console pages stay out of the API description
    schemes = spec["components"]["securitySchemes"]
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(schemes)
    assert client.get("/docs").status_code == 200


def test_unexpected_error_is_500_with_envelope(store: SQLiteStore, users: UserStore, settings: Settings) -> None:
    app = create_app(settings, store=store, users=users)

    def boom() -> Any:
        raise RuntimeError("secret internals")

    app.add_api_route("/api/v1/boom", boom)
    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/api/v1/boom")
    assert r.status_code == 500
    err = r.json()["error"]
    assert err["code"] == "internal_error"
    assert "secret internals" not in err["message"]


def test_invalid_store_filter_value_is_400(client: TestClient, store: SQLiteStore) -> None:
    # risk_score is numeric in the store; the API never sends it unchecked, but a bad value must not be a 500
    from riskmine.store.base import Collection

    app: Any = client.app
    state = app.state.riskmine

    def bad() -> Any:
        return state.store.query(Collection.signals, filters={"risk_score": "very"})

    app.add_api_route("/api/v1/bad-filter", bad)
    r = client.get("/api/v1/bad-filter")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_filter"
