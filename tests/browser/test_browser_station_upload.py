"""The station upload and the public report in headless Chromium: a station uploads its report form through the
real page (file input, and the drop zone) and reads the row-level report; anyone sends a public report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.apikit import PASSWORD
from tests.browser.test_browser_console import _by, login, navigate, visit

pytestmark = pytest.mark.browser

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
STATION = "某电商平台监测站"

# Drops a file made in the page on the drop zone, as a file dragged from the desktop arrives.
DROP = """
const [name, text] = arguments;
const zone = document.querySelector('.dropzone');
const data = new DataTransfer();
data.items.add(new File([text], name, {type: 'text/csv'}));
zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
"""


def test_a_station_uploads_its_report_form_and_reads_the_report(live_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base = live_app["url"]
    live_app["users"].create_user("station", PASSWORD, "station", organisation=STATION)
    login(browser, base, "station")
    navigate(browser, browser.find_element(By.LINK_TEXT, "监测站报送"))
    assert browser.current_url == base + "/station"

    # the plain file input (what works without the script)
    browser.find_element(By.CSS_SELECTOR, "form.upload-form input[type=file]").send_keys(
        str(FEEDS / "station_ecommerce_gbk.csv")
    )
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.upload-form button[type=submit]"))
    assert "/station?batch=" in browser.current_url
    report = browser.find_element(By.ID, "report").text
    assert "处理结果：station_ecommerce_gbk.csv" in report and "部分接收" in report
    assert browser.find_element(By.ID, "report-accepted").text == "2"
    assert browser.find_element(By.ID, "report-rejected").text == "1"
    row = browser.find_element(By.CSS_SELECTOR, "table.rejections tbody tr").text
    assert "第 6 行" in row and "时间采集范围" in row and "不是日期范围" in row

    # the drop zone: a file over the limit is refused before it is sent, one within it goes into the form
    browser.execute_script("document.querySelector('.dropzone').dataset.maxBytes = '10'")
    browser.execute_script(DROP, "big.csv", "涉及产品,风险信息内容\n电热毯,局部过热烧焦床单\n")
    problem = browser.find_element(By.CSS_SELECTOR, ".upload-problem")
    assert problem.is_displayed() and "big.csv：文件过大" in problem.text
    browser.find_element(By.CSS_SELECTOR, "form.upload-form button[type=submit]").click()
    assert "/station?batch=" in browser.current_url and "big.csv" not in browser.find_element(By.ID, "report").text
    browser.execute_script("document.querySelector('.dropzone').dataset.maxBytes = '1000000'")
    browser.execute_script(DROP, "dropped.csv", "涉及产品,风险信息内容\n电热毯,局部过热烧焦床单\n")
    assert browser.find_element(By.CSS_SELECTOR, ".dropzone-name").text == "dropped.csv"
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.upload-form button[type=submit]"))
    assert "处理结果：dropped.csv" in browser.find_element(By.ID, "report").text
    assert browser.find_element(By.ID, "report-accepted").text == "1"
    assert browser.execute_script("return window.__pwned") is None


def test_anyone_sends_a_public_report(live_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base = live_app["url"]
    visit(browser, base + "/login")
    navigate(browser, browser.find_element(By.LINK_TEXT, "无需登录，提交公众举报"))
    assert browser.current_url == base + "/public-report"
    browser.find_element(By.CSS_SELECTOR, "input[name=kind][value=organisation]").click()
    browser.find_element(By.NAME, "product").send_keys("儿童推车")
    browser.find_element(By.NAME, "problem").send_keys("折叠机构意外折叠")
    browser.find_element(By.NAME, "region").send_keys("山西省大同市")
    text = "推车在使用中突然折叠，夹伤孩子手指<script>window.__pwned=1</script>"
    browser.find_element(By.NAME, "text").send_keys(text)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.public-report-form button[type=submit]"))
    assert "/public-report?received=" in browser.current_url
    assert "感谢您的举报" in browser.find_element(By.ID, "receipt-message").text
    assert browser.find_element(By.ID, "receipt-number").text
    assert browser.execute_script("return window.__pwned") is None
