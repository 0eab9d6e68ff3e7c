"""The bundled demo corpus: its format, provenance, planted stories, and that it is reproducible."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import sys
from collections import Counter
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from riskmine.schema import RawDocument

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "riskmine" / "data" / "demo"
CORPUS = DEMO / "demo.jsonl"
SCRIPT = REPO / "scripts" / "demo" / "build_demo_corpus.py"
SHARED_DATA = REPO.parent / "shared" / "data"
INGEST_FIELDS = set(RawDocument.model_fields) - {"id", "collected_at"}
WINDOW = (date(2026, 5, 18), date(2026, 11, 15))
needs_shared_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"shared data sets not at {SHARED_DATA}")


@cache
def corpus() -> tuple[dict[str, Any], ...]:
    with CORPUS.open(encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh)


def story(name: str) -> list[dict[str, Any]]:
    return [d for d in corpus() if d["meta"]["demo"]["story"] == name]


def iso_week(doc: dict[str, Any]) -> int:
    return datetime.fromisoformat(doc["published_at"]).isocalendar().week


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo_corpus", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


def test_every_line_is_an_ingest_record() -> None:
    docs = corpus()
    assert len(docs) >= 2000
    ids = set()
    for doc in docs:
        assert set(doc) <= INGEST_FIELDS, set(doc) - INGEST_FIELDS
        ids.add(RawDocument.model_validate(doc).id)
        published = datetime.fromisoformat(doc["published_at"])
        assert published.utcoffset() == timedelta(hours=8)
        assert WINDOW[0] <= published.date() <= WINDOW[1]
    assert len(ids) == len(docs)
    assert CORPUS.stat().st_size < 5 * 1024 * 1024


def test_mix_of_sources_and_categories() -> None:
    docs = corpus()
    source_types = Counter(d["source_type"] for d in docs)
    assert len(source_types) >= 5
    assert {"review", "news", "complaint", "recall", "spot_check", "station_report"} <= set(source_types)
    categories = Counter(d["meta"]["demo"]["category"] for d in docs if d["meta"]["demo"]["category"])
    assert len([c for c, n in categories.items() if n >= 15]) >= 10
    assert sum(1 for d in docs if d.get("region")) > 500
    assert sum(1 for d in docs if d.get("brand")) >= 100
    assert sum(1 for d in docs if d.get("enterprise")) >= 150


def test_every_document_records_its_provenance() -> None:
    for doc in corpus():
        prov = doc["meta"]["provenance"]
        if prov.get("written"):
            assert doc["url"].startswith("https://demo.riskmine.invalid/")
            continue
        assert set(prov) >= {"dataset", "file", "row"}
        assert prov["file"].startswith(prov["dataset"] + "/") and isinstance(prov["row"], int)
        assert "published_at" in doc["meta"]["assigned"]
        if doc["source_type"] == "review":
            assert {"product", "shop"} <= set(doc["meta"]["assigned"])


@needs_shared_data
def test_real_texts_match_the_rows_they_cite() -> None:
    cited: dict[str, dict[int, str]] = {}
    for doc in corpus():
        prov = doc["meta"]["provenance"]
        if not prov.get("written") and doc["source_type"] == "review":
            cited.setdefault(prov["file"], {})[prov["row"]] = doc["text"]
    assert len(cited) >= 5
    for file, rows in cited.items():
        path = SHARED_DATA / file
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as fh:
                source = {i: r["review"] for i, r in enumerate(csv.DictReader(fh), start=1) if i in rows}
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
            source = {i: json.loads(lines[i - 1])["sentence"] for i in rows}
        for row, text in rows.items():
            assert " ".join(source[row].replace("\ufeff", "").split()) == text, f"{file} row {row}"


def test_planted_stories_are_there_across_sources() -> None:
    for name in (
        "power_bank_fire",
        "crawling_mat_formaldehyde",
        "ebike_helmet_cracking",
        "water_heater_shock",
        "shampoo_allergy",
        "toy_small_parts",
    ):
        docs = story(name)
        assert len(docs) >= 15, name
        assert len({d["source_type"] for d in docs}) >= 2, name
    assert len(story("loud_one_off")) == 1
    assert len(story("loud_one_off")[0]["text"]) > 500
    assert sum(1 for d in story("shampoo_allergy") if not d["meta"]["provenance"].get("written")) >= 20
    assert {"recall"} <= {d["source_type"] for d in story("ebike_helmet_cracking")}
    assert {"spot_check"} <= {d["source_type"] for d in story("crawling_mat_formaldehyde")}
    assert sum(1 for d in story("toy_small_parts") if d["source_type"] == "injury_report") >= 3
    assert len({d.get("brand") for d in story("power_bank_fire") if d.get("brand")}) >= 3


def test_power_bank_reports_rise_over_the_last_six_weeks() -> None:
    weeks = Counter(iso_week(d) for d in story("power_bank_fire"))
    last_six = sum(n for w, n in weeks.items() if w >= 41)
    before = sum(n for w, n in weeks.items() if w < 41)
    assert last_six >= 5 * before > 0
    assert sum(weeks[w] for w in (44, 45, 46)) > 2 * sum(weeks[w] for w in (41, 42, 43))


def test_crawling_mat_reports_concentrate_in_one_city() -> None:
    regions = Counter(d["region"] for d in story("crawling_mat_formaldehyde") if d.get("region"))
    top, n = regions.most_common(1)[0]
    assert top == "浙江省台州市" and n >= 0.6 * sum(regions.values())


def shingles(text: str, k: int = 5) -> set[str]:
    return {text[i : i + k] for i in range(len(text) - k + 1)}


def test_syndicated_copies_are_near_duplicates_from_other_outlets() -> None:
    news = [d for d in story("power_bank_fire") if d["source_type"] == "news"]
    pairs = []
    for i, a in enumerate(news):
        for b in news[i + 1 :]:
            sa, sb = shingles(a["text"]), shingles(b["text"])
            if len(sa & sb) / len(sa | sb) >= 0.6 and a["source"] != b["source"] and a["text"] != b["text"]:
                pairs.append((a["source_id"], b["source_id"]))
    assert len(pairs) >= 3


def test_false_alarms_and_background_are_present() -> None:
    roles = Counter(d["meta"]["demo"]["role"] for d in corpus())
    assert roles["false_alarm"] >= 15 and roles["background"] >= 1000 and roles["background_hazard"] >= 10
    alarm_texts = " ".join(d["text"] for d in corpus() if d["meta"]["demo"]["role"] == "false_alarm")
    for word in ("销量爆炸", "火爆", "漏电保护器"):
        assert word in alarm_texts


@needs_shared_data
def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    script = load_script()
    messages: list[str] = []
    out, readme = tmp_path / "demo.jsonl", tmp_path / "README.md"
    assert script.main(["--out", str(out), "--readme", str(readme)], out=messages.append) == 0
    assert out.read_bytes() == CORPUS.read_bytes()
    assert readme.read_text(encoding="utf-8") == (DEMO / "README.md").read_text(encoding="utf-8")
    assert f"**{len(corpus())} documents**" in readme.read_text(encoding="utf-8")


@needs_shared_data
def test_bad_written_input_is_named(tmp_path: Path) -> None:
    script = load_script()
    demo = tmp_path / "demo"
    shutil.copytree(DEMO / "written", demo / "written")
    shutil.copy(DEMO / "catalog.json", demo / "catalog.json")
    bad = demo / "written" / "zz_bad.jsonl"
    bad.write_text('{"key": "x1", "source_type": "review", "text": "ok", "week": 30}\n{"key": "x2", "text": \n')
    messages: list[str] = []
    assert script.main(["--demo-dir", str(demo)], out=messages.append) == 2
    assert messages == [messages[0]] and "written/zz_bad.jsonl line 2: not valid JSON" in messages[0]
    bad.write_text('{"key": "x1", "source_type": "rumour", "text": "ok"}\n')
    assert script.main(["--demo-dir", str(demo)], out=messages.append) == 2
    assert "unknown source_type 'rumour'" in messages[-1]
    assert not (demo / "demo.jsonl").exists()
