"""Text normalisation and near-duplicate measures used to de-duplicate the corpus."""

from __future__ import annotations

import unicodedata


def normalize(text: str) -> str:
    """NFKC, lower case, and only letters and digits kept (punctuation, symbols, whitespace dropped)."""
    t = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in t if unicodedata.category(ch)[0] in ("L", "N"))


def shingles(text: str, n: int = 3) -> frozenset[str]:
    """Character n-grams of the normalised text (the whole text when shorter than n)."""
    t = normalize(text)
    if len(t) <= n:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[i : i + n] for i in range(len(t) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
