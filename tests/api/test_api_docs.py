"""/docs and /redoc work offline: every asset they name is served by the app, under a policy that lets them run."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

# What each asset must be sent as, by file extension.
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
    ".json": ("application/json",),
}


class _Page(HTMLParser):
    """The URLs a page loads (script src, link href, redoc spec-url) and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if a.get("src"):
                self.urls.append(a["src"] or "")
            else:
                self._in_inline_script = True
                self.inline_scripts.append("")
        elif tag == "link" and a.get("href"):
            self.urls.append(a["href"] or "")
        elif tag == "redoc" and a.get("spec-url"):
            self.urls.append(a["spec-url"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _script_sources(policy: str) -> list[str]:
    directive = next(d.strip() for d in policy.split(";") if d.strip().startswith("script-src "))
    return directive.split()[1:]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_page_loads_only_same_origin_assets_that_are_served(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    urls = _page(r.text).urls
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url} from elsewhere"
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = CONTENT_TYPES[re.sub(r"^.*(\.[a-z]+)$", r"\1", url)]
        assert asset.headers["content-type"].split(";")[0] in expected, (url, asset.headers["content-type"])
        assert asset.content, url


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_docs_page_policy_allows_its_own_scripts_and_nothing_else(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    allowed = _script_sources(policy)
    inline = _page(r.text).inline_scripts
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline]
    assert sorted(allowed) == sorted(["'self'", *hashes])
    assert "'unsafe-inline'" not in allowed and "'unsafe-eval'" not in allowed
    assert r.headers["x-content-type-options"] == "nosniff"


def test_swagger_ui_reads_this_apps_openapi(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "url: '/openapi.json'" in html
    assert "/docs/oauth2-redirect" in html
    assert "/api/v1/analyze" in client.get("/openapi.json").json()["paths"]
