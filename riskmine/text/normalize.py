"""Text normalisation: one canonical form for every text, personal data masked.

Order of operations for each text: HTML tags and entities stripped (script/style
bodies dropped), Unicode NFKC (full width → half width), traditional → simplified
Chinese (OpenCC t2s), control and invisible characters removed, whitespace
collapsed, personal data masked (mobile and landline numbers, 18-digit ID-card
numbers, bank card numbers that pass the Luhn check, e-mail addresses, QQ/WeChat
account numbers).

Every step is linear in the length of the text: HTML is scanned with bounded
patterns, and OpenCC (whose matcher slows down on long unbroken runs) is fed
windows of at most a few thousand characters, and only texts holding a
character it would change.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- HTML

# Elements whose content is never text to keep.
_DROP_CONTENT = ("script", "style", "noscript", "template", "iframe", "object", "svg", "math", "head", "textarea")


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Elements that break a line (so words on both sides do not run together), and the others.
_BLOCK = _names(
    "address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption figure footer "
    "form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead title tr ul"
)
_INLINE = _names(
    "a abbr area audio b base basefont bdi bdo big body button canvas center cite code col colgroup data datalist "
    "del dfn em embed font frame frameset html i img input ins kbd label legend link map mark menu meta meter "
    "option optgroup output param picture progress q rp rt ruby s samp select small source span strike strong "
    "sub sup time track tt u var video wbr"
)
_KNOWN_TAGS = _BLOCK | _INLINE | frozenset(_DROP_CONTENT)
# A start or end tag: bounded attribute length and no "<" inside, so a stray "<" costs bounded work.
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]{0,15}(?:-[A-Za-z0-9-]{1,40})?)(?:[\s/][^<>]{0,4000})?>")
_DECL_RE = re.compile(r"<[!?][^<>]{0,4000}>")
_END_TAG_RE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _DROP_CONTENT}
_LOOKS_LIKE_HTML = re.compile(r"<[A-Za-z/!?]|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def strip_html(text: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, script/style bodies dropped.

    Only known HTML element names (and custom elements, which hold a hyphen) are
    treated as tags, so text such as "价格<100元" or "<三体>" is kept as written.
    Comments, declarations and an unclosed <script> run to the end of the text.
    Markup that was escaped once more (feeds often carry "&lt;p&gt;") is stripped too.
    """
    for _ in range(2):
        if not _LOOKS_LIKE_HTML.search(text):
            break
        text = _strip_html_once(text)
    return text


def _strip_html_once(text: str) -> str:
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("<", i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if text.startswith("<!--", j):
            k = text.find("-->", j + 4)
            i = n if k < 0 else k + 3
            continue
        m = _TAG_RE.match(text, j)
        if m:
            name = m.group(2).lower()
            if name in _KNOWN_TAGS or "-" in name:
                i = m.end()
                if not m.group(1) and name in _END_TAG_RE and not m.group(0).endswith("/>"):
                    end = _END_TAG_RE[name].search(text, i)
                    i = n if end is None else end.end()
                    out.append(" ")
                elif name in _BLOCK:
                    out.append("\n")
                continue
        d = _DECL_RE.match(text, j)
        if d:
            i = d.end()
            continue
        out.append("<")
        i = j + 1
    plain = "".join(out)
    return html.unescape(plain) if "&" in plain else plain


# ---------------------------------------------------------------- traditional → simplified

_T2S_WINDOW = 2000
_OPENCC_SEPARATORS = set(" \t\n-,.?!*　，。、；：？！…“”‘’『』「」—－（）《》〈〉～．／＼【】")


@lru_cache(maxsize=1)
def _opencc() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=1)
def _traditional_chars() -> frozenset[str]:
    """Characters whose presence means t2s may change the text (from OpenCC's own dictionaries)."""
    import opencc

    folder = Path(opencc.__file__).resolve().parent / "dictionary"
    chars: set[str] = set()
    with (folder / "TSCharacters.txt").open(encoding="utf-8") as f:
        for line in f:
            key, _, values = line.rstrip("\n").partition("\t")
            if values and values.split(" ")[0] != key:
                chars.update(key)
    with (folder / "TSPhrases.txt").open(encoding="utf-8") as f:
        for line in f:
            key, _, values = line.rstrip("\n").partition("\t")
            value = values.split(" ")[0]
            if not value or value == key or not chars.isdisjoint(key):
                continue
            if len(value) == len(key):
                chars.update(a for a, b in zip(key, value, strict=True) if a != b)
            else:
                chars.update(key)
    return frozenset(chars)


