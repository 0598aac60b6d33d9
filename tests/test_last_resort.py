"""An error no tween or error view can render (raised by a response
callback) gets the app's own 500 through a real waitress, not waitress's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from pyramidion.testing import LiveServer, MakeApp


@pytest.fixture
def server(make_pyramidion_app: MakeApp) -> Iterator[LiveServer]:
    app = make_pyramidion_app({"pyramidion.addons": "tests.escape_app"})
    live = LiveServer(app).start()
    try:
        yield live
    finally:
        live.stop()


def fetch(server: LiveServer, accept: str) -> urllib.error.HTTPError:
    request = urllib.request.Request(
        server.url + "/callback-fails", headers={"Accept": accept, "Host": "localhost"}
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=30)
    return raised.value


def test_an_api_client_gets_problem_json_with_the_request_id(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    error = fetch(server, "application/json")
    body = json.loads(error.read())
    error.close()

    assert error.code == 500
    assert error.headers["Content-Type"] == "application/problem+json"
    assert body["title"] == "Internal Server Error"
    assert body["request_id"] == error.headers["X-Request-ID"] != "-"
    assert error.headers["Content-Security-Policy"]
    assert "a response callback failed" in caplog.text


def test_a_browser_gets_a_page_with_the_request_id(server: LiveServer) -> None:
    error = fetch(server, "text/html")
    page = error.read().decode()
    error.close()

    assert error.code == 500
    assert error.headers["Content-Type"].startswith("text/html")
    assert page.startswith("<!DOCTYPE html>")
    assert error.headers["X-Request-ID"] in page
    assert "a response callback failed" not in page
