"""`riskmine serve --workers 2`: two server processes on one var dir take turns at writing, so submissions sent
to both at once are all stored and processed, and the candidates equal a full rebuild from the signals."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.api.test_crash_recovery import Server, assert_complete, rows, setup_var


@pytest.mark.integration
@pytest.mark.slow
def test_two_server_processes_take_turns_at_writing(tmp_path: Path, shared_models_dir: Path) -> None:
    settings, env = setup_var(tmp_path, shared_models_dir)
    documents = rows()[:600]
    server = Server(tmp_path, env, "workers", "--workers", "2")
    answers: list[int] = []
    try:
        auth = server.token()

        def send(part: list[dict[str, str]]) -> None:
            # a new connection per request: the two requests may land on different processes
            with httpx.Client(base_url=server.base, headers=auth, timeout=600) as client:
                answers.append(client.post("/api/v1/documents?source=test&source_type=review", json=part).status_code)

        senders = [threading.Thread(target=send, args=(documents[i::4],)) for i in range(4)]
        for t in senders:
            t.start()
        for t in senders:
            t.join(600)
        health = httpx.get(f"{server.base}/health", timeout=30)
        assert health.status_code == 200
    finally:
        server.stop()
    assert answers == [201] * 4
    assert_complete(settings)
