"""The submission service: ingest, process, refresh candidates and update the graph, in one place, under one lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from riskmine.knowledge_graph.graph import current_graph, forget_graphs
from riskmine.pipeline import Pipeline
from riskmine.processing import ProcessReport
from riskmine.schema import RawDocument, SourceType
from riskmine.settings import Settings
from riskmine.store.base import Collection, Store
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import SerialProcessor, Submission

ROWS = [
    {"id": "s1", "text": "这个充电宝充电的时候冒烟了，外壳鼓包发烫，差点起火，太吓人了", "product": "充电宝"},
    {"id": "s2", "text": "移动电源充着电突然冒烟起火，把床单都烧了一个洞", "product": "充电宝"},
    {"id": "s3", "text": "物流很快，包装完好，手机很好用，好评", "product": "手机"},
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    forget_graphs()
    return Settings(var_dir=tmp_path / "var")


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "store.sqlite3")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Pipeline:
    # module scope: the per-test settings are not set yet, so name the session's models (and a var dir) here
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), models_dir=shared_models_dir)
    return Pipeline.from_settings(settings, None)


def test_rows_are_stored_processed_refreshed_and_in_the_graph(
    store: SQLiteStore, pipeline: Pipeline, settings: Settings
) -> None:
    outcome = Submission(store, pipeline, settings=settings).rows(ROWS, source="test", source_type="review")
    assert outcome.ingest is not None and outcome.ingest.accepted == 3
    assert outcome.processed == 3 and outcome.risks >= 2
    assert store.count(Collection.signals) == 3
    assert outcome.candidates is not None and outcome.candidates >= 1
    assert outcome.candidates == store.count(Collection.candidates)
    assert current_graph(settings).signal_count == 3


def test_a_bad_row_is_rejected_by_number_and_the_good_ones_are_kept(
    store: SQLiteStore, pipeline: Pipeline, settings: Settings
) -> None:
    rows = [ROWS[0], {"id": "x", "text": "", "product": "充电宝"}, ROWS[2]]
    outcome = Submission(store, pipeline, settings=settings).rows(rows, source="test", source_type="review")
    assert outcome.ingest is not None
    assert [r.row for r in outcome.ingest.rejected] == [2]
    assert outcome.processed == 2 and store.count(Collection.documents) == 2


def test_a_feed_file_is_read_and_checked_before_processing(
    tmp_path: Path, store: SQLiteStore, pipeline: Pipeline, settings: Settings
) -> None:
    feed = tmp_path / "upload.csv"
    feed.write_bytes("id,text,product\nf1,电热毯通电后冒烟，还烧焦了一块\n".encode("gbk"))
    seen: list[int] = []
    outcome = Submission(store, pipeline, settings=settings).path(
        feed, source="station:测试站", source_type=SourceType.station_report, check=lambda r: seen.append(r.rows)
    )
    assert seen == [1]
    assert outcome.ingest is not None and outcome.ingest.accepted == 1 and outcome.processed == 1

    def refuse(_report: object) -> None:
        raise ValueError("refused before processing")

    again = tmp_path / "again.csv"
    again.write_text("id,text\nf2,电饭煲漏电，手一碰就麻\n", encoding="utf-8")
    with pytest.raises(ValueError, match="refused before processing"):
        Submission(store, pipeline, settings=settings).path(
            again, source="station:测试站", source_type="station_report", check=refuse
        )
    assert store.count(Collection.documents) == 2  # stored rows are kept
    assert store.count(Collection.signals) == 1  # but nothing was processed


def test_documents_skip_duplicates_and_only_new_ones_are_processed(
    store: SQLiteStore, pipeline: Pipeline, settings: Settings
) -> None:
    doc = RawDocument(source="public", source_type="public_report", source_id="p1", text="儿童滑板车把手断裂，孩子摔伤")
    submission = Submission(store, pipeline, settings=settings)
    first = submission.documents([doc])
    assert first.document_ids == [doc.id] and first.processed == 1
    second = submission.documents([doc])
    assert second.document_ids == [] and second.processed == 0 and second.candidates is None


def test_without_a_processor_documents_are_only_stored(store: SQLiteStore, settings: Settings) -> None:
    outcome = Submission(store, settings=settings).rows(ROWS, source="crawl", source_type="review")
    assert outcome.ingest is not None and outcome.ingest.accepted == 3
    assert outcome.process is None and store.count(Collection.signals) == 0
    with pytest.raises(ValueError, match="no processor"):
        Submission(store, settings=settings).process()


def test_process_takes_what_is_pending_and_with_nothing_pending_refreshes_everything(
    store: SQLiteStore, pipeline: Pipeline, settings: Settings
) -> None:
    Submission(store, settings=settings).rows(ROWS, source="crawl", source_type="review")
    submission = Submission(store, pipeline, settings=settings)
    outcome = submission.process()
    assert outcome.processed == 3 and outcome.candidates == store.count(Collection.candidates)
    again = submission.process()
    assert again.processed == 0 and again.candidates == outcome.candidates


class _Recording(SerialProcessor):
    """The real pipeline in this process, recording whether the lock was held while it ran."""

    def __init__(self, pipeline: Pipeline, lock: threading.Lock) -> None:
        super().__init__(pipeline)
        self.lock = lock
        self.held: list[bool] = []

    def process_documents(self, store: Store, *args: Any, **kwargs: Any) -> ProcessReport:
        self.held.append(self.lock.locked())
        return super().process_documents(store, *args, **kwargs)


def test_any_processor_gets_the_refresh_and_the_graph_and_runs_under_the_lock(
    store: SQLiteStore, pipeline: Pipeline, settings: Settings
) -> None:
    lock = threading.Lock()
    processor = _Recording(pipeline, lock)
    outcome = Submission(store, processor, lock=lock, settings=settings).rows(ROWS, source="test", source_type="review")
    assert processor.held == [True] and not lock.locked()
    assert outcome.candidates == store.count(Collection.candidates)
    assert current_graph(settings).signal_count == 3  # worker processes too: the graph follows every submission


def test_a_pipeline_is_run_in_this_process() -> None:
    pipeline = Pipeline([])
    submission = Submission(SQLiteStore(":memory:"), pipeline, settings=Settings())
    assert isinstance(submission.processor, SerialProcessor) and submission.processor.pipeline is pipeline


# ---------------------------------------------------------------- interrupted work (issue 17, items 5 and 6)

# Three groups of risk reports; in id order the power-bank group is processed first and entirely.
_GROUPS = {
    "a": (
        "充电宝",
        [
            "这个充电宝充电的时候冒烟了，外壳鼓包发烫，差点起火",
            "移动电源充着电突然冒烟起火，把床单都烧了一个洞",
            "充电宝用了两天就鼓包，充电时烫手还冒烟，太危险了",
            "买的充电宝半夜充电起火，幸好人醒着，吓死了",
        ],
    ),
    "b": (
        "电热毯",
        [
            "电热毯通电后冒烟，还烧焦了一块，差点着火",
            "电热毯用了一晚上就漏电，摸着麻手，太吓人",
            "电热毯开关处发烫冒烟，闻到一股烧焦味",
            "电热毯插上电就漏电，手碰到被电了一下",
        ],
    ),
    "c": (
        "电动车",
        [
            "电动车电池充电时起火，楼道里全是烟",
            "电动车停在楼下充电突然自燃，烧了好几辆",
            "电动车电池鼓包冒烟，差点爆炸",
            "新买的电动车刹车失灵，下坡差点撞人",
        ],
    ),
}
GROUPED_ROWS = [
    {"id": f"{prefix}{i}", "text": text, "product": product}
    for prefix, (product, texts) in _GROUPS.items()
    for i, text in enumerate(texts)
]

# Run in a process of its own: process every pending document four at a time and die (SIGKILL) right
# after the second batch of signals is stored, before candidates or the graph are brought up to date.
_DIE_MIDWAY = """
import os, signal, sys
from riskmine.pipeline import Pipeline
from riskmine.settings import Settings
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import SerialProcessor, Submission

