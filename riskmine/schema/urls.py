"""Which document addresses are web addresses: absolute http(s) URLs only.

A browser drops tabs and line breaks anywhere in a URL and control characters and spaces around
it, so ``"java\\tscript:"`` and ``"\\x01javascript:"`` run script; such an address is never a web
address. Nor is a relative or protocol-relative one (``//evil.example/x``): its meaning depends on
the page it is shown on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
SCRIPT_SCHEMES = ("javascript:", "vbscript:", "data:", "file:")
# Where ingest keeps an address that is not a web address (the document's url is then None).
URL_ORIGINAL_META_KEY = "url_original"


def _has_control_or_space(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in text)


def web_url(url: str | None) -> str | None:
    """The URL (without surrounding spaces) if it is an absolute http(s) URL, else None."""
    if not url:
        return None
    text = url.strip()
    if not text or _has_control_or_space(text) or "\\" in text:
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not host:
        return None
    return text


def is_script_url(url: str) -> bool:
    """Whether a browser would read `url` as a script or local address (javascript:, data:, ...)."""
    compact = "".join(c for c in url.lower() if not (ord(c) <= 32 or ord(c) == 127 or c.isspace()))
    return compact.startswith(SCRIPT_SCHEMES)
