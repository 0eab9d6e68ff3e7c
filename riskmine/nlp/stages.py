"""Imports every module that registers a built-in stage."""

from riskmine.nlp import (  # noqa: F401
    classify,
    dedup,
    denoise,
    disambiguate,
    grade,
    normalize,
    segment,
    tag,
)
