"""Text features of the baseline: character n-grams + word n-grams, TF-IDF with sublinear tf,
plus hazard-sense indicators from the project's lexicons.

The hazard-sense indicators (:func:`hazard_sense_tokens`) give the linear heads what
n-grams cannot: whether a hazard term is used in its hazard sense (漏电 felt on a device)
or not (漏电保护器, 没有异味, 销量爆炸), and whether a harm word is negated or hypothetical.
They are computed from the text alone, with the tag stage's lexicon and the disambiguate
stage's rules (collocations, negation and accessory cues), so serving needs nothing more
than the text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache, partial
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

if TYPE_CHECKING:
    from riskmine.text.senses import Rules
    from riskmine.text.tagger import Tagger

_lock = threading.Lock()
_ready = False
_SPACE = re.compile(r"\s+")


def _init_jieba() -> None:
    """Load jieba's dictionary once per process (about a second), quietly."""
    global _ready
    if _ready:
        return
    with _lock:
        if not _ready:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _ready = True


def jieba_tokens(text: str) -> list[str]:
    """Words of ``text`` by ``jieba.lcut`` (precise mode, no HMM), whitespace tokens dropped, Latin lower-cased.

    Kept so that models saved before 2026-11, which pickled this tokenizer, still load;
    new models use :func:`segment_tokens`.

    Without jieba's HMM for unknown words, segmentation is about 30% faster and the
    baseline's dev PR-AUC is the same (0.905 vs 0.902 on the corpus of 2025-11).
    """
    _init_jieba()
    import jieba

    return [tok.lower() for tok in jieba.lcut(text, HMM=False) if tok.strip()]


def segment_tokens(text: str) -> list[str]:
    """Words of ``text`` from the segment stage's tokenizer (domain dictionary, no HMM), Latin lower-cased.

    The same function the segment stage uses, so in the pipeline the words come from its
    cache and a text is cut once; punctuation and emoji are not words.
    """
    from riskmine.text.tokenize import tokens

    return list(map(str.lower, tokens(text)))


def char_text(text: str) -> str:
    """Preprocessing for the character analyser: lower-case, runs of whitespace as one space."""
    return _SPACE.sub(" ", text.lower()).strip()


@lru_cache(maxsize=1)
def hazard_rules() -> Rules:
    """The disambiguate stage's rules (lexicons, collocations, cue words), built once per process."""
    from riskmine.text.senses import build_rules

    return build_rules()


@lru_cache(maxsize=1)
def _tagger() -> Tagger:
    """A tag-stage tagger without the region gazetteer: only its product-category finder is used."""
    from riskmine.text.tagger import Tagger

    return Tagger(hazard_rules().lex, None)


def product_group(text: str) -> str | None:
    """The top of the category tree (食品, 电子产品 …) of the product the tag stage finds in ``text``, if any."""
    category, _ = _tagger().category(text, None, [])
    if category is None or not category.path:
        return None
    return category.path[0]


