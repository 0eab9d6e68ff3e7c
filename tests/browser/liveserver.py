"""A real uvicorn server for an app on 127.0.0.1 and a free port, run in a thread (tests and benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

STARTUP_SECONDS = 30.0


class LiveServer:
    """Serves `app` with uvicorn on a loopback socket until stopped; use as a context manager."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", log_level: str = "warning", **config: Any) -> None:
        # IPPROTO_TCP named explicitly: accepted sockets inherit it, and asyncio sets TCP_NODELAY only when it
        # sees it (uvicorn issue #3149: without it every keep-alive response waits ~40 ms on a delayed ACK)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.host, self.port = self.sock.getsockname()[:2]
        cfg = uvicorn.Config(app, host=host, port=self.port, log_level=log_level, lifespan="on", **config)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the app server stopped while starting; see the log above")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the app server did not start within {STARTUP_SECONDS:.0f} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=15)
        self.sock.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
