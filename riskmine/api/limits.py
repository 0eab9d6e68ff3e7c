"""Request-size limit: a pure ASGI middleware answering 413 payload_too_large.

It refuses a declared Content-Length over the limit before reading anything, and
counts the bytes of a streamed body (no or a false Content-Length) as they arrive.
Once the limit is passed, whatever the application answers is replaced by the 413.
"""

from __future__ import annotations

import html
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskmine.api.errors import error_body, wants_html
from riskmine.api.render import SECURITY_HEADERS
from riskmine.schema.errors import RiskmineError
from riskmine.schema.labels import UPLOAD_ERROR_LABELS


class PayloadTooLarge(RiskmineError):
    """Raised from receive() when the body passes the limit."""

    code = "payload_too_large"
    status = 413


def _too_large_body(limit: int) -> bytes:
    message = f"request body is larger than the limit of {limit:,} bytes; split it into smaller batches"
    return json.dumps(error_body("payload_too_large", message, [{"limit_bytes": limit}])).encode("utf-8")


def size_label(n: int) -> str:
    """A byte count as a station reads it: '50 MB', '1.5 KB', '800 字节'."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{round(n / size, 1):g} {unit}"
    return f"{n:,} 字节"


def too_large_reason(limit: int) -> str:
    """Why an upload over the limit is refused, in Chinese."""
    return UPLOAD_ERROR_LABELS["payload_too_large"].replace("{limit}", size_label(limit))


def _too_large_page(limit: int, path: str) -> bytes:
    """The 413 as a console page, for a browser's form (a station's upload): in Chinese, with a way back."""
    reason = too_large_reason(limit)
    back = html.escape(path.rsplit("/", 1)[0] if path.count("/") > 1 else path, quote=True)
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>文件过大 · riskmine</title>'
        '<link rel="stylesheet" href="/static/console.css"></head><body><main><h1>文件过大</h1>'
        f'<p class="notice" role="alert">{html.escape(reason)}（上限 {limit:,} 字节）。</p>'
        f'<p><a href="{back}">返回上一页</a></p></main></body></html>'
    )
    return page.encode("utf-8")


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _send_413(self, send: Send, scope: Scope) -> None:
        accept = dict(scope.get("headers", [])).get(b"accept", b"").decode("latin-1")
        page = wants_html(scope.get("path", ""), accept)
        body = _too_large_page(self.max_bytes, scope.get("path", "")) if page else _too_large_body(self.max_bytes)
        extra = [(k.lower().encode("ascii"), v.encode("ascii")) for k, v in SECURITY_HEADERS.items()] if page else []
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    *extra,
                    (b"content-type", b"text/html; charset=utf-8" if page else b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._send_413(send, scope)
                    return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise PayloadTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise PayloadTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the 413 goes out instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await self._send_413(send, scope)
