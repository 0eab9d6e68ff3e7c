"""Time per character of the tag stage and the stated-hazard finder on one long text, 10k to 200k characters.

A text is real reviews from /work/shared/data joined end to end, once with their punctuation and once with every
mark removed (a hostile text is one clause). Linear work gives a ratio near 1.0 between the time per character at
200k and at 10k; quadratic work gives about 20. Figures are medians of 3 repeats, with the load average.

Run: ``python -m bench long_texts``.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable

from bench.nlp_throughput import load_reviews
from riskmine.models.stated_hazard import find_stated_hazards
from riskmine.schema import RawDocument, Signal, SourceType
from riskmine.text.gazetteer import get_gazetteer
from riskmine.text.lexicon import get_lexicons
from riskmine.text.tagger import Tagger

SIZES = (10_000, 100_000, 200_000)
REPEATS = 3
MARKS = re.compile(r"[。！？!?；;，,、\n\r\t …~～:：()（）【】\[\]]")


def _median_seconds(run: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    tagger = Tagger(get_lexicons(), get_gazetteer(), 160)
    corpus = "。".join(load_reviews(20_000))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; medians of {REPEATS}")
    for kind, source in (("punctuated", corpus), ("one clause", MARKS.sub("", corpus))):
        per_char: dict[str, list[float]] = {"tag": [], "stated": []}
        for size in SIZES:
            text = source[:size]

            def tag(text: str = text) -> None:
                signal = Signal.from_document(
                    RawDocument(source="bench", source_type=SourceType.review, source_id="x", text=text)
                )
                signal.normalized_text = text
                tagger.tag(signal)

            tag_s = _median_seconds(tag)
            stated_s = _median_seconds(lambda text=text: find_stated_hazards(text, "review"))
            per_char["tag"].append(tag_s / size)
            per_char["stated"].append(stated_s / size)
            print(f"{kind:>10} {size:>7,} chars: tag {tag_s:6.2f}s  stated hazards {stated_s:6.2f}s")
        for name, values in per_char.items():
            print(f"{kind:>10} {name}: time per character at 200k / at 10k = {values[-1] / values[0]:.2f} (1.0 linear)")


if __name__ == "__main__":
    main([])
