"""Documents/s of 1 vs 2 ``riskmine worker`` processes on the Redis task queue (issue 20, item 6).

A throwaway redis-server on loopback; real reviews from the shared data (bench/nlp_throughput.py) stored as
documents in one SQLite store the workers share (before the clock starts, so that storing them does not take CPU
from the workers), then sent as tasks of ``task`` documents each, as the API sends them with ``RISKMINE_QUEUE_URL``
set. The workers are started first and wait for tasks (they load their models once: start-up is not counted); the
clock runs from the first task sent to the last document processed and every refresh owed stored. Each worker
has a var dir of its own, as on its own host. The modes run interleaved, ``repeats`` times, in fresh stores and a
fresh Redis database; medians are printed with the load average, and where each mode's
task time went, from the workers' per-task timings (wall and CPU seconds summed over tasks and workers: process,
refresh, lock wait, NLP stages; CPU seconds are what a loaded machine disturbs least).

Run: ``python -m bench.queue_workers [n] [repeats] [task]`` (defaults 4000 documents, 2 repeats, tasks of 250).
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.nlp_throughput import load_reviews
from bench.targets import record
from tests.redis_server import REDIS_SERVER, redis_server

TARGET = 1.8  # 2 workers vs 1 (issue 18's goal for workers that scale)
TASK = 250  # documents per task: a station upload or an API batch
RISKMINE = Path(sys.executable).parent / "riskmine"  # the command of this environment


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(RISKMINE), "worker"], env=env, stdout=out, stderr=out)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.2)


def task_timings(logs: list[Path]) -> dict[str, float]:
    """The workers' per-task timings (riskmine.worker logs them after each task), summed over tasks and workers."""
    from riskmine.schema.labels import WORKER_LABELS

    head = WORKER_LABELS["timings"].split("{")[0]
    total: dict[str, float] = {"tasks": 0.0}
    for log in logs:
        for line in log.read_text(encoding="utf-8").splitlines():
            if head not in line:
                continue
            total["tasks"] += 1
            for key, value in re.findall(r"(\w+)=([0-9.]+)", line.split(head, 1)[1]):
                total[key] = total.get(key, 0.0) + float(value)
    return total


def one_run(
    root: Path, url: str, texts: list[str], workers: int, models: Path, task: int = TASK
) -> tuple[float, dict[str, float]]:
    """Seconds from the first task sent to the last document processed (and refreshed for) by ``workers``
    workers, and their per-task timings summed."""
    from riskmine.pipeline import Pipeline
    from riskmine.queue import PendingRefresh, TaskQueue
    from riskmine.schema.labels import WORKER_LABELS
    from riskmine.settings import Settings
    from riskmine.store.base import Collection
    from riskmine.store.sqlite import SQLiteStore
    from riskmine.submission import Submission

    db = root / "store.sqlite3"
    base = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="4000", RISKMINE_DB_PATH=str(db), RISKMINE_QUEUE_URL=url)
    base.update(RISKMINE_MODELS_DIR=str(models), RISKMINE_RISK_MODEL="risk-baseline")
    started = WORKER_LABELS["started"].split("，")[0]
    logs = [root / f"worker{n}.log" for n in range(workers)]
    procs = [_worker(dict(base, RISKMINE_VAR_DIR=str(root / f"host{n}")), log) for n, log in enumerate(logs)]
    store = SQLiteStore(db)
    try:
        _wait(lambda: all(started in log.read_text(encoding="utf-8") for log in logs), 300, "the workers to start")
        settings = Settings(var_dir=root / "api", db_path=db, queue_url=url, risk_model="risk-baseline")
        submission = Submission(store, Pipeline([]), settings=settings, queue=None)
        rows = [{"id": f"q{i}", "text": t} for i, t in enumerate(texts)]
        ids = submission.rows(rows, source="bench", source_type="review", process=False).document_ids  # not timed
        queue = TaskQueue(settings)
        owed = PendingRefresh(settings)
        t0 = time.perf_counter()
        for start in range(0, len(ids), task):  # one task per upload, as Submission sends them
            queue.enqueue(ids[start : start + task])
        tasks = -(-len(texts) // task)
        _wait(lambda: store.count(Collection.signals) >= len(texts), 1800, "every document to be processed")
        # every task done (its timings are logged once its refresh is stored or left owed), then nothing owed: a
        # worker's last signals are stored a moment before their ids are recorded as owed
        _wait(lambda: task_timings(logs)["tasks"] >= tasks, 600, "the workers' timings of every task")
        _wait(lambda: owed.count() == 0, 600, "every refresh owed to be stored")
        seconds = time.perf_counter() - t0
        return seconds, task_timings(logs)
    finally:
        store.close()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv: list[str]) -> None:
    from riskmine.models.registry import ensure_model
    from riskmine.settings import Settings

    if not Path(REDIS_SERVER).exists():
        print("skipped: redis-server is not installed (apt-get install redis-server)")
        return
    n = int(argv[0]) if argv else 4000
    repeats = int(argv[1]) if len(argv) > 1 else 2
    task = int(argv[2]) if len(argv) > 2 else TASK
    texts = load_reviews(n)
    print(f"{len(texts)} real texts in tasks of {task}, {repeats} repeats; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        root = Path(tmp)
        env_models = os.environ.get("RISKMINE_MODELS_DIR")
        models = Path(env_models) if env_models else root / "models"
        ensure_model(Settings(var_dir=root / "var", models_dir=models, risk_model="risk-baseline"))  # not timed
        with redis_server(root) as server:  # the tests' throwaway redis-server, on loopback
            url = server.rsplit("/", 1)[0]
            seconds: dict[int, list[float]] = {1: [], 2: []}
            timings: dict[int, list[dict[str, float]]] = {1: [], 2: []}
            loads = []
            for r in range(repeats):
                for workers in (1, 2):  # interleaved; a Redis database of their own each run
                    run = root / f"r{r}w{workers}"
                    run.mkdir()
                    loads.append(os.getloadavg()[0])
                    db_url = f"{url}/{1 + 2 * r + workers - 1}"
                    took, spent = one_run(run, db_url, texts, workers, models, task)
                    seconds[workers].append(took)
                    timings[workers].append(spent)
    med = {w: statistics.median(s) for w, s in seconds.items()}
    for w in (1, 2):
        print(f"  {w} worker(s): {len(texts) / med[w]:.0f} docs/s (median {med[w]:.1f}s of {seconds[w]})")
    ratio = med[1] / med[2]
    print(f"  2 workers / 1 worker: {ratio:.2f}x (target >= {TARGET}x); load average {min(loads):.1f}-{max(loads):.1f}")
    record(f"2 queue workers vs 1, {len(texts)} documents", ratio, TARGET, unit="x")
    for w in (1, 2):
        keys = sorted({k for t in timings[w] for k in t})
        spent = {k: statistics.median(t.get(k, 0.0) for t in timings[w]) for k in keys}
        print(f"  {w} worker(s), per-task timings summed over tasks and workers (median of runs):")
        print("    " + ", ".join(f"{k} {v:.2f}" for k, v in spent.items()))
    print(f"  load average now {os.getloadavg()[0]:.1f} (uptime: {' '.join(f'{x:.2f}' for x in os.getloadavg())})")


if __name__ == "__main__":
    main(sys.argv[1:])
