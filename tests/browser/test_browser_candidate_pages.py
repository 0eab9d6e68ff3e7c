"""A candidate's pages in headless Chromium: paging through its evidence, merging two candidates, splitting one,
and the audit log that an admin reads and an analyst is refused."""

from __future__ import annotations

from typing import Any

import pytest

from riskmine.processing import process_documents, refresh_candidates
from riskmine.schema import CandidateRisk
from riskmine.store.base import Collection
from tests.api.apikit import PASSWORD, doc, keyword_pipeline
from tests.browser.test_browser_console import _by, assert_no_alert, login, logout, navigate, visit

pytestmark = pytest.mark.browser

EXTRA = 22  # more power-bank fires: with the seeded ones, two pages of evidence


def _candidates(store: Any) -> dict[str, CandidateRisk]:
    return {c.product_category: c for c in store.iterate(Collection.candidates)}


def merge(browser: Any, source_id: str, reason: str) -> None:
    """Fill in and send the merge form of the candidate page open in `browser`."""
    By = _by()
    form = browser.find_element(By.CSS_SELECTOR, "form.merge-form")
    form.find_element(By.NAME, "source_id").send_keys(source_id)
    form.find_element(By.NAME, "reason").send_keys(reason)
    form.find_element(By.NAME, "confirm").click()
    navigate(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def test_page_evidence_merge_and_split(live_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base, store = live_app["url"], live_app["store"]
    docs = [doc(f"pb{i}", f"第{i}个充电宝夜里起火。", days=20 + i) for i in range(EXTRA)]
    store.write(Collection.documents, docs)
    process_documents(store, keyword_pipeline(), [d.id for d in docs])
    refresh_candidates(store)
    found = _candidates(store)
    fire, kettle = found["充电宝"], found["电热水壶"]
    assert fire.signal_count > 20

    login(browser, base, "analyst", f"/candidates/{fire.id}")
    assert "第 1 / 2 页" in browser.find_element(By.CSS_SELECTOR, "nav.pager").text
    first = browser.find_elements(By.CSS_SELECTOR, "ol.evidence li")
    assert len(first) == 20 and "第21个充电宝" in first[0].text  # newest first
    navigate(browser, browser.find_element(By.LINK_TEXT, "下一页"))
    assert browser.current_url.endswith("page=2#evidence")
    rest = browser.find_elements(By.CSS_SELECTOR, "ol.evidence li")
    assert len(rest) == fire.signal_count - 20
    assert "电商评论" in browser.find_element(By.CSS_SELECTOR, "ol.evidence").text

    # split the oldest signal off into a new candidate
    last = rest[-1]
    moving = last.find_element(By.CSS_SELECTOR, "input[name=signal_ids]").get_attribute("value")
    last.find_element(By.CSS_SELECTOR, "input[name=signal_ids]").click()
    split = browser.find_element(By.CSS_SELECTOR, "form.split-form")
    split.find_element(By.NAME, "reason").send_keys("最早一条是另一型号")
    navigate(browser, split.find_element(By.CSS_SELECTOR, "fieldset.split button[type=submit]"))
    assert "拆分完成" in browser.find_element(By.CSS_SELECTOR, ".notice.ok").text
    assert [e.get_attribute("value") for e in browser.find_elements(By.NAME, "signal_ids")] == []  # one: no split
    assert "证据（1）" in browser.page_source and "最早一条是另一型号" in browser.page_source
    created = browser.current_url.split("/candidates/")[1].split("?")[0]
    assert store.get(Collection.candidates, created).signal_ids == [moving]

    # merge the kettle candidate into the power-bank one, by its id
    visit(browser, f"{base}/candidates/{fire.id}")
    merge(browser, kettle.id, "同一渠道的电器")
    assert "合并完成" in browser.find_element(By.CSS_SELECTOR, ".notice.ok").text
    assert f"证据（{fire.signal_count - 1 + kettle.signal_count}）" in browser.page_source
    assert store.get(Collection.candidates, kettle.id).merged_into == fire.id

    # merging into itself is refused with the reason
    merge(browser, fire.id, "误操作")
    assert "不能把候选风险合并到它自己" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text

    # an analyst has no audit log
    assert not browser.find_elements(By.LINK_TEXT, "审计日志")
    visit(browser, base + "/audit")
    assert "只有管理员可以查看审计日志" in browser.page_source
    visit(browser, base + "/")
    logout(browser)

    # the admin reads the merge and the split in the audit log, newest first, and filters it
    live_app["users"].create_user("admin", PASSWORD, "admin")
    login(browser, base, "admin")
    navigate(browser, browser.find_element(By.LINK_TEXT, "审计日志"))
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.audit-log tbody tr")]
    merges = [i for i, r in enumerate(rows) if "合并候选风险（并入方）" in r]
    splits = [i for i, r in enumerate(rows) if "拆分候选风险" in r and "新建" not in r]
    assert merges and splits and merges[0] < splits[0]
    browser.find_element(By.CSS_SELECTOR, "select[name=action] option[value='candidate.split']").click()
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
    assert "共 1 条" in browser.page_source
    row = browser.find_element(By.CSS_SELECTOR, "table.audit-log tbody tr")
    assert "analyst" in row.text and fire.id in row.text
    after = row.find_elements(By.TAG_NAME, "details")[-1]
    assert after.find_element(By.TAG_NAME, "summary").text == "变更后"
    after.find_element(By.TAG_NAME, "summary").click()
    assert created in after.find_element(By.TAG_NAME, "pre").text  # the details: split into the new candidate
    assert_no_alert(browser)
