"""The API documentation pages, /docs (Swagger UI) and /redoc (ReDoc), working without internet.

Their JavaScript, CSS and icon come from the fastapi-offline package (Swagger UI 5 and ReDoc 2, MIT licensed,
updated with its releases) and are served under /docs/assets. Each page is FastAPI's own HTML pointed at those
files and sent with a Content-Security-Policy of its own: scripts from this origin only, plus the page's inline
start-up script by its hash; inline styles, since both UIs style themselves at run time; and a worker from a blob:
URL, which ReDoc's search runs in. Anything else, ReDoc's vendor logo included, stays blocked.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from riskmine.api.render import SECURITY_HEADERS

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"

DOCS_CSP = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; worker-src blob:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_policy(html: str) -> str:
    """The Content-Security-Policy for a docs page: DOCS_CSP allowing exactly the page's inline scripts."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return DOCS_CSP.format(hashes=hashes)


def _secured(page: HTMLResponse) -> HTMLResponse:
    page.headers.update({**SECURITY_HEADERS, "Content-Security-Policy": docs_policy(bytes(page.body).decode())})
    return page


def _page(build: Callable[[str, str], HTMLResponse]) -> Callable[[Request], Awaitable[HTMLResponse]]:
    """An endpoint serving `build(root path, assets URL)` under the docs policy."""

    async def serve(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return _secured(build(root, root + ASSETS_URL))

    return serve


def install_docs(app: FastAPI) -> None:
    """Serve /docs, its OAuth2 redirect page, /redoc and their assets; build `app` with docs_url=redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def swagger_ui(root: str, assets: str) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
            init_oauth=app.swagger_ui_init_oauth,
        )

    def swagger_ui_oauth2_redirect(root: str, assets: str) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    def redoc(root: str, assets: str) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )

    for path, build in ((DOCS_URL, swagger_ui), (OAUTH2_REDIRECT_URL, swagger_ui_oauth2_redirect), (REDOC_URL, redoc)):
        app.add_api_route(path, _page(build), methods=["GET"], name=build.__name__, include_in_schema=False)
