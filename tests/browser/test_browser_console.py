"""The review console in headless Chromium: an analyst reviews and decides, a publisher publishes,
and crawled text with script and event-handler markup is shown as inert text."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.api.apikit import PASSWORD

pytestmark = pytest.mark.browser


def _by() -> Any:
    from selenium.webdriver.common.by import By

    return By


def navigate(browser: Any, element: Any) -> None:
    """Click `element` and wait until the page it leads to has replaced the current one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(_by().TAG_NAME, "html")
    element.click()

    def replaced(_: Any) -> bool:
        # Chromium answers for a node of a replaced document either "stale element" or, while the
        # new document is being attached, "node does not belong to the document": both mean replaced.
        try:
            old.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(browser, 15).until(replaced)
    WebDriverWait(browser, 15).until(lambda b: b.execute_script("return document.readyState") == "complete")


def visit(browser: Any, url: str) -> None:
    """Open `url` and wait until its document has loaded and has a body (a loaded machine can be slow to)."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script("return document.readyState === 'complete' && document.body !== null")
    )


def login(browser: Any, base: str, username: str, next_path: str = "/") -> None:
    By = _by()
    visit(browser, f"{base}/login?next={quote(next_path, safe='')}")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]"))


def logout(browser: Any) -> None:
    navigate(browser, browser.find_element(_by().CSS_SELECTOR, "form[action='/logout'] button"))


def assert_no_alert(browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check


def test_login_queue_candidate_decide_and_publish(live_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base = live_app["url"]

    # not logged in: the console sends the browser to the login page
    visit(browser, base + "/")
    assert "/login" in browser.current_url
    login(browser, base, "analyst")
    assert browser.current_url == base + "/"
    assert "候选风险队列" in browser.title
    assert "analyst" in browser.find_element(By.CSS_SELECTOR, ".who").text

    # the queue lists the immediate tier first; open the kettle candidate
    rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
    assert len(rows) >= 2
    assert "立即处置" in rows[0].text
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "电热水壶")
    navigate(browser, link)
    assert "/candidates/" in browser.current_url
    candidate_url = browser.current_url
    assert browser.find_elements(By.CSS_SELECTOR, "svg.trend rect")
    assert browser.find_elements(By.CSS_SELECTOR, "mark.hz-electric_shock")
    assert "尚无研判记录" in browser.page_source

    # the analyst confirms it: high risk, red warning, two measures, a rationale
    form = browser.find_element(By.CSS_SELECTOR, "form.decision-form")
    form.find_element(By.CSS_SELECTOR, "input[name=status][value=confirmed]").click()
    form.find_element(By.CSS_SELECTOR, "select[name=risk_level] option[value=high]").click()
    form.find_element(By.CSS_SELECTOR, "select[name=warning_color] option[value=red]").click()
    for measure in ("spot_check", "consumer_advisory"):
        box = form.find_element(By.CSS_SELECTOR, f"input[name=measures][value={measure}]")
        if not box.is_selected():
            box.click()
    form.find_element(By.NAME, "rationale").send_keys("多起漏电致伤，来源一致，需立即处置。")
    navigate(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    assert browser.current_url.startswith(candidate_url)
    assert "研判结论已保存" in browser.find_element(By.CSS_SELECTOR, ".notice.ok").text
    record = browser.find_element(By.CSS_SELECTOR, "table.decisions tbody tr").text
    assert "analyst" in record and "已确认" in record and "监督抽查" in record and "消费提示" in record
    assert "已确认" in browser.find_element(By.CSS_SELECTOR, ".badges .status").text
    assert not browser.find_elements(By.CSS_SELECTOR, "form.decision-form")  # decided: no second decision

    # and drafts a consumer advisory from the confirmed candidate
    draft = browser.find_element(By.CSS_SELECTOR, "form.advisory-form")
    draft.find_element(By.CSS_SELECTOR, "input[name=kind][value=consumer_advisory]").click()
    draft.find_element(By.NAME, "title").send_keys("消费提示：谨慎选购电热水壶")
    navigate(browser, draft.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "/advisories" in browser.current_url
    assert "待审核" in browser.page_source
    assert "谨慎选购电热水壶" in browser.page_source
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action$='/approve']")  # analysts cannot approve
    logout(browser)

    # before approval, an anonymous reader sees nothing published
    visit(browser, base + "/advisories")
    assert "谨慎选购电热水壶" not in browser.page_source

    # the publisher approves the draft
    login(browser, base, "publisher", "/advisories?status=draft")
    assert "谨慎选购电热水壶" in browser.page_source
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button"))
    assert "通告已批准发布" in browser.find_element(By.CSS_SELECTOR, ".notice.ok").text
    published = browser.find_element(By.CSS_SELECTOR, "ol.advisories li").text
    assert "谨慎选购电热水壶" in published and "已发布" in published and "publisher" in published
    logout(browser)

    # now it is public
    visit(browser, base + "/advisories")
    assert "谨慎选购电热水壶" in browser.page_source
    assert_no_alert(browser)


def test_anonymous_is_sent_to_login_and_a_city_viewer_sees_its_subtree(live_app: dict[str, Any], browser: Any) -> None:
    """In development, as `make run` serves it: an anonymous visitor reaches no candidate, signal or review
    record; a viewer of 成都市 sees the candidates of its subtree and no other."""
    from riskmine.review import workflow
    from riskmine.review.orgs import ensure_demo_orgs
    from riskmine.review.repository import open_review_repository
    from riskmine.review.roles import SystemActor
    from riskmine.store.base import Collection

    By = _by()
    base, store = live_app["url"], live_app["store"]
    setup = SystemActor("setup")
    db = open_review_repository(live_app["settings"])
    ensure_demo_orgs(db, setup)
    candidates = list(store.iterate(Collection.candidates))
    fire = next(c for c in candidates if c.product_category == "充电宝")
    workflow.assign(store, db, fire.id, setup, assignee=None, organisation="成都市")  # handed down to the city
    live_app["users"].create_user("chengdu", PASSWORD, "viewer", organisation="成都市")

    for path in ("/", f"/candidates/{fire.id}", "/signals?hazard=fire", "/overdue"):
        visit(browser, base + path)
        assert browser.current_url == f"{base}/login?next={quote(path, safe='')}", path
        assert "候选风险" not in browser.title and "充电宝" not in browser.find_element(By.TAG_NAME, "main").text
    visit(browser, base + "/advisories")  # what is published stays public
    assert browser.current_url == base + "/advisories"

    login(browser, base, "chengdu")
    assert browser.current_url == base + "/"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
    assert len(rows) == 1 and "充电宝" in rows[0].text
    navigate(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "充电宝"))
    assert browser.current_url == f"{base}/candidates/{fire.id}"
    for other in candidates:
        if other.id != fire.id:  # province-level: not the city's
            visit(browser, f"{base}/candidates/{other.id}")
            assert "未找到" in browser.page_source
    assert_no_alert(browser)


def test_crawled_script_is_shown_inert(live_app: dict[str, Any], browser: Any) -> None:
    By = _by()
    base = live_app["url"]
    login(browser, base, "viewer")
    for path in ("/signals?q=漏电", None):
        if path is None:
            visit(browser, base + "/")
            navigate(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "电热水壶"))
        else:
            visit(browser, base + path)
        assert_no_alert(browser)
        assert "pwned" not in browser.title
        assert browser.execute_script("return window.__pwned === undefined") is True
        # the markup arrived as text: visible literally, and no element was made of it
        text = browser.find_element(By.TAG_NAME, "main").text
        assert "<script>document.title='pwned';window.__pwned=1</script>" in text
        assert "onerror=" in text
        assert not browser.find_elements(By.CSS_SELECTOR, "main script, main img, main b")


def test_cross_site_form_post_is_refused(live_app: dict[str, Any], browser: Any) -> None:
    """A form posted with another site's Origin is refused even with a valid session cookie."""
    import httpx

    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    cookie = browser.get_cookie("riskmine_session")
    assert cookie is not None and cookie["httpOnly"]
    navigate(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "充电宝"))
    path = browser.current_url[len(base) :]
    with httpx.Client(base_url=base, cookies={"riskmine_session": cookie["value"]}) as client:
        r = client.post(
            path + "/decision",
            data={"status": "rejected", "rationale": "x"},
            headers={"Origin": "http://evil.example"},
        )
    assert r.status_code == 403
    assert "cross_site_request" in r.text
    browser.refresh()
    assert "尚无研判记录" in browser.page_source


