from __future__ import annotations

import csv
import multiprocessing
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from riskmine.nlp.base import StageContext
from riskmine.nlp.dedup import Assignment, DedupError, DedupIndex, Signer, make_dedup
from riskmine.nlp.normalize import make_normalize
from riskmine.schema import RawDocument, Signal
from riskmine.settings import Settings, get_settings, shared_data_dir
from riskmine.text.normalize import compact, content_hash, normalize_text

# Real reviews, copied with their provenance (online_shopping_10_cats/online_shopping_10_cats.csv, file line).
HOT = "说真的真的很差劲，充电发烫的要爆炸了一样，还卡的一塌糊涂，以前用六七百的中兴还不会这么卡，充电都没发烫"  # 10359
BURNT = (  # 13321
    "质量相当差，非常水！才用一两个月，充电差点导致爆炸，充电器及手机插口都烧坏烧黑了，以后再也不敢买华为了！"
)
SMELL = "这衣服有个味道，应该是甲醛之类的，洗后第一天穿就被搞得头晕晕的。?"  # 46081
# The same complaint reposted with small edits (a reposting pattern seen in complaint feeds).
BURNT_REPOST = (
    "质量相当差，非常水！才用了一两个月，充电差点导致爆炸，充电器和手机插口都烧坏烧黑了，以后再也不敢买华为了"
)


def _item(doc_id: str, text: str) -> tuple[str, str, str]:
    return doc_id, content_hash(text), text


def _signals(*texts: str) -> list[Signal]:
    return [Signal.from_document(RawDocument(source="t", source_type="review", text=t)) for t in texts]


def _shingles(text: str, k: int = 3) -> set[str]:
    key = compact(text)
    return {key[i : i + k] for i in range(len(key) - k + 1)}


def test_signature_estimates_jaccard_of_character_shingles() -> None:
    signer = Signer(num_perm=256)
    a, b = signer.signature(compact(BURNT)), signer.signature(compact(BURNT_REPOST))
    true = len(_shingles(BURNT) & _shingles(BURNT_REPOST)) / len(_shingles(BURNT) | _shingles(BURNT_REPOST))
    assert abs(float((a == b).mean()) - true) < 0.1
    assert np.array_equal(a, signer.signature(compact(BURNT)))  # deterministic
    assert float((a == signer.signature(compact(SMELL))).mean()) < 0.1


def test_signature_of_very_long_text_is_bounded_in_time() -> None:
    rng = np.random.default_rng(0)
    text = "".join(chr(c) for c in rng.integers(0x4E00, 0x9FA5, size=200_000))
    t0 = time.perf_counter()
    sig = Signer().signature(text)
    assert time.perf_counter() - t0 < 5.0
    assert sig.shape == (128,)


def test_exact_duplicates_share_the_first_members_id() -> None:
    index = DedupIndex()
    out = index.assign([_item("a", HOT), _item("b", SMELL), _item("c", HOT.replace("，", " ") + "!!")])
    assert out[0] == Assignment("a", False)
    assert out[1] == Assignment("b", False)
    assert out[2] == Assignment("a", True)


def test_near_duplicates_are_grouped_and_unrelated_texts_are_not() -> None:
    index = DedupIndex(threshold=0.6)
    out = index.assign([_item("first", BURNT), _item("repost", BURNT_REPOST), _item("other", HOT)])
    assert out[1] == Assignment("first", True, near=True)
    assert out[2] == Assignment("other", False)


def test_threshold_decides_how_near_is_near() -> None:
    strict = DedupIndex(threshold=0.95)
    assert strict.assign([_item("a", BURNT), _item("b", BURNT_REPOST)])[1].group == "b"


def test_short_texts_get_exact_dedup_only() -> None:
    index = DedupIndex(min_chars=20)
    out = index.assign([_item("a", "充电宝冒烟了"), _item("b", "充电宝冒烟啦"), _item("c", "充电宝，冒烟了！")])
    assert [o.group for o in out] == ["a", "b", "a"]
    assert index.indexed == 0  # nothing went into the MinHash index


def test_texts_without_letters_are_not_all_one_group() -> None:
    index = DedupIndex()
    assert [o.group for o in index.assign([_item("a", "👍👍"), _item("b", "😡"), _item("c", "👍 👍")])] == [
        "a",
        "b",
        "a",
    ]


def test_a_document_seen_again_gets_the_same_answer() -> None:
    index = DedupIndex()
    first = index.assign([_item("a", BURNT), _item("b", BURNT)])
    again = index.assign([_item("b", BURNT), _item("a", BURNT)])
    assert again == [first[1], first[0]]
    assert again[1] == Assignment("a", False)


def test_persisted_index_recognises_documents_in_a_later_run(tmp_path: Path) -> None:
    DedupIndex(directory=tmp_path, threshold=0.6).assign([_item("a", BURNT), _item("b", SMELL)])
    later = DedupIndex(directory=tmp_path, threshold=0.6)
    later.load()
    assert len(later) == 2 and later.indexed == 2
    out = later.assign([_item("c", BURNT_REPOST), _item("d", SMELL + "。"), _item("a", BURNT)])
    assert [o.group for o in out] == ["a", "b", "a"]
    assert [o.is_duplicate for o in out] == [True, True, False]


