"""The fast path of the cached list views (issue 18): a pure ASGI middleware, outermost in the app, that answers a
``GET`` of the candidate queue API or the signal search API from the response cache (riskmine.api.cache) without
the rest of the middleware, the routing, the dependency graph and the thread-pool hops of the normal path.

It answers only what the normal path would answer with the same bytes, and hands everything else to it:

* the caller is authenticated exactly as the normal path does it (:func:`riskmine.api.auth.authenticate_request`,
  served by the principal cache) and must pass the same role check (:func:`riskmine.api.deps.check_reader`); a
  failing or missing credential, a revoked token, a disabled user, a role that may not read all go the normal way
  (which answers them, with its error handlers);
* the caller must see everything: a reader scoped to organisations or sources is never served from here;
* the request's path and raw query string, and the view's *variant* (its data version and clock step, from the
  view's own ``list_variant``) must name an entry the view itself published under the same variant: the first
  request of a query (or of a new data version) always goes the normal way, which computes the entry once
  (single flight) and publishes it (:class:`riskmine.api.cache.Published`); the fast path only remembers which
  entry that was;
* the response is made by the same function as the view's (:func:`riskmine.api.cache.entry_response`): the same
  headers, the same ETag, 304 on a matching ``If-None-Match``;
* a request with a body goes the normal way (the body-size limit applies there).

The checks read the principal cache, the users' generation and the store's data version. With SQLite (files) these
are local reads of a few tens of microseconds and run on the event loop; with another store or user repository, or
an API key (whose use is noted now and then: a write), they run on a worker thread (one hop, instead of the normal
path's one per dependency).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from riskmine.api.auth import authenticate_request
from riskmine.api.cache import PUBLISH_SCOPE_KEY, Entry, Published, entry_response
from riskmine.api.deps import check_reader, local_auth, review_db
from riskmine.api.routers import candidates, signals
from riskmine.api.state import AppState
from riskmine.review.repository import ReviewRepository
from riskmine.review.users import User
from riskmine.store.base import Store
from riskmine.store.sqlite import SQLiteStore

# A view's variant for a reader (None: not served from the cache for this reader).
Variant = Callable[[Store, ReviewRepository, User], Hashable | None]

# The cached list views: their path and the function that gives their variant (the view keys on the same one).
ROUTES: dict[str, Variant] = {
    "/api/v1/candidates": candidates.list_variant,
    "/api/v1/signals": signals.list_variant,
}
MAX_ALIASES = 2048


@dataclass(frozen=True)
class _Plan:
    """What the fast path found out about a request: the key of its alias, or why it goes the normal way."""

    alias: tuple[str, bytes, Hashable] | None


class FastPath:
    """Answers cacheable GETs of :data:`ROUTES` from ``state.responses``; everything else goes to ``app``."""

    def __init__(self, app: ASGIApp, state: AppState, routes: dict[str, Variant] | None = None) -> None:
        self.app = app
        self.state = state
        self.routes = ROUTES if routes is None else routes
        # (path, raw query, variant) -> the response cache's key that the view published for them
        self._aliases: OrderedDict[tuple[str, bytes, Hashable], Hashable] = OrderedDict()
        self.served = 0  # answered here (for tests and the bench)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.routes:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if _has_body(request):
            await self.app(scope, receive, send)
            return
        plan = self._plan(request) if self._inline(request) else await run_in_threadpool(self._plan, request)
        if plan.alias is None:
            await self.app(scope, receive, send)
            return
        entry = self._entry(plan.alias)
        if entry is not None:
            self.served += 1
            await entry_response(entry, request.headers.get("if-none-match"))(scope, receive, send)
            return
        published = Published()
        scope[PUBLISH_SCOPE_KEY] = published
        await self.app(scope, receive, send)
        if published.key is not None and published.variant == plan.alias[2]:
            self._remember(plan.alias, published.key)

    def _inline(self, request: Request) -> bool:
        """Whether the checks are local reads cheap enough for the event loop: SQLite files (the store's, the users')
        and no API key (riskmine.api.deps.local_auth)."""
        store = self.state.store
        return isinstance(store, SQLiteStore) and isinstance(store.path, Path) and local_auth(request, self.state)

    def _plan(self, request: Request) -> _Plan:
        state = self.state
        path: str = request.scope["path"]
        store = state.store
        if store is None:
            return _Plan(None)
        try:
            user = authenticate_request(request, state.settings, state.users)
            if user is None:
                return _Plan(None)
            check_reader(user)
            variant = self.routes[path](store, review_db(request, state), user)
        except Exception:  # the normal path decides (and answers the error the same way it always does)
            return _Plan(None)
        if variant is None:
            return _Plan(None)
        return _Plan((path, request.scope.get("query_string", b""), variant))

    def _entry(self, alias: tuple[str, bytes, Hashable]) -> Entry | None:
        key = self._aliases.get(alias)
        if key is None:
            return None
        self._aliases.move_to_end(alias)
        entry = self.state.responses.peek(key)
        if entry is None:  # the response cache dropped it: the normal path computes it again
            del self._aliases[alias]
        return entry

    def _remember(self, alias: tuple[str, bytes, Hashable], key: Hashable) -> None:
        self._aliases[alias] = key
        self._aliases.move_to_end(alias)
        while len(self._aliases) > MAX_ALIASES:
            self._aliases.popitem(last=False)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return (length is not None and length.strip() != "0") or "transfer-encoding" in request.headers
