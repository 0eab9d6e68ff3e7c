"""A server killed (SIGKILL) while it receives a station batch: after a restart the batch is completed from
the upload it kept, every document is processed, and candidates equal those a full rebuild gives."""

from __future__ import annotations

import csv
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from riskmine.feeds.batches import batch_id, content_sha256
from riskmine.knowledge_graph.priority import config_from_settings
from riskmine.processing import pending_document_ids, refresh_candidates
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.test_submission import GROUPED_ROWS, _state

STATION = "测试监测站"
ROWS = 1_500


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows() -> list[dict[str, str]]:
    return [
        {"id": f"r{n:05d}", "text": f"{row['text']}（第{n}条反馈）", "product": row["product"]}
        for n, row in ((n, GROUPED_ROWS[n % len(GROUPED_ROWS)]) for n in range(ROWS))
    ]


def _upload() -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "text", "product"])
    writer.writeheader()
    writer.writerows(rows())
    return out.getvalue().encode("utf-8")


class Server:
    def __init__(self, tmp: Path, env: dict[str, str], name: str, *args: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        with self.log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "riskmine"), "serve", "--port", str(self.port), *args],
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        pytest.fail(f"the server did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def token(self) -> dict[str, str]:
        answer = httpx.post(
            f"{self.base}/api/v1/auth/token", data={"username": "admin", "password": "admin-pass-123"}, timeout=30
        )
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def kill_while_processing(self, db: Path, send: Callable[[], httpx.Response]) -> int:
        """Send in a thread of its own; kill the server (SIGKILL) once processing has begun. The signals then."""
        answers: list[object] = []

        def sending() -> None:
            try:
                answers.append(send().status_code)
            except httpx.HTTPError as exc:
                answers.append(exc)

        sender = threading.Thread(target=sending)
        sender.start()
        deadline = time.monotonic() + 300
        killed_at = -1
        while time.monotonic() < deadline and sender.is_alive():
            if db.exists():
                with SQLiteStore(db) as store:
                    signals = store.count(Collection.signals)
                if signals > 0:  # the rows are stored and processing has begun
                    self.kill()
                    killed_at = signals
                    break
            time.sleep(0.05)
        sender.join(timeout=60)
        assert 0 < killed_at < ROWS, f"not killed mid-batch (answers {answers}, signals {killed_at})"
        return killed_at

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def setup_var(tmp_path: Path, models: Path) -> tuple[Settings, dict[str, str]]:
    """A var dir with an admin, and the servers' environment (a station batch's lease runs out after 3 s)."""
    settings = Settings(var_dir=tmp_path / "var", models_dir=models)
    UserStore.from_settings(settings).create_user("admin", "admin-pass-123", "admin")
    env = dict(
        os.environ,
        RISKMINE_VAR_DIR=str(settings.var_dir),
        RISKMINE_MODELS_DIR=str(models),
        RISKMINE_BATCH_LEASE_SECONDS="3",
        RISKMINE_BATCH_SIZE="64",
        PYTHONUNBUFFERED="1",
    )
    return settings, env


@pytest.mark.integration
@pytest.mark.slow
def test_a_server_killed_during_a_station_upload_completes_the_batch_after_a_restart(
    tmp_path: Path, shared_models_dir: Path
) -> None:
    settings, env = setup_var(tmp_path, shared_models_dir)
    var = settings.var_dir
    content = _upload()
    batch = batch_id(STATION, content_sha256(content))
    batch_url = f"/api/v1/stations/{STATION}/batches"

    db = settings.database
    first = Server(tmp_path, env, "first")
    try:
        auth = first.token()
        first.kill_while_processing(
            db,
            lambda: httpx.post(f"{first.base}{batch_url}?filename=up.csv", content=content, headers=auth, timeout=600),
        )
    finally:
        first.kill()

    with SQLiteStore(db) as store:
        assert store.count(Collection.documents) == ROWS
        assert 0 < store.count(Collection.signals) < ROWS  # stored, part processed: the interrupted state

    second = Server(tmp_path, env, "second")  # its recovery takes the batch over once the lease runs out
    try:
        auth = second.token()
        deadline = time.monotonic() + 300
        record: dict[str, object] = {}
        while time.monotonic() < deadline:
            record = httpx.get(f"{second.base}{batch_url}/{batch}", headers=auth, timeout=30).json()
            if record["status"] != "received":
                break
            time.sleep(0.5)
        assert record["status"] == "done", (record, second.log.read_text(errors="replace")[-3000:])
        assert (record["rows"], record["accepted"], record["duplicates"], record["rejected"]) == (ROWS, ROWS, 0, 0)
        assert record["processed"] == ROWS and record["attempts"] == 2
        # sending the file again adds nothing
        again = httpx.post(f"{second.base}{batch_url}?filename=up.csv", content=content, headers=auth, timeout=60)
        assert again.status_code == 200 and again.json()["replayed"] is True
    finally:
        second.stop()

    assert_complete(settings)
    assert not list((var / "stations" / "spool").iterdir())


def assert_complete(settings: Settings) -> None:
    """Every document processed, and the candidates those a full rebuild from the signals gives."""
    with SQLiteStore(settings.database) as store:
        assert pending_document_ids(store) == []
        recovered = _state(store)
        refresh_candidates(store, config=config_from_settings(settings))
        assert _state(store) == recovered
    assert not list((settings.var_dir / "journal").glob("*.ids"))


@pytest.mark.integration
@pytest.mark.slow
def test_documents_a_killed_server_stored_are_processed_when_it_starts_again(
    tmp_path: Path, shared_models_dir: Path
) -> None:
    settings, env = setup_var(tmp_path, shared_models_dir)
    var = settings.var_dir
    first = Server(tmp_path, env, "first")
    try:
        auth = first.token()
        first.kill_while_processing(
            settings.database,
            lambda: httpx.post(
                f"{first.base}/api/v1/documents?source=test&source_type=review", json=rows(), headers=auth, timeout=600
            ),
        )
    finally:
        first.kill()

    second = Server(tmp_path, env, "second")  # its recovery adopts the killed server's journal entry
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and list((var / "journal").glob("*.ids")):
            time.sleep(0.5)
    finally:
        second.stop()
    assert_complete(settings)