def hazard_sense_tokens(text: str, *, terms: bool = False, group: bool = False, stated: bool = False) -> list[str]:
    """Indicator tokens for the hazard and harm mentions of ``text``, judged by the disambiguate stage's rules.

    For every hazard term of the tag stage's lexicon found in the text, one token
    ``<sense>:<hazard code>``: ``in`` when a rule says the term is used in its hazard sense
    or the term is unambiguous, ``out`` when a collocation, accessory or negation cue rules
    it out (漏电保护器, 销量爆炸, 没有异味), ``hyp`` when a hypothetical cue governs it
    (万一过敏, 怕起火: a worry, a risk only beside an observation), ``amb`` when the term
    is ambiguous and no rule decides. ``in:any`` marks a text with at least one in-sense
    mention. Every harm word gives ``harm:<kind>`` (``:weak`` for words that count only
    beside a hazard, such as 伤口) when it is asserted, or ``harm_cue:<cue kind>`` when
    negated or hypothetical.

    ``terms`` adds ``<sense>:<term>`` for each mention (霉斑 in sense, 爆炸 ruled out);
    ``group`` adds ``group:<top category>`` for the product the tag stage finds and the
    mention tokens prefixed with it (``食品|in:microbiological``), so that the heads can
    weigh a hazard word by product group, as the labelling guide does (不新鲜 is a risk for
    delivery food, not for fruit; 霉味 is one for food, not for a hotel room).
    ``stated`` adds ``stated:<pattern>`` and ``stated:<hazard code>`` for each hazard event the stated-hazard
    rule finds (:mod:`riskmine.models.stated_hazard`, read as a text of unknown source), so the heads can weigh
    the rule's findings as features too.
    The trained disambiguation model is not used: the tokens depend on the lexicons only.
    """
    from riskmine.text.tagger import context_cue

    rules = hazard_rules()
    lex = rules.lex
    prefix = product_group(text) if group else None
    out: list[str] = []
    in_sense = False
    for m in lex.hazards.find(text):
        ruled = rules.judge(text, m.start, m.end, m.term)
        if ruled is not None:
            sense = "in" if ruled[0] else "out"
        elif (cue := context_cue(lex, text, m.start, m.end)) is not None and cue.kind == "hypothetical":
            sense = "hyp"
        else:
            sense = "amb" if m.value.ambiguous else "in"
        in_sense = in_sense or sense == "in"
        mention = [f"{sense}:{m.value.hazard.value}"] + ([f"{sense}:{m.term}"] if terms else [])
        out.extend(mention)
        if prefix is not None:
            out.extend(f"{prefix}|{t}" for t in mention)
    if in_sense:
        out.append("in:any")
    if prefix is not None:
        out.append(f"group:{prefix}")
    for h in lex.harm.find(text):
        cue = context_cue(lex, text, h.start, h.end)
        if cue is None or cue.kind == "accessory":
            out.append(f"harm:{h.value.harm.value}" + (":weak" if h.value.needs_hazard else ""))
        else:
            out.append(f"harm_cue:{cue.kind}")
    if stated:
        from riskmine.models.stated_hazard import find_stated_hazards

        for event in find_stated_hazards(text):
            out.append(f"stated:{event.pattern}")
            out.extend(f"stated:{code.value}" for code in event.hazards)
    return out


