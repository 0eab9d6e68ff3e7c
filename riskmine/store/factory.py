"""Open the store the settings name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmine.store.base import Store, StoreError

BACKENDS = ("sqlite", "elasticsearch")


def open_store(settings: Any) -> Store:
    """The backend named by ``settings.store``: "sqlite" opens ``settings.database``
    (creating its folder); "elasticsearch" is not available yet."""
    backend = str(getattr(settings, "store", "sqlite") or "sqlite").strip().lower()
    if backend == "sqlite":
        from riskmine.store.sqlite import SQLiteStore

        path = Path(settings.database)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for the SQLite database {path}: {exc}") from exc
        return SQLiteStore(path)
    if backend == "elasticsearch":
        raise StoreError(
            "the Elasticsearch store backend is not available yet: install the `es` extra "
            "(pip install 'riskmine[es]') once it ships and see the README; until then set "
            "RISKMINE_STORE=sqlite"
        )
    raise StoreError(f"unknown store backend {backend!r} (RISKMINE_STORE); backends: {', '.join(BACKENDS)}")
