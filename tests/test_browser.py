"""The test kit's live server and browser work end to end."""

from __future__ import annotations

from typing import Any

from pyramidion.testing import LiveServer


def test_the_welcome_page_renders_in_a_real_browser(
    pyramidion_live_server: LiveServer, pyramidion_page: Any
) -> None:
    response = pyramidion_page.goto(pyramidion_live_server.url + "/")
    assert response.status == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert pyramidion_page.locator("h1").inner_text() == "Pyramidion is running"


def test_an_error_page_renders_with_its_request_id(
    pyramidion_live_server: LiveServer, pyramidion_page: Any
) -> None:
    response = pyramidion_page.goto(pyramidion_live_server.url + "/no/such/page")
    assert response.status == 404
    assert pyramidion_page.locator("h1").inner_text() == "Not Found"
    assert response.headers["x-request-id"] in pyramidion_page.locator("code").inner_text()
