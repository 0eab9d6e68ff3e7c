"""Error responses: every error is {"error": {"code", "message", "details"}} with a stable code.

Console pages (paths outside /api, asked for by a browser) get the same error as an HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskmine.api.render import SECURITY_HEADERS
from riskmine.schema.errors import RiskmineError

log = logging.getLogger("riskmine.api")

# Codes for errors raised by the framework itself (routing, methods, ...).
_STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(RiskmineError):
    """An error a client can hit: HTTP status, stable code, a message that says what to do."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = [dict(d) for d in details or []]
        self.headers = dict(headers or {})


# What the 404 message calls each kind of record.
RECORD_KIND: dict[str, str] = {
    "candidate": "候选风险",
    "document": "文档",
    "signal": "信号",
    "user": "用户",
    "API key": "接口密钥",
}


def not_found(kind: str, record_id: str) -> ApiError:
    return ApiError(404, "not_found", f"没有编号为 {record_id} 的{RECORD_KIND.get(kind, kind)}")


def error_body(code: str, message: str, details: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": [dict(d) for d in details or []]}}


def wants_html(path: str, accept: str) -> bool:
    """Whether an error for this path and Accept header is shown as a page (a browser on the console)."""
    if path.startswith(("/api/", "/health", "/docs", "/redoc", "/openapi", "/static/")):
        return False
    return "text/html" in accept


def _wants_html(request: Request) -> bool:
    return wants_html(request.url.path, request.headers.get("accept", ""))


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if _wants_html(request):
        templates = getattr(request.app.state, "templates", None)
        if templates is not None:
            return templates.TemplateResponse(
                request,
                "error.html",
                {"status": status, "code": code, "message": message, "details": list(details or [])},
                status_code=status,
                headers={**SECURITY_HEADERS, **(headers or {})},
            )
        return HTMLResponse(f"{status} {code}", status_code=status)
    return JSONResponse(error_body(code, message, details), status_code=status, headers=dict(headers or {}))


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        where = loc[0] if loc else ""
        if where in ("query", "path", "header", "cookie") and len(loc) > 1:
            field = loc[1]  # the parameter's name (a list parameter adds an index after it)
        else:
            field = ".".join(loc[1:]) if len(loc) > 1 else where
        details.append({"in": where, "field": field, "reason": str(err.get("msg", "invalid value"))})
    return details


async def _riskmine_error(request: Request, exc: Exception) -> Response:
    """Every error of riskmine, one way: its status and code, its message, the details and headers it carries."""
    assert isinstance(exc, RiskmineError)
    message = getattr(exc, "message", None) or str(exc)
    if exc.status >= 500:
        log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, message, exc_info=exc)
    return error_response(
        request, exc.status, exc.code, message, getattr(exc, "details", None), getattr(exc, "headers", None)
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    if isinstance(exc.detail, str) and exc.detail:
        message = exc.detail
    else:
        message = HTTPStatus(exc.status_code).phrase if exc.status_code in HTTPStatus._value2member_map_ else code
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such resource: {request.url.path}; the API is described at /docs"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}; see /docs for the methods it accepts"
    return error_response(request, exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    fields = ", ".join(sorted({d["field"] for d in details if d["field"]}))
    message = f"invalid request: check {fields}" if fields else "invalid request"
    return error_response(request, 422, "invalid_request", message, details)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        request, 500, "internal_error", "unexpected server error; the server log has the details, please report it"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RiskmineError, _riskmine_error)  # ApiError, StoreError, ReviewError, ReportError …
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
