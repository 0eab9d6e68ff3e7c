"""Fetching a station's feed from a URL: through the public-address guard at every redirect hop, with
a size limit, against a local HTTP server on 127.0.0.1 (allowed only with allow_private)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from riskmine.feeds.fetch import FeedFetchError, FeedTooLarge, fetch_feed
from riskmine.feeds.netguard import UnsafeUrlError

FEED = "涉及产品,风险信息内容\n电热毯,局部过热烧焦床单\n".encode()
ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/files/report.csv": (200, {"Content-Type": "text/csv"}, FEED),
    "/to-feed": (302, {"Location": "/files/report.csv"}, b""),
    "/to-multicast": (302, {"Location": "http://224.0.0.1/x.csv"}, b""),
    "/to-ftp": (301, {"Location": "ftp://8.8.8.8/x.csv"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/big.csv": (200, {"Content-Type": "text/csv"}, b"x" * 5000),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, headers, body = ROUTES.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_loopback_is_refused_unless_private_addresses_are_allowed(base: str) -> None:
    with pytest.raises(UnsafeUrlError, match=r"loopback address 127\.0\.0\.1"):
        fetch_feed(f"{base}/files/report.csv", max_bytes=10_000)
    fetched = fetch_feed(f"{base}/to-feed", max_bytes=10_000, allow_private=True)
    assert fetched.content == FEED and fetched.filename == "report.csv" and fetched.media_type == "text/csv"
    assert fetched.url == f"{base}/files/report.csv"


def test_every_redirect_hop_is_checked(base: str) -> None:
    with pytest.raises(UnsafeUrlError, match=r"multicast address 224\.0\.0\.1"):
        fetch_feed(f"{base}/to-multicast", max_bytes=10_000, allow_private=True)
    with pytest.raises(UnsafeUrlError, match="ftp: is not allowed"):
        fetch_feed(f"{base}/to-ftp", max_bytes=10_000, allow_private=True)
    with pytest.raises(FeedFetchError, match="more than 3 redirects"):
        fetch_feed(f"{base}/loop", max_bytes=10_000, allow_private=True)


def test_size_limit_and_errors(base: str) -> None:
    with pytest.raises(FeedTooLarge, match="5,000 bytes, over the 1,000 limit"):
        fetch_feed(f"{base}/big.csv", max_bytes=1_000, allow_private=True)
    with pytest.raises(FeedFetchError, match="HTTP 404"):
        fetch_feed(f"{base}/nothing.csv", max_bytes=1_000, allow_private=True)
    with pytest.raises(FeedFetchError, match="could not be fetched"):
        fetch_feed("http://127.0.0.1:9/feed.csv", max_bytes=1_000, allow_private=True, timeout=5)
