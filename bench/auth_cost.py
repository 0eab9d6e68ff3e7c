"""Per-request cost of authentication, in process, with the principal cache on and off in the same run.

An app over a small synthetic store (bench.console_latency's signals) and a users database with one analyst is
driven through Starlette's TestClient (no sockets): ``/health`` (no credential) and the cached queue API
``GET /api/v1/candidates?limit=50`` with a bearer token, a session cookie and an API key, each with the process's
cache of resolved principals (riskmine.review.users.PrincipalCache) on and off, in alternating rounds so that both
see the same load. "Off" resolves every credential as before the cache: a token is decoded and its user and token
version read, a key is looked up (and its use noted), on every request. Then the credential check alone
(``authenticate_request``) is timed the same way. Run: ``python -m bench auth_cost`` or
``python -m bench.auth_cost [requests] [signals]``; ``--profile`` adds the cProfile of the cached check.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient
from starlette.requests import Request

from bench.console_latency import PASSWORD, build_store
from riskmine.api.app import create_app
from riskmine.api.auth import COOKIE_NAME, authenticate_request
from riskmine.review.users import UserStore

DEFAULT_REQUESTS = 2_000
DEFAULT_SIGNALS = 2_000
ROUNDS = 6
QUEUE = "/api/v1/candidates?limit=50"


@contextmanager
def cache_off(users: UserStore) -> Iterator[None]:
    """Every credential resolved from the users database, as before the cache (the generation is still read)."""
    users.principals.get = lambda key, generation: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        del users.principals.get


def compare_ms(call: Callable[[], object], users: UserStore, n: int) -> tuple[float, float]:
    """Mean ms per call with the cache on and off: the median over alternating rounds of n / ROUNDS calls each."""
    each = max(1, n // ROUNDS)
    on: list[float] = []
    off: list[float] = []
    for _ in range(ROUNDS):
        for times, switch in ((on, None), (off, cache_off)):
            call()  # the first call of a round fills the cache (on) or is the same as the rest (off)
            t0 = time.perf_counter()
            if switch is None:
                for _ in range(each):
                    call()
            else:
                with switch(users):
                    for _ in range(each):
                        call()
            times.append((time.perf_counter() - t0) / each * 1000)
    return statistics.median(on), statistics.median(off)


def request_with(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/api/v1/candidates", "headers": raw, "query_string": b""}
    return Request(scope)


def main(argv: list[str]) -> None:
    profile = "--profile" in argv
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else DEFAULT_REQUESTS
    signals = int(args[1]) if len(args) > 1 else DEFAULT_SIGNALS
    with tempfile.TemporaryDirectory(prefix="riskmine-auth-") as tmp:
        settings, _ = build_store(Path(tmp) / "var", signals)
        users = UserStore.from_settings(settings)
        analyst = users.get_by_username("bench-analyst")
        assert analyst is not None
        _, api_key = users.create_api_key(analyst.id, "bench")
        with TestClient(create_app(settings, users=users)) as client:
            r = client.post("/api/v1/auth/token", data={"username": "bench-analyst", "password": PASSWORD})
            token = r.json()["access_token"]
            credentials = {
                "bearer token": {"Authorization": f"Bearer {token}"},
                "session cookie": {"Cookie": f"{COOKIE_NAME}={token}"},
                "API key": {"X-API-Key": api_key},
            }
            for headers in credentials.values():  # warm the response cache and every path
                assert client.get(QUEUE, headers=headers).status_code == 200
            health, _ = compare_ms(lambda: client.get("/health"), users, n)
            print(f"{n} requests each, in process (TestClient), {signals} signals, load average {os.getloadavg()}")
            print(f"  GET /health (no credential)       {health:8.3f} ms")
            print(f"  GET {QUEUE}     cache on    cache off   off/on")
            for kind, headers in credentials.items():
                on, off = compare_ms(lambda h=headers: client.get(QUEUE, headers=h), users, n)  # type: ignore[misc]
                print(f"    by {kind:<15}             {on:8.3f} ms {off:8.3f} ms  {off / on:5.2f}x")
            print("  the credential check alone (authenticate_request)")
            for kind, headers in credentials.items():
                req = request_with(headers)
                on, off = compare_ms(lambda q=req: authenticate_request(q, settings, users), users, n)  # type: ignore[misc]
                print(f"    {kind:<15} {on * 1000:10.1f} us {off * 1000:10.1f} us  {off / on:6.1f}x")
            if profile:  # the app runs in the TestClient's portal thread: profile the check itself, here
                for kind in ("bearer token", "API key"):
                    req = request_with(credentials[kind])
                    prof = cProfile.Profile()
                    prof.enable()
                    for _ in range(n):
                        authenticate_request(req, settings, users)
                    prof.disable()
                    print(f"--- profile: {n} cached checks of a {kind}, by own time")
                    pstats.Stats(prof).sort_stats("tottime").print_stats(12)
        print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main(sys.argv[1:])
