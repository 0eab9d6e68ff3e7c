"""Term matching: one Aho-Corasick automaton (pyahocorasick) over a term → value mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import ahocorasick

V = TypeVar("V")


@dataclass(frozen=True)
class Match(Generic[V]):
    start: int
    end: int
    term: str
    value: V


class TermIndex(Generic[V]):
    """One Aho-Corasick automaton over a term → value mapping.

    Terms containing Latin letters are matched only at ASCII word boundaries (so
    ``MI`` does not fire inside ``MINI``).
    """

    def __init__(self, terms: Mapping[str, V]) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        self.size = 0
        for term, value in terms.items():
            if term:
                self._automaton.add_word(term, (term, value))
                self.size += 1
        if self.size:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self.size

    def __contains__(self, term: object) -> bool:
        return self.size > 0 and isinstance(term, str) and self._automaton.exists(term)

    def get(self, term: str) -> V | None:
        if not self.size or not self._automaton.exists(term):
            return None
        value: V = self._automaton.get(term)[1]
        return value

    def find(self, text: str, *, longest: bool = True) -> list[Match[V]]:
        """Matches in text order; with ``longest`` only leftmost-longest, non-overlapping ones."""
        if not self.size or not text:
            return []
        hits = self._automaton.iter_long(text) if longest else self._automaton.iter(text)
        out: list[Match[V]] = []
        for end_idx, (term, value) in hits:
            start = end_idx - len(term) + 1
            if _latin_boundary_ok(text, start, end_idx + 1, term):
                out.append(Match(start, end_idx + 1, term, value))
        if not longest:
            out.sort(key=lambda m: (m.start, -(m.end - m.start)))
        return out


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _latin_boundary_ok(text: str, start: int, end: int, term: str) -> bool:
    if _is_ascii_alnum(term[0]) and start > 0 and _is_ascii_alnum(text[start - 1]):
        return False
    return not (_is_ascii_alnum(term[-1]) and end < len(text) and _is_ascii_alnum(text[end]))


def case_variants(term: str) -> list[str]:
    """Spellings matched for a term: as written, and for ALL-CAPS or camel-case Latin names
    (``HUAWEI``, ``iPhone``) also lower, upper and title case. Title-case or lower-case
    Latin words (``Dove``, ``babycare``) are common words and match only as written."""
    if not any(c.isascii() and c.isalpha() for c in term):
        return [term]
    letters = [c for c in term if c.isascii() and c.isalpha()]
    inner_caps = any(c.isupper() for c in letters[1:])
    if not inner_caps:
        return [term]
    return list(dict.fromkeys([term, term.lower(), term.upper(), term.title()]))