@dataclass(frozen=True)
class FeatureConfig:
    """The feature set; ``hazard_sense`` adds the :func:`hazard_sense_tokens` indicators, scaled by
    ``hazard_sense_weight``.

    The weight 0.3 was chosen by 5-fold cross-validation over train+dev (3 seeds, risk head):
    PR-AUC 0.931 / best F1 0.861, against 0.929 / 0.861 at 0.5, 0.927 / 0.858 at 1.0 and
    0.922 / 0.844 without the indicators.
    """

    char_ngrams: tuple[int, int] = (1, 3)
    word_ngrams: tuple[int, int] = (1, 2)
    min_df: int = 2
    max_char_features: int | None = 300_000
    max_word_features: int | None = 200_000
    hazard_sense: bool = True
    hazard_sense_weight: float = 0.3
    hazard_sense_terms: bool = True
    hazard_sense_group: bool = True
    # the stated-hazard rule's findings as indicator tokens too (rule as a feature as well as a decision layer):
    # on held-out sources the served decision's F1 rose from 0.520 to 0.535 and precision@50 from 0.851 to 0.863
    # (docs/risk-model.md; chosen on that table, disclosed there)
    stated_hazards: bool = True

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle a config saved before a field existed: such models were built without that feature."""
        added_later = {
            "hazard_sense": False,
            "hazard_sense_weight": 0.0,
            "hazard_sense_terms": False,
            "hazard_sense_group": False,
            "stated_hazards": False,
        }
        for f in fields(self):
            value = state[f.name] if f.name in state else added_later.get(f.name, f.default)
            object.__setattr__(self, f.name, value)


def build_features(config: FeatureConfig) -> FeatureUnion:
    """An unfitted FeatureUnion of the character and word TF-IDF vectorizers (and the hazard-sense indicators)."""
    char = TfidfVectorizer(
        analyzer="char",
        ngram_range=config.char_ngrams,
        preprocessor=char_text,
        min_df=config.min_df,
        max_features=config.max_char_features,
        sublinear_tf=True,
    )
    word = TfidfVectorizer(
        analyzer="word",
        tokenizer=segment_tokens,
        token_pattern=None,
        lowercase=False,
        ngram_range=config.word_ngrams,
        min_df=config.min_df,
        max_features=config.max_word_features,
        sublinear_tf=True,
    )
    parts: list[tuple[str, Any]] = [("char", char), ("word", word)]
    weights: dict[str, float] = {}
    if config.hazard_sense:
        tokens = partial(
            hazard_sense_tokens,
            terms=config.hazard_sense_terms,
            group=config.hazard_sense_group,
            stated=config.stated_hazards,
        )
        sense = CountVectorizer(analyzer=tokens, binary=True, dtype=np.float64)
        parts.append(("hazard_sense", sense))
        weights = {"char": 1.0, "word": 1.0, "hazard_sense": config.hazard_sense_weight}
    return FeatureUnion(parts, n_jobs=None, transformer_weights=weights or None)


def transform(features: FeatureUnion, texts: Sequence[str]) -> sp.csr_matrix:
    """``features.transform(texts)`` as a CSR matrix, the same numbers, about twice as fast.

    scikit-learn cuts and counts each text's n-grams in Python loops (``_char_ngrams``,
    ``CountVectorizer._count_vocab``), most of the baseline's time at serving. Here the fitted
    TF-IDF parts cut character n-grams with one comprehension per length, look every n-gram
    of the batch up at once (``map(vocabulary.get, …)``) and let scipy sum the repeats; the
    weighting (sublinear tf, idf, l2 norm) and the union's weights are applied as
    scikit-learn applies them, so the matrix is equal entry for entry. Other parts, and a
    union of any other shape, go through scikit-learn.
    """
    texts = list(texts)
    if not texts:
        return sp.csr_matrix(features.transform(texts))
    weights = features.transformer_weights or {}
    blocks = []
    for name, part in features.transformer_list:
        if part is None or part == "drop":
            continue
        block = _tfidf(part, texts) if _plain_tfidf(part) else part.transform(texts)
        if name in weights:
            block = block * weights[name]
        blocks.append(block)
    return sp.csr_matrix(sp.hstack(blocks, format="csr"))


def _plain_tfidf(part: Any) -> bool:
    """A fitted TfidfVectorizer counting char or word n-grams, with no option the fast path does not repeat."""
    return (
        type(part) is TfidfVectorizer
        and hasattr(part, "vocabulary_")
        and part.analyzer in ("char", "word")
        and not part.binary
        and part.dtype == np.float64
        and part.norm in ("l1", "l2", None)
    )


# scikit-learn's char analyser first folds runs of whitespace (sklearn.feature_extraction.text._white_spaces)
_WHITE_SPACES = re.compile(r"\s\s+")


def _char_analyzer(vec: TfidfVectorizer) -> Callable[[str], list[str]]:
    """``vec.build_analyzer()`` for ``analyzer="char"``: the same n-grams, one comprehension per length."""
    preprocess, decode = vec.build_preprocessor(), vec.decode
    low, high = vec.ngram_range

    def analyze(doc: str) -> list[str]:
        text = _WHITE_SPACES.sub(" ", preprocess(decode(doc)))
        size = len(text)
        grams: list[str] = list(text) if low == 1 else []
        for n in range(max(low, 2), min(high, size) + 1):
            grams.extend([text[i : i + n] for i in range(size - n + 1)])
        return grams

    return analyze


# Character n-grams of up to this many characters are counted as integer keys (21 bits per code point + 1).
_KEY_CHARS = 3
_CP_BITS = np.uint64(21)


_FIB = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the key times 2⁶⁴/φ, top bits


@dataclass(frozen=True)
class _KeyTable:
    """A fitted vocabulary as an open-addressing hash table of non-zero integer keys and their columns,
    looked up for a whole array of keys at once (linear probing, at most a quarter full)."""

    keys: np.ndarray  # uint64 per slot, 0 where empty
    cols: np.ndarray  # int64 per slot
    shift: np.uint64  # 64 - log2(slots)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys * _FIB) >> self.shift).astype(np.int64)  # uint64 arithmetic wraps

    def lookup(self, queries: np.ndarray) -> np.ndarray:
        """The column of every query key, -1 for keys not in the vocabulary."""
        out = np.full(len(queries), -1, dtype=np.int64)
        todo = np.arange(len(queries), dtype=np.int64)
        slots = self._slots(queries)
        mask = len(self.keys) - 1
        while len(todo):
            held = self.keys[slots]
            match = held == queries[todo]
            out[todo[match]] = self.cols[slots[match]]
            going = ~match & (held != 0)  # another key in the slot: probe the next one
            todo, slots = todo[going], (slots[going] + 1) & mask
        return out


def _key_table(pairs: list[tuple[int, int]]) -> _KeyTable:
    keys = np.array([k for k, _ in pairs], dtype=np.uint64)
    cols = np.array([c for _, c in pairs], dtype=np.int64)
    if np.any(keys == 0) or len(np.unique(keys)) != len(keys):
        raise ValueError("hash table keys must be distinct and non-zero")
    bits = max(4, int(4 * len(keys) - 1).bit_length())
    table = _KeyTable(
        np.zeros(1 << bits, dtype=np.uint64), np.full(1 << bits, -1, dtype=np.int64), np.uint64(64 - bits)
    )
    todo = np.arange(len(keys), dtype=np.int64)
    slots = table._slots(keys)
    mask = (1 << bits) - 1
    while len(todo):  # each round, the first key wanting each free slot takes it; the others probe on
        free = table.keys[slots] == 0
        _, first = np.unique(slots[free], return_index=True)
        taken = np.flatnonzero(free)[first]
        table.keys[slots[taken]] = keys[todo[taken]]
        table.cols[slots[taken]] = cols[todo[taken]]
        going = np.ones(len(todo), dtype=bool)
        going[taken] = False
        todo, slots = todo[going], (slots[going] + 1) & mask
    return table


def _code_points(text: str) -> np.ndarray:
    """Code points of ``text`` plus one (so that no character packs to 0), as uint64."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    cps += np.uint64(1)
    return cps


