"""The station batch registry (claim once per station and content, re-claim a failed batch, list,
save) and how an upload's format is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.feeds import UnsupportedFileType
from riskmine.feeds.batches import BatchRegistry, batch_kind, open_batch_registry, spooled_feed
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


def test_spooled_feed_is_removed_afterwards() -> None:
    with spooled_feed(b'{"text": "x"}\n', "jsonl") as path:
        assert path.suffix == ".jsonl" and path.read_bytes() == b'{"text": "x"}\n'
    assert not path.exists()
