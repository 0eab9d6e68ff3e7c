"""The denoise stage: flag template reviews, advertising, repetition spam and content-free texts.

Records are never removed. Each flagged record gets its reason codes in
``Signal.noise`` and a ``weight``: 0 when nothing but noise is left, a lower weight
when noise sits beside real content. The patterns, word lists and weights live in
``riskmine/nlp/data/noise_patterns.txt`` (see its header for the format).

Missing a safety report costs more than counting a little noise, so the rules lean
towards keeping text: a text holding a hazard-looking word keeps weight 1 and is
never content-free; "content-free" means made of generic sentiment words only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.schema import Signal
from riskmine.schema.errors import RiskmineError
from riskmine.text.normalize import compact
from riskmine.text.userdict import LEXICON_DIR, lexicon_terms

PATTERNS_FILE = Path(__file__).resolve().parent / "data" / "noise_patterns.txt"
# The tag stage's lexicons whose terms count as hazard-looking words.
HAZARD_LEXICONS = ("hazard*.tsv", "harm*.tsv")

TEMPLATE = "template"
ADVERTISING = "advertising"
SPAM_REPETITION = "spam_repetition"
CONTENT_FREE = "content_free"

_HEADER_RE = re.compile(r"^\[(?P<name>[a-z_]+)\](?P<opts>(?:\s+[a-z]+=\S+)*)\s*$")
_KINDS = ("regex", "terms", "none")
# Units of content: a CJK (or other non-Latin) character, a Latin word, a run of digits.
_UNIT_RE = re.compile(r"[A-Za-z]+|[0-9]+|[^\W\d_A-Za-z]")
# Short units repeated three times or more (哈哈哈, 不错不错不错), and longer phrases repeated at all.
_SHORT_REPEAT_RE = re.compile(r"(.{1,8}?)\1{2,}", re.DOTALL)
_LONG_MIN = 9
_LONG_REPEAT_RE = re.compile(r"(.{9,120}?)\1+", re.DOTALL)  # 9 = _LONG_MIN


class NoisePatternsError(RiskmineError, ValueError):
    code = "noise_patterns_invalid"
    status = 500


@dataclass
class Rule:
    """Weights of one reason: when nothing but noise is left (drop) and beside real content (keep)."""

    reason: str
    drop: float = 0.0
    keep: float = 1.0


@dataclass
class NoisePatterns:
    """The parsed data file: regex rules in file order, weights per reason, filler and hazard words."""

    rules: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)  # (reason, pattern) in file order
    weights: dict[str, Rule] = field(default_factory=dict)
    filler: re.Pattern[str] | None = None
    hazard: Any = None  # ahocorasick.Automaton over hazard terms (None when there are none)

    def weight(self, reason: str, *, dropped: bool) -> float:
        rule = self.weights.get(reason)
        if rule is None:
            return 0.0 if dropped else 1.0
        return rule.drop if dropped else rule.keep

    def has_hazard(self, text: str) -> bool:
        if self.hazard is None or not text:
            return False
        return next(self.hazard.iter(text), None) is not None


def _parse_opts(opts: str, path: Path, lineno: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in opts.split():
        key, _, value = item.partition("=")
        out[key] = value
    unknown = set(out) - {"kind", "drop", "keep"}
    if unknown:
        raise NoisePatternsError(f"{path}:{lineno}: unknown section option(s) {sorted(unknown)}")
    if out.get("kind", "regex") not in _KINDS:
        raise NoisePatternsError(f"{path}:{lineno}: kind must be one of {', '.join(_KINDS)}, got {out['kind']!r}")
    for key in ("drop", "keep"):
        if key in out:
            try:
                w = float(out[key])
            except ValueError:
                raise NoisePatternsError(f"{path}:{lineno}: {key} must be a number, got {out[key]!r}") from None
            if not 0.0 <= w <= 1.0:
                raise NoisePatternsError(f"{path}:{lineno}: {key} must lie between 0 and 1, got {w}")
    return out


def _alternation(terms: list[str]) -> re.Pattern[str]:
    ordered = sorted(set(terms), key=len, reverse=True)
    return re.compile("|".join(re.escape(t) for t in ordered), re.IGNORECASE)


def _automaton(terms: list[str]) -> Any:
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for term in set(terms):
        automaton.add_word(term, term)
    automaton.make_automaton()
    return automaton


def parse_patterns(text: str, path: Path, *, extra_hazard_terms: list[str] | None = None) -> NoisePatterns:
    """Parse the data file's text; errors name the file and line."""
    result = NoisePatterns()
    sections: dict[str, tuple[dict[str, str], list[tuple[int, str]]]] = {}
    current: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"\[[a-z_]+\]", line):
            m = _HEADER_RE.match(line)
            if not m:
                raise NoisePatternsError(
                    f"{path}:{lineno}: bad section header {line!r}; expected '[name] key=value ...'"
                )
            current = m.group("name")
            if current in sections:
                raise NoisePatternsError(f"{path}:{lineno}: section [{current}] appears twice")
            sections[current] = (_parse_opts(m.group("opts"), path, lineno), [])
            continue
        if current is None:
            raise NoisePatternsError(f"{path}:{lineno}: line before the first [section] header")
        sections[current][1].append((lineno, line))

    filler: list[str] = []
    hazard: list[str] = list(extra_hazard_terms or [])
    for name, (opts, lines) in sections.items():
        kind = opts.get("kind", "regex")
        rule = Rule(name, drop=float(opts.get("drop", 0.0)), keep=float(opts.get("keep", 1.0)))
        if kind == "regex":
            parts = []
            for lineno, line in lines:
                try:
                    re.compile(line)
                except re.error as exc:
                    raise NoisePatternsError(f"{path}:{lineno}: invalid regular expression {line!r}: {exc}") from None
                parts.append(f"(?:{line})")
            if parts:
                result.rules.append((name, re.compile("|".join(parts), re.MULTILINE)))
        elif kind == "terms":
            words = [line for _, line in lines]
            if name == "filler":
                filler.extend(words)
            elif name == "hazard":
                hazard.extend(words)
            else:
                raise NoisePatternsError(f"{path}: unknown terms section [{name}]; expected [filler] or [hazard]")
        elif lines:
            raise NoisePatternsError(f"{path}:{lines[0][0]}: section [{name}] has kind=none and takes no lines")
        result.weights[name] = rule
    result.filler = _alternation(filler) if filler else None
    hazard = [t.strip() for t in hazard if t.strip()]
    result.hazard = _automaton(hazard) if hazard else None
    return result


