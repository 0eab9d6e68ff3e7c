"""What the app holds while it runs: settings, the store, the users, and the pipeline (built once, on first use)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from riskmine.pipeline import Pipeline
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Store
from riskmine.submission import Submission


@dataclass
class AppState:
    settings: Settings
    users: UserStore
    store: Store | None = None
    pipeline_factory: Callable[[Settings, Store | None], Pipeline] | None = None
    owns_store: bool = False
    _pipeline: Pipeline | None = field(default=None, repr=False)
    _pipeline_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Ingest + processing + candidate refresh run one batch at a time.
    write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pipeline_loaded(self) -> bool:
        return self._pipeline is not None

    def get_pipeline(self) -> Pipeline:
        """The pipeline, built on the first call (it loads models; call it from a worker thread)."""
        if self._pipeline is None:
            with self._pipeline_lock:
                if self._pipeline is None:
                    factory = self.pipeline_factory or _default_pipeline
                    self._pipeline = factory(self.settings, self.store)
        return self._pipeline

    def submission(self, store: Store, pipeline: Pipeline | None) -> Submission:
        """The submission service over ``store``, under the write lock (``pipeline`` None: store only)."""
        return Submission(
            store, pipeline, lock=self.write_lock, batch_size=self.settings.batch_size, settings=self.settings
        )


def _default_pipeline(settings: Settings, store: Store | None) -> Pipeline:
    return Pipeline.from_settings(settings, store)