def test_instances_on_one_journal_see_each_others_writes(tmp_path: Path) -> None:
    one, two = DedupIndex(directory=tmp_path), DedupIndex(directory=tmp_path)
    one.assign([_item("a", HOT)])
    assert two.assign([_item("b", HOT)]) == [Assignment("a", True)]
    assert one.assign([_item("c", HOT)]) == [Assignment("a", True)]


def test_torn_frame_at_the_end_is_ignored_and_overwritten(tmp_path: Path) -> None:
    index = DedupIndex(directory=tmp_path)
    index.assign([_item("a", HOT)])
    assert index.journal is not None
    with index.journal.open("ab") as f:
        f.write(b"RMDJ\xff\xff\x00\x00partial")  # a writer killed mid-append
    other = DedupIndex(directory=tmp_path)
    assert other.assign([_item("b", HOT)]) == [Assignment("a", True)]
    fresh = DedupIndex(directory=tmp_path)
    fresh.load()
    assert len(fresh) == 2


def test_removed_journal_starts_a_new_index(tmp_path: Path) -> None:
    index = DedupIndex(directory=tmp_path)
    index.assign([_item("a", HOT), _item("b", SMELL)])
    assert index.journal is not None
    index.journal.unlink()
    assert index.assign([_item("c", HOT)]) == [Assignment("c", False)]


def _worker(directory: str, prefix: str, texts: list[str], queue: multiprocessing.Queue) -> None:
    index = DedupIndex(directory=Path(directory))
    results = []
    for i, text in enumerate(texts):
        results.append((f"{prefix}{i}", index.assign([_item(f"{prefix}{i}", text)])[0].group))
    queue.put(results)


def test_concurrent_processes_share_one_consistent_index(tmp_path: Path) -> None:
    texts = [HOT, SMELL, BURNT, BURNT_REPOST] * 3
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), p, texts, queue)) for p in ("x", "y")]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=60) + queue.get(timeout=60))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    # every copy of a text, from either process, is in one group
    groups: dict[str, set[str]] = {}
    for doc_id, group in results.items():
        groups.setdefault(texts[int(doc_id[1:])], set()).add(group)
    assert all(len(g) == 1 for g in groups.values())
    assert groups[HOT] != groups[SMELL]
    reloaded = DedupIndex(directory=tmp_path)
    reloaded.load()
    assert len(reloaded) == 2 * len(texts)


def test_bad_options_are_reported() -> None:
    with pytest.raises(DedupError, match="threshold must lie in"):
        DedupIndex(threshold=1.5)
    with pytest.raises(DedupError, match="shingle size must be between"):
        DedupIndex(shingle=0)
    with pytest.raises(DedupError, match="min_chars"):
        DedupIndex(shingle=5, min_chars=3)
    with pytest.raises(DedupError, match="recall_weight must lie in"):
        DedupIndex(recall_weight=1.0)


def test_stage_marks_groups_without_dropping(tmp_path: Path) -> None:
    ctx = StageContext(settings=Settings(var_dir=tmp_path))
    batch = make_normalize(ctx)(_signals(BURNT, HOT, BURNT_REPOST, "好评！", "好评"))
    out = make_dedup(ctx, threshold=0.6)(batch)
    assert len(out) == 5
    assert [s.duplicate_group for s in out] == [out[0].id, out[1].id, out[0].id, out[3].id, out[3].id]
    assert [s.is_duplicate for s in out] == [False, False, True, False, True]
    assert list((tmp_path / "dedup").glob("*.journal"))


def test_stage_keeps_short_reports_about_different_products_apart(tmp_path: Path) -> None:
    docs = [
        RawDocument(source="shop", source_type="review", source_id=str(i), text="漏电了！", product=product)
        for i, product in enumerate(["电热毯A", "电热毯B", "电热毯A"])
    ]
    out = make_dedup(StageContext(settings=Settings(var_dir=tmp_path)))([Signal.from_document(d) for d in docs])
    assert [s.duplicate_group for s in out] == [out[0].id, out[1].id, out[0].id]
    unscoped = make_dedup(StageContext(get_settings()), persist=False, scope_short=False)(
        [Signal.from_document(d) for d in docs]
    )
    assert {s.duplicate_group for s in unscoped} == {unscoped[0].id}


def test_batch_signatures_equal_single_ones() -> None:
    signer = Signer()
    texts = [compact(t) for t in (HOT, BURNT, SMELL, "ab", "", "好" * 9000)]
    assert np.array_equal(signer.signatures(texts), np.array([signer.signature(t) for t in texts]))


def test_stage_remembers_across_pipeline_builds(tmp_path: Path) -> None:
    ctx = StageContext(settings=Settings(var_dir=tmp_path))
    first = make_dedup(ctx)(_signals(HOT))
    second = make_dedup(ctx)(_signals(HOT + "。"))
    assert second[0].duplicate_group == first[0].id and second[0].is_duplicate