@lru_cache(maxsize=8)
def load_patterns(path: Path = PATTERNS_FILE, lexicon_dir: Path | None = LEXICON_DIR) -> NoisePatterns:
    """The data file at `path`, with hazard terms from the tag stage's lexicons added when present."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NoisePatternsError(f"cannot read noise patterns {path}: {exc}") from exc
    extra: list[str] = []
    if lexicon_dir is not None:
        for pattern in HAZARD_LEXICONS:
            extra.extend(lexicon_terms(lexicon_dir, pattern))
    return parse_patterns(text, path, extra_hazard_terms=extra)


# ---------------------------------------------------------------- judging one text


@dataclass
class Verdict:
    reasons: list[str]
    weight: float
    residual: str  # the content left once noise is taken out (compact form)


def _has_repeated_gram(text: str, n: int) -> bool:
    grams = {text[i : i + n] for i in range(len(text) - n + 1)}
    return len(grams) < len(text) - n + 1


def collapse_repetition(text: str) -> tuple[str, int]:
    """`text` with repeated units kept once, and the number of characters taken out."""
    removed = 0

    def once(m: re.Match[str]) -> str:
        nonlocal removed
        if m.group(1).isdigit():  # 10000, 666: numbers, not spam
            return m.group(0)
        removed += len(m.group(0)) - len(m.group(1))
        return m.group(1)

    if _has_repeated_gram(text, _LONG_MIN):  # a phrase of _LONG_MIN+ characters said twice repeats its grams
        text = _LONG_REPEAT_RE.sub(once, text)
    text = _SHORT_REPEAT_RE.sub(once, text)
    return text, removed


def content_units(text: str) -> int:
    """How many content units a text holds: CJK characters, Latin words and digit runs."""
    return len(_UNIT_RE.findall(text))


def is_content_free(text: str, patterns: NoisePatterns, *, short_units: int) -> bool:
    """True when `text` (compact) has no letters, or is short and made of filler words only."""
    letters = re.sub(r"[0-9]+", "", text)
    if not letters:
        return True
    if patterns.has_hazard(text) or content_units(text) > short_units:
        return False
    if patterns.filler is None:
        return False
    return not patterns.filler.sub("", letters)


def assess(
    text: str,
    patterns: NoisePatterns,
    *,
    short_units: int = 8,
    residual_units: int = 4,
    spam_ratio: float = 0.5,
    max_repetition_chars: int = 5000,
) -> Verdict:
    """Reasons and weight for one text (normally the normalized text)."""
    reasons: list[str] = []
    residual_text = text
    for reason, pattern in patterns.rules:
        stripped = pattern.sub(" ", residual_text)
        if stripped != residual_text:
            reasons.append(reason)
            residual_text = stripped
    matched_rule = bool(reasons)
    residual = compact(residual_text)
    head = residual[:max_repetition_chars]
    collapsed, removed = collapse_repetition(head)
    if head and removed / len(head) >= spam_ratio:
        reasons.append(SPAM_REPETITION)
    collapsed += residual[max_repetition_chars:]
    hazard = patterns.has_hazard(text)
    # Once a rule matched, a few leftover units ("5元领取") are the rule's own debris.
    empty = not hazard and (
        is_content_free(collapsed, patterns, short_units=short_units)
        or (matched_rule and content_units(collapsed) <= residual_units)
    )
    if empty and not matched_rule:
        reasons.append(CONTENT_FREE)
    if not reasons:
        return Verdict([], 1.0, collapsed)
    if hazard:
        return Verdict(reasons, 1.0, collapsed)
    weight = min(patterns.weight(r, dropped=empty) for r in reasons)
    return Verdict(reasons, weight, collapsed)


@stage("denoise", reads=("normalized_text", "document.text"), writes=("noise", "weight"))
def make_denoise(
    ctx: StageContext,
    *,
    patterns_file: str | None = None,
    short_units: int = 8,
    residual_units: int = 4,
    spam_ratio: float = 0.5,
    max_repetition_chars: int = 5000,
    use_lexicons: bool = True,
) -> BatchFn:
    """Flag template, advertising, repetition-spam and content-free texts; set noise reasons and weight.

    short_units: a text of at most this many units (CJK characters, words) made only of generic
    praise/complaint words is content-free.
    residual_units: a template/advertising text with at most this many units left beside the
    matched parts has nothing else to say.
    spam_ratio: share of the text taken by repetition above which it is spam.
    patterns_file: replaces riskmine/nlp/data/noise_patterns.txt.
    """
    path = Path(patterns_file) if patterns_file else PATTERNS_FILE
    patterns = load_patterns(path, LEXICON_DIR if use_lexicons else None)

    def run(batch: list[Signal]) -> list[Signal]:
        for sig in batch:
            verdict = assess(
                sig.normalized_text or sig.document.text,
                patterns,
                short_units=short_units,
                residual_units=residual_units,
                spam_ratio=spam_ratio,
                max_repetition_chars=max_repetition_chars,
            )
            sig.noise = verdict.reasons
            sig.weight = verdict.weight
        return batch

    return run
