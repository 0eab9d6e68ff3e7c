"""Authentication: JWT access tokens (HS256), the console's session cookie, API keys, and access policies.

* `POST /api/v1/auth/token` (OAuth2 password flow) issues a bearer token;
* the console's login form puts the same token in an HttpOnly, SameSite=Lax cookie;
* machines send `X-API-Key: rmk_...`.

A credential that is sent but wrong is refused with 401 (never silently treated as anonymous),
except an expired or stale session cookie, which just counts as logged out.

Anonymous callers reach published advisories (and their Atom feed), the public-report form, /health,
/docs and the console's login page, in development as in production (Sichuan 第七条: no risk
information goes out without approval); everything else needs a login. POST /api/v1/analyze opens to
anonymous callers only where RISKMINE_OPEN_ANALYZE opts in.

A credential is resolved once per process and kept (riskmine.review.users.PrincipalCache): a verified token by
an HMAC of it under the signing key, until its expiry; a request then reads only the users' generation, which any
change of a user's standing or a key's revocation changes, in every process.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from fastapi import Request, Response

from riskmine.api.errors import ApiError
from riskmine.review.users import User, UserStore
from riskmine.settings import Settings

ALGORITHM = "HS256"
ISSUER = "riskmine"
COOKIE_NAME = "riskmine_session"
API_KEY_HEADER = "X-API-Key"
DEFAULT_TOKEN_TTL_MINUTES = 8 * 60
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_secret(settings: Settings) -> None:
    """Refuse to run with the default (or a short) secret key unless env is development (see Settings.check_secret)."""
    settings.check_secret()


def analyze_open(settings: Any) -> bool:
    """Whether /api/v1/analyze accepts anonymous callers: only where RISKMINE_OPEN_ANALYZE opts in, in any mode."""
    return bool(getattr(settings, "open_analyze", False))


def token_ttl(settings: Any) -> timedelta:
    return timedelta(minutes=int(getattr(settings, "token_ttl_minutes", None) or DEFAULT_TOKEN_TTL_MINUTES))


def _signing_key(settings: Any) -> bytes:
    # A fixed-length HMAC key derived from the configured secret, kept apart from other uses of it.
    return hashlib.sha256(b"riskmine.jwt\x00" + str(settings.secret_key).encode("utf-8")).digest()


def create_access_token(user: User, settings: Any, now: datetime | None = None, *, version: int = 0) -> tuple[str, int]:
    """A signed token for the user and its lifetime in seconds; `version` is the user's token version."""
    issued = now or datetime.now(UTC)
    ttl = token_ttl(settings)
    claims = {
        "sub": user.id,
        "name": user.username,
        "role": user.role.value,
        "iss": ISSUER,
        "iat": issued,
        "exp": issued + ttl,
        "ver": version,
    }
    return jwt.encode(claims, _signing_key(settings), algorithm=ALGORITHM), int(ttl.total_seconds())


def user_from_token(token: str, settings: Any, users: UserStore, via: str = "token") -> User:
    """The current user for a token; ApiError 401 if the token is invalid, expired or its user is gone.

    Kept in the users' principal cache until the token expires or the users' generation changes."""
    signing_key = _signing_key(settings)
    key = "jwt:" + hmac.digest(signing_key, token.encode("utf-8"), "sha256").hex()
    generation = users.generation()  # read before resolving: a change after it is seen by the next request
    user = users.principals.get(key, generation)
    if user is None:
        user, expires = _resolve_token(token, signing_key, users)
        users.principals.put(key, generation, user, expires)
    return user if user.via == via else replace(user, via=via)


def _resolve_token(token: str, signing_key: bytes, users: UserStore) -> tuple[User, float]:
    """The token's user (``via="token"``) and the token's expiry (seconds since the epoch)."""
    try:
        claims = jwt.decode(
            token,
            signing_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token_expired", "the access token has expired; log in again") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid_token", "the access token is not valid; log in again") from None
    user = users.get_user(str(claims["sub"]))
    if user is None:
        raise _unauthorized("invalid_token", "the token's user no longer exists or is disabled")
    if claims.get("ver", 0) != users.token_version(user.id):
        raise _unauthorized("token_revoked", "访问令牌（access token）已因密码修改而失效，请重新登录")
    return User(user.id, user.username, user.role, user.organisation, via="token"), float(claims["exp"])


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers={"WWW-Authenticate": "Bearer"})


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", request.url.netloc)


def authenticate_request(request: Request, settings: Any, users: UserStore) -> User | None:
    """The principal behind the request's credentials, or None for an anonymous request."""
    api_key = request.headers.get(API_KEY_HEADER)
    if api_key is not None:
        user = users.authenticate_api_key(api_key.strip())
        if user is None:
            raise ApiError(401, "invalid_api_key", "the API key is unknown or revoked; ask an admin for a new one")
        return user
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("invalid_token", "send the token as 'Authorization: Bearer <token>'")
        return user_from_token(token.strip(), settings, users)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        try:
            user = user_from_token(cookie, settings, users, via="cookie")
        except ApiError:
            return None  # an expired session is simply logged out
        if request.method not in SAFE_METHODS and not same_origin(request):
            raise ApiError(403, "cross_site_request", "a session cookie was sent from another site; request refused")
        return user
    return None


def set_session_cookie(response: Response, token: str, max_age: int, settings: Any) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.env != "development",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Any) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.env != "development")
