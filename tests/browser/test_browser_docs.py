"""The API documentation in headless Chromium with no network beyond loopback: Swagger UI and ReDoc render
this app's operations from the files the app serves, and their Content-Security-Policy blocks nothing."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser

# Runs before any page script (and outside the page's policy): records what the policy blocks.
RECORD_VIOLATIONS = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"
)


def _open(browser: Any, url: str) -> None:
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    browser.get(url)


def _wait_for(browser: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, css))
    return list(browser.find_elements(By.CSS_SELECTOR, css))


def test_swagger_ui_renders_the_operations_offline(live_app: dict[str, Any], browser: Any) -> None:
    _open(browser, f"{live_app['url']}/docs")
    operations = _wait_for(browser, ".opblock")
    paths = {op.get_attribute("id") for op in operations}
    assert "operations-analyze-analyze_api_v1_analyze_post" in paths, sorted(paths)[:10]
    assert browser.execute_script("return window.__csp") == []


def test_redoc_renders_the_operations_offline(live_app: dict[str, Any], browser: Any) -> None:
    _open(browser, f"{live_app['url']}/redoc")
    _wait_for(browser, "[data-section-id^='tag/analyze']")
    assert "/api/v1/analyze" in browser.find_element("tag name", "body").get_attribute("textContent")
    # ReDoc's menu always asks the vendor's site for its logo (and hides it when that fails): the policy keeps
    # that request from leaving the page; nothing the page needs is blocked
    blocked = browser.execute_script("return window.__csp")
    assert [b for b in blocked if b != "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"] == []
