"""Latency of the review console's hot paths under load: the queue API, a candidate page and the search API.

A store of N synthetic signals (default 100,000; keyword-annotated Chinese review and complaint texts
over 12 product categories, 6 hazards and 10 regions, spread over 26 weeks) is written directly, the
candidate risks are built from it by the real candidate refresh, and the app is served by uvicorn in
its own process(es) on 127.0.0.1. C clients (default 50) are kept busy against one endpoint at a time,
logged in as an analyst (bearer token):

* ``GET /api/v1/candidates?limit=50``                           queue API
* ``GET /candidates/{id}``                                      candidate page (HTML, rotating ids)
* ``GET /api/v1/signals?q=<term>&limit=20``                     search API (rotating terms)

The load generator is wrk (``apt-get install wrk``; a Lua script sets the bearer header and rotates the
paths) when it is installed, as the issue's figures are; otherwise an httpx AsyncClient in Python (one event
loop, itself a large CPU cost on a small machine). The output says which one ran. Each endpoint is run
``--repeats`` times; the medians over the repeats of p50, p90, p99, max and requests per second are printed,
with p99 against its goal (50 ms; search 100 ms), and the load average beside them (a loaded machine makes a
figure worth less). Then a write (``POST /api/v1/documents?process=false``, one document; or with ``--write-kind
assign`` an analyst's assignment of a candidate) is timed alone and while the C clients read the queue API, in
``--repeats`` alternating rounds of ``--write-repeats`` writes each: the median under load against the median alone,
beside the goal (at most 2x).

Run: ``python -m bench console_latency`` or
``python -m bench.console_latency [signals] [clients] [requests] [workers] [--driver wrk|httpx]
[--duration S] [--repeats R] [--write-repeats W] [--write-kind documents|assign] [--writes-only] [--var-dir DIR]``
(``requests`` is per endpoint and repeat for httpx; wrk runs ``--duration`` seconds instead; ``--var-dir`` keeps the
built store there and reuses it on the next run; ``--writes-only`` skips the read endpoints).
The "1 client" column is the service time without queueing: at C clients on W workers, p50 is
roughly C / W times it, so the goal needs a service time well under 50 ms x W / C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

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
DEFAULT_DURATION_S = 10.0  # one wrk run
DEFAULT_REPEATS = 3
WRK_THREADS = 2
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


def open_or_build(var_dir: Path, n: int) -> list[str]:
    """The candidate ids of the store under `var_dir`, built with `n` signals unless a previous run left one."""
    marker = var_dir / f"bench-console-{n}.ok"
    if not marker.exists():
        if var_dir.exists():
            shutil.rmtree(var_dir)
        _, ids = build_store(var_dir, n)
        marker.write_text("\n".join(ids), encoding="utf-8")
        return ids
    print(f"store: reusing {var_dir} ({n} signals)")
    return marker.read_text(encoding="utf-8").split()


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


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app server exited with status {proc.returncode}")
        try:
            if httpx.get(base + "/health", timeout=5.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the app server did not answer /health within {timeout:.0f} s")


def login(base: str) -> str:
    r = httpx.post(base + "/api/v1/auth/token", data={"username": "bench-analyst", "password": PASSWORD}, timeout=60)
    r.raise_for_status()
    return str(r.json()["access_token"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass(frozen=True)
class Run:
    """One load run against one endpoint: latencies in ms, requests per second."""

    p50: float
    p90: float
    p99: float
    max: float
    rps: float
    requests: int


def median_run(runs: list[Run]) -> Run:
    def med(get: Callable[[Run], float]) -> float:
        return statistics.median(get(r) for r in runs)

    return Run(
        med(lambda r: r.p50),
        med(lambda r: r.p90),
        med(lambda r: r.p99),
        med(lambda r: r.max),
        med(lambda r: r.rps),
        sum(r.requests for r in runs),
    )


# --- wrk ---------------------------------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%(paths)s}
local n = 0
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RISKMINE {\\"p50\\": %%d, \\"p90\\": %%d, \\"p99\\": %%d, \\"max\\": %%d, \\"requests\\": %%d, " ..
    "\\"duration_us\\": %%d, \\"status_errors\\": %%d, \\"socket_errors\\": %%d}\\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_script(paths: list[str], token: str, folder: Path) -> Path:
    script = folder / f"paths-{abs(hash(tuple(paths)))}.lua"
    quoted = ", ".join(json.dumps(p) for p in paths)  # ASCII: the paths are percent-encoded
    script.write_text(WRK_SCRIPT % {"paths": quoted, "token": token}, encoding="utf-8")
    return script


def wrk_command(base: str, script: Path, clients: int, duration: float) -> list[str]:
    threads = max(1, min(WRK_THREADS, clients))
    return ["wrk", f"-t{threads}", f"-c{clients}", f"-d{duration:g}s", "--timeout", "30s", "-s", str(script), base]


def parse_wrk(output: str) -> Run:
    for line in output.splitlines():
        if line.startswith("RISKMINE "):
            got = json.loads(line.removeprefix("RISKMINE "))
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{output[-2000:]}")
    if got["status_errors"] or got["socket_errors"]:
        raise RuntimeError(f"wrk: {got['status_errors']} non-2xx/3xx answers, {got['socket_errors']} socket errors")
    if not got["requests"]:
        raise RuntimeError("wrk: no request completed")
    ms = 1000.0
    return Run(
        got["p50"] / ms,
        got["p90"] / ms,
        got["p99"] / ms,
        got["max"] / ms,
        got["requests"] / (got["duration_us"] / 1e6),
        got["requests"],
    )


def wrk_run(base: str, script: Path, clients: int, duration: float) -> Run:
    done = subprocess.run(
        wrk_command(base, script, clients, duration), capture_output=True, text=True, timeout=duration + 120
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1000:]}")
    return parse_wrk(done.stdout)


# --- httpx (fallback) --------------------------------------------------------------------------------------------


async def _httpx_load(client: httpx.AsyncClient, paths: list[str], clients: int, total: int) -> Run:
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
    return Run(
        percentile(latencies, 50),
        percentile(latencies, 90),
        percentile(latencies, 99),
        max(latencies),
        len(latencies) / wall,
        len(latencies),
    )


def httpx_run(base: str, token: str, paths: list[str], clients: int, total: int) -> Run:
    async def go() -> Run:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0, headers=headers) as client:
            return await _httpx_load(client, paths, clients, total)

    return asyncio.run(go())


# --- the measurement ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    signals: int
    clients: int
    requests: int
    workers: int
    driver: str  # "wrk" or "httpx"
    duration: float
    repeats: int
    write_repeats: int
    writes_only: bool = False  # skip the read endpoints: only the write alone and under the readers
    write_kind: str = "documents"  # "documents": a one-document POST; "assign": a candidate's assignment


def endpoints(candidate_ids: list[str]) -> dict[str, list[str]]:
    return {
        "queue API": ["/api/v1/candidates?limit=50"],
        "candidate page": [f"/candidates/{cid}" for cid in candidate_ids[:50]],
        "search API": [f"/api/v1/signals?q={quote(term)}&limit=20" for term in SEARCH_TERMS],  # as a browser sends it
    }


def measure(base: str, token: str, candidate_ids: list[str], opts: Options, folder: Path) -> None:
    def run(paths: list[str], clients: int, short: bool = False) -> Run:
        if opts.driver == "wrk":
            return wrk_run(
                base, wrk_script(paths, token, folder), clients, min(3.0, opts.duration) if short else opts.duration
            )
        return httpx_run(base, token, paths, clients, SERIAL_REQUESTS if short else opts.requests)

    targets = {} if opts.writes_only else endpoints(candidate_ids)
    for paths in targets.values():  # warm the caches and the pipeline-free code paths
        httpx_run(base, token, paths, 5, 40)
    print(f"load generator: {opts.driver}; medians of {opts.repeats} runs per endpoint")
    print(f"{'endpoint':<16}{'1 client p50':>13}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}", end="")
    print(f"{'req/s':>9}{'p99/goal':>10}  load average")
    for name, paths in targets.items():
        serial = run(paths, 1, short=True)  # service time without queueing
        loaded = median_run([run(paths, opts.clients) for _ in range(opts.repeats)])
        goal = GOAL_SEARCH_P99_MS if name == "search API" else GOAL_P99_MS
        print(
            f"{name:<16}{serial.p50:>13.1f}{loaded.p50:>9.1f}{loaded.p90:>9.1f}{loaded.p99:>9.1f}{loaded.max:>9.1f}"
            f"{loaded.rps:>9.0f}{loaded.p99 / goal:>10.2f}  {load_average()}",
            flush=True,
        )
        record(f"{name} p99, {opts.clients} clients", loaded.p99, goal, unit="ms", higher_is_better=False)
    measure_writes(base, token, opts, folder, candidate_ids)


@contextmanager
def readers(base: str, token: str, opts: Options, folder: Path) -> Iterator[None]:
    """`opts.clients` clients reading the queue API until the block ends (wrk, or httpx in a thread)."""
    path = "/api/v1/candidates?limit=50"
    if opts.driver == "wrk":
        proc = subprocess.Popen(
            wrk_command(base, wrk_script([path], token, folder), opts.clients, 3600),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)  # the readers are at full load
            yield
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        return
    import threading

    stop = threading.Event()

    async def read_until_stopped() -> None:
        limits = httpx.Limits(max_connections=opts.clients, max_keepalive_connections=opts.clients)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60.0, headers=headers) as client:

            async def reader() -> None:
                while not stop.is_set():
                    await client.get(path)

            await asyncio.gather(*(reader() for _ in range(opts.clients)))

    thread = threading.Thread(target=lambda: asyncio.run(read_until_stopped()), daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def measure_writes(base: str, token: str, opts: Options, folder: Path, candidate_ids: list[str]) -> None:
    """A write's latency alone and while `opts.clients` read the queue API: `opts.repeats` rounds, each of
    `opts.write_repeats` writes alone then as many under the readers (alternating, so that a change in the machine's
    load touches both sides alike); the medians over all rounds, and each round's ratio."""
    serial: list[float] = []
    loaded: list[float] = []
    ratios: list[float] = []
    counter = iter(range(10**9))
    stamp = int(time.time())
    with httpx.Client(base_url=base, timeout=60.0, headers={"Authorization": f"Bearer {token}"}) as client:

        def post(n: int) -> httpx.Response:
            if opts.write_kind == "assign":  # an analyst's assignment of a candidate (review API)
                cid = candidate_ids[n % len(candidate_ids)]
                body = {"assignee": "bench-analyst" if n % 2 else None}
                return client.post(f"/api/v1/review/candidates/{cid}/assign", json=body)
            doc = {"id": f"bench-write-{stamp}-{n}", "text": f"充电宝充电时冒烟发烫，第{n}次反馈", "product": "充电宝"}
            return client.post("/api/v1/documents?source=bench&source_type=review&process=false", json=[doc])

        def write(into: list[float]) -> None:
            n = next(counter)
            t = time.perf_counter()
            r = post(n)
            into.append((time.perf_counter() - t) * 1000)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"write failed: HTTP {r.status_code} {r.text[:200]}")

        for _ in range(opts.repeats):
            alone_round: list[float] = []
            loaded_round: list[float] = []
            for _ in range(opts.write_repeats):
                write(alone_round)
                time.sleep(0.05)
            with readers(base, token, opts, folder):
                for _ in range(opts.write_repeats):
                    write(loaded_round)
                    time.sleep(0.1)
            serial += alone_round
            loaded += loaded_round
            ratios.append(statistics.median(loaded_round) / statistics.median(alone_round))
    alone, under = statistics.median(serial), statistics.median(loaded)
    rounds = " ".join(f"{r:.2f}" for r in ratios)
    print(
        f"write ({opts.write_kind}) alone p50 {alone:.1f} ms; under {opts.clients} readers ({opts.driver}) p50 "
        f"{under:.1f} ms, max {max(loaded):.1f} ms: {under / alone:.2f}x alone (goal <= {GOAL_WRITE_RATIO:.0f}x; "
        f"rounds {rounds})  {load_average()}"
    )
    record(
        f"a write under {opts.clients} readers / alone"
        + ("" if opts.write_kind == "documents" else f" ({opts.write_kind})"),
        under / alone,
        GOAL_WRITE_RATIO,
        unit="x",
        higher_is_better=False,
    )


