"""API test fixtures: a real SQLiteStore and user store in tmp_path, the TestClient, seeded records."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from riskmine.api.app import create_app
from riskmine.processing import process_documents, refresh_candidates
from riskmine.review.sqlite_repository import SQLiteUserRepository
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, SEED_DOCUMENTS, TEST_SECRET, keyword_pipeline


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(env="development", var_dir=tmp_path / "var", secret_key=TEST_SECRET)


# RISKMINE_TEST_STORE=opensearch runs the API suite over the real search cluster of tests/conftest.py's es_url
# (each test in its own index prefix, dropped after it); the default is the embedded SQLite store.
STORE_ENV = "RISKMINE_TEST_STORE"


def over_search_cluster() -> bool:
    return os.environ.get(STORE_ENV, "sqlite") == "opensearch"


@pytest.fixture
def store(tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[SQLiteStore]:
    if over_search_cluster():
        from riskmine.store.elasticsearch import ElasticsearchStore

        url = request.getfixturevalue("es_url")
        prefix = f"riskmine-api-{uuid.uuid4().hex[:12]}"
        cluster = ElasticsearchStore(url, prefix=prefix, refresh="wait_for")
        cluster.reopen = lambda: ElasticsearchStore(url, prefix=prefix, refresh="wait_for")  # type: ignore[attr-defined]
        yield cluster  # type: ignore[misc]  # the Store protocol; tests type the default backend
        cluster.drop()
        cluster.close()
        return
    s = SQLiteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


@pytest.fixture
def users(tmp_path: Any) -> UserStore:
    # Real argon2id, with cheap parameters so that tests stay fast.
    return UserStore(
        SQLiteUserRepository(tmp_path / "users.sqlite3"),
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture
def make_client(store: SQLiteStore, users: UserStore, settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Builds a TestClient for an app over the test store; keyword arguments override settings."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        s = settings.model_copy(update=overrides) if overrides else settings
        app = create_app(s, store=store, users=users, pipeline_factory=keyword_pipeline)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def login(client: TestClient, users: UserStore) -> Callable[..., dict[str, str]]:
    """Creates a user with the role and returns the Authorization header of its token."""

    def make(role: str = "analyst", username: str | None = None, via: TestClient | None = None) -> dict[str, str]:
        name = username or f"{role}-user"
        if users.get_by_username(name) is None:
            users.create_user(name, PASSWORD, role, organisation="测试中心")
        r = (via or client).post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture
def reader(client: TestClient, login: Callable[..., dict[str, str]]) -> TestClient:
    """The `client`, logged in as an analyst of the assessment centre (who sees every candidate): signals,
    candidates, documents, the graph and the sources need a login in every mode, development included.
    A request's own Authorization header (e.g. ``headers=login("station")``) still overrides it.
    A test file whose every test reads uses it as an autouse fixture."""
    client.headers.update(login("analyst", username="reader"))
    return client


@pytest.fixture
def seeded(store: SQLiteStore) -> dict[str, Any]:
    """The seed documents stored, processed by the keyword pipeline, and grouped into candidates."""
    store.write(Collection.documents, SEED_DOCUMENTS)
    report = process_documents(store, keyword_pipeline(), [d.id for d in SEED_DOCUMENTS])
    n = refresh_candidates(store)
    candidates = store.query(Collection.candidates, sort="priority", limit=50).items
    return {
        "documents": {d.source_id: d for d in SEED_DOCUMENTS},
        "processed": report.processed,
        "candidates": candidates,
        "candidate_count": n,
    }
