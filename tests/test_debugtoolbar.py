"""pyramid_debugtoolbar works in development under the default CSP; production stays strict."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyramidion.settings import DEFAULT_CSP
from pyramidion.testing import LiveServer, MakeApp, PyramidionTestApp

pytest.importorskip("pyramid_debugtoolbar")

TOOLBAR = {"pyramid.includes": "pyramid_debugtoolbar", "debugtoolbar.hosts": "127.0.0.1 ::1"}


@pytest.fixture
def toolbar_server(make_pyramidion_app: MakeApp) -> Iterator[LiveServer]:
    server = LiveServer(make_pyramidion_app(TOOLBAR)).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_toolbar_runs_without_csp_violations_in_development(
    toolbar_server: LiveServer, pyramidion_page: Any
) -> None:
    page = pyramidion_page
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto(toolbar_server.url + "/")
    toolbar_url = page.get_attribute("#pShowToolBarButton", "href")
    assert toolbar_url

    response = page.goto(toolbar_url)
    assert response.status == 200
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.jQuery") == "function"
    assert page.locator("body").inner_text().strip() != ""
    assert refused == []


def test_the_apps_own_pages_keep_the_default_policy(make_pyramidion_app: MakeApp) -> None:

    app = PyramidionTestApp(make_pyramidion_app(TOOLBAR))

    assert app.get("/healthz").headers["Content-Security-Policy"] == DEFAULT_CSP


def test_production_keeps_the_toolbar_strict(make_pyramidion_app: MakeApp) -> None:

    app = PyramidionTestApp(
        make_pyramidion_app({**TOOLBAR, "pyramidion.environment": "production"})
    )

    response = app.get("/_debug_toolbar/static/toolbar/toolbar.css", expect_errors=True)
    assert response.headers["Content-Security-Policy"] == DEFAULT_CSP
