"""The body-size middleware on its own, driven as a raw ASGI app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from riskmine.api.limits import BodySizeLimit


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def swallowing_app(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that catches every error while reading and answers 400 (as form parsers do)."""
    try:
        while (await receive()).get("more_body"):
            pass
    except Exception:
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"bad body"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def call(app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]] | None = None) -> tuple[int, bytes]:
    sent: list[Message] = []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)] or [
        {"type": "http.request", "body": b"", "more_body": False}
    ]

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


def test_small_streamed_body_passes() -> None:
    assert call(BodySizeLimit(echo_length, 100), [b"x" * 40, b"y" * 40]) == (200, b"80")


def test_streamed_body_over_limit_gets_413_json() -> None:
    status, body = call(BodySizeLimit(echo_length, 100), [b"x" * 60, b"y" * 60])
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"


def test_declared_length_over_limit_refused_before_reading() -> None:
    status, body = call(BodySizeLimit(echo_length, 100), [b"x"], headers=[(b"content-length", b"5000")])
    assert status == 413
    assert json.loads(body)["error"]["details"] == [{"limit_bytes": 100}]


def test_a_false_small_content_length_does_not_bypass_the_count() -> None:
    status, _ = call(BodySizeLimit(echo_length, 100), [b"x" * 80, b"y" * 80], headers=[(b"content-length", b"10")])
    assert status == 413


def test_app_response_after_the_limit_is_replaced_by_413() -> None:
    status, body = call(BodySizeLimit(swallowing_app, 100), [b"x" * 80, b"y" * 80])
    assert status == 413
    assert json.loads(body)["error"]["code"] == "payload_too_large"
