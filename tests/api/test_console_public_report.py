"""The public report page: anyone reaches it without logging in (linked from the login page and the anonymous
menu), the form goes through the public-report service (stored, contact kept apart and masked in the text,
rate-limited), a receipt thanks the reporter, and a refused form comes back with Chinese reasons, escaped."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from riskmine.review.users import UserStore
from riskmine.schema import SourceType
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.test_api_console import console_login

PAGE = "/public-report"
HTML = {"Accept": "text/html"}
REPORT = {
    "kind": "unit",
    "product": "某品牌电动自行车",
    "problem": "充电时电池起火",
    "region": "山西省太原市",
    "contact": "13812345678",
    "link": "",
    "text": "楼道里充电时突然冒烟起火，打我电话 13812345678 核实。",
}


def post(client: TestClient, form: dict[str, str], **headers: str) -> Any:
    return client.post(PAGE, data=form, headers={**HTML, **headers}, follow_redirects=False)


def test_anyone_finds_and_sends_the_form(client: TestClient, store: SQLiteStore, users: UserStore) -> None:
    login_page = client.get("/login").text
    assert 'href="/public-report"' in login_page and "无需登录，提交公众举报" in login_page
    page = client.get(PAGE, headers=HTML)
    assert page.status_code == 200 and "任何单位、组织和个人均可以提供产品质量安全风险信息" in page.text
    assert '<a href="/public-report" class="active">公众举报</a>' in page.text  # the anonymous menu
    for name in ("kind", "product", "problem", "region", "contact", "link", "text"):
        assert f'name="{name}"' in page.text

    r = post(client, REPORT)
    assert r.status_code == 303, r.text
    target = r.headers["location"]
    assert target.startswith("/public-report?received=")
    receipt = client.get(target).text
    assert "感谢您的举报：信息已收到，将由风险分析人员研判。" in receipt and "回执编号" in receipt
    assert "13812345678" not in receipt
    [doc] = store.get_many(Collection.documents, [target.split("=", 1)[1]])
    assert doc.source_type is SourceType.public_report and doc.product == "某品牌电动自行车"
    assert doc.meta["contact"] == "13812345678"  # for admins only (the API leaves it out for everyone else)
    assert doc.meta["reporter_kind"] == "unit" and doc.meta["region"] == "山西省太原市"
    assert "13812345678" not in doc.text and "地区：山西省太原市" in doc.text and "充电时电池起火" in doc.text
    assert store.get(Collection.signals, doc.id) is not None  # processed like any document

    again = post(client, REPORT)
    assert "duplicate=1" in again.headers["location"]
    assert "该信息此前已收到，未重复登记" in client.get(again.headers["location"]).text
    assert store.count(Collection.documents) == 1

    console_login(client, users, "analyst")
    signed_in = client.get(PAGE).text
    assert "公众举报</a>" not in signed_in  # the menu link is for anonymous visitors; the page stays open to all
    assert 'action="/public-report"' in signed_in


def test_refused_form_comes_back_with_chinese_reasons_escaped(client: TestClient, store: SQLiteStore) -> None:
    hostile = "<script>alert(1)</script>"
    r = post(client, {"product": "", "problem": "", "text": hostile, "region": "x" * 101, "kind": "alien"})
    assert r.status_code == 422
    html = r.text
    for reason in (
        "请填写“涉及产品”",
        "请填写“存在的问题”",
        "“所在地区”不能超过 100 个字（现有 101 个）",
        "请选择“举报人”：个人、单位、组织",
    ):
        assert reason in html
    assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # kept in the form, escaped
    r = post(client, {**REPORT, "problem": "坏", "text": "", "link": "ftp://x"})
    assert "合计至少 5 个字" in r.text and "“相关网址”须以 http:// 或 https:// 开头" in r.text
    r = post(client, {**REPORT, "text": "起火\x00了"})
    assert r.status_code == 422 and "“问题描述”含有无法识别的字符" in r.text
    # a hand-made receipt address shows the form, not the text
    page = client.get(PAGE, params={"received": "<b>x</b>"}).text
    assert "<b>x</b>" not in page and 'action="/public-report"' in page
    assert store.count(Collection.documents) == 0


def test_rate_limit_and_other_sites(make_client: Callable[..., TestClient]) -> None:
    client = make_client(public_report_limit=1)
    r = post(client, REPORT, Origin="https://evil.example")
    assert r.status_code == 403
    assert post(client, REPORT).status_code == 303
    r = post(client, {**REPORT, "product": "另一个产品"})
    assert r.status_code == 429 and "提交过于频繁" in r.text and int(r.headers["retry-after"]) > 0
    assert "另一个产品" in r.text  # what was typed is kept
