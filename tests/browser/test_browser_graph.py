"""The knowledge-graph pages in headless Chromium: an analyst finds an enterprise from the menu, reads its
neighbourhood (drawn and tabled), follows a drawn node, opens the enterprise profile with its failed spot check;
hostile names crawled into the graph stay text."""

from __future__ import annotations

from typing import Any

import pytest

from riskmine.processing import process_documents
from riskmine.schema import SourceType
from riskmine.store.base import Collection
from tests.api.apikit import doc, keyword_pipeline
from tests.browser.test_browser_console import _by, login, navigate, visit

pytestmark = pytest.mark.browser

MAKER = "深圳市共充科技有限公司"
HOSTILE_SHOP = "共充<img src=x onerror=\"document.title='pwned';window.__pwned=3\">旗舰店"


@pytest.fixture
def graph_app(live_app: dict[str, Any]) -> dict[str, Any]:
    """The live console with the maker's complaints (from a shop with a hostile name) and its failed spot check."""
    docs = [
        doc(f"g{i}", "共充充电宝充电时起火，外壳烧焦。", days=12 + i, source_type=SourceType.complaint).model_copy(
            update={"enterprise": MAKER, "product": "共充PB-10000充电宝", "shop": HOSTILE_SHOP}
        )
        for i in range(3)
    ]
    docs.append(
        doc(
            "g-sc", "抽查充电宝，判定不合格。", days=15, source_type=SourceType.spot_check, title="共充充电宝抽查"
        ).model_copy(update={"enterprise": MAKER, "meta": {"verdict": "不合格", "test_item": "标称容量"}})
    )
    store = live_app["store"]
    store.write(Collection.documents, docs)
    process_documents(store, keyword_pipeline(), [d.id for d in docs])
    return live_app


def _safe(browser: Any) -> None:
    assert browser.execute_script("return window.__pwned === undefined")
    assert "pwned" not in browser.title


def test_an_analyst_explores_the_graph_and_an_enterprise(graph_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base = graph_app["url"]
    login(browser, base, "analyst")
    navigate(browser, browser.find_element(By.LINK_TEXT, "知识图谱"))
    assert browser.current_url == base + "/graph"
    search = browser.find_element(By.CSS_SELECTOR, "form[action='/graph']")
    search.find_element(By.NAME, "q").send_keys("共充")
    navigate(browser, search.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    navigate(browser, browser.find_element(By.LINK_TEXT, MAKER))
    assert MAKER in browser.find_element(By.TAG_NAME, "h1").text
    drawing = browser.find_element(By.CSS_SELECTOR, "svg.graph")
    assert drawing.size["width"] > 300 and drawing.size["height"] > 200  # laid out, styled by console.css
    labels = [t.text for t in drawing.find_elements(By.CSS_SELECTOR, "text.label")]
    assert "起火/冒烟" in labels
    assert any("<img" in t for t in labels)  # the hostile shop name, shown as text
    _safe(browser)

    browser.find_element(By.CSS_SELECTOR, "details.hood-table summary").click()
    rows = browser.find_elements(By.CSS_SELECTOR, "details.hood-table table tbody tr")
    assert any("危害" in r.text and "起火/冒烟" in r.text for r in rows)

    navigate(browser, drawing.find_element(By.CSS_SELECTOR, "a[href='/graph/hazard:fire'] circle"))
    assert browser.current_url == base + "/graph/hazard:fire"
    assert "起火/冒烟" in browser.find_element(By.TAG_NAME, "h1").text
    assert "涉及该危害的产品和企业" in browser.find_element(By.TAG_NAME, "main").text

    visit(browser, base + "/graph/enterprise:共充科技")
    navigate(browser, browser.find_element(By.LINK_TEXT, "企业画像"))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "监督抽查不合格（1）" in main and "共充充电宝抽查" in main and "标称容量" in main
    assert "共充PB-10000充电宝" in main
    _safe(browser)

    visit(browser, base + "/graph/没有这个实体")
    assert "未找到实体" in browser.find_element(By.TAG_NAME, "h1").text