settings = Settings(var_dir=sys.argv[1], models_dir=sys.argv[2])
store = SQLiteStore(sys.argv[3])
done = 0

def progress(n):
    global done
    done += n
    if done >= 8:
        os.kill(os.getpid(), signal.SIGKILL)

Submission(store, SerialProcessor(Pipeline.from_settings(settings, store)), settings=settings, batch_size=4).process(
    progress=progress
)
"""


def _state(store: Store) -> tuple[list[tuple[str, list[str]]], int]:
    candidates = sorted((c.id, sorted(c.signal_ids)) for c in store.iterate(Collection.candidates))
    return candidates, store.count(Collection.signals)


@pytest.mark.integration
def test_a_rerun_after_process_is_killed_gives_the_uninterrupted_result(
    tmp_path: Path, pipeline: Pipeline, shared_models_dir: Path
) -> None:
    control_settings = Settings(var_dir=tmp_path / "control")
    control = SQLiteStore(tmp_path / "control.sqlite3")
    Submission(control, pipeline, settings=control_settings, batch_size=4).rows(
        GROUPED_ROWS, source="test", source_type="review"
    )
    expected = _state(control)
    assert len(expected[0]) >= 2 and expected[1] == len(GROUPED_ROWS)

    settings = Settings(var_dir=tmp_path / "var")
    db = tmp_path / "store.sqlite3"
    store = SQLiteStore(db)
    Submission(store, None, settings=settings).rows(GROUPED_ROWS, source="test", source_type="review")
    store.close()
    killed = subprocess.run(
        [sys.executable, "-c", _DIE_MIDWAY, str(settings.var_dir), str(shared_models_dir), str(db)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    store = SQLiteStore(db)
    assert store.count(Collection.signals) == 8  # two batches stored, no candidate refreshed for them
    forget_graphs()
    Submission(store, pipeline, settings=settings, batch_size=4).process()  # the rerun, once
    assert _state(store) == expected
    assert current_graph(settings).signal_count == len(GROUPED_ROWS)
    assert not list((settings.var_dir / "journal").glob("*.ids"))  # the killed run's entry was adopted


def test_ready_documents_are_stored_masked_even_when_not_processed(store: SQLiteStore, settings: Settings) -> None:
    phone, email = "13812345678", "zhang.san@example.com"
    doc = RawDocument(
        source="public",
        source_type="public_report",
        source_id="p1",
        url=f"https://shop.example/u?tel={phone}",
        text=f"儿童滑板车把手断裂，电话{phone}",
        product=f"滑板车 {phone}",
        shop=f"小王 {email}",
        meta={"buyer": {"phone": phone, "mail": [email]}},
    )
    outcome = Submission(store, settings=settings).documents([doc], process=False)
    assert outcome.document_ids == [doc.id] and outcome.process is None
    stored = store.get(Collection.documents, doc.id)
    assert stored is not None
    dumped = stored.model_dump_json()
    assert phone not in dumped and email not in dumped
    assert stored.product == "滑板车 [电话]" and stored.meta["buyer"] == {"phone": "[电话]", "mail": ["[邮箱]"]}
