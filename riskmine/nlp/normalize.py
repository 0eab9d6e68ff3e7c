"""The normalize stage: clean text into one canonical form (:mod:`riskmine.text.normalize`), mask personal data."""

from __future__ import annotations

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.schema import Signal
from riskmine.text.normalize import (
    content_hash,
    join_title,
    normalize_text,
)
from riskmine.text.pii import MASKED_FIELDS, mask_document

# Ingest masks every document it stores; the stage masks again, for documents stored before it did.
_MASKED = tuple(f"document.{name}" for name in (*MASKED_FIELDS, "url", "meta"))


# Every later stage is linear in this; a 200k-character document is analysed by its first 20k.
DEFAULT_MAX_ANALYSED_CHARS = 20_000
# How far back from the cap a sentence end is looked for.
_SENTENCE_LOOKBACK = 500
_SENTENCE_ENDS = "。！？!?\n；;"


def analysed_head(text: str, max_chars: int) -> str:
    """``text``, or its first ``max_chars`` characters, ending at a sentence end within the last 500 if any."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    cut = max(head.rfind(end, max_chars - _SENTENCE_LOOKBACK) for end in _SENTENCE_ENDS)
    return head[: cut + 1] if cut > 0 else head


@stage(
    "normalize",
    reads=_MASKED,
    writes=("normalized_text", "content_hash", *_MASKED),  # masked personal data
)
def make_normalize(
    ctx: StageContext,
    *,
    mask_source: bool = True,
    traditional_to_simplified: bool = True,
    strip_markup: bool = True,
    max_chars: int = DEFAULT_MAX_ANALYSED_CHARS,
) -> BatchFn:
    """Clean text (HTML, NFKC, t2s, whitespace), mask personal data; hash for exact dedup.

    max_chars: the most of a document's cleaned text the later stages analyse (its head, cut at a sentence
    end where one is near); the document keeps all of its text, and the hash covers all of it.

    mask_source: also mask personal data in the document's stored fields (text, title, product, shop,
    url, meta, ...; see :func:`riskmine.text.pii.mask_document`).
    """

    def run(batch: list[Signal]) -> list[Signal]:
        for sig in batch:
            doc = sig.document
            title = normalize_text(doc.title or "", simplify=traditional_to_simplified, markup=strip_markup)
            body = normalize_text(doc.text, simplify=traditional_to_simplified, markup=strip_markup)
            whole = join_title(title, body)
            sig.content_hash = content_hash(whole)
            sig.normalized_text = analysed_head(whole, max_chars)
            if mask_source:
                sig.document = mask_document(doc)
        return batch

    return run
