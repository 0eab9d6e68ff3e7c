"""The normalize stage: clean text into one canonical form (:mod:`riskmine.text.normalize`), mask personal data."""

from __future__ import annotations

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.schema import Signal
from riskmine.text.normalize import (
    content_hash,
    join_title,
    mask_pii,
    normalize_text,
)


@stage(
    "normalize",
    reads=("document.title", "document.text"),
    writes=("normalized_text", "content_hash", "document.text", "document.title"),  # masked personal data
)
def make_normalize(
    ctx: StageContext,
    *,
    mask_source: bool = True,
    traditional_to_simplified: bool = True,
    strip_markup: bool = True,
) -> BatchFn:
    """Clean text (HTML, NFKC, t2s, whitespace), mask personal data; hash for exact dedup.

    mask_source: also mask personal data in document.text and document.title, which are stored.
    """

    def run(batch: list[Signal]) -> list[Signal]:
        for sig in batch:
            doc = sig.document
            title = normalize_text(doc.title or "", simplify=traditional_to_simplified, markup=strip_markup)
            body = normalize_text(doc.text, simplify=traditional_to_simplified, markup=strip_markup)
            sig.normalized_text = join_title(title, body)
            sig.content_hash = content_hash(sig.normalized_text)
            if mask_source:
                update: dict[str, str] = {}
                masked = mask_pii(doc.text)
                if masked != doc.text:
                    update["text"] = masked
                if doc.title:
                    masked_title = mask_pii(doc.title)
                    if masked_title != doc.title:
                        update["title"] = masked_title
                if update:
                    sig.document = doc.model_copy(update=update)
        return batch

    return run
