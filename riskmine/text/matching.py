"""Term matching: one Aho-Corasick automaton (pyahocorasick) over a term → value mapping."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Any, Generic, TypeVar

import ahocorasick
import numpy as np

V = TypeVar("V")


@dataclass(frozen=True)
class Match(Generic[V]):
    start: int
    end: int
    term: str
    value: V


# Code points above the Basic Multilingual Plane share the last slot of the gate's tables.
_BMP = 0x10000
_PLANES = 0x110000


_GRAM_BITS = 20  # slots of the table of hashed term heads
_MAX_GRAM = 4  # a term's head: its first characters, up to this many
_GRAM_KEYS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93], dtype=np.uint64)
_LENGTH_KEY = np.uint64(0x27D4EB2F165667C5)
_MIX_KEY = np.uint64(0xBF58476D1CE4E5B9)


def _gram_slots(cps: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """Slots in a table of 2**_GRAM_BITS of the `k` characters (code points, uint64) from each of `starts`."""
    h = np.full(len(starts), np.uint64(k) * _LENGTH_KEY, dtype=np.uint64)
    for j in range(k):
        h += cps[starts + j] * _GRAM_KEYS[j]  # uint64 arithmetic wraps
    h ^= h >> np.uint64(31)
    h *= _MIX_KEY
    h ^= h >> np.uint64(29)
    return (h >> np.uint64(64 - _GRAM_BITS)).astype(np.intp)


class TermGate:
    """Which texts of a batch cannot hold any of ``terms``, found for the whole batch at once.

    pyahocorasick looks a character up among a node's children one by one, and its root has a
    child for every first character of a term: a scan costs about a microsecond per character
    for a large lexicon (thousands of place names), while most texts name none of its terms.
    :meth:`prime` finds, with numpy over a batch, the texts that hold no one-character term and
    no head of a longer one (its first two, three or four characters: hashed into a table, looked up
    where the first two characters may begin a term), and remembers them; :meth:`holds_none` then answers
    for those without a scan. The test is exact in one direction: a text remembered holds no
    term (the others are scanned as before), so a match is never lost.
    """

    MAX_CHARS = 1_000_000  # characters of remembered texts (dozens of batches), beyond which they are forgotten

    def __init__(self, terms: Iterable[str]) -> None:
        words = [t for t in terms if t]
        self._first = np.zeros(_BMP, dtype=bool)
        self._second = np.zeros(_BMP, dtype=bool)
        self._single = np.zeros(_BMP, dtype=bool)
        singles = [ord(t) for t in words if len(t) == 1]
        heads = [(ord(t[0]), ord(t[1])) for t in words if len(t) >= 2]
        self._single[np.minimum(np.array(singles, dtype=np.int64), _BMP - 1)] = True
        pairs = np.array(heads, dtype=np.int64).reshape(-1, 2)
        self._first[np.minimum(pairs[:, 0], _BMP - 1)] = True
        self._second[np.minimum(pairs[:, 1], _BMP - 1)] = True
        # the heads hashed into a table: a text's k characters whose slot is empty are no head (a filled one may be)
        self._heads = np.zeros(1 << _GRAM_BITS, dtype=bool)
        self._head_lengths: list[int] = []
        for k in range(2, _MAX_GRAM + 1):
            heads_k = [t[:k] for t in words if min(len(t), _MAX_GRAM) == k]
            if heads_k:
                cps = np.frombuffer("".join(heads_k).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
                starts = np.arange(len(heads_k), dtype=np.intp) * k
                self._heads[_gram_slots(cps.astype(np.uint64), starts, k)] = True
                self._head_lengths.append(k)
        self._has_singles = bool(singles)
        self._none: dict[str, None] = {}  # texts known to hold no term
        self._chars = 0

    def holds_none(self, text: str) -> bool:
        """True when :meth:`prime` found that ``text`` holds no term (False: not known)."""
        return text in self._none

    def prime(self, texts: Sequence[str]) -> None:
        """Find the texts of a batch that hold no term, for :meth:`holds_none`."""
        if not texts:
            return
        joined = "\x00".join(texts)  # a pair across two texts can only let a text be scanned needlessly
        cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
        lut = np.minimum(cps, _BMP - 1)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.cumsum(lengths + 1) - lengths - 1
        hit = np.flatnonzero(self._first[lut[:-1]] & self._second[lut[1:]])
        padded = np.concatenate((cps, np.zeros(_MAX_GRAM, dtype=np.int64))).astype(np.uint64)  # no term holds "\x00"
        head = np.zeros(len(hit), dtype=bool)
        for k in self._head_lengths:
            head |= self._heads[_gram_slots(padded, hit, k)]
        hit = hit[head]
        if self._has_singles:
            hit = np.concatenate((hit, np.flatnonzero(self._single[lut])))
        may = np.zeros(len(texts), dtype=bool)
        may[np.searchsorted(starts, hit, side="right") - 1] = True
        if self._chars > self.MAX_CHARS:
            self._none.clear()
            self._chars = 0
        for i in np.flatnonzero(~may).tolist():
            self._none[texts[i]] = None
            self._chars += len(texts[i])


_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", _sre.MAX_REPEAT))


def _required(items: Any) -> frozenset[str] | None:
    """Strings one of which every match of a parsed regular expression sequence holds; None if none is known."""
    best: frozenset[str] | None = None

    def consider(found: frozenset[str] | None) -> None:
        nonlocal best  # the longest shortest string; among equals the later (the event word, past its context)
        if found is not None and (best is None or min(map(len, found)) >= min(map(len, best))):
            best = found

    run = ""
    for op, av in items:
        if op is _sre.LITERAL:
            run += chr(av)  # adjacent literals are adjacent in every match
            continue
        if run:
            consider(frozenset([run]))
            run = ""
        if op is _sre.SUBPATTERN:
            _, add_flags, _, sub = av
            if not add_flags & re.IGNORECASE:
                consider(_required(sub))
        elif op is _sre.ATOMIC_GROUP:
            consider(_required(av))
        elif op is _sre.BRANCH:
            alternatives = [_required(alt) for alt in av[1]]
            if all(alt is not None for alt in alternatives):
                consider(frozenset().union(*alternatives))  # type: ignore[arg-type]
        elif op in _REPEATS and av[0] >= 1:
            consider(_required(av[2]))
        elif op is _sre.IN and all(kind is _sre.LITERAL for kind, _ in av):
            consider(frozenset(chr(c) for _, c in av))
        # anything else (any character, classes, ranges, anchors, lookarounds, back references) promises nothing
    if run:
        consider(frozenset([run]))
    return best


def required_substrings(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of ``pattern`` holds, read off its parse tree; None when the pattern
    promises none (or ignores case)."""
    if pattern.flags & re.IGNORECASE or not isinstance(pattern.pattern, str):
        return None
    return _required(_sre_parse.parse(pattern.pattern, pattern.flags))


