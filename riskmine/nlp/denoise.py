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
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from riskmine.nlp.base import BatchFn, StageContext, stage
from riskmine.schema import Signal
from riskmine.schema.errors import RiskmineError
from riskmine.text.matching import PatternGate, TermGate
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
_DIGITS_RE = re.compile(r"[0-9]+")


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
    hazard_gate: TermGate | None = None  # the texts of a batch that hold no hazard term (see prime)
    rule_gates: list[PatternGate] = field(default_factory=list)  # per rule: can a text match it at all?

    def weight(self, reason: str, *, dropped: bool) -> float:
        rule = self.weights.get(reason)
        if rule is None:
            return 0.0 if dropped else 1.0
        return rule.drop if dropped else rule.keep

    def has_hazard(self, text: str) -> bool:
        if self.hazard is None or not text:
            return False
        if self.hazard_gate is not None and self.hazard_gate.holds_none(text):
            return False
        return next(self.hazard.iter(text), None) is not None

    def prime(self, texts: Sequence[str]) -> None:
        """Find the texts of a batch that hold no hazard term at once, so that :meth:`has_hazard` skips them."""
        if self.hazard_gate is not None:
            self.hazard_gate.prime(texts)


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
                result.rule_gates.append(PatternGate([result.rules[-1][1]]))
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
    result.hazard_gate = TermGate(hazard) if hazard else None
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


# Position keys of the 9-character windows hashed by repetition_gates (odd, so that no character is lost).
_WINDOW_KEYS = (np.arange(_LONG_MIN, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C16)) | np.uint64(1)
_MIX_KEY = np.uint64(0xBF58476D1CE4E5B9)


