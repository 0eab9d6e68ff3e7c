"""The backend-independent contracts of riskmine.review.repository: ReviewRepository and UserRepository.

A backend's tests subclass :class:`ReviewRepositoryContract` (and :class:`UserRepositoryContract`) and
supply a ``make_repo`` fixture: a callable that opens a new handle on the same, initially empty storage
(calling it again reopens what was written).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from riskmine.review.errors import ReviewConflict, UserExists
from riskmine.review.records import (
    Advisory,
    ApiKey,
    AuditEntry,
    AuditQuery,
    Comment,
    LoginThrottle,
    Objection,
    Org,
    OrgLevel,
    User,
)
from riskmine.review.repository import ReviewRepository, UserRepository
from riskmine.review.roles import Role


def entry(action: str, target_id: str, *, at: str = "2026-05-01T08:00:00.000000+00:00", **kw: Any) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor=kw.pop("actor", "li"),
        actor_role="analyst",
        action=action,
        target_kind=kw.pop("target_kind", "candidate"),
        target_id=target_id,
        **kw,
    )


def org(name: str, level: OrgLevel, parent: str | None) -> Org:
    return Org(name, level, parent, "2026-05-01T08:00:00.000000+00:00")


def objection(oid: str, cid: str, received: str, status: str = "open", result_received: str | None = None) -> Objection:
    return Objection(
        id=oid,
        candidate_id=cid,
        decision_id="d1",
        objector="某某电器有限公司",
        objector_kind="producer",
        text="检测样品并非本公司产品",
        received_at=received,
        deadline="2026-05-20T00:00:00.000000+00:00",
        recorded_by="li",
        status=status,
        answer=None,
        answered_by=None,
        answered_at=None,
        result_received_at=result_received,
    )


def advisory(aid: str, kind: str, drafted: str, *, published: str | None = None) -> Advisory:
    return Advisory(
        id=aid,
        candidate_id="c1",
        kind=kind,
        title=f"消费提示：{aid}",
        body="请消费者选购正规渠道产品",
        status="published" if published else "draft",
        organisation=None,
        drafted_by="li",
        drafted_at=drafted,
        approved_by="wang" if published else None,
        published_at=published,
    )


def run_workers(work: Callable[[int], None], workers: int) -> None:
    """Run ``work(0)`` ... ``work(workers - 1)`` in threads at once and wait for all of them."""
    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def audit_of(repo: ReviewRepository, target_id: str) -> list[str]:
    events, _ = repo.audit_events(AuditQuery(target_id=target_id), limit=100, offset=0)
    return [e.action for e in events]


class ReviewRepositoryContract:
    @pytest.fixture
    def repo(self, make_repo: Callable[[], ReviewRepository]) -> ReviewRepository:
        return make_repo()

    def test_org_tree_round_trips_and_survives_reopening(
        self, repo: ReviewRepository, make_repo: Callable[[], ReviewRepository]
    ) -> None:
        repo.add_org(org("四川省", OrgLevel.province, None), entry("org.add", "四川省", target_kind="org"))
        repo.add_org(org("成都市", OrgLevel.city, "四川省"), entry("org.add", "成都市", target_kind="org"))
        repo.add_org(org("武侯区", OrgLevel.county, "成都市"), entry("org.add", "武侯区", target_kind="org"))
        repo.add_org(org("站", OrgLevel.station, "武侯区"), entry("org.add", "站", target_kind="org"))
        repo.add_org(org("浙江省", OrgLevel.province, None), entry("org.add", "浙江省", target_kind="org"))
        again = make_repo()
        assert again.get_org("成都市") == org("成都市", OrgLevel.city, "四川省")
        assert again.get_org("无此机构") is None
        assert [o.name for o in again.list_orgs()] == sorted(["四川省", "成都市", "武侯区", "站", "浙江省"])
        assert again.subtree("成都市") == {"成都市", "武侯区", "站"}
        assert again.subtree("四川省") == {"四川省", "成都市", "武侯区", "站"}
        assert again.subtree("无此机构") == frozenset()
        assert again.org_names() == {"四川省", "成都市", "武侯区", "站", "浙江省"}
        assert audit_of(again, "成都市") == ["org.add"]

    def test_a_taken_org_name_is_a_conflict_and_records_nothing(self, repo: ReviewRepository) -> None:
        repo.add_org(org("四川省", OrgLevel.province, None), entry("org.add", "四川省", target_kind="org"))
        with pytest.raises(ReviewConflict, match="already exists"):
            repo.add_org(org("四川省", OrgLevel.province, None), entry("org.add", "四川省", target_kind="org"))
        assert audit_of(repo, "四川省") == ["org.add"]

    def test_comments_come_back_oldest_first_per_candidate(self, repo: ReviewRepository) -> None:
        later = Comment("m2", "c1", "li", "复核后确认", "2026-05-02T08:00:00.000000+00:00")
        earlier = Comment("m1", "c1", "wang", "先看检测报告", "2026-05-01T08:00:00.000000+00:00")
        other = Comment("m3", "c2", "li", "另一个候选", "2026-05-01T09:00:00.000000+00:00")
        for c in (later, earlier, other):
            repo.add_comment(c, entry("comment.add", c.candidate_id, after=None))
        assert repo.comments("c1") == [earlier, later]
        assert repo.comments("c2") == [other]
        assert repo.comments("c9") == []
        assert audit_of(repo, "c1") == ["comment.add", "comment.add"]

    def test_objections_filter_order_and_answer_once(self, repo: ReviewRepository) -> None:
        second = objection("o2", "c1", "2026-05-03T00:00:00.000000+00:00", result_received="2026-05-01T00:00:00+00:00")
        first = objection("o1", "c1", "2026-05-02T00:00:00.000000+00:00")
        other = objection("o3", "c2", "2026-05-01T00:00:00.000000+00:00")
        for o in (second, first, other):
            repo.add_objection(o, entry("objection.add", o.id, target_kind="objection"))
        assert repo.get_objection("o1") == first
        assert repo.get_objection("o9") is None
        assert repo.get_objection("o2") == second and second.result_received_at == "2026-05-01T00:00:00+00:00"
        assert repo.objections(candidate_id="c1") == [first, second]
        assert [o.id for o in repo.objections()] == ["o3", "o1", "o2"]
        answered = Objection(
            **(
                first.public()
                | {"status": "answered", "answer": "已复核", "answered_by": "li", "answered_at": first.received_at}
            )
        )
        assert repo.answer_objection(answered, entry("objection.answer", "o1", target_kind="objection"))
        assert repo.get_objection("o1") == answered
        assert [o.id for o in repo.objections(status="open")] == ["o3", "o2"]
        assert [o.id for o in repo.objections(candidate_id="c1", status="answered")] == ["o1"]
        # A second answer finds nothing open: nothing changes and the log records nothing more.
        again = Objection(**(answered.public() | {"answer": "再次答复", "answered_by": "wang"}))
        assert not repo.answer_objection(again, entry("objection.answer", "o1", target_kind="objection"))
        assert repo.get_objection("o1") == answered
        assert audit_of(repo, "o1") == ["objection.answer", "objection.add"]

    def test_advisories_publish_once_and_list_by_status_kind_and_time(self, repo: ReviewRepository) -> None:
        drafts = [
            advisory("a1", "consumer_advisory", "2026-05-01T00:00:00.000000+00:00"),
            advisory("a2", "industry_warning", "2026-05-02T00:00:00.000000+00:00"),
            advisory("a3", "consumer_advisory", "2026-05-03T00:00:00.000000+00:00"),
        ]
        for a in drafts:
            repo.add_advisory(a, entry("advisory.draft", a.id, target_kind="advisory"))
        assert repo.get_advisory("a2") == drafts[1]
        assert repo.get_advisory("a9") is None
        page, total = repo.advisories(
            status="draft", kinds=["consumer_advisory", "industry_warning"], limit=2, offset=0
        )
        assert ([a.id for a in page], total) == (["a3", "a2"], 3)
        page, _ = repo.advisories(status="draft", kinds=["consumer_advisory", "industry_warning"], limit=2, offset=2)
        assert [a.id for a in page] == ["a1"]
        # Published ones are ordered by publication, not drafting.
        for aid, when in (("a3", "2026-05-04T00:00:00.000000+00:00"), ("a1", "2026-05-05T00:00:00.000000+00:00")):
            draft = repo.get_advisory(aid)
            assert draft is not None
            done = Advisory(**(draft.public() | {"status": "published", "approved_by": "wang", "published_at": when}))
            assert repo.publish_advisory(done, entry("advisory.publish", aid, target_kind="advisory"))
        page, total = repo.advisories(status="published", kinds=["consumer_advisory"], limit=10, offset=0)
        assert ([a.id for a in page], total) == (["a1", "a3"], 2)
        assert repo.advisories(status="published", kinds=["industry_warning"], limit=10, offset=0) == ([], 0)
        assert repo.advisories(status="published", kinds=[], limit=10, offset=0) == ([], 0)
        published = repo.get_advisory("a1")
        assert published is not None
        twice = Advisory(**(published.public() | {"approved_by": "zhao"}))
        assert not repo.publish_advisory(twice, entry("advisory.publish", "a1", target_kind="advisory"))
        assert repo.get_advisory("a1") == published
        assert audit_of(repo, "a1") == ["advisory.publish", "advisory.draft"]

    def test_audit_filters_pages_and_keeps_json_values(self, repo: ReviewRepository) -> None:
        for i in range(5):
            repo.append_audit(
                entry(
                    "candidate.assign" if i % 2 else "report.export",
                    f"c{i}",
                    at=f"2026-05-0{i + 1}T00:00:00.000000+00:00",
                    actor="li" if i < 3 else "wang",
                    before='{"assignee": null}',
                    after='{"assignee": "李", "n": 1}',
                )
            )
        events, total = repo.audit_events(AuditQuery(), limit=2, offset=0)
        assert total == 5 and [e.target_id for e in events] == ["c4", "c3"]
        assert events[0].seq > events[1].seq
        assert events[0].before == {"assignee": None} and events[0].after == {"assignee": "李", "n": 1}
        events, total = repo.audit_events(AuditQuery(), limit=2, offset=4)
        assert total == 5 and [e.target_id for e in events] == ["c0"]
        events, total = repo.audit_events(AuditQuery(actor="li", action="candidate.assign"), limit=10, offset=0)
        assert (total, [e.target_id for e in events]) == (1, ["c1"])
        window = AuditQuery(since="2026-05-02T00:00:00.000000+00:00", until="2026-05-04T00:00:00.000000+00:00")
        events, total = repo.audit_events(window, limit=10, offset=0)
        assert (total, [e.target_id for e in events]) == (3, ["c3", "c2", "c1"])
        assert repo.audit_events(AuditQuery(target_kind="advisory"), limit=10, offset=0) == ([], 0)

    def test_concurrent_writers_lose_no_audit_entry(self, make_repo: Callable[[], ReviewRepository]) -> None:
        errors: list[BaseException] = []

        def write(worker: int) -> None:
            try:
                repo = make_repo()
                for i in range(20):
                    c = Comment(
                        f"m{worker}-{i}", "c1", f"w{worker}", "并发评论", f"2026-05-01T08:00:{i:02d}.000000+00:00"
                    )
                    repo.add_comment(c, entry("comment.add", "c1"))
            except BaseException as exc:
                errors.append(exc)

        run_workers(write, 4)
        assert errors == []
        repo = make_repo()
        assert len(repo.comments("c1")) == 80
        assert repo.audit_events(AuditQuery(target_id="c1"), limit=1, offset=0)[1] == 80


class UserRepositoryContract:
    @pytest.fixture
    def repo(self, make_repo: Callable[[], UserRepository]) -> UserRepository:
        return make_repo()

    def test_users_round_trip_and_survive_reopening(
        self, repo: UserRepository, make_repo: Callable[[], UserRepository]
    ) -> None:
        li = User("u1", "li", Role.analyst, "四川省")
        wang = User("u2", "wang", Role.station, None)
        repo.add_user(wang, "hash-w", "2026-05-01T00:00:00+00:00")
        repo.add_user(li, "hash-l", "2026-05-01T00:00:00+00:00")
        again = make_repo()
        assert again.get_user("u1") == li
        assert again.get_by_username("wang") == wang
        assert again.get_user("u9") is None and again.get_by_username("zhao") is None
        assert again.credentials("li") == (li, "hash-l")
        assert again.credentials("zhao") is None
        assert [u.username for u in again.list_users()] == ["li", "wang"]

    def test_a_taken_username_is_refused(self, repo: UserRepository) -> None:
        repo.add_user(User("u1", "li", Role.analyst), "h", "2026-05-01T00:00:00+00:00")
        with pytest.raises(UserExists, match="already exists"):
            repo.add_user(User("u2", "li", Role.viewer), "h", "2026-05-01T00:00:00+00:00")
        assert repo.get_by_username("li") == User("u1", "li", Role.analyst)

    def test_changes_apply_to_existing_users_only(self, repo: UserRepository) -> None:
        repo.add_user(User("u1", "li", Role.analyst, "四川省"), "h1", "2026-05-01T00:00:00+00:00")
        assert repo.set_password_hash("li", "h2")
        assert repo.set_role("li", Role.publisher)
        assert repo.set_organisation("li", None)
        assert repo.credentials("li") == (User("u1", "li", Role.publisher, None), "h2")
        assert not repo.set_password_hash("zhao", "h")
        assert not repo.set_role("zhao", Role.admin)
        assert not repo.set_organisation("zhao", "四川省")

    def test_a_password_change_bumps_the_token_version(
        self, repo: UserRepository, make_repo: Callable[[], UserRepository]
    ) -> None:
        repo.add_user(User("u1", "li", Role.analyst), "h1", "2026-05-01T00:00:00+00:00")
        assert repo.token_version("u1") == 0 and repo.token_version("u9") == 0
        assert repo.set_password_hash("li", "h2")  # a rehash of the same password revokes nothing
        assert repo.token_version("u1") == 0
        assert repo.change_password_hash("li", "h3")
        assert make_repo().token_version("u1") == 1
        assert repo.credentials("li") == (User("u1", "li", Role.analyst), "h3")
        assert not repo.change_password_hash("zhao", "h")

    def test_keys_find_their_user_until_revoked(self, repo: UserRepository) -> None:
        repo.add_user(User("u1", "li", Role.station, "站"), "h", "2026-05-01T00:00:00+00:00")
        first = ApiKey("k1", "u1", "feed", "2026-05-01T00:00:00+00:00", False, None)
        second = ApiKey("k2", "u1", "backup", "2026-05-02T00:00:00+00:00", False, None)
        repo.add_api_key(first, "digest-1")
        repo.add_api_key(second, "digest-2")
        assert repo.api_keys("u1") == [first, second]
        assert repo.api_keys("u9") == []
        user = repo.user_for_key("digest-1", "2026-05-03T00:00:00+00:00")
        assert user == User("u1", "li", Role.station, "站", via="api_key", api_key_id="k1")
        assert repo.get_api_key("k1") == ApiKey(
            "k1", "u1", "feed", first.created_at, False, "2026-05-03T00:00:00+00:00"
        )
        assert repo.user_for_key("digest-9", "2026-05-03T00:00:00+00:00") is None
        assert repo.revoke_api_key("k1")
        assert not repo.revoke_api_key("k1")
        assert not repo.revoke_api_key("k9")
        assert repo.user_for_key("digest-1", "2026-05-04T00:00:00+00:00") is None
        got = repo.get_api_key("k1")
        assert got is not None and got.revoked
        assert repo.user_for_key("digest-2", "2026-05-04T00:00:00+00:00") is not None
        assert repo.get_api_key("k9") is None

    def test_login_counters_change_in_one_step_and_survive_reopening(
        self, repo: UserRepository, make_repo: Callable[[], UserRepository]
    ) -> None:
        at = "2026-05-01T08:00:00.000000+00:00"
        seen: list[LoginThrottle | None] = []

        def count(current: LoginThrottle | None) -> LoginThrottle:
            seen.append(current)
            return (
                LoginThrottle("account:li", 1, at) if current is None else replace(current, failures=2, locked_until=at)
            )

        assert repo.login_throttle("account:li") is None
        first = repo.change_login_throttle("account:li", count)
        assert first == LoginThrottle("account:li", 1, at, None)
        assert make_repo().login_throttle("account:li") == first
        second = make_repo().change_login_throttle("account:li", count)
        assert seen == [None, first] and second == LoginThrottle("account:li", 2, at, at)
        assert repo.login_throttle("client:10.0.0.1") is None
        assert repo.change_login_throttle("account:li", lambda _: None) is None
        assert make_repo().login_throttle("account:li") is None

    def test_concurrent_login_failures_are_all_counted(self, make_repo: Callable[[], UserRepository]) -> None:
        errors: list[BaseException] = []

        def bump(current: LoginThrottle | None) -> LoginThrottle:
            failures = current.failures if current else 0
            return LoginThrottle("client:10.0.0.1", failures + 1, "2026-05-01T08:00:00.000000+00:00")

        def fail(_: int) -> None:
            try:
                repo = make_repo()
                for _ in range(10):
                    repo.change_login_throttle("client:10.0.0.1", bump)
            except BaseException as exc:
                errors.append(exc)

        run_workers(fail, 4)
        assert errors == []
        counted = make_repo().login_throttle("client:10.0.0.1")
        assert counted is not None and counted.failures == 40

    def test_a_disabled_user_is_found_by_nothing_until_enabled_again(self, repo: UserRepository) -> None:
        li = User("u1", "li", Role.station, "站")
        repo.add_user(li, "h", "2026-05-01T00:00:00+00:00")
        repo.add_api_key(ApiKey("k1", "u1", "feed", "2026-05-01T00:00:00+00:00", False, None), "digest-1")
        assert repo.set_disabled("li", True)
        assert repo.get_user("u1") is None and repo.get_by_username("li") is None
        assert repo.credentials("li") is None and repo.list_users() == []
        assert repo.user_for_key("digest-1", "2026-05-03T00:00:00+00:00") is None
        assert repo.set_disabled("li", False)
        assert repo.get_user("u1") == li
        assert repo.user_for_key("digest-1", "2026-05-03T00:00:00+00:00") is not None
        assert not repo.set_disabled("zhao", True)

    def test_the_generation_changes_with_every_change_of_standing_by_any_handle(
        self, repo: UserRepository, make_repo: Callable[[], UserRepository]
    ) -> None:
        """What a process's cache of resolved principals relies on: a change written through another handle (as
        another process would) shows in this handle's very next read of the generation; noting a key's use, a
        rehash and the login counters leave it as it is."""
        at = "2026-05-01T00:00:00+00:00"
        repo.add_user(User("u1", "li", Role.analyst, "四川省"), "h1", at)
        repo.add_api_key(ApiKey("k1", "u1", "feed", at, False, None), "digest-1")
        other = make_repo()
        changes: list[Callable[[], object]] = [
            lambda: other.set_role("li", Role.viewer),
            lambda: other.set_organisation("li", "成都市"),
            lambda: other.change_password_hash("li", "h2"),
            lambda: other.set_disabled("li", True),
            lambda: other.set_disabled("li", False),
            lambda: other.revoke_api_key("k1"),
        ]
        for change in changes:
            before = repo.generation()
            assert repo.generation() == before  # reading it changes nothing
            change()
            assert repo.generation() != before
            assert make_repo().generation() == repo.generation()
        repo.add_api_key(ApiKey("k2", "u1", "backup", at, False, None), "digest-2")
        still = repo.generation()
        assert other.user_for_key("digest-2", "2026-05-03T00:00:00+00:00") is not None
        assert other.set_password_hash("li", "h3")
        other.change_login_throttle("account:li", lambda _: LoginThrottle("account:li", 1, at))
        assert repo.generation() == still
