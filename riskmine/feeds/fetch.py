"""Fetching a station's feed file from a URL the station gives, through the public-address guard.

Every hop is checked (redirects are followed by hand, each new address checked again), the body is
read in chunks and refused once it passes the size limit, and the scheme must be http or https.
A host name is resolved once by the guard and once more by the HTTP client when it connects: a DNS
answer that changes between the two (rebinding) is not caught here; fetch from a network whose
egress firewall also blocks private ranges where that matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from riskmine.feeds.netguard import Resolver, require_public_url
from riskmine.feeds.rows import FeedError

__all__ = ["FeedFetchError", "FeedTooLarge", "FetchedFeed", "fetch_feed"]

MAX_REDIRECTS = 3
USER_AGENT = "riskmine-feed-fetcher/0.1 (station feed)"


class FeedFetchError(FeedError):
    """The feed URL could not be fetched (network error, HTTP error status, too many redirects)."""

    code = "feed_fetch_failed"


class FeedTooLarge(FeedError):
    code = "payload_too_large"


@dataclass(frozen=True)
class FetchedFeed:
    content: bytes
    url: str  # the address finally fetched
    filename: str | None
    media_type: str | None


def _filename(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


def fetch_feed(
    url: str,
    *,
    max_bytes: int,
    allow_private: bool = False,
    resolver: Resolver | None = None,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> FetchedFeed:
    """GET the feed file at a user-supplied URL. Raises UnsafeUrlError for an address that must not be
    fetched (at any hop), FeedTooLarge past max_bytes, FeedFetchError for other failures."""
    current = url
    with httpx.Client(
        follow_redirects=False, timeout=timeout, transport=transport, headers={"User-Agent": USER_AGENT}
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            require_public_url(current, allow_private=allow_private, resolver=resolver)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FeedFetchError(f"{current}: redirect without a Location header")
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise FeedFetchError(f"{current}: the server answered HTTP {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FeedTooLarge(
                            f"{current}: the file is {int(declared):,} bytes, over the {max_bytes:,} limit"
                        )
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FeedTooLarge(f"{current}: the file is larger than the {max_bytes:,} bytes limit")
                        chunks.append(chunk)
                    media = response.headers.get("content-type")
                    return FetchedFeed(b"".join(chunks), current, _filename(current), media)
            except httpx.HTTPError as exc:
                raise FeedFetchError(f"{current}: could not be fetched ({type(exc).__name__}: {exc})") from None
    raise FeedFetchError(f"{url}: more than {MAX_REDIRECTS} redirects")
