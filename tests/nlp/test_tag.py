"""The tag stage: its options and its registration (the tagging itself: tests/text/test_tagger.py)."""

from __future__ import annotations

from riskmine.nlp.base import StageContext, build_stage
from riskmine.nlp.tag import make_tag
from riskmine.schema import RawDocument, Signal
from riskmine.settings import get_settings


def test_regions_can_be_switched_off() -> None:
    stage = make_tag(StageContext(get_settings()), regions=False)
    s = stage([Signal.from_document(RawDocument(source="t", source_type="review", text="山西太原的漏电插座"))])[0]
    assert s.regions == [] and [h.term for h in s.hazards] == ["漏电"]


def test_registered_as_the_tag_stage() -> None:
    bound = build_stage("tag", StageContext(get_settings()), {"regions": False})
    assert bound.name == "tag"
    assert {"hazards", "product_category", "regions", "harm_occurred", "evidence"} <= set(bound.writes)
    doc = RawDocument(source="t", source_type="review", text="电热毯漏电")
    assert [h.term for h in bound([Signal.from_document(doc)])[0].hazards] == ["漏电"]
