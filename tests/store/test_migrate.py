"""Migration between stores: SQLite → SQLite here (the Elasticsearch target runs the same code)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.schema import CandidateRisk, Decision, Signal
from riskmine.store.base import Collection, DuplicatePolicy, WriteResult
from riskmine.store.migrate import Checkpoint, MigrationError, migrate
from riskmine.store.sqlite import SQLiteStore

from .samples import at, make_signal

S = Collection.signals


class Interrupted(RuntimeError):
    pass


class InterruptingStore(SQLiteStore):
    """A real SQLite store whose write raises after `allowed` successful writes (a crash mid-migration)."""

    def __init__(self, path: Path, allowed: int) -> None:
        super().__init__(path)
        self.allowed = allowed
        self.writes = 0

    def write(
        self, collection: Collection, records: Sequence[BaseModel], policy: DuplicatePolicy = DuplicatePolicy.skip
    ) -> WriteResult:
        if self.writes >= self.allowed:
            raise Interrupted(f"interrupted after {self.writes} batches")
        self.writes += 1
        return super().write(collection, records, policy)


class CountingStore(SQLiteStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.written: list[tuple[Collection, str]] = []

    def write(
        self, collection: Collection, records: Sequence[BaseModel], policy: DuplicatePolicy = DuplicatePolicy.skip
    ) -> WriteResult:
        self.written.extend((collection, r.id) for r in records)  # type: ignore[attr-defined]
        return super().write(collection, records, policy)


@pytest.fixture
def source(
    tmp_path: Path,
    signals: dict[str, Signal],
    candidates: dict[str, CandidateRisk],
    decisions: dict[str, Decision],
) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "source.sqlite3")
    extra = [
        make_signal(f"充电宝第{i}号样品冒烟", source_id=f"m{i}", published_at=at(2, 1 + i % 27)) for i in range(40)
    ]
    store.write(S, [*signals.values(), *extra])
    store.write(Collection.documents, [s.document for s in [*signals.values(), *extra]])
    store.write(Collection.candidates, list(candidates.values()))
    store.write(Collection.decisions, list(decisions.values()))
    return store


def test_copies_every_collection_and_verifies(source: SQLiteStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "target.sqlite3") as target:
        cp = Checkpoint(tmp_path / "cp.json", "sqlite:target")
        report = migrate(source, target, checkpoint=cp, batch_size=7)
        assert report.ok, report.problems()
        for coll in Collection:
            assert target.count(coll) == source.count(coll) > 0
            assert [r.id for r in target.iterate(coll)] == [r.id for r in source.iterate(coll)]
        assert list(target.iterate(S)) == list(source.iterate(S))
        assert target.count(S, text="冒烟") == source.count(S, text="冒烟")  # derived index rebuilt in the target
        by = {r.collection: r for r in report.collections}
        assert by[S].copied == 50 and by[S].sampled == 50 and by[S].mismatched == []
    saved = json.loads((tmp_path / "cp.json").read_text(encoding="utf-8"))
    assert saved["collections"]["signals"]["done"] is True
    assert saved["collections"]["signals"]["copied"] == 50


def test_resumes_after_an_interruption(source: SQLiteStore, tmp_path: Path) -> None:
    cp_path = tmp_path / "cp.json"
    target_path = tmp_path / "target.sqlite3"
    crashing = InterruptingStore(target_path, allowed=3)
    with pytest.raises(Interrupted):
        migrate(source, crashing, checkpoint=Checkpoint.load(cp_path, "t"), batch_size=10)
    crashing.close()
    state = json.loads(cp_path.read_text(encoding="utf-8"))["collections"]
    assert state["documents"] == {"last_id": state["documents"]["last_id"], "copied": 30, "done": False}
    with SQLiteStore(target_path) as partial:
        assert partial.count(Collection.documents) == 30

    resumed = CountingStore(target_path)
    try:
        report = migrate(source, resumed, checkpoint=Checkpoint.load(cp_path, "t"), batch_size=10)
        assert report.ok, report.problems()
        docs = [d.id for d in source.iterate(Collection.documents)]
        rewritten = {i for c, i in resumed.written if c is Collection.documents}
        assert rewritten == set(docs[30:])  # the batches done before were not written again
        total = sum(source.count(c) for c in Collection)
        assert len(resumed.written) == total - 30
        by = {r.collection: r for r in report.collections}
        assert by[Collection.documents].resumed_from == 30 and by[Collection.documents].copied == 20
        for coll in Collection:
            assert list(resumed.iterate(coll)) == list(source.iterate(coll))
    finally:
        resumed.close()


def test_verification_reports_differences(source: SQLiteStore, tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "target.sqlite3") as target:
        migrate(source, target, checkpoint=Checkpoint(tmp_path / "cp.json", "t"))
        victim = next(iter(source.iterate(S)))
        target.write(
            S, [victim.model_copy(update={"normalized_text": "迁移后被改过的文本"})], DuplicatePolicy.overwrite
        )
        target.write(S, [make_signal("多出来的一条", source_id="extra", published_at=at(3, 3))])
        again = migrate(source, target, checkpoint=Checkpoint.load(tmp_path / "cp.json", "t"), sample_size=1000)
        assert not again.ok
        by = {r.collection: r for r in again.collections}
        assert by[S].mismatched == [victim.id]
        assert by[S].target_count == by[S].source_count + 1
        assert any("records in the source" in p for p in again.problems())


def test_bad_checkpoints_are_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(MigrationError, match="cannot read the migration checkpoint"):
        Checkpoint.load(path, "t")
    cp = Checkpoint(path, "es:one")
    cp.save()
    with pytest.raises(MigrationError, match="belongs to a migration into 'es:one'"):
        Checkpoint.load(path, "es:two")


def test_cli_copies_into_a_sqlite_file(
    source: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_var: Path
) -> None:
    from riskmine.settings import get_settings

    source.close()
    monkeypatch.setenv("RISKMINE_DB_PATH", str(tmp_path / "source.sqlite3"))
    get_settings.cache_clear()
    runner = CliRunner()
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(app, ["migrate", "--to", "sqlite", "--target-path", str(target), "--batch-size", "9"])
    assert result.exit_code == 0, result.output
    assert "signals: 50 → 50 records" in result.output
    assert "verified" in result.output
    assert list((_isolated_var / "migrate").glob("*.checkpoint.json"))
    with SQLiteStore(target) as copy:
        assert copy.count(S) == 50
    again = runner.invoke(app, ["migrate", "--to", "sqlite", "--target-path", str(target)])
    assert again.exit_code == 0 and "0 copied now, 50 before" in again.output


def test_cli_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from riskmine.settings import get_settings

    runner = CliRunner()
    missing = runner.invoke(app, ["migrate", "--to", "es"])
    assert missing.exit_code == 2 and "no SQLite store" in missing.output
    SQLiteStore(tmp_path / "s.sqlite3").close()
    monkeypatch.setenv("RISKMINE_DB_PATH", str(tmp_path / "s.sqlite3"))
    get_settings.cache_clear()
    no_url = runner.invoke(app, ["migrate", "--to", "es"])
    assert no_url.exit_code == 2 and "RISKMINE_ES_URL" in no_url.output
    bad = runner.invoke(app, ["migrate", "--to", "mongodb"])
    assert bad.exit_code == 2 and "unknown migration target" in bad.output
