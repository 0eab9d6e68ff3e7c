"""A candidate's evidence a page at a time, the merge and split forms, and the audit log page for admins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.routers.console import candidate as candidate_page
from riskmine.processing import process_documents, refresh_candidates
from riskmine.review import audit
from riskmine.review.records import User
from riskmine.review.repository import open_review_repository
from riskmine.review.roles import Role
from riskmine.schema import CandidateRisk, SourceType
from riskmine.store.base import Collection
from tests.api.apikit import doc, keyword_pipeline
from tests.api.test_api_console import console_login, fire_candidate, kettle_candidate

MANY = 45


@pytest.fixture
def crowded(store: Any) -> CandidateRisk:
    """A power-bank fire candidate of MANY signals, a day apart (p0 the oldest), from two kinds of source."""
    docs = [
        doc(f"p{i}", f"第{i}号充电宝充电时起火。", days=i, source_type=SourceType.news if i % 2 else SourceType.review)
        for i in range(MANY)
    ]
    store.write(Collection.documents, docs)
    process_documents(store, keyword_pipeline(), [d.id for d in docs])
    refresh_candidates(store)
    found = store.query(Collection.candidates, filters={"product_category": "充电宝"}, limit=5).items
    assert len(found) == 1 and found[0].signal_count == MANY
    return found[0]


def shown_signals(html: str) -> list[str]:
    return re.findall(r'href="/api/v1/signals/([^"]+)"', html)


def test_evidence_is_paged_twenty_at_a_time_newest_first(
    client: TestClient, users: Any, store: Any, crowded: CandidateRisk
) -> None:
    console_login(client, users, "viewer")
    by_time = [s.id for s in sorted(store.get_many(Collection.signals, crowded.signal_ids), key=lambda s: s.when)]
    newest_first = by_time[::-1]
    html = client.get(f"/candidates/{crowded.id}", params={"keep": "这个"}).text
    assert f"证据（{MANY}）" in html and "第 1 / 3 页" in html
    assert shown_signals(html) == newest_first[:20]
    assert "新闻" in html and "电商评论" in html  # the source type of each signal
    assert len(re.findall(r'href="/api/v1/documents/[^"]+"', html)) == 20
    # the page links keep the page's other query parameters and come back to the evidence
    nxt = re.search(r'<a href="([^"]+)">下一页</a>', html)
    assert nxt is not None and nxt.group(1) == "?keep=%E8%BF%99%E4%B8%AA&amp;page=2#evidence"
    second = client.get(f"/candidates/{crowded.id}?keep=x&page=2").text
    assert shown_signals(second) == newest_first[20:40] and "第 2 / 3 页" in second
    last = client.get(f"/candidates/{crowded.id}?page=3").text
    assert shown_signals(last) == newest_first[40:]
    # past the end: the last page; a viewer gets no checkboxes and no merge form
    assert shown_signals(client.get(f"/candidates/{crowded.id}?page=99").text) == newest_first[40:]
    assert 'name="signal_ids"' not in html and "merge-form" not in html


def test_evidence_page_reads_one_page_from_the_store(
    store: Any, crowded: CandidateRisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []  # how many records each read of the store asked for
    query, get_many = store.query, store.get_many

    def counted_query(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["limit"])
        return query(*args, **kwargs)

    def counted_get_many(collection: Any, ids: Any) -> Any:
        asked.append(len(ids))
        return get_many(collection, ids)

    monkeypatch.setattr(store, "query", counted_query)
    monkeypatch.setattr(store, "get_many", counted_get_many)
    rows, total, page = candidate_page.evidence_page(store, crowded, 2)
    assert (len(rows), total, page) == (20, MANY, 2) and asked == [20]
    # a candidate too large for one id filter is paged in the order of its signal ids, still a page at a time
    monkeypatch.setattr(candidate_page, "MAX_ID_FILTER", 10)
    asked.clear()
    rows, total, page = candidate_page.evidence_page(store, crowded, 3)
    assert [r.signal.id for r in rows] == crowded.signal_ids[40:] and total == MANY and asked == [5]


def test_merge_in_the_console(client: TestClient, users: Any, seeded: dict[str, Any], store: Any) -> None:
    fire, kettle = fire_candidate(seeded), kettle_candidate(seeded)
    console_login(client, users, "analyst")
    page = client.get(f"/candidates/{fire.id}").text
    assert 'class="merge-form"' in page and 'name="source_id"' in page
    r = client.post(
        f"/candidates/{fire.id}/merge",
        data={"source_id": kettle.id, "reason": "同一厂家<b>同批次</b>", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/candidates/{fire.id}?done=merged#evidence"
    html = client.get(r.headers["location"]).text
    assert "合并完成" in html and f"证据（{fire.signal_count + kettle.signal_count}）" in html
    assert "合并理由" in html and "同一厂家&lt;b&gt;同批次&lt;/b&gt;" in html  # the reason, escaped, as a comment
    merged = store.get(Collection.candidates, kettle.id)
    assert merged.status.value == "merged" and merged.merged_into == fire.id
    assert "已合并至" in client.get(f"/candidates/{kettle.id}").text


def test_merge_offers_similar_candidates(client: TestClient, users: Any, seeded: dict[str, Any], store: Any) -> None:
    bikes = [doc(f"b{i}", "电动车停在楼道充电时起火。", days=i) for i in range(3)]
    store.write(Collection.documents, bikes)
    process_documents(store, keyword_pipeline(), [d.id for d in bikes])
    refresh_candidates(store)
    bike = store.query(Collection.candidates, filters={"product_category": "电动自行车"}, limit=1).items[0]
    fire, kettle = fire_candidate(seeded), kettle_candidate(seeded)
    console_login(client, users, "analyst")
    form = client.get(f"/candidates/{fire.id}").text.split('class="merge-form"')[1]
    assert f'name="source" value="{bike.id}"' in form  # the same hazard
    assert kettle.id not in form and f'value="{fire.id}"' not in form
    r = client.post(
        f"/candidates/{fire.id}/merge",
        data={"source": bike.id, "reason": "同类起火", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert store.get(Collection.candidates, bike.id).merged_into == fire.id


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"source_id": "SELF", "reason": "r", "confirm": "yes"}, 422, "不能把候选风险合并到它自己"),
        ({"source_id": "c-nowhere", "reason": "r", "confirm": "yes"}, 404, "没有编号为 c-nowhere 的候选风险"),
        ({"reason": "r", "confirm": "yes"}, 422, "请选择或填写要并入本候选风险的另一个候选风险编号"),
        ({"source_id": "KETTLE", "confirm": "yes"}, 422, "请填写合并理由"),
        ({"source_id": "KETTLE", "reason": "r"}, 422, "请勾选“确认合并”"),
    ],
)
def test_refused_merges_are_explained_in_chinese(
    client: TestClient, users: Any, seeded: dict[str, Any], store: Any, form: dict[str, str], status: int, message: str
) -> None:
    fire, kettle = fire_candidate(seeded), kettle_candidate(seeded)
    form = {k: v.replace("SELF", fire.id).replace("KETTLE", kettle.id) for k, v in form.items()}
    console_login(client, users, "analyst")
    r = client.post(f"/candidates/{fire.id}/merge", data=form)
    assert r.status_code == status and message in r.text and "未能保存" in r.text
    assert 'class="merge-form"' in r.text  # the page again, with its forms
    assert store.get(Collection.candidates, kettle.id).status.value != "merged"


def test_a_merged_candidate_cannot_be_merged_again(client: TestClient, users: Any, seeded: dict[str, Any]) -> None:
    fire, kettle = fire_candidate(seeded), kettle_candidate(seeded)
    console_login(client, users, "analyst")
    ok = {"source_id": kettle.id, "reason": "r", "confirm": "yes"}
    assert client.post(f"/candidates/{fire.id}/merge", data=ok, follow_redirects=False).status_code == 303
    r = client.post(f"/candidates/{fire.id}/merge", data=ok)
    assert r.status_code == 409 and "状态为“已合并”，不能被合并" in r.text
    # nor offered the merge or split forms itself
    html = client.get(f"/candidates/{kettle.id}").text
    assert "merge-form" not in html and 'name="signal_ids"' not in html


def test_split_in_the_console(client: TestClient, users: Any, seeded: dict[str, Any], store: Any) -> None:
    fire = fire_candidate(seeded)
    console_login(client, users, "analyst")
    page = client.get(f"/candidates/{fire.id}").text
    boxes = re.findall(r'<input type="checkbox" name="signal_ids" value="([^"]+)">', page)
    assert sorted(boxes) == sorted(fire.signal_ids)
    moving = boxes[0]
    r = client.post(
        f"/candidates/{fire.id}/split", data={"signal_ids": [moving], "reason": "另一型号"}, follow_redirects=False
    )
    assert r.status_code == 303
    new_id = r.headers["location"].split("/candidates/")[1].split("?")[0]
    assert r.headers["location"].endswith("?done=split")
    html = client.get(r.headers["location"]).text
    assert "拆分完成" in html and "证据（1）" in html and shown_signals(html) == [moving]
    assert "拆分理由" in html and "另一型号" in html
    reduced = store.get(Collection.candidates, fire.id)
    assert moving not in reduced.signal_ids and len(reduced.signal_ids) == len(fire.signal_ids) - 1
    assert store.get(Collection.candidates, new_id).signal_ids == [moving]
    assert "另一型号" in client.get(f"/candidates/{fire.id}").text  # the reason on both


@pytest.mark.parametrize(
    ("pick", "reason", "message"),
    [
        ("none", "r", "请在证据列表中至少勾选一条要拆分出去的信号"),
        ("all", "r", "不能把全部信号都拆分出去"),
        ("one", "", "请填写拆分理由"),
        ("stranger", "r", "所选信号不属于本候选风险"),
    ],
)
def test_refused_splits_are_explained_in_chinese(
    client: TestClient, users: Any, seeded: dict[str, Any], store: Any, pick: str, reason: str, message: str
) -> None:
    fire = fire_candidate(seeded)
    chosen = {"none": [], "all": fire.signal_ids, "one": fire.signal_ids[:1], "stranger": ["s-elsewhere"]}[pick]
    console_login(client, users, "analyst")
    r = client.post(f"/candidates/{fire.id}/split", data={"signal_ids": chosen, "reason": reason})
    assert r.status_code == 422 and message in r.text
    assert store.get(Collection.candidates, fire.id).signal_ids == fire.signal_ids


def test_merge_and_split_need_a_reviewer_and_this_site(client: TestClient, users: Any, seeded: dict[str, Any]) -> None:
    fire, kettle = fire_candidate(seeded), kettle_candidate(seeded)
    merge = {"source_id": kettle.id, "reason": "r", "confirm": "yes"}
    split = {"signal_ids": fire.signal_ids[:1], "reason": "r"}
    assert client.post(f"/candidates/{fire.id}/merge", data=merge).status_code == 401
    console_login(client, users, "viewer")
    for path, form in (("merge", merge), ("split", split)):
        assert client.post(f"/candidates/{fire.id}/{path}", data=form).status_code == 403
    console_login(client, users, "analyst")
    for path, form in (("merge", merge), ("split", split)):
        r = client.post(f"/candidates/{fire.id}/{path}", data=form, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "cross_site_request" in r.text


# --- the audit log page ---------------------------------------------------------------------------------------


def log_table(html: str) -> str:
    """The audit page's table of events (the filters above it list every action's label)."""
    return html.partition('<table class="queue audit-log">')[2]


def test_admin_reads_the_audit_log(client: TestClient, users: Any, seeded: dict[str, Any]) -> None:
    fire, kettle = fire_candidate(seeded), kettle_candidate(seeded)
    console_login(client, users, "analyst")
    client.post(f"/candidates/{fire.id}/comments", data={"text": "<script>alert('audit')</script>"})
    client.post(f"/candidates/{fire.id}/merge", data={"source_id": kettle.id, "reason": "同批次", "confirm": "yes"})
    console_login(client, users, "admin")
    r = client.get("/audit")
    assert r.status_code == 200
    html = r.text
    assert 'href="/audit" class="active">审计日志</a>' in html
    html = log_table(html)
    assert "合并候选风险（并入方）" in html and "候选风险被合并" in html and "添加研判意见" in html
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#39;audit&#39;)&lt;/script&gt;" in html
    assert f'<a href="/candidates/{fire.id}">{fire.id}</a>' in html
    # newest first: the merge comment after the merge, the merge after the first comment
    assert html.index("候选风险被合并") < html.index("&lt;script&gt;")
    # filters: action, actor, target, time range
    only = client.get("/audit", params={"action": "candidate.merged"}).text
    assert "共 1 条" in only and f">{kettle.id}</a>" in only and "添加研判意见" not in log_table(only)
    assert '<option value="candidate.merged" selected>' in only
    assert "共 0 条" in client.get("/audit", params={"actor": "nobody"}).text
    by_target = client.get("/audit", params={"target_kind": "candidate", "target_id": fire.id}).text
    assert "共 3 条" in by_target  # the comment, the merge and the reason's comment
    assert "共 0 条" in client.get("/audit", params={"until": "2020-01-01"}).text
    assert "共 0 条" not in client.get("/audit", params={"since": "2020-01-01"}).text
    bad = client.get("/audit", params={"since": "昨天"})
    assert bad.status_code == 200 and "起始日期应为“年-月-日”格式的日期" in bad.text


def test_audit_log_pages_fifty_at_a_time_keeping_the_filters(client: TestClient, users: Any, settings: Any) -> None:
    console_login(client, users, "admin")
    db = open_review_repository(settings)
    actor = User(id="u1", username="robot", role=Role.admin)
    for n in range(60):
        audit.record(db, actor, "org.add", "org", f"单位{n}", after={"n": n})
    audit.record(db, actor, "key.revoke", "api_key", "k1")
    html = client.get("/audit", params={"actor": "robot", "action": "org.add"}).text
    assert "共 60 条" in html and "第 1 / 2 页" in html
    assert "单位59" in html and "单位10" in html and "单位9<" not in html
    nxt = re.search(r'<a href="([^"]+)">下一页</a>', html)
    assert nxt is not None and nxt.group(1) == "?actor=robot&amp;action=org.add&amp;page=2"
    second = client.get("/audit", params={"actor": "robot", "action": "org.add", "page": 2}).text
    assert "单位9<" in second and "单位0<" in second and "单位10<" not in second


@pytest.mark.parametrize("role", ["analyst", "viewer", "publisher", "station"])
def test_only_admins_see_the_audit_log(client: TestClient, users: Any, role: str) -> None:
    assert client.get("/audit", follow_redirects=False).headers["location"].startswith("/login")
    console_login(client, users, role)
    r = client.get("/audit")
    assert r.status_code == 403 and "只有管理员可以查看审计日志" in r.text
    assert 'href="/audit"' not in client.get("/advisories").text
