"""A cache of serialised responses for the read-heavy list views (the candidate queue API; one per app, held by
:class:`riskmine.api.state.AppState`).

Entries are keyed by what determines the response: the endpoint, the full query, the caller's scope, the store's
data version of the collections it reads (:meth:`riskmine.store.base.Store.data_version`, which changes with every
write by any process, so an entry is never served for data it was not computed from) and, for views that show
times relative to now, a clock step. Nothing expires by time: a new version is a new key, and the old entries
age out of the LRU.

A miss is computed once: concurrent requests for the same key wait for the first one's result (single flight),
so a write or a new clock step under load costs one computation, not one per waiting client. Each entry carries a
strong ETag (a hash of the body); a request whose ``If-None-Match`` names it gets 304 Not Modified.

A view may also name the *variant* its entry was computed for (the data version, the clock step: what besides the
query decides it, for a reader who sees everything); the fast path (:mod:`riskmine.api.fastpath`) then answers the
same query in the same variant from this cache, ahead of the middleware and the routing (:class:`Published`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

DEFAULT_MAX_ENTRIES = 512


@dataclass(frozen=True)
class Entry:
    body: bytes
    etag: str  # quoted, as the header carries it


def make_entry(body: bytes) -> Entry:
    return Entry(body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')


class _Flight:
    """One computation in progress; waiters block on `done`."""

    __slots__ = ("done", "entry", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: Entry | None = None
        self.error: BaseException | None = None


class ResponseCache:
    """An LRU of :class:`Entry` with single-flight refill; safe to share between threads."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0  # computations started

    def get(self, key: Hashable, compute: Callable[[], bytes]) -> Entry:
        """The entry of `key`, computing its body with `compute` when it has none. While one thread computes a
        key, others asking for it wait and share the result (or its exception, which is not cached)."""
        with self._lock:
            entry = self._hit(key)
            if entry is not None:
                return entry
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
                self.misses += 1
            else:
                self.hits += 1
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.entry is not None
            return flight.entry
        try:
            flight.entry = make_entry(compute())
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
                if flight.entry is not None:
                    self._entries[key] = flight.entry
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
            flight.done.set()
        return flight.entry

    def peek(self, key: Hashable) -> Entry | None:
        """The entry of `key` if it has one (counted as a hit), without computing anything."""
        with self._lock:
            return self._hit(key)

    def _hit(self, key: Hashable) -> Entry | None:
        """Under the lock: the entry of `key`, made the most recent and counted as a hit; None when it has none."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            self.hits += 1
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def clock_step(seconds: float) -> int:
    """The current step of `seconds`: part of the key of a view that shows times relative to now (a cached one
    is then at most `seconds` behind the clock)."""
    return int(time.time() // seconds)


def json_body(content: Any) -> bytes:
    """`content` serialised exactly as FastAPI serialises a returned dict."""
    return bytes(JSONResponse(jsonable_encoder(content)).body)


# The ASGI scope key under which the fast path asks a view which cache entry answered it (riskmine.api.fastpath).
PUBLISH_SCOPE_KEY = "riskmine.cache.published"


class Published:
    """What a cached view answered with, for the fast path: the cache key and the variant it was computed for."""

    __slots__ = ("key", "variant")

    def __init__(self) -> None:
        self.key: Hashable | None = None
        self.variant: Hashable | None = None


def cached_json(
    request: Request,
    cache: ResponseCache,
    key: Hashable,
    compute: Callable[[], Any],
    *,
    variant: Hashable | None = None,
) -> Response:
    """The JSON response of `key` from `cache` (computing it with `compute` on a miss), or 304 Not Modified when
    the request's If-None-Match names its ETag. `variant` (None: none) is published for the fast path: it must be
    exactly what, besides the request's query, `key` was made of (the caller sees everything)."""
    entry = cache.get(key, lambda: json_body(compute()))
    published = request.scope.get(PUBLISH_SCOPE_KEY)
    if variant is not None and isinstance(published, Published):
        published.key, published.variant = key, variant
    return entry_response(entry, request.headers.get("if-none-match"))


def entry_response(entry: Entry, if_none_match: str | None) -> Response:
    """The response of a cache entry: its body as JSON, or 304 Not Modified when `if_none_match` names its ETag."""
    headers = {"ETag": entry.etag}
    if _matches(if_none_match, entry.etag):
        return Response(status_code=304, headers=headers)
    return Response(entry.body, media_type="application/json", headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
