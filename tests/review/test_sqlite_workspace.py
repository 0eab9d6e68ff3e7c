"""The embedded workspace passes the contract suite; the settings open it under the var dir; the rules of saving."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from riskmine.review import workspace
from riskmine.review.errors import ReviewError, ReviewNotFound
from riskmine.review.records import User
from riskmine.review.roles import Role
from riskmine.review.sqlite_workspace import SQLiteWorkspace
from riskmine.review.workspace import WorkspaceRepository, open_workspace
from riskmine.settings import Settings

from .workspace_contract import WorkspaceContract


class TestSQLiteWorkspace(WorkspaceContract):
    @pytest.fixture
    def make_repo(self, tmp_path: Path) -> Callable[[], WorkspaceRepository]:
        return lambda: SQLiteWorkspace(tmp_path / "workspace.sqlite3")


def test_the_settings_open_the_file_under_the_var_dir(tmp_path: Path) -> None:
    repo = open_workspace(Settings(var_dir=tmp_path / "var"))
    assert isinstance(repo, SQLiteWorkspace) and repo.path == tmp_path / "var" / "workspace.sqlite3"


ANALYST = User("u1", "analyst-user", Role.analyst)


def test_a_saved_filter_keeps_only_the_pages_filter_fields(tmp_path: Path) -> None:
    repo = SQLiteWorkspace(tmp_path / "w.sqlite3")
    saved = workspace.save_filter(
        repo, ANALYST, "queue", "  上海  高风险 ", "page=3&tier=immediate&region=上海&x=1&hazard="
    )
    assert saved.name == "上海 高风险"
    assert saved.query == "tier=immediate&region=%E4%B8%8A%E6%B5%B7"
    assert saved.url == "/?tier=immediate&region=%E4%B8%8A%E6%B5%B7"
    assert (
        workspace.save_filter(repo, ANALYST, "signals", "起火", "q=起火&page=2").url == "/signals?q=%E8%B5%B7%E7%81%AB"
    )


@pytest.mark.parametrize(
    ("page", "name", "message"),
    [("alerts", "名称", "只能保存"), ("queue", "  ", "填写名称"), ("queue", "长" * 51, "最多 50 个字")],
)
def test_a_filter_is_refused_with_a_chinese_reason(tmp_path: Path, page: str, name: str, message: str) -> None:
    with pytest.raises(ReviewError, match=message):
        workspace.save_filter(SQLiteWorkspace(tmp_path / "w.sqlite3"), ANALYST, page, name, "tier=watch")


def test_deleting_what_is_not_ones_own_is_not_found(tmp_path: Path) -> None:
    repo = SQLiteWorkspace(tmp_path / "w.sqlite3")
    saved = workspace.save_filter(repo, ANALYST, "queue", "甲", "tier=watch")
    other = User("u2", "other", Role.analyst)
    with pytest.raises(ReviewNotFound):
        workspace.delete_filter(repo, other, saved.id)
    draft = workspace.new_draft(repo, ANALYST, "monthly", "报送表", {"rows": []})
    with pytest.raises(ReviewNotFound):
        workspace.get_draft(repo, other, draft.id)
    workspace.delete_draft(repo, ANALYST, draft.id)
    workspace.delete_filter(repo, ANALYST, saved.id)
    assert repo.filters("u1") == [] and repo.drafts("u1") == []
