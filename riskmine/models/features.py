"""Text features of the baseline: character n-grams + jieba word n-grams, TF-IDF with sublinear tf."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

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
    from riskmine.nlp.segment import tokens

    return [tok.lower() for tok in tokens(text)]


def char_text(text: str) -> str:
    """Preprocessing for the character analyser: lower-case, runs of whitespace as one space."""
    return _SPACE.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class FeatureConfig:
    char_ngrams: tuple[int, int] = (1, 3)
    word_ngrams: tuple[int, int] = (1, 2)
    min_df: int = 2
    max_char_features: int | None = 300_000
    max_word_features: int | None = 200_000


def build_features(config: FeatureConfig) -> FeatureUnion:
    """An unfitted FeatureUnion of the character and word TF-IDF vectorizers."""
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
    return FeatureUnion([("char", char), ("word", word)], n_jobs=None)
