"""open_store: the backend the settings name."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.settings import Settings
from riskmine.store import SQLiteStore, Store, StoreError, open_store


def test_sqlite_is_opened_and_its_folder_created(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var" / "deep", store="sqlite")
    store = open_store(settings)
    try:
        assert isinstance(store, SQLiteStore)
        assert isinstance(store, Store)
        assert settings.database.exists()
        assert store.count("signals") == 0  # type: ignore[arg-type]
    finally:
        store.close()


def test_explicit_database_path(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "risk.db"
    store = open_store(Settings(db_path=path, var_dir=tmp_path / "unused"))
    store.close()
    assert path.exists()
    assert not (tmp_path / "unused").exists()


def test_elasticsearch_needs_a_cluster_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="RISKMINE_ES_URL"):
        open_store(Settings(store="elasticsearch", var_dir=tmp_path, es_url=None))


def test_unknown_backend(tmp_path: Path) -> None:
    from riskmine.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=r"RISKMINE_STORE: .*'sqlite', 'es' or 'elasticsearch' \(got 'mongodb'\)"):
        load_settings(store="mongodb", var_dir=tmp_path)  # refused when the settings are read
    other = Settings(var_dir=tmp_path).model_copy(update={"store": "mongodb"})  # settings made without validation
    with pytest.raises(StoreError, match=r"unknown store backend 'mongodb'.*sqlite, elasticsearch"):
        open_store(other)


def test_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(StoreError, match="cannot create the folder"):
        open_store(Settings(db_path=blocker / "sub" / "risk.db"))