_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _traditional_res() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Character classes of :func:`_traditional_chars`, those of the Basic Multilingual Plane (a lookup table
    in re, one search in C) and the others (looked for only in a text holding such a character)."""
    chars = sorted(_traditional_chars())

    def one_of(cs: list[str]) -> re.Pattern[str]:
        return re.compile("[" + "".join(re.escape(c) for c in cs) + "]" if cs else "(?!)")

    return one_of([c for c in chars if c <= "\uffff"]), one_of([c for c in chars if c > "\uffff"])


def has_traditional(text: str) -> bool:
    bmp, astral = _traditional_res()
    if bmp.search(text) is not None:
        return True
    return _ASTRAL_RE.search(text) is not None and astral.search(text) is not None


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese with OpenCC t2s; text without traditional characters is returned as is."""
    if not has_traditional(text):
        return text
    cc = _opencc()
    if len(text) <= _T2S_WINDOW:
        return str(cc.convert(text))
    parts: list[str] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(start + _T2S_WINDOW, n)
        if end < n:
            # Cut after the last separator in the window's second half, so phrases stay whole.
            for k in range(end - 1, start + _T2S_WINDOW // 2, -1):
                if text[k] in _OPENCC_SEPARATORS:
                    end = k + 1
                    break
        parts.append(str(cc.convert(text[start:end])))
        start = end
    return "".join(parts)


# ---------------------------------------------------------------- characters and whitespace

# C0/C1 controls (except tab and newlines), zero-width and bidi controls, BOM, interlinear
# annotation marks, lone surrogates, the replacement character and soft hyphen.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffd"
    "\ud800-\udfff]"
)
_LINE_BREAK_RE = re.compile(r"\r\n?|[\u2028\u2029\x85]")
_SPACES_RE = re.compile(r"[^\S\n]+")
_NEWLINES_RE = re.compile(r" ?\n[\s]*")
# Whatever one of the four substitutions below would change: a line break other than "\n", an invisible
# character, whitespace other than " " and "\n", or two whitespace characters in a row. A text holding
# none of these is only stripped (the substitutions would give it back unchanged).
_WHITESPACE_WORK_RE = re.compile(_INVISIBLE_RE.pattern[:-1] + r"\r\u2028\u2029\x85]|[^\S \n]|\s\s")


def clean_whitespace(text: str) -> str:
    """Remove control/invisible characters, unify line breaks, collapse runs of whitespace."""
    if _WHITESPACE_WORK_RE.search(text) is None:
        return text.strip()
    text = _LINE_BREAK_RE.sub("\n", text)
    text = _INVISIBLE_RE.sub("", text)
    text = _SPACES_RE.sub(" ", text)
    text = _NEWLINES_RE.sub("\n", text)
    return text.strip()


# ---------------------------------------------------------------- personal data

PHONE_MASK = "[电话]"
ID_CARD_MASK = "[身份证]"
EMAIL_MASK = "[邮箱]"
ACCOUNT_MASK = "[账号]"
BANK_CARD_MASK = "[银行卡]"

# Full-width ASCII and the ideographic space folded one-for-one, so spans found in the
# folded text are spans of the original.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FOLDABLE_RE = re.compile("[\uff01-\uff5e\u3000]")  # a text without these folds to itself (NFKC text never has them)

_PII_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
        ),
        EMAIL_MASK,
    ),
    (
        re.compile(
            r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]"
            r"(?![0-9])"
        ),
        ID_CARD_MASK,
    ),
    (re.compile(r"(?<![0-9+])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])"), PHONE_MASK),
    (re.compile(r"(?<![0-9])(?:\(0[0-9]{2,3}\)|0[0-9]{2,3})[ -]?[2-9][0-9]{6,7}(?![0-9])"), PHONE_MASK),
)
# A bank card number: 16 to 19 digits, written in groups of four or not; masked only when it passes
# the Luhn check, so order and tracking numbers of the same length are kept.
_BANK_CARD_RE = re.compile(r"(?<![0-9])([0-9]{4}(?:[ -]?[0-9]{4}){3})([ -]?[0-9]{1,3})?(?![0-9])")
_NOT_DIGIT_RE = re.compile(r"[^0-9]")


