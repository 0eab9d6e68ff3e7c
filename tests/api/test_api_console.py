"""The review console pages: queue, candidate detail, signal search, login; crawled text stays inert."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.render import SECURITY_HEADERS
from tests.api.apikit import HOSTILE_TEXT


def fire_candidate(seeded: dict[str, Any]) -> Any:
    return next(c for c in seeded["candidates"] if c.product_category == "充电宝")


@pytest.fixture
def analyst_session(client: TestClient, users: Any) -> TestClient:
    """`client` signed in through the login form (a session cookie) as an analyst of the assessment centre, who
    sees every candidate: every console page but the advisories and the login page needs a login, in every mode."""
    console_login(client, users, "analyst")
    return client


@pytest.mark.usefixtures("analyst_session")
def test_queue_page_lists_candidates(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    for header, value in SECURITY_HEADERS.items():
        assert r.headers[header] == value
    html = r.text
    assert "候选风险队列" in html
    for cand in seeded["candidates"]:
        assert f'href="/candidates/{cand.id}"' in html
    assert "立即处置" in html  # tier label
    assert "触电" in html  # hazard label
    assert "高风险" in html  # level badge
    assert "2024-05-11" in html  # last seen
    assert "<script" not in html


@pytest.mark.usefixtures("analyst_session")
def test_queue_filters(client: TestClient, seeded: dict[str, Any]) -> None:
    fire = fire_candidate(seeded)
    html = client.get("/", params={"hazard": "fire", "tier": "", "region": ""}).text
    assert f"/candidates/{fire.id}" in html
    assert all(f"/candidates/{c.id}" not in html for c in seeded["candidates"] if c.id != fire.id)
    assert '<option value="fire" selected>' in html
    # unknown values in a hand-edited URL are ignored, not a crash
    assert client.get("/", params={"hazard": "lasers", "page": "x"}).status_code == 200


@pytest.mark.usefixtures("analyst_session")
def test_candidate_page_escapes_hostile_text_and_highlights_spans(client: TestClient, seeded: dict[str, Any]) -> None:
    fire = fire_candidate(seeded)
    r = client.get(f"/candidates/{fire.id}")
    assert r.status_code == 200
    html = r.text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html
    assert re.search(r'<mark class="hz hz-fire" title="[^"]*">自燃</mark>', html)
    assert re.search(r'<mark class="hz hz-fire" title="[^"]*">起火</mark>', html)
    # a javascript: URL is never made a link
    assert 'href="javascript:' not in html
    assert "原文链接不可用" in html
    # evidence links back to the stored documents, and they resolve
    links = re.findall(r'href="(/api/v1/documents/[^"]+)"', html)
    assert len(links) == 3
    for link in links:
        assert client.get(link).status_code == 200
    assert 'href="https://shop.example.com/item/r1"' in html
    # counts by source type and week are drawn
    assert "电商评论" in html and "新闻" in html and "投诉" in html
    assert "2024-W19" in html
    assert "<svg" in html


@pytest.mark.usefixtures("analyst_session")
def test_hostile_title_is_escaped(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/signals", params={"q": "自燃"})
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>" not in r.text
    assert HOSTILE_TEXT not in r.text


@pytest.mark.parametrize(
    "q",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' OR 1=1 --",
        'NEAR("充电宝"',
        "*",
        "\u202e起火",
    ],
)
@pytest.mark.usefixtures("analyst_session")
def test_hostile_search_strings_render_inert(client: TestClient, seeded: dict[str, Any], q: str) -> None:
    r = client.get("/signals", params={"q": q})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "<img src=x" not in r.text
    assert 'value="' in r.text


@pytest.mark.usefixtures("analyst_session")
def test_query_is_not_evaluated_as_a_template(client: TestClient) -> None:
    r = client.get("/signals", params={"q": "{{ 7*7 }}"})
    assert 'value="{{ 7*7 }}"' in r.text
    assert "“{{ 7*7 }}”" in r.text


@pytest.mark.usefixtures("analyst_session")
def test_signal_search_page(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/signals", params={"q": "电热水壶"})
    html = r.text
    assert "共 2 条" in html
    assert '<mark class="hz hz-electric_shock"' in html
    assert 'value="电热水壶"' in html
    r = client.get("/signals", params={"hazard": "fire", "is_risk": "1", "source_type": ""})
    assert "共 3 条" in r.text
    r = client.get("/signals")
    assert "共 7 条" in r.text


def test_login_page(client: TestClient) -> None:
    r = client.get("/login", params={"next": "//evil.example"})
    assert r.status_code == 200
    assert 'name="next" value="/"' in r.text
    assert 'type="password"' in r.text


def test_anonymous_visitors_see_no_review_record_in_development(
    client: TestClient, seeded: dict[str, Any], login: Any
) -> None:
    """`make run` serves in development: there too the console shows an anonymous visitor no candidate, signal,
    comment or decision rationale, as the API answers 401 for them (Sichuan 第七条)."""
    fire = fire_candidate(seeded)
    analyst = login("analyst")
    review = f"/api/v1/review/candidates/{fire.id}"
    assert client.post(f"{review}/comments", json={"text": "内部意见：待抽检"}, headers=analyst).status_code == 201
    decision = {"status": "confirmed", "risk_level": "high", "warning_color": "red", "rationale": "内部理由：多源起火"}
    assert client.post(f"{review}/decisions", json=decision, headers=analyst).status_code == 201
    for path in (f"{review}/comments", f"{review}/decisions", f"/api/v1/candidates/{fire.id}", "/api/v1/signals"):
        assert client.get(path).status_code == 401, path
    for path in ("/", f"/candidates/{fire.id}", "/signals?q=充电宝", "/overdue", "/station"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        page = client.get(path).text  # the login page it leads to
        assert "内部意见" not in page and "内部理由" not in page and "晚上突然起火了" not in page, path
    assert client.get("/advisories").status_code == 200  # published advisories stay public


def test_login_page_lists_the_demo_logins_in_development_only(
    client: TestClient, make_client: Any, settings: Any, users: Any
) -> None:
    from riskmine.review.users import DEMO_USERS, ensure_demo_users

    assert "demo-pass" not in client.get("/login").text  # no demo users: nothing to list
    ensure_demo_users(settings, users)
    page = client.get("/login").text
    for username, password, _, _ in DEMO_USERS:
        assert f"<code>{username}</code>" in page and f"<code>{password}</code>" in page
    assert "查看者</td><td>成都市" in page  # the viewer sees 成都市's subtree
    production = make_client(env="production", secret_key=settings.secret_key)
    assert "demo-pass" not in production.get("/login").text  # public passwords are never shown there


def test_static_css_is_served(client: TestClient) -> None:
    r = client.get("/static/console.css")
    assert r.status_code == 200
    assert "text/css" in r.headers["content-type"]


@pytest.mark.usefixtures("analyst_session")
def test_pages_load_no_external_assets(client: TestClient, seeded: dict[str, Any]) -> None:
    for path in ("/", f"/candidates/{fire_candidate(seeded).id}", "/signals", "/login"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//(?!shop\.example\.com)', html), path


# --- the review pages: queue order, candidate analysis, decisions, advisories, overdue, station -----------


def console_login(client: TestClient, users: Any, role: str, organisation: str | None = None) -> None:
    """Log `client` in through the console's form as a new user with `role` (the session cookie is kept)."""
    from tests.api.apikit import PASSWORD

    name = f"{role}-console"
    if users.get_by_username(name) is None:
        users.create_user(name, PASSWORD, role, organisation=organisation)
    r = client.post("/login", data={"username": name, "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def kettle_candidate(seeded: dict[str, Any]) -> Any:
    return next(c for c in seeded["candidates"] if c.product_category == "电热水壶")


@pytest.mark.usefixtures("analyst_session")
def test_queue_lists_immediate_tier_first(client: TestClient, seeded: dict[str, Any]) -> None:
    html = client.get("/").text
    kettle, fire = kettle_candidate(seeded), fire_candidate(seeded)
    assert kettle.tier.value == "immediate" and fire.tier.value != "immediate"
    assert html.index(f"/candidates/{kettle.id}") < html.index(f"/candidates/{fire.id}")
    # paging walks the tiers in the same order
    assert "共 2 条" in html


def test_candidate_page_shows_the_analysis(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    fire = fire_candidate(seeded)
    console_login(client, users, "viewer")
    html = client.get(f"/candidates/{fire.id}").text
    assert "优先级因素" in html and re.search(r'<svg class="bar"[^>]*aria-label="独立事件数 [0-9.]+"', html)
    assert "统计检验" in html and "趋势检验" in html
    assert "daily_events" not in html  # raw inputs are not listed
    assert re.search(r'<svg class="trend"[^>]*aria-label="每周信号数"', html)
    assert "<title>2024-W19：" in html
    assert "地区分布" in html and "关联实体" in html
    assert "办理期限" in html
    # a viewer reads the analysis and sees why they cannot decide
    assert "当前角色（查看者）不能作出研判" in html
    assert "decision-form" not in html


def test_viewer_sees_no_decision_form(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    console_login(client, users, "viewer")
    html = client.get(f"/candidates/{fire_candidate(seeded).id}").text
    assert "不能作出研判" in html
    assert "decision-form" not in html
    r = client.post(
        f"/candidates/{fire_candidate(seeded).id}/decision", data={"status": "rejected", "rationale": "无关"}
    )
    assert r.status_code == 403
    assert "forbidden" in r.text or "不能" in r.text


def test_analyst_decides_in_the_console(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    kettle = kettle_candidate(seeded)
    console_login(client, users, "analyst")
    page = client.get(f"/candidates/{kettle.id}").text
    assert 'class="decision-form"' in page
    for code in ("spot_check", "recall_advice", "standard_revision"):
        assert f'name="measures" value="{code}"' in page
    r = client.post(
        f"/candidates/{kettle.id}/decision",
        data={
            "status": "confirmed",
            "risk_level": "high",
            "warning_color": "red",
            "measures": ["spot_check", "recall_advice"],
            "rationale": "多起漏电致伤 <b>需处置</b>",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/candidates/{kettle.id}?done=decided")
    html = client.get(r.headers["location"]).text
    assert "研判结论已保存" in html
    assert "已确认" in html and "实施监督抽查、提出召回建议" in html
    assert "多起漏电致伤 &lt;b&gt;需处置&lt;/b&gt;" in html  # the rationale is escaped too
    assert "decision-form" not in html  # decided
    assert 'name="to" value="disposed"' in html  # the next step is offered
    assert 'class="advisory-form"' in html


def test_the_decided_grade_heads_the_page_and_the_queue_with_the_suggestion_beside_it(
    client: TestClient, seeded: dict[str, Any], users: Any, store: Any
) -> None:
    from riskmine.schema import RiskLevel, WarningColor
    from riskmine.store.base import Collection, DuplicatePolicy

    fire = fire_candidate(seeded)
    fire.risk_level, fire.warning_color = RiskLevel.high, WarningColor.red  # the model suggests 高风险, 红色
    store.write(Collection.candidates, [fire], DuplicatePolicy.overwrite)
    console_login(client, users, "analyst")
    decision = {"status": "confirmed", "risk_level": "medium", "warning_color": "orange", "rationale": "个案"}
    assert client.post(f"/candidates/{fire.id}/decision", data=decision, follow_redirects=False).status_code == 303
    page = client.get(f"/candidates/{fire.id}").text
    header = page[page.index("<h1>") : page.index('<section class="grid">')]
    queue = client.get("/").text
    row = next(r for r in queue.split("<tr>") if f'href="/candidates/{fire.id}"' in r)
    for shown in (header, row):
        decided, _, suggestion = shown.partition("建议：")
        assert "中风险" in decided and "橙色预警" in decided
        assert "高风险" not in decided and "红色预警" not in decided
        assert "高风险" in suggestion and "红色预警" in suggestion


def test_refused_decision_is_explained(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    console_login(client, users, "analyst")
    fire = fire_candidate(seeded)
    r = client.post(f"/candidates/{fire.id}/decision", data={"status": "confirmed", "rationale": "缺少等级"})
    assert r.status_code == 422
    assert "未能保存" in r.text and "risk level" in r.text
    assert "decision-form" in r.text  # the form is shown again


def test_forms_refuse_other_sites(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    console_login(client, users, "analyst")
    fire = fire_candidate(seeded)
    for path in (f"/candidates/{fire.id}/decision", f"/candidates/{fire.id}/transition", "/advisories/a1/approve"):
        r = client.post(path, data={"status": "rejected", "rationale": "x"}, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403, path
        assert "cross_site_request" in r.text


def test_forms_need_a_login(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.post(f"/candidates/{fire_candidate(seeded).id}/decision", data={"status": "rejected"})
    assert r.status_code == 401


def test_draft_approve_and_publish(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    kettle = kettle_candidate(seeded)
    console_login(client, users, "analyst")
    client.post(
        f"/candidates/{kettle.id}/decision",
        data={"status": "confirmed", "risk_level": "high", "warning_color": "orange", "rationale": "确认"},
    )
    # confirmed orange: its immediate report is written at once, which meets the 24-hour deadline
    page = client.get(f"/candidates/{kettle.id}").text
    assert "已确认" in page and "已超期" not in page and "剩余" not in page
    assert f'href="/candidates/{kettle.id}"' not in client.get("/overdue").text
    r = client.post(
        f"/candidates/{kettle.id}/advisories",
        data={"kind": "consumer_advisory", "title": "<i>谨慎</i>选购电热水壶", "body": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/advisories?status=draft")
    drafts = client.get("/advisories", params={"status": "draft"}).text
    assert "&lt;i&gt;谨慎&lt;/i&gt;选购电热水壶" in drafts
    assert "/approve" not in drafts  # no approval form for an analyst
    advisory_id = re.search(r'id="advisory-([^"]+)"', drafts)
    assert advisory_id
    r = client.post(f"/advisories/{advisory_id.group(1)}/approve")
    assert r.status_code == 403  # an analyst cannot publish

    publisher = client  # same client, new session
    client.post("/logout")
    console_login(publisher, users, "publisher")
    r = publisher.post(f"/advisories/{advisory_id.group(1)}/approve", follow_redirects=False)
    assert r.status_code == 303
    published = publisher.get(r.headers["location"]).text
    assert "通告已批准发布" in published and "&lt;i&gt;谨慎&lt;/i&gt;选购电热水壶" in published
    r = publisher.post(f"/advisories/{advisory_id.group(1)}/approve")
    assert r.status_code == 409  # once only
    publisher.post("/logout")
    assert "选购电热水壶" in client.get("/advisories").text  # consumer advisories are public


@pytest.mark.usefixtures("analyst_session")
def test_overdue_page(client: TestClient, seeded: dict[str, Any], store: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from riskmine.store.base import Collection, DuplicatePolicy

    kettle = kettle_candidate(seeded)
    late = kettle.model_copy(update={"due_at": datetime.now(UTC) - timedelta(hours=30)})
    store.write(Collection.candidates, [late], DuplicatePolicy.overwrite)
    html = client.get("/overdue").text
    assert f'href="/candidates/{kettle.id}"' in html
    assert "重大风险 24 小时内报告" in html
    assert f'href="/candidates/{fire_candidate(seeded).id}"' not in html
    page = client.get(f"/candidates/{kettle.id}").text
    assert re.search(r"（已超期 1 天 [56] 小时 \d+ 分）", page) and "剩余" not in page


def test_a_running_deadline_shows_the_time_left(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    kettle = kettle_candidate(seeded)
    console_login(client, users, "viewer")
    # found in the immediate tier when its injury report was collected just now: the 24 hours are running
    assert "没有超期事项" in client.get("/overdue").text
    page = client.get(f"/candidates/{kettle.id}").text
    assert re.search(r"（剩余 2[0-3] 小时 \d+ 分）", page) and "已超期" not in page
    assert re.search(r'title="剩余 2[0-3] 小时 \d+ 分"', client.get("/").text)


def test_station_page(client: TestClient, seeded: dict[str, Any], users: Any, store: Any) -> None:
    from riskmine.store.base import Collection
    from tests.api.apikit import doc

    assert client.get("/station", follow_redirects=False).status_code == 303  # login first
    sent = doc("s1", "电动车充电时起火<script>x</script>", days=12).model_copy(update={"source": "station:京东"})
    store.write(Collection.documents, [sent])
    console_login(client, users, "station", organisation="京东")
    html = client.get("/station", params={"station": "别的站"}).text
    assert "监测站报送：京东" in html  # a station sees its own organisation only
    assert "电动车充电时起火&lt;script&gt;x&lt;/script&gt;" in html
    assert "待处理" in html
    assert "尚无报送批次" in html
    client.post("/logout")
    console_login(client, users, "viewer")
    assert client.get("/station").status_code == 403


@pytest.mark.usefixtures("analyst_session")
def test_candidate_page_lists_graph_neighbours(
    client: TestClient, seeded: dict[str, Any], store: Any, settings: Any
) -> None:
    from riskmine.knowledge_graph.graph import forget_graphs, graph_file, rebuild_graph, save_graph

    kettle = kettle_candidate(seeded)
    before = client.get(f"/candidates/{kettle.id}").text
    assert "来自候选风险记录" in before  # no graph built for this app yet
    save_graph(rebuild_graph(store), graph_file(settings))
    forget_graphs()
    try:
        html = client.get(f"/candidates/{kettle.id}").text
    finally:
        forget_graphs()
    section = html[html.index("关联实体") : html.index("证据（")]
    assert "来自候选风险记录" not in section
    # each entity links to its graph page
    entity = r'<span class="entity"><a href="/graph/test">test</a> <span class="muted">\(2\)</span>'
    assert re.search(r"<dt>信息来源</dt><dd>" + entity, section)


def test_station_sees_only_its_own_candidates_and_signals(
    client: TestClient, seeded: dict[str, Any], users: Any, store: Any
) -> None:
    from riskmine.processing import process_documents, refresh_candidates
    from riskmine.schema import RawDocument
    from riskmine.store.base import Collection
    from tests.api.apikit import doc, keyword_pipeline

    sent = [
        RawDocument.model_validate(
            doc(sid, text, days=days).model_dump(exclude={"id", "source"}) | {"source": "station:京东"}
        )
        for sid, text, days in (("s2", "电动车充电时起火，车库烧毁。", 12), ("s3", "电动车电池自燃。", 13))
    ]
    store.write(Collection.documents, sent)
    process_documents(store, keyword_pipeline(), [d.id for d in sent])
    refresh_candidates(store)
    mine = next(c for c in store.iterate(Collection.candidates) if sent[0].id in c.signal_ids)
    console_login(client, users, "station", organisation="京东")
    html = client.get("/").text
    assert f'href="/candidates/{mine.id}"' in html
    for other in seeded["candidates"]:
        assert f'href="/candidates/{other.id}"' not in html
        assert client.get(f"/candidates/{other.id}").status_code == 404
    assert client.get(f"/candidates/{mine.id}").status_code == 200
    found = client.get("/signals", params={"q": "起火"}).text
    assert "共 1 条" in found and "车库烧毁" in found  # not the seeded 起火 reviews and news


def test_api_consumer_is_sent_to_the_advisories(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    console_login(client, users, "api_consumer")
    for path in ("/", "/signals"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/advisories"
    assert client.get(f"/candidates/{fire_candidate(seeded).id}").status_code == 403
    assert client.get("/advisories").status_code == 200


def test_comment_and_assign(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    fire = fire_candidate(seeded)
    console_login(client, users, "analyst")
    r = client.post(
        f"/candidates/{fire.id}/comments", data={"text": "需核实<script>来源</script>"}, follow_redirects=False
    )
    assert r.status_code == 303
    html = client.get(r.headers["location"]).text
    assert "意见已添加" in html and "需核实&lt;script&gt;来源&lt;/script&gt;" in html
    assert "研判意见（1）" in html
    r = client.post(f"/candidates/{fire.id}/assign", data={"assignee": "analyst-console"}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(f"/candidates/{fire.id}").text
    assert "<dt>负责人</dt><dd>analyst-console</dd>" in html
    assert "研判中" in html  # a new candidate moves to in_review when assigned
    assert client.post(f"/candidates/{fire.id}/comments", data={"text": ""}).status_code == 422


def test_objection_recorded_and_answered(client: TestClient, seeded: dict[str, Any], users: Any) -> None:
    fire = fire_candidate(seeded)
    console_login(client, users, "analyst")
    assert 'id="objections"' not in client.get(f"/candidates/{fire.id}").text  # nothing decided yet
    client.post(f"/candidates/{fire.id}/decision", data={"status": "rejected", "rationale": "证据不足"})
    r = client.post(
        f"/candidates/{fire.id}/objections",
        data={"objector": "某充电宝厂", "objector_kind": "producer", "text": "产品<b>合格</b>"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = client.get(r.headers["location"]).text
    assert "自收到结果之日起 15 日内" in html  # Sichuan 第二十一条, not from the decision
    assert "未登记收到结果日期，按研判日期起算 15 日" in html  # no date given: said so
    from datetime import datetime

    from tests.api.apikit import CST

    today = datetime.now(CST).date().isoformat()
    r = client.post(
        f"/candidates/{fire.id}/objections",
        data={"objector": "某网店", "objector_kind": "seller", "text": "异议", "result_received_at": today},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert f"收到结果 {today}" in client.get(r.headers["location"]).text
    bad_day = client.post(
        f"/candidates/{fire.id}/objections",
        data={"objector": "x", "objector_kind": "seller", "text": "y", "result_received_at": "2020-13-01"},
    )
    assert bad_day.status_code == 422 and "result_received_at" in bad_day.text
    assert "异议已登记" in html and "某充电宝厂" in html and "产品&lt;b&gt;合格&lt;/b&gt;" in html
    assert "待答复" in html
    answer_path = re.search(r'action="(/candidates/[^"]+/objections/[^"]+/answer)"', html)
    assert answer_path
    r = client.post(answer_path.group(1), data={"answer": "已复核，维持结论"}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(r.headers["location"]).text
    assert "已答复" in html and "已复核，维持结论" in html
    assert client.post(answer_path.group(1), data={"answer": "再次"}).status_code == 409
    bad = client.post(
        f"/candidates/{fire.id}/objections", data={"objector": "x", "objector_kind": "lawyer", "text": "y"}
    )
    assert bad.status_code == 422 and "objector_kind" in bad.text


def test_tiered_paging_walks_tiers_in_order(store: Any) -> None:
    from riskmine.api.routers.console.queue import tiered_page
    from riskmine.schema import CandidateRisk, Tier
    from riskmine.store.base import Collection

    made = [
        CandidateRisk(id=f"c{i}", key=f"k{i}", title=f"t{i}", tier=tier, priority=prio)
        for i, (tier, prio) in enumerate(
            [(Tier.watch, 0.9), (Tier.immediate, 0.2), (Tier.review, 0.5), (Tier.immediate, 0.7), (Tier.review, 0.6)]
        )
    ]
    store.write(Collection.candidates, made)
    walked = []
    for offset in range(0, 6, 2):
        page = tiered_page(store, {}, limit=2, offset=offset)
        assert page.total == 5
        walked.extend(c.id for c in page.items)
    assert walked == ["c3", "c1", "c4", "c2", "c0"]
    only = tiered_page(store, {"tier": "review"}, limit=10, offset=0)
    assert [c.id for c in only.items] == ["c4", "c2"]
