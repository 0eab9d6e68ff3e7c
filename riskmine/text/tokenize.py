"""Word segmentation: jieba (or jieba-rs, the same words faster) with the domain dictionary.

One segmenter per process, built on first use with riskmine's word list
(riskmine/text/data/userdict.txt) and the tagging lexicons; it is riskmine's own
instance, so the global ``jieba`` tokenizer other code may use is left untouched.
Other modules call :func:`tokens`.

Segmentation runs once per text: :func:`tokens` keeps the words of the texts it cut
most recently (a bounded cache), so the classify stage's word features, which ask for
the same normalised text a few stages later, reuse the segment stage's work instead of
cutting the text again. jieba's HMM for unknown words is off by default: the domain
dictionary carries the words that matter, character n-grams cover the rest, and the
precise mode without HMM is about a third faster.

Two segmenters give the same words: rjieba (jieba-rs, Rust; about ten times faster)
when it is installed, else jieba itself. :func:`set_engine` (the segment stage's
``engine`` option in riskmine/pipeline.toml) picks one for the process. jieba-rs
starts from the same dictionary as jieba; loading the domain words into it the way
jieba does keeps its words those of jieba on 99.9% of real reviews (the rest are
ties between equally likely cuts, e.g. 好|好好 against 好好|好), which
tests/text/test_tokenize.py pins on a sample of real reviews.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

from riskmine.text.userdict import LEXICON_DIR, USERDICT_FILE, domain_words

# What jieba's precise mode keeps together in one block (jieba.re_han_default).
_JIEBA_BLOCK = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+$")

# A token: anything with a letter or digit (any script); punctuation, emoji and spaces are dropped.
_WORD_RE = re.compile(r"[^\W_]")
# The words of the texts cut most recently (text -> tokens); cleared when full.
CACHE_SIZE = 8192
_cache: dict[str, tuple[str, ...]] = {}

# Segmenters :func:`set_engine` takes; "auto" is rjieba when the package is installed, else jieba.
ENGINES = ("auto", "rjieba", "jieba")
# A word of no script that jieba-rs holds only to make its frequency total jieba's (see _build_rjieba).
_TOTAL_PAD = "\ue000\ue001"


class Segmenter(NamedTuple):
    """What :func:`tokenizer` returns: the engine's name and its precise-mode cut, ``cut(text, hmm)``."""

    name: str
    cut: Callable[[str, bool], list[str]]


_engine = "auto"
_tokenizer: Segmenter | None = None
_init_lock = threading.Lock()


def set_engine(name: str) -> None:
    """Segment with `name` in this process from now on: "rjieba", "jieba", or "auto" (rjieba when installed)."""
    global _engine, _tokenizer
    if name not in ENGINES:
        raise ValueError(f"unknown segmenter {name!r}; one of {', '.join(ENGINES)}")
    with _init_lock:
        if name != _engine:
            _engine, _tokenizer = name, None
            _cache.clear()


def tokenizer() -> Segmenter:
    """The process's segmenter with the domain words loaded (built once, thread-safe)."""
    global _tokenizer
    if _tokenizer is None:
        with _init_lock:
            if _tokenizer is None:
                _tokenizer = _build(_engine)
    return _tokenizer


def _build(engine: str) -> Segmenter:
    if engine != "jieba":
        try:
            return _build_rjieba()
        except ImportError:
            if engine == "rjieba":
                raise
    return _build_jieba()


def _domain_entries() -> list[tuple[str, int | None]]:
    """The domain words as the segmenters will meet them: NFKC, and only those jieba keeps in one block."""
    out = []
    for word, freq in domain_words(USERDICT_FILE, LEXICON_DIR):
        word = unicodedata.normalize("NFKC", word)  # the text it will meet is NFKC-normalized
        if _JIEBA_BLOCK.match(word):
            out.append((word, freq))
    return out


def _build_jieba() -> Segmenter:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    for word, freq in _domain_entries():
        tk.add_word(word, freq)
    return Segmenter("jieba", lambda text, hmm: list(tk.cut(text, HMM=hmm)))


def _jieba_dictionary_freqs(words: set[str]) -> dict[str, int]:
    """Frequencies of `words` in jieba's main dictionary (those it has); empty without the jieba package."""
    try:
        import jieba
    except ImportError:
        return {}
    freqs: dict[str, int] = {}
    with jieba.get_dict_file() as f:
        for raw in f:
            word, freq = raw.decode("utf-8").split(" ", 2)[:2]
            if word in words:
                freqs[word] = int(freq)
    return freqs


def _build_rjieba() -> Segmenter:
    """jieba-rs with the domain words added as jieba adds them.

    One difference is made up: re-adding a word jieba already knows, jieba adds its new
    frequency to the total and keeps the old one counted, jieba-rs swaps the old for the
    new. The total sets every word's probability (太差 stays whole in jieba only because
    the domain words raised the total), so a word of no script, which no text can reach,
    carries the old frequencies jieba still counts.
    """
    import rjieba

    tk = rjieba.Jieba()
    entries = _domain_entries()
    known = _jieba_dictionary_freqs({word for word, _ in entries})
    counted_twice = 0
    for word, freq in entries:
        old = known.get(word)
        known[word] = tk.add_word(word, freq, None)
        if old:
            counted_twice += old
            tk.add_word(_TOTAL_PAD, counted_twice, None)
    return Segmenter("rjieba", tk.cut)


def reset_tokenizer() -> None:
    """Forget the tokenizer, so the next call rebuilds it (after the lexicons changed)."""
    global _tokenizer
    with _init_lock:
        _tokenizer = None
        _cache.clear()


def clear_cache() -> None:
    """Forget the words of recently cut texts (speed measurements that must pay for segmentation)."""
    _cache.clear()


def _cut(text: str, keep_punct: bool, hmm: bool) -> list[str]:
    out = []
    cut = tokenizer().cut(text, hmm)
    if not keep_punct:  # a word has a letter or digit, so no space either (tokens are all space or none)
        return [tok for tok in cut if tok.isalnum() or _WORD_RE.search(tok)]
    for tok in cut:
        tok = tok.strip()
        if tok:
            out.append(tok)
    return out


def tokens(text: str, *, keep_punct: bool = False, hmm: bool = False) -> list[str]:
    """Words of `text` in jieba's precise mode; whitespace dropped, punctuation and emoji too unless keep_punct.

    The default form (no punctuation, no HMM) is cached per text, so a text is cut once per
    process however many stages ask for its words.
    """
    if not text:
        return []
    if keep_punct or hmm:
        return _cut(text, keep_punct, hmm)
    cached = _cache.get(text)
    if cached is None:
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        cached = _cache[text] = tuple(_cut(text, False, False))
    return list(cached)


def segment_text(text: str) -> str:
    """Space-joined words (the full-text index input)."""
    return " ".join(tokens(text))
