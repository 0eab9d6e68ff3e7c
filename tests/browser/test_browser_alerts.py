"""The alerts page in headless Chromium: an analyst finds it in the menu, subscribes by e-mail and unsubscribes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_browser_console import _by, login, navigate

pytestmark = pytest.mark.browser


def test_an_analyst_subscribes_and_unsubscribes(live_app: dict[str, Any], browser: Any) -> None:
    from selenium.webdriver.support.ui import Select

    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    navigate(browser, browser.find_element(By.LINK_TEXT, "风险提醒"))
    assert browser.current_url == base + "/alerts"
    assert "尚无订阅" in browser.find_element(By.TAG_NAME, "main").text
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/alerts/subscriptions']")
    form.find_element(By.CSS_SELECTOR, "input[value='deadline_near']").click()  # untick: objections and the tier
    Select(form.find_element(By.NAME, "channel")).select_by_visible_text("每日摘要邮件")
    form.find_element(By.NAME, "target").send_keys("chief@example.cn")
    navigate(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "订阅已保存" in main and "chief@example.cn" in main and "每日摘要邮件" in main
    assert "候选风险进入立即处置、收到异议" in main
    row = browser.find_element(By.CSS_SELECTOR, "table.subscriptions tbody tr")
    navigate(browser, row.find_element(By.CSS_SELECTOR, "button"))
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "订阅已删除" in main and "尚无订阅" in main
