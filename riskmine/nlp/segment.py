"""The segment stage: jieba word segmentation with the domain dictionary (:mod:`riskmine.text.tokenize`)."""

from __future__ import annotations

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.schema import Signal
from riskmine.text.tokenize import (
    segment_text,
    tokenizer,
)


@stage("segment", reads=("normalized_text", "document.text"), writes=("segmented_text",))
def make_segment(ctx: StageContext) -> BatchFn:
    """Segment the normalized text (else the document text) into words with jieba and the domain dictionary."""
    tokenizer()  # load the dictionary when the pipeline is built, not on the first batch

    def run(batch: list[Signal]) -> list[Signal]:
        for sig in batch:
            sig.segmented_text = segment_text(sig.normalized_text or sig.document.text)
        return batch

    return run
