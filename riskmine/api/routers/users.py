"""User administration (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from riskmine.api.deps import AdminDep, ReviewDBDep, UsersDep
from riskmine.api.errors import ApiError
from riskmine.review import audit
from riskmine.review.records import User
from riskmine.review.roles import Role
from riskmine.review.users import MAX_USERNAME_CHARS, MIN_PASSWORD_CHARS, UserError, UserExists

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=MAX_USERNAME_CHARS)
    password: str = Field(min_length=MIN_PASSWORD_CHARS, max_length=1024)
    role: Role = Role.viewer
    organisation: str | None = Field(None, max_length=200)


@router.get("", summary="All active users")
def list_users(_admin: AdminDep, users: UsersDep) -> list[dict[str, Any]]:
    return [{k: v for k, v in u.public().items() if k != "via"} for u in users.list_users()]


@router.post("", status_code=201, summary="Create a user")
async def create_user(body: NewUser, _admin: AdminDep, users: UsersDep) -> JSONResponse:
    try:
        user = await run_in_threadpool(users.create_user, body.username, body.password, body.role, body.organisation)
    except UserError as exc:
        raise ApiError(409 if isinstance(exc, UserExists) else 422, exc.code, str(exc)) from None
    out = {k: v for k, v in user.public().items() if k != "via"}
    return JSONResponse(out, status_code=201)


@router.post("/{username}/disable", summary="Disable a user: refused from the next request on, in every process")
async def disable_user(username: str, admin: AdminDep, users: UsersDep, db: ReviewDBDep) -> dict[str, Any]:
    return await _set_disabled(username, True, admin, users, db)


@router.post("/{username}/enable", summary="Enable a disabled user again")
async def enable_user(username: str, admin: AdminDep, users: UsersDep, db: ReviewDBDep) -> dict[str, Any]:
    return await _set_disabled(username, False, admin, users, db)


async def _set_disabled(username: str, disabled: bool, admin: User, users: Any, db: Any) -> dict[str, Any]:
    if disabled and username == admin.username:
        raise ApiError(409, "cannot_disable_self", "不能停用自己的账号")
    try:
        await run_in_threadpool(users.set_disabled, username, disabled)
    except UserError:
        raise ApiError(404, "not_found", f"没有用户名为 {username} 的用户") from None
    action = "user.disable" if disabled else "user.enable"
    await run_in_threadpool(audit.record, db, admin, action, "user", username, after={"disabled": disabled})
    return {"username": username, "disabled": disabled}
