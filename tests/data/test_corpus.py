"""Checks of the committed labelled corpus (riskmine/data/corpus/labels/, one JSONL shard per era).

The thresholds state the floor of the corpus as committed: the test fails if the corpus
shrinks, loses a hazard code or category, leaks a text between train and dev/test, or a
row no longer matches its source.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import random
import sys
import unicodedata
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from riskmine.schema import HazardType
from riskmine.schema.enums import SourceType
from riskmine.settings import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "riskmine" / "data" / "corpus"
LABELS = CORPUS / "labels"
MAX_SHARD_BYTES = 5 * 1024 * 1024  # a tracked file stays under 5 MiB: a growing corpus gets another shard
GUIDE = CORPUS / "GUIDE.md"
SCRIPTS = REPO / "scripts" / "corpus"
DATA_DIR = shared_data_dir()

FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "text": str,
    "source_type": str,
    "is_risk": bool,
    "hazards": list,
    "harm_occurred": bool,
    "product_category": (str, type(None)),
    "dataset": str,
    "file": str,
    "row": (int, type(None)),
    "synthetic": bool,
    "split": str,
}
CORPUS_SOURCE_TYPES = {"review", "news", "complaint", "recall", "spot_check"}

# Floors of the committed corpus (current figures in riskmine/data/corpus/README.md).
MIN_TEXTS = 13000
MIN_RISKS = 2720
MIN_REAL_RISKS = 2480
MIN_HAZARD_CODES = 16
MIN_CATEGORIES = 75
MIN_RISK_CATEGORIES = 75
MIN_SPLIT = {"train": (8300, 1800), "dev": (1800, 360), "test": (2400, 480)}  # (texts, risks)
# The domain corpus of issue 14 (2026-12): rows whose note starts with the slice they were sampled in.
DOMAIN_SLICES = ("enriched", "random", "all")
DOMAIN_FLOORS = {"texts": 6800, "risks": 950, "sources": 10, "risk_categories": 50}
NEAR_DUP = 0.8


@cache
def rows() -> list[dict[str, Any]]:
    out = []
    for shard in sorted(LABELS.glob("*.jsonl")):
        with shard.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                assert line.strip(), f"{shard.name} line {lineno} is blank"
                out.append(json.loads(line))
    return out


def normalize(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in t if unicodedata.category(ch)[0] in ("L", "N"))


def grams(text: str) -> frozenset[str]:
    t = normalize(text)
    if len(t) <= 3:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[i : i + 3] for i in range(len(t) - 2))


def test_every_row_is_valid() -> None:
    hazards = {h.value for h in HazardType}
    assert {s.value for s in SourceType} >= CORPUS_SOURCE_TYPES
    for i, r in enumerate(rows(), start=1):
        where = f"row {i} ({r.get('id')})"
        assert set(r) - {"note"} == set(FIELDS), f"{where}: fields {sorted(r)}"
        for field, kind in FIELDS.items():
            assert isinstance(r[field], kind), f"{where}: {field} has type {type(r[field]).__name__}"
        assert r["text"].strip(), f"{where}: empty text"
        assert r["source_type"] in CORPUS_SOURCE_TYPES, where
        assert r["split"] in {"train", "dev", "test"}, where
        assert all(h in hazards for h in r["hazards"]), f"{where}: hazards {r['hazards']}"
        assert len(set(r["hazards"])) == len(r["hazards"]), where
        if r["is_risk"]:
            assert r["hazards"], f"{where}: a risk without hazard codes"
        else:
            assert not r["hazards"] and not r["harm_occurred"], f"{where}: a non-risk with hazards or harm"
        if r["synthetic"]:
            assert r["id"] == f"syn:{r['row']}" and r["dataset"] == "synthetic", where
        else:
            assert r["id"] == f"{r['dataset']}:{r['file']}:{r['row']}", where
            assert isinstance(r["row"], int) and r["row"] >= 0, where
        if "note" in r:
            assert isinstance(r["note"], str) and r["note"], where


def test_shards_stay_small_and_hold_their_rows() -> None:
    corpus_io = _load_script("corpus_io")
    for shard in sorted(LABELS.glob("*.jsonl")):
        assert shard.stat().st_size < MAX_SHARD_BYTES, f"{shard.name} is over 5 MiB: add a shard"
        for line in shard.read_text(encoding="utf-8").splitlines():
            assert corpus_io.shard_of(json.loads(line)) == shard.name


def test_ids_are_unique() -> None:
    dup = [k for k, n in Counter(r["id"] for r in rows()).items() if n > 1]
    assert not dup, f"duplicate ids: {dup[:5]}"


def test_dev_and_test_are_real_text_only() -> None:
    leaked = [r["id"] for r in rows() if r["synthetic"] and r["split"] != "train"]
    assert not leaked, f"synthetic texts outside train: {leaked[:5]}"


def test_no_exact_or_near_duplicate_between_train_and_held_out() -> None:
    train = [r for r in rows() if r["split"] == "train"]
    held = [r for r in rows() if r["split"] != "train"]
    train_norm = {normalize(r["text"]): r["id"] for r in train}
    exact = [(r["id"], train_norm[n]) for r in held if (n := normalize(r["text"])) in train_norm]
    assert not exact, f"exact duplicates across splits: {exact[:5]}"
    index: dict[str, list[int]] = defaultdict(list)
    train_grams = [grams(r["text"]) for r in train]
    for i, g in enumerate(train_grams):
        for s in g:
            index[s].append(i)
    near = []
    for r in held:
        g = grams(r["text"])
        shared: Counter[int] = Counter()
        for s in g:
            shared.update(index.get(s, ()))
        for i, common in shared.items():
            union = len(g) + len(train_grams[i]) - common
            if union and common / union >= NEAR_DUP:
                near.append((r["id"], train[i]["id"], round(common / union, 2)))
    assert not near, f"near duplicates (3-gram Jaccard >= {NEAR_DUP}) across splits: {near[:5]}"


def test_targets_and_floors() -> None:
    data = rows()
    risks = [r for r in data if r["is_risk"]]
    real_risks = [r for r in risks if not r["synthetic"]]
    assert len(data) >= MIN_TEXTS
    assert len(risks) >= MIN_RISKS
    assert len(real_risks) >= MIN_REAL_RISKS
    assert len(risks) - len(real_risks) <= len(risks) / 2, "synthetic texts must be at most half of the risks"
    assert len({h for r in risks for h in r["hazards"]}) >= MIN_HAZARD_CODES
    assert len({r["product_category"] for r in data if r["product_category"]}) >= MIN_CATEGORIES
    assert len({r["product_category"] for r in risks if r["product_category"]}) >= MIN_RISK_CATEGORIES
    for split, (min_texts, min_risks) in MIN_SPLIT.items():
        part = [r for r in data if r["split"] == split]
        assert len(part) >= min_texts, f"{split}: {len(part)} texts"
        assert sum(r["is_risk"] for r in part) >= min_risks, f"{split}: too few risks"
    # Every split holds risks and non-risks of each large source, so results are comparable.
    for split in ("dev", "test"):
        part = [r for r in data if r["split"] == split]
        for dataset in ("online_shopping_10_cats", "waimai_10k", "food_spotcheck_foodmate", "fewclue_eprstmt"):
            labels = {r["is_risk"] for r in part if r["dataset"] == dataset}
            assert labels == {True, False}, f"{split} lacks risks or non-risks from {dataset}"


def test_categories_are_listed_in_the_guide() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide.split("## 5. Product categories", 1)[1].split("## 6.", 1)[0]
    missing = sorted({c for r in rows() if (c := r["product_category"]) and c not in section})
    assert not missing, f"categories used but not listed in GUIDE.md §5: {missing}"


def _load_script(name: str) -> Any:
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location(f"corpus_{name}", SCRIPTS / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


def test_splits_are_reproducible() -> None:
    split = _load_script("split")
    expected = split.assign_splits(rows())
    moved = [r["id"] for r in rows() if expected[r["id"]] != r["split"]]
    assert not moved, f"splits differ from scripts/corpus/split.py for {len(moved)} rows, e.g. {moved[:5]}"


def test_synthetic_rows_match_their_source_file() -> None:
    with (CORPUS / "synthetic.tsv").open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    synthetic = {r["id"]: r for r in rows() if r["synthetic"]}
    assert len(synthetic) == len(table)
    for n, (source_type, category, hazards, harm, text) in enumerate(table, start=1):
        r = synthetic[f"syn:{n}"]
        assert r["text"] == text.strip() and r["source_type"] == source_type
        assert r["hazards"] == ([] if hazards == "-" else hazards.split(","))
        assert r["product_category"] == (None if category == "-" else category)
        assert r["harm_occurred"] == (harm == "H" and r["is_risk"])


# --- provenance: re-read the source rows ---------------------------------------------------------------------------


def _clean(text: str) -> str:
    return text.replace("\ufeff", "").strip()


@cache
def _csv_records(dataset: str, file: str) -> list[dict[str, str]]:
    with (DATA_DIR / dataset / file).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@cache
def _lines(dataset: str, file: str) -> list[str]:
    return (DATA_DIR / dataset / file).read_text(encoding="utf-8").splitlines()


def source_text(r: dict[str, Any]) -> str:
    dataset, file, row = r["dataset"], r["file"], r["row"]
    if dataset in ("online_shopping_10_cats", "waimai_10k", "ChnSentiCorp_htl_all"):
        return _clean(_csv_records(dataset, file)[row]["review"])
    if dataset == "fewclue_eprstmt":
        return _clean(json.loads(_lines(dataset, file)[row])["sentence"])
    if dataset == "THUCNews_titles":
        return _clean(_lines(dataset, file)[row].rpartition("\t")[0])
    if (CORPUS / "sources" / dataset).is_dir():  # fetched from a public repository and bundled with the corpus
        bundled = (CORPUS / "sources" / dataset / file).read_text(encoding="utf-8").splitlines()
        return _clean(json.loads(bundled[row])["text"])
    if file.endswith(".jsonl"):  # the domain sources of 2026-12: JSON lines with a `text` field
        return _clean(json.loads(_lines(dataset, file)[row])["text"])
    raise AssertionError(f"no reader for {dataset}")


def _sample(candidates: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    seed = int(hashlib.sha1(b"riskmine-provenance").hexdigest()[:8], 16)
    return random.Random(seed).sample(candidates, min(k, len(candidates)))


needs_data = pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"source data sets not available at {DATA_DIR}")


@needs_data
def test_real_rows_point_at_their_source_text() -> None:
    free_text = [r for r in rows() if not r["synthetic"] and r["dataset"] != "food_spotcheck_foodmate"]
    for r in _sample(free_text, 50):
        assert source_text(r) == r["text"], f"{r['id']}: text differs from the source row"


@needs_data
def test_domain_rows_point_at_their_source_text() -> None:
    domain = [r for r in rows() if (r.get("note") or "").split(";")[0] in DOMAIN_SLICES]
    for r in _sample(domain, 80):
        assert source_text(r) == r["text"], f"{r['id']}: text differs from the source row"


def test_domain_corpus_floors() -> None:
    """Issue 14: new real texts from the regulated domains, sampled as a stream (random + enriched slices)."""
    domain = [r for r in rows() if (r.get("note") or "").split(";")[0] in DOMAIN_SLICES]
    risks = [r for r in domain if r["is_risk"]]
    assert not any(r["synthetic"] for r in domain)
    assert len(domain) >= DOMAIN_FLOORS["texts"]
    assert len(risks) >= DOMAIN_FLOORS["risks"]
    assert len({r["dataset"] for r in domain}) >= DOMAIN_FLOORS["sources"]
    assert len({r["product_category"] for r in risks if r["product_category"]}) >= DOMAIN_FLOORS["risk_categories"]
    assert {"review", "news", "complaint", "recall"} <= {r["source_type"] for r in domain}
    random_slice = [r for r in domain if r["note"].startswith("random")]
    assert len(random_slice) >= 2000, "the stream's ordinary texts: a random sample of each review source"


@needs_data
def test_spot_check_rows_point_at_their_record() -> None:
    spot = [r for r in rows() if r["dataset"] == "food_spotcheck_foodmate"]
    for r in _sample(spot, 50):
        rec = _csv_records(r["dataset"], r["file"])[r["row"]]
        name = " ".join(rec["物料名称"].split())
        assert name and name in r["text"], f"{r['id']}: product name {name!r} not in text"
        failed = rec["判定"].strip() != "合格"
        assert ("不合格" in r["text"]) == failed, f"{r['id']}: verdict does not match the record"
        if r["is_risk"]:
            assert failed, f"{r['id']}: a risk from a passed record"
