"""Errors to Sentry, checked against a fake ingestion endpoint on loopback
that records the envelopes sentry-sdk sends."""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pyramidion.testing import MakeApp, PyramidionTestApp
from tests.conftest import Distributions

sentry_sdk = pytest.importorskip("sentry_sdk")

SECRET = "tok-Qz81-very-secret"

FAILING_VIEWS = """
from pyramidion import PUBLIC


def fail(request):
    token = request.registry.settings["pyramidion.metrics_token"]
    raise RuntimeError(f"the payment service refused {token}")


def includeme(config):
    config.add_route("failing.fail", "/fail")
    config.add_view(fail, route_name="failing.fail", permission=PUBLIC)
"""


class Ingestion:
    """What the fake Sentry received: one list of items per envelope."""

    def __init__(self) -> None:
        self.envelopes: list[list[dict[str, Any]]] = []

    def events(self) -> list[dict[str, Any]]:
        return [
            item["payload"]
            for envelope in self.envelopes
            for item in envelope
            if item["header"].get("type") == "event"
        ]


def _items(body: bytes) -> list[dict[str, Any]]:
    lines = body.split(b"\n")
    items = []
    # The envelope's header, then a header and a payload per item.
    for header_line, payload_line in zip(lines[1::2], lines[2::2], strict=False):
        if header_line.strip():
            items.append(
                {"header": json.loads(header_line), "payload": json.loads(payload_line or b"{}")}
            )
    return items


@pytest.fixture
def ingestion() -> Iterator[tuple[Ingestion, str]]:
    received = Ingestion()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            received.envelopes.append(_items(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, f"http://publickey@127.0.0.1:{server.server_address[1]}/42"
    finally:
        # Later apps in this process send nothing.
        sentry_sdk.init()
        server.shutdown()
        server.server_close()


@pytest.fixture
def failing(distributions: Distributions) -> str:
    distributions.addon(
        "failing", includeme="config.include('{pkg}.views')", files={"views.py": FAILING_VIEWS}
    )
    return "failing"


def test_a_500_sends_one_event_with_the_request_id_and_no_secret(
    ingestion: tuple[Ingestion, str], failing: str, make_pyramidion_app: MakeApp
) -> None:
    received, dsn = ingestion
    app = make_pyramidion_app(
        {"pyramidion.sentry_dsn": dsn, "pyramidion.metrics_token": SECRET}, addons=[failing]
    )
    testapp = PyramidionTestApp(app)

    response = testapp.get(
        "/failing/fail", headers={"X-Request-ID": "req-7f3a", "Accept": "application/json"},
        status=500,
    )  # fmt: skip
    sentry_sdk.flush(timeout=10)

    assert response.json["title"] == "Internal Server Error"
    events = received.events()
    assert len(events) == 1
    event = events[0]
    assert event["tags"]["request_id"] == "req-7f3a"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert "the payment service refused [Filtered]" in json.dumps(event)
    assert SECRET not in json.dumps(received.envelopes)


def test_a_404_sends_nothing(
    ingestion: tuple[Ingestion, str], failing: str, make_pyramidion_app: MakeApp
) -> None:
    received, dsn = ingestion
    app = make_pyramidion_app({"pyramidion.sentry_dsn": dsn}, addons=[failing])
    testapp = PyramidionTestApp(app)

    testapp.get("/failing/nowhere", status=404)
    sentry_sdk.flush(timeout=10)

    assert received.events() == []


def test_without_a_dsn_nothing_is_sent(
    ingestion: tuple[Ingestion, str], failing: str, make_pyramidion_app: MakeApp
) -> None:
    received, _dsn = ingestion
    app = make_pyramidion_app(addons=[failing])
    PyramidionTestApp(app).get("/failing/fail", status=500)
    sentry_sdk.flush(timeout=10)

    assert received.envelopes == []