def repetition_gates(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """For each text, with numpy over the whole batch: may it hold a unit of up to 8 characters said three
    times running, and a run of _LONG_MIN characters said twice (the two repetitions collapse_repetition
    takes out)? False is certain (no such repetition, so its search would find nothing); True may be wrong
    (a hash collision, or two texts meeting), which only costs the search."""
    n = len(texts)
    short = np.zeros(n, dtype=bool)
    long = np.zeros(n, dtype=bool)
    if not n:
        return short, long
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    points = np.frombuffer("\x00".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    row = np.repeat(np.arange(n, dtype=np.int64), lengths + 1)[: len(points)]
    for unit in range(1, 9):  # c[i] = c[i+unit] = c[i+2·unit]: the first character of a unit said three times
        span = len(points) - 2 * unit
        if span <= 0:
            break
        head = points[:span]
        short[row[:span][(head == points[unit : unit + span]) & (head == points[2 * unit :])]] = True
    windows = len(points) - _LONG_MIN + 1
    if windows > 1:
        cps = points.astype(np.uint64)
        h = np.zeros(windows, dtype=np.uint64)
        for j in range(_LONG_MIN):
            h += cps[j : j + windows] * _WINDOW_KEYS[j]  # uint64 arithmetic wraps
        # mixed (the sum alone varies little in its high bits), then its low bits replaced by the window's
        # text: two equal values are one window found twice in one text (or, rarely, a collision)
        h ^= h >> np.uint64(31)
        h *= _MIX_KEY
        h ^= h >> np.uint64(29)
        low = np.uint64((1 << max(1, (n - 1).bit_length())) - 1)
        h = (h & ~low) | row[:windows].astype(np.uint64)
        h.sort()  # a sort of the values alone, cheaper than an argsort
        long[(h[1:][h[1:] == h[:-1]] & low).astype(np.intp)] = True
    return short, long


def collapse_repetition(text: str, gates: tuple[bool, bool] | None = None) -> tuple[str, int]:
    """`text` with repeated units kept once, and the number of characters taken out.

    gates: what :func:`repetition_gates` said of the text (a False skips that search).
    """
    removed = 0

    def once(m: re.Match[str]) -> str:
        nonlocal removed
        if m.group(1).isdigit():  # 10000, 666: numbers, not spam
            return m.group(0)
        removed += len(m.group(0)) - len(m.group(1))
        return m.group(1)

    short, long = gates if gates is not None else (True, _has_repeated_gram(text, _LONG_MIN))
    if long:  # a phrase of _LONG_MIN+ characters said twice repeats its grams
        collapsed = _LONG_REPEAT_RE.sub(once, text)
        short = short or collapsed != text  # taking a phrase out may bring repeats together
        text = collapsed
    if short:
        text = _SHORT_REPEAT_RE.sub(once, text)
    return text, removed


def content_units(text: str) -> int:
    """How many content units a text holds: CJK characters, Latin words and digit runs."""
    return _UNIT_RE.subn("", text)[1]  # the matches counted, not collected


def _more_units_than(text: str, limit: int) -> bool:
    """``content_units(text) > limit``, counted on a head of the text first: a head holds no more units than
    the whole (a unit cut at its end is still one), and one of a few characters each already holds more."""
    head = text[: 2 * limit + 2]
    if len(head) < len(text) and content_units(head) > limit:
        return True
    return content_units(text) > limit


def is_content_free(text: str, patterns: NoisePatterns, *, short_units: int) -> bool:
    """True when `text` (compact) has no letters, or is short and made of filler words only."""
    letters = _DIGITS_RE.sub("", text)
    if not letters:
        return True
    if _more_units_than(text, short_units) or patterns.has_hazard(text):
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
    reasons, residual = _strip_rules(text, patterns)
    return _judge(
        text,
        reasons,
        residual,
        None,
        patterns,
        short_units=short_units,
        residual_units=residual_units,
        spam_ratio=spam_ratio,
        max_repetition_chars=max_repetition_chars,
    )


def assess_batch(
    texts: Sequence[str],
    patterns: NoisePatterns,
    *,
    short_units: int = 8,
    residual_units: int = 4,
    spam_ratio: float = 0.5,
    max_repetition_chars: int = 5000,
) -> list[Verdict]:
    """:func:`assess` for each text, the same verdicts: the hazard terms and the repetitions are
    looked for over the whole batch at once first, and texts that cannot hold them are not searched."""
    patterns.prime(texts)
    stripped = [_strip_rules(text, patterns) for text in texts]
    short, long = repetition_gates([residual[:max_repetition_chars] for _, residual in stripped])
    return [
        _judge(
            text,
            reasons,
            residual,
            (bool(short[i]), bool(long[i])),
            patterns,
            short_units=short_units,
            residual_units=residual_units,
            spam_ratio=spam_ratio,
            max_repetition_chars=max_repetition_chars,
        )
        for i, (text, (reasons, residual)) in enumerate(zip(texts, stripped, strict=True))
    ]


def _strip_rules(text: str, patterns: NoisePatterns) -> tuple[list[str], str]:
    """The reasons whose patterns match, and the compact text left once their matches are taken out."""
    reasons: list[str] = []
    residual_text = text
    gates = patterns.rule_gates if len(patterns.rule_gates) == len(patterns.rules) else None
    for i, (reason, pattern) in enumerate(patterns.rules):
        if gates is not None and not gates[i].may_match(residual_text):
            continue  # it holds none of the words every match of the rule holds
        stripped = pattern.sub(" ", residual_text)
        if stripped != residual_text:
            reasons.append(reason)
            residual_text = stripped
    return reasons, compact(residual_text)


def _judge(
    text: str,
    reasons: list[str],
    residual: str,
    gates: tuple[bool, bool] | None,
    patterns: NoisePatterns,
    *,
    short_units: int,
    residual_units: int,
    spam_ratio: float,
    max_repetition_chars: int,
) -> Verdict:
    matched_rule = bool(reasons)
    head = residual[:max_repetition_chars]
    collapsed, removed = collapse_repetition(head, gates)
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
        verdicts = assess_batch(
            [sig.normalized_text or sig.document.text for sig in batch],
            patterns,
            short_units=short_units,
            residual_units=residual_units,
            spam_ratio=spam_ratio,
            max_repetition_chars=max_repetition_chars,
        )
        for sig, verdict in zip(batch, verdicts, strict=True):
            sig.noise = verdict.reasons
            sig.weight = verdict.weight
        return batch

    return run