def luhn_valid(number: str) -> bool:
    """Whether a string of digits passes the Luhn check (the check digit of bank card numbers)."""
    total = 0
    for i, c in enumerate(reversed(number)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _bank_cards(folded: str) -> Iterator[tuple[int, int]]:
    """Spans of the bank card numbers in `folded`; a number grouped "4-4-4-4 3" whose 19 digits fail the
    check is tried as its first 16."""
    for m in _BANK_CARD_RE.finditer(folded):
        if luhn_valid(_NOT_DIGIT_RE.sub("", m.group(0))):
            yield m.start(), m.end()
        elif m.group(2) and not m.group(2)[0].isdigit() and luhn_valid(_NOT_DIGIT_RE.sub("", m.group(1))):
            yield m.start(), m.end(1)


# An account number right after the name of the messenger: "加qq 673946022", "微信号：abc_123".
_ACCOUNT_RE = re.compile(
    r"(?i)(?:qq|扣扣|企鹅|微信|薇信|威信|v信|vx|wx|weixin|wechat)(?:号|号码)?\s?[:：]?\s?([A-Za-z][A-Za-z0-9_-]{4,19}|[0-9]{5,12})"
    r"(?![A-Za-z0-9_-])"
)


# Every pattern above needs one of these in the (folded) text: a run of three digits, an
# "@", or a messenger's name; most texts have none and skip the patterns.
_PII_HINT_RE = re.compile(r"(?i)[0-9]{3}|@|qq|扣扣|企鹅|微信|薇信|威信|v信|vx|wx|weixin|wechat")


def _unfolded_hint(words: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Searches over the text as written that find something wherever a run of four digits, "@" or a
    messenger's name would be found in the folded text (each ASCII character also as its full-width form,
    in either case): the whole hint, and a class of the characters it can start with (a fast first search;
    the hint is then looked for from there on)."""

    # every character that may fold to, or match ignoring case, an ASCII one (re's own extras: ı ſ K)
    pool = [chr(c) for c in (*range(0x21, 0x7F), *range(0xFF01, 0xFF5F), 0x131, 0x17F, 0x212A)]

    def forms(c: str) -> list[str]:
        pattern = re.compile(re.escape(c), re.IGNORECASE)
        return sorted({c, *(x for x in pool if pattern.fullmatch(x.translate(_FOLD)))})

    def one_of(cs: list[str]) -> str:
        return "[" + "".join(re.escape(f) for f in cs) + "]" if len(cs) > 1 else re.escape(cs[0])

    digits = [chr(c) for c in range(ord("0"), ord("9") + 1)] + [chr(c) for c in range(ord("０"), ord("９") + 1)]
    # A run of four digits: every digit pattern holds one (an ID card 18, a landline 7, a mobile number and a
    # bank card number groups of 4); _PII_HINT_RE's three is then checked on the folded text.
    hint = "|".join([one_of(digits) + "{4}", *("".join(one_of(forms(c)) for c in w) for w in words)])
    first = sorted({*digits, *(f for w in words for f in forms(w[0]))})
    return re.compile(hint), re.compile(one_of(first))


# The messenger names of _PII_HINT_RE and _ACCOUNT_RE (matched ignoring case).
_PII_HINT_UNFOLDED_RE, _PII_FIRST_RE = _unfolded_hint(
    ("@", "qq", "扣扣", "企鹅", "微信", "薇信", "威信", "v信", "vx", "wx", "weixin", "wechat")
)


def _may_hold_pii(text: str) -> bool:
    """False when no personal-data pattern can match `text` (nor its folded form)."""
    first = _PII_FIRST_RE.search(text)
    return first is not None and _PII_HINT_UNFOLDED_RE.search(text, first.start()) is not None


def mask_pii(text: str) -> str:
    """Replace phone numbers, ID-card and bank card numbers, e-mail addresses and messenger accounts by placeholders."""
    if not _may_hold_pii(text):  # most texts stop here, without being folded
        return text
    folded = text.translate(_FOLD) if _FOLDABLE_RE.search(text) else text
    if not _PII_HINT_RE.search(folded):
        return text
    spans: list[tuple[int, int, str]] = []
    for pattern, mask in _PII_PATTERNS:
        if mask == EMAIL_MASK and "@" not in folded:
            continue
        spans.extend((m.start(), m.end(), mask) for m in pattern.finditer(folded))
    spans.extend((start, end, BANK_CARD_MASK) for start, end in _bank_cards(folded))
    spans.extend((m.start(1), m.end(1), ACCOUNT_MASK) for m in _ACCOUNT_RE.finditer(folded))
    if not spans:
        return text
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    pos = 0
    for start, end, mask in spans:
        if start < pos:  # overlaps an earlier (longer or earlier) match
            continue
        out.append(text[pos:start])
        out.append(mask)
        pos = end
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------- the whole normalisation


def _fold_char(m: re.Match[str]) -> str:
    return chr(ord(m.group()) - 0xFEE0) if m.group() != "\u3000" else " "


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on Chinese text.

    Full-width ASCII and the ideographic space (，！？: most Chinese texts hold some) are first replaced by
    what NFKC makes of them (their compatibility decompositions are those single characters, and both
    have combining class 0, so NFKD and therefore NFKC of the text are unchanged); what is left is then
    usually normalised already, which unicodedata tells at once, without decomposing every character.
    """
    if _FOLDABLE_RE.search(text) is not None:
        text = _FOLDABLE_RE.sub(_fold_char, text)
    return unicodedata.normalize("NFKC", text)


_NON_CONTENT_RE = re.compile(r"[\W_]+")


def normalize_text(text: str, *, mask: bool = True, simplify: bool = True, markup: bool = True) -> str:
    """Canonical form of one text (see the module docstring); "" for blank input."""
    if not text:
        return ""
    if markup:
        text = strip_html(text)
    text = nfkc(text)
    if simplify:
        text = to_simplified(text)
    text = clean_whitespace(text)
    if mask:
        text = mask_pii(text)
    return text


def compact(text: str) -> str:
    """Letters and digits only (any script), lower-cased: the text with punctuation, emoji and spaces stripped."""
    return _NON_CONTENT_RE.sub("", text).lower()


def content_hash(text: str) -> str:
    """Hash for exact dedup: insensitive to punctuation, whitespace, emoji and case.

    A text with no letters or digits at all is hashed on its non-space characters, so
    that "👍👍" and "😡" are not taken for the same content.
    """
    key = compact(text) or "\x00" + "".join(text.split())
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def join_title(title: str, body: str) -> str:
    return f"{title}\n{body}" if title else body
