"""The tag stage: product category, hazards, populations, regions, organisations, standards, harm.

Everything is matched on characters of ``Signal.normalized_text`` with one
Aho-Corasick automaton per lexicon (see :mod:`riskmine.text.lexicon`), so the
stage does not depend on segmentation. Document hints (``product``, ``region``,
``brand``, ``shop``, ``enterprise`` and spot-check fields in ``meta``) are used
first where they exist.

Hazard mentions are emitted for every lexicon hit, including ambiguous ones
(漏电 in 漏电保护器, 爆炸 in 销量爆炸); the ``disambiguate`` stage judges them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from riskmine.nlp.base import StageContext, stage
from riskmine.schema import Signal
from riskmine.text.gazetteer import get_gazetteer
from riskmine.text.lexicon import LEXICON_DIR, get_lexicons
from riskmine.text.tagger import (
    Tagger,
)


@stage(
    "tag",
    reads=("normalized_text", "document"),
    writes=(
        "normalized_text",  # only when empty: filled with the document's title and text, which spans index
        "product_category",
        "product_terms",
        "hazards",
        "populations",
        "regions",
        "organisations",
        "standards",
        "harm",
        "harm_occurred",
        "evidence",
    ),
)
def make_tag(
    ctx: StageContext,
    *,
    regions: bool = True,
    evidence_chars: int = 160,
    lexicon_dir: str | None = None,
) -> Callable[[list[Signal]], list[Signal]]:
    """Tag product category, hazards, populations, regions (with division codes), organisations,
    standards, harm and evidence spans by lexicon automata over normalized_text."""
    lex = get_lexicons(Path(lexicon_dir) if lexicon_dir else LEXICON_DIR)
    return Tagger(lex, get_gazetteer() if regions else None, evidence_chars)
