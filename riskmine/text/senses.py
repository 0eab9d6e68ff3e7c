"""Rules that settle the sense of a hazard term in its context: collocations and cue words.

Known collocations (``lexicons/context/collocations.tsv``: 销量爆炸, 漏电保护器, 充电到, 防蓝光 …)
decide first; then accessory cues (漏电|保护器) and negation cues (没有漏电, 不发烫, 无甲醛,
甲醛检测合格; ``lexicons/context/cues.tsv``). The disambiguate stage asks these rules before its
model, and the risk model's features use them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from riskmine.text.lexicon import CONTEXT_SUBDIR, LEXICON_DIR, Lexicons, get_lexicons
from riskmine.text.matching import TermIndex
from riskmine.text.tagger import context_cue
from riskmine.text.tsv import read_tsv

RULE_CONFIDENCE = {"collocation": 0.95, "accessory": 0.95, "negation": 0.9}


@dataclass(frozen=True)
class Collocation:
    term: str
    pattern: str
    offset: int  # where the term starts inside the pattern
    in_sense: bool


def load_collocations(path: Path) -> TermIndex[list[Collocation]]:
    rows = read_tsv(path, ["term", "pattern", "in_sense"])
    by_pattern: dict[str, list[Collocation]] = {}
    for r in rows:
        offset = r["pattern"].find(r["term"])
        if offset < 0:
            raise r.error(f"pattern {r['pattern']!r} does not contain the term {r['term']!r}")
        if r["pattern"] in by_pattern:
            raise r.error(f"duplicate pattern {r['pattern']!r}")
        by_pattern[r["pattern"]] = [Collocation(r["term"], r["pattern"], offset, r.flag("in_sense"))]
    return TermIndex(by_pattern)


@dataclass
class Rules:
    lex: Lexicons
    collocations: TermIndex[list[Collocation]]

    def judge(self, text: str, start: int, end: int, term: str) -> tuple[bool, float, str] | None:
        """(in_sense, confidence, rule) where a rule decides, else None."""
        lo, hi = max(0, start - 12), min(len(text), end + 12)
        for m in self.collocations.find(text[lo:hi], longest=False):
            for c in m.value:
                if c.term == term and lo + m.start + c.offset == start:
                    return c.in_sense, RULE_CONFIDENCE["collocation"], f"collocation:{c.pattern}"
        cue = context_cue(self.lex, text, start, end)
        if cue is not None and cue.kind in ("accessory", "negation"):
            return False, RULE_CONFIDENCE[cue.kind], f"{cue.kind}:{cue.term}"
        return None


def build_rules(lexicon_dir: Path = LEXICON_DIR) -> Rules:
    lex = get_lexicons(lexicon_dir)
    return Rules(lex, load_collocations(lexicon_dir / CONTEXT_SUBDIR / "collocations.tsv"))
