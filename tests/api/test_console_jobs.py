"""The scheduled jobs page: admins see each job's last run, outcome (a failure's Chinese message) and next run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from riskmine.scheduler import Job, JobFailed, JobRunner, every
from tests.api.test_api_console import console_login

NOW = datetime(2026, 4, 27, 1, 0, tzinfo=UTC)


def _unreachable(settings: Any, now: datetime) -> str:
    raise JobFailed("fixture-news（连接被拒绝（connection refused））")


def test_admins_see_the_scheduled_jobs(client: TestClient, users: Any, settings: Any) -> None:
    JobRunner(settings, [Job("crawl", every(10), _unreachable)]).run("crawl", NOW)
    assert client.get("/jobs", follow_redirects=False).headers["location"].startswith("/login")
    console_login(client, users, "analyst")
    assert client.get("/jobs").status_code == 403
    client.post("/logout")
    console_login(client, users, "admin")
    html = client.get("/jobs").text
    assert "定时任务" in html
    row = html[html.index("<td>到期抓取") :]
    row = row[: row.index("</tr>")]
    assert "2026-04-27 09:00" in row and "失败" in row and "2026-04-27 09:10" in row
    assert "到期抓取失败：fixture-news（连接被拒绝（connection refused））" in row
    for label in ("候选风险刷新", "月报草稿", "预警发送", "每日摘要"):
        assert label in html and "尚未运行" in html
