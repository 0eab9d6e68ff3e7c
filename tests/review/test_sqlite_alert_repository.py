"""The embedded alert repository passes the contract suite; the settings open it under the var dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.review.alert_repository import AlertRepository, open_alert_repository
from riskmine.review.sqlite_alert_repository import SQLiteAlertRepository
from riskmine.settings import Settings

from .alert_repository_contract import AlertRepositoryContract


class TestSQLiteAlertRepository(AlertRepositoryContract):
    @pytest.fixture
    def make_repo(self, tmp_path: Path) -> Callable[[], AlertRepository]:
        return lambda: SQLiteAlertRepository(tmp_path / "alerts.sqlite3")


def test_the_settings_open_the_file_under_the_var_dir(tmp_path: Path) -> None:
    repo = open_alert_repository(Settings(var_dir=tmp_path / "var"))
    assert isinstance(repo, SQLiteAlertRepository) and repo.path == tmp_path / "var" / "alerts.sqlite3"
