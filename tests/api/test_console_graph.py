"""The console's knowledge-graph pages (issue 19, item 3): /graph (entity search), /graph/{node} (the
neighbourhood drawn and tabled, shared hazards, regional clusters, linked candidates) and /enterprises/{name}
(the enterprise profile with its spot-check failures), in a reader's organisation scope, every name escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from riskmine.api.routers.console.graph import draw_neighbourhood
from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.processing import process_documents, refresh_candidates
from riskmine.review.users import UserStore
from riskmine.schema import CandidateRisk, HazardType, SourceType
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import SEED_DOCUMENTS, doc, keyword_pipeline
from tests.api.test_scope import A, B, station_logins, upload, user_login

PRODUCT, MAKER = "极充PB-20000充电宝", "深圳市共充科技有限公司"
HOSTILE_SHOP = '甲"><script>alert(1)</script>店'
SHOPS = {A: HOSTILE_SHOP, B: "乙美电器专营店"}
PRODUCT_NODE = "product:极充PB20000充电宝"
FAILED_CHECK = doc(
    "sc1",
    "抽查充电宝，标称容量不符合要求，判定不合格。",
    days=5,
    source_type=SourceType.spot_check,
    title="充电宝抽查结果",
).model_copy(
    update={
        "enterprise": MAKER,
        "product": PRODUCT,
        "meta": {"verdict": "不合格", "test_item": "标称容量", "authority": "深圳市市场监督管理局"},
    }
)
HTML = {"Accept": "text/html"}


@pytest.fixture
def graphed(client: TestClient, users: UserStore, store: SQLiteStore) -> Iterator[dict[str, Any]]:
    """Crawled seed documents and a failed spot check of the maker, and two stations whose complaints name their
    own shop (A's a hostile name), the shared product and maker; candidates refreshed."""
    forget_graphs()
    docs = [*SEED_DOCUMENTS, FAILED_CHECK]
    store.write(Collection.documents, docs)
    process_documents(store, keyword_pipeline(), [d.id for d in docs])
    heads = station_logins(client, users)
    for s in (A, B):
        upload(client, heads[s], s, n=3 if s == A else 2, shop=SHOPS[s], product=PRODUCT, enterprise=MAKER)
    refresh_candidates(store)
    yield {"headers": heads, "analyst": user_login(client, users, "analyst", None, "chief")}
    forget_graphs()


def _svg(page: str) -> str:
    found = re.search(r'<svg class="graph".*?</svg>', page, re.S)
    assert found, "no drawing on the page"
    return found.group(0)


def test_search_finds_entities_by_part_of_their_name(client: TestClient, graphed: dict[str, Any]) -> None:
    r = client.get("/graph", params={"q": "共充"}, headers=graphed["analyst"])
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert 'href="/graph/enterprise:%E5%85%B1%E5%85%85%E7%A7%91%E6%8A%80"' in r.text  # enterprise:共充科技
    assert "企业画像" in r.text and "共找到" in r.text
    shops = client.get("/graph", params={"q": "专营", "type": "shop"}, headers=graphed["analyst"]).text
    assert "乙美电器专营店" in shops and "极充PB-20000充电宝" not in shops
    assert "检索" in client.get("/graph", headers=graphed["analyst"]).text  # the empty form


def test_a_node_page_draws_its_neighbourhood_and_tables_it(client: TestClient, graphed: dict[str, Any]) -> None:
    r = client.get(f"/graph/{MAKER}", headers=graphed["analyst"])  # a name, resolved as the API resolves it
    assert r.status_code == 200, r.text
    page, svg = r.text, _svg(r.text)
    assert "<h1>深圳市共充科技有限公司</h1>" in page and 'href="/enterprises/enterprise:' in page
    for name in ("乙美电器专营店", "起火/冒烟", "触电/漏电"):  # drawn with Chinese labels, and in the table
        assert name in svg and f">{name}</a></td>" in page, name
    assert 'role="img"' in svg and "<title>" in svg
    assert "极充PB-20000充电宝" in page.split("共同危害", 1)[1]  # the product shares the maker's hazards
    assert "相关候选风险（" in page and 'href="/candidates/' in page
    assert "范围内共有" in page and "信号" in page


def test_depth_and_types_narrow_the_neighbourhood(client: TestClient, graphed: dict[str, Any]) -> None:
    r = client.get(f"/graph/{PRODUCT_NODE}", params={"depth": 1, "types": ["category"]}, headers=graphed["analyst"])
    assert r.status_code == 200
    table = r.text.split("<caption>节点</caption>", 1)[1].split("</table>", 1)[0]
    assert "充电宝" in table and "乙美电器专营店" not in table and "起火/冒烟" not in table
    wide = client.get(f"/graph/{PRODUCT_NODE}", params={"depth": 2}, headers=graphed["analyst"]).text
    assert "乙美电器专营店" in wide.split("<caption>节点</caption>", 1)[1]


def test_hostile_names_are_escaped_in_the_drawing_and_the_tables(client: TestClient, graphed: dict[str, Any]) -> None:
    for path in (f"/graph/{PRODUCT_NODE}", f"/graph/{MAKER}", "/graph?q=甲", f"/enterprises/{MAKER}"):
        page = client.get(path, headers=graphed["analyst"]).text
        assert "<script>alert(1)" not in page and '"><script>' not in page, path
    page = client.get(f"/graph/{PRODUCT_NODE}", headers=graphed["analyst"]).text
    assert "甲&#34;&gt;&lt;script&gt;" in _svg(page) or "甲&quot;&gt;&lt;script&gt;" in _svg(page)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;店</a>" in page  # the table's link text
    assert 'href="/graph/shop:%E7%94%B2%22%3E%3Cscript%3E' in page  # the link itself percent-encoded


def test_the_drawing_escapes_every_label() -> None:
    nodes = [
        {"id": "shop:<b>", "type": "shop", "kind": "店铺", "name": "<b>&x", "href": "/graph/x?a=1&b=2", "hops": 0},
        {"id": "hazard:fire", "type": "hazard", "kind": "危害", "name": '"><svg onload=1>', "href": "/h", "hops": 1},
        {"id": "signal:1", "type": "signal", "kind": "信号", "name": "<i>", "href": "/s", "hops": 1},
    ]
    edges = [{"source": "signal:1", "target": "hazard:fire", "relation_label": "提及<"}]
    svg = str(draw_neighbourhood(nodes, edges, title="<t>"))
    assert "<b>" not in svg and "<i>" not in svg and "<svg onload" not in svg and "<t>" not in svg
    assert "&lt;b&gt;&amp;x" in svg and "提及&lt;" in svg and 'href="/graph/x?a=1&amp;b=2"' in svg
    assert 'class="edge via"' in svg  # the signal is joined to the hazard, not to the centre
    assert str(draw_neighbourhood([], [], title="x")) == '<p class="muted">暂无数据</p>'


def test_an_unknown_entity_is_a_chinese_404_page(client: TestClient, graphed: dict[str, Any]) -> None:
    for path in ("/graph/没有这个实体", "/graph/brand:没有这个", "/enterprises/没有这家公司有限公司"):
        r = client.get(path, headers=graphed["analyst"])
        assert r.status_code == 404 and "text/html" in r.headers["content-type"], path
        assert "未找到实体" in r.text and "在您可见的知识图谱中没有" in r.text
    near = client.get("/graph/共充", headers=graphed["analyst"])  # no entity is named that: the near ones listed
    assert near.status_code == 404 and "深圳市共充科技有限公司" in near.text


def test_a_station_sees_only_its_own_part_of_the_graph(client: TestClient, graphed: dict[str, Any]) -> None:
    a = graphed["headers"][A]
    product = client.get(f"/graph/{PRODUCT_NODE}", params={"depth": 3}, headers=a)
    assert product.status_code == 200
    assert "&lt;script&gt;alert(1)" in product.text and "乙美" not in product.text  # A's shop, never B's
    assert "触电/漏电" not in product.text  # only B's complaints (漏电) name it
    for path in ("/graph/shop:乙美电器专营店", f"/graph/source:station:{B}", "/graph/乙美电器专营店"):
        r = client.get(path, headers=a)
        assert r.status_code == 404 and "未找到实体" in r.text and "乙美电器专营店</a>" not in r.text, path
    search = client.get("/graph", params={"q": "乙美"}, headers=a).text
    assert "乙美电器专营店" not in search and "没有找到匹配的实体" in search
    profile = client.get(f"/enterprises/{MAKER}", headers=a).text
    assert "<dt>信号 / 风险信号</dt><dd>3 / 3</dd>" in profile and "乙美" not in profile
    assert "标称容量" not in profile  # the crawled spot check is not a station's to see
    b = client.get(f"/enterprises/{MAKER}", headers=graphed["headers"][B]).text
    assert "<dt>信号 / 风险信号</dt><dd>2 / 2</dd>" in b and "alert(1)" not in b


def test_the_enterprise_page_shows_products_hazards_failures_and_candidates(
    client: TestClient, graphed: dict[str, Any]
) -> None:
    r = client.get("/enterprises/共充科技股份有限公司", headers=graphed["analyst"])  # any spelling of the name
    assert r.status_code == 200, r.text
    page = r.text
    assert "<h1>深圳市共充科技有限公司</h1>" in page and 'href="/graph/region:440300">深圳市</a>' in page
    assert f">{PRODUCT}</a>" in page and 'href="/graph/hazard:fire">起火/冒烟</a>' in page
    failures = page.split("监督抽查不合格（1）", 1)[1].split("</table>", 1)[0]
    assert "充电宝抽查结果" in failures and "标称容量" in failures and "深圳市市场监督管理局" in failures
    assert '<span class="overdue">1 次</span>' in page
    assert "相关候选风险（" in page and 'href="/candidates/' in page
    assert 'href="/graph/enterprise:' in page  # into the graph


def test_the_candidate_page_links_its_entities(client: TestClient, graphed: dict[str, Any], store: SQLiteStore) -> None:
    cands = client.get("/api/v1/candidates", headers=graphed["analyst"]).json()["items"]
    pages = [client.get(f"/candidates/{c['id']}", headers=graphed["analyst"]).text for c in cands]
    assert any('<a href="/graph/' in p for p in pages)  # the related entities lead to their graph pages
    named = CandidateRisk(
        id="cand-named",
        key="充电宝|fire",
        title="充电宝起火",
        hazard=HazardType.fire,
        enterprises=[MAKER],
        brands=['<b">极充'],
    )
    store.write(Collection.candidates, [named])
    page = client.get("/candidates/cand-named", headers=graphed["analyst"]).text
    assert f'<a href="/enterprises/{quote(MAKER)}">{MAKER}</a>' in page  # an enterprise to its profile
    assert '<a href="/graph/%3Cb%22%3E%E6%9E%81%E5%85%85">&lt;b&#34;&gt;极充</a>' in page  # a brand to its node


def test_who_may_open_the_graph_pages(
    client: TestClient, graphed: dict[str, Any], login: Any, users: UserStore
) -> None:
    for path in ("/graph", f"/graph/{PRODUCT_NODE}", f"/enterprises/{MAKER}"):
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
        consumer = client.get(path, headers=login("api_consumer"), follow_redirects=False)
        assert consumer.status_code == 303 and consumer.headers["location"] == "/advisories"
    nav = client.get("/graph", headers={**graphed["analyst"], **HTML}).text
    assert '<a href="/graph" class="active">知识图谱</a>' in nav
