"""The segment stage: jieba word segmentation with the domain dictionary.

One jieba tokenizer per process, built on first use with riskmine's word list
(riskmine/nlp/data/userdict.txt) and the tag stage's lexicons; it is riskmine's own
instance, so the global ``jieba`` tokenizer other code may use is left untouched.
Other modules call :func:`tokens`.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from typing import Any

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.nlp.userdict import LEXICON_DIR, USERDICT_FILE, domain_words
from riskmine.schema import Signal

# What jieba's precise mode keeps together in one block (jieba.re_han_default).
_JIEBA_BLOCK = re.compile(r"^[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+$")

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


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def tokens(text: str, *, keep_punct: bool = False) -> list[str]:
    """Words of `text` in jieba's precise mode; whitespace dropped, punctuation and emoji too unless keep_punct."""
    if not text:
        return []
    out = []
    for tok in tokenizer().cut(text, HMM=True):
        tok = tok.strip()
        if tok and (keep_punct or _is_word(tok)):
            out.append(tok)
    return out


def segment_text(text: str) -> str:
    """Space-joined words (the full-text index input)."""
    return " ".join(tokens(text))


@stage("segment", reads=("normalized_text", "document.text"), writes=("segmented_text",))
def make_segment(ctx: StageContext) -> BatchFn:
    """Segment the normalized text (else the document text) into words with jieba and the domain dictionary."""
    tokenizer()  # load the dictionary when the pipeline is built, not on the first batch

    def run(batch: list[Signal]) -> list[Signal]:
        for sig in batch:
            sig.segmented_text = segment_text(sig.normalized_text or sig.document.text)
        return batch

    return run
