"""The report pages, exports and saved filters in headless Chromium: an analyst saves and applies a queue filter,
finds the export links, drafts the monthly form from the menu, corrects a cell, and downloads what was saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.test_browser_console import _by, login, navigate

pytestmark = pytest.mark.browser


def fetch(browser: Any, href: str) -> httpx.Response:
    """A download link followed with the browser's session cookie (the console's CSP lets no page script fetch)."""
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    return httpx.get(href, cookies=cookies, timeout=60)


def test_an_analyst_saves_and_applies_a_queue_filter(live_app: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.support.ui import Select

    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    Select(browser.find_element(By.ID, "f-hazard")).select_by_visible_text("起火/冒烟")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
    assert "hazard=fire" in browser.current_url
    export = browser.find_element(By.LINK_TEXT, "CSV").get_attribute("href")
    r = fetch(browser, export)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf") and "起火/冒烟" in r.content.decode("utf-8-sig")
    form = browser.find_element(By.CSS_SELECTOR, "form.save-filter")
    form.find_element(By.NAME, "name").send_keys("起火类")
    navigate(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "筛选条件已保存" in main and "起火类" in main and "危害：起火/冒烟" in main
    navigate(browser, browser.find_element(By.LINK_TEXT, "套用"))
    assert browser.current_url == base + "/?hazard=fire"
    assert Select(browser.find_element(By.ID, "f-hazard")).first_selected_option.text == "起火/冒烟"


def test_an_analyst_drafts_edits_and_downloads_the_monthly_form(live_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    navigate(browser, browser.find_element(By.LINK_TEXT, "报表"))
    assert browser.current_url == base + "/reports"
    month = browser.find_element(By.NAME, "period")
    browser.execute_script("arguments[0].value = '2024-05'", month)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.report-draft button[type=submit]"))
    assert "/reports/drafts/" in browser.current_url
    cell = browser.find_element(By.NAME, "c0_5")  # 初步建议 of the first row
    cell.clear()
    cell.send_keys("建议开展专项抽查")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.draft-editor button[type=submit]"))
    assert "修改已保存" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.NAME, "c0_5").get_attribute("value") == "建议开展专项抽查"
    for text, magic in (("PDF", b"%PDF"), ("Word（DOCX）", b"PK")):
        r = fetch(browser, browser.find_element(By.PARTIAL_LINK_TEXT, text).get_attribute("href"))
        assert r.status_code == 200 and r.content.startswith(magic) and "attachment" in r.headers["content-disposition"]
