"""The PostgreSQL workspace passes the same contract as the SQLite file, against a real server started for the
session (tests/pg_server.py); RISKMINE_DATABASE_URL chooses it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.review.workspace import WorkspaceRepository, open_workspace
from riskmine.settings import Settings

from .workspace_contract import WorkspaceContract

pytestmark = pytest.mark.integration
pytest.importorskip("psycopg", reason="the PostgreSQL driver is not installed: pip install -e '.[pg]'")

from riskmine.review.pg_workspace import PgWorkspace  # noqa: E402


class TestPgWorkspace(WorkspaceContract):
    @pytest.fixture
    def make_repo(self, postgres_url: str) -> Callable[[], WorkspaceRepository]:
        return lambda: PgWorkspace(postgres_url)


def test_the_database_url_setting_chooses_postgresql(postgres_url: str, tmp_path: Path) -> None:
    repo = open_workspace(Settings(var_dir=tmp_path / "var", database_url=postgres_url))
    assert isinstance(repo, PgWorkspace)
    assert not (tmp_path / "var" / "workspace.sqlite3").exists()
