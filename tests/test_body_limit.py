"""The app's own limit on request bodies (``pyramidion.max_request_body_size``),
answered with the site's own 413 before waitress would answer with its plain one."""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Iterator

import pytest
import webtest

from pyramidion.testing import LiveServer, MakeApp, PyramidionTestApp
from tests.conftest import Notes

LIMIT = 4096
OVER = b"x" * (2 * LIMIT)


@pytest.fixture
def server(make_pyramidion_app: MakeApp) -> Iterator[LiveServer]:
    """The app with a small body limit, behind waitress with a larger one."""
    app = make_pyramidion_app({"pyramidion.max_request_body_size": str(LIMIT)})
    live = LiveServer(app, max_request_body_size=4 * LIMIT).start()
    try:
        yield live
    finally:
        live.stop()


def post(
    server: LiveServer, body: bytes, *, accept: str, chunked: bool = False
) -> tuple[http.client.HTTPResponse, bytes]:
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Accept": accept, "Content-Type": "application/octet-stream", "Host": "localhost"}
    try:
        if chunked:
            # An iterator has no length: http.client sends it chunked.
            pieces = (body[i : i + 1000] for i in range(0, len(body), 1000))
            connection.request("POST", "/files", body=pieces, headers=headers, encode_chunked=True)
        else:
            connection.request("POST", "/files", body=body, headers=headers)
        response = connection.getresponse()
        return response, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_body_gets_the_sites_problem_json(server: LiveServer, chunked: bool) -> None:
    response, body = post(server, OVER, accept="application/json", chunked=chunked)

    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 413
    assert f"at most {LIMIT:,} bytes" in problem["detail"]
    assert problem["request_id"] == response.getheader("X-Request-ID")
    assert response.getheader("Content-Security-Policy")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_body_gets_the_sites_page_in_a_browser(
    server: LiveServer, chunked: bool
) -> None:
    response, body = post(server, OVER, accept="text/html", chunked=chunked)

    assert response.status == 413
    assert response.getheader("Content-Type", "").startswith("text/html")
    page = body.decode()
    assert page.lower().startswith("<!doctype html>")
    assert f"at most {LIMIT:,} bytes" in page
    assert response.getheader("X-Request-ID", "") in page


def test_a_body_within_the_limit_reaches_the_app(server: LiveServer) -> None:
    response, _body = post(server, b"x" * LIMIT, accept="application/json")

    # No view at /files: the body was let through to routing.
    assert response.status == 404


class CountingInput(io.BytesIO):
    """A request body that remembers how much of it was read."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


def test_a_body_of_unknown_length_is_read_up_to_the_limit_and_no_further(
    notes: Notes, make_pyramidion_app: MakeApp
) -> None:
    app = PyramidionTestApp(
        make_pyramidion_app({"pyramidion.max_request_body_size": str(LIMIT)}, addons=["notes"])
    )
    body = CountingInput(b"text=" + b"x" * (100 * LIMIT))
    request = webtest.TestRequest.blank(
        "/notes/add",
        method="POST",
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "application/json", "Host": "localhost"},
    )
    # What a server passes on for a chunked body it does not buffer.
    request.environ.pop("CONTENT_LENGTH", None)
    request.environ["wsgi.input"] = body
    request.environ["wsgi.input_terminated"] = True
    request.environ["HTTP_TRANSFER_ENCODING"] = "chunked"

    response = app.do_request(request, status=413)

    assert f"at most {LIMIT:,} bytes" in response.json["detail"]
    assert body.consumed <= LIMIT + 1