def test_the_decided_grade_and_the_time_left_are_what_the_console_shows(live_app: dict[str, Any], browser: Any) -> None:
    """Issue 16 items 1 and 3 in a browser: a running 24-hour clock shows the time left, not 已超期; once an
    analyst decides a grade other than the suggestion, the page header and the queue show the decision with
    the suggestion beside it."""
    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    navigate(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "电热水壶"))
    candidate_url = browser.current_url
    deadline = browser.find_element(By.XPATH, "//dt[text()='办理期限']/following-sibling::dd[1]").text
    assert "剩余" in deadline and "已超期" not in deadline
    before = browser.find_element(By.CSS_SELECTOR, "p.badges").text
    assert "建议：" not in before  # nothing decided yet: the suggestion is the grade

    form = browser.find_element(By.CSS_SELECTOR, "form.decision-form")
    form.find_element(By.CSS_SELECTOR, "input[name=status][value=confirmed]").click()
    form.find_element(By.CSS_SELECTOR, "select[name=risk_level] option[value=medium]").click()
    form.find_element(By.CSS_SELECTOR, "select[name=warning_color] option[value=orange]").click()
    form.find_element(By.NAME, "rationale").send_keys("漏电致伤，经核实为中风险，橙色预警。")
    navigate(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert browser.current_url.startswith(candidate_url)
    header = browser.find_element(By.CSS_SELECTOR, "p.badges").text
    assert "中风险" in header and "橙色预警" in header
    assert "建议：" in header and header.index("橙色预警") < header.index("建议：")

    visit(browser, base + "/")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr") if "电热水壶" in r.text)
    assert "中风险" in row.text and "橙色预警" in row.text and "建议：" in row.text


def test_queue_filters_take_synonyms_and_the_statistics_read_in_chinese(live_app: dict[str, Any], browser: Any) -> None:
    """Issue 16 items 7 and 8 in a browser: the queue's category filter takes a synonym (移动电源 finds the
    充电宝 candidate) and a candidate's statistics panel names every statistic in Chinese."""
    import re

    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    field = browser.find_element(By.CSS_SELECTOR, "form.filters input[name=product_category]")
    field.send_keys("移动电源")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]"))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.queue tbody tr")
    assert rows and all("充电宝" in r.text for r in rows)

    navigate(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "充电宝"))
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "section.stats table.stat caption")]
    names += [e.text for e in browser.find_elements(By.CSS_SELECTOR, "section.stats table.stat th")]
    assert names and all(re.search(r"[\u4e00-\u9fff]", n) for n in names), names
