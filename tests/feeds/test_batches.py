"""The station batch registry (claim once per station and content, re-claim a failed batch, list,
save) and how an upload's format is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.feeds import UnsupportedFileType
from riskmine.feeds.batches import BatchRegistry, batch_id, batch_kind, open_batch_registry
from riskmine.feeds.sqlite_batches import SQLiteBatchRegistry
from riskmine.settings import Settings

from .batch_registry_contract import BatchRegistryContract


class TestSQLiteBatchRegistry(BatchRegistryContract):
    @pytest.fixture
    def registry(self, tmp_path: Path) -> BatchRegistry:
        return SQLiteBatchRegistry(tmp_path / "stations" / "batches.sqlite3")


def test_the_settings_put_the_registry_under_the_var_dir(tmp_path: Path) -> None:
    registry = open_batch_registry(Settings(var_dir=tmp_path))
    assert isinstance(registry, SQLiteBatchRegistry) and registry.path == tmp_path / "stations" / "batches.sqlite3"


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"declared": "CSV"}, "csv"),
        ({"declared": "ndjson"}, "jsonl"),
        ({"filename": "报送表.XLSX"}, "xlsx"),
        ({"filename": "x.tsv"}, "tsv"),
        ({"filename": "x.json"}, "jsonl"),
        ({"media_type": "text/csv; charset=gbk"}, "csv"),
        ({"media_type": "application/x-ndjson"}, "jsonl"),
        ({"media_type": "application/octet-stream", "head": b"PK\x03\x04\x14\x00"}, "xlsx"),
        ({"declared": "xlsx", "filename": "x.csv"}, "xlsx"),  # declared wins
    ],
)
def test_batch_kind(kwargs: dict[str, object], kind: str) -> None:
    assert batch_kind(**kwargs) == kind  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"declared": "pdf"}, "format 'pdf' is not supported"),
        ({"filename": "old.xls"}, "old Excel format (.xls) is not supported"),
        ({"filename": "x.docx"}, "file type '.docx' is not supported"),
        ({"media_type": "application/octet-stream", "head": b"%PDF"}, "cannot tell the upload's format"),
    ],
)
def test_batch_kind_refuses_what_it_cannot_read(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UnsupportedFileType, match=message.replace("(", r"\(").replace(")", r"\)")):
        batch_kind(**kwargs)  # type: ignore[arg-type]


def test_a_registry_from_before_leases_is_migrated_and_its_unfinished_batch_is_stale(tmp_path: Path) -> None:
    import sqlite3

    from riskmine.feeds.sqlite_batches import MIGRATIONS
    from riskmine.store.sqlite import migrate

    path = tmp_path / "batches.sqlite3"
    conn = sqlite3.connect(path)
    conn.isolation_level = None
    migrate(conn, MIGRATIONS[:1])  # the file as the first version left it
    conn.execute(
        "INSERT INTO batches (id, station, sha256, kind, status, created_at) VALUES"
        " (?, '站A', ?, 'csv', 'received', '2026-11-01T00:00:00+00:00')",
        (batch_id("站A", "5" * 64), "5" * 64),
    )
    conn.close()
    registry = SQLiteBatchRegistry(path)
    (old,) = registry.receiving()
    assert old.lease_until is None
    taken, created = registry.claim("站A", "5" * 64, "csv")
    assert created and taken.attempts == 2
