"""Word segmentation: jieba with the domain dictionary.

One jieba tokenizer per process, built on first use with riskmine's word list
(riskmine/text/data/userdict.txt) and the tagging lexicons; it is riskmine's own
instance, so the global ``jieba`` tokenizer other code may use is left untouched.
Other modules call :func:`tokens`.

Segmentation runs once per text: :func:`tokens` keeps the words of the texts it cut
most recently (a bounded cache), so the classify stage's word features, which ask for
the same normalised text a few stages later, reuse the segment stage's work instead of
cutting the text again. jieba's HMM for unknown words is off by default: the domain
dictionary carries the words that matter, character n-grams cover the rest, and the
precise mode without HMM is about a third faster.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from typing import Any

from riskmine.text.userdict import LEXICON_DIR, USERDICT_FILE, domain_words

# What jieba's precise mode keeps together in one block (jieba.re_han_default).
_JIEBA_BLOCK = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+$")

# A token: anything with a letter or digit (any script); punctuation, emoji and spaces are dropped.
_WORD_RE = re.compile(r"[^\W_]")
# The words of the texts cut most recently (text -> tokens); cleared when full.
CACHE_SIZE = 8192
_cache: dict[str, tuple[str, ...]] = {}

_tokenizer: Any = None
_init_lock = threading.Lock()


def tokenizer() -> Any:
    """The process's jieba tokenizer with the domain words loaded (built once, thread-safe)."""
    global _tokenizer
    if _tokenizer is None:
        with _init_lock:
            if _tokenizer is None:
                _tokenizer = _build()
    return _tokenizer


def _build() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    for word, freq in domain_words(USERDICT_FILE, LEXICON_DIR):
        word = unicodedata.normalize("NFKC", word)  # the text it will meet is NFKC-normalized
        if _JIEBA_BLOCK.match(word):
            tk.add_word(word, freq)
    return tk


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
    for tok in tokenizer().cut(text, HMM=hmm):
        tok = tok.strip()
        if tok and (keep_punct or _WORD_RE.search(tok)):
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
