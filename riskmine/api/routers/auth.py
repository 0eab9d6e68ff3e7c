"""Authentication endpoints: OAuth2 password flow, who am I, API keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from riskmine.api.auth import create_access_token
from riskmine.api.deps import CurrentUserDep, ReviewDBDep, SettingsDep, UsersDep
from riskmine.api.errors import ApiError, not_found
from riskmine.api.routers.public_reports import client_key
from riskmine.review.login_guard import LoginGuard, LoginPolicy
from riskmine.review.roles import Role
from riskmine.review.users import ApiKey

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class NewApiKey(BaseModel):
    name: str = Field("default", max_length=100)
    username: str | None = Field(None, description="admins only: create the key for this user")


def _key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "user_id": key.user_id,
        "created_at": key.created_at,
        "revoked": key.revoked,
        "last_used_at": key.last_used_at,
    }


@router.post(
    "/token",
    response_model=Token,
    summary="Log in with username and password (OAuth2 password flow)",
    responses={429: {"description": "too many failed logins for this account or client; retry after Retry-After"}},
)
async def issue_token(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    users: UsersDep,
    settings: SettingsDep,
    review_db: ReviewDBDep,
) -> Token:
    """Failed logins lock the account and the client for a while (429 with Retry-After; riskmine.review.login_guard)."""
    guard = LoginGuard(users, review_db, LoginPolicy.from_settings(settings))
    user = await run_in_threadpool(guard.login, form.username, form.password, client_key(request))
    if user is None:
        raise ApiError(
            401,
            "invalid_credentials",
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token, ttl = create_access_token(user, settings, version=await run_in_threadpool(users.token_version, user.id))
    return Token(access_token=token, expires_in=ttl)


@router.get("/me", summary="The authenticated user")
def me(user: CurrentUserDep) -> dict[str, Any]:
    return user.public()


@router.get("/api-keys", summary="Your API keys (without the keys themselves)")
def list_keys(user: CurrentUserDep, users: UsersDep) -> list[dict[str, Any]]:
    return [_key_view(k) for k in users.list_api_keys(user.id)]


@router.post("/api-keys", status_code=201, summary="Create an API key; the key is shown only in this response")
def create_key(body: NewApiKey, user: CurrentUserDep, users: UsersDep) -> JSONResponse:
    if user.via == "api_key":
        raise ApiError(403, "forbidden", "an API key cannot create API keys; log in with a password")
    owner = user
    if body.username and body.username != user.username:
        if user.role is not Role.admin:
            raise ApiError(403, "forbidden", "only an admin can create keys for other users")
        found = users.get_by_username(body.username)
        if found is None:
            raise not_found("user", body.username)
        owner = found
    record, key = users.create_api_key(owner.id, body.name)
    return JSONResponse({**_key_view(record), "key": key}, status_code=201)


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
def revoke_key(key_id: str, user: CurrentUserDep, users: UsersDep) -> dict[str, Any]:
    key = users.get_api_key(key_id)
    if key is None or (key.user_id != user.id and user.role is not Role.admin):
        raise not_found("API key", key_id)
    users.revoke_api_key(key_id)
    return {"id": key_id, "revoked": True}
