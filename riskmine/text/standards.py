"""Standard numbers (GB, GB/T, QB/T, IEC, ISO …) found in text, in canonical form."""

from __future__ import annotations

import re

_STANDARD_RE = re.compile(
    r"(?<![A-Za-z])(GB/T|GB/Z|GB|QB/T|QB|JB/T|JG/T|JC/T|SN/T|NY/T|HG/T|FZ/T|SB/T|LY/T|WS/T|YY/T|YY|DB\d{2}/T|"
    r"T/[A-Z]{2,10}|IEC|ISO|EN)\s?(\d{2,6}(?:\.\d{1,3})*)(?:\s?[-—–]\s?((?:19|20)\d{2}))?(?!\d)"
)

# The first letters of the prefixes above: a text holding none of them holds no standard number (the pattern's
# look-behind keeps re from skipping ahead to a prefix by itself; this search does).
_PREFIX_LETTER_RE = re.compile(r"[DEFGHIJLNQSTWY]")


def find_standards(text: str) -> list[tuple[int, int, str]]:
    """Standard numbers in text as (start, end, canonical form), e.g. ``GB 4943.1-2022``."""
    if not _PREFIX_LETTER_RE.search(text):
        return []
    out = []
    for m in _STANDARD_RE.finditer(text):
        canonical = f"{m.group(1)} {m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else "")
        out.append((m.start(), m.end(), canonical))
    return out
