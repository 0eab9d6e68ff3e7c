"""Open the store the settings name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmine.store.base import Store, StoreError

BACKENDS = ("sqlite", "es")
_ALIASES = {"sqlite": "sqlite", "es": "es", "elasticsearch": "es"}
_REFRESH = {"wait_for": "wait_for", "true": "true", "false": False}


def open_store(settings: Any) -> Store:
    """The backend named by ``settings.store``: "sqlite" opens ``settings.database``
    (creating its folder); "es" (or "elasticsearch") connects to ``settings.es_url``."""
    name = str(getattr(settings, "store", "sqlite") or "sqlite").strip().lower()
    backend = _ALIASES.get(name)
    if backend == "sqlite":
        from riskmine.store.sqlite import SQLiteStore

        path = Path(settings.database)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for the SQLite database {path}: {exc}") from exc
        return SQLiteStore(path)
    if backend == "es":
        return open_elasticsearch(settings)
    raise StoreError(f"unknown store backend {name!r} (RISKMINE_STORE); backends: sqlite, elasticsearch (es)")


def open_elasticsearch(settings: Any, *, prefix: str | None = None) -> Store:
    """The Elasticsearch store of the settings (RISKMINE_ES_URL and friends); a clear StoreError
    when the URL or the client package is missing, or the refresh policy is unknown."""
    url = getattr(settings, "es_url", None)
    if not url:
        raise StoreError(
            "the Elasticsearch store needs RISKMINE_ES_URL (e.g. http://127.0.0.1:9200); "
            "see docs/elasticsearch.md, or set RISKMINE_STORE=sqlite"
        )
    import importlib.util

    if not (importlib.util.find_spec("elasticsearch") or importlib.util.find_spec("opensearchpy")):
        raise StoreError(
            "the search store needs the `elasticsearch` or `opensearch-py` Python package: pip install 'riskmine[es]'"
        )
    from riskmine.store.elasticsearch import ElasticsearchStore

    refresh_name = str(getattr(settings, "es_refresh", "wait_for") or "wait_for").strip().lower()
    if refresh_name not in _REFRESH:
        raise StoreError(f"unknown RISKMINE_ES_REFRESH {refresh_name!r}; use wait_for, true or false")
    user, password = getattr(settings, "es_username", None), getattr(settings, "es_password", None)
    if bool(user) != bool(password):
        raise StoreError("set both RISKMINE_ES_USERNAME and RISKMINE_ES_PASSWORD, or neither")
    ca = getattr(settings, "es_ca_certs", None)
    return ElasticsearchStore(
        url,
        prefix=prefix or getattr(settings, "es_index_prefix", None) or "riskmine",
        api_key=getattr(settings, "es_api_key", None) or None,
        basic_auth=(user, password) if user and password else None,
        ca_certs=str(ca) if ca else None,
        refresh=_REFRESH[refresh_name],  # type: ignore[arg-type]
        engine=str(getattr(settings, "es_engine", None) or "auto"),
    )
