"""Browser test fixtures: the real app served by uvicorn on loopback, seeded with signals and candidates,
users of each review role, and headless Debian Chromium driven by Selenium through the system chromedriver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from riskmine.api.app import create_app
from riskmine.processing import process_documents, refresh_candidates
from riskmine.review.sqlite_repository import SQLiteUserRepository
from riskmine.review.users import UserStore
from riskmine.schema import SourceType
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, SEED_DOCUMENTS, TEST_SECRET, doc, keyword_pipeline
from tests.browser.liveserver import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Crawled text that would change the page title and set a flag if any of it ran as script.
HOSTILE_BROWSER_TEXT = (
    "电热水壶漏电<script>document.title='pwned';window.__pwned=1</script>"
    "<img src=x onerror=\"document.title='pwned-img';window.__pwned=2\">手一碰就麻"
)
HOSTILE_DOCUMENT = doc("x1", HOSTILE_BROWSER_TEXT, days=11, source_type=SourceType.complaint, title="<b>标题</b>漏电")
ROLES = ("analyst", "publisher", "viewer")


def _binaries_missing() -> str | None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        return f"headless browser tests need Debian's chromium and chromedriver; missing: {', '.join(missing)}"
    return None


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The console served on 127.0.0.1 over a store seeded with the API test documents plus a hostile one;
    one user per role in ROLES (username = role, password PASSWORD)."""
    settings = Settings(env="development", var_dir=tmp_path / "var", secret_key=TEST_SECRET)  # as `make run`
    store = SQLiteStore(tmp_path / "store.sqlite3")
    docs = [*SEED_DOCUMENTS, HOSTILE_DOCUMENT]
    store.write(Collection.documents, docs)
    process_documents(store, keyword_pipeline(), [d.id for d in docs])
    refresh_candidates(store)
    users = UserStore(
        SQLiteUserRepository(tmp_path / "users.sqlite3"),
        hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    for role in ROLES:
        users.create_user(role, PASSWORD, role, organisation=None)
    app = create_app(settings, store=store, users=users, pipeline_factory=keyword_pipeline)
    try:
        with LiveServer(app) as server:
            yield {"url": server.url, "store": store, "settings": settings, "users": users}
    finally:
        store.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium cut off from the network but for loopback; skipped (with the reason) when the system
    browser or driver is absent."""
    reason = _binaries_missing()
    if reason:
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        "--window-size=1280,1600",
        "--lang=zh-CN",
        # no network beyond loopback (which Chromium never proxies): all else goes to a closed proxy port
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