def test_stage_without_persistence_and_without_normalize() -> None:
    out = make_dedup(StageContext(get_settings()), persist=False)(_signals(SMELL, SMELL + " "))
    assert out[1].duplicate_group == out[0].id


def test_bounded_index_forgets_the_oldest_signatures_but_not_exact_duplicates() -> None:
    index = DedupIndex(threshold=0.6, max_signatures=2)
    index.assign([_item("burnt", BURNT), _item("hot", HOT), _item("smell", SMELL)])
    assert (index.indexed, index.evicted) == (2, 1)
    # BURNT's signature was the oldest and is gone: its repost is no longer a near duplicate ...
    assert index.assign([_item("repost", BURNT_REPOST)])[0] == Assignment("repost", False)
    # ... while an exact copy of it still is, and the newer signatures still find their reposts.
    assert index.assign([_item("copy", BURNT + "！")])[0] == Assignment("burnt", True)
    assert index.assign([_item("smell2", SMELL.replace("第一天", "第二天"))])[0] == Assignment("smell", True, near=True)
    assert index.indexed == 2


def test_bounded_index_replays_its_journal_to_the_same_state(tmp_path: Path) -> None:
    first = DedupIndex(threshold=0.6, max_signatures=2, directory=tmp_path)
    first.assign([_item("burnt", BURNT), _item("hot", HOT), _item("smell", SMELL)])
    again = DedupIndex(threshold=0.6, max_signatures=2, directory=tmp_path)
    again.load()
    assert (again.indexed, again.evicted) == (2, 1)
    assert again.assign([_item("repost", BURNT_REPOST)])[0] == Assignment("repost", False)
    with pytest.raises(DedupError, match="max_signatures"):
        DedupIndex(max_signatures=0)


# ---------------------------------------------------------------- the bands: datasketch's MinHashLSH answers

SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"


class _DatasketchBands:
    """datasketch's own MinHashLSH behind the Bands interface: the index as it was before Bands."""

    def __init__(self, index: DedupIndex) -> None:
        from datasketch import MinHashLSH

        w = index.recall_weight
        self.signer = index.signer
        self.lsh = MinHashLSH(threshold=index.threshold, num_perm=index.signer.num_perm, weights=(round(1 - w, 6), w))

    def bands(self, sig: np.ndarray) -> None:
        return None  # datasketch computes them itself

    def insert(self, key: int, sig: np.ndarray, bands: Any = None) -> None:
        self.lsh.insert(key, self.signer.minhash(sig), check_duplication=False)

    def remove(self, key: int, sig: np.ndarray) -> None:
        self.lsh.remove(key)

    def query(self, sig: np.ndarray, bands: Any = None) -> set[int]:
        return set(self.lsh.query(self.signer.minhash(sig)))


class _DatasketchIndex(DedupIndex):
    def _new_lsh(self) -> Any:
        return _DatasketchBands(self)


def _near_duplicate_corpus(limit: int) -> list[tuple[str, str, str]]:
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as f:
        texts = [normalize_text(r["review"]) for r in list(csv.DictReader(f))[::50] if r["review"].strip()][:limit]
    rng = random.Random(11)
    corpus = []
    for t in texts:  # each review, and now and then a copy of an earlier one with a few characters changed
        corpus.append(t)
        if rng.random() < 0.4:
            chars = list(rng.choice(corpus))
            for _ in range(max(1, len(chars) // 30)):
                chars[rng.randrange(len(chars))] = rng.choice("的了是很好不")
            corpus.append("".join(chars))
    return [(f"d{i}", content_hash(t), t) for i, t in enumerate(corpus)]


@pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")
@pytest.mark.parametrize("max_signatures", [None, 150])
def test_bands_group_real_reviews_as_datasketchs_lsh_does(max_signatures: int | None) -> None:
    items = _near_duplicate_corpus(800)
    ours, theirs = DedupIndex(max_signatures=max_signatures), _DatasketchIndex(max_signatures=max_signatures)
    near = 0
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        assigned = ours.assign(batch)
        assert assigned == theirs.assign(batch)
        near += sum(a.near for a in assigned)
    assert ours.indexed == theirs.indexed and ours.evicted == theirs.evicted
    assert near > 50  # the perturbed copies were found
    rng = np.random.default_rng(2)
    for sig in ours._sigs[: ours.indexed][rng.permutation(ours.indexed)[:200]]:
        assert ours._lsh.query(sig) == theirs._lsh.query(sig)


@pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="the shared data sets are not available")
def test_compact_texts_given_by_the_caller_give_the_same_groups() -> None:
    items = _near_duplicate_corpus(600)
    given, computed = DedupIndex(), DedupIndex()
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        assert given.assign(batch, [compact(t) for _, _, t in batch]) == computed.assign(batch)
    assert np.array_equal(given._sigs[: given.indexed], computed._sigs[: computed.indexed])
    sig = computed._sigs[0]
    assert computed._lsh.query(sig, computed._lsh.bands(sig)) == computed._lsh.query(sig)
