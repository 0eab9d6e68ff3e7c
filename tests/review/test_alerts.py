"""The alert rules: which events reach the outbox (once each), who is responsible, who may subscribe to what."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from riskmine.review import alerts, workflow
from riskmine.review.alert_repository import AlertRepository, alert_repository_at
from riskmine.review.errors import ReviewForbidden, ReviewNotFound
from riskmine.review.records import User
from riskmine.review.roles import Role
from riskmine.review.sqlite_repository import SQLiteReviewRepository, SQLiteUserRepository
from riskmine.schema import CandidateRisk, Tier
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import Submission
from tests.api.apikit import doc, keyword_pipeline

from .conftest import ANALYST

ADMIN_USER = User("u-admin", "root", Role.admin)
CITY_ANALYST = User("u-city", "zhang", Role.analyst, "成都市")
COUNTY_VIEWER = User("u-county", "wang", Role.viewer, "武侯区")
OTHER_ANALYST = User("u-other", "zhao", Role.analyst, "浙江省")
CONSUMER = User("u-feed", "feed", Role.api_consumer)


@pytest.fixture
def repo(db: SQLiteReviewRepository) -> AlertRepository:
    return alert_repository_at(db.var_dir)


@pytest.fixture
def users(tmp_path: Path, db: SQLiteReviewRepository) -> SQLiteUserRepository:
    from riskmine.review import orgs

    orgs.add_org(db, "浙江省", "province", None, ANALYST)
    repo = SQLiteUserRepository(tmp_path / "users.sqlite3")
    for user in (ADMIN_USER, CITY_ANALYST, COUNTY_VIEWER, OTHER_ANALYST, CONSUMER):
        repo.add_user(user, "hash", "2026-05-01T00:00:00+00:00")
    return repo


def immediate(store: SQLiteStore) -> CandidateRisk:
    found = [c for c in store.iterate(Collection.candidates) if c.tier is Tier.immediate]
    assert found, "the seeds give one immediate-tier candidate"
    return found[0]


def reject(store: SQLiteStore, db: SQLiteReviewRepository, cand: CandidateRisk) -> None:
    workflow.decide(store, db, cand.id, ANALYST, status="rejected", rationale="样品与投诉产品不符")


def test_an_immediate_tier_candidate_alerts_once_however_often_it_is_seen(
    store: SQLiteStore, db: SQLiteReviewRepository, repo: AlertRepository
) -> None:
    cand = immediate(store)
    assert alerts.candidates_refreshed(store, db.var_dir) == 1
    assert alerts.candidates_refreshed(store, db.var_dir) == 0
    assert alerts.scan(store, repo) == 0  # its deadline is ~24 h away: nothing else yet
    [event] = repo.unfanned(10)
    assert (event.kind, event.candidate_id, event.key) == ("immediate_tier", cand.id, f"immediate_tier:{cand.id}")
    assert event.payload["kind_label"] == "候选风险进入立即处置" and event.payload["tier_label"] == "立即处置"


def test_the_submission_service_tells_the_alerts_after_its_refresh(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    store = SQLiteStore(tmp_path / "fresh.sqlite3")
    try:
        rows = [doc(f"k{n}", "电热水壶漏电，孩子触电受伤送医", days=n * 0.1).model_dump(mode="json") for n in range(3)]
        submission = Submission(
            store, keyword_pipeline(), settings=settings, after_refresh=alerts.refresh_hook(settings)
        )
        submission.rows(rows, source="test")
        kinds = {e.kind for e in alert_repository_at(settings.var_dir).unfanned(10)}
        tiers = {c.tier for c in store.iterate(Collection.candidates)}
        assert ("immediate_tier" in kinds) == (Tier.immediate in tiers)
    finally:
        store.close()


def test_a_deadline_within_four_hours_alerts_once(store: SQLiteStore, repo: AlertRepository) -> None:
    cand = immediate(store)
    assert cand.due_at is not None
    assert alerts.deadline_events(store, cand.due_at - timedelta(hours=5), 4) == []
    near = cand.due_at - timedelta(hours=3)
    assert alerts.scan(store, repo, now=near) == 2  # the immediate tier, and its deadline
    assert alerts.scan(store, repo, now=near + timedelta(minutes=30)) == 0
    assert alerts.deadline_events(store, cand.due_at + timedelta(minutes=1), 4) == []  # passed: the overdue list
    [deadline] = [e for e in repo.unfanned(10) if e.kind == "deadline_near"]
    assert deadline.payload["hours_left"] == 3.0 and deadline.payload["deadline_kind"] == "major_risk_report"


def test_an_objection_reaches_the_outbox_and_a_failing_outbox_never_fails_it(
    store: SQLiteStore, db: SQLiteReviewRepository, repo: AlertRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    cand = immediate(store)
    reject(store, db, cand)
    obj = workflow.record_objection(
        store, db, cand.id, ANALYST, objector="某某电器有限公司", objector_kind="producer", text="样品非本公司生产"
    )
    [event] = repo.unfanned(10)
    assert (event.kind, event.key, event.payload["objector"]) == (
        "objection",
        f"objection:{obj.id}",
        "某某电器有限公司",
    )

    def broken(_var_dir: Path) -> AlertRepository:
        raise OSError("disk full")

    monkeypatch.setattr(alerts, "alert_repository_at", broken)
    again = workflow.record_objection(
        store, db, cand.id, ANALYST, objector="某某商贸有限公司", objector_kind="seller", text="已下架"
    )
    assert db.get_objection(again.id) is not None  # recorded all the same


def test_responsibility_follows_the_organisation_tree(
    store: SQLiteStore, db: SQLiteReviewRepository, repo: AlertRepository, users: SQLiteUserRepository
) -> None:
    cand = immediate(store)
    workflow.assign(store, db, cand.id, ANALYST, assignee="zhao", organisation="武侯区")
    alerts.candidates_refreshed(store, db.var_dir)
    [event] = repo.unfanned(10)

    def takes(actor: User, owner_kind: str = "user", organisation: str | None = None) -> bool:
        sub = alerts.create_subscription(
            repo, db, actor, events=["immediate_tier"], channel="email", target="a@example.cn",
            owner_kind=owner_kind, organisation=organisation,
        )  # fmt: skip
        return alerts.responsible(sub, event, store, db, users)

    assert takes(ADMIN_USER)
    assert takes(CITY_ANALYST)  # 武侯区 is below 成都市
    assert takes(COUNTY_VIEWER)
    assert takes(OTHER_ANALYST)  # not in the subtree, but the candidate's assignee
    assert takes(ADMIN_USER, "org", "武侯区")
    assert not takes(ADMIN_USER, "org", "浙江省")
    assert takes(CITY_ANALYST, "org", "武侯区产品质量监测站") is False  # a station sees its own submissions only


def test_who_may_subscribe_what(db: SQLiteReviewRepository, repo: AlertRepository, users: SQLiteUserRepository) -> None:
    mine = alerts.create_subscription(repo, db, CITY_ANALYST, events=["objection"], channel="digest", target="z@x.cn")
    assert mine.owner == CITY_ANALYST.id and mine.secret is None
    hook = alerts.create_subscription(
        repo, db, CITY_ANALYST, events=["objection"], channel="webhook", target="https://8.8.8.8/hook"
    )
    assert hook.secret and len(hook.secret) >= 32
    with pytest.raises(ReviewForbidden):
        alerts.create_subscription(repo, db, CONSUMER, events=["objection"], channel="email", target="f@x.cn")
    with pytest.raises(ReviewForbidden):  # 浙江省 is outside 成都市's scope
        alerts.create_subscription(
            repo, db, CITY_ANALYST, events=["objection"], channel="email", target="z@x.cn",
            owner_kind="org", organisation="浙江省",
        )  # fmt: skip
    with pytest.raises(ReviewForbidden):  # a viewer subscribes for themselves only
        alerts.create_subscription(
            repo, db, COUNTY_VIEWER, events=["objection"], channel="email", target="w@x.cn",
            owner_kind="org", organisation="武侯区",
        )  # fmt: skip
    with pytest.raises(alerts.SubscriptionError, match="网址不可用"):
        alerts.create_subscription(
            repo, db, CITY_ANALYST, events=["objection"], channel="webhook", target="http://127.0.0.1:9/hook"
        )
    with pytest.raises(alerts.SubscriptionError, match="不是电子邮件地址"):
        alerts.create_subscription(repo, db, CITY_ANALYST, events=["objection"], channel="email", target="nobody")
    assert [s.id for s in alerts.list_subscriptions(repo, CITY_ANALYST)] == [mine.id, hook.id]
    with pytest.raises(ReviewForbidden):
        alerts.list_subscriptions(repo, CITY_ANALYST, everyone=True)
    with pytest.raises(ReviewNotFound):  # someone else's
        alerts.delete_subscription(repo, COUNTY_VIEWER, mine.id)
    alerts.delete_subscription(repo, ADMIN_USER, mine.id)
    assert [s.id for s in alerts.list_subscriptions(repo, ADMIN_USER, everyone=True)] == [hook.id]
