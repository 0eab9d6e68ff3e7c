"""The backend-independent contract of riskmine.crawler.seen.SeenStore (the crawl state).

A backend's tests subclass :class:`SeenStoreContract` and supply a ``make_seen`` fixture: a callable that
opens a new handle on the same, initially empty state (as another crawler process would).
"""

from __future__ import annotations

from collections.abc import Callable

from riskmine.crawler.seen import SeenStore


class SeenStoreContract:
    def test_pages_are_remembered_per_source(self, make_seen: Callable[[], SeenStore]) -> None:
        seen = make_seen()
        try:
            assert not seen.has("news", "https://example.org/a")
            seen.add("news", "https://example.org/a")
            seen.add("news", "https://example.org/a")  # again: nothing changes
            seen.add("news", " https://example.org/b ")
            seen.add("recalls", "https://example.org/a")
            assert seen.has("news", "https://example.org/a") and seen.has("news", "https://example.org/b")
            assert not seen.has("complaints", "https://example.org/a")
            assert (seen.count("news"), seen.count("recalls"), seen.count("complaints"), seen.count()) == (2, 1, 0, 3)
        finally:
            seen.close()

    def test_a_second_process_sees_what_the_first_stored(self, make_seen: Callable[[], SeenStore]) -> None:
        first, second = make_seen(), make_seen()
        try:
            first.add("news", "https://example.org/长文/1")
            assert second.has("news", "https://example.org/长文/1")
            second.add("news", "https://example.org/长文/2")
            assert first.count("news") == 2
        finally:
            first.close()
            second.close()
        reopened = make_seen()
        try:
            assert reopened.count() == 2
        finally:
            reopened.close()