def parse_args(argv: list[str]) -> tuple[Options, Path | None]:
    parser = argparse.ArgumentParser(prog="python -m bench.console_latency", description=__doc__.split("\n")[0])
    parser.add_argument("signals", nargs="?", type=int, default=DEFAULT_SIGNALS)
    parser.add_argument("clients", nargs="?", type=int, default=DEFAULT_CLIENTS)
    parser.add_argument("requests", nargs="?", type=int, default=DEFAULT_REQUESTS, help="per endpoint (httpx)")
    parser.add_argument("workers", nargs="?", type=int, default=DEFAULT_WORKERS, help="server processes")
    parser.add_argument("--driver", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S, help="seconds of one wrk run")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs per endpoint (medians printed)")
    parser.add_argument("--write-repeats", type=int, default=WRITE_REPEATS)
    parser.add_argument("--write-kind", choices=("documents", "assign"), default="documents", help="the timed write")
    parser.add_argument("--writes-only", action="store_true", help="only the write alone and under the readers")
    parser.add_argument("--var-dir", type=Path, default=None, help="keep the store here and reuse it")
    args = parser.parse_args(argv)
    driver = args.driver
    if driver == "auto":
        driver = "wrk" if shutil.which("wrk") else "httpx"
    elif driver == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk); use --driver httpx")
    opts = Options(
        args.signals,
        args.clients,
        args.requests,
        args.workers,
        driver,
        args.duration,
        max(1, args.repeats),
        max(1, args.write_repeats),
        args.writes_only,
        args.write_kind,
    )
    return opts, args.var_dir


def main(argv: list[str]) -> None:
    opts, keep = parse_args(argv)
    print(
        f"{opts.signals} signals, {opts.clients} concurrent clients, {opts.workers} uvicorn worker(s) on "
        f"{os.cpu_count()} CPU(s) shared with the load generator ({opts.driver}); goal p99 <= {GOAL_P99_MS:.0f} ms"
        f" (search {GOAL_SEARCH_P99_MS:.0f} ms); {load_average()}"
    )
    with tempfile.TemporaryDirectory(prefix="riskmine-bench-") as tmp:
        var_dir = keep if keep is not None else Path(tmp) / "var"
        candidate_ids = open_or_build(var_dir, opts.signals)
        if not candidate_ids:
            raise RuntimeError("no candidates were built from the synthetic signals")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = serve(var_dir, port, opts.workers)
        try:
            wait_ready(base, proc)
            measure(base, login(base), candidate_ids, opts, Path(tmp))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main(sys.argv[1:])
