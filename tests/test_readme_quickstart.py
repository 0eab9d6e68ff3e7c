"""The README's promise: `make run` serves the demo with candidate risks on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from riskmine.review.users import DEMO_USERS

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quickstart() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def _quickstart_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", _quickstart(), re.S)
    assert block, "README quick start has no ```sh block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.split("#", 1)[0].strip()]


def _readme_login() -> tuple[str, str]:
    """The demo user and password the quick start logs in with."""
    found = re.search(r"-d username=(\S+) -d password=(\S+) http://127\.0\.0\.1:8000/api/v1/auth/token", _quickstart())
    assert found, "the README quick start does not say how to log in to the API"
    return found.group(1), found.group(2)


def test_readme_opens_with_the_two_commands() -> None:
    assert _quickstart_commands() == ["make run", "make test"]


def test_readme_says_how_to_log_in_as_the_demo_users() -> None:
    """Reads need a login in development too: the quick start logs in with a real demo user and lists them all."""
    logins = {u: pw for u, pw, _, _ in DEMO_USERS}
    username, password = _readme_login()
    assert logins.get(username) == password
    section = _quickstart()
    assert "/login" in section and "Authorization: Bearer" in section
    for u, pw, role, organisation in DEMO_USERS:
        assert f"| `{u}` / `{pw}` | {role} | {organisation or '—'} |" in section, u


@pytest.mark.slow
def test_make_run_serves_candidates_linking_to_sources(tmp_path: Path) -> None:
    port = _free_port()
    env = dict(os.environ, RISKMINE_VAR_DIR=str(tmp_path / "var"), RISKMINE_PORT=str(port), PYTHONUNBUFFERED="1")
    env.pop("RISKMINE_MODELS_DIR", None)  # the quick start trains its own model, as on a fresh clone
    log = tmp_path / "make-run.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            ["make", "run"], cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"make run exited early:\n{log.read_text(errors='replace')[-3000:]}"
            if f"http://127.0.0.1:{port}/" in log.read_text(errors="replace"):
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            time.sleep(1)
        else:
            pytest.fail(f"make run did not serve in time:\n{log.read_text(errors='replace')[-3000:]}")
        printed = log.read_text(errors="replace")
        assert "demo logins" in printed
        for u, pw, _, _ in DEMO_USERS:
            assert f"{u} / {pw}" in printed, u
        # development, yet nothing unpublished without a login (Sichuan 第七条)
        assert httpx.get(f"{base}/api/v1/candidates", timeout=30).status_code == 401
        assert httpx.get(f"{base}/", timeout=30).headers["location"].startswith("/login")
        assert "viewer-demo-pass" in httpx.get(f"{base}/login", timeout=30).text  # the login page says how
        assert httpx.get(f"{base}/api/v1/advisories", timeout=30).status_code == 200

        def login(username: str, password: str) -> dict[str, str]:
            r = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": password}, timeout=30)
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        auth = login(*_readme_login())
        resp = httpx.get(f"{base}/api/v1/candidates", headers=auth, timeout=30)
        assert resp.status_code == 200
        items = resp.json()["items"]
        assert len(items) >= 5
        detail = httpx.get(f"{base}/api/v1/candidates/{items[0]['id']}", headers=auth, timeout=30).json()
        evidence = detail["evidence"]
        assert evidence, "the top candidate has no evidence"
        for ev in evidence[:5]:
            doc = httpx.get(f"{base}{ev['document_url']}", headers=auth, timeout=30)
            assert doc.status_code == 200
            assert doc.json()["id"] == ev["document_id"]
        page = httpx.get(f"{base}/", headers=auth, timeout=30)
        assert page.status_code == 200 and "riskmine" in page.text
        # the demo viewer belongs to 成都市: it sees the candidates handed down to its city, not the province's
        viewer = httpx.get(f"{base}/api/v1/candidates", headers=login("viewer", "viewer-demo-pass"), timeout=30)
        assert 1 <= viewer.json()["total"] < resp.json()["total"]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
