"""The authorisation matrix: every route of create_app() called as every role, checked against a table.

A call is *denied* when it answers 401 or 403 (or, for a console page, redirects to the login page, or
sends an api_consumer to the published advisories); anything else (200, 404 for the placeholder id, 409,
422 for the empty body ...) means the role got past the access checks. The app runs with
RISKMINE_ENV=development (what `make run` serves) and with production, under the same table: anonymous
callers reach the published advisories, their feed, the public-report form, /health, /docs and the login page,
and nothing else, in either mode (Sichuan 第七条). A route missing from EXPECTED fails the test,
naming it: add it to the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from riskmine.api.app import create_app
from riskmine.review.sqlite_repository import SQLiteUserRepository
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, TEST_SECRET, keyword_pipeline

ROLES = ("anonymous", "admin", "analyst", "publisher", "station", "viewer", "api_consumer")
EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {"anonymous"}
READERS = LOGGED_IN - {"api_consumer"}
WRITERS = frozenset({"admin", "analyst", "station"})
REVIEWERS = frozenset({"admin", "analyst"})
PUBLISHERS = frozenset({"admin", "publisher"})
ADMIN = frozenset({"admin"})

# (method, path) -> the roles allowed through.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/health"): EVERYONE,
    ("POST", "/api/v1/auth/token"): EVERYONE,
    ("GET", "/api/v1/auth/me"): LOGGED_IN,
    ("GET", "/api/v1/auth/api-keys"): LOGGED_IN,
    ("POST", "/api/v1/auth/api-keys"): LOGGED_IN,
    ("DELETE", "/api/v1/auth/api-keys/{key_id}"): LOGGED_IN,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users/{username}/disable"): ADMIN,
    ("POST", "/api/v1/users/{username}/enable"): ADMIN,
    ("POST", "/api/v1/documents"): WRITERS,
    ("GET", "/api/v1/documents/{document_id}"): READERS,
    ("GET", "/api/v1/signals"): READERS,
    ("GET", "/api/v1/signals/{signal_id}"): READERS,
    ("GET", "/api/v1/candidates"): READERS,
    ("GET", "/api/v1/candidates/{candidate_id}"): READERS,
    ("POST", "/api/v1/analyze"): LOGGED_IN,
    # review
    ("POST", "/api/v1/review/candidates/{candidate_id}/transition"): REVIEWERS,
    ("POST", "/api/v1/review/candidates/{candidate_id}/assign"): REVIEWERS,
    ("GET", "/api/v1/review/candidates/{candidate_id}/comments"): READERS,
    ("POST", "/api/v1/review/candidates/{candidate_id}/comments"): REVIEWERS,
    ("GET", "/api/v1/review/candidates/{candidate_id}/decisions"): READERS,
    ("POST", "/api/v1/review/candidates/{candidate_id}/decisions"): REVIEWERS,
    ("POST", "/api/v1/review/candidates/{candidate_id}/merge"): REVIEWERS,
    ("POST", "/api/v1/review/candidates/{candidate_id}/split"): REVIEWERS,
    ("GET", "/api/v1/review/candidates/{candidate_id}/objections"): READERS,
    ("POST", "/api/v1/review/candidates/{candidate_id}/objections"): REVIEWERS,
    ("GET", "/api/v1/review/objections"): READERS,
    ("POST", "/api/v1/review/objections/{objection_id}/answer"): REVIEWERS,
    ("GET", "/api/v1/review/overdue"): READERS,
    ("GET", "/api/v1/review/orgs"): READERS,
    ("POST", "/api/v1/review/orgs"): ADMIN,
    ("GET", "/api/v1/review/feedback.jsonl"): REVIEWERS,
    # advisories: published consumer advisories to anyone; drafting and approval by role
    ("GET", "/api/v1/advisories"): EVERYONE,
    ("GET", "/api/v1/advisories/feed.atom"): EVERYONE,
    ("GET", "/api/v1/advisories/{advisory_id}"): EVERYONE,
    ("POST", "/api/v1/advisories"): REVIEWERS,
    ("POST", "/api/v1/advisories/{advisory_id}/approve"): PUBLISHERS,
    ("GET", "/api/v1/audit"): ADMIN,
    # alerts: everyone who reads candidates manages their own subscriptions and sees their delivery log
    ("GET", "/api/v1/alerts/kinds"): READERS,
    ("GET", "/api/v1/alerts/subscriptions"): READERS,
    ("POST", "/api/v1/alerts/subscriptions"): READERS,
    ("DELETE", "/api/v1/alerts/subscriptions/{subscription_id}"): READERS,
    ("GET", "/api/v1/alerts/deliveries"): READERS,
    # other routers, as built by their owners (extend when routes are added)
    # a station reads and submits only its own batches: "x" is not the test station's, so it is refused
    ("POST", "/api/v1/stations/{station}/batches"): REVIEWERS,
    ("GET", "/api/v1/stations/{station}/batches"): REVIEWERS,
    ("GET", "/api/v1/stations/{station}/batches/{batch_id}"): REVIEWERS,
    ("POST", "/api/v1/public-reports"): EVERYONE,
    ("GET", "/api/v1/sources"): READERS,
    ("GET", "/api/v1/graph/entities"): READERS,
    ("GET", "/api/v1/graph/stats"): READERS,
    ("GET", "/api/v1/graph/paths"): READERS,
    ("GET", "/api/v1/graph/nodes/{node_id:path}/neighbourhood"): READERS,
    ("GET", "/api/v1/graph/nodes/{node_id:path}"): READERS,
    ("GET", "/api/v1/enterprises"): READERS,
    ("GET", "/api/v1/enterprises/{enterprise:path}"): READERS,
    ("GET", "/api/v1/reports/monthly"): WRITERS,
    ("POST", "/api/v1/reports/monthly/render"): WRITERS,
    ("GET", "/api/v1/reports/immediate/{candidate_id}"): REVIEWERS,
    ("GET", "/api/v1/reports/thematic"): WRITERS,
    # the API's documentation, and the console's pages and forms
    ("GET", "/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("GET", "/redoc"): EVERYONE,
    ("GET", "/"): READERS,
    ("GET", "/candidates/{candidate_id}"): READERS,
    ("POST", "/candidates/{candidate_id}/decision"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/transition"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/advisories"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/comments"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/assign"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/objections"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/objections/{objection_id}/answer"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/merge"): REVIEWERS,
    ("POST", "/candidates/{candidate_id}/split"): REVIEWERS,
    ("GET", "/advisories"): EVERYONE,
    ("POST", "/advisories/{advisory_id}/approve"): PUBLISHERS,
    ("GET", "/signals"): READERS,
    ("GET", "/login"): EVERYONE,
    ("GET", "/overdue"): READERS,
    ("GET", "/sources"): READERS,
    ("GET", "/graph"): READERS,
    ("GET", "/graph/{node:path}"): READERS,
    ("GET", "/enterprises/{name:path}"): READERS,
    ("GET", "/station"): WRITERS,
    # the upload form: a station for its own organisation only ("x" is not the test station's), as in the API
    ("POST", "/station/batches"): REVIEWERS,
    # the public report form: anyone, logged in or not (Shanxi plan 二.(三))
    ("GET", "/public-report"): EVERYONE,
    ("POST", "/public-report"): EVERYONE,
    ("GET", "/alerts"): READERS,
    ("GET", "/jobs"): ADMIN,
    ("GET", "/audit"): ADMIN,
    ("POST", "/alerts/subscriptions"): READERS,
    ("POST", "/alerts/subscriptions/{subscription_id}/delete"): READERS,
    # exports and saved filters: everyone who reads the queue and the signals
    ("GET", "/export/{kind}"): READERS,
    ("GET", "/filters"): READERS,
    ("POST", "/filters"): READERS,
    ("POST", "/filters/{filter_id}/delete"): READERS,
    # report pages: as the reports API (a draft of the matrix's station, which has no organisation, is refused)
    ("GET", "/reports"): WRITERS,
    ("POST", "/reports/drafts"): REVIEWERS,
    ("GET", "/reports/drafts/{draft_id}"): WRITERS,
    ("POST", "/reports/drafts/{draft_id}"): WRITERS,
    ("GET", "/reports/drafts/{draft_id}/download"): WRITERS,
    ("POST", "/reports/drafts/{draft_id}/delete"): WRITERS,
    ("GET", "/reports/thematic"): WRITERS,
}
# A well-formed form for each console POST, so that the access checks, not the form's checks, answer.
FORMS: dict[str, dict[str, str]] = {
    "/candidates/{candidate_id}/decision": {"status": "rejected", "rationale": "无关"},
    "/candidates/{candidate_id}/transition": {"to": "in_review"},
    "/candidates/{candidate_id}/advisories": {"kind": "consumer_advisory", "title": "标题", "body": "正文"},
    "/candidates/{candidate_id}/comments": {"text": "意见"},
    "/candidates/{candidate_id}/objections": {"objector": "某厂", "objector_kind": "producer", "text": "异议"},
    "/candidates/{candidate_id}/objections/{objection_id}/answer": {"answer": "答复"},
    "/candidates/{candidate_id}/merge": {"source_id": "y", "reason": "同一批次", "confirm": "yes"},
    "/candidates/{candidate_id}/split": {"signal_ids": "s1", "reason": "不同型号"},
    "/alerts/subscriptions": {"events": "objection", "channel": "email", "target": "a@example.cn"},
    "/filters": {"page": "queue", "name": "高风险", "query": "tier=immediate"},
    "/reports/drafts": {"period": "2025-03", "form": "general"},
    "/station/batches": {"station": "x"},
    "/public-report": {"product": "电热水壶", "problem": "底座漏电，手一碰就麻"},
}
# The way in and out, for anyone: an empty login form is refused (401) and a logout lands on the login page.
SESSION = frozenset({("POST", "/login"), ("POST", "/logout")})


def api_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) of every API route, also inside included routers."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods - {"HEAD"}):
                    yield method, prefix + route.path
            elif hasattr(route, "original_router"):
                yield from walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))

    yield from walk(list(app.routes), "")


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.fixture(params=["development", "production"])
def matrix_client(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    settings = Settings(env=request.param, var_dir=tmp_path / "var", secret_key=TEST_SECRET)
    store = SQLiteStore(tmp_path / "store.sqlite3")
    users = UserStore(
        SQLiteUserRepository(tmp_path / "users.sqlite3"),
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    app = create_app(settings, store=store, users=users, pipeline_factory=keyword_pipeline)
    with TestClient(app, base_url="https://127.0.0.1") as client:
        headers: dict[str, dict[str, str]] = {"anonymous": {}}
        for role in ROLES[1:]:
            user = users.create_user(f"{role}-user", PASSWORD, role)
            r = client.post("/api/v1/auth/token", data={"username": f"{role}-user", "password": PASSWORD})
            headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            headers[f"{role} key"] = {"X-API-Key": users.create_api_key(user.id, "matrix")[1]}
        yield client, headers
    store.close()


def allowed(response: Any) -> bool:
    if response.status_code in (401, 403):
        return False
    if 300 <= response.status_code < 400:
        target = response.headers.get("location", "")
        return not (target.startswith("/login") or target == "/advisories")  # sent to log in / to what is published
    return True


def test_every_route_as_every_role(matrix_client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = matrix_client
    routes = [r for r in api_routes(client.app) if r not in SESSION]  # type: ignore[arg-type]
    missing = [f"{m} {p}" for m, p in routes if (m, p) not in EXPECTED]
    assert not missing, "routes missing from the authorisation table: " + ", ".join(missing)
    wrong = []
    for method, path in routes:
        for role in ROLES:
            body = {} if method in ("POST", "PUT", "PATCH") and path.startswith("/api/") else None
            form = FORMS.get(path) if method == "POST" else None
            r = client.request(
                method, concrete(path), headers=headers[role], json=body, data=form, follow_redirects=False
            )
            expected = role in EXPECTED[(method, path)]
            if allowed(r) != expected:
                wrong.append(f"{method} {path} as {role}: {r.status_code}, expected {'allow' if expected else 'deny'}")
    assert not wrong, "\n".join(wrong)


# The routes that write documents: an API key carries its owner's role there as a password login does.
WRITE_ROUTES = (("POST", "/api/v1/documents"), ("POST", "/api/v1/stations/{station}/batches"))


def test_write_routes_as_every_roles_api_key(matrix_client: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, headers = matrix_client
    wrong = []
    for method, path in WRITE_ROUTES:
        for role in ROLES[1:]:
            r = client.request(method, concrete(path), headers=headers[f"{role} key"], json={})
            expected = role in EXPECTED[(method, path)]
            if allowed(r) != expected:
                wrong.append(
                    f"{method} {path} with {role}'s key: {r.status_code}, expected {'allow' if expected else 'deny'}"
                )
    assert not wrong, "\n".join(wrong)


def test_anonymous_reaches_only_what_is_published() -> None:
    """The whole list of what an anonymous caller reaches, whatever the mode (Sichuan 第七条); the test above
    checks that the app answers as this table says, in development and in production."""
    open_routes = {route for route, roles in EXPECTED.items() if "anonymous" in roles}
    assert open_routes == {
        ("GET", "/health"),
        ("POST", "/api/v1/auth/token"),
        ("GET", "/api/v1/advisories"),
        ("GET", "/api/v1/advisories/feed.atom"),
        ("GET", "/api/v1/advisories/{advisory_id}"),
        ("POST", "/api/v1/public-reports"),
        ("GET", "/public-report"),
        ("POST", "/public-report"),
        ("GET", "/advisories"),
        ("GET", "/login"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
    }
