"""Full-text indexing and query building for Chinese text, backend independent.

The index holds two columns per record:

* ``words``: jieba search-mode tokens (:func:`segment_for_index`), for ranking by word;
* ``chars``: every CJK character as its own token and every other letter/digit run
  as one token (:func:`chars_for_index`), so that a query word is also found as a
  contiguous phrase of characters whatever segmentation the indexed text had.

A query (:func:`segment_query`) is cut by jieba into words; each word must occur,
either as an indexed word or as a phrase of characters. Only letters and digits
ever reach the query expression, each run quoted, so no user input can inject
FTS5 syntax (quotes, ``*``, ``:``, parentheses, NEAR, AND, OR, NOT).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any

# CJK ideographs (basic, extension A, compatibility, extensions B..G), kana and hangul syllables:
# indexed one character per token.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0003134f"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# One CJK character, or a run of other letters/digits (what SQLite's unicode61 tokenizer keeps).
_CHAR_TOKEN = re.compile(f"[{_CJK}]|(?:(?![{_CJK}])[^\\W_])+")
_WORD_RUN = re.compile(r"[^\W_]+")
# Query chunks: what the user separated by spaces or punctuation.
_CHUNK = re.compile(r"[^\W_]+")

# Function words not required on their own in queries (a lone character next to one may still
# have to occur beside it).
QUERY_STOPWORDS = frozenset("的地得了着吗呢啊吧呀哦嘛么很都也就和与及或是在被把")

# Column holding the character tokens; a backend's full-text table must use this name.
CHARS_COLUMN = "chars"

_lock = threading.Lock()
_jieba_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's default tokenizer, initialised once per process (thread-safe)."""
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _lock:
            if _jieba_tokenizer is None:
                import jieba

                jieba.initialize()
                _jieba_tokenizer = jieba.dt
    return _jieba_tokenizer


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _clean_tokens(tokens: Iterable[str]) -> list[str]:
    """Letter/digit runs of each token, lower-cased; punctuation and symbols dropped."""
    out: list[str] = []
    for tok in tokens:
        out.extend(_WORD_RUN.findall(_normalise(tok)))
    return out


def segment_for_index(text: str) -> str:
    """Space-joined jieba search-mode tokens of `text`, lower-cased, punctuation dropped."""
    if not text or not text.strip():
        return ""
    tokens = _jieba().cut_for_search(_normalise(text))
    # Letter/digit runs of the space-joined tokens = those of each token (tokens hold no spaces).
    return " ".join(_WORD_RUN.findall(" ".join(tokens)))


def clean_segmented(segmented: str) -> str:
    """Normalise text already segmented elsewhere (space-separated tokens) to the index form."""
    return " ".join(_WORD_RUN.findall(_normalise(segmented)))


def chars_for_index(text: str) -> str:
    """Each CJK character as a token, other letter/digit runs whole; space-joined, lower-cased."""
    if not text:
        return ""
    return " ".join(_CHAR_TOKEN.findall(_normalise(text)))


def _quote(token_text: str) -> str:
    # Tokens only ever hold letters and digits; doubling quotes keeps this safe regardless.
    return '"' + token_text.replace('"', '""') + '"'


def _chars_phrase(word: str) -> str:
    return f"{CHARS_COLUMN} : {_quote(' '.join(_CHAR_TOKEN.findall(word)))}"


def _word_clause(word: str) -> str:
    if _CJK_CHAR.search(word):
        return f"({_quote(word)} OR {_chars_phrase(word)})"
    return _quote(word)


def _chunk_clauses(chunk: str) -> list[str]:
    words = _clean_tokens(_jieba().cut(chunk))
    only_stopwords = all(w in QUERY_STOPWORDS for w in words)
    clauses: list[str] = []
    for i, word in enumerate(words):
        if word in QUERY_STOPWORDS and not only_stopwords:
            continue
        if len(word) == 1 and _CJK_CHAR.match(word) and len(words) > 1:
            # A lone character must stand next to a word it stood next to in the query ("充电"+"宝").
            around = []
            if i > 0:
                around.append(_chars_phrase(words[i - 1] + word))
            if i + 1 < len(words):
                around.append(_chars_phrase(word + words[i + 1]))
            clauses.append("(" + " OR ".join(around) + ")")
        else:
            clauses.append(_word_clause(word))
    return clauses


def segment_query(q: str) -> str:
    """A safe FTS5 MATCH expression for user text: every word must occur.

    Returns "" when the text holds no letter or digit (only punctuation, symbols,
    emoji or whitespace): such a query matches nothing. The expression never
    raises an FTS5 syntax error, whatever the input.
    """
    if not q:
        return ""
    clauses: list[str] = []
    for chunk in _CHUNK.findall(unicodedata.normalize("NFKC", q)):
        for clause in _chunk_clauses(chunk):
            if clause not in clauses:
                clauses.append(clause)
    return " AND ".join(clauses)


def index_columns(parts: Iterable[tuple[str | None, str | None]]) -> tuple[str, str]:
    """The (words, chars) column texts for a record's full-text parts.

    Each part is (raw text, already-segmented text or None); raw text is segmented
    with :func:`segment_for_index` unless the segmented form is given.
    """
    words: list[str] = []
    chars: list[str] = []
    for raw, segmented in parts:
        if segmented and segmented.strip():
            words.append(clean_segmented(segmented))
        elif raw:
            words.append(segment_for_index(raw))
        if raw:
            chars.append(chars_for_index(raw))
        elif segmented:
            chars.append(chars_for_index(segmented))
    return " ".join(w for w in words if w), " ".join(c for c in chars if c)
