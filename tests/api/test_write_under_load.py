"""A write under read load (issue 18): a one-document POST waits no turn of the event loop while readers keep it
busy. Each turn serves every ready reader once, so the reads served while the write is in flight count the turns it
waited, whatever the machine's speed: the dependencies and the parsing of a small body run on the loop (one
thread-pool round trip cost a whole turn, and the write made ~20 of them), and so does the store write itself, a
millisecond of SQLite when the write lock is free (AppState.run_short_write; on the write threads it cost 2-3 turns:
the thread's result reaches the loop in one turn, the handler resumes in the next)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import pytest

from riskmine.api.app import create_app
from riskmine.api.auth import create_access_token
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, keyword_pipeline

READERS = 20
WRITES = 7
MAX_TURNS = 0.5  # measured: 0 (the write completes within its handler's turn); on the write threads: 2-3


def test_a_write_waits_few_turns_of_a_busy_loop(
    store: SQLiteStore, users: UserStore, settings: Settings, seeded: dict[str, Any]
) -> None:
    if not isinstance(store, SQLiteStore):  # the API suite also runs over the search cluster
        pytest.skip("writes run in place only over a local SQLite store; over the network turns count its round trips")
    app = create_app(settings, store=store, users=users, pipeline_factory=keyword_pipeline)
    user = users.create_user("load-analyst", PASSWORD, "analyst")
    token, _ = create_access_token(user, settings, version=users.token_version(user.id))

    async def call(method: str, path: str, query: bytes, body: bytes = b"") -> int:
        headers = [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        return statuses[0]

    async def run() -> list[int]:
        started: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(
            app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, started.put)
        )
        assert (await started.get())["type"] == "lifespan.startup.complete"
        reads = 0
        stop = False

        async def reader() -> None:
            nonlocal reads
            while not stop:
                assert await call("GET", "/api/v1/candidates", b"limit=50") == 200
                reads += 1
                await asyncio.sleep(0)  # the next turn

        async def write(n: int) -> int:
            doc = {
                "id": f"load-{n}-{time.time_ns()}",
                "text": f"充电宝充电时冒烟发烫，第{n}次反馈",
                "product": "充电宝",
            }
            before = reads
            query = b"source=load&source_type=review&process=false"
            assert await call("POST", "/api/v1/documents", query, json.dumps([doc]).encode()) == 201
            return reads - before

        for _ in range(2):
            assert await call("GET", "/api/v1/candidates", b"limit=50") == 200
        await write(-1)  # the write threads are started
        tasks = [asyncio.create_task(reader()) for _ in range(READERS)]
        await asyncio.sleep(0.2)
        served = []
        for n in range(WRITES):
            served.append(await write(n))
            await asyncio.sleep(0.01)
        stop = True
        await asyncio.gather(*tasks)
        await inbox.put({"type": "lifespan.shutdown"})
        await started.get()
        await lifespan
        return served

    served = asyncio.run(run())
    turns = statistics.median(served) / READERS
    assert turns <= MAX_TURNS, f"a write waited {turns:.1f} turns of the loop (reads served during each: {served})"
    assert app.state.riskmine.inline_write_count == WRITES + 1  # every write ran in place, under the write lock
