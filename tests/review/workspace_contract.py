"""The backend-independent contract of riskmine.review.workspace.WorkspaceRepository.

A backend's tests subclass :class:`WorkspaceContract` and supply a ``make_repo`` fixture: a callable that opens a new
handle on the same, initially empty storage (calling it again reopens what was written).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from riskmine.review.workspace import ReportDraft, SavedFilter, WorkspaceRepository

T0 = "2026-05-01T08:00:00.000000+00:00"
T1 = "2026-05-01T09:00:00.000000+00:00"


def saved(
    fid: str, owner: str = "u1", page: str = "queue", name: str = "高风险", query: str = "tier=immediate"
) -> SavedFilter:
    return SavedFilter(fid, owner, page, name, query, T0)


def draft(did: str, owner: str = "u1", updated_at: str = T0, cell: str = "充电宝") -> ReportDraft:
    return ReportDraft(
        did, owner, "monthly", "2026-04 报送表", {"rows": [{"cells": {"涉及产品": cell}}]}, T0, updated_at
    )


class WorkspaceContract:
    @pytest.fixture
    def repo(self, make_repo: Callable[[], WorkspaceRepository]) -> WorkspaceRepository:
        return make_repo()

    def test_filters_are_listed_per_owner_and_page_and_survive_a_reopen(
        self, repo: WorkspaceRepository, make_repo: Callable[[], WorkspaceRepository]
    ) -> None:
        repo.save_filter(saved("f1", name="乙"))
        repo.save_filter(saved("f2", name="甲"))
        repo.save_filter(saved("f3", page="signals", query="q=%E8%B5%B7%E7%81%AB"))
        repo.save_filter(saved("f4", owner="u2"))
        again = make_repo()
        assert [f.id for f in again.filters("u1")] == [
            "f1",
            "f2",
            "f3",
        ]  # by page, then name (code point order: 乙 < 甲)
        assert [f.id for f in again.filters("u1", "signals")] == ["f3"]
        assert again.get_filter("u1", "f3") == saved("f3", page="signals", query="q=%E8%B5%B7%E7%81%AB")
        assert [f.id for f in again.filters("u2")] == ["f4"]

    def test_saving_under_the_same_name_replaces_and_keeps_the_id(self, repo: WorkspaceRepository) -> None:
        first = repo.save_filter(saved("f1"))
        second = repo.save_filter(saved("f9", query="tier=review"))
        assert first.id == second.id == "f1" and second.query == "tier=review"
        assert [f.query for f in repo.filters("u1")] == ["tier=review"]

    def test_an_owner_reaches_only_its_own_filters(self, repo: WorkspaceRepository) -> None:
        repo.save_filter(saved("f1"))
        assert repo.get_filter("u2", "f1") is None
        assert repo.delete_filter("u2", "f1") is False
        assert repo.delete_filter("u1", "f1") is True
        assert repo.delete_filter("u1", "f1") is False
        assert repo.filters("u1") == []

    def test_drafts_round_trip_newest_first_and_update(
        self, repo: WorkspaceRepository, make_repo: Callable[[], WorkspaceRepository]
    ) -> None:
        repo.save_draft(draft("d1"))
        repo.save_draft(draft("d2", updated_at=T1))
        assert [d.id for d in make_repo().drafts("u1")] == ["d2", "d1"]
        repo.save_draft(draft("d1", updated_at="2026-05-02T00:00:00.000000+00:00", cell="电热毯"))
        got = make_repo().get_draft("u1", "d1")
        assert got is not None and got.body == {"rows": [{"cells": {"涉及产品": "电热毯"}}]} and got.created_at == T0
        assert [d.id for d in repo.drafts("u1")] == ["d1", "d2"]

    def test_an_owner_reaches_only_its_own_drafts(self, repo: WorkspaceRepository) -> None:
        repo.save_draft(draft("d1"))
        repo.save_draft(draft("d1", owner="u2", cell="被改写"))  # another user cannot overwrite it by its id
        got = repo.get_draft("u1", "d1")
        assert got is not None and got.body["rows"][0]["cells"]["涉及产品"] == "充电宝"
        assert repo.get_draft("u2", "d1") is None and repo.drafts("u2") == []
        assert repo.delete_draft("u2", "d1") is False
        assert repo.delete_draft("u1", "d1") is True
        assert repo.drafts("u1") == []
