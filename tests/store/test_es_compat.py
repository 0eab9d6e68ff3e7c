"""elasticsearch-py 9 against an Elasticsearch 8 server: the store asks for the server's major in its
compatibility headers (Elasticsearch 8 refuses `compatible-with=9`), and the major is read from `GET /`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from riskmine.store import es_translate as tr
from riskmine.store.elasticsearch import _compat_transport

elasticsearch = pytest.importorskip("elasticsearch")
CLIENT_MAJOR = int(elasticsearch.__versionstr__.split(".")[0])


def test_server_major_from_the_root_answer() -> None:
    assert tr.server_major({"version": {"number": "8.19.21", "build_flavor": "default"}}) == 8
    assert tr.server_major({"version": {"number": "9.0.0-rc1"}}) == 9
    assert tr.server_major({"version": {"distribution": "opensearch", "number": "2.19.6"}}) == 2
    assert tr.server_major({}) is None and tr.server_major({"version": {"number": "x"}}) is None


class _Server(ThreadingHTTPServer):
    accepts: list[str]


class _Handler(BaseHTTPRequestHandler):
    """Answers like an Elasticsearch 8 node: refuses any compatible-with other than 7 or 8."""

    server: _Server

    def do_GET(self) -> None:
        accept = self.headers.get("Accept", "")
        self.server.accepts.append(accept)
        ok = "compatible-with=9" not in accept
        body = json.dumps(
            {"version": {"number": "8.19.21"}, "tagline": "You Know, for Search"}
            if ok
            else {"error": {"type": "media_type_header_exception"}, "status": 400}
        ).encode()
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def es8() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.accepts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_no_rewrite_unless_the_server_is_older() -> None:
    assert _compat_transport(None) is None
    assert _compat_transport(CLIENT_MAJOR) is None and _compat_transport(CLIENT_MAJOR + 1) is None


@pytest.mark.skipif(CLIENT_MAJOR < 9, reason="elasticsearch-py 8 already asks for compatible-with=8")
def test_an_older_server_is_asked_for_its_own_major(es8: _Server) -> None:
    url = f"http://127.0.0.1:{es8.server_address[1]}"
    plain = elasticsearch.Elasticsearch(url, max_retries=0)
    with pytest.raises(elasticsearch.BadRequestError):
        plain.info()  # what the store got before: 400 media_type_header_exception
    compat = elasticsearch.Elasticsearch(url, max_retries=0, transport_class=_compat_transport(8))
    assert compat.info()["version"]["number"] == "8.19.21"
    assert es8.accepts[-1] == "application/vnd.elasticsearch+json; compatible-with=8"
    plain.close()
    compat.close()
