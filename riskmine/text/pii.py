"""Personal data masked in every stored text field of a document, before it is stored or indexed.

:func:`riskmine.text.normalize.mask_pii` masks one text; :func:`mask_document` applies it to the
title, text, product, shop, brand, enterprise and region of a :class:`RawDocument`, to every string
(and every whole number, which may be a phone number read from a spreadsheet) in its meta, however
deeply nested (except the private keys below), and to its url. A url stays an absolute http(s)
address: personal data is masked inside its path segments, query values and fragment with a
percent-encoded placeholder, and a user name or password holding personal data is dropped.

The document keeps its id (computed from the text as received), so a document sent again is still
recognised as a duplicate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from riskmine.schema import RawDocument
from riskmine.text.normalize import mask_pii

__all__ = ["MASKED_FIELDS", "PRIVATE_META_KEYS", "mask_document", "mask_url", "mask_value"]

# The RawDocument text fields masked as text; url and meta have their own rules.
MASKED_FIELDS = ("title", "text", "product", "shop", "brand", "enterprise", "region")
# Meta keys kept as given: a reporter's own contact, for follow-up, which only admins are shown
# (the API leaves these keys out for everyone but admins: riskmine.api.views).
PRIVATE_META_KEYS = frozenset({"contact"})


def mask_value(value: Any) -> Any:
    """`value` with personal data masked in every string, and in every whole number that is one."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e20):
        digits = str(int(value))
        masked = mask_pii(digits)
        return value if masked == digits else masked
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value


def _mask_part(part: str, *, plus: bool = False) -> str:
    """One path segment, query value or fragment: masked (percent-encoded) if it holds personal data."""
    plain = unquote_plus(part) if plus else unquote(part)
    masked = mask_pii(plain)
    return part if masked == plain else quote(masked, safe="")


def _mask_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq:
            pairs.append(f"{key}={_mask_part(value, plus=True)}")
        else:
            pairs.append(_mask_part(key, plus=True))
    return "&".join(pairs)


def mask_url(url: str) -> str:
    """`url` with personal data masked and the address kept valid (see the module docstring)."""
    plain = unquote_plus(url)
    if mask_pii(plain) == plain:
        return url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return mask_pii(url)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and mask_pii(unquote(userinfo)) != unquote(userinfo):
        netloc = host
    path = "/".join(_mask_part(segment) for segment in parts.path.split("/"))
    query = _mask_query(parts.query) if parts.query else ""
    fragment = _mask_part(parts.fragment) if parts.fragment else ""
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def mask_document(document: RawDocument) -> RawDocument:
    """`document` with personal data masked in every stored text field (the same object when none is found)."""
    update: dict[str, Any] = {}
    for name in MASKED_FIELDS:
        value = getattr(document, name)
        if value:
            masked = mask_pii(value)
            if masked != value:
                update[name] = masked
    if document.url:
        masked_url = mask_url(document.url)
        if masked_url != document.url:
            update["url"] = masked_url
    if document.meta:
        masked_meta = {
            key: value if key in PRIVATE_META_KEYS else mask_value(value) for key, value in document.meta.items()
        }
        if masked_meta != document.meta:
            update["meta"] = masked_meta
    return document.model_copy(update=update) if update else document
