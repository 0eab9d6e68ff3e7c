"""Station batches that survive a crash: a batch whose receiver was killed is taken over, by the station
sending the file again or by the recovery at start-up, and ends as an uninterrupted batch would."""

from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from riskmine.feeds.batches import BatchRecord, open_batch_registry
from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.pipeline import Pipeline
from riskmine.settings import Settings
from riskmine.station_intake import StationIntake, UploadUnreadable
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import Submission
from tests.test_submission import GROUPED_ROWS, _state

STATION = "测试监测站"


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["id", "text", "product"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


CONTENT = _csv(GROUPED_ROWS)


def _intake(settings: Settings, store: SQLiteStore) -> StationIntake:
    return StationIntake(
        settings,
        open_batch_registry(settings),
        lambda pipeline: Submission(store, pipeline, settings=settings, batch_size=4),
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Pipeline:
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), models_dir=shared_models_dir)
    return Pipeline.from_settings(settings, None)


def _outcome(record: BatchRecord) -> dict[str, object]:
    return {
        "status": record.status,
        "rows": record.rows,
        "accepted": record.accepted,
        "duplicates": record.duplicates,
        "rejected": record.rejected,
        "processed": record.processed,
        "risks": record.risks,
        "candidates": record.candidates,
        "document_ids": sorted(record.document_ids),
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, pipeline: Pipeline) -> tuple[dict[str, object], object]:
    tmp = tmp_path_factory.mktemp("control")
    settings = Settings(var_dir=tmp / "var")
    store = SQLiteStore(tmp / "store.sqlite3")
    intake = _intake(settings, store)
    record, created = intake.claim(STATION, CONTENT, "csv", filename="up.csv", submitted_by="s")
    assert created
    done = intake.receive(record, pipeline)
    assert done.status == "done" and done.accepted == len(GROUPED_ROWS)
    return _outcome(done), _state(store)


# Claim the batch and receive it in a process of its own, killed (SIGKILL) once the rows are stored and
# the first four documents processed: the batch stays 'received', most of its documents unprocessed.
_KILLED_RECEIVER = """
import os, signal, sys
from pathlib import Path
from riskmine.feeds.batches import open_batch_registry
from riskmine.pipeline import Pipeline
from riskmine.settings import Settings
from riskmine.station_intake import StationIntake
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import SerialProcessor, Submission

settings = Settings(var_dir=sys.argv[1], models_dir=sys.argv[2], batch_lease_seconds=600)
store = SQLiteStore(sys.argv[3])

class Dying(SerialProcessor):
    def process_documents(self, store, ids, **kw):
        kw["progress"] = lambda n: os.kill(os.getpid(), signal.SIGKILL)
        return super().process_documents(store, ids, **kw)

intake = StationIntake(
    settings,
    open_batch_registry(settings),
    lambda p: Submission(store, Dying(p) if p else None, settings=settings, batch_size=4),
)
record, _ = intake.claim(sys.argv[4], Path(sys.argv[5]).read_bytes(), "csv", filename="up.csv", submitted_by="s")
intake.receive(record, Pipeline.from_settings(settings, store))
"""


def _killed_midway(tmp_path: Path, models: Path) -> tuple[Settings, SQLiteStore, StationIntake, BatchRecord]:
    settings = Settings(var_dir=tmp_path / "var", batch_lease_seconds=600)
    db = tmp_path / "store.sqlite3"
    upload = tmp_path / "up.csv"
    upload.write_bytes(CONTENT)
    args = [str(settings.var_dir), str(models), str(db), STATION, str(upload)]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_RECEIVER, *args], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    store = SQLiteStore(db)
    assert store.count(Collection.documents) == len(GROUPED_ROWS)
    assert store.count(Collection.signals) == 4
    forget_graphs()
    intake = _intake(settings, store)
    (stale,) = intake.registry.receiving()
    return settings, store, intake, stale


@pytest.mark.integration
def test_a_killed_batch_is_busy_until_its_lease_runs_out_then_sending_it_again_completes_it(
    tmp_path: Path, pipeline: Pipeline, shared_models_dir: Path, uninterrupted: tuple[dict[str, object], object]
) -> None:
    settings, store, intake, stale = _killed_midway(tmp_path, shared_models_dir)
    assert stale.status == "received" and intake.stale() == []  # its lease has not run out yet

    again, created = intake.claim(STATION, CONTENT, "csv", filename="up.csv", submitted_by="s")
    assert not created and again.status == "received"  # the API answers 409 batch_in_progress

    assert intake.registry.renew(stale.id, -1)  # the lease runs out (as 600 s after the kill would)
    again, created = intake.claim(STATION, CONTENT, "csv", filename="up.csv", submitted_by="s")
    assert created and again.attempts == 2
    done = intake.receive(again, pipeline)
    expected_record, expected_state = uninterrupted
    assert _outcome(done) == expected_record  # the rows of the killed try count as this batch's
    assert _state(store) == expected_state
    assert not list((settings.var_dir / "stations" / "spool").iterdir())
    assert not list((settings.var_dir / "journal").glob("*.ids"))


@pytest.mark.integration
def test_recovery_completes_a_stale_batch_from_the_kept_upload(
    tmp_path: Path, pipeline: Pipeline, shared_models_dir: Path, uninterrupted: tuple[dict[str, object], object]
) -> None:
    _settings, store, intake, stale = _killed_midway(tmp_path, shared_models_dir)
    assert intake.next_expiry() is not None
    intake.registry.renew(stale.id, -1)
    (done,) = intake.resume_stale(lambda: pipeline)
    expected_record, expected_state = uninterrupted
    assert _outcome(done) == expected_record
    assert _state(store) == expected_state
    assert intake.registry.receiving() == [] and intake.next_expiry() is None


def test_a_stale_batch_without_its_upload_is_failed_so_that_sending_it_again_works(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    store = SQLiteStore(":memory:")
    intake = _intake(settings, store)
    record, _ = intake.claim(STATION, CONTENT, "csv", filename="up.csv", submitted_by="s")
    next(intake.spool_dir.iterdir()).unlink()  # e.g. the disk was replaced
    intake.registry.renew(record.id, -1)
    assert intake.resume_stale(lambda: None) == []
    failed = intake.registry.get(record.id)
    assert failed is not None and failed.status == "failed" and "重新上传" in (failed.error or "")
    again, created = intake.claim(STATION, CONTENT, "csv", filename="up.csv", submitted_by="s")
    assert created and again.attempts == 2


def test_an_unreadable_upload_is_forgotten_with_its_kept_copy(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    intake = _intake(settings, SQLiteStore(":memory:"))
    record, _ = intake.claim(STATION, b"id,text,product\n", "csv", filename="empty.csv", submitted_by="s")
    with pytest.raises(UploadUnreadable, match=r"empty\.csv has no data rows") as raised:
        intake.receive(record, None)
    assert raised.value.code == "empty_batch"
    assert intake.registry.get(record.id) is None
    assert not list(intake.spool_dir.iterdir())
