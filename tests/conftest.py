"""Test-wide settings: no network beyond loopback, runtime data in a temporary var dir."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _allowed(address):
        raise OSError(f"network access blocked in tests: {address!r} (only loopback is allowed)")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _allowed(address):
        raise OSError(f"network access blocked in tests: {address!r} (only loopback is allowed)")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def shared_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One models directory per test session with the baseline trained once, as `riskmine demo` trains it
    (building a pipeline never trains one)."""
    from riskmine.models.registry import ensure_model
    from riskmine.settings import Settings

    models = tmp_path_factory.mktemp("models")
    ensure_model(Settings(var_dir=tmp_path_factory.mktemp("train-var"), models_dir=models))
    return models


@pytest.fixture(autouse=True)
def _isolated_var(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, shared_models_dir: Path
) -> Iterator[Path]:
    """Every test gets its own RISKMINE_VAR_DIR (models shared per session); the settings cache is reset."""
    from riskmine.settings import get_settings

    var = tmp_path_factory.mktemp("var")
    monkeypatch.setenv("RISKMINE_VAR_DIR", str(var))
    monkeypatch.setenv("RISKMINE_MODELS_DIR", str(shared_models_dir))
    monkeypatch.setenv("RISKMINE_ENV", "development")
    get_settings.cache_clear()
    yield var
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A PostgreSQL server on 127.0.0.1 for the session (tests/pg_server.py; skips without the binaries)."""
    from tests.pg_server import running_postgres

    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: Any) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    with postgres_server.fresh_database() as url:
        yield url


_OPENSEARCH = Path(__file__).resolve().parents[1] / "deploy" / "opensearch"
# RISKMINE_TEST_SEARCH=elasticsearch: the single-node Elasticsearch 8 of deploy/elasticsearch instead
_SEARCH = os.environ.get("RISKMINE_TEST_SEARCH", "opensearch")
if _SEARCH == "elasticsearch":
    _OPENSEARCH = _OPENSEARCH.parent / "elasticsearch"


@pytest.fixture(scope="session")
def es_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The search cluster of the integration tests: RISKMINE_ES_URL when set; else, when the OpenSearch
    launcher is built (deploy/opensearch/opensearch.sh build), a single node started for the session on a
    free port of 127.0.0.1 with its data in a temporary folder, stopped at the end; else the tests skip."""
    url = os.environ.get("RISKMINE_ES_URL")
    if url:
        yield url
        return
    if not (_OPENSEARCH / "target" / "classpath.txt").is_file() or not shutil.which("java"):
        pytest.skip(
            "no search cluster: set RISKMINE_ES_URL=http://127.0.0.1:9200, or build the single-node OpenSearch "
            "with deploy/opensearch/opensearch.sh build (Java 17 + Maven) and the tests start it themselves"
        )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        f"{_SEARCH.upper()}_PORT": str(port),
        f"{_SEARCH.upper()}_DATA": str(tmp_path_factory.mktemp(_SEARCH)),
    }
    script = str(_OPENSEARCH / f"{_SEARCH}.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=400)
    try:
        if started.returncode != 0:
            pytest.fail(f"the OpenSearch node did not start:\n{started.stderr[-3000:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)
