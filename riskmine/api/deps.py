"""Typed dependencies for the routers: settings, store, pipeline, users and the current principal.

Use them as parameter annotations, e.g. ``def handler(store: StoreDep, user: WriterDep)``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from riskmine.api.auth import API_KEY_HEADER, analyze_open, authenticate_request
from riskmine.api.errors import ApiError
from riskmine.api.state import AppState
from riskmine.pipeline import Pipeline
from riskmine.review.repository import ReviewRepository, open_review_repository
from riskmine.review.roles import PUBLISHER_ROLES, READER_ROLES, REVIEWER_ROLES, Role, may_write
from riskmine.review.sqlite_repository import SQLiteUserRepository
from riskmine.review.users import User, UserStore
from riskmine.settings import Settings
from riskmine.store.base import Store

# Declared so that /docs offers both ways to authenticate; the checking is done by authenticate_request.
_oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.riskmine
    return state


async def _state(request: Request) -> AppState:
    # async: resolved on the event loop (a sync dependency costs a thread-pool round trip, which under load waits
    # a whole turn of the loop: issue 18); so are the other dependencies here that only read what is in memory
    return get_state(request)


StateDep = Annotated[AppState, Depends(_state)]


async def get_settings_dep(state: StateDep) -> Settings:
    return state.settings


async def get_store(state: StateDep) -> Store:
    if state.store is None:
        raise ApiError(503, "store_unavailable", "the store is not open; start the app with its lifespan (uvicorn)")
    return state.store


async def get_users(state: StateDep) -> UserStore:
    return state.users


async def get_pipeline(state: StateDep) -> Pipeline:
    if state.pipeline_loaded:
        return state.get_pipeline()
    try:
        return await run_in_threadpool(state.get_pipeline)
    except Exception as exc:
        raise ApiError(
            503,
            "pipeline_unavailable",
            f"the NLP pipeline could not be built ({type(exc).__name__}: {exc}); "
            "check the pipeline file, the trained models under the models directory and RISKMINE_DISABLED_STAGES",
        ) from exc


def review_db(request: Request, state: AppState) -> ReviewRepository:
    """The review database under the settings' var_dir, opened once per app."""
    db: ReviewRepository | None = getattr(request.app.state, "review_db", None)
    if db is None:
        db = open_review_repository(state.settings)
        request.app.state.review_db = db
    return db


async def get_review_db(request: Request, state: StateDep) -> ReviewRepository:
    # once open, on the event loop (issue 18); the first call opens it (and migrates it) on a worker thread
    db: ReviewRepository | None = getattr(request.app.state, "review_db", None)
    if db is not None:
        return db
    return await run_in_threadpool(review_db, request, state)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ReviewDBDep = Annotated[ReviewRepository, Depends(get_review_db)]
StoreDep = Annotated[Store, Depends(get_store)]
UsersDep = Annotated[UserStore, Depends(get_users)]
PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def local_auth(request: Request, state: AppState) -> bool:
    """Whether authenticating the request is a few local reads, cheap enough for the event loop: the users are in a
    SQLite file and no API key is sent (the first use of a key in a while is noted in the users database: a write).
    """
    return API_KEY_HEADER not in request.headers and isinstance(state.users.repository, SQLiteUserRepository)


async def get_optional_user(
    request: Request,
    state: StateDep,
    _token: Annotated[str | None, Depends(_oauth2)],
    _key: Annotated[str | None, Depends(_api_key)],
) -> User | None:
    # on the event loop when that is cheap: a thread-pool round trip waits a whole turn of a busy loop (issue 18)
    if local_auth(request, state):
        return authenticate_request(request, state.settings, state.users)
    return await run_in_threadpool(authenticate_request, request, state.settings, state.users)


OptionalUserDep = Annotated[User | None, Depends(get_optional_user)]


def _login_required(
    message: str = "log in first: POST /api/v1/auth/token, then send 'Authorization: Bearer <token>'",
) -> ApiError:
    return ApiError(401, "not_authenticated", message, headers={"WWW-Authenticate": "Bearer"})


async def require_user(user: OptionalUserDep) -> User:
    # the role checks below are async too: in-memory checks, resolved on the event loop (issue 18)
    if user is None:
        raise _login_required()
    return user


CurrentUserDep = Annotated[User, Depends(require_user)]


def _only_published(user: User) -> ApiError:
    return ApiError(
        403, "forbidden", f"role {user.role.value!r} reads published advisories only: GET /api/v1/advisories"
    )


def check_reader(user: User) -> User:
    """Anyone logged in except an api_consumer, in every mode: signals, candidates, documents, the graph and the
    review data (comments, decisions, the overdue list) are unpublished, so an anonymous caller gets 401."""
    if user.role not in READER_ROLES:
        raise _only_published(user)
    return user


async def require_reader(user: CurrentUserDep) -> User:
    return check_reader(user)


async def require_writer(user: OptionalUserDep) -> User:
    """Role analyst, admin or station, by password, token or API key alike: a key carries its owner's role."""
    if user is None:
        raise _login_required(
            "writing needs a login (role analyst, admin or station) or an API key in the X-API-Key header"
        )
    if user.role is Role.api_consumer:
        raise _only_published(user)
    if not may_write(user.role):
        key = " 的 API 密钥（API key）" if user.via == "api_key" else ""
        raise ApiError(
            403,
            "forbidden",
            f"角色 {user.role.value!r}{key} 不能提交文档（submit documents）：需要 analyst、admin 或 station 角色",
        )
    return user


async def require_analyzer(user: OptionalUserDep, state: StateDep) -> User | None:
    if user is None and not analyze_open(state.settings):
        raise _login_required("analysis needs a login or an API key in the X-API-Key header")
    return user


async def require_admin(user: CurrentUserDep) -> User:
    if user.role is not Role.admin:
        raise ApiError(403, "forbidden", "only an admin can do this")
    return user


async def require_reviewer(user: CurrentUserDep) -> User:
    """An analyst or admin: decides, assigns, comments, merges, splits, drafts advisories."""
    if user.role not in REVIEWER_ROLES:
        raise ApiError(403, "forbidden", f"role {user.role.value!r} cannot review; it needs analyst or admin")
    return user


async def require_publisher(user: CurrentUserDep) -> User:
    """A publisher or admin: approves advisories for publication."""
    if user.role not in PUBLISHER_ROLES:
        raise ApiError(
            403, "forbidden", f"role {user.role.value!r} cannot approve publication; it needs publisher or admin"
        )
    return user


ReaderDep = Annotated[User, Depends(require_reader)]
# Review data (comments, decisions, objections, the overdue list) is read under the same rule as candidates.
ReviewReaderDep = ReaderDep
ReviewerDep = Annotated[User, Depends(require_reviewer)]
PublisherDep = Annotated[User, Depends(require_publisher)]
WriterDep = Annotated[User, Depends(require_writer)]
AnalyzerDep = Annotated[User | None, Depends(require_analyzer)]
AdminDep = Annotated[User, Depends(require_admin)]