class PatternGate:
    """Whether a text can match any of some regular expressions: it must hold a string that every match of
    one of them holds (:func:`required_substrings`). One automaton scan then stands for a search per pattern;
    a text it lets through is searched as before, so a match is never lost."""

    def __init__(self, patterns: Iterable[re.Pattern[str]]) -> None:
        needed: set[str] = set()
        self._open = False  # some pattern promises no string: every text may match
        for pattern in patterns:
            found = required_substrings(pattern)
            if found is None:
                self._open = True
                break
            needed |= found
        self._automaton: Any = None
        if not self._open and needed:
            self._automaton = ahocorasick.Automaton()
            for word in needed:
                self._automaton.add_word(word, word)
            self._automaton.make_automaton()

    def may_match(self, text: str) -> bool:
        if self._open:
            return True
        return self._automaton is not None and next(self._automaton.iter(text), None) is not None


# Texts at least this long keep their matches (shorter ones are the windows cue words are looked for in).
_RECENT_MIN_CHARS = 24


class TermIndex(Generic[V]):
    """One Aho-Corasick automaton over a term → value mapping.

    Terms containing Latin letters are matched only at ASCII word boundaries (so
    ``MI`` does not fire inside ``MINI``). Texts its :class:`TermGate` found to hold no term
    (:meth:`prime`) are answered without a scan.
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
        self.gate = TermGate(term for term in terms if term)
        self._recent: dict[str, tuple[Match[V], ...]] = {}  # text -> its matches (longest), see find
        self._recent_chars = 0

    def __len__(self) -> int:
        return self.size

    def prime(self, texts: Sequence[str]) -> None:
        """Find the texts of a batch that hold no term at once, so that :meth:`find` skips them."""
        if self.size:
            self.gate.prime(texts)

    def __contains__(self, term: object) -> bool:
        return self.size > 0 and isinstance(term, str) and self._automaton.exists(term)

    def get(self, term: str) -> V | None:
        if not self.size or not self._automaton.exists(term):
            return None
        value: V = self._automaton.get(term)[1]
        return value

    def find(self, text: str, *, longest: bool = True) -> list[Match[V]]:
        """Matches in text order; with ``longest`` only leftmost-longest, non-overlapping ones.

        The matches of the texts scanned most recently are kept (the tag stage and the classify
        stage's features ask for the same text's product terms), and given out as new lists.
        """
        if not self.size or not text or self.gate.holds_none(text):
            return []
        if longest and len(text) >= _RECENT_MIN_CHARS:
            recent = self._recent.get(text)
            if recent is None:
                recent = tuple(self._scan(text, True))
                if self._recent_chars > TermGate.MAX_CHARS:
                    self._recent.clear()
                    self._recent_chars = 0
                self._recent[text] = recent
                self._recent_chars += len(text)
            return list(recent)
        return self._scan(text, longest)

    def _scan(self, text: str, longest: bool) -> list[Match[V]]:
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
