"""Latency of the review console's hot paths under load: the queue API, a candidate page and the search API.

A store of N synthetic signals (default 100,000; keyword-annotated Chinese review and complaint texts
over 12 product categories, 6 hazards and 10 regions, spread over 26 weeks) is written directly, the
candidate risks are built from it by the real candidate refresh, and the app is served by uvicorn in
its own process on 127.0.0.1. A load generator (httpx AsyncClient, one event loop) keeps C clients
(default 50) busy against one endpoint at a time, logged in as an analyst (bearer token):

* ``GET /api/v1/candidates?limit=50``                           queue API
* ``GET /candidates/{id}``                                      candidate page (HTML, rotating ids)
* ``GET /api/v1/signals?q=<term>&limit=20``                     search API (rotating terms)

For each it prints p50, p90, p99 and max latency and the requests per second, and p99 against the
goal (50 ms) as a ratio. Then a write (``POST /api/v1/documents?process=false``, one document) is timed
alone and while the C clients read the queue API: the median of the repeats under load against the
median alone, beside the goal (at most 2×). Run: ``python -m bench console_latency`` or
``python -m bench.console_latency [signals] [clients] [requests-per-endpoint] [workers]``.
The "1 client" column is the service time without queueing: at C clients on W workers, p50 is
roughly C / W times it, so the goal needs a service time well under 50 ms × W / C.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.targets import record
from riskmine.processing import refresh_candidates
from riskmine.review.users import UserStore
from riskmine.schema import HazardMention, HazardType, RawDocument, RiskLevel, Signal, SourceType
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.factory import open_store

GOAL_P99_MS = 50.0
GOAL_SEARCH_P99_MS = 100.0
DEFAULT_SIGNALS = 100_000
DEFAULT_CLIENTS = 50
DEFAULT_REQUESTS = 1_000
# One worker: uvicorn's multi-worker supervisor binds its socket without IPPROTO_TCP, so accepted connections
# miss TCP_NODELAY and every keep-alive response of more than a segment waits ~40 ms for a delayed ACK
# (uvicorn issue #3149; measured here: candidate page 9 ms with one worker, 52 ms with two, one client).
DEFAULT_WORKERS = 1
SERIAL_REQUESTS = 50
WRITE_BATCH = 2_000
WRITE_REPEATS = 9
GOAL_WRITE_RATIO = 2.0
PASSWORD = "bench-password-123"
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"

CATEGORIES = (
    "充电宝",
    "电热水壶",
    "电动自行车",
    "儿童玩具",
    "吹风机",
    "电暖器",
    "插线板",
    "婴儿推车",
    "燃气灶",
    "空气炸锅",
    "儿童座椅",
    "电饭煲",
)
HAZARDS: dict[str, HazardType] = {
    "起火": HazardType.fire,
    "漏电": HazardType.electric_shock,
    "烫伤": HazardType.burns,
    "夹手": HazardType.entrapment,
    "窒息": HazardType.choking,
    "异味": HazardType.chemical,
}
REGIONS = ("北京", "上海", "广东", "浙江", "江苏", "四川", "山西", "湖北", "山东", "河南")
OPENINGS = ("买的", "家里的", "刚收到的", "用了一个月的", "给孩子买的", "网购的")
ENDINGS = (
    "太吓人了，希望厂家重视。",
    "客服不处理。",
    "已经投诉到平台。",
    "差评！",
    "大家购买时注意。",
    "孩子差点受伤。",
)
SEARCH_TERMS = ("起火", "漏电", "充电宝", "电热水壶 漏电", "儿童玩具", "烫伤", "异味", "插线板 起火")
SOURCE_TYPES = (SourceType.review, SourceType.complaint, SourceType.news, SourceType.station_report)


def synthetic_signals(n: int, offset: int = 0) -> list[Signal]:
    """Signals number `offset` to `offset + n - 1`, annotated as the NLP stages would leave them
    (hazard spans, category, risk); the same numbers give the same signals."""
    rng = random.Random(offset)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(offset, offset + n):
        cat = rng.choice(CATEGORIES)
        term = rng.choice(list(HAZARDS))
        risky = rng.random() < 0.6
        middle = f"{cat}使用时突然{term}了，" if risky else f"{cat}质量还行，物流很快，"
        text = f"{rng.choice(OPENINGS)}{middle}{rng.choice(ENDINGS)}（编号{i}）"
        region = rng.choice(REGIONS)
        doc = RawDocument(
            source="bench",
            source_type=rng.choice(SOURCE_TYPES),
            source_id=f"b{i}",
            url=f"https://shop.example.com/item/{i}",
            text=text,
            published_at=start + timedelta(minutes=rng.randrange(26 * 7 * 24 * 60)),
            region=region,
        )
        sig = Signal.from_document(doc)
        sig.normalized_text = text
        sig.segmented_text = " ".join(text)
        sig.product_category = cat
        if risky:
            pos = text.index(term)
            sig.hazards = [HazardMention(start=pos, end=pos + len(term), text=term, hazard=HAZARDS[term], term=term)]
            sig.is_risk = True
            sig.risk_score = round(0.5 + 0.5 * rng.random(), 3)
            sig.risk_level = RiskLevel.high if "受伤" in text else RiskLevel.medium
        out.append(sig)
    return out


def build_store(var_dir: Path, n: int) -> tuple[Settings, list[str]]:
    """The store under `var_dir` with `n` signals and their candidates; an analyst user. Returns the settings
    and the candidate ids (highest priority first)."""
    settings = Settings(env="development", var_dir=var_dir, secret_key=SECRET)
    store = open_store(settings)
    try:
        t0 = time.perf_counter()
        for start in range(0, n, WRITE_BATCH):
            batch = synthetic_signals(min(WRITE_BATCH, n - start), offset=start)
            store.write(Collection.documents, [s.document for s in batch])
            store.write(Collection.signals, batch)
        t1 = time.perf_counter()
        made = refresh_candidates(store)
        t2 = time.perf_counter()
        ids = [c.id for c in store.query(Collection.candidates, sort="priority", limit=500).items]
        print(f"store: {n} signals written in {t1 - t0:.1f} s, {made} candidates built in {t2 - t1:.1f} s")
    finally:
        store.close()
    UserStore.from_settings(settings).create_user("bench-analyst", PASSWORD, "analyst")
    return settings, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(var_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """uvicorn in its own process (so the load generator does not share its interpreter)."""
    env = {
        **os.environ,
        "RISKMINE_ENV": "development",
        "RISKMINE_VAR_DIR": str(var_dir),
        "RISKMINE_SECRET_KEY": SECRET,
    }
    cmd = [sys.executable, "-m", "uvicorn", "riskmine.api.app:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    # keep idle connections open longer than the load generator pauses between phases (an idle connection
    # closed by the server under the client is a ReadError on its next request)
    cmd += ["--timeout-keep-alive", "120"]
    cmd += ["--workers", str(workers)]
    return subprocess.Popen(cmd, env=env)


async def wait_ready(client: httpx.AsyncClient, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app server exited with status {proc.returncode}")
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the app server did not answer /health within {timeout:.0f} s")


async def load(client: httpx.AsyncClient, paths: list[str], clients: int, total: int) -> tuple[list[float], float]:
    """`total` GETs spread over `clients` concurrent workers; latencies in ms and the wall time."""
    latencies: list[float] = []
    counter = iter(range(total))
    failures: list[str] = []

    async def worker() -> None:
        for i in counter:
            path = paths[i % len(paths)]
            t = time.perf_counter()
            r = await client.get(path)
            latencies.append((time.perf_counter() - t) * 1000)
            if r.status_code != 200:
                failures.append(f"{path}: HTTP {r.status_code} {r.text[:200]}")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t0
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return latencies, wall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def measure(base: str, proc: subprocess.Popen[bytes], candidate_ids: list[str], clients: int, total: int) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0) as client:
        await wait_ready(client, proc)
        r = await client.post("/api/v1/auth/token", data={"username": "bench-analyst", "password": PASSWORD})
        r.raise_for_status()
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        endpoints = {
            "queue API": ["/api/v1/candidates?limit=50"],
            "candidate page": [f"/candidates/{cid}" for cid in candidate_ids[:50]],
            "search API": [f"/api/v1/signals?q={term}&limit=20" for term in SEARCH_TERMS],
        }
        for paths in endpoints.values():  # warm caches and the pipeline-free code paths
            await load(client, paths, min(clients, 5), 20)
        print(f"{'endpoint':<16}{'1 client p50':>13}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}", end="")
        print(f"{'req/s':>9}{'p99/goal':>10}")
        for name, paths in endpoints.items():
            serial, _ = await load(client, paths, 1, SERIAL_REQUESTS)  # service time without queueing
            lat, wall = await load(client, paths, clients, total)
            p99 = percentile(lat, 99)
            print(
                f"{name:<16}{statistics.median(serial):>13.1f}{statistics.median(lat):>9.1f}"
                f"{percentile(lat, 90):>9.1f}{p99:>9.1f}{max(lat):>9.1f}"
                f"{len(lat) / wall:>9.0f}{p99 / GOAL_P99_MS:>10.2f}"
            )
            goal = GOAL_SEARCH_P99_MS if name == "search API" else GOAL_P99_MS
            record(f"{name} p99, {clients} clients", p99, goal, unit="ms", higher_is_better=False)
        await measure_writes(client, clients)


async def measure_writes(client: httpx.AsyncClient, clients: int, repeats: int = WRITE_REPEATS) -> None:
    """A write's latency alone and while `clients` read the queue API (medians of `repeats`)."""
    serial: list[float] = []
    loaded: list[float] = []
    counter = iter(range(10**9))

    async def write(into: list[float]) -> None:
        n = next(counter)
        doc = {"id": f"bench-write-{n}", "text": f"充电宝充电时冒烟发烫，第{n}次反馈", "product": "充电宝"}
        t = time.perf_counter()
        r = await client.post("/api/v1/documents?source=bench&source_type=review&process=false", json=[doc])
        into.append((time.perf_counter() - t) * 1000)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"write failed: HTTP {r.status_code} {r.text[:200]}")

    for _ in range(repeats):
        await write(serial)
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            await client.get("/api/v1/candidates?limit=50")

    readers = [asyncio.create_task(reader()) for _ in range(clients)]
    await asyncio.sleep(1.0)  # the readers are at full load
    for _ in range(repeats):
        await write(loaded)
    stop.set()
    await asyncio.gather(*readers)
    alone, under = statistics.median(serial), statistics.median(loaded)
    print(
        f"write alone p50 {alone:.1f} ms; under {clients} readers p50 {under:.1f} ms, max {max(loaded):.1f} ms:"
        f" {under / alone:.2f}x alone (goal <= {GOAL_WRITE_RATIO:.0f}x)"
    )
    ratio = under / alone
    record(f"a write under {clients} readers / alone", ratio, GOAL_WRITE_RATIO, unit="x", higher_is_better=False)


def main(argv: list[str]) -> None:
    n = int(argv[0]) if len(argv) > 0 else DEFAULT_SIGNALS
    clients = int(argv[1]) if len(argv) > 1 else DEFAULT_CLIENTS
    total = int(argv[2]) if len(argv) > 2 else DEFAULT_REQUESTS
    workers = int(argv[3]) if len(argv) > 3 else DEFAULT_WORKERS
    print(
        f"{n} signals, {clients} concurrent clients, {total} requests per endpoint, {workers} uvicorn worker(s) "
        f"on {os.cpu_count()} CPU(s) shared with the load generator; goal p99 <= {GOAL_P99_MS:.0f} ms"
    )
    with tempfile.TemporaryDirectory(prefix="riskmine-bench-") as tmp:
        var_dir = Path(tmp) / "var"
        _, candidate_ids = build_store(var_dir, n)
        if not candidate_ids:
            raise RuntimeError("no candidates were built from the synthetic signals")
        port = free_port()
        proc = serve(var_dir, port, workers)
        try:
            asyncio.run(measure(f"http://127.0.0.1:{port}", proc, candidate_ids, clients, total))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main(sys.argv[1:])
