"""Domain words for jieba: riskmine's own word list plus the tag stage's lexicons.

The lexicons (riskmine/text/lexicons/*.tsv) are tab-separated
with the term in the first column; an optional header row is recognised by its first
cell (name, term, 词, 名称), and an `aliases`/`synonyms` column, when present, adds its
'|'-separated terms. Missing lexicons are not an error: the segmenter then uses the
built-in word list alone.
"""

from __future__ import annotations

import re
from pathlib import Path

from riskmine.text.lexicon import LEXICON_DIR
from riskmine.text.tsv import LexiconError

USERDICT_FILE = Path(__file__).resolve().parent / "data" / "userdict.txt"

_HEADER_FIRST_CELLS = {"name", "term", "word", "词", "词语", "名称", "术语"}
_ALIAS_COLUMNS = {"aliases", "alias", "synonyms", "别名", "同义词"}
# Words jieba can hold in its dictionary: no whitespace (its segmenter splits there anyway).
_USABLE = re.compile(r"^\S{2,40}$")


def read_lexicon(path: Path) -> list[str]:
    """Terms of one TSV lexicon: first column, plus alias columns when a header names them."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"cannot read lexicon {path}: {exc}") from exc
    terms: list[str] = []
    alias_cols: list[int] = []
    first = True
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in line.split("\t")]
        if first:
            first = False
            if cells[0].lower() in _HEADER_FIRST_CELLS:
                alias_cols = [i for i, c in enumerate(cells) if c.lower() in _ALIAS_COLUMNS]
                continue
        if cells[0]:
            terms.append(cells[0])
        for i in alias_cols:
            if 0 <= i < len(cells) and cells[i]:
                terms.extend(a.strip() for a in cells[i].split("|") if a.strip())
    return terms


def lexicon_files(directory: Path = LEXICON_DIR, pattern: str = "*.tsv") -> list[Path]:
    return sorted(directory.glob(pattern)) if directory.is_dir() else []


def lexicon_terms(directory: Path = LEXICON_DIR, pattern: str = "*.tsv") -> list[str]:
    """Terms of every lexicon matching `pattern` in `directory` (none when the folder is absent)."""
    terms: list[str] = []
    for path in lexicon_files(directory, pattern):
        terms.extend(read_lexicon(path))
    return terms


def read_word_list(path: Path) -> list[tuple[str, int | None]]:
    """A jieba-style user dictionary: `word [freq] [tag]` per line, '#' comments allowed."""
    words: list[tuple[str, int | None]] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"cannot read word list {path}: {exc}") from exc
    for lineno, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        freq: int | None = None
        if len(parts) > 1:
            if not parts[1].isdigit():
                raise LexiconError(f"{path}:{lineno}: frequency must be a whole number, got {parts[1]!r}")
            freq = int(parts[1])
        words.append((parts[0], freq))
    return words


def domain_words(userdict: Path = USERDICT_FILE, lexicon_dir: Path = LEXICON_DIR) -> list[tuple[str, int | None]]:
    """Distinct (word, frequency or None) pairs to add to jieba, own list first."""
    seen: dict[str, int | None] = {}
    if userdict.is_file():
        for word, freq in read_word_list(userdict):
            if _USABLE.match(word):
                seen.setdefault(word, freq)
    for term in lexicon_terms(lexicon_dir):
        if _USABLE.match(term):
            seen.setdefault(term, None)
    return list(seen.items())