def _char_key(gram: str) -> int:
    key = 0
    for ch in gram:
        key = (key << 21) | (ord(ch) + 1)
    return key


# Tables built from a fitted vectorizer's vocabulary, kept while that vocabulary is the vectorizer's.
_TABLES: dict[tuple[int, str], tuple[Any, Any]] = {}
_TABLES_LOCK = threading.Lock()


def _cached_table(vec: TfidfVectorizer, kind: str, build: Callable[[dict[str, int]], Any]) -> Any:
    vocabulary = vec.vocabulary_
    key = (id(vec), kind)
    cached = _TABLES.get(key)
    if cached is not None and cached[0] is vocabulary:
        return cached[1]
    table = build(vocabulary)
    with _TABLES_LOCK:
        if len(_TABLES) >= 64:
            _TABLES.clear()
        _TABLES[key] = (vocabulary, table)  # the vocabulary held keeps its id from being reused
    return table


def _char_table(vocabulary: dict[str, int]) -> _KeyTable:
    return _key_table([(_char_key(g), c) for g, c in vocabulary.items() if 1 <= len(g) <= _KEY_CHARS])


def _char_columns(vec: TfidfVectorizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(row, column) of every character n-gram of ``texts`` in the vocabulary, counted with numpy.

    The n-grams are those of scikit-learn's char analyser (each text preprocessed, runs of
    whitespace folded, then every n-gram of each length in ``ngram_range``), packed as integers
    from their code points; None when the range reaches beyond _KEY_CHARS characters.
    """
    low, high = vec.ngram_range
    if not 1 <= low <= high <= _KEY_CHARS:
        return None
    table: _KeyTable = _cached_table(vec, "char", _char_table)
    preprocess, decode = vec.build_preprocessor(), vec.decode
    docs = [_WHITE_SPACES.sub(" ", preprocess(decode(t))) for t in texts]
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    cps = _code_points("".join(docs))
    total = len(cps)
    ends = np.cumsum(lengths)
    row_of = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    left = ends[row_of] - np.arange(total, dtype=np.int64)  # characters from each position to its text's end
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    key = np.zeros(total, dtype=np.uint64)
    for n in range(1, high + 1):
        # key of the n-gram starting at each position (those running past the end are masked below)
        m = max(total - n + 1, 0)
        key[:m] = (key[:m] << _CP_BITS) | cps[n - 1 : n - 1 + m]
        if n < low:
            continue
        ok = left >= n
        found = table.lookup(key[ok])
        hit = found >= 0
        rows.append(row_of[ok][hit])
        cols.append(found[hit])
    return np.concatenate(rows), np.concatenate(cols)


def _word_table(vocabulary: dict[str, int]) -> tuple[dict[str, int], np.ndarray, _KeyTable]:
    """The words of the vocabulary's unigrams and bigrams (each word an id), the unigram column of each
    word id (-1 if none), and the bigrams keyed ``id(a) * (words + 1) + id(b) + 1``."""
    ids: dict[str, int] = {}
    unigrams: list[tuple[int, int]] = []
    bigrams: list[tuple[str, str, int]] = []
    for term, col in vocabulary.items():
        parts = term.split(" ")
        if len(parts) == 1:
            unigrams.append((ids.setdefault(term, len(ids)), col))
        elif len(parts) == 2:
            ids.setdefault(parts[0], len(ids))
            ids.setdefault(parts[1], len(ids))
            bigrams.append((parts[0], parts[1], col))
    uni = np.full(len(ids) + 1, -1, dtype=np.int64)  # the last entry: words not in the vocabulary
    for wid, col in unigrams:
        uni[wid] = col
    size = len(ids) + 1
    pairs = _key_table([(ids[a] * size + ids[b] + 1, col) for a, b, col in bigrams])
    return ids, uni, pairs


def _word_columns(vec: TfidfVectorizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(row, column) of every word unigram and bigram of ``texts`` in the vocabulary, counted with numpy.

    The words are scikit-learn's (the vectorizer's preprocessor and tokenizer); a bigram is the
    two words joined by a space, as scikit-learn joins them. None (scikit-learn's way instead)
    for stop words, n-grams of more than two words, or a batch with a word holding a space,
    whose bigrams could not be told from the vocabulary's.
    """
    low, high = vec.ngram_range
    if vec.stop_words is not None or not 1 <= low <= high <= 2:
        return None
    preprocess, tokenize = vec.build_preprocessor(), vec.build_tokenizer()
    words = [tokenize(preprocess(vec.decode(t))) for t in texts]
    flat = list(chain.from_iterable(words))
    if " ".join(flat).count(" ") != max(len(flat) - 1, 0):  # a word holding a space
        return None
    ids, uni, pairs = _cached_table(vec, "word", _word_table)
    unknown = len(uni) - 1
    wid = np.fromiter(map(ids.get, flat, repeat(unknown)), dtype=np.int64, count=len(flat))
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    row_of = np.repeat(np.arange(len(words), dtype=np.int64), lengths)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if low == 1:
        found = uni[wid]
        hit = found >= 0
        rows.append(row_of[hit])
        cols.append(found[hit])
    if high == 2 and len(flat) > 1:
        same = row_of[1:] == row_of[:-1]  # pairs of words of one text
        known = same & (wid[:-1] != unknown) & (wid[1:] != unknown)
        found = pairs.lookup((wid[:-1][known] * len(uni) + wid[1:][known] + 1).astype(np.uint64))
        hit = found >= 0
        rows.append(row_of[:-1][known][hit])
        cols.append(found[hit])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _gram_columns(vec: TfidfVectorizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every n-gram of ``texts`` in the vocabulary: numpy's way where it applies, else
    the analyser's n-grams looked up one by one."""
    fast = _char_columns(vec, texts) if vec.analyzer == "char" else _word_columns(vec, texts)
    if fast is not None:
        return fast
    analyze = _char_analyzer(vec) if vec.analyzer == "char" else vec.build_analyzer()
    grams = [analyze(t) for t in texts]
    lengths = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    total = int(lengths.sum())
    cols = np.fromiter(map(vec.vocabulary_.get, chain.from_iterable(grams), repeat(-1)), dtype=np.int64, count=total)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    known = cols >= 0
    return rows[known], cols[known]


def _tfidf(vec: TfidfVectorizer, texts: list[str]) -> sp.csr_matrix:
    rows, cols = _gram_columns(vec, texts)
    counts = sp.coo_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, cols)),
        shape=(len(texts), len(vec.vocabulary_)),
    ).tocsr()  # repeats summed
    counts.sort_indices()
    if vec.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if vec.use_idf:
        counts.data *= vec.idf_[counts.indices]
    if vec.norm is not None:
        counts = normalize(counts, norm=vec.norm, copy=False)
    return counts
