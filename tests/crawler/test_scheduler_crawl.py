"""The scheduler's crawl job against the fixture site on 127.0.0.1: the source that is due is crawled, what it
stored is processed (signals, candidates), and the next run is recorded; a source not yet due again is left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskmine.scheduler import JobRunner, default_jobs
from riskmine.settings import get_settings
from riskmine.store.base import Collection
from riskmine.store.factory import open_store
from riskmine.store.jobs import open_job_state

from .conftest import SITE_SRC, SOURCES_TEMPLATE, FixtureSite

NOW = datetime.now(UTC).replace(microsecond=0)


def test_the_crawl_job_crawls_the_due_source_and_processes_what_it_stored(
    tmp_path: Path, fixture_site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    news = SOURCES_TEMPLATE.format(base=fixture_site.base_url).strip().split("\n\n")[0]  # fixture-news
    assert news.startswith("[source.fixture-news]")
    sources = tmp_path / "sources.toml"
    sources.write_text(news + "\n", encoding="utf-8")
    monkeypatch.setenv("RISKMINE_CRAWL_SOURCES", str(sources))
    monkeypatch.setenv("RISKMINE_CRAWL_SITES", str(SITE_SRC / "sites.toml"))
    settings = get_settings()
    crawl_job = [j for j in default_jobs(settings) if j.name == "crawl"]
    runner = JobRunner(settings, crawl_job)

    result = runner.run("crawl", NOW)
    assert result is not None and result.outcome == "ok", result
    assert result.message.startswith("crawled 1 sources: fixture-news +2; processed 2 documents")

    store = open_store(settings)
    try:
        docs = list(store.iterate(Collection.documents))
        assert len(docs) == 2 and {d.source for d in docs} == {"fixture-news"}
        signals = list(store.iterate(Collection.signals))
        assert {s.document.id for s in signals} == {d.id for d in docs}  # every stored document was processed
        assert store.count(Collection.candidates) >= 1  # the 充电宝 fire reports make a candidate
    finally:
        store.close()
    record = open_job_state(settings).get("crawl")
    assert record is not None and record.last_outcome == "ok"
    assert record.next_run is not None and NOW < record.next_run <= NOW + timedelta(minutes=10)

    # ten minutes on, the job is due again but the source (every hour) is not
    later = runner.run("crawl", NOW + timedelta(minutes=10))
    assert later is not None and later.outcome == "ok" and later.message == "no source due"
