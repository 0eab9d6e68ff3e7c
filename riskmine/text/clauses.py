"""Where a clause or sentence around a span begins and ends, in time logarithmic in the text's length.

The break positions of a text are found once (and kept for the few texts being worked on), so a long
text with many matches costs one pass plus a binary search per match, not a scan per match.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache


@lru_cache(maxsize=32)
def break_positions(text: str, breaks: frozenset[str]) -> tuple[int, ...]:
    """The indexes of the characters of ``text`` that are in ``breaks``, in order."""
    return tuple(i for i, ch in enumerate(text) if ch in breaks)


def span_bounds(text: str, start: int, end: int, breaks: frozenset[str]) -> tuple[int, int]:
    """[lo, hi): lo just after the last break before ``start`` (else 0), hi at the first break at or after
    ``end`` (else the text's end)."""
    positions = break_positions(text, breaks)
    before = bisect_left(positions, start)
    lo = positions[before - 1] + 1 if before else 0
    after = bisect_left(positions, end)
    hi = positions[after] if after < len(positions) else len(text)
    return lo, hi
